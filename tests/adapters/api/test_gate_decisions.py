"""Gate reviews through the API: open, sign off by role, waive, decide; the status codes, the
error shape and who may do what."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from phasegate.domain.policy import Role, Scope
from phasegate.services.gates.decisions import REQUIRED_ROLES
from tests.adapters.api.support import add_user, assert_error, bearer, created, new_token

HOSTILE = "<script>alert(1)</script> '; DROP TABLE gate_reviews; --"


def _people(client: TestClient) -> dict[Role, dict[str, str]]:
    """A write token per required role, and a viewer's read token."""
    headers = {}
    for role in (*REQUIRED_ROLES, Role.VIEWER):
        add_user(client, f"{role.value}-1", role)
        scope = Scope.READ if role is Role.VIEWER else Scope.WRITE
        headers[role] = bearer(new_token(client, f"{role.value}-1", (scope,)))
    return headers


def _open(client: TestClient, people: dict[Role, dict[str, str]]) -> dict[str, Any]:
    created(client, "/products", {"key": "AQM", "name": "Air-quality monitor"})
    response = client.post("/products/AQM/gates/pilot/reviews", headers=people[Role.PRODUCT])
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _sign_all(client: TestClient, review: int, people: dict[Role, dict[str, str]]) -> None:
    for role in REQUIRED_ROLES:
        response = client.post(
            f"/gate-reviews/{review}/signoffs",
            json={"approve": True, "comment": HOSTILE},
            headers=people[role],
        )
        assert response.status_code == 201, response.text


def _waive_unmet(client: TestClient, review: dict[str, Any], who: dict[str, str]) -> None:
    for criterion in review["criteria"]:
        if criterion["blocking"] and criterion["status"] != "pass":
            response = client.post(
                f"/gate-reviews/{review['id']}/waivers",
                json={"criterion_id": criterion["id"], "reason": "accepted for the pilot"},
                headers=who,
            )
            assert response.status_code == 201, response.text


def test_a_review_walks_from_open_to_the_phase_change(client: TestClient) -> None:
    people = _people(client)
    review = _open(client, people)
    assert review["status"] == "open" and review["from"] == "prototype" and review["to"] == "pilot"
    assert review["plan"]["name"] == "prototype-pilot"
    assert review["opened_by"] == "product-1"
    assert review["extent"]["units"] == 0
    assert review["missing_roles"] == [r.value for r in REQUIRED_ROLES]
    shown = client.get(f"/gate-reviews/{review['id']}").json()
    assert [c["id"] for c in shown["then_and_now"]] == [c["id"] for c in review["criteria"]]
    _sign_all(client, review["id"], people)
    _waive_unmet(client, review, people[Role.PRODUCT])
    response = client.post(
        f"/gate-reviews/{review['id']}/decision",
        json={"outcome": "go", "rationale": "evidence reviewed"},
        headers=people[Role.PRODUCT],
    )
    assert response.status_code == 201, response.text
    decided = response.json()
    assert decided["status"] == "decided" and decided["suggestion"] != "no_go"
    assert decided["decision"]["decided_by"] == "product-1"
    assert [s["comment"] for s in decided["signoffs"]] == [HOSTILE] * 4
    assert client.get("/products/AQM").json()["phase"] == "pilot"
    listed = client.get("/products/AQM/gate-decisions").json()
    assert [(d["outcome"], d["decided_by"]) for d in listed] == [("go", "product-1")]
    # A second decider of the same review comes too late.
    assert_error(
        client.post(
            f"/gate-reviews/{review['id']}/decision",
            json={"outcome": "no_go", "rationale": "x"},
        ),
        409,
        "conflict",
    )


def test_a_decision_waits_for_the_sign_offs_and_a_go_for_the_waivers(client: TestClient) -> None:
    people = _people(client)
    review = _open(client, people)
    path = f"/gate-reviews/{review['id']}"
    error = assert_error(
        client.post(f"{path}/decision", json={"outcome": "go"}, headers=people[Role.PRODUCT]),
        409,
        "conflict",
    )
    assert "sign-off missing from engineer, quality, operations, product" in error["message"]
    _sign_all(client, review["id"], people)
    assert review["suggestion"] == "no_go"  # an empty product proves nothing yet
    assert_error(
        client.post(f"{path}/decision", json={"outcome": "go"}, headers=people[Role.PRODUCT]),
        409,
        "gate_blocked",
    )
    assert_error(
        client.post(
            f"{path}/decision",
            json={"outcome": "conditional", "rationale": "soon"},
            headers=people[Role.PRODUCT],
        ),
        422,
        "invalid_input",
        "actions",
    )
    assert client.get("/products/AQM").json()["phase"] == "prototype"


def test_who_may_open_sign_waive_and_decide(client: TestClient) -> None:
    people = _people(client)
    created(client, "/products", {"key": "AQM", "name": "Air-quality monitor"})
    assert_error(
        client.post("/products/AQM/gates/pilot/reviews", headers=people[Role.ENGINEER]),
        403,
        "forbidden",
    )
    review = client.post("/products/AQM/gates/pilot/reviews").json()  # the admin
    path = f"/gate-reviews/{review['id']}"
    assert_error(
        client.post(f"{path}/signoffs", json={"approve": True}, headers=people[Role.VIEWER]),
        403,
        "forbidden",
    )
    assert_error(
        client.post(f"{path}/signoffs", json={"approve": True}), 422, "invalid_input", "role"
    )
    criterion = review["criteria"][0]["id"]
    assert_error(
        client.post(
            f"{path}/waivers",
            json={"criterion_id": criterion, "reason": "r"},
            headers=people[Role.QUALITY],
        ),
        403,
        "forbidden",
    )
    assert_error(
        client.post(f"{path}/decision", json={"outcome": "no_go"}, headers=people[Role.ENGINEER]),
        403,
        "forbidden",
    )
    assert_error(
        client.get(f"{path}", headers=bearer(new_token(client, "quality-1", (Scope.INGEST,)))),
        403,
        "forbidden",
    )


def test_bad_input_is_refused_naming_the_field(client: TestClient) -> None:
    people = _people(client)
    review = _open(client, people)
    path = f"/gate-reviews/{review['id']}"
    assert_error(
        client.post(
            f"{path}/signoffs",
            json={"approve": True, "comment": "a\x00b"},
            headers=people[Role.QUALITY],
        ),
        422,
        "invalid_input",
    )
    assert_error(
        client.post(
            f"{path}/signoffs",
            json={"approve": False, "comment": " "},
            headers=people[Role.QUALITY],
        ),
        422,
        "invalid_input",
        "comment",
    )
    assert_error(
        client.post(
            f"{path}/signoffs",
            json={"approve": True, "signed_by": "someone else"},
            headers=people[Role.QUALITY],
        ),
        422,
        "invalid_input",
        "signed_by",
    )
    assert_error(
        client.post(f"{path}/waivers", json={"criterion_id": "nope", "reason": HOSTILE}),
        422,
        "invalid_input",
        "criterion_id",
    )
    assert_error(client.get("/gate-reviews/999999"), 404, "not_found")
    assert_error(client.post("/products/AQM/gates/production/reviews"), 409, "gate_blocked")
    assert_error(client.post("/products/AQM/gates/pilot/reviews"), 409, "conflict")
    assert_error(client.post("/products/NOPE/gates/pilot/reviews"), 404, "not_found")


def test_a_conditional_go_tracks_its_action_items(client: TestClient) -> None:
    people = _people(client)
    review = _open(client, people)
    _sign_all(client, review["id"], people)
    _waive_unmet(client, review, people[Role.PRODUCT])
    body = {
        "outcome": "conditional",
        "rationale": "ship after the fan test",
        "actions": [{"title": HOSTILE, "owner": "Ana", "due_on": "2026-03-01"}],
    }
    decided = client.post(f"/gate-reviews/{review['id']}/decision", json=body)
    assert decided.status_code == 201, decided.text
    items = client.get("/products/AQM/gate-action-items").json()
    assert [(i["title"], i["owner"], i["due_on"], i["done"]) for i in items] == [
        (HOSTILE, "Ana", "2026-03-01", False)
    ]
    assert_error(
        client.patch(
            f"/gate-action-items/{items[0]['id']}",
            json={"done": True},
            headers=people[Role.QUALITY],
        ),
        403,
        "forbidden",
    )
    done = client.patch(f"/gate-action-items/{items[0]['id']}", json={"done": True})
    assert done.status_code == 200 and done.json()["done"] is True
