"""Chromium at a phone's width (390 x 844) over the demo data: the portfolio, product, build and
unit pages fit the screen, the navigation opens from a menu button, wide tables scroll inside
their cards and no label is cut off.

Screenshots go to ``test-artifacts/phone-*.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from phasegate.app import create_app
from phasegate.demo.loader import load_demo
from phasegate.demo.logins import DEMO_LOGINS
from phasegate.store import db
from phasegate.store.models import Build, Product, Unit
from tests.adapters.web.conftest import serve, settings_for

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

# Every text that names or labels a value: none may be wider than the box that holds it.
LABELS = (
    "h1, h2, .kpi-label, .kpi-note, .kpi-value, .facts dt, .facts dd, .badge, .chip,"
    " .product-card .stats .l, .product-card .row, .breadcrumbs li, .card-head .hint,"
    " .mainnav a, .menu-button"
)

CLIPPED_LABELS = """(selector) => [...document.querySelectorAll(selector)]
  .filter((e) => e.getClientRects().length && !e.closest('.table-wrap'))
  .filter((e) => {
    const r = e.getBoundingClientRect();
    return e.scrollWidth > e.clientWidth + 1 || r.left < -1 || r.right > innerWidth + 1;
  })
  .map((e) => `${e.tagName.toLowerCase()}.${e.className}: ${e.textContent.trim().slice(0, 40)}`)"""

# Each table wider than its card: the card's wrapper scrolls it and stays on the screen.
WIDE_TABLES = """() => [...document.querySelectorAll('.table-wrap')]
  .filter((w) => w.getClientRects().length && w.scrollWidth > w.clientWidth + 1)
  .map((w) => {
    const before = w.scrollLeft;
    w.scrollLeft = w.scrollWidth;
    const moved = w.scrollLeft > before;
    w.scrollLeft = before;
    return {
      overflow: getComputedStyle(w).overflowX,
      moved,
      right: w.getBoundingClientRect().right,
    };
  })"""


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('phone') / 'demo.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    load_demo(engine)
    app = create_app(settings_for(url), engine=engine)
    for base in serve(app):
        yield base, engine
    engine.dispose()


@pytest.fixture
def phone(demo_site: tuple[str, Any], browser: Any) -> Iterator[Any]:
    """A signed-in tab at a phone's size, with touch, collecting page errors."""
    base, _ = demo_site
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    tab = context.new_page()
    tab.problems = []
    tab.on("pageerror", lambda error: tab.problems.append(str(error)))
    admin = DEMO_LOGINS[0]
    tab.goto(f"{base}/login", wait_until="domcontentloaded")
    tab.fill("input[name=name]", admin.name)
    tab.fill("input[name=password]", admin.password)
    tab.click("form.auth-form button[type=submit]")
    tab.wait_for_url(f"{base}/")
    yield tab
    context.close()


def _pages(engine: Any) -> dict[str, str]:
    """The demo's pages to check: the portfolio, each product, its biggest build, a unit."""
    with engine.connect() as conn:
        keys = list(conn.scalars(select(Product.key).order_by(Product.key)))
        biggest = conn.scalar(
            select(Build.id)
            .join(Unit, Unit.build_id == Build.id)
            .group_by(Build.id)
            .order_by(func.count(Unit.id).desc())
            .limit(1)
        )
        serial, product = conn.execute(
            select(Unit.serial, Product.key)
            .join(Product, Product.id == Unit.product_id)
            .where(Unit.build_id == biggest)
            .order_by(Unit.serial)
            .limit(1)
        ).one()
    pages = {"portfolio": "/"}
    pages |= {f"product-{key}": f"/products/{key}" for key in keys}
    pages["build"] = f"/builds/{biggest}"
    pages["unit"] = f"/units/{serial}?product={product}"
    return pages


def test_pages_fit_a_phone(demo_site: tuple[str, Any], phone: Any, artifacts: Path) -> None:
    base, engine = demo_site
    wide_tables = 0
    for name, path in _pages(engine).items():
        phone.goto(base + path, wait_until="networkidle")
        phone.screenshot(path=str(artifacts / f"phone-{name}.png"), full_page=True)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide"
        assert phone.evaluate(CLIPPED_LABELS, LABELS) == [], path
        for table in phone.evaluate(WIDE_TABLES):
            assert table["overflow"] == "auto" and table["moved"], (path, table)
            assert table["right"] <= PHONE["width"], (path, table)
            wide_tables += 1
    assert wide_tables >= 3  # the product's builds, the build's stations, the unit's route
    assert phone.problems == []


def test_the_menu_button_opens_the_navigation(demo_site: tuple[str, Any], phone: Any) -> None:
    base, _ = demo_site
    links = phone.locator("nav.mainnav a")
    assert links.count() >= 5
    assert not links.first.is_visible()  # folded away until asked for
    phone.locator("label.menu-button").click()
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        assert links.nth(i).is_visible() and box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert phone.locator(".unit-search input").is_visible()
    assert phone.locator(".account .sign-out button").is_visible()
    phone.locator("nav.mainnav a", has_text="Pilot run").click()
    phone.wait_for_url(f"{base}/?phase=pilot")
    assert not phone.locator("nav.mainnav a").first.is_visible()  # closed on the new page
    # By keyboard too: the hidden checkbox takes the focus and Space opens the menu.
    phone.locator("#menu-toggle").focus()
    phone.keyboard.press("Space")
    assert phone.locator("nav.mainnav a").first.is_visible()


def test_a_wide_screen_shows_the_navigation_without_a_menu_button(
    demo_site: tuple[str, Any], browser: Any
) -> None:
    base, _ = demo_site
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    admin = DEMO_LOGINS[0]
    tab.goto(f"{base}/login", wait_until="domcontentloaded")
    tab.fill("input[name=name]", admin.name)
    tab.fill("input[name=password]", admin.password)
    tab.click("form.auth-form button[type=submit]")
    tab.wait_for_url(f"{base}/")
    assert not tab.locator("label.menu-button").is_visible()
    assert tab.locator("nav.mainnav a", has_text="Portfolio").is_visible()
    assert tab.locator(".unit-search input").is_visible()
    header = tab.locator("header.topbar").bounding_box()
    assert header is not None and header["height"] < 80  # one row, as before
    context.close()
