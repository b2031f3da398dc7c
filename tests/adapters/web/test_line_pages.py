"""The line performance of a build on the build page: the fragment, its page of its own, and
the cycle-time chart in real Chromium (takt line and bottleneck), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from phasegate.domain.policy import Role
from tests.adapters.web.conftest import Site, sign_in_tab, watched_tab

HX = {"HX-Request": "true"}
STATIONS = ["SMT", "Assembly", "Flash & test", "Pack"]
# Field Drone X1: 20 000 a year; Pilot line A keeps the default calendar, one 8-hour shift on
# 250 days: 250 x 8 x 3600 / 20 000 = 360 s.
TAKT = "6 min 00 s"


def _stations(html: str) -> list[str]:
    return [s.replace("&amp;", "&") for s in re.findall(r'data-station="([^"]+)"', html)]


def test_the_fragment_shows_takt_stations_and_one_bottleneck(
    client: TestClient, site: Site
) -> None:
    r = client.get(f"/builds/{site.data.pilot_build_id}/line", headers=HX)
    assert r.status_code == 200
    html = r.text
    assert "<html" not in html and "data-line-performance" in html
    assert _stations(html) == STATIONS
    assert html.count("data-bottleneck") == 1
    assert re.search(
        rf'data-kpi="takt">\s*<div class="kpi-label">Takt time</div>\s*'
        rf'<div class="kpi-value">{TAKT}</div>',
        html,
    )
    figure = json.loads(
        re.search(r'id="line-cycle-chart"[^>]*data-figure=\'([^\']+)\'', html).group(1)
    )
    assert figure["layout"]["shapes"][0]["y0"] == pytest.approx(360.0)
    assert [a["text"] for a in figure["layout"]["annotations"]] == ["Takt 360 s", "Bottleneck"]


def test_without_htmx_it_is_a_page_of_its_own(client: TestClient, site: Site) -> None:
    r = client.get(f"/builds/{site.data.pilot_build_id}/line")
    assert r.status_code == 200
    assert "<html" in r.text and 'aria-current="page">Line performance<' in r.text
    assert _stations(r.text) == STATIONS


def test_the_build_page_loads_it_in_place_of_the_old_cycle_bars(
    client: TestClient, site: Site
) -> None:
    build_id = site.data.pilot_build_id
    html = client.get(f"/builds/{build_id}").text
    assert f'hx-get="/builds/{build_id}/line"' in html
    assert f'<a href="/builds/{build_id}/line">' in html  # the fallback without script
    assert 'id="cycle-chart"' not in html


def test_a_prototype_build_has_no_line(client: TestClient, site: Site) -> None:
    r = client.get(f"/builds/{site.data.proto_build_id}/line", headers=HX)
    assert r.status_code == 200
    assert "This build has no line and no station passes." in r.text
    assert "the product has no target annual volume" not in r.text  # the drone has one


def test_errors(client: TestClient, site: Site) -> None:
    assert client.get("/builds/999999/line", headers=HX).status_code == 404
    assert client.get("/builds/x/line").status_code == 400
    anonymous = TestClient(site.app).get(
        f"/builds/{site.data.pilot_build_id}/line", follow_redirects=False
    )
    assert anonymous.status_code in (302, 303, 307)
    assert anonymous.headers["location"].startswith("/login")


@pytest.fixture
def page(browser: Any, live_url: str) -> Iterator[Any]:
    with watched_tab(browser, live_url) as tab:
        sign_in_tab(tab, live_url, Role.ADMIN)
        yield tab


@pytest.mark.browser
def test_the_cycle_time_chart_marks_takt_and_bottleneck(
    page: Any, live_url: str, site: Site, artifacts: Path
) -> None:
    page.goto(f"{live_url}/builds/{site.data.pilot_build_id}", wait_until="networkidle")
    page.wait_for_selector("#line-cycle-chart .main-svg")  # HTMX loaded it, Plotly drew it
    chart = page.locator("#line-cycle-chart")
    texts = chart.locator(".annotation-text").all_text_contents()
    assert "Bottleneck" in texts and "Takt 360 s" in texts
    assert chart.locator(".shapelayer path").count() == 1  # the takt line
    assert chart.locator(".bars .point").count() == len(STATIONS)
    bottleneck = page.locator("[data-table=line-stations] tr.bottleneck td:nth-child(2) b")
    assert bottleneck.inner_text() in STATIONS
    assert page.locator('[data-kpi="takt"] .kpi-value').inner_text() == TAKT
    assert page.locator('[data-kpi="bottleneck"] .kpi-value').inner_text() == (
        bottleneck.inner_text()
    )
    page.locator("#line").scroll_into_view_if_needed()
    page.locator("#line").screenshot(path=str(artifacts / "build-line-performance.png"))
    assert page.problems == []
