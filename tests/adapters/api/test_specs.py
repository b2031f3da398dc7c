"""``GET /builds/{code}/specs``: specs met on a build, the numbers the pages and the CLI show,
on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from phasegate.domain.policy import Role
from phasegate.services.read.build import build_overview
from phasegate.services.read.product import product_overview
from tests.adapters.api.support import add_user, assert_error, bearer, new_token, uow_of
from tests.factories import ACTOR
from tests.services.read.test_specs_met import EXPECTED_LABEL, seed_specs


def test_specs_met_on_a_build_match_the_pages(client: TestClient) -> None:
    made = seed_specs(uow_of(client))

    response = client.get("/builds/spx-pr1/specs")  # codes in any case

    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "build": "SPX-PR1",
        "measured": 3,
        "met": 2,
        "first_pass_failures": 2,
        "share": pytest.approx(2 / 3),
        "label": EXPECTED_LABEL,
        "characteristics": [
            {"name": "Gap", "met": True, "first_pass_failures": 1, "final_failures": 0},
            {"name": "Noise", "met": False, "first_pass_failures": 0, "final_failures": 1},
            {"name": "Seal", "met": True, "first_pass_failures": 1, "final_failures": 0},
        ],
    }
    page = build_overview(uow_of(client), made.build_id, actor=ACTOR).specs
    product = product_overview(uow_of(client), made.product, actor=ACTOR).latest_specs
    assert product is not None
    for shown in (page, product):
        assert (shown.measured, shown.met, shown.label) == (3, 2, body["label"])
    empty = client.get("/builds/SPY-1/specs", params={"product": "spy"}).json()
    assert (empty["measured"], empty["share"]) == (0, None)
    assert empty["label"] == "no characteristics measured on SPY-1"


def test_an_unknown_build_a_viewer_and_a_stranger(client: TestClient) -> None:
    seed_specs(uow_of(client))
    assert_error(client.get("/builds/NOPE/specs"), 404, "not_found")
    assert_error(client.get("/builds/SPX-PR1/specs", params={"product": "SPY"}), 404, "not_found")
    add_user(client, "vi", Role.VIEWER)
    token = bearer(new_token(client, "vi", ("read",)))
    assert client.get("/builds/SPX-PR1/specs", headers=token).status_code == 200
    anonymous = client.get("/builds/SPX-PR1/specs", headers={"Authorization": ""})
    assert_error(anonymous, 401, "unauthenticated")
