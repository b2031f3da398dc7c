"""Real Chromium against a live server: the build's unit list pages by serial in place (HTMX),
each page with its own address, which opens the same page."""

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


def _first_serial(page: Any) -> str:
    return str(page.locator("[data-serial]").first.get_attribute("data-serial"))


def test_next_last_previous_and_back(page: Any, live_url: str, site: Site, artifacts: Path) -> None:
    build_id = site.data.pilot_build_id
    page.goto(f"{live_url}/builds/{build_id}", wait_until="networkidle")
    pager = page.locator("#units-table [data-pager=units]")
    assert "Showing 1–50 of 120 units" in pager.inner_text()

    page.locator("#units-table a[rel=next]").click()
    expect(page.locator("[data-serial]").first).to_have_attribute("data-serial", "DRN-P1-0051")
    assert page.url.endswith(f"/builds/{build_id}?after=DRN-P1-0050")

    page.locator("#units-table a[rel=last]").click()
    expect(page.locator("[data-serial]").first).to_have_attribute("data-serial", "DRN-P1-0071")
    assert page.url.endswith(f"/builds/{build_id}?last=1")
    assert "Showing 71–120 of 120 units" in pager.inner_text()
    expect(page.locator("#units-table a[rel=next]")).to_have_count(0)

    page.locator("#units-table a[rel=prev]").click()
    expect(page.locator("[data-serial]").first).to_have_attribute("data-serial", "DRN-P1-0021")
    assert page.url.endswith(f"/builds/{build_id}?before=DRN-P1-0071")
    page.screenshot(path=str(artifacts / "build-units-keyset.png"), full_page=True)
    assert page.problems == []

    page.goto(f"{live_url}/builds/{build_id}?last=1", wait_until="networkidle")
    assert _first_serial(page) == "DRN-P1-0071"  # the address a page pushed opens that page
