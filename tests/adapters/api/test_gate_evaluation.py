"""``GET /products/{ref}/gates/{to}/evaluation``: the ``gates evaluate`` contract, on SQLite and
PostgreSQL, and the gate plan override and go-to-market records it reads."""

from __future__ import annotations

from fastapi.testclient import TestClient

from phasegate.domain.enums import Phase
from phasegate.domain.policy import Role, Scope
from phasegate.services.gates.evaluation import evaluate_gate
from tests.adapters.api.support import add_user, assert_error, bearer, created, new_token, uow_of
from tests.factories import ACTOR, make_partner
from tests.services.gates.test_evaluation import ready_prototype

CRITERION_KEYS = [
    "id", "title", "status", "blocking", "value", "threshold", "confidence", "evidence", "links"
]  # fmt: skip


def test_the_evaluation_is_the_services_contract(client: TestClient) -> None:
    uow = uow_of(client)
    product = ready_prototype(uow, flow=[10.0, 11.6, 9.9])
    response = client.get(f"/products/{product.key.lower()}/gates/pilot/evaluation")
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["product", "from", "to", "plan", "suggestion", "criteria"]
    # Exactly what the CLI prints with --format json: floats unrounded, evidence as it is.
    assert body == evaluate_gate(uow, product.key, Phase.PILOT, actor=ACTOR).as_dict()
    assert (body["from"], body["to"], body["suggestion"]) == ("prototype", "pilot", "no_go")
    assert all(list(c) == CRITERION_KEYS for c in body["criteria"])
    by_id = {c["id"]: c for c in body["criteria"]}
    assert by_id["ctq-in-spec"]["status"] == "fail"
    # By id as well as by key.
    assert client.get(f"/products/{product.id}/gates/pilot/evaluation").json() == body


def test_an_override_and_the_checklist_are_records_the_evaluation_reads(
    client: TestClient,
) -> None:
    product = ready_prototype(uow_of(client), flow=[10.0, 11.6, 9.9])
    override = created(
        client,
        "/gate-plans",
        {"product_id": product.id, "to_phase": "pilot",
         "toml": 'version = "QA-2"\n[criteria.ctq-in-spec]\nblocking = false\n'},
    )  # fmt: skip
    assert override["plan_version"] == "1+QA-2"
    body = client.get(f"/products/{product.key}/gates/pilot/evaluation").json()
    assert body["plan"] == {"name": "prototype-pilot", "version": "1+QA-2"}
    assert body["suggestion"] == "conditional"
    bad = client.post(
        "/gate-plans",
        json={"product_id": product.id, "to_phase": "pilot", "toml": 'version = "X"\nremove = 3'},
    )
    assert_error(bad, 422, "invalid_input")
    item = created(client, "/go-to-market-items", {"product_id": product.id, "title": "Launch"})
    assert (item["done"], item["owner"]) == (False, "")
    listed = client.get("/go-to-market-items", params={"product": product.key}).json()
    assert [i["title"] for i in listed["items"]] == ["Launch"]


def test_errors_and_permissions(client: TestClient) -> None:
    product = ready_prototype(uow_of(client), flow=[10.0])
    path = f"/products/{product.key}/gates/pilot/evaluation"
    wrong = client.get(f"/products/{product.key}/gates/production/evaluation")
    assert_error(wrong, 422, "invalid_input", loc="to")
    assert_error(
        client.get(f"/products/{product.key}/gates/nowhere/evaluation"), 422, "invalid_input"
    )
    assert_error(client.get("/products/NOPE/gates/pilot/evaluation"), 404, "not_found")
    assert client.get(path, headers={"Authorization": ""}).status_code == 401
    add_user(client, "viewer", Role.VIEWER)
    viewer = new_token(client, "viewer", scopes=(Scope.READ,))
    assert client.get(path, headers=bearer(viewer)).status_code == 200
    partner = make_partner(uow_of(client))
    add_user(client, "cm", Role.PARTNER, partner=partner.id)
    outsider = new_token(client, "cm", scopes=(Scope.READ,))
    assert client.get(path, headers=bearer(outsider)).status_code in (403, 404)
