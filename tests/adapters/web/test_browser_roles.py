"""Real Chromium: each role signs in through the sign-in page, sees what it may see, is refused
what it may not, and signs out. The sign-in page and the pages stay within the
Content-Security-Policy (no inline script: the CSRF token travels in attributes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from phasegate.domain.policy import Role
from phasegate.store.models import WebSession
from phasegate.web.auth import AttemptLimiter
from tests.adapters.web.conftest import Site, sign_in_tab, watched_tab
from tests.adapters.web.data import PASSWORD, USERS

pytestmark = pytest.mark.browser
INTERNAL = [r for r in Role if r is not Role.PARTNER]


@pytest.fixture
def tab(browser: Any, live_url: str, site: Site) -> Iterator[Any]:
    # This module signs in more often than one address may in a minute: each test starts with
    # a fresh count (the limit itself is tested in test_sign_in.py).
    site.app.state.login_limiter = AttemptLimiter()
    with watched_tab(browser, live_url) as page:
        yield page


def _sign_out(tab: Any, live_url: str) -> None:
    tab.click("form.sign-out button")
    tab.wait_for_url(f"{live_url}/login")
    assert tab.locator(".account").count() == 0
    response = tab.goto(f"{live_url}/")
    assert response.url.startswith(f"{live_url}/login")  # the session is gone


def _status(tab: Any, url: str) -> int:
    response = tab.goto(url)
    assert response is not None
    return int(response.status)


def test_an_anonymous_visitor_signs_in_and_comes_back(tab: Any, live_url: str, site: Site) -> None:
    build = f"/builds/{site.data.pilot_build_id}"
    tab.goto(f"{live_url}{build}")
    assert tab.url.startswith(f"{live_url}/login?next=")
    tab.fill("input[name=name]", USERS[Role.ENGINEER])
    tab.fill("input[name=password]", "a wrong password")
    tab.click("form.auth-form button[type=submit]")
    tab.wait_for_selector("[data-error]")
    assert "Wrong name or password" in tab.locator("[data-error]").inner_text()
    tab.fill("input[name=password]", PASSWORD)
    tab.click("form.auth-form button[type=submit]")
    tab.wait_for_url(f"{live_url}{build}")
    assert tab.locator("h1").inner_text().startswith("Build PILOT-1")
    # The one wrong password answered 401, which Chromium logs; nothing else went wrong.
    assert all("status of 401" in p for p in tab.problems), tab.problems


@pytest.mark.parametrize("role", INTERNAL, ids=[r.value for r in INTERNAL])
def test_each_internal_role_sees_the_portfolio(
    tab: Any, live_url: str, role: Role, artifacts: Path
) -> None:
    sign_in_tab(tab, live_url, role)
    tab.wait_for_load_state("networkidle")
    assert tab.locator("[data-product]").count() == 3
    account = tab.locator(".account")
    assert account.get_attribute("data-user") == USERS[role]
    assert role.label in account.inner_text()
    assert tab.locator("nav.mainnav a", has_text="API").get_attribute("href") == "/api/v1/docs"
    tab.locator('[data-product="DRN"] h2 a').click()
    tab.wait_for_url(f"{live_url}/products/DRN")
    tab.wait_for_selector("#iteration-chart .main-svg")
    assert tab.locator("h1").inner_text() == "Field Drone X1"
    if role is Role.VIEWER:
        tab.screenshot(path=str(artifacts / "signed-in-viewer.png"), full_page=False)
    assert tab.problems == []
    _sign_out(tab, live_url)


def test_a_partner_sees_its_builds_and_is_refused_the_rest(
    tab: Any, live_url: str, site: Site, artifacts: Path
) -> None:
    sign_in_tab(tab, live_url, Role.PARTNER)
    tab.wait_for_load_state("networkidle")
    assert tab.locator("[data-product]").count() == 1
    assert tab.locator('[data-kpi="products"] .kpi-value').inner_text() == "1"
    assert tab.locator('[data-product="DRN"] h2 a').count() == 0  # no product page link
    tab.screenshot(path=str(artifacts / "signed-in-partner.png"), full_page=True)
    tab.locator('[data-build="PROTO-B1"]').click()
    tab.wait_for_url(f"{live_url}/builds/{site.data.partner_build_id}")
    assert tab.locator("h1").inner_text().startswith("Build PROTO-B1")

    assert _status(tab, f"{live_url}/products/DRN") == 403
    assert tab.locator(".error-page h1").inner_text() == "Not allowed"
    assert _status(tab, f"{live_url}/builds/{site.data.other_partner_build_id}") == 404
    assert _status(tab, f"{live_url}/builds/{site.data.pilot_build_id}") == 404
    tab.goto(f"{live_url}/", wait_until="networkidle")
    _sign_out(tab, live_url)


def test_a_partial_update_after_the_session_ended_loads_the_sign_in_page(
    tab: Any, live_url: str, site: Site
) -> None:
    """HTMX gets ``HX-Redirect``: the whole tab goes to the sign-in page, not the table."""
    build = site.data.pilot_build_id
    sign_in_tab(tab, live_url, Role.VIEWER)
    # The page's sections load after it (HTMX): count the requests in flight, and end the
    # session only once every section has its answer, or one loading late would meet it first.
    tab.add_init_script(
        "window.__pending = 0;"
        "document.addEventListener('htmx:beforeRequest', () => window.__pending++);"
        "document.addEventListener('htmx:afterRequest', () => window.__pending--);"
    )
    tab.goto(f"{live_url}/builds/{build}", wait_until="networkidle")
    tab.wait_for_function("() => window.__pending === 0")
    with site.engine.begin() as conn:
        conn.execute(delete(WebSession))  # signed out elsewhere, e.g. by an administrator
    tab.select_option("select[name=status]", "failed")
    tab.wait_for_url(re.compile(re.escape(f"{live_url}/login?next=")))
    assert tab.locator("form.auth-form").is_visible()
    tab.fill("input[name=name]", USERS[Role.VIEWER])
    tab.fill("input[name=password]", PASSWORD)
    tab.click("form.auth-form button[type=submit]")
    tab.wait_for_url(f"{live_url}/builds/{build}?status=failed")
    assert tab.locator("[data-serial]").count() == 11
