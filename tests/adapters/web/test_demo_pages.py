"""Chromium over the demo data set: every kind of page renders with real volumes.

Screenshots go to ``test-artifacts/demo-*.png``. The demo loader is part of the product: if it
cannot be imported or fails, this test fails.
"""

from __future__ import annotations

import re
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


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    load_demo(engine)
    app = create_app(settings_for(url), engine=engine)
    for base in serve(app):
        yield base, engine
    engine.dispose()


def test_demo_pages(demo_site: tuple[str, Any], browser: Any, artifacts: Path) -> None:
    base, engine = demo_site
    with engine.connect() as conn:
        keys = list(conn.scalars(select(Product.key).order_by(Product.key)))
        biggest, units = conn.execute(
            select(Build.id, func.count(Unit.id))
            .join(Unit, Unit.build_id == Build.id)
            .group_by(Build.id)
            .order_by(func.count(Unit.id).desc())
            .limit(1)
        ).one()
        serial, product = conn.execute(
            select(Unit.serial, Product.key)
            .join(Product, Product.id == Unit.product_id)
            .where(Unit.build_id == biggest)
            .order_by(Unit.serial)
            .limit(1)
        ).one()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    admin = DEMO_LOGINS[0]
    page.goto(f"{base}/login", wait_until="domcontentloaded")
    page.fill("input[name=name]", admin.name)
    page.fill("input[name=password]", admin.password)
    page.click("form.auth-form button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-product]").count() == len(keys)
    page.screenshot(path=str(artifacts / "demo-portfolio.png"), full_page=True)
    for key in keys:
        page.goto(f"{base}/products/{key}", wait_until="networkidle")
        page.wait_for_selector("#iteration-chart .main-svg")
        page.screenshot(path=str(artifacts / f"demo-product-{key}.png"), full_page=True)
    page.goto(f"{base}/builds/{biggest}", wait_until="networkidle")
    assert f"of {units:,} units" in page.locator("#units-table .pager").inner_text()
    page.locator(".pager a[rel=next]").click()
    page.wait_for_url(re.compile(re.escape(f"{base}/builds/{biggest}?after=")))
    assert "[" in page.locator('[data-kpi="rty"] .kpi-value').inner_text()  # with its interval
    page.screenshot(path=str(artifacts / "demo-build.png"), full_page=True)
    page.goto(f"{base}/units/{serial}?product={product}", wait_until="networkidle")
    assert page.locator("h1").inner_text() == serial
    page.screenshot(path=str(artifacts / "demo-unit.png"), full_page=True)
    context.close()
    assert errors == []
