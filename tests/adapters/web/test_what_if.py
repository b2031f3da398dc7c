"""The what-if page of a build: its line as measured in a form, both lines simulated side by side,
every bad value shown beside its field (4xx, never 500), on SQLite and PostgreSQL; and in real
Chromium over the demo data, a second server on the bottleneck raising the throughput."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from phasegate.app import create_app
from phasegate.demo.loader import load_demo
from phasegate.demo.logins import DEMO_LOGINS
from phasegate.domain.policy import SYSTEM
from phasegate.services.line_model import line_from_build
from phasegate.store import db
from phasegate.store.models import Build
from phasegate.store.uow import UnitOfWork
from phasegate.web.what_if import MAX_REPLICATIONS, MAX_RUN, MAX_SERVERS, MAX_UNITS
from tests.adapters.web.conftest import Site, csrf_token, serve, settings_for

HX = {"HX-Request": "true"}
STATIONS = ["SMT", "Assembly", "Flash & test", "Pack"]
NUMBER_INPUT = re.compile(r'<input name="([a-z_0-9]+)" type="number"[^>]*? value="([^"]*)"')


def _form(client: TestClient, build_id: int) -> dict[str, str]:
    """The what-if form as the page fills it in, with the CSRF token."""
    page = client.get(f"/builds/{build_id}/what-if")
    assert page.status_code == 200, page.text
    return {"csrftoken": csrf_token(client), **dict(NUMBER_INPUT.findall(page.text))}


def _errors(html: str) -> dict[str, str]:
    found = re.findall(r'data-error="([^"]+)">([^<]+)<', html)
    return {name: message.replace("&gt;", ">").replace("&#39;", "'") for name, message in found}


def _throughputs(html: str) -> list[float]:
    row = re.search(r'data-row="throughput">(.*?)</tr>', html, re.S)
    assert row is not None
    return [float(v) for v in re.findall(r'data-value="([^"]+)"', row.group(1))]


def _bottleneck(site: Site) -> tuple[int, str]:
    """The station with the largest mean time per server: its index and name."""
    pilot = line_from_build(
        UnitOfWork.for_engine(site.engine), site.data.pilot_build_id, actor=SYSTEM
    )
    index = max(
        range(len(pilot.sources)),
        key=lambda i: pilot.sources[i].mean_s / pilot.line.stations[i].servers,
    )
    return index, pilot.line.stations[index].name


def test_the_form_shows_the_line_as_measured(client: TestClient, site: Site) -> None:
    page = client.get(f"/builds/{site.data.pilot_build_id}/what-if")
    assert page.status_code == 200
    html = page.text
    names = re.findall(r'<tr data-station="([^"]+)">', html)
    assert [n.replace("&amp;", "&") for n in names] == STATIONS
    values = dict(NUMBER_INPUT.findall(html))
    assert values["demand"] == "20000"  # the drone's target annual volume
    assert values["buffer_0"] == "2"
    assert float(values["mean_0"]) > 0 and float(values["cv_0"]) >= 0
    assert 'hx-post="/builds/' in html and 'hx-indicator="#what-if-progress"' in html
    assert "Simulating …" in html
    assert "data-what-if-result" not in html  # nothing ran yet


def test_both_lines_side_by_side(client: TestClient, site: Site) -> None:
    build_id = site.data.pilot_build_id
    index, name = _bottleneck(site)
    form = _form(client, build_id) | {"units": "1000", "replications": "3"}
    unchanged = client.post(f"/builds/{build_id}/what-if", data=form, headers=HX)
    assert unchanged.status_code == 200, unchanged.text
    assert "<html" not in unchanged.text and "data-what-if-result" in unchanged.text
    same = _throughputs(unchanged.text)
    assert same[0] == pytest.approx(same[1], rel=1e-12)  # same line, same seed

    form[f"servers_{index}"] = str(int(form[f"servers_{index}"]) + 1)
    changed = client.post(f"/builds/{build_id}/what-if", data=form, headers=HX)
    assert changed.status_code == 200
    current, more = _throughputs(changed.text)
    assert current == pytest.approx(same[0], rel=1e-12)
    assert more > current, f"a server more on {name} gave {more} against {current}"
    assert "Rate the takt needs" in changed.text and "20,000 a year" in changed.text
    found = re.search(r'id="what-if-chart"[^>]*data-figure=\'([^\']+)\'', changed.text)
    assert found is not None
    figure = json.loads(found.group(1))
    assert [t["name"] for t in figure["data"]][:3] == ["Working", "Blocked", "Starved"]
    assert figure["data"][0]["x"][1] == ["Current", "Changed"] * len(STATIONS)
    assert len(figure["data"][0]["y"]) == 2 * len(STATIONS)


def test_without_htmx_the_answer_is_the_whole_page(client: TestClient, site: Site) -> None:
    build_id = site.data.pilot_build_id
    form = _form(client, build_id) | {"units": "300", "replications": "2", "demand": "40000"}
    answer = client.post(f"/builds/{build_id}/what-if", data=form)
    assert answer.status_code == 200
    assert "<html" in answer.text and "data-what-if-result" in answer.text
    assert "40,000 a year" in answer.text  # the changed line's demand


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("servers_0", "0", "must be a whole number >= 1, got 0"),
        ("buffer_1", "-1", "must be a whole number >= 0, got -1"),
        ("cv_2", "-0.2", "must be >= 0, got -0.2"),
        ("mean_0", "0", "must be > 0 seconds"),
        ("mean_3", "fast", "must be a number, got 'fast'"),
        ("units", str(10 * MAX_UNITS), f"at most {MAX_UNITS:,} on this page"),
        ("replications", "1", "must be a whole number >= 2, got 1"),
        ("replications", "200", f"at most {MAX_REPLICATIONS} on this page, got 200"),
        ("servers_1", str(MAX_SERVERS + 1), f"at most {MAX_SERVERS} on this page"),
        ("demand", "0", "must be a whole number >= 1, got 0"),
        ("servers_2", "1e9", "must be a whole number, got '1e9'"),
        ("buffer_0", "9" * 5000, "at most 1,000 on this page"),
    ],
)
def test_bad_values_are_named_beside_their_field(
    client: TestClient, site: Site, field: str, value: str, message: str
) -> None:
    build_id = site.data.pilot_build_id
    form = _form(client, build_id) | {field: value}
    for headers in (HX, {}):
        answer = client.post(f"/builds/{build_id}/what-if", data=form, headers=headers)
        assert answer.status_code == 400
        errors = _errors(answer.text)
        assert list(errors) == [field]
        assert message in errors[field]
        assert "data-what-if-result" not in answer.text


def test_a_run_is_bounded_in_units_in_all(client: TestClient, site: Site) -> None:
    build_id = site.data.pilot_build_id
    units = MAX_RUN // MAX_REPLICATIONS + 1
    form = _form(client, build_id) | {"units": str(units), "replications": str(MAX_REPLICATIONS)}
    answer = client.post(f"/builds/{build_id}/what-if", data=form, headers=HX)
    assert answer.status_code == 400
    message = _errors(answer.text)["units"]
    assert f"{units:,} units x {MAX_REPLICATIONS} replications" in message
    assert f"({MAX_RUN:,} units in all)" in message


def test_several_bad_values_at_once(client: TestClient, site: Site) -> None:
    build_id = site.data.pilot_build_id
    form = _form(client, build_id) | {"servers_0": "0", "cv_1": "-1", "buffer_2": "x"}
    answer = client.post(f"/builds/{build_id}/what-if", data=form, headers=HX)
    assert answer.status_code == 400
    assert set(_errors(answer.text)) == {"servers_0", "cv_1", "buffer_2"}


def test_refusals(client: TestClient, site: Site) -> None:
    build_id = site.data.pilot_build_id
    form = _form(client, build_id)
    del form["csrftoken"]
    assert client.post(f"/builds/{build_id}/what-if", data=form).status_code == 403
    assert client.get("/builds/999999/what-if").status_code == 404
    no_passes = client.get(f"/builds/{site.data.proto_build_id}/what-if")
    assert no_passes.status_code == 400
    assert "has no finished station passes" in no_passes.text
    anonymous = TestClient(site.app).get(f"/builds/{build_id}/what-if", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 307)


def test_the_line_performance_section_links_here(client: TestClient, site: Site) -> None:
    pilot = client.get(f"/builds/{site.data.pilot_build_id}/line", headers=HX).text
    assert f'<a href="/builds/{site.data.pilot_build_id}/what-if">What if' in pilot
    proto = client.get(f"/builds/{site.data.proto_build_id}/line", headers=HX).text
    assert "data-what-if-link" not in proto


# --- real Chromium over the demo data -----------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, str, int]]:
    """The demo on a live port: its URL, the AS1 pilot build, its bottleneck and its index."""
    url = f"sqlite:///{tmp_path_factory.mktemp('whatif') / 'demo.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    load_demo(engine)
    with engine.connect() as conn:
        build_id = conn.scalar(select(Build.id).where(Build.code == "AS1-PLT"))
    assert build_id is not None
    pilot = line_from_build(UnitOfWork.for_engine(engine), build_id, actor=SYSTEM)
    index = max(
        range(len(pilot.sources)),
        key=lambda i: pilot.sources[i].mean_s / pilot.line.stations[i].servers,
    )
    app = create_app(settings_for(url), engine=engine)
    for base in serve(app):
        yield base, build_id, pilot.line.stations[index].name, index
    engine.dispose()


@pytest.mark.browser
def test_a_second_server_on_the_bottleneck_in_chromium(
    demo: tuple[str, int, str, int], browser: Any, artifacts: Path
) -> None:
    base, build_id, name, index = demo
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    admin = DEMO_LOGINS[0]
    tab.goto(f"{base}/login", wait_until="domcontentloaded")
    tab.fill("input[name=name]", admin.name)
    tab.fill("input[name=password]", admin.password)
    tab.click("form.auth-form button[type=submit]")
    tab.wait_for_url(f"{base}/")

    # From the build page's line performance section.
    tab.goto(f"{base}/builds/{build_id}", wait_until="networkidle")
    tab.locator("[data-what-if-link] a").click()
    tab.wait_for_url(f"{base}/builds/{build_id}/what-if")
    assert tab.locator(f"input[name=servers_{index}]").input_value() == "1"

    tab.fill(f"input[name=servers_{index}]", "2")
    tab.fill("input[name=units]", "5000")
    tab.fill("input[name=replications]", "10")
    tab.click("[data-run]")
    # The indicator shows while the server simulates.
    tab.wait_for_selector("#what-if-progress.htmx-request", state="attached", timeout=5000)
    tab.wait_for_selector("#what-if-chart .main-svg", timeout=60_000)
    row = tab.locator("[data-table=what-if-summary] [data-row=throughput] td")
    current, changed = (float(row.nth(i).get_attribute("data-value") or "nan") for i in (0, 1))
    assert changed > current * 1.05, (current, changed)
    bottlenecks = tab.locator("[data-table=what-if-summary] [data-row=bottleneck] td")
    assert bottlenecks.nth(0).inner_text() == name
    assert bottlenecks.nth(1).inner_text() != name
    assert tab.locator("#what-if-chart .bars .point").count() == 3 * 2 * 6
    tab.screenshot(path=str(artifacts / "what-if.png"), full_page=True)
    tab.screenshot(path="/tmp/what-if.png", full_page=True)

    assert problems == []

    # A bad value comes back beside its field, the form kept (the browser logs the 400).
    tab.fill(f"input[name=servers_{index}]", "0")
    tab.fill("input[name=cv_0]", "-0.5")
    tab.click("[data-run]")
    tab.wait_for_selector(f"[data-error=servers_{index}]")
    assert "must be a whole number >= 1" in tab.inner_text(f"[data-error=servers_{index}]")
    assert "must be >= 0" in tab.inner_text("[data-error=cv_0]")
    assert tab.locator("[data-what-if-result]").count() == 0
    tab.screenshot(path="/tmp/what-if-errors.png", full_page=True)
    assert [p for p in problems if "status of 400" not in p] == []
    context.close()
