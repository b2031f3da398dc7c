"""Real Chromium under the application's Content-Security-Policy: the pages, their Plotly charts
and the API docs (Swagger UI, vendored) work with no inline script or style and no network.

A blocked script, style or image shows as a console error ("Refused to …") and as a
``securitypolicyviolation`` event; the test collects both and expects none.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phasegate.domain.policy import Role
from tests.adapters.web.conftest import Site, sign_in_tab, watched_tab

pytestmark = pytest.mark.browser

# Runs in every page before its own scripts; an init script is not subject to the page's policy.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(
    e.violatedDirective + " " + (e.blockedURI || "inline")
      + " at " + e.sourceFile + ":" + e.lineNumber
  );
});
"""


@pytest.fixture
def tab(browser: Any, live_url: str) -> Iterator[Any]:
    with watched_tab(browser, live_url, init_script=RECORD_VIOLATIONS) as page:
        sign_in_tab(page, live_url, Role.ADMIN)
        yield page


def _open(tab: Any, url: str) -> None:
    response = tab.goto(url, wait_until="networkidle")
    assert response is not None and response.status == 200
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def _assert_clean(tab: Any) -> None:
    assert tab.evaluate("window.__violations") == [], tab.problems
    assert tab.problems == []


def test_pages_and_charts_under_the_policy(
    tab: Any, live_url: str, site: Site, artifacts: Path
) -> None:
    _open(tab, f"{live_url}/")
    assert tab.locator("[data-product]").count() == 3
    _assert_clean(tab)

    _open(tab, f"{live_url}/products/DRN")
    tab.wait_for_selector("#iteration-chart .main-svg")  # Plotly drew the chart
    assert tab.locator(".main-svg").count() >= 1
    tab.screenshot(path=str(artifacts / "product-csp.png"), full_page=True)
    _assert_clean(tab)

    _open(tab, f"{live_url}/builds/{site.data.pilot_build_id}")
    tab.wait_for_selector("#yield-chart .main-svg")
    _assert_clean(tab)


@pytest.mark.xfail(
    strict=True,
    reason="known regression: Swagger UI stops drawing after the sixth operation (GET "
    "/revisions) of the grown OpenAPI document, with no page error; the document itself "
    "validates (openapi-spec-validator). To be found and fixed first.",
)
def test_api_docs_render_offline_under_the_policy(tab: Any, live_url: str, artifacts: Path) -> None:
    _open(tab, f"{live_url}/")
    docs = tab.locator("nav.mainnav a", has_text="API")
    assert docs.get_attribute("href") == "/api/v1/docs"
    docs.click()
    tab.wait_for_url(f"{live_url}/api/v1/docs")
    # Swagger UI read the OpenAPI document and drew it (tag by tag: wait for more than a few).
    tab.wait_for_function("() => document.querySelectorAll('.opblock').length > 20")
    assert "phasegate API" in tab.locator(".info .title").inner_text()
    tab.wait_for_load_state("networkidle")
    tab.screenshot(path=str(artifacts / "api-docs.png"), full_page=False)
    _assert_clean(tab)
