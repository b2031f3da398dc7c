"""The defect list, its Pareto fragment and the allocation pages, on SQLite and PostgreSQL,
through the real application: answers and downloads in-process, and the drill-down and the
allocation form in real Chromium."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select

from phasegate.app import create_app
from phasegate.domain.enums import Allocation, Disposition, Severity
from phasegate.domain.policy import SYSTEM, Role
from phasegate.services import builds, crud, identity, products, quality
from phasegate.store import db
from phasegate.store.models import Defect, Station, Unit
from phasegate.store.uow import UnitOfWork
from tests.adapters.web.conftest import (
    csrf_token,
    database_url,
    serve,
    settings_for,
    sign_in_tab,
    signed_in_client,
    watched_tab,
)
from tests.adapters.web.data import PASSWORD, USERS

T0 = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)
HX = {"HX-Request": "true"}

# (unit, code, station, severity, disposition, cost): 7 defects on 8 units DP-01 .. DP-08.
DEFECTS = [
    ("DP-01", "DP-C1", "Solder", Severity.MAJOR, Disposition.REWORK, 12.0),
    ("DP-02", "DP-C1", "Solder", Severity.MINOR, Disposition.REWORK, 8.0),
    ("DP-03", "DP-C1", "Assembly", Severity.MAJOR, Disposition.SCRAP, 40.0),
    ("DP-04", "DP-C1", None, Severity.MINOR, Disposition.PENDING, 0.0),
    ("DP-05", "DP-C2", "Assembly", Severity.COSMETIC, Disposition.USE_AS_IS, 0.0),
    ("DP-06", "DP-C2", "Assembly", Severity.MINOR, Disposition.REWORK, 5.0),
    ("DP-07", "DP-C3", "Solder", Severity.CRITICAL, Disposition.SCRAP, 60.0),
]


@dataclass(frozen=True)
class DefectSite:
    app: FastAPI
    engine: Engine
    build_id: int
    empty_build_id: int  # a build without units


def _create(uow: UnitOfWork, resource: Any, **data: Any) -> Any:
    return crud.create(uow, resource, data, actor=SYSTEM)


def _populate(engine: Engine) -> tuple[int, int]:
    uow = UnitOfWork.for_engine(engine)
    partner = _create(uow, builds.PARTNERS, name="Other EMS", kind="contract_manufacturer")
    for role, name in USERS.items():
        identity.create_user(
            uow,
            name,
            role,
            actor=SYSTEM,
            password=PASSWORD,
            partner=partner.id if role is Role.PARTNER else None,
        )
    product = _create(uow, products.PRODUCTS, key="DFP", name="Defect probe")
    rev = _create(uow, products.REVISIONS, product_id=product.id, code="A")
    line = _create(uow, builds.LINES, name="Pilot line D")
    for i, name in enumerate(("Solder", "Assembly"), start=1):
        _create(uow, builds.STATIONS, line_id=line.id, name=name, sequence=i)
    common = {"product_id": product.id, "revision_id": rev.id, "planned_quantity": 8}
    build = _create(uow, builds.BUILDS, code="DP-1", phase="pilot", line_id=line.id, **common)
    empty = _create(uow, builds.BUILDS, code="DP-0", phase="pilot", line_id=line.id, **common)
    units = {}
    for i in range(1, 9):
        serial = f"DP-{i:02d}"
        status = "scrapped" if serial in ("DP-03", "DP-07") else "passed"
        unit = _create(
            uow,
            builds.UNITS,
            product_id=product.id,
            build_id=build.id,
            serial=serial,
            status=status,
        )
        units[serial] = unit.id
    codes = {
        code: _create(uow, quality.DEFECT_CODES, code=code, description=f"Defect {code}").id
        for code in ("DP-C1", "DP-C2", "DP-C3")
    }
    with engine.begin() as conn:
        stations = dict(
            conn.execute(select(Station.name, Station.id).where(Station.line_id == line.id)).all()
        )
        conn.execute(
            insert(Defect),
            [
                {
                    "unit_id": units[serial],
                    "defect_code_id": codes[code],
                    "station_id": stations[station] if station else None,
                    "severity": severity,
                    "disposition": disposition,
                    "cost": cost,
                    "found_at": T0 + dt.timedelta(minutes=i),
                    "notes": f"note {i}",
                    "source_id": f"dp-{i}",
                }
                for i, (serial, code, station, severity, disposition, cost) in enumerate(DEFECTS)
            ],
        )
    return build.id, empty.id


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DefectSite]:
    with database_url(request.param, tmp_path_factory) as url:
        engine = db.make_engine(url)
        db.upgrade(engine)
        build_id, empty_id = _populate(engine)
        yield DefectSite(create_app(settings_for(url), engine=engine), engine, build_id, empty_id)
        engine.dispose()


@pytest.fixture(scope="module")
def client(site: DefectSite) -> TestClient:
    return signed_in_client(site.app)


def _allocation(site: DefectSite, serial: str) -> Allocation:
    with site.engine.connect() as conn:
        return Allocation(
            conn.execute(select(Unit.allocation).where(Unit.serial == serial)).scalar_one()
        )


def test_the_defect_list_and_its_filters(site: DefectSite, client: TestClient) -> None:
    base = f"/builds/{site.build_id}/defects"
    page = client.get(base)
    assert page.status_code == 200, page.text
    assert 'data-total="7"' in page.text
    assert re.findall(r'data-serial="(DP-\d+)"', page.text) == [d[0] for d in DEFECTS][::-1]
    assert "7 defects on 7 units, cost 125.00" in page.text
    solder_c1 = client.get(base, params={"code": "dp-c1", "station": "Solder"})
    assert re.findall(r'data-serial="(DP-\d+)"', solder_c1.text) == ["DP-02", "DP-01"]
    nowhere = client.get(base, params={"station": "(none)"})
    assert re.findall(r'data-serial="(DP-\d+)"', nowhere.text) == ["DP-04"]
    bad = client.get(base, params={"severity": "fatal"})
    assert bad.status_code == 400 and "Severity: &#39;fatal&#39; is not one of" in bad.text
    assert client.get(base, params={"after": "x.1"}).status_code == 400
    assert client.get("/builds/999999/defects").status_code == 404


def test_downloads(site: DefectSite, client: TestClient) -> None:
    base = f"/builds/{site.build_id}"
    answer = client.get(f"{base}/defects.csv", params={"disposition": "rework"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="defects-DFP-DP-1.csv"' in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["serial"], r["code"], r["cost"]) for r in rows] == [
        ("DP-06", "DP-C2", "5.0"),
        ("DP-02", "DP-C1", "8.0"),
        ("DP-01", "DP-C1", "12.0"),
    ]
    pareto = client.get(f"{base}/defects/pareto.csv", params={"by": "station", "measure": "cost"})
    table = list(csv.DictReader(io.StringIO(pareto.text)))
    # Solder 12 + 8 + 60 = 80, Assembly 40 + 0 + 5 = 45, no station 0; of 125.
    assert [(r["key"], r["count"], float(r["cumulative_share"])) for r in table] == [
        ("Solder", "3", 80 / 125),
        ("Assembly", "3", 1.0),
        ("(none)", "1", 1.0),
    ]
    counts = client.get(f"{base}/allocations.csv")
    assert counts.text.splitlines()[:2] == ["purpose,units", "unallocated,8"]
    assert client.get(f"{base}/defects.csv", params={"code": "NOPE"}).status_code == 400


def test_the_pareto_fragment(site: DefectSite, client: TestClient) -> None:
    path = f"/builds/{site.build_id}/defects/pareto"
    fragment = client.get(path, headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    links = re.findall(r'<a href="([^"]+)" data-bar="([^"]+)"', fragment.text)
    # By code (count): DP-C1 4, DP-C2 2, DP-C3 1; each bar opens the list filtered to it.
    assert links[:3] == [
        (f"/builds/{site.build_id}/defects?code=DP-C1", "DP-C1"),
        (f"/builds/{site.build_id}/defects?code=DP-C2", "DP-C2"),
        (f"/builds/{site.build_id}/defects?code=DP-C3", "DP-C3"),
    ]
    assert (f"/builds/{site.build_id}/defects?station=%28none%29", "(none)") in links
    assert 'data-kpi="dpmo"' in fragment.text
    browser = client.get(path, follow_redirects=False)
    assert browser.status_code == 303
    assert browser.headers["location"] == f"/builds/{site.build_id}/defects"
    empty = client.get(f"/builds/{site.empty_build_id}/defects/pareto", headers=HX)
    assert "insufficient data (n = 0)" in empty.text


def test_the_build_page_loads_the_fragments(site: DefectSite, client: TestClient) -> None:
    page = client.get(f"/builds/{site.build_id}")
    assert page.status_code == 200
    assert f'hx-get="/builds/{site.build_id}/defects/pareto"' in page.text
    assert f'hx-get="/builds/{site.build_id}/allocations/counts"' in page.text
    assert f'href="/builds/{site.build_id}/defects" data-kpi="defects"' in page.text
    counts = client.get(f"/builds/{site.build_id}/allocations/counts", headers=HX)
    assert 'data-purpose="unallocated"' in counts.text


def test_the_allocation_form(site: DefectSite) -> None:
    client = signed_in_client(site.app)
    path = f"/builds/{site.build_id}/allocations"
    assert client.get(path).status_code == 200
    form = {"csrftoken": csrf_token(client), "purpose": "regulatory", "serials": "DP-08"}
    done = client.post(path, data=form)
    assert done.status_code == 200 and 'data-allocated="DP-08"' in done.text
    assert _allocation(site, "DP-08") is Allocation.REGULATORY
    both = {"csrftoken": csrf_token(client), "purpose": "testing", "serials": "DP-01", "count": "1"}
    refused = client.post(path, data=both)
    assert refused.status_code == 400 and "data-form-error" in refused.text
    unknown = {"csrftoken": csrf_token(client), "purpose": "testing", "serials": "ZZ-9"}
    assert "ZZ-9" in client.post(path, data=unknown).text
    assert client.post(path, data={"purpose": "testing", "count": "1"}).status_code == 403
    viewer = signed_in_client(site.app, Role.VIEWER)
    assert viewer.get(path).status_code == 200
    form = {"csrftoken": csrf_token(viewer), "purpose": "testing", "serials": "DP-08"}
    assert viewer.post(path, data=form).status_code == 403
    assert _allocation(site, "DP-08") is Allocation.REGULATORY
    partner = signed_in_client(site.app, Role.PARTNER)  # of another partner's builds
    assert partner.get(f"/builds/{site.build_id}/defects").status_code == 404


@pytest.fixture(scope="module")
def live_url(site: DefectSite) -> Iterator[str]:
    yield from serve(site.app)


def test_pareto_bar_to_filtered_list_to_unit(browser: Any, live_url: str, site: DefectSite) -> None:
    with watched_tab(browser, live_url) as tab:
        sign_in_tab(tab, live_url, Role.QUALITY)
        tab.goto(f"{live_url}/builds/{site.build_id}", wait_until="domcontentloaded")
        bar = tab.locator('[data-pareto="code-count"] a[data-bar="DP-C2"]')
        bar.wait_for()  # the fragment loaded
        bar.click()
        tab.wait_for_url(re.compile(r".*/defects\?code=DP-C2$"))
        serials = tab.locator("table[data-table=defects] a[data-serial]")
        assert serials.all_inner_texts() == ["DP-06", "DP-05"]
        assert tab.locator("select[name=code]").input_value() == "DP-C2"
        serials.first.click()
        tab.wait_for_url(re.compile(r".*/units/DP-06.*"))
        assert "DP-06" in tab.locator("h1").inner_text()
        assert tab.problems == []


def test_changing_an_allocation_through_the_form(
    browser: Any, live_url: str, site: DefectSite
) -> None:
    with watched_tab(browser, live_url) as tab:
        sign_in_tab(tab, live_url, Role.ENGINEER)
        tab.goto(f"{live_url}/builds/{site.build_id}", wait_until="domcontentloaded")
        tab.locator("#allocation a[data-change-allocations]").click()  # the loaded card
        tab.wait_for_url(re.compile(r".*/allocations$"))
        tab.select_option("select[name=purpose]", "marketing")
        tab.fill("textarea[name=serials]", "DP-05\ndp-06")
        tab.click("form[data-form=allocate] button[type=submit]")
        tab.locator("[data-result]").wait_for()
        assert tab.locator("[data-allocated]").all_inner_texts() == ["DP-05", "DP-06"]
        marketing = tab.locator('#allocation tr[data-purpose="marketing"] td.num a')
        assert marketing.first.inner_text() == "2"
        marketing.first.click()
        tab.wait_for_url(re.compile(r".*allocation=marketing.*"))
        assert sorted(
            tab.locator("#units-table tr[data-serial]").evaluate_all(
                "rows => rows.map(r => r.dataset.serial)"
            )
        ) == ["DP-05", "DP-06"]
        assert tab.problems == []
    assert _allocation(site, "DP-05") is Allocation.MARKETING
