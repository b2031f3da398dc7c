"""Control plan pages: the plan per station and its CSV, the item forms (CSRF, permissions, bad
input, stale versions), a gauge with its studies, the build page's coverage fragment; and in
real Chromium, an item added through the form shows in the table and in the coverage."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from phasegate.domain.policy import SYSTEM, Role
from phasegate.services import control_plan as cp
from phasegate.store.models import Characteristic, ControlPlan, Gauge, Line, Product
from phasegate.store.uow import UnitOfWork
from phasegate.web.auth import AttemptLimiter
from tests.adapters.web.conftest import (
    Site,
    csrf_token,
    sign_in_tab,
    signed_in_client,
    watched_tab,
)
from tests.services.test_control_plan import aiag_readings, precise_readings

PLAN_PAGE = "/products/DRN/control-plan"
HOSTILE = "<script>alert('cp')</script>"


def _ids(site: Site) -> dict[str, Any]:
    uow = UnitOfWork.for_engine(site.engine)
    with uow:
        product = uow.session.scalar(select(Product).where(Product.key == "DRN"))
        assert product is not None
        chars = {
            c.name: c.id
            for c in uow.session.scalars(
                select(Characteristic).where(Characteristic.product_id == product.id)
            )
        }
        line = uow.session.scalar(select(Line).where(Line.name == "Pilot line A"))
        assert line is not None
        stations = {s.name: s.id for s in line.stations}
        plan = uow.session.scalar(select(ControlPlan).where(ControlPlan.product_id == product.id))
        gauge = uow.session.scalar(select(Gauge).where(Gauge.name == "AMM-3"))
    return {
        "chars": chars,
        "stations": stations,
        "line": line.id,
        "plan": plan.id if plan else None,
        "gauge": gauge.id if gauge else None,
    }


@pytest.fixture(scope="module")
def planned(site: Site) -> dict[str, Any]:
    """DRN gets a plan on Pilot line A through the page; gauge AMM-3 with an acceptable study
    of Hover current and gauge SPL-1 with an unacceptable one of Motor noise."""
    client = signed_in_client(site.app)
    ids = _ids(site)
    if ids["plan"] is None:
        answer = client.post(
            PLAN_PAGE,
            data={
                "csrftoken": csrf_token(client),
                "name": "Pilot control plan",
                "plan_version": "1",
                "status": "released",
                "line_id": str(ids["line"]),
            },
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        uow = UnitOfWork.for_engine(site.engine)
        for name, char, readings in (
            ("AMM-3", "Hover current", precise_readings()),
            ("SPL-1", "Motor noise", aiag_readings()),
        ):
            gauge = cp.new_gauge(uow, name, product="DRN", actor=SYSTEM)
            cp.record_gage_study(
                uow,
                gauge.id,
                characteristic_id=ids["chars"][char],
                readings=readings,
                tolerance=20.0 if char == "Hover current" else None,
                actor=SYSTEM,
            )
        ids = _ids(site)
    return ids


def _item_form(client: TestClient, ids: dict[str, Any], **overrides: str) -> dict[str, str]:
    return {
        "csrftoken": csrf_token(client),
        "station_id": str(ids["stations"]["Flash & test"]),
        "characteristic_id": str(ids["chars"]["Hover current"]),
        "method": "Current probe on the hover test",
        "gauge_id": str(ids["gauge"]),
        "sample_size": "5",
        "frequency": "5 units every hour",
        "frequency_every": "1",
        "frequency_per": "hour",
        "chart_type": "xbar-r",
        "reaction_plan": "Stop the test station and call quality",
    } | overrides


def test_add_edit_and_delete_items_through_the_forms(
    client: TestClient, site: Site, planned: dict[str, Any]
) -> None:
    page = client.get(PLAN_PAGE)
    assert page.status_code == 200 and 'data-form="add-item"' in page.text

    bad = client.post(
        f"{PLAN_PAGE}/items",
        data=_item_form(client, planned, sample_size="0", chart_type="pie", method=HOSTILE),
    )
    assert bad.status_code == 400
    assert 'data-error="sample_size"' in bad.text and 'data-error="chart_type"' in bad.text
    assert HOSTILE not in bad.text and "&lt;script&gt;" in bad.text  # kept, escaped

    added = client.post(
        f"{PLAN_PAGE}/items",
        data=_item_form(client, planned, method=HOSTILE),
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    item_id = int(added.headers["location"].rsplit("#item-", 1)[1])
    shown = client.get(PLAN_PAGE)
    assert f'data-item="{item_id}"' in shown.text and HOSTILE not in shown.text
    assert 'data-ctq="Hover current" data-covered="yes"' in shown.text

    rows = list(csv.DictReader(io.StringIO(client.get(f"{PLAN_PAGE}.csv").text)))
    assert [(r["station"], r["characteristic"], r["method"]) for r in rows if
            r["id"] == str(item_id)] == [("Flash & test", "Hover current", HOSTILE)]  # fmt: skip

    edit = f"{PLAN_PAGE}/items/{item_id}"
    assert client.get(edit).status_code == 200
    stale = client.post(edit, data=_item_form(client, planned, version="99", sample_size="3"))
    assert stale.status_code == 412
    changed = client.post(
        edit,
        data=_item_form(client, planned, version="1", sample_size="3", method="Current probe"),
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    assert "Current probe" in client.get(PLAN_PAGE).text

    deleted = client.post(
        f"{edit}/delete",
        data={"csrftoken": csrf_token(client), "version": "2"},
        follow_redirects=False,
    )
    assert deleted.status_code == 303, deleted.text
    assert f'data-item="{item_id}"' not in client.get(PLAN_PAGE).text


def test_a_post_without_the_csrf_token_is_refused(
    client: TestClient, planned: dict[str, Any]
) -> None:
    form = _item_form(client, planned)
    del form["csrftoken"]
    assert client.post(f"{PLAN_PAGE}/items", data=form).status_code == 403


def test_a_viewer_sees_no_forms_and_is_refused_the_posts(
    site: Site, planned: dict[str, Any]
) -> None:
    site.app.state.login_limiter = AttemptLimiter()
    viewer = signed_in_client(site.app, Role.VIEWER)
    page = viewer.get(PLAN_PAGE)
    assert page.status_code == 200
    assert "data-form=" not in page.text and "/delete" not in page.text
    refused = viewer.post(f"{PLAN_PAGE}/items", data=_item_form(viewer, planned))
    assert refused.status_code == 403
    assert viewer.get(f"{PLAN_PAGE}.csv").status_code == 200


def test_gauge_page_and_the_build_fragment(
    client: TestClient, site: Site, planned: dict[str, Any]
) -> None:
    gauge = client.get(f"/gauges/{planned['gauge']}")
    assert gauge.status_code == 200 and 'data-verdict="acceptable"' in gauge.text
    build = f"/builds/{site.data.pilot_build_id}"
    assert f'hx-get="{build}/control-plan"' in client.get(build).text
    fragment = client.get(f"{build}/control-plan", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert 'data-ctq="Motor noise"' in fragment.text
    whole = client.get(f"{build}/control-plan")
    assert whole.status_code == 200 and "<html" in whole.text
    assert client.get("/gauges/999999").status_code == 404
    assert client.get("/products/NOPE/control-plan").status_code == 404


@pytest.fixture
def tab(browser: Any, live_url: str, site: Site) -> Iterator[Any]:
    site.app.state.login_limiter = AttemptLimiter()
    with watched_tab(browser, live_url) as page:
        yield page


@pytest.mark.browser
def test_an_item_added_in_the_browser_shows_in_the_table_and_coverage(
    tab: Any, live_url: str, site: Site, planned: dict[str, Any], tmp_path: Path
) -> None:
    sign_in_tab(tab, live_url, Role.QUALITY)
    tab.goto(f"{live_url}{PLAN_PAGE}")
    motor = tab.locator('[data-ctq="Motor noise"]')
    covered_before = motor.get_attribute("data-covered")
    form = tab.locator('form[data-form="add-item"]')
    form.locator("select[name=station_id]").select_option(label="Pilot line A / Flash & test")
    form.locator("select[name=characteristic_id]").select_option(label="Motor noise (CTQ)")
    form.locator("select[name=gauge_id]").select_option(label="SPL-1")
    form.locator("input[name=method]").fill("Sound meter in the hush box")
    form.locator("input[name=sample_size]").fill("3")
    form.locator("input[name=frequency]").fill("3 units per shift")
    form.locator("input[name=frequency_every]").fill("1")
    form.locator("select[name=frequency_per]").select_option("shift")
    form.locator("select[name=chart_type]").select_option("imr")
    form.locator("input[name=reaction_plan]").fill("Quarantine the shift's units")
    form.locator("button[type=submit]").click()
    tab.wait_for_selector("text=Sound meter in the hush box")
    row = tab.locator("tr", has_text="Sound meter in the hush box")
    assert "Motor noise" in row.inner_text() and "SPL-1" in row.inner_text()
    assert covered_before == "no"
    motor = tab.locator('[data-ctq="Motor noise"]')
    assert motor.get_attribute("data-covered") == "yes"
    assert motor.locator('[data-verdict="unacceptable"]').count() == 1
    tab.screenshot(path=str(tmp_path / "control-plan.png"), full_page=True)

    tab.goto(f"{live_url}/builds/{site.data.pilot_build_id}")
    tab.wait_for_selector('#control-plan [data-ctq="Motor noise"][data-covered="yes"]')
    assert tab.problems == []
