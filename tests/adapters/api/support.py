"""Helpers of the API contract tests: users and tokens, the error shape, related records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient

from phasegate.domain.policy import SYSTEM, Role, Scope
from phasegate.services import identity
from phasegate.store.uow import UnitOfWork

ADMIN = "api-admin"  # the user whose token the ``client`` fixtures send
ALL_SCOPES = tuple(Scope)
SECRET_KEY = "k" * 40  # signs the pages' cookies; the API does not use it


def uow_of(client: TestClient) -> UnitOfWork:
    """A unit of work on the database of the application ``client`` drives."""
    uow: UnitOfWork = client.app.state.uow_factory()  # type: ignore[attr-defined]
    return uow


def add_user(
    client: TestClient, name: str, role: Role | str, *, partner: str | int | None = None
) -> None:
    identity.create_user(uow_of(client), name, role, actor=SYSTEM, partner=partner)


def new_token(
    client: TestClient,
    user: str,
    scopes: tuple[Scope | str, ...] = ALL_SCOPES,
    *,
    station: int | None = None,
    expires_at: dt.datetime | None = None,
) -> str:
    """A new token of ``user``; the token itself, as ``phasegate tokens create`` shows it."""
    _, raw = identity.create_token(
        uow_of(client),
        actor=SYSTEM,
        scopes=scopes,
        user=user,
        station=station,
        expires_at=expires_at,
    )
    return raw


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sign_in_as_admin(client: TestClient) -> str:
    """An admin user with a token of every scope, sent by ``client`` from now on."""
    add_user(client, ADMIN, Role.ADMIN)
    token = new_token(client, ADMIN)
    client.headers.update(bearer(token))
    return token


def created(client: TestClient, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    """POST ``payload`` and return the new record, asserting 201."""
    response = client.post(path, json=payload)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_error(
    response: httpx.Response, status: int, kind: str, loc: str | None = None
) -> dict[str, Any]:
    """The response is the one error shape with this status and type (naming ``loc``)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"type", "message", "fields"}
    assert error["type"] == kind
    assert isinstance(error["message"], str) and error["message"]
    for field in error["fields"]:
        assert set(field) == {"loc", "message"}
    if loc is not None:
        assert loc in [f["loc"] for f in error["fields"]], error
    result: dict[str, Any] = error
    return result


@dataclass(frozen=True)
class World:
    """Ids of a small set of related records: two products and what hangs off the first."""

    product: int
    other_product: int
    revision: int
    other_revision: int
    requirement: int
    partner: int
    line: int
    station: int
    build: int
    unit: int
    finding: int


def make_world(client: TestClient) -> World:
    product = created(client, "/products", {"key": "AQM", "name": "Air-quality monitor"})
    other = created(client, "/products", {"key": "OTHER", "name": "Other product"})
    revision = created(client, "/revisions", {"product_id": product["id"], "code": "A"})
    other_revision = created(client, "/revisions", {"product_id": other["id"], "code": "A"})
    requirement = created(
        client,
        "/requirements",
        {"product_id": product["id"], "key": "R-1", "title": "Reads PM2.5", "priority": "must"},
    )
    partner = created(client, "/partners", {"name": "Acme EMS", "kind": "contract_manufacturer"})
    line = created(client, "/lines", {"name": "Pilot line A", "partner_id": partner["id"]})
    station = created(client, "/stations", {"line_id": line["id"], "name": "SMT", "sequence": 1})
    build = created(
        client,
        "/builds",
        {
            "product_id": product["id"],
            "revision_id": revision["id"],
            "code": "PROTO-1",
            "phase": "prototype",
            "technique": "3d_print",
            "planned_quantity": 5,
        },
    )
    unit = created(
        client,
        "/units",
        {"product_id": product["id"], "build_id": build["id"], "serial": "SN-0001"},
    )
    finding = created(
        client,
        "/findings",
        {
            "product_id": product["id"],
            "title": "Boss cracks",
            "category": "material_weakness",
            "severity": "major",
        },
    )
    return World(
        product=product["id"],
        other_product=other["id"],
        revision=revision["id"],
        other_revision=other_revision["id"],
        requirement=requirement["id"],
        partner=partner["id"],
        line=line["id"],
        station=station["id"],
        build=build["id"],
        unit=unit["id"],
        finding=finding["id"],
    )
