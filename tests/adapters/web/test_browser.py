"""Real Chromium against a live server: the portfolio and a product page show what they should.

Screenshots of every page are kept under ``test-artifacts/`` for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from phasegate.domain.policy import Role
from tests.adapters.web.conftest import Site, sign_in_tab, watched_tab

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser: Any, live_url: str) -> Iterator[Any]:
    with watched_tab(browser, live_url) as tab:
        sign_in_tab(tab, live_url, Role.ADMIN)
        yield tab


def test_portfolio_and_product_page(page: Any, live_url: str, artifacts: Path) -> None:
    page.goto(f"{live_url}/", wait_until="networkidle")
    cards = page.locator("[data-product]")
    assert cards.count() == 3
    drone = page.locator('[data-product="DRN"]')
    assert drone.locator("h2").inner_text() == "Field Drone X1"
    assert drone.locator(".badge").first.inner_text() == "Pilot run"
    assert page.locator('[data-kpi="products"] .kpi-value').inner_text() == "3"
    page.screenshot(path=str(artifacts / "portfolio.png"), full_page=True)

    drone.get_by_role("link", name="Field Drone X1").click()
    page.wait_for_url(f"{live_url}/products/DRN")
    page.wait_for_selector("#iteration-chart .main-svg")  # Plotly drew the chart
    assert page.locator("h1").inner_text() == "Field Drone X1"
    assert page.locator('.step.current[data-phase="pilot"]').is_visible()
    assert page.locator('[data-kpi="findings"] .kpi-value').inner_text() == "4"
    assert page.locator('[data-kpi="specs"] .kpi-value').inner_text() == "33 %"
    revisions = page.locator("#revisions tbody tr td:first-child").all_inner_texts()
    assert revisions == ["A", "B", "C"]
    builds = page.locator("#builds tbody tr td:first-child").all_inner_texts()
    assert builds == ["PILOT-1", "PROTO-B1", "PROTO-A1"]
    page.screenshot(path=str(artifacts / "product.png"), full_page=True)
    assert page.problems == []


def test_build_filter_updates_in_place(
    page: Any, live_url: str, site: Site, artifacts: Path
) -> None:
    build_id = site.data.pilot_build_id
    page.goto(f"{live_url}/builds/{build_id}", wait_until="networkidle")
    page.wait_for_selector("#yield-chart .main-svg")
    assert page.locator("[data-serial]").count() == 50
    page.select_option("select[name=status]", "failed")
    expect(page.locator("[data-serial]")).to_have_count(11)  # no eval: the policy forbids it
    assert "status=failed" in page.url  # the filtered list has its own address
    assert "Showing 1–11 of 11 units" in page.locator(".pager").inner_text()
    page.screenshot(path=str(artifacts / "build.png"), full_page=True)
    assert page.problems == []


def test_unit_and_error_pages(page: Any, live_url: str, artifacts: Path) -> None:
    page.goto(f"{live_url}/", wait_until="networkidle")
    page.fill("input[name=serial]", "DRN-P1-0001")
    page.press("input[name=serial]", "Enter")
    page.wait_for_url(f"{live_url}/units/DRN-P1-0001")
    assert page.locator('[data-kpi="out-of-limits"] .kpi-value').inner_text() == "1"
    page.screenshot(path=str(artifacts / "unit.png"), full_page=True)
    response = page.goto(f"{live_url}/builds/9999")
    assert response.status == 404
    assert page.locator(".error-page h1").inner_text() == "Not found"
    page.screenshot(path=str(artifacts / "error.png"), full_page=True)
