"""``GET /builds/{code}/cost`` and the costing collections, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from phasegate.domain.policy import Role, Scope
from phasegate.services import costing
from tests.adapters.api.support import add_user, assert_error, bearer, created, new_token, uow_of
from tests.factories import ACTOR
from tests.services.test_costing import seed_costed_build

CONTRACT = {
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


def test_build_cost_is_the_services_numbers(client: TestClient) -> None:
    uow = uow_of(client)
    seed_costed_build(uow)
    response = client.get("/builds/cst-p1/cost")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body["cost"]) == CONTRACT
    expected = costing.build_cost(uow, "CST-P1", actor=ACTOR).contract()
    # JSON is exact: the floats come through unrounded.
    assert body["cost"] == expected
    assert body["breakdown"]["yield"] == 0.75
    assert body["projection"]["yield"] == 0.75
    assert [p["part"] for p in body["parts"]] == ["PCB-1", "SCR-M2"]
    assert [s["station"] for s in body["stations"]] == ["S1", "S2"]
    assert body["learning_curve"]["n"] == 4
    assert body["waterfall"][-1] == {"label": "Target", "value": 20.0, "measure": "total"}
    assert body["missing"] == []
    assert client.get("/builds/CST-P1/cost", params={"product": "CST"}).status_code == 200


def test_errors_and_permissions(client: TestClient) -> None:
    seed_costed_build(uow_of(client))
    assert_error(client.get("/builds/NOPE/cost"), 404, "not_found")
    assert_error(client.get("/builds/CST-P1/cost", params={"product": ""}), 422, "invalid_input")
    anonymous = client.get("/builds/CST-P1/cost", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    add_user(client, "viewer", Role.VIEWER)
    token = new_token(client, "viewer", scopes=(Scope.READ,))
    viewed = client.get("/builds/CST-P1/cost", headers=bearer(token))
    assert viewed.status_code == 200
    refused = client.post(
        "/parts", json={"number": "X-1", "standard_cost": 1.0}, headers=bearer(token)
    )
    assert_error(refused, 403, "forbidden")


def test_insufficient_data_is_null_with_the_reason(client: TestClient) -> None:
    product = created(client, "/products", {"key": "NOB", "name": "No BOM"})
    revision = created(client, "/revisions", {"product_id": product["id"], "code": "A"})
    created(
        client,
        "/builds",
        {
            "product_id": product["id"],
            "revision_id": revision["id"],
            "code": "NOB-1",
            "phase": "prototype",
            "planned_quantity": 3,
        },
    )
    body = client.get("/builds/NOB-1/cost").json()
    assert body["cost"]["per_unit"] is None
    assert body["waterfall"] == []
    assert "revision A has no BOM" in body["missing"]


@pytest.mark.parametrize(
    "path",
    ["/parts", "/price-breaks", "/material-issues", "/line-cost-rates", "/station-labor-rates"],
)
def test_collections_list(client: TestClient, path: str) -> None:
    seed_costed_build(uow_of(client))
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.json()["total"] >= 1


def test_records_through_the_api(client: TestClient) -> None:
    seed = seed_costed_build(uow_of(client))
    before = client.get("/builds/CST-P1/cost").json()["cost"]["material"]
    part = created(client, "/parts", {"number": "GSK-1", "standard_cost": 0.3})
    line = created(
        client,
        "/bom-lines",
        {
            "product_id": seed["product"].id,
            "revision_id": seed["revision"].id,
            "part_id": part["id"],
            "quantity_per_unit": 2,
            "scrap_allowance": 0.1,
        },
    )
    assert line["scrap_allowance"] == 0.1
    listed = client.get("/bom-lines", params={"product": "CST"}).json()
    assert listed["total"] == 3
    bad = client.post(
        "/tooling-investments",
        json={"product_id": seed["product"].id, "name": "Jig", "cost": 5, "amortisation_volume": 0},
    )
    assert_error(bad, 422, "invalid_input", "amortisation_volume")
    after = client.get("/builds/CST-P1/cost").json()
    # The new BOM line adds 2 x 1.1 x 0.30 = 0.66 per unit of standard material, and
    # nothing was issued of it: -0.66 of variance per unit; material stays as issued.
    assert after["cost"]["material"] == pytest.approx(before)
    assert [p["part"] for p in after["parts"]][-1] == "GSK-1"
    assert after["parts"][-1]["cost_per_unit"] == pytest.approx(0.66)
    assert after["parts"][-1]["cost_variance"] == pytest.approx(-0.66 * 4)


def test_a_part_is_versioned(client: TestClient) -> None:
    part = created(client, "/parts", {"number": "PCB-9", "standard_cost": 4.0})
    url = f"/parts/{part['id']}"
    changed = client.patch(
        url, json={"standard_cost": 3.5}, headers={"If-Match": f'"{part["id"]}.1"'}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    stale = client.patch(
        url, json={"standard_cost": 3.0}, headers={"If-Match": f'"{part["id"]}.1"'}
    )
    assert_error(stale, 412, "precondition_failed")
    assert_error(client.patch(url, json={"number": "PCB-10"}), 422, "invalid_input", "number")
