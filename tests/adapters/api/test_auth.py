"""Bearer tokens, permissions and a partner user's scope, through the API on SQLite and PostgreSQL.

Without a valid token every operation but health answers 401; a valid token whose user's role or
scopes do not allow the operation answers 403; a partner user's token sees only its partner's
builds and what hangs off them, and a record outside them answers 404 as one that is not there.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from phasegate.domain.errors import InvalidInput
from phasegate.domain.policy import PERMISSION_KEY, SYSTEM, Role, Scope
from phasegate.services import identity
from phasegate.store.models import ApiToken, User
from tests.adapters.api.support import (
    ADMIN,
    add_user,
    assert_error,
    bearer,
    created,
    new_token,
    uow_of,
)

PARAMETERS = {"id": "1", "ref": "1", "to": "pilot", "code": "B-1", "name": "Gap", "key": "1"}
PARAMETERS.update({"build_id": "1", "serial": "S-1", "characteristic_id": "1", "table": "points"})
DECISION = {"to_phase": "pilot", "outcome": "go", "rationale": "evidence reviewed"}


def _anonymous(client: TestClient) -> TestClient:
    """A client of the same application that sends no token."""
    return TestClient(client.app, base_url=str(client.base_url))


def _operations(client: TestClient) -> list[tuple[str, str]]:
    """(method, path with its parameters filled in) of every operation in the document."""
    paths = client.get("/openapi.json").json()["paths"]
    found = []
    for template, operations in paths.items():
        path = re.sub(r"\{(\w+)\}", lambda m: PARAMETERS[m.group(1)], template)
        found += [(method.upper(), path) for method in operations]
    return found


def _call(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None) -> Any:
    body: dict[str, Any] | None = {} if method in ("POST", "PATCH") else None
    return client.request(method, path, json=body, headers=headers)


def _token_id(client: TestClient, token: str) -> int:
    with uow_of(client) as uow:
        found = uow.session.scalar(
            select(ApiToken.id).where(ApiToken.digest == identity.digest(token))
        )
    assert found is not None
    return int(found)


def _unauthenticated(response: Any, *, token_sent: bool) -> str:
    """The 401 in the error shape with its challenge; the message."""
    error = assert_error(response, 401, "unauthenticated")
    challenge = response.headers["WWW-Authenticate"]
    if token_sent:
        assert challenge.startswith('Bearer error="invalid_token"'), challenge
    else:
        assert challenge == "Bearer"
    message: str = error["message"]
    return message


# Who may come in ---------------------------------------------------------------------------


def test_anonymous_requests_get_401_on_every_operation_but_health(client: TestClient) -> None:
    anonymous = _anonymous(client)
    operations = _operations(client)
    assert len(operations) > 40
    for method, path in operations:
        response = _call(anonymous, method, path)
        if (method, path) == ("GET", "/health"):
            assert response.status_code == 200, response.text
            continue
        message = _unauthenticated(response, token_sent=False)
        assert "Authorization: Bearer" in message, (method, path)
    assert anonymous.get("/openapi.json").status_code == 200
    assert anonymous.get("/docs").status_code == 200


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "pgt_no_scheme", "Token abc"],
)
def test_a_malformed_authorization_header_is_401(client: TestClient, header: str) -> None:
    response = client.get("/products", headers={"Authorization": header})
    _unauthenticated(response, token_sent=False)


def test_an_unknown_token_is_401(client: TestClient) -> None:
    for token in ("pgt_" + "x" * 43, "not-a-token", "pgt_" + "x" * 5000):
        response = client.get("/products", headers=bearer(token))
        assert "not known" in _unauthenticated(response, token_sent=True)
    # bytes beyond ASCII, as a client may send them (read as Latin-1)
    response = client.get("/products", headers={b"Authorization": b"Bearer pgt_\xe9\xff"})
    assert "not known" in _unauthenticated(response, token_sent=True)


def test_a_revoked_token_is_refused_at_once(client: TestClient) -> None:
    add_user(client, "ann", Role.ENGINEER)
    token = new_token(client, "ann", (Scope.READ,))
    assert client.get("/products", headers=bearer(token)).status_code == 200
    identity.revoke_token(uow_of(client), _token_id(client, token), actor=SYSTEM)
    response = client.get("/products", headers=bearer(token))
    assert "revoked" in _unauthenticated(response, token_sent=True)
    # the admin's own token still works
    assert client.get("/products").status_code == 200


def test_an_expired_token_is_refused(client: TestClient) -> None:
    add_user(client, "ann", Role.ENGINEER)
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    token = new_token(client, "ann", (Scope.READ,), expires_at=soon)
    assert client.get("/products", headers=bearer(token)).status_code == 200
    with uow_of(client).write() as uow:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        uow.session.execute(
            update(ApiToken).where(ApiToken.id == _token_id(client, token)).values(expires_at=past)
        )
        uow.commit()
    response = client.get("/products", headers=bearer(token))
    assert "expired" in _unauthenticated(response, token_sent=True)


def test_a_disabled_users_token_is_refused(client: TestClient) -> None:
    add_user(client, "ann", Role.ENGINEER)
    token = new_token(client, "ann", (Scope.READ,))
    assert client.get("/products", headers=bearer(token)).status_code == 200
    identity.set_active(uow_of(client), "ann", False, actor=SYSTEM)
    response = client.get("/products", headers=bearer(token))
    assert "disabled" in _unauthenticated(response, token_sent=True)
    identity.set_active(uow_of(client), "ann", True, actor=SYSTEM)
    assert client.get("/products", headers=bearer(token)).status_code == 200


def test_a_token_notes_when_it_was_last_used(client: TestClient) -> None:
    add_user(client, "ann", Role.ENGINEER)
    token = new_token(client, "ann", (Scope.READ,))
    (listed,) = identity.list_tokens(uow_of(client), actor=SYSTEM, user="ann")
    assert listed.last_used_at is None
    before = dt.datetime.now(dt.UTC)
    assert client.get("/products", headers=bearer(token)).status_code == 200
    (listed,) = identity.list_tokens(uow_of(client), actor=SYSTEM, user="ann")
    assert listed.last_used_at is not None
    assert before - dt.timedelta(seconds=1) <= listed.last_used_at <= dt.datetime.now(dt.UTC)


# What a token may do -----------------------------------------------------------------------


def test_a_read_token_cannot_change_anything_even_an_admins(client: TestClient) -> None:
    product = created(client, "/products", {"key": "AQM", "name": "Air-quality monitor"})
    read_only = bearer(new_token(client, ADMIN, (Scope.READ,)))
    assert client.get("/products/AQM", headers=read_only).status_code == 200
    error = assert_error(
        client.post("/products", json={"key": "NEW", "name": "New"}, headers=read_only),
        403,
        "forbidden",
    )
    assert "scopes" in error["message"]
    assert_error(
        client.patch("/products/AQM", json={"name": "Renamed"}, headers=read_only),
        403,
        "forbidden",
    )
    assert_error(
        client.post("/products/AQM/gates/pilot/reviews", headers=read_only),
        403,
        "forbidden",
    )
    now = client.get(f"/products/{product['id']}").json()
    assert (now["name"], now["phase"]) == ("Air-quality monitor", "prototype")
    assert client.get("/products", params={"key": "NEW"}).json()["total"] == 0


def test_permission_is_checked_before_the_body(client: TestClient) -> None:
    read_only = bearer(new_token(client, ADMIN, (Scope.READ,)))
    response = client.post("/products", json={"nonsense": True}, headers=read_only)
    assert_error(response, 403, "forbidden")


def test_the_role_limits_a_write_token(client: TestClient) -> None:
    add_user(client, "ed", Role.ENGINEER)
    add_user(client, "vic", Role.VIEWER)
    engineer = bearer(new_token(client, "ed", (Scope.WRITE,)))
    created(client, "/products", {"key": "AQM", "name": "Air-quality monitor"})
    # an engineer writes the design, not the partners
    assert client.post("/revisions", json={"product_id": 1, "code": "B"}, headers=engineer)
    assert_error(
        client.post("/partners", json={"name": "X", "kind": "supplier"}, headers=engineer),
        403,
        "forbidden",
    )
    # a viewer reads, and cannot even hold a write token
    with pytest.raises(InvalidInput):
        new_token(client, "vic", (Scope.WRITE,))
    viewer = bearer(new_token(client, "vic", (Scope.READ,)))
    assert client.get("/products", headers=viewer).status_code == 200
    assert client.get("/audit-events", headers=viewer).status_code == 200
    error = assert_error(
        client.post("/products", json={"key": "V", "name": "Viewer's"}, headers=viewer),
        403,
        "forbidden",
    )
    assert "vic (viewer)" in error["message"]


def test_an_ingest_token_sends_test_data_and_reads_nothing(client: TestClient) -> None:
    add_user(client, "ops", Role.OPERATIONS)
    ingest = bearer(new_token(client, "ops", (Scope.INGEST,)))
    sending = 0
    for method, path, needs in _operations_with_permissions(client):
        if (method, path) == ("GET", "/health"):
            continue
        answer = _call(client, method, path, headers=ingest)
        if needs.startswith("ingest:"):
            sending += 1
            assert answer.status_code not in (401, 403), (method, path, answer.text)
        else:
            assert_error(answer, 403, "forbidden")
    assert sending >= 3  # test runs, station passes, defects (and file uploads)


def _operations_with_permissions(client: TestClient) -> list[tuple[str, str, str]]:
    """(method, path, x-permission) of every operation in the document."""
    paths = client.get("/openapi.json").json()["paths"]
    found = []
    for template, operations in paths.items():
        path = re.sub(r"\{(\w+)\}", lambda m: PARAMETERS[m.group(1)], template)
        found += [(m.upper(), path, op.get(PERMISSION_KEY, "")) for m, op in operations.items()]
    return found


# Gate decisions name the token's user --------------------------------------------------------


def test_a_gate_decision_is_the_tokens_users(client: TestClient) -> None:
    created(client, "/products", {"key": "AQM", "name": "Air-quality monitor"})
    add_user(client, "pia", Role.PRODUCT)
    add_user(client, "ed", Role.ENGINEER)
    engineer = bearer(new_token(client, "ed", (Scope.WRITE,)))
    assert_error(
        client.post("/products/AQM/gates/pilot/reviews", headers=engineer),
        403,
        "forbidden",
    )
    product_owner = bearer(new_token(client, "pia", (Scope.WRITE,)))
    review = client.post("/products/AQM/gates/pilot/reviews", headers=product_owner).json()
    assert review["opened_by"] == "pia"
    signed = client.post(
        f"/gate-reviews/{review['id']}/signoffs", json={"approve": True}, headers=product_owner
    ).json()
    assert [(s["role"], s["signed_by"]) for s in signed["signoffs"]] == [("product", "pia")]
    named = {**DECISION, "decided_by": "someone else"}
    del named["to_phase"]
    assert_error(
        client.post(f"/gate-reviews/{review['id']}/decision", json=named, headers=product_owner),
        422,
        "invalid_input",
        "decided_by",
    )
    events = client.get("/audit-events", params={"action": "decision"}).json()["items"]
    assert {e["actor"] for e in events} == {"pia"}
    assert client.get("/products/AQM").json()["phase"] == "prototype"


# A partner user's scope -----------------------------------------------------------------------


@dataclass(frozen=True)
class Partners:
    """Two contract manufacturers, each with a product, build, unit, line and finding."""

    ours: dict[str, int]
    theirs: dict[str, int]


def _partner_records(client: TestClient, key: str, partner: str, serial: str) -> dict[str, int]:
    partner_id = created(client, "/partners", {"name": partner, "kind": "contract_manufacturer"})
    product = created(client, "/products", {"key": key, "name": f"Product {key}"})
    revision = created(client, "/revisions", {"product_id": product["id"], "code": "A"})
    characteristic = created(
        client,
        "/characteristics",
        {"product_id": product["id"], "name": f"Gap {key}", "unit": "mm", "lsl": 0, "usl": 1},
    )
    line = created(client, "/lines", {"name": f"Line {key}", "partner_id": partner_id["id"]})
    station = created(client, "/stations", {"line_id": line["id"], "name": "SMT", "sequence": 1})
    build = created(
        client,
        "/builds",
        {
            "product_id": product["id"],
            "revision_id": revision["id"],
            "partner_id": partner_id["id"],
            "code": f"BUILD-{key}",
            "phase": "prototype",
            "planned_quantity": 5,
        },
    )
    unit = created(
        client,
        "/units",
        {"product_id": product["id"], "build_id": build["id"], "serial": serial},
    )
    finding = created(
        client,
        "/findings",
        {
            "product_id": product["id"],
            "build_id": build["id"],
            "title": f"Crack {key}",
            "category": "material_weakness",
            "severity": "major",
        },
    )
    requirement = created(
        client,
        "/requirements",
        {"product_id": product["id"], "key": "R-1", "title": "Reads", "priority": "must"},
    )
    feedback = created(
        client, "/feedback", {"product_id": product["id"], "source": "customer", "text": "ok"}
    )
    return {
        "partner": partner_id["id"],
        "product": product["id"],
        "revision": revision["id"],
        "characteristic": characteristic["id"],
        "line": line["id"],
        "station": station["id"],
        "build": build["id"],
        "unit": unit["id"],
        "finding": finding["id"],
        "requirement": requirement["id"],
        "feedback": feedback["id"],
    }


@pytest.fixture
def partners(client: TestClient) -> Partners:
    ours = _partner_records(client, "AQM", "Acme EMS", "SN-ACME-1")
    theirs = _partner_records(client, "OTHER", "Other Works", "SN-OTHER-1")
    add_user(client, "acme", Role.PARTNER, partner="Acme EMS")
    token = new_token(client, "acme", (Scope.READ, Scope.WRITE))
    client.headers.update(bearer(token))  # from here on, the client is the partner user
    return Partners(ours, theirs)


LISTS = {
    "/builds": "build",
    "/units": "unit",
    "/findings": "finding",
    "/products": "product",
    "/revisions": "revision",
    "/characteristics": "characteristic",
    "/partners": "partner",
    "/lines": "line",
    "/stations": "station",
}


def test_a_partner_lists_only_its_partners_records(client: TestClient, partners: Partners) -> None:
    for path, name in LISTS.items():
        page = client.get(path).json()
        assert [item["id"] for item in page["items"]] == [partners.ours[name]], path
        assert page["total"] == 1, path
    found = client.get("/units", params={"q": "SN-"}).json()["items"]
    assert [u["serial"] for u in found] == ["SN-ACME-1"]
    assert client.get("/units", params={"q": "OTHER"}).json()["total"] == 0
    line = partners.ours["line"]
    assert [s["id"] for s in client.get(f"/lines/{line}/stations").json()["items"]] == [
        partners.ours["station"]
    ]


def test_a_record_outside_the_partners_scope_is_404(client: TestClient, partners: Partners) -> None:
    for path, name in LISTS.items():
        ours = client.get(f"{path}/{partners.ours[name]}")
        assert ours.status_code == 200, (path, ours.text)
        theirs = client.get(f"{path}/{partners.theirs[name]}")
        missing = client.get(f"{path}/999999")
        assert_error(theirs, 404, "not_found")
        assert_error(missing, 404, "not_found")
        # worded as for a record that does not exist: the answer reveals nothing
        shown = theirs.json()["error"]["message"].replace(str(partners.theirs[name]), "N")
        assert shown == missing.json()["error"]["message"].replace("999999", "N"), path
    assert_error(client.get("/products/OTHER"), 404, "not_found")
    assert_error(client.get("/units", params={"product": "OTHER"}), 404, "not_found")
    assert_error(client.get(f"/lines/{partners.theirs['line']}/stations"), 404, "not_found")


def test_a_partner_changes_only_its_own_units(client: TestClient, partners: Partners) -> None:
    theirs = f"/units/{partners.theirs['unit']}"
    assert_error(client.patch(theirs, json={"status": "scrapped"}), 404, "not_found")
    ours = client.patch(f"/units/{partners.ours['unit']}", json={"status": "scrapped"})
    assert ours.status_code == 200, ours.text
    assert ours.json()["status"] == "scrapped"
    # a new unit in another partner's build is refused as a reference to nothing
    response = client.post(
        "/units",
        json={
            "product_id": partners.theirs["product"],
            "build_id": partners.theirs["build"],
            "serial": "SN-SNEAKY",
        },
    )
    assert response.status_code in (404, 422), response.text
    assert response.status_code != 201


def test_a_partner_is_refused_what_the_policy_keeps_from_it(
    client: TestClient, partners: Partners
) -> None:
    ours = partners.ours
    for method, path in [
        ("GET", "/requirements"),
        ("GET", f"/requirements/{ours['requirement']}"),
        ("GET", "/feedback"),
        ("GET", f"/feedback/{ours['feedback']}"),
        ("GET", "/audit-events"),
        ("GET", "/products/AQM/gate-decisions"),
        ("POST", "/products/AQM/gates/pilot/reviews"),
        ("POST", "/builds"),
        ("PATCH", f"/builds/{ours['build']}"),
        ("PATCH", "/products/AQM"),
    ]:
        body = DECISION if method != "GET" else None
        assert_error(client.request(method, path, json=body), 403, "forbidden")


# No secret leaves the server --------------------------------------------------------------------


def test_no_password_hash_or_token_digest_in_any_answer(client: TestClient) -> None:
    identity.create_user(
        uow_of(client), "ann", Role.ENGINEER, actor=SYSTEM, password="a long enough password"
    )
    token = new_token(client, "ann", (Scope.READ, Scope.WRITE))
    identity.reset_password(uow_of(client), "ann", actor=SYSTEM, password="another long password")
    identity.revoke_token(uow_of(client), _token_id(client, token), actor=SYSTEM)
    created(client, "/products", {"key": "AQM", "name": "Air-quality monitor"})
    with uow_of(client) as uow:
        hashes = [h for h in uow.session.scalars(select(User.password_hash)) if h]
        digests = list(uow.session.scalars(select(ApiToken.digest)))
    assert hashes and len(digests) >= 2
    events = client.get("/audit-events", params={"limit": 500})
    assert events.status_code == 200
    assert {"users", "api_tokens"} <= {e["entity_type"] for e in events.json()["items"]}
    answers = [events.text, client.get("/products").text, client.get("/audit-events").text]
    for text in answers:
        for secret in [*hashes, *digests, token, "another long password"]:
            assert secret not in text
        assert "$argon2" not in text
