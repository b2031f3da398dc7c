"""The pages of test data in: the import page, the ingest history, the test-run page and the
unit's genealogy, on SQLite and PostgreSQL, through the real application.

Test data enters as a person would send it: files uploaded through the import form (the CSRF
token its first field), or records through the ingest service for the pages that show them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from phasegate.app import create_app
from phasegate.domain.enums import Outcome
from phasegate.domain.policy import SYSTEM, Role
from phasegate.ingest.records import AttachmentIn, MeasurementIn, Target, TestRunIn
from phasegate.services import builds, crud, identity, ingest, products
from phasegate.services.read.unit import unit_history
from phasegate.store import db
from phasegate.store.models import IngestFile
from phasegate.store.uow import UnitOfWork
from phasegate.web.auth import AttemptLimiter
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

T0 = dt.datetime(2026, 5, 4, 7, 30, tzinfo=dt.UTC)
UPLOAD_LIMIT = 256 * 1024

GOOD_AND_BAD_CSV = """serial,station,started_at,ended_at,name,value,unit,lsl,usl,measurement_outcome
TRK-0001,FCT,2026-05-04T08:00:00Z,2026-05-04T08:01:00Z,vbat,3.31,V,3.0,3.6,pass
TRK-0001,FCT,2026-05-04T08:00:00Z,2026-05-04T08:01:00Z,ripple_mv,12.5,mV,,20,pass
TRK-0002,FCT,2026-05-04T08:02:00Z,2026-05-04T08:03:00Z,vbat,not-a-number,V,3.0,3.6,pass
TRK-0003,Nowhere,2026-05-04T08:04:00Z,2026-05-04T08:05:00Z,vbat,3.2,V,3.0,3.6,pass
"""


@dataclass(frozen=True)
class IngestSite:
    app: FastAPI
    uow_factory: Any
    run_id: int  # a test run in the pilot build, with measurements and attachments
    partner_run_id: int  # a run in the build of the partner user's partner
    other_run_id: int  # a run in another partner's build


def _create(uow: UnitOfWork, resource: Any, **data: Any) -> Any:
    return crud.create(uow, resource, data, actor=SYSTEM)


def _run(serial: str, build: str, minutes: int, **more: Any) -> TestRunIn:
    start = T0 + dt.timedelta(minutes=minutes)
    return TestRunIn(
        where=f"seed.json#/{serial}",
        serial=serial,
        started_at=start,
        ended_at=start + dt.timedelta(seconds=75),
        outcome=more.pop("outcome", Outcome.PASS),
        source_id=f"seed-{serial}-{minutes}",
        source="openhtf",
        station="FCT",
        procedure="Final functional test",
        operator="op-2",
        target=Target(product="TRK", build=build),
        **more,
    )


def _populate(uow: UnitOfWork) -> tuple[int, int, int]:
    trk = _create(uow, products.PRODUCTS, key="TRK", name="Asset Tracker T1")
    rev = _create(uow, products.REVISIONS, product_id=trk.id, code="B")
    ours = _create(uow, builds.PARTNERS, name="Acme EMS", kind="contract_manufacturer")
    theirs = _create(uow, builds.PARTNERS, name="Other Works", kind="contract_manufacturer")
    for role, name in USERS.items():
        identity.create_user(
            uow,
            name,
            role,
            actor=SYSTEM,
            password=PASSWORD,
            partner=ours.id if role is Role.PARTNER else None,
        )
    line = _create(uow, builds.LINES, name="Pilot line T")
    for i, name in enumerate(("ICT", "FCT"), start=1):
        _create(uow, builds.STATIONS, line_id=line.id, name=name, sequence=i)
    _create(
        uow,
        products.CHARACTERISTICS,
        product_id=trk.id,
        name="vbat",
        unit="V",
        lsl=3.0,
        usl=3.6,
        ctq=True,
    )
    common = {"product_id": trk.id, "revision_id": rev.id, "planned_quantity": 10}
    _create(uow, builds.BUILDS, code="TRK-P1", phase="pilot", line_id=line.id, **common)
    for code, partner in (("TRK-CM1", ours), ("TRK-CM2", theirs)):
        _create(
            uow,
            builds.BUILDS,
            code=code,
            phase="pilot",
            line_id=line.id,
            partner_id=partner.id,
            **common,
        )
    measurements = (
        MeasurementIn(
            name="vbat", value=3.52, unit="V", lsl=3.0, usl=3.6, outcome=Outcome.PASS, marginal=True
        ),
        MeasurementIn(name="tx_power", value=21.7, unit="dBm", usl=20.0, outcome=Outcome.FAIL),
        MeasurementIn(name="firmware", text_value="4.2.0", outcome=Outcome.PASS),
    )
    records = [
        _run(
            "TRK-0100",
            "TRK-P1",
            0,
            outcome=Outcome.FAIL,
            measurements=measurements,
            attachments=(AttachmentIn(name="rf_sweep.png", mimetype="image/png", size=40960),),
            extra={"station_api_version": 3},
        ),
        _run("TRK-0100", "TRK-P1", 30),
        _run("TRK-0200", "TRK-CM1", 5, measurements=measurements[:1]),
        _run("TRK-0300", "TRK-CM2", 6, measurements=measurements[:1]),
    ]
    result = ingest.ingest_records(
        uow, records, actor=SYSTEM, source_name="seed.json", format="openhtf"
    )
    assert result.inserted == 4, result.records

    def first_run(serial: str) -> int:
        return unit_history(uow, serial, actor=SYSTEM).test_runs[0].id

    return first_run("TRK-0100"), first_run("TRK-0200"), first_run("TRK-0300")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def ingest_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IngestSite]:
    with database_url(request.param, tmp_path_factory) as url:
        engine = db.make_engine(url)
        db.upgrade(engine)
        uow = UnitOfWork.for_engine(engine)
        run_id, partner_run, other_run = _populate(uow)
        app = create_app(settings_for(url, max_upload_bytes=UPLOAD_LIMIT), engine=engine)
        yield IngestSite(app, app.state.uow_factory, run_id, partner_run, other_run)
        engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_sign_in_count(ingest_site: IngestSite) -> None:
    """Each test signs in afresh; the module signs in more often than one address may a minute."""
    ingest_site.app.state.login_limiter = AttemptLimiter()


def _client(site: IngestSite, role: Role = Role.ADMIN) -> TestClient:
    return signed_in_client(site.app, role)


def _upload(
    client: TestClient,
    files: list[tuple[str, bytes]],
    path: str = "/ingest",
    **fields: str,
) -> Any:
    """Post the import form as a browser does: the CSRF token first, then the files."""
    data = {"csrftoken": csrf_token(client), **fields}
    parts = [("files", (name, content, "text/csv")) for name, content in files]
    return client.post(path, data=data, files=parts, follow_redirects=False)


def _text(html: str) -> str:
    """The page's text, tags removed and spaces folded, for reading it as a person does."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the test-run page and the genealogy ------------------------------------------------------


def test_the_test_run_page_shows_measurements_with_limits_outcome_and_attachments(
    ingest_site: IngestSite,
) -> None:
    client = _client(ingest_site)
    page = client.get(f"/test-runs/{ingest_site.run_id}")
    assert page.status_code == 200, page.text
    text = _text(page.text)
    assert "Final functional test" in text and "TRK-0100" in text
    assert "Asset Tracker T1" in text and "TRK-P1" in text and "Pilot line T" in text
    rows = re.findall(r'<tr data-measurement="([^"]+)">(.*?)</tr>', page.text, re.S)
    shown = {name: _text(row) for name, row in rows}
    assert list(shown) == ["vbat", "tx_power", "firmware"]
    assert "3.52" in shown["vbat"] and "3" in shown["vbat"] and "3.6" in shown["vbat"]
    assert "Marginal" in shown["vbat"] and "Yes" in shown["vbat"] and "Pass" in shown["vbat"]
    assert "21.7" in shown["tx_power"] and "20" in shown["tx_power"]
    assert "No" in shown["tx_power"] and "Fail" in shown["tx_power"]
    assert "4.2.0" in shown["firmware"] and "no limits" in shown["firmware"]
    assert 'data-kpi="out-of-limits"' in page.text
    attachments = _text(page.text.split('data-table="attachments"', 1)[1].split("</table>")[0])
    assert "rf_sweep.png" in attachments and "image/png" in attachments
    assert "40,960 B" in attachments
    assert "station_api_version" in text  # a field kept from the source record


def test_the_unit_page_links_each_test_run_and_counts_its_attachments(
    ingest_site: IngestSite,
) -> None:
    page = _client(ingest_site).get("/units/TRK-0100")
    assert page.status_code == 200
    links = re.findall(r'data-run-link="(\d+)"', page.text)
    assert len(links) == 2 and str(ingest_site.run_id) == links[0]
    assert f'href="/test-runs/{ingest_site.run_id}"' in page.text
    assert re.findall(r'data-attachments="(\d+)"', page.text) == ["1", "0"]
    assert "3 measurements, 1 attachment " in _text(page.text) and "rf_sweep.png" in page.text


def test_a_partner_reads_its_runs_and_no_other(ingest_site: IngestSite) -> None:
    partner = _client(ingest_site, Role.PARTNER)
    assert partner.get(f"/test-runs/{ingest_site.partner_run_id}").status_code == 200
    for run_id in (ingest_site.other_run_id, ingest_site.run_id):
        answer = partner.get(f"/test-runs/{run_id}")
        assert answer.status_code == 404, run_id
        assert f"Test run {run_id} does not exist" in answer.text
    assert _client(ingest_site).get("/test-runs/99999999").status_code == 404


# --- importing --------------------------------------------------------------------------------


def _file_count(site: IngestSite) -> int:
    with site.uow_factory() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(IngestFile)) or 0)


def _result_card(html: str, name: str) -> str:
    card = html.split(f'data-result-file="{name}"', 1)[1]
    return card.split("</section>", 1)[0]


def _kpi(card: str, test: str) -> str:
    found = re.search(rf'data-kpi="{test}">.*?<div class="kpi-value">([^<]*)</div>', card, re.S)
    assert found, test
    return found.group(1).strip()


def test_importing_a_csv_shows_each_files_result_and_sending_it_again_adds_nothing(
    ingest_site: IngestSite,
) -> None:
    client = _client(ingest_site, Role.ENGINEER)
    form = client.get("/ingest")
    assert form.status_code == 200
    # The CSRF token is the form's first field: asgi-csrf reads it before any file.
    fields = re.findall(r'<input[^>]* name="([a-z]+)"', form.text.split("data-import", 1)[1])
    assert fields[:2] == ["csrftoken", "files"]

    answer = _upload(
        client, [("line3.csv", GOOD_AND_BAD_CSV.encode())], product="TRK", build="TRK-P1"
    )
    assert answer.status_code == 200, answer.text[:500]
    card = _result_card(answer.text, "line3.csv")
    assert (_kpi(card, "inserted"), _kpi(card, "duplicates"), _kpi(card, "rejected")) == (
        "1",
        "0",
        "2",
    )
    rejects = re.findall(
        r"<tr><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td><td[^>]*>([^<]+)</td>", card
    )
    by_place = {where: reason for where, _, reason in rejects}
    assert set(by_place) == {"line3.csv:4", "line3.csv:5"}, rejects
    assert "not-a-number" in by_place["line3.csv:4"] or "value" in by_place["line3.csv:4"]
    assert "Nowhere" in by_place["line3.csv:5"]
    assert 'data-new-characteristic="ripple_mv"' in card  # a name no characteristic had
    file_link = re.search(r'href="/ingest/files/(\d+)"', card)
    assert file_link

    again = _upload(
        client, [("line3.csv", GOOD_AND_BAD_CSV.encode())], product="TRK", build="TRK-P1"
    )
    card = _result_card(again.text, "line3.csv")
    assert (_kpi(card, "inserted"), _kpi(card, "duplicates")) == ("0", "1")
    assert "already present" in _text(card).lower()

    # The run that came in is on its unit's page and has a page of its own.
    unit = client.get("/units/TRK-0001")
    run_id = re.findall(r'data-run-link="(\d+)"', unit.text)[0]
    run = client.get(f"/test-runs/{run_id}")
    assert "ripple_mv" in run.text and "vbat" in run.text


def test_a_file_that_is_all_present_says_so(ingest_site: IngestSite) -> None:
    client = _client(ingest_site)
    content = GOOD_AND_BAD_CSV.splitlines()[:3]
    body = ("\n".join(content) + "\n").encode()
    _upload(client, [("good.csv", body)], product="TRK", build="TRK-P1")
    answer = _upload(client, [("good.csv", body)], product="TRK", build="TRK-P1")
    card = _result_card(answer.text, "good.csv")
    assert 'data-note="all-present"' in card
    assert "Every record of this file was already present" in _text(card)


def test_several_files_in_one_upload_each_get_a_result(ingest_site: IngestSite) -> None:
    client = _client(ingest_site)
    no_records = b'{"format": "phasegate.test-data/1", "test_runs": []}'
    answer = _upload(
        client,
        [("a.csv", GOOD_AND_BAD_CSV.encode()), ("nothing.txt", b"\n\n"), ("none.json", no_records)],
        product="TRK",
        build="TRK-P1",
    )
    assert answer.status_code == 200
    assert "Not imported" in _text(_result_card(answer.text, "nothing.txt"))
    assert "empty" in _text(_result_card(answer.text, "nothing.txt"))
    assert 'data-note="empty"' in _result_card(answer.text, "none.json")
    assert _kpi(_result_card(answer.text, "a.csv"), "rejected") == "2"


def test_the_preview_shows_what_the_parser_read_and_stores_nothing(
    ingest_site: IngestSite,
) -> None:
    client = _client(ingest_site)
    before = _file_count(ingest_site)
    answer = _upload(client, [("look.csv", GOOD_AND_BAD_CSV.encode())], path="/ingest/preview")
    assert answer.status_code == 200, answer.text[:300]
    card = answer.text.split('data-preview-file="look.csv"', 1)[1].split("</section>", 1)[0]
    text = _text(card)
    assert "csv" in text and "measurement_outcome" in text  # the format and the columns
    records = card.split('data-table="preview-records"', 1)[1].split("</table>")[0]
    assert "TRK-0001" in records and "TRK-0003" in records and "Nowhere" in records
    names = _text(card.split('data-table="preview-names"', 1)[1].split("</table>")[0])
    assert "vbat" in names and "ripple_mv" in names and "mV" in names
    unreadable = _text(card.split('data-table="preview-rejects"', 1)[1].split("</table>")[0])
    assert "look.csv:4" in unreadable
    assert _file_count(ingest_site) == before


def test_bad_forms_are_answered_on_the_page(ingest_site: IngestSite) -> None:
    client = _client(ingest_site)
    no_file = client.post("/ingest", data={"csrftoken": csrf_token(client)})
    assert no_file.status_code == 400 and "choose or drop at least one file" in no_file.text
    bad_columns = _upload(client, [("x.csv", b"a,b\n")], columns="serial")
    assert bad_columns.status_code == 400 and "name=column" in bad_columns.text
    bad_format = _upload(client, [("x.csv", b"a,b\n")], format="xml")
    assert bad_format.status_code == 400 and "must be one of" in bad_format.text
    unknown = _upload(client, [("x.csv", b"a,b\n")], delimiter="comma", colour="red")
    assert unknown.status_code == 400 and "Colour: is not a field" in unknown.text


def test_uploads_are_bounded_and_their_token_comes_first(ingest_site: IngestSite) -> None:
    client = _client(ingest_site)
    token = csrf_token(client)
    big = b"x" * (UPLOAD_LIMIT + 1)
    declared = _upload(client, [("big.csv", big)])
    assert declared.status_code == 413 and 'data-status="413"' in declared.text

    def body(*parts: tuple[str, str | None, bytes]) -> bytes:
        out = b""
        for name, filename, content in parts:
            disposition = f'form-data; name="{name}"' + (
                f'; filename="{filename}"' if filename else ""
            )
            out += (
                f"--B0\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + content + b"\r\n"
            )
        return out + b"--B0--\r\n"

    multipart = {"content-type": "multipart/form-data; boundary=B0"}
    file_first = body(("files", "a.csv", b"a,b\n"), ("csrftoken", None, token.encode()))
    wrong = body(("csrftoken", None, b"not-the-token"), ("files", "a.csv", b"a,b\n"))
    no_token = body(("format", None, b"csv"), ("files", "a.csv", b"a,b\n"))

    def chunks(content: bytes) -> Iterator[bytes]:
        for start in range(0, len(content), 32 * 1024):
            yield content[start : start + 32 * 1024]

    streamed = body(("csrftoken", None, token.encode()), ("files", "big.csv", big))
    cases = [
        (file_first, multipart, 403),
        (wrong, multipart, 403),
        (no_token, multipart, 403),
        (body(("csrftoken", None, token.encode())), {"content-type": "multipart/form-data"}, 400),
        (b"--B0\r\ngarbage", multipart, 403),
    ]
    for content, headers, status in cases:
        answer = client.post("/ingest", content=content, headers=headers, follow_redirects=False)
        assert answer.status_code == status, (content[:60], answer.text[:300])
        assert f'data-status="{status}"' in answer.text
    # Without a Content-Length the size is counted as the body streams in.
    answer = client.post("/ingest", content=chunks(streamed), headers=multipart)
    assert answer.status_code == 413, answer.text[:300]
    assert "larger than this server takes" in answer.text
    # Other pages still take no files.
    other = client.post("/logout", content=file_first, headers=multipart)
    assert other.status_code == 415
    assert client.get("/").status_code == 200  # still signed in


def test_a_viewer_may_not_import_and_sees_no_import_link(ingest_site: IngestSite) -> None:
    viewer = _client(ingest_site, Role.VIEWER)
    assert viewer.get("/ingest").status_code == 403
    assert _upload(viewer, [("x.csv", GOOD_AND_BAD_CSV.encode())]).status_code == 403
    assert _upload(viewer, [("x.csv", b"a,b\n")], path="/ingest/preview").status_code == 403
    assert 'href="/ingest"' not in viewer.get("/").text
    assert viewer.get("/ingest/files").status_code == 200  # reading the history is reading
    assert 'href="/ingest"' in _client(ingest_site, Role.QUALITY).get("/").text


# --- the history ------------------------------------------------------------------------------


def test_the_history_lists_each_file_with_its_counts_and_its_rejects(
    ingest_site: IngestSite,
) -> None:
    client = _client(ingest_site)
    answer = _upload(
        client, [("history.csv", GOOD_AND_BAD_CSV.encode())], product="TRK", build="TRK-P1"
    )
    file_id = re.search(r'href="/ingest/files/(\d+)"', _result_card(answer.text, "history.csv"))
    assert file_id
    history = client.get("/ingest/files")
    assert history.status_code == 200
    row = re.search(rf'<tr data-file="{file_id.group(1)}">(.*?)</tr>', history.text, re.S)
    assert row, history.text[:1000]
    counts = dict(re.findall(r'data-count="(\w+)">(?:<a[^>]*>)?(\d+)', row.group(1)))
    assert "history.csv" in row.group(1)
    assert counts["rejected"] == "2" and counts["inserted"] == "0" and counts["duplicates"] == "1"

    page = client.get(f"/ingest/files/{file_id.group(1)}")
    assert page.status_code == 200
    rejects = _text(page.text.split('data-table="file-rejects"', 1)[1].split("</table>")[0])
    assert "history.csv:4" in rejects and "history.csv:5" in rejects and "Nowhere" in rejects
    assert client.get("/ingest/files/99999999").status_code == 404

    # A partner sees only its partner's files: this one came from an engineer of the maker.
    partner = _client(ingest_site, Role.PARTNER)
    assert f'data-file="{file_id.group(1)}"' not in partner.get("/ingest/files").text
    assert partner.get(f"/ingest/files/{file_id.group(1)}").status_code == 404


# --- in a browser -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ingest_url(ingest_site: IngestSite) -> Iterator[str]:
    yield from serve(ingest_site.app)


def test_a_browser_uploads_a_file_and_sees_its_result(
    ingest_site: IngestSite, ingest_url: str, browser: Any, artifacts: Path, tmp_path: Path
) -> None:
    csv_file = tmp_path / "station-7.csv"
    csv_file.write_text(GOOD_AND_BAD_CSV.replace("TRK-000", "TRK-070"))
    csp_violations = (
        "window.__csp = []; document.addEventListener('securitypolicyviolation', "
        "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    with watched_tab(browser, ingest_url, init_script=csp_violations) as tab:
        sign_in_tab(tab, ingest_url, Role.OPERATIONS)
        tab.click("nav.mainnav a[href='/ingest']")
        tab.wait_for_url(f"{ingest_url}/ingest")
        tab.select_option("select[name=format]", "csv")
        tab.fill("input[name=product]", "TRK")
        tab.fill("input[name=build]", "TRK-P1")
        # A file dropped on the drop zone becomes the form's file.
        dropped = tab.evaluate(
            """() => {
                const zone = document.querySelector('[data-dropzone]');
                const data = new DataTransfer();
                data.items.add(new File(['serial,started_at,name,value'], 'dropped.csv'));
                zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true}));
                return Array.from(document.querySelector('input[type=file]').files, f => f.name);
            }"""
        )
        assert dropped == ["dropped.csv"]
        assert "dropped.csv" in tab.inner_text("[data-file-list]")
        tab.set_input_files("input[type=file]", str(csv_file))
        assert "station-7.csv" in tab.inner_text("[data-file-list]")
        tab.click("button[data-preview]")
        tab.wait_for_selector("[data-preview-file='station-7.csv']")
        assert "ripple_mv" in tab.inner_text("[data-table='preview-names']")
        tab.screenshot(path=str(artifacts / "ingest-preview.png"), full_page=True)

        tab.click("button[data-import-button]")  # the files are still chosen: HTMX kept the form
        card = tab.wait_for_selector("[data-result-file='station-7.csv']")
        assert tab.url == f"{ingest_url}/ingest"
        kpis = {
            k: tab.inner_text(f"[data-result-file='station-7.csv'] [data-kpi='{k}'] .kpi-value")
            for k in ("inserted", "duplicates", "rejected")
        }
        assert kpis == {"inserted": "1", "duplicates": "0", "rejected": "2"}
        assert "station-7.csv:5" in card.inner_text()
        tab.screenshot(path=str(artifacts / "ingest-result.png"), full_page=True)

        tab.click("[data-result-file='station-7.csv'] .card-head a")
        tab.wait_for_selector("[data-table='file-rejects']")
        tab.screenshot(path=str(artifacts / "ingest-file.png"), full_page=True)
        tab.goto(f"{ingest_url}/ingest/files")
        tab.screenshot(path=str(artifacts / "ingest-history.png"), full_page=True)
        tab.goto(f"{ingest_url}/test-runs/{ingest_site.run_id}")
        tab.wait_for_selector("[data-table='measurements']")
        tab.screenshot(path=str(artifacts / "test-run.png"), full_page=True)
        tab.goto(f"{ingest_url}/units/TRK-0100")
        tab.screenshot(path=str(artifacts / "unit-genealogy.png"), full_page=True)
        assert tab.evaluate("window.__csp") == []
        assert tab.problems == []


PREVIEWED_CSV = """serial,station,started_at,ended_at,name,value,unit,lsl,usl
TRK-0901,FCT,2026-05-06T08:00:00Z,2026-05-06T08:01:00Z,vbat,3.31,V,3.0,3.6
TRK-0901,FCT,2026-05-06T08:00:00Z,2026-05-06T08:01:00Z,vbat_volts,3.30,V,3.0,3.6
TRK-0901,FCT,2026-05-06T08:00:00Z,2026-05-06T08:01:00Z,hum_level_pct,41,%,,
TRK-0902,Nowhere,2026-05-06T08:02:00Z,2026-05-06T08:03:00Z,vbat,3.2,V,3.0,3.6
"""


def _mapping(card: str) -> dict[str, str]:
    return dict(re.findall(r'data-mapping="([^"]+)" data-how="([^"]+)"', card))


def test_the_preview_shows_the_mapping_and_what_the_import_then_does(
    ingest_site: IngestSite,
) -> None:
    with ingest_site.uow_factory() as uow:
        from phasegate.store.models import Characteristic, Product

        trk = uow.session.scalars(select(Product.id).where(Product.key == "TRK")).one()
        vbat = uow.session.scalars(
            select(Characteristic.id).where(
                Characteristic.product_id == trk, Characteristic.name == "vbat"
            )
        ).one()
    crud.create(
        ingest_site.uow_factory(),
        ingest.ALIASES,
        {"product_id": trk, "alias": "vbat_volts", "characteristic_id": vbat},
        actor=SYSTEM,
    )
    client = _client(ingest_site)
    before = _file_count(ingest_site)
    data = PREVIEWED_CSV.encode()
    answer = _upload(client, [("mapped.csv", data)], path="/ingest/preview", build="TRK-P1")
    assert answer.status_code == 200, answer.text[:300]
    card = answer.text.split('data-preview-file="mapped.csv"', 1)[1].split("</section>", 1)[0]
    assert _mapping(card) == {"vbat": "name", "vbat_volts": "alias", "hum_level_pct": "new"}
    mapping = _text(card.split('data-table="preview-mapping"', 1)[1].split("</table>")[0])
    assert "vbat_volts TRK vbat an alias" in mapping and "new, not CTQ" in mapping
    would = (_kpi(card, "would-insert"), _kpi(card, "would-duplicate"), _kpi(card, "would-reject"))
    assert would == ("1", "0", "1")
    rejects = _text(card.split('data-table="preview-would-reject"', 1)[1].split("</table>")[0])
    assert "mapped.csv:5" in rejects and "Nowhere" in rejects and "is not a station" in rejects
    assert _file_count(ingest_site) == before

    done = _upload(client, [("mapped.csv", data)], build="TRK-P1")
    result = _result_card(done.text, "mapped.csv")
    stored = (_kpi(result, "inserted"), _kpi(result, "duplicates"), _kpi(result, "rejected"))
    assert stored == would
    assert 'data-new-characteristic="hum_level_pct"' in result
    assert _file_count(ingest_site) == before + 1

    again = _upload(client, [("mapped.csv", data)], path="/ingest/preview", build="TRK-P1")
    card = again.text.split('data-preview-file="mapped.csv"', 1)[1].split("</section>", 1)[0]
    assert _kpi(card, "would-duplicate") == "1" and _mapping(card) == {}
