"""The API describes itself: a valid OpenAPI document, every route summarised and typed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from phasegate import __version__
from phasegate.api.app import create_api
from phasegate.api.errors import ERRORS
from phasegate.api.resources import COLLECTIONS
from phasegate.app import uow_factory_for
from phasegate.config import Settings
from phasegate.domain.policy import parse_permission
from phasegate.store import db
from tests.adapters.api.support import assert_error


def test_openapi_document_is_valid(sqlite_client: TestClient) -> None:
    response = sqlite_client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert document["info"]["title"] == "phasegate API"
    assert document["info"]["version"] == __version__
    operations = [
        op for item in document["paths"].values() for op in item.values() if "operationId" in op
    ]
    assert Counter(op["operationId"] for op in operations).most_common(1)[0][1] == 1
    for op in operations:
        assert op.get("summary") and op.get("tags"), op["operationId"]
    assert sqlite_client.get("/docs").status_code == 200


def test_every_route_has_a_summary_and_a_response_model() -> None:
    routes = [
        (context.path, context.original_route)
        for context in iter_route_contexts(create_api().routes)
        if isinstance(context.original_route, APIRoute)
    ]
    assert len(routes) > 40
    missing = [
        f"{sorted(route.methods or ())} {path}"
        for path, route in routes
        if not route.summary or not route.response_model
    ]
    assert missing == []


def test_the_user_guide_names_every_collection_and_error_type() -> None:
    guide = (Path(__file__).parents[3] / "docs" / "api.md").read_text()
    for collection in COLLECTIONS:
        assert f"`{collection.path.strip('/')}`" in guide, collection.path
    for _status, kind in ERRORS.values():
        assert f"`{kind}`" in guide or kind == "error", kind


def test_errors_are_documented_in_the_error_shape(sqlite_client: TestClient) -> None:
    """Each route documents the errors it can answer (409, 412, 413, 415 where they apply);
    every route but health answers 401 without a token and 403 without the permission."""
    paths = sqlite_client.get("/openapi.json").json()["paths"]
    auth = {"401", "403"}
    expected = {
        ("/builds", "get"): {"404", "422", "503"} | auth,
        ("/builds", "post"): {"409", "413", "415", "422", "503"} | auth,
        ("/builds/{id}", "get"): {"404", "422", "503"} | auth,
        ("/builds/{id}", "patch"): {"404", "409", "412", "413", "415", "422", "503"} | auth,
        ("/products/{ref}", "patch"): {"404", "409", "412", "413", "415", "422", "503"} | auth,
        ("/products/{ref}/gates/{to}/reviews", "post"): {"404", "409", "413", "415", "422", "503"}
        | auth,
        ("/audit-events", "get"): {"404", "422", "503"} | auth,
    }
    for (path, method), statuses in expected.items():
        responses = paths[path][method]["responses"]
        assert {s for s in responses if s >= "400"} == statuses, (path, method)
        for status in statuses:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorOut"}
    assert set(paths["/health"]["get"]["responses"]) == {"200", "503"}


def test_every_operation_but_health_needs_a_bearer_token(sqlite_client: TestClient) -> None:
    document = sqlite_client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            permission = operation["x-permission"]
            if (path, method) == ("/health", "get"):
                assert permission == "public"
                assert "security" not in operation
            else:
                assert parse_permission(permission) is not None, (path, method)
                assert operation["security"] == [{"bearerAuth": []}], (path, method)


def test_record_responses_document_their_etag_and_updates_if_match(
    sqlite_client: TestClient,
) -> None:
    paths = sqlite_client.get("/openapi.json").json()["paths"]
    for collection in COLLECTIONS:
        item = f"{collection.path}/{{{'ref' if collection.find else 'id'}}}"
        for path, method, status in (
            (collection.path, "post", "201"),
            (item, "get", "200"),
            (item, "patch", "200"),
        ):
            assert "ETag" in paths[path][method]["responses"][status]["headers"], (path, method)
        header = [p for p in paths[item]["patch"]["parameters"] if p["in"] == "header"]
        assert "If-Match" in [p["name"] for p in header], item


def test_choices_are_listed(sqlite_client: TestClient) -> None:
    schemas = sqlite_client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["Phase"]["enum"] == ["prototype", "pilot", "production"]
    list_builds = sqlite_client.get("/openapi.json").json()["paths"]["/builds"]["get"]
    names = {p["name"] for p in list_builds["parameters"]}
    assert {"limit", "offset", "q", "product", "product_id", "phase", "status"} <= names
    list_revisions = sqlite_client.get("/openapi.json").json()["paths"]["/revisions"]["get"]
    assert "q" not in {p["name"] for p in list_revisions["parameters"]}  # nothing to search


def test_health(sqlite_client: TestClient) -> None:
    response = sqlite_client.get("/health")
    assert response.status_code == 200
    assert response.json() | {"schema_revision": None, "schema_head": None} == {
        "status": "ok",
        "version": __version__,
        "database": "sqlite",
        "schema_revision": None,
        "schema_head": None,
        "schema_up_to_date": True,
    }


def test_health_without_a_database_is_503() -> None:
    api = create_api()
    api.state.settings = Settings()
    api.state.uow_factory = uow_factory_for(db.make_engine("postgresql://nobody@127.0.0.1:1/x"))
    response = TestClient(api).get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["database"] == "postgresql"


def test_unknown_route_and_method_answer_the_error_shape(sqlite_client: TestClient) -> None:
    assert_error(sqlite_client.get("/no-such-thing"), 404, "not_found")
    response = sqlite_client.delete("/products/1")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


def test_malformed_json_is_422(sqlite_client: TestClient) -> None:
    response = sqlite_client.post(
        "/products", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "invalid_input", "body")


def test_non_numeric_id_is_422(sqlite_client: TestClient) -> None:
    assert_error(sqlite_client.get("/builds/abc"), 422, "invalid_input", "id")


def _validator(document: dict[str, Any], schema: str) -> Draft202012Validator:
    """A validator of one component of the OpenAPI document (its references resolved)."""
    root = {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
    return Draft202012Validator(root)


def test_the_schema_says_required_text_is_not_blank(sqlite_client: TestClient) -> None:
    """`key`, `serial` and the other required strings are non-empty, as the services check."""
    document = sqlite_client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for schema, field in (("ProductCreate", "key"), ("UnitCreate", "serial")):
        shown = schemas[schema]["properties"][field]
        assert shown["minLength"] == 1, (schema, field)
        validator = _validator(document, schema)
        for blank in ("", "   ", "\t\n"):
            body = {"key": blank, "name": "x", "product_id": 1, "build_id": 1, "serial": blank}
            assert not validator.is_valid(body), (schema, blank)
    product = _validator(document, "ProductCreate")
    assert product.is_valid({"key": "K-1", "name": "Kettle"})
    assert not product.is_valid({"key": "K-1", "name": "Kettle", "description": None})
    assert not product.is_valid({"key": "K-1", "name": "a\x00b"})


def test_the_decision_schema_names_no_decider(sqlite_client: TestClient) -> None:
    """The decision is the token's user's: the body cannot name someone else."""
    decision = _validator(sqlite_client.get("/openapi.json").json(), "GateDecisionIn")
    assert decision.is_valid({"outcome": "go"})
    assert decision.is_valid({"outcome": "no_go", "rationale": "fan noise"})
    assert not decision.is_valid({"rationale": "no outcome"})
    assert not decision.is_valid({"outcome": "go", "decided_by": "Q. Lead"})
    action = {"title": "Fan test", "owner": "Ana", "due_on": "2026-03-01"}
    assert decision.is_valid({"outcome": "conditional", "rationale": "x", "actions": [action]})
    assert not decision.is_valid({"outcome": "conditional", "actions": [{**action, "owner": ""}]})
