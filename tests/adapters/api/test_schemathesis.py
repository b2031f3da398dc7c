"""schemathesis over the OpenAPI document: every operation, on SQLite and on PostgreSQL.

Each operation gets ``MAX_EXAMPLES`` requests, valid and invalid by the schema, generated with
a fixed seed (Hypothesis ``derandomize``, no example database), so a run is repeatable. Every
request goes to both backends, each application over a database with a few related records
(products, revisions, a line with stations, builds, units, findings, feedback), and path ids
often name one of those records so reads and changes find something. Each answer must pass
schemathesis's four response checks: no server error, a documented status code, the documented
content type and a body that matches the documented schema. The requests carry the bearer token
of an admin with every scope, so every operation is reached past authentication.

An operation known to fail is listed in ``KNOWN_FAILURES`` with the reason and runs as a strict
xfail: it fails the suite as soon as it passes, so the entry is removed with the fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from phasegate.api.app import create_api
from phasegate.app import create_app
from phasegate.config import Settings
from phasegate.domain.policy import SYSTEM, Role, Scope
from phasegate.services import identity
from phasegate.store import db
from phasegate.store.uow import UnitOfWork
from tests.adapters.api.support import SECRET_KEY, bearer
from tests.adapters.web.data import populate
from tests.conftest import new_postgres_database

MAX_EXAMPLES = 20  # per operation: about two minutes for the 53 operations on one core
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Path values that name records of the fixture database (ids 1-5 exist for every kind).
KNOWN_IDS = st.integers(min_value=1, max_value=5)
KNOWN_REFS = st.sampled_from(["DRN", "drn", "SEN", "PWR", "1", "2"])
PATH_VALUES = {"id": KNOWN_IDS, "ref": KNOWN_REFS}

# "METHOD /path" -> why it fails today; each runs as a strict xfail.
KNOWN_FAILURES: dict[str, str] = {}

# The operations, read from the API's own document: no database is needed to list them.
OPERATIONS = [
    result.ok().label
    for result in schemathesis.openapi.from_dict(create_api().openapi()).get_all_operations()
]


@dataclass(frozen=True)
class Backend:
    name: str
    app: FastAPI
    headers: dict[str, str]  # the admin's bearer token


def _backend(name: str, url: str) -> Backend:
    engine = db.make_engine(url)
    db.upgrade(engine)
    populate(engine, pilot_units=12)
    uow = UnitOfWork.for_engine(engine)
    identity.create_user(uow, "schemathesis", Role.ADMIN, actor=SYSTEM)
    _, token = identity.create_token(uow, actor=SYSTEM, user="schemathesis", scopes=list(Scope))
    app = create_app(Settings(database_url=url, secret_key=SECRET_KEY), engine=engine)
    return Backend(name, app, bearer(token))


@pytest.fixture(scope="module")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Backend]]:
    """The application on a SQLite file and on a PostgreSQL database, over the same records."""
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    with new_postgres_database("phasegate_schemathesis") as postgres_url:
        made = [
            _backend("sqlite", f"sqlite:///{folder / 'api.db'}"),
            _backend("postgresql", postgres_url),
        ]
        try:
            yield made
        finally:
            for backend in made:
                backend.app.state.engine.dispose()


@pytest.fixture(scope="module")
def schema(backends: list[Backend]) -> Any:
    """The document as the running application serves it (its server is ``/api/v1``)."""
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", backends[0].app)


@pytest.mark.postgres
def test_the_requests_get_past_authentication(backends: list[Backend]) -> None:
    """401 is a documented answer of every operation: without a token that works, each would
    pass without reaching its route."""
    for backend in backends:
        with TestClient(backend.app, base_url="http://testserver/api/v1") as client:
            assert client.get("/products", headers=backend.headers).status_code == 200
            assert client.get("/products").status_code == 401


def _cases(operation: Any) -> st.SearchStrategy[Any]:
    """Valid and invalid requests; a valid one often aimed at a record that exists."""
    valid = operation.as_strategy()
    invalid = operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE)
    names = [n for n in PATH_VALUES if "{" + n + "}" in operation.path]
    if not names:
        return st.one_of(valid, invalid)
    known = st.fixed_dictionaries({n: PATH_VALUES[n] for n in names})

    def aimed(pair: tuple[Any, dict[str, Any] | None]) -> Any:
        case, values = pair
        if values is not None:
            case.path_parameters = {**case.path_parameters, **values}
        return case

    return st.one_of(st.tuples(valid, st.none() | known).map(aimed), invalid)


def _params() -> list[Any]:
    return [
        pytest.param(
            label,
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[label])]
            if label in KNOWN_FAILURES
            else [],
            id=label,
        )
        for label in OPERATIONS
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("label", _params())
def test_operation_answers_as_documented(label: str, schema: Any, backends: list[Backend]) -> None:
    operation = schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the served document"

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_cases(operation))
    def answers_as_documented(case: Any) -> None:
        for backend in backends:
            try:
                case.call_and_validate(checks=CHECKS, app=backend.app, headers=backend.headers)
            except Exception as error:
                error.add_note(f"backend: {backend.name}")
                raise

    answers_as_documented()
