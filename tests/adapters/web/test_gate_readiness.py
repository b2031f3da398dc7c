"""The product page's readiness panel on the demo: AirSense Wall's pilot -> production gate with
its blocking failures first and links to the evidence, AirSense Clip's missing evidence, and
AirSense One past its last gate; in Chromium and as HTML."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from phasegate.app import create_app
from phasegate.demo.loader import load_demo
from phasegate.demo.logins import DEMO_LOGINS
from phasegate.domain.enums import Phase
from phasegate.services.gates.evaluation import evaluate_gate
from phasegate.store import db
from phasegate.store.models import Build, Characteristic
from phasegate.store.uow import UnitOfWork
from tests.adapters.web.conftest import serve, settings_for, sign_in
from tests.factories import ACTOR

HTMX = {"HX-Request": "true"}
# AirSense Wall's blocking failures on the demo (README tour).
WALL_FAILS = {"cpk-point", "spc-signals", "parts-sourced", "regulatory-units"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Engine]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('gates') / 'demo.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    load_demo(engine)
    yield create_app(settings_for(url), engine=engine), engine
    engine.dispose()


@pytest.fixture(scope="module")
def client(demo: tuple[Any, Engine]) -> TestClient:
    client = TestClient(demo[0])
    admin = DEMO_LOGINS[0]
    assert sign_in(client, admin.name, admin.password).status_code == 303
    return client


def test_the_wall_fails_on_named_criteria_and_the_clip_names_what_is_missing(
    demo: tuple[Any, Engine],
) -> None:
    uow = UnitOfWork.for_engine(demo[1])
    wall = evaluate_gate(uow, "ASW", Phase.PRODUCTION, actor=ACTOR)
    assert wall.suggestion.value == "no_go"
    failed = {c.id for c in wall.criteria if c.status.value == "fail"}
    assert failed == WALL_FAILS | {"go-to-market"}  # the checklist is advisory
    sourcing = next(c for c in wall.criteria if c.id == "parts-sourced")
    assert sourcing.evidence["single_source_not_accepted"] == ["MOD-MCU-WIFI"]
    clip = evaluate_gate(uow, "ASC", Phase.PILOT, actor=ACTOR)
    missing = {c.id: c.missing for c in clip.criteria if c.status.value == "insufficient_evidence"}
    assert missing == {"bom-costed-within-target": ("a BOM",)}


def test_the_fragment_lists_blocking_failures_first_with_evidence_links(
    client: TestClient, demo: tuple[Any, Engine]
) -> None:
    response = client.get("/products/ASW/gates/readiness", headers=HTMX)
    assert response.status_code == 200, response.text
    html = response.text
    assert "<html" not in html
    assert 'data-suggestion="no_go"' in html
    # The first rows are the blocking failures.
    rows = html.split('data-criterion="')[1:]
    first = [r.split('"', 1)[0] for r in rows[: len(WALL_FAILS)]]
    assert set(first) == WALL_FAILS
    assert all('data-blocking="yes"' in r.split(">", 1)[0] for r in rows[: len(WALL_FAILS)])
    with demo[1].connect() as conn:
        build_id = conn.execute(select(Build.id).where(Build.code == "ASW-PLT")).scalar_one()
        char_id = conn.execute(
            select(Characteristic.id)
            .join(Build, Build.product_id == Characteristic.product_id)
            .where(Build.id == build_id, Characteristic.name == "Temperature offset")
        ).scalar_one()
    assert f'href="/builds/{build_id}/characteristics/{char_id}"' in html
    assert f'href="/builds/{build_id}/cost"' in html  # the single-source part
    assert f'href="/builds/{build_id}/line"' in html  # the bottleneck against takt
    page = client.get("/products/ASW/gates/readiness")
    assert page.status_code == 200 and "<html" in page.text
    done = client.get("/products/AS1/gates/readiness", headers=HTMX)
    assert 'data-readiness="none"' in done.text


@pytest.mark.browser
def test_the_product_page_loads_the_panel_in_chromium(
    demo: tuple[Any, Engine], browser: Any, artifacts: Path
) -> None:
    errors: list[str] = []
    for base in serve(demo[0]):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        admin = DEMO_LOGINS[0]
        page.goto(f"{base}/login", wait_until="domcontentloaded")
        page.fill("input[name=name]", admin.name)
        page.fill("input[name=password]", admin.password)
        page.click("form.auth-form button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/products/ASW", wait_until="networkidle")
        page.wait_for_selector("#readiness [data-readiness]")  # HTMX swapped the panel in
        badge = page.locator("#readiness [data-suggestion] .badge").inner_text()
        assert badge == "No go"
        statuses = page.locator("#readiness tr[data-criterion]")
        first = statuses.first
        assert first.get_attribute("data-status") == "fail"
        assert first.get_attribute("data-blocking") == "yes"
        page.locator("#readiness").screenshot(path=str(artifacts / "gate-readiness.png"))
        # A link behind a criterion leads to its evidence page.
        page.locator('#readiness tr[data-criterion="cpk-point"] a[data-evidence]').first.click()
        page.wait_for_url("**/characteristics/**")
        context.close()
        assert errors == []
