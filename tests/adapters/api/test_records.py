"""Contract of the record routes on SQLite and PostgreSQL: status codes and the error shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from phasegate.domain.policy import Role, Scope
from tests.adapters.api.support import (
    ADMIN,
    World,
    add_user,
    assert_error,
    bearer,
    created,
    make_world,
    new_token,
    uow_of,
)
from tests.gate_support import pass_gate

Payload = Callable[[World], dict[str, Any]]

# Per collection: a new record (given the ids of related records) and a change to it.
CASES: dict[str, tuple[Payload, dict[str, Any]]] = {
    "/products": (
        lambda w: {"key": "NEW-1", "name": "New", "target_unit_cost": 12.5},
        {"name": "Renamed"},
    ),
    "/revisions": (lambda w: {"product_id": w.product, "code": "B"}, {"status": "released"}),
    "/requirements": (
        lambda w: {"product_id": w.product, "key": "R-2", "title": "Battery 8 h"},
        {"priority": "could"},
    ),
    "/characteristics": (
        lambda w: {"product_id": w.product, "name": "PM2.5 error", "lsl": -2.0, "usl": 2.0},
        {"ctq": True},
    ),
    "/partners": (lambda w: {"name": "Proto shop", "kind": "prototype_shop"}, {"country": "NL"}),
    "/lines": (lambda w: {"name": "Line B"}, {"description": "second line"}),
    "/stations": (
        lambda w: {"line_id": w.line, "name": "Test", "sequence": 2},
        {"planned_cycle_time_s": 42.0},
    ),
    "/builds": (
        lambda w: {
            "product_id": w.product,
            "revision_id": w.revision,
            "code": "PILOT-1",
            "phase": "pilot",
            "line_id": w.line,
            "planned_quantity": 50,
        },
        {"status": "in_progress"},
    ),
    "/units": (
        lambda w: {"product_id": w.product, "build_id": w.build, "serial": "SN-0002"},
        {"allocation": "marketing"},
    ),
    "/findings": (
        lambda w: {
            "product_id": w.product,
            "title": "Fan noise",
            "category": "design_flaw",
            "severity": "minor",
        },
        {"owner": "ann"},
    ),
    "/feedback": (
        lambda w: {"product_id": w.product, "source": "tester", "rating": 4, "text": "quiet"},
        {"rating": 5},
    ),
    "/defect-codes": (
        lambda w: {"code": "SOLDER-BRIDGE", "description": "Bridge"},
        {"category": "solder"},
    ),
}
COLLECTIONS = list(CASES)


@pytest.fixture
def world(client: TestClient) -> World:
    return make_world(client)


@pytest.mark.parametrize("path", COLLECTIONS)
def test_create_read_update_list(client: TestClient, world: World, path: str) -> None:
    make, change = CASES[path]
    payload = make(world)

    response = client.post(path, json=payload)
    assert response.status_code == 201, response.text
    record = response.json()
    assert response.headers["location"] == f"/api/v1{path}/{record['id']}"
    assert {k: record[k] for k in payload} == payload

    fetched = client.get(f"{path}/{record['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == record

    updated = client.patch(f"{path}/{record['id']}", json=change)
    assert updated.status_code == 200, updated.text
    assert {k: updated.json()[k] for k in change} == change

    page = client.get(path, params={"limit": 500})
    assert page.status_code == 200
    body = page.json()
    assert set(body) == {"items", "total", "limit", "offset"}
    assert updated.json() in body["items"]
    assert body["total"] == len(body["items"])


@pytest.mark.parametrize("path", COLLECTIONS)
def test_unknown_id_is_404(client: TestClient, path: str) -> None:
    assert_error(client.get(f"{path}/999"), 404, "not_found")
    assert_error(client.patch(f"{path}/999", json={}), 404, "not_found")


@pytest.mark.parametrize("path", COLLECTIONS)
def test_unknown_and_read_only_fields_are_422_naming_them(
    client: TestClient, world: World, path: str
) -> None:
    make, _ = CASES[path]
    payload = make(world) | {"colour": "red"}
    assert_error(client.post(path, json=payload), 422, "invalid_input", "colour")
    record = created(client, path, make(world))
    assert_error(client.patch(f"{path}/{record['id']}", json={"id": 5}), 422, "invalid_input", "id")


def test_product_phase_is_read_only(client: TestClient, world: World) -> None:
    error = assert_error(
        client.patch("/products/AQM", json={"phase": "production"}), 422, "invalid_input", "phase"
    )
    assert [f["loc"] for f in error["fields"]] == ["phase"]
    assert client.get("/products/AQM").json()["phase"] == "prototype"


def test_product_key_cannot_change(client: TestClient, world: World) -> None:
    assert_error(client.patch("/products/AQM", json={"key": "X"}), 422, "invalid_input", "key")


def test_products_are_addressable_by_id_or_key(client: TestClient, world: World) -> None:
    by_id = client.get(f"/products/{world.product}").json()
    assert client.get("/products/aqm").json() == by_id
    renamed = client.patch("/products/AQM", json={"name": "Monitor"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Monitor"
    assert_error(client.get("/products/NOPE"), 404, "not_found")


def test_missing_required_field_is_422(client: TestClient, world: World) -> None:
    assert_error(client.post("/products", json={"key": "X"}), 422, "invalid_input", "name")


def test_bad_enum_is_422(client: TestClient, world: World) -> None:
    payload = CASES["/builds"][0](world) | {"phase": "beta"}
    error = assert_error(client.post("/builds", json=payload), 422, "invalid_input", "phase")
    assert "pilot" in error["fields"][0]["message"]
    assert_error(client.get("/builds", params={"phase": "beta"}), 422, "invalid_input", "phase")


def test_spec_limits_must_be_ordered(client: TestClient, world: World) -> None:
    payload = {"product_id": world.product, "name": "Flow", "lsl": 2.0, "usl": 1.0}
    error = assert_error(client.post("/characteristics", json=payload), 422, "invalid_input")
    assert error["fields"] == [
        {"loc": "usl", "message": "usl (1.0) must be greater than lsl (2.0)"}
    ]


def test_duplicate_key_is_409(client: TestClient, world: World) -> None:
    assert_error(
        client.post("/products", json={"key": "AQM", "name": "Again"}), 409, "conflict", "key"
    )
    duplicate = {"product_id": world.product, "code": "A"}
    assert_error(client.post("/revisions", json=duplicate), 409, "conflict", "code")


def test_references_must_exist_and_share_the_product(client: TestClient, world: World) -> None:
    payload = CASES["/builds"][0](world)
    foreign = payload | {"revision_id": world.other_revision}
    error = assert_error(client.post("/builds", json=foreign), 422, "invalid_input", "revision_id")
    assert "another product" in error["fields"][0]["message"]
    missing = payload | {"revision_id": 999}
    assert_error(client.post("/builds", json=missing), 422, "invalid_input", "revision_id")
    moved = {"build_id": world.build}
    other_unit = {"product_id": world.other_product, "serial": "SN-X"} | moved
    assert_error(client.post("/units", json=other_unit), 422, "invalid_input", "build_id")


def test_numbers_too_big_to_store_are_422(client: TestClient, world: World) -> None:
    payload = CASES["/builds"][0](world) | {"planned_quantity": 10**12}
    assert_error(client.post("/builds", json=payload), 422, "invalid_input", "planned_quantity")
    assert_error(client.get(f"/builds/{10**12}"), 422, "invalid_input", "id")


def test_business_rules_of_the_services_answer_422(client: TestClient, world: World) -> None:
    pilot_without_line = CASES["/builds"][0](world) | {"line_id": None}
    assert_error(client.post("/builds", json=pilot_without_line), 422, "invalid_input", "line_id")
    assert_error(
        client.patch(f"/findings/{world.finding}", json={"status": "closed"}),
        422,
        "invalid_input",
        "corrective_action",
    )


def test_pagination(client: TestClient, world: World) -> None:
    for n in range(5):
        created(client, "/defect-codes", {"code": f"D{n}", "description": f"defect {n}"})
    page = client.get("/defect-codes", params={"limit": 2, "offset": 3}).json()
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 3)
    assert [d["code"] for d in page["items"]] == ["D3", "D4"]
    assert client.get("/defect-codes", params={"offset": 10}).json()["items"] == []
    assert_error(client.get("/builds", params={"limit": 0}), 422, "invalid_input", "limit")
    assert_error(client.get("/builds", params={"limit": 501}), 422, "invalid_input", "limit")
    assert_error(client.get("/builds", params={"offset": -1}), 422, "invalid_input", "offset")


def test_filters_and_search(client: TestClient, world: World) -> None:
    created(client, "/builds", CASES["/builds"][0](world))
    other_build = {
        "product_id": world.other_product,
        "revision_id": world.other_revision,
        "code": "OTHER-1",
        "phase": "prototype",
        "planned_quantity": 3,
    }
    created(client, "/builds", other_build)

    def codes(**params: Any) -> list[str]:
        response = client.get("/builds", params=params)
        assert response.status_code == 200, response.text
        return sorted(b["code"] for b in response.json()["items"])

    assert codes() == ["OTHER-1", "PILOT-1", "PROTO-1"]
    assert codes(product_id=world.product) == ["PILOT-1", "PROTO-1"]
    assert codes(product_id=world.product, phase="pilot") == ["PILOT-1"]
    assert codes(product="aqm") == ["PILOT-1", "PROTO-1"]
    assert codes(product=str(world.other_product)) == ["OTHER-1"]
    assert codes(q="proto") == ["PROTO-1"]
    assert codes(line_id=world.line) == ["PILOT-1"]
    assert_error(client.get("/builds", params={"product": "NOPE"}), 404, "not_found")
    assert_error(
        client.get("/builds", params={"product": "AQM", "product_id": world.other_product}),
        422,
        "invalid_input",
        "product",
    )
    assert_error(client.get("/builds", params={"colour": "red"}), 422, "invalid_input", "colour")


def test_line_stations(client: TestClient, world: World) -> None:
    created(client, "/stations", {"line_id": world.line, "name": "Test", "sequence": 2})
    page = client.get(f"/lines/{world.line}/stations").json()
    assert [s["name"] for s in page["items"]] == ["SMT", "Test"]
    assert page["total"] == 2
    assert_error(client.get("/lines/999/stations"), 404, "not_found")


def _audit(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/audit-events", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_create_and_update_are_audited_under_the_tokens_user(client: TestClient) -> None:
    add_user(client, "ann", Role.ENGINEER)
    response = client.post(
        "/products",
        json={"key": "AUD", "name": "Audited"},
        headers=bearer(new_token(client, "ann", (Scope.WRITE,))),
    )
    product = response.json()
    client.patch("/products/AUD", json={"name": "Audited twice"})
    events = _audit(client, entity_type="products", entity_id=product["id"])
    assert [(e["action"], e["actor"]) for e in events] == [("update", ADMIN), ("create", "ann")]
    assert events[0]["before"] == {"name": "Audited"}
    assert events[0]["after"] == {"name": "Audited twice"}
    assert events[1]["before"] is None
    assert _audit(client, product="AUD") == events
    assert _audit(client, actor="ann", action="create") == events[1:]
    assert_error(client.get("/audit-events", params={"action": "x"}), 422, "invalid_input")


def test_the_actor_header_names_nobody_any_more(client: TestClient) -> None:
    response = client.post(
        "/products", json={"key": "HDR", "name": "Header"}, headers={"X-Phasegate-Actor": "eve"}
    )
    assert response.status_code == 201, response.text
    (event,) = _audit(client, entity_type="products")
    assert event["actor"] == ADMIN


def test_posting_go_no_longer_moves_a_product(client: TestClient, world: World) -> None:
    """Decisions are taken through gate reviews (``tests/adapters/api/test_gate_decisions.py``);
    the list of a product's decisions takes no POST."""
    response = client.post(
        "/products/AQM/gate-decisions", json={"to_phase": "pilot", "outcome": "go"}
    )
    assert_error(response, 405, "method_not_allowed")
    assert client.get("/products/AQM").json()["phase"] == "prototype"
    assert client.get("/products/AQM/gate-decisions").json() == []


def test_the_decisions_of_a_product_are_listed(client: TestClient, world: World) -> None:
    pass_gate(uow_of(client), "AQM", "pilot", decided_by="pia")
    (decision,) = client.get(f"/products/{world.product}/gate-decisions").json()
    assert (decision["from_phase"], decision["to_phase"], decision["outcome"]) == (
        "prototype",
        "pilot",
        "go",
    )
    assert decision["decided_by"] == "pia"
    assert client.get("/products/AQM").json()["phase"] == "pilot"
    (event,) = [
        e for e in _audit(client, product="AQM", action="decision") if e["after"].get("phase")
    ]
    assert event["actor"] == "pia"
    assert event["after"] == {"phase": "pilot", "decided_by": "pia"}
