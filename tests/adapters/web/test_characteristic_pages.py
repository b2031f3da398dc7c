"""The characteristic pages over the demo data: the build's capability table (fragment, page and
CSV), one characteristic's page and its CSV files, and in Chromium the control chart with its
signals circled, a click on a signal opening the units behind it.

Screenshots go to ``/tmp/characteristic-*.png``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from phasegate.app import create_app
from phasegate.demo.loader import load_demo
from phasegate.demo.logins import DEMO_LOGINS
from phasegate.services.read.characteristic import CAPABILITY_COLUMNS, FLAT_COLUMNS, POINT_COLUMNS
from phasegate.store import db
from phasegate.store.models import Build, Characteristic
from tests.adapters.web.conftest import csrf_token, serve, settings_for

SHOTS = Path("/tmp")
HTMX = {"HX-Request": "true"}


@dataclass(frozen=True)
class Demo:
    app: Any
    pilot: int  # build ids
    production: int
    prototype: int
    gap: int  # characteristic id of "Enclosure gap"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    url = f"sqlite:///{tmp_path_factory.mktemp('chars') / 'demo.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    load_demo(engine)
    with engine.connect() as conn:
        builds = dict(conn.execute(select(Build.code, Build.id)).all())
        gap = conn.scalar(select(Characteristic.id).where(Characteristic.name == "Enclosure gap"))
    assert gap is not None
    yield Demo(
        create_app(settings_for(url), engine=engine),
        builds["AS1-PLT"],
        builds["AS1-PR1"],
        builds["AS1-A"],
        gap,
    )
    engine.dispose()


@pytest.fixture(scope="module")
def client(demo: Demo) -> TestClient:
    client = TestClient(demo.app)
    admin = DEMO_LOGINS[0]
    form = {"csrftoken": csrf_token(client), "name": admin.name, "password": admin.password}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    return client


def test_the_build_page_loads_the_table_with_one_element(client: TestClient, demo: Demo) -> None:
    page = client.get(f"/builds/{demo.pilot}").text
    assert page.count(f'hx-get="/builds/{demo.pilot}/characteristics"') == 1
    fragment = client.get(f"/builds/{demo.pilot}/characteristics", headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert f'href="/builds/{demo.pilot}/characteristics/{demo.gap}"' in fragment.text
    assert 'data-characteristic="Enclosure gap"' in fragment.text
    whole = client.get(f"/builds/{demo.pilot}/characteristics")  # the no-script link
    assert whole.status_code == 200 and "<html" in whole.text and "Enclosure gap" in whole.text


def test_too_little_data_says_so_instead_of_a_number(client: TestClient, demo: Demo) -> None:
    fragment = client.get(f"/builds/{demo.prototype}/characteristics", headers=HTMX).text
    assert "insufficient data (n = 5)" in fragment
    assert 'data-status="insufficient_data"' in fragment


def test_the_table_downloads_as_csv(client: TestClient, demo: Demo) -> None:
    answer = client.get(f"/builds/{demo.pilot}/characteristics.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert tuple(rows[0]) == FLAT_COLUMNS
    gap = next(r for r in rows if r["name"] == "Enclosure gap")
    assert int(gap["n"]) > 25 and float(gap["cpk_ci_low"]) < float(gap["cpk"])


def test_the_characteristic_page_and_its_csv_files(client: TestClient, demo: Demo) -> None:
    base = f"/builds/{demo.production}/characteristics/{demo.gap}"
    page = client.get(base)
    assert page.status_code == 200
    assert "Phase I limits from pilot build AS1-PLT" in page.text
    assert "<dd data-sampling>" in page.text  # where the subgroup size comes from
    assert 'data-table="capability"' in page.text and 'data-index="cpk"' in page.text
    assert 'data-table="signals"' in page.text and "data-normality=" in page.text
    points = list(csv.DictReader(io.StringIO(client.get(f"{base}/points.csv").text)))
    assert tuple(points[0]) == POINT_COLUMNS
    flagged = next(p for p in points if p["rules"])
    subgroup = client.get(base, params={"subgroup": flagged["subgroup"]}).text
    first_unit = flagged["units"].split(", ")[0]
    assert 'data-table="subgroup"' in subgroup and f">{first_unit}</a>" in subgroup
    capability = list(csv.DictReader(io.StringIO(client.get(f"{base}/capability.csv").text)))
    assert tuple(capability[0]) == CAPABILITY_COLUMNS
    assert [r["index"] for r in capability][:2] == ["cp", "cpk"]
    signals = client.get(f"{base}/signals.csv")
    assert signals.headers["content-type"].startswith("text/csv") and "units" in signals.text
    assert client.get(base, params={"subgroup": 100000}).status_code == 404
    assert client.get(f"/builds/{demo.production}/characteristics/999999").status_code == 404
    assert client.get(f"{base}/other.csv").status_code == 400  # not one of its tables


@pytest.mark.browser
def test_the_control_chart_marks_signals_that_open_their_units(demo: Demo, browser: Any) -> None:
    errors: list[str] = []
    for base in serve(demo.app):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.on("pageerror", lambda error: errors.append(str(error)))
        admin = DEMO_LOGINS[0]
        tab.goto(f"{base}/login", wait_until="domcontentloaded")
        tab.fill("input[name=name]", admin.name)
        tab.fill("input[name=password]", admin.password)
        tab.click("form.auth-form button[type=submit]")
        tab.wait_for_url(f"{base}/")

        tab.goto(f"{base}/builds/{demo.production}#capability", wait_until="networkidle")
        tab.wait_for_selector("#capability [data-characteristic='Enclosure gap'] a")
        tab.locator("#capability").screenshot(path=str(SHOTS / "characteristic-table.png"))

        tab.goto(f"{base}/builds/{demo.production}/characteristics/{demo.gap}")
        tab.wait_for_selector("#control-chart .main-svg")
        tab.wait_for_selector("#histogram-chart .main-svg")
        # The signal trace draws its points as circles outlined in red.
        signals = tab.locator(
            "#control-chart .scatterlayer .trace path.point[style*='185, 28, 28']"
        )
        assert signals.count() > 0
        cpk = tab.locator("[data-table=capability] tr[data-index=cpk] td.num b").inner_text()
        assert float(cpk) > 0
        tab.screenshot(path=str(SHOTS / "characteristic-page.png"), full_page=True)

        box = signals.first.bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        tab.mouse.move(x, y)
        tab.mouse.click(x, y)
        tab.wait_for_url("**subgroup=*")
        tab.wait_for_selector("[data-table=subgroup] a[href^='/units/']")
        assert tab.locator("[data-table=subgroup] tbody tr").count() >= 2
        tab.screenshot(path=str(SHOTS / "characteristic-subgroup.png"), full_page=True)
        context.close()
    assert errors == []
