"""One description per record: a model's columns, its ``Resource`` and its API schemas agree.

``disagreements`` compares the three for one record type, each against the columns themselves
(not against the code that derives the schemas): every column is settable, read-only or a system
column; the Resource names only columns; each schema has exactly the fields it should, typed,
limited and described as the column says. The last tests break each part on purpose and show
that the check notices.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from pydantic import BaseModel, create_model
from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Float, Integer, String, Text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.types import TypeDecorator

from phasegate.api import schemas
from phasegate.api.app import create_api
from phasegate.api.resources import COLLECTIONS, Collection
from phasegate.api.types import NO_NUL, NOT_BLANK
from phasegate.services import builds, phases, products
from phasegate.services.crud import SYSTEM_COLUMNS, TEXT_MAX_LENGTH, Resource

RECORD_TYPES = [c.resource for c in COLLECTIONS]
MAX_INT = 2**31 - 1


def disagreements(
    resource: Resource[Any],
    create: type[BaseModel],
    update: type[BaseModel],
    out: type[BaseModel],
) -> list[str]:
    """Every way the record type's columns, Resource and schemas disagree, in words."""
    columns = {c.name: c for c in resource.model.__table__.columns}
    return (
        _resource_problems(resource, columns)
        + _input_problems(resource, columns, create, resource.fields, resource.required)
        + _input_problems(resource, columns, update, resource.updatable, ())
        + _output_problems(resource, columns, out)
    )


def _resource_problems(resource: Resource[Any], columns: dict[str, Column[Any]]) -> list[str]:
    where = resource.model.__tablename__
    settable, read_only = set(resource.fields), set(resource.read_only)
    system = set(SYSTEM_COLUMNS) & set(columns)
    problems = [
        f"{where}.{name} is neither settable, read-only nor a system column"
        for name in columns
        if name not in settable | read_only | system
    ]
    problems += [f"{where}.{name} is settable and read-only" for name in settable & read_only]
    problems += [f"{where}.{name} is a system column" for name in (settable | read_only) & system]
    named = [
        *resource.fields,
        *resource.immutable,
        *resource.read_only,
        *resource.choices,
        *resource.references,
        *resource.filters,
        *resource.search,
        *resource.order_by,
        *(name for key in resource.unique for name in key),
    ]
    problems += [
        f"{where} names {name!r}, which is no column" for name in named if name not in columns
    ]
    problems += [
        f"{where}.{name} is immutable but not settable"
        for name in resource.immutable
        if name not in settable
    ]
    problems += [
        f"{where}.{c.name} is computed and a column" for c in resource.computed if c.name in columns
    ]
    return problems + _reference_problems(resource, columns)


def _reference_problems(resource: Resource[Any], columns: dict[str, Column[Any]]) -> list[str]:
    """Each settable foreign key is a checked reference to the table it points at."""
    where = resource.model.__tablename__
    problems = []
    for name in resource.fields:
        column = columns.get(name)
        if column is None or not column.foreign_keys:
            continue
        target = resource.references.get(name)
        pointed = {fk.column.table.name for fk in column.foreign_keys}
        if target is None or {target.__tablename__} != pointed:
            problems.append(f"{where}.{name} points at {pointed} but references {target}")
    return problems


def _input_problems(
    resource: Resource[Any],
    columns: dict[str, Column[Any]],
    schema: type[BaseModel],
    fields: tuple[str, ...],
    required: tuple[str, ...],
) -> list[str]:
    json_schema = schema.model_json_schema(mode="validation")
    properties = json_schema["properties"]
    problems = _field_set_problems(schema, set(properties), set(fields))
    if sorted(json_schema.get("required", [])) != sorted(required):
        problems.append(f"{schema.__name__} requires {json_schema.get('required')}, not {required}")
    for name in set(properties) & set(fields) & set(columns):
        column = columns[name]
        value, nullable = _resolve(properties[name], json_schema)
        limits = _expected_limits(column, required=name in required)
        expected = _expected_json(column, resource) | limits
        problems += _type_problems(schema, name, value, expected)
        # Null is taken where the column holds it; elsewhere a left-out field gets the default.
        if nullable != (name not in required and bool(column.nullable)):
            problems.append(f"{schema.__name__}.{name} nullable={nullable}, required={required}")
        problems += _doc_problems(schema, name, properties[name], column.doc)
    return problems


def _output_problems(
    resource: Resource[Any], columns: dict[str, Column[Any]], schema: type[BaseModel]
) -> list[str]:
    json_schema = schema.model_json_schema(mode="serialization")
    properties = json_schema["properties"]
    computed = {c.name: c for c in resource.computed}
    problems = _field_set_problems(schema, set(properties), set(columns) | set(computed))
    for name in set(properties) & set(columns):
        column = columns[name]
        value, nullable = _resolve(properties[name], json_schema)
        problems += _type_problems(schema, name, value, _expected_json(column, resource))
        if nullable != bool(column.nullable):
            problems.append(
                f"{schema.__name__}.{name} nullable={nullable}, column={column.nullable}"
            )
        problems += _doc_problems(schema, name, properties[name], column.doc)
    for name in set(properties) & set(computed):
        problems += _doc_problems(schema, name, properties[name], computed[name].doc)
    return problems


def _field_set_problems(schema: type[BaseModel], given: set[str], expected: set[str]) -> list[str]:
    name = schema.__name__
    return [
        f"{name}.{field} has no column, nor is it a declared extra" for field in given - expected
    ] + [f"{name} lacks {field}" for field in expected - given]


def _type_problems(
    schema: type[BaseModel], name: str, value: dict[str, Any], expected: dict[str, Any]
) -> list[str]:
    wrong = {k: value.get(k) for k, v in expected.items() if not _matches(value.get(k), v)}
    return [f"{schema.__name__}.{name} has {wrong}, the column says {expected}"] if wrong else []


def _matches(value: Any, expected: Any) -> bool:
    """``value`` is ``expected``, or for a JSON schema has at least its keys and values."""
    if isinstance(expected, dict):
        return isinstance(value, dict) and all(
            _matches(value.get(k), v) for k, v in expected.items()
        )
    return bool(value == expected)


def _doc_problems(
    schema: type[BaseModel], name: str, prop: dict[str, Any], doc: str | None
) -> list[str]:
    if prop.get("description") != doc:
        return [f"{schema.__name__}.{name} is described {prop.get('description')!r}, not {doc!r}"]
    return []


def _resolve(prop: dict[str, Any], json_schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The JSON schema of a property's value with references resolved, and whether null is ok."""
    variants = prop.get("anyOf", [prop])
    nullable = {"type": "null"} in variants
    (value,) = [v for v in variants if v != {"type": "null"}]
    return _deref(value, json_schema), nullable


def _deref(value: dict[str, Any], json_schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in value:
        return dict(json_schema["$defs"][value["$ref"].rsplit("/", 1)[-1]])
    if "items" in value:
        return value | {"items": _deref(value["items"], json_schema)}
    return value


def _expected_json(column: Column[Any], resource: Resource[Any]) -> dict[str, Any]:
    """The JSON schema the column's type calls for."""
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, SAEnum) and kind.enum_class is not None:
        return {"type": "string", "enum": [m.value for m in kind.enum_class]}
    if isinstance(kind, JSON):
        choices = resource.choices.get(column.name)
        items = {"type": "string"} | ({"enum": [m.value for m in choices]} if choices else {})
        return {"type": "array", "items": items}
    if isinstance(kind, DateTime):
        return {"type": "string", "format": "date-time"}
    if isinstance(kind, Date):
        return {"type": "string", "format": "date"}
    for sql_type, json_type in ((Boolean, "boolean"), (Float, "number"), (Integer, "integer")):
        if isinstance(kind, sql_type):
            return {"type": json_type}
    assert isinstance(kind, String), kind
    return {"type": "string"}


def _expected_limits(column: Column[Any], *, required: bool) -> dict[str, Any]:
    """The limits a request must keep to: a record id, a 32-bit integer, or text within the
    column's length (10,000 characters for Text), without NUL characters, not blank if required."""
    if column.foreign_keys:
        return {"minimum": 1, "maximum": MAX_INT}
    if isinstance(column.type, Integer):
        return {"minimum": -(2**31), "maximum": MAX_INT}
    if not isinstance(column.type, String) or isinstance(column.type, SAEnum):
        return {}
    length = column.type.length or (TEXT_MAX_LENGTH if isinstance(column.type, Text) else None)
    if required:
        return {"maxLength": length, "minLength": 1, "pattern": NOT_BLANK}
    return {"maxLength": length, "pattern": NO_NUL}


@pytest.mark.parametrize("resource", RECORD_TYPES, ids=lambda r: r.name)
def test_columns_resource_and_schemas_agree(resource: Resource[Any]) -> None:
    derived = schemas.record_schemas(resource)
    assert disagreements(resource, derived.create, derived.update, derived.out) == []


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The OpenAPI document of the API."""
    return create_api().openapi()


@pytest.mark.parametrize("collection", COLLECTIONS, ids=lambda c: c.singular)
def test_routes_use_the_derived_schemas_under_their_names(
    document: dict[str, Any], collection: Collection
) -> None:
    thing = collection.resource.name.title().replace(" ", "")
    path = document["paths"][collection.path]
    item = document["paths"][f"{collection.path}/{{{'ref' if collection.find else 'id'}}}"]

    def body(operation: dict[str, Any]) -> str:
        ref: str = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return ref.rsplit("/", 1)[-1]

    def answer(operation: dict[str, Any], status: str) -> str:
        ref: str = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        return ref.rsplit("/", 1)[-1]

    assert body(path["post"]) == f"{thing}Create" == collection.create.__name__
    assert body(item["patch"]) == f"{thing}Update" == collection.update.__name__
    assert answer(path["post"], "201") == answer(item["get"], "200") == f"{thing}Out"
    assert answer(item["patch"], "200") == f"{thing}Out" == collection.out.__name__


def test_gate_decisions_are_shown_as_their_columns(document: dict[str, Any]) -> None:
    """Only a service writes gate decisions: their Out schema alone derives from the columns."""
    resource = phases.GATE_DECISIONS
    columns = {c.name: c for c in resource.model.__table__.columns}
    out = schemas.GateDecisionOut
    assert _resource_problems(resource, columns) + _output_problems(resource, columns, out) == []
    assert out.__name__ == "GateDecisionOut"
    path = document["paths"]["/products/{ref}/gate-decisions"]
    listed = path["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["items"]["$ref"] == "#/components/schemas/GateDecisionOut"
    assert "post" not in path  # decisions are taken through gate reviews


def test_computed_values_are_shown() -> None:
    out = schemas.record_schemas(products.REQUIREMENTS).out
    stamp = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    record = products.REQUIREMENTS.model(
        id=1, product_id=1, key="R-1", title="t", description="", priority="must",
        source="customer", status="proposed", rice_reach=10.0, rice_impact=2.0,
        rice_confidence=0.5, rice_effort=4.0, created_at=stamp, updated_at=stamp, version=1,
    )  # fmt: skip
    shown = out.from_record(record).model_dump()
    assert shown["rice_score"] == pytest.approx(2.5)  # 10 x 2 x 0.5 / 4
    assert shown["rice_effort"] == 4.0


# --- the check notices each kind of disagreement ----------------------------------------------


def _problems_of(resource: Resource[Any], **schema_overrides: type[BaseModel]) -> list[str]:
    derived = schemas.record_schemas(resource)
    parts = {"create": derived.create, "update": derived.update, "out": derived.out}
    return disagreements(resource, **(parts | schema_overrides))


def test_a_column_left_out_of_the_resource_is_found() -> None:
    resource = dataclasses.replace(builds.BUILDS, optional=builds.BUILDS.optional[:-1])
    assert "builds.purpose is neither settable, read-only nor a system column" in _problems_of(
        resource
    )


def test_a_resource_field_without_a_column_is_found() -> None:
    resource = dataclasses.replace(builds.LINES, filters=("partner_id", "colour"))
    assert "lines names 'colour', which is no column" in _problems_of(resource)


def test_an_unchecked_reference_is_found() -> None:
    resource = dataclasses.replace(builds.LINES, references={})
    (problem,) = _problems_of(resource)
    assert problem.startswith("lines.partner_id points at {'partners'}")


def test_a_schema_field_without_a_column_is_found() -> None:
    out = create_model("LineOut", __base__=schemas.record_schemas(builds.LINES).out, colour=str)
    assert _problems_of(builds.LINES, out=out) == [
        "LineOut.colour has no column, nor is it a declared extra"
    ]


def test_a_schema_that_types_or_describes_a_field_otherwise_is_found() -> None:
    derived = schemas.record_schemas(builds.STATIONS)
    loose = create_model("StationCreate", __base__=derived.create, sequence=(int, ...))
    problems = _problems_of(builds.STATIONS, create=loose)
    assert any(p.startswith("StationCreate.sequence has {'minimum': None") for p in problems)
    assert any(p.startswith("StationCreate.sequence is described None") for p in problems)
    optional_out = create_model("StationOut", __base__=derived.out, name=(str | None, ...))
    assert _problems_of(builds.STATIONS, out=optional_out) == [
        "StationOut.name nullable=True, column=False"
    ]
