"""Every route of the application, from its route table, against the policy table.

Each route is either explicitly public or declares the permission it needs (``x-permission``).
Anonymous callers are refused every other route (401 from the API, a redirect to the sign-in page
from the pages), and so is every role the policy table does not give that permission (403),
through a token with every scope the role can hold, and through a signed-in browser session.
A route added without a declared permission fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.routing import Mount

from phasegate.api.errors import NoSuchPath
from phasegate.app import create_app
from phasegate.config import Settings
from phasegate.domain.errors import InvalidInput
from phasegate.domain.policy import (
    PERMISSION_KEY,
    PUBLIC,
    SYSTEM,
    Action,
    Kind,
    Role,
    Scope,
    parse_permission,
    role_may,
)
from phasegate.services import crud, identity
from phasegate.services.builds import PARTNERS
from phasegate.store import db
from phasegate.store.uow import UnitOfWork
from tests.conftest import new_postgres_database

API = "/api/v1"
# Routes that are not FastAPI routes and so declare nothing: each is public on purpose.
PUBLIC_PATHS = {
    f"{API}/openapi.json": "the API's description, the same as in the source repository",
    f"{API}/docs": "the page that shows that description",
    "/static": "the vendored scripts, styles and images",
    "/api": "the catch-all that answers unknown API paths with 404",
}
# A value for each path parameter: any will do, the permission is checked before any lookup.
PARAMETERS = {"id": "1", "ref": "P-1", "key": "P-1", "build_id": "1", "serial": "S-1"}
PARAMETERS.update({"code": "B-1", "name": "Gap", "characteristic_id": "1", "table": "points"})
PARAMETERS["to"] = "pilot"  # a stage gate: the phase a product would move into
PASSWORD = "route-matrix-password"
SECRET = "route-matrix-secret-key-0123456789abcdef"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # with its parameters filled in
    template: str
    needs: tuple[Action, Kind] | None  # None: public, or any signed-in user
    public: bool

    @property
    def is_api(self) -> bool:
        return self.path.startswith(API + "/")

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(path, route context) for every route, the API's mounted ones included."""
    for context in iter_route_contexts(routes):
        route = context.original_route
        where = route.prefix if isinstance(route, NoSuchPath) else context.path
        path = prefix + str(where or getattr(route, "path", ""))
        if isinstance(route, Mount) and path == API:
            yield from _routes(route.routes, API)
        else:
            yield path, context


def _fill(template: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: PARAMETERS[m.group(1)], template)


def endpoints(app: Any) -> list[Endpoint]:
    found: list[Endpoint] = []
    for path, context in _routes(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            assert path in PUBLIC_PATHS, f"{path or route!r}: a route that declares no permission"
            continue
        declared = (route.openapi_extra or {}).get(PERMISSION_KEY)
        assert declared is not None, f"{path}: the route declares no {PERMISSION_KEY}"
        needs = parse_permission(declared)
        for method in sorted((context.methods or set()) - {"HEAD"}):
            found.append(Endpoint(method, _fill(path), path, needs, declared == PUBLIC))
    return found


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('routes') / 'routes.db'}"
    else:
        with new_postgres_database("phasegate_routes") as url:
            yield url


@dataclass
class Setup:
    app: object
    tokens: dict[Role, str]


def _scopes_of(role: Role) -> list[Scope]:
    """Every scope a token of ``role`` may carry."""
    usable = []
    for scope in Scope:
        try:
            identity._scopes(role, [scope])
        except InvalidInput:
            continue
        usable.append(scope)
    return usable


@pytest.fixture(scope="module")
def setup(database_url: str) -> Iterator[Setup]:
    engine: Engine = db.make_engine(database_url)
    db.upgrade(engine)
    uow = UnitOfWork.for_engine(engine)
    partner = crud.create(
        uow, PARTNERS, {"name": "Route CM", "kind": "contract_manufacturer"}, actor=SYSTEM
    )
    tokens = {}
    for role in Role:
        identity.create_user(
            uow,
            role.value,
            role,
            actor=SYSTEM,
            password=PASSWORD,
            partner=partner.id if role is Role.PARTNER else None,
        )
        _, tokens[role] = identity.create_token(
            uow, actor=SYSTEM, user=role.value, scopes=_scopes_of(role)
        )
    app = create_app(Settings(database_url=database_url, secret_key=SECRET), engine=engine)
    yield Setup(app, tokens)
    engine.dispose()


def _browser(app: object, role: Role | None) -> TestClient:
    """A client with its own cookies; signed in through the sign-in form when ``role`` is given."""
    client = TestClient(app, follow_redirects=False)  # type: ignore[arg-type]
    if role is not None:
        client.get("/login")
        token = client.cookies.get("csrftoken")
        answer = client.post(
            "/login", data={"csrftoken": token, "name": role.value, "password": PASSWORD}
        )
        assert answer.status_code == 303, answer.text
        assert not answer.headers["location"].startswith("/login"), answer.headers
    return client


def _call(client: TestClient, endpoint: Endpoint, headers: dict[str, str]) -> int:
    if endpoint.is_api or endpoint.method == "GET":
        body = {"json": {}} if endpoint.method in ("POST", "PATCH", "PUT") else {}
        return client.request(endpoint.method, endpoint.path, headers=headers, **body).status_code
    form = {"csrftoken": client.cookies.get("csrftoken") or ""}
    return client.request(endpoint.method, endpoint.path, data=form, headers=headers).status_code


def _anonymous_refused(client: TestClient, endpoint: Endpoint) -> str | None:
    answer = client.request(endpoint.method, endpoint.path)
    if endpoint.is_api:
        return None if answer.status_code == 401 else f"{endpoint}: {answer.status_code}, not 401"
    location = answer.headers.get("location", "")
    if answer.status_code in (302, 303) and location.startswith("/login"):
        return None
    return f"{endpoint}: {answer.status_code} {location!r}, not a redirect to the sign-in page"


def test_every_route_declares_a_permission_or_is_public(setup: Setup) -> None:
    found = endpoints(setup.app)
    assert any(e.is_api for e in found) and any(not e.is_api for e in found)
    assert any(e.public for e in found), "no public route at all: the sign-in page?"


def test_anonymous_callers_are_refused_every_route_that_is_not_public(setup: Setup) -> None:
    client = TestClient(setup.app, follow_redirects=False)  # type: ignore[arg-type]
    protected = [e for e in endpoints(setup.app) if not e.public]
    problems = [p for e in protected if (p := _anonymous_refused(client, e)) is not None]
    assert problems == []


def test_public_routes_answer_anonymous_callers(setup: Setup) -> None:
    client = TestClient(setup.app, follow_redirects=False)  # type: ignore[arg-type]
    for endpoint in endpoints(setup.app):
        if endpoint.public and endpoint.method == "GET":
            answer = client.get(endpoint.path)
            assert answer.status_code == 200, f"{endpoint}: {answer.status_code}"


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_each_role_is_refused_what_the_policy_does_not_give_it(setup: Setup, role: Role) -> None:
    """Through the API with the role's widest token, and through the pages signed in."""
    api = TestClient(setup.app, follow_redirects=False)  # type: ignore[arg-type]
    bearer = {"Authorization": f"Bearer {setup.tokens[role]}"}
    pages = _browser(setup.app, role)
    problems = []
    for endpoint in endpoints(setup.app):
        if endpoint.public:
            continue
        client, headers = (api, bearer) if endpoint.is_api else (pages, {})
        status = _call(client, endpoint, headers)
        allowed = endpoint.needs is None or role_may(role, *endpoint.needs)
        if not allowed and status != 403:
            problems.append(f"{endpoint}: {status} for {role.value}, who may not")
        if allowed and status in (401, 403):
            problems.append(f"{endpoint}: {status} for {role.value}, who may")
    assert problems == []


def test_the_public_list_names_only_routes_that_exist(setup: Setup) -> None:
    paths = {path for path, _ in _routes(setup.app.routes)}  # type: ignore[attr-defined]
    assert set(PUBLIC_PATHS) <= paths


def test_the_public_routes_are_few(setup: Setup) -> None:
    """What needs no sign-in is named here, so widening it is a visible change."""
    public = {e.template for e in endpoints(setup.app) if e.public}
    assert public <= {"/login", f"{API}/health"}, public
