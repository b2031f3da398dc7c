"""Gate review pages: in Chromium, a product's gate walked from its evaluation to the phase
change (open, a sign-off by each role as that role's user, waivers, the decision); as HTML, the
refusals and who is offered which form."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from phasegate.domain.enums import Phase
from phasegate.domain.policy import Role
from phasegate.services import products
from phasegate.services.gates.decisions import REQUIRED_ROLES
from phasegate.store.uow import UnitOfWork
from tests.adapters.web.conftest import Site, csrf_token, signed_in_client, watched_tab
from tests.adapters.web.conftest import sign_in_tab as _sign_in_tab
from tests.factories import ACTOR, make_product

HTMX = {"HX-Request": "true"}


def _new_product(site: Site, key: str) -> None:
    make_product(UnitOfWork.for_engine(site.engine), key=key, name=f"Gate walk {key}")


def test_a_gate_walked_in_the_browser_from_evaluation_to_phase_change(
    site: Site, live_url: str, browser: Any
) -> None:
    _new_product(site, "GWALK")
    with watched_tab(browser, live_url) as tab:
        _sign_in_tab(tab, live_url, Role.PRODUCT)
        tab.goto(f"{live_url}/products/GWALK", wait_until="networkidle")
        # The readiness panel shows the evaluation; the section next to it opens the review.
        tab.wait_for_selector("#readiness table, #readiness .card-body")
        tab.click("form[data-form=open-review] button")
        tab.wait_for_url(re.compile(r".*/gate-reviews/\d+$"))
        review_url = tab.url
        assert tab.text_content("[data-status]") == "open"
        assert tab.locator("[data-criteria] tbody tr").count() > 0
        tab.check("form[data-form=sign] input[value=approve]")
        tab.click("form[data-form=sign] button")
        tab.wait_for_selector("[data-signoff=product]")
        assert tab.problems == []
    for role in (Role.ENGINEER, Role.QUALITY, Role.OPERATIONS):
        with watched_tab(browser, live_url) as tab:
            _sign_in_tab(tab, live_url, role)
            tab.goto(review_url, wait_until="domcontentloaded")
            assert tab.locator("form[data-form=decide]").count() == 0  # only deciders decide
            tab.fill("form[data-form=sign] textarea[name=comment]", f"{role.value} agrees")
            tab.click("form[data-form=sign] button")
            tab.wait_for_selector(f"[data-signoff={role.value}]")
            assert tab.problems == []
    with watched_tab(browser, live_url) as tab:
        _sign_in_tab(tab, live_url, Role.PRODUCT)
        tab.goto(review_url, wait_until="domcontentloaded")
        for role in REQUIRED_ROLES:
            assert "approved" in tab.text_content(f"[data-signoff={role.value}]")
        # An empty product proves nothing: its blocking criteria are waived one by one.
        while tab.text_content("[data-suggestion]") == "No go":
            tab.fill("form[data-form=waive] textarea[name=reason]", "accepted for the walk")
            tab.click("form[data-form=waive] button")
            tab.wait_for_load_state("domcontentloaded")
        tab.select_option("form[data-form=decide] select[name=outcome]", "go")
        tab.fill("form[data-form=decide] textarea[name=rationale]", "walked through")
        tab.click("form[data-form=decide] button")
        tab.wait_for_selector("[data-decision]")
        assert "go by product" in tab.text_content("[data-decision]")
        tab.goto(f"{live_url}/products/GWALK", wait_until="networkidle")
        tab.wait_for_selector("#gate-actions [data-reviews]")
        assert "go by product" in tab.text_content("#gate-actions [data-reviews]")
        assert tab.problems == []
    uow = UnitOfWork.for_engine(site.engine)
    assert products.resolve_product(uow, "GWALK", actor=ACTOR).phase is Phase.PILOT


def _open(client: TestClient, key: str) -> str:
    answer = client.post(
        f"/products/{key}/gates/reviews",
        data={"csrftoken": csrf_token(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def test_refusals_show_the_page_again_with_the_reason(site: Site) -> None:
    _new_product(site, "GREF")
    pm = signed_in_client(site.app, Role.PRODUCT)
    review = _open(pm, "GREF")
    decided = pm.post(
        f"{review}/decision",
        data={"csrftoken": csrf_token(pm), "outcome": "go", "rationale": "", "actions": ""},
    )
    assert decided.status_code == 409
    assert "sign-off missing from engineer, quality, operations, product" in decided.text
    rejected = pm.post(
        f"{review}/signoffs", data={"csrftoken": csrf_token(pm), "verdict": "reject"}
    )
    assert rejected.status_code == 400 and "Comment: is required" in rejected.text
    bad_action = pm.post(
        f"{review}/decision",
        data={"csrftoken": csrf_token(pm), "outcome": "conditional", "actions": "fan; Ana"},
    )
    assert bad_action.status_code == 400 and "line 1: write" in bad_action.text
    hostile = "<script>alert(1)</script>"
    waived = pm.post(
        f"{review}/waivers",
        data={"csrftoken": csrf_token(pm), "criterion_id": "nope", "reason": hostile},
    )
    assert waived.status_code == 400 and hostile not in waived.text
    no_token = pm.post(f"{review}/signoffs", data={"verdict": "approve"})
    assert no_token.status_code == 403


def test_each_role_is_offered_only_its_forms(site: Site) -> None:
    _new_product(site, "GFORM")
    review = _open(signed_in_client(site.app, Role.PRODUCT), "GFORM")
    viewer = signed_in_client(site.app, Role.VIEWER)
    page = viewer.get(review)
    assert page.status_code == 200
    assert 'data-form="sign"' not in page.text and 'data-form="decide"' not in page.text
    refused = viewer.post(
        f"{review}/signoffs", data={"csrftoken": csrf_token(viewer), "verdict": "approve"}
    )
    assert refused.status_code == 403
    quality = signed_in_client(site.app, Role.QUALITY).get(review)
    assert 'data-form="sign"' in quality.text and 'data-form="decide"' not in quality.text
    admin = signed_in_client(site.app, Role.ADMIN).get(review)
    assert 'data-form="sign"' not in admin.text and 'data-form="decide"' in admin.text
    section = signed_in_client(site.app, Role.PRODUCT).get(
        "/products/GFORM/gate-actions", headers=HTMX
    )
    assert section.status_code == 200 and "data-open-review" in section.text
