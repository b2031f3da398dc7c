"""``GET /builds/{code}/report`` and ``phasegate builds report``: one document, the same numbers
as each part's own endpoint, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from phasegate.domain.policy import Role
from tests.adapters.api.support import add_user, assert_error, bearer, new_token, uow_of
from tests.adapters.api.test_line_performance import seed_line_build

REPORT_KEYS = {"build", "phase", "units", "line", "quality", "defects", "cost"}
QUALITY_KEYS = {"fpy", "rty", "dpmo", "scrap_rate", "rework_rate", "characteristics"}
COST_KEYS = {
    "per_unit",
    "per_good_unit",
    "material",
    "labor",
    "overhead",
    "scrap",
    "tooling",
    "projected_per_unit_at_volume",
    "volume",
    "target",
}


def test_the_report_holds_every_part_with_the_numbers_of_its_own_endpoint(
    client: TestClient,
) -> None:
    seed_line_build(uow_of(client))
    response = client.get("/builds/plt-1/report")
    assert response.status_code == 200, response.text
    report = response.json()
    assert set(report) == REPORT_KEYS
    assert (report["build"], report["phase"], report["units"]) == ("PLT-1", "pilot", 3)
    assert report["line"] == client.get("/builds/PLT-1/line").json()["line"]
    assert set(report["quality"]) == QUALITY_KEYS
    # By hand: of the three units with passes, SN 2 failed its first attempt at S1.
    fpy = report["quality"]["fpy"]
    assert fpy["value"] == pytest.approx(2 / 3)
    assert fpy["ci"][0] < 2 / 3 < fpy["ci"][1]
    # RTY: S1 passed 2 of 3 first attempts, S2 2 of 2.
    assert report["quality"]["rty"]["value"] == pytest.approx(2 / 3)
    assert report["quality"]["characteristics"] == []
    assert report["defects"] == {"by_code": [], "by_station": []}
    assert set(report["cost"]) == COST_KEYS
    assert report["cost"] == client.get("/builds/PLT-1/cost").json()["cost"]


def test_an_unknown_build_a_viewer_and_a_stranger(client: TestClient) -> None:
    seed_line_build(uow_of(client))
    assert_error(client.get("/builds/NOPE/report"), 404, "not_found")
    add_user(client, "vi", Role.VIEWER)
    token = bearer(new_token(client, "vi", ("read",)))
    assert client.get("/builds/PLT-1/report", headers=token).status_code == 200
    anonymous = client.get("/builds/PLT-1/report", headers={"Authorization": ""})
    assert_error(anonymous, 401, "unauthenticated")
