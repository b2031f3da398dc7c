"""Request and response bodies of the API.

Per record type: ``<Thing>Create`` (what a POST takes), ``<Thing>Update`` (what a PATCH takes,
every field optional) and ``<Thing>Out`` (what is returned), derived by ``record_schemas`` from
the type's ``Resource`` (which fields may be set, changed, only read, or are computed) and its
model's columns (types, lengths, nullability and the ``doc`` that describes each field). Input
models forbid unknown fields, so a misspelt or read-only field (``id``, a product's ``phase``) is
a 422 naming it. Choices use the domain enums, so the OpenAPI document lists them. Types are
checked here; the business rules (spec limits, references within one product, ...) are checked
once, in the services. Gate decisions are shown by ``GateDecisionOut``, derived the same way from
``phases.GATE_DECISIONS``; the other bodies (errors, recording a gate decision, the audit trail,
health) are written out below.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model

from phasegate.api.types import RecordId, text
from phasegate.domain.enums import AuditAction
from phasegate.services import phases
from phasegate.services.crud import Computed, FieldSpec, Resource


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def from_record(cls, record: Any) -> Self:
        """The response body for one stored record."""
        return cls.model_validate(record)


T = TypeVar("T", bound=BaseModel)


class Page(BaseModel, Generic[T]):
    """One page of a list: ``total`` records match, ``items`` holds those from ``offset`` on."""

    items: list[T]
    total: int
    limit: int
    offset: int

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        return str(params[0].__name__).removesuffix("Out") + "Page"


# --- errors -----------------------------------------------------------------------------------


class FieldErrorOut(BaseModel):
    loc: str = Field(description="The field, dotted for nested fields (e.g. `phases_served.0`).")
    message: str


class ErrorBody(BaseModel):
    type: str = Field(
        description="not_found, invalid_input, conflict, gate_blocked, method_not_allowed, ..."
    )
    message: str
    fields: list[FieldErrorOut] = []


class ErrorOut(BaseModel):
    """The one shape of every error response."""

    error: ErrorBody


# --- records: Create, Update and Out derived from the service's field table -------------------


class RecordOut(Output):
    """A stored record as the API shows it: its columns, and the values computed from them."""

    computed: ClassVar[tuple[Computed, ...]] = ()

    @classmethod
    def from_record(cls, record: Any) -> Self:
        shown = cls.model_validate(record)
        if not cls.computed:
            return shown
        return shown.model_copy(update={c.name: c.compute(record) for c in cls.computed})


@dataclass(frozen=True, slots=True)
class RecordSchemas:
    """The bodies of one record type's routes."""

    create: type[Input]
    update: type[Input]
    out: type[RecordOut]


@functools.cache  # once per record type, so each schema is one OpenAPI component
def record_schemas(resource: Resource[Any]) -> RecordSchemas:
    """``<Thing>Create``, ``<Thing>Update`` and ``<Thing>Out`` of one record type.

    Create takes the settable fields (the required ones required, the others nullable), Update
    the updatable ones, all optional; Out shows every column and the computed values. Types,
    limits and descriptions come from the field specs of the columns.
    """
    specs = [resource.spec(name) for name in resource.columns]
    thing = _thing(resource)
    creatable = {
        spec.name: _input_field(spec, required=spec.name in resource.required)
        for spec in specs
        if spec.name in resource.fields
    }
    updatable = {
        spec.name: _input_field(spec, required=False)
        for spec in specs
        if spec.name in resource.updatable
    }
    return RecordSchemas(
        create=create_model(f"{thing}Create", __base__=Input, **creatable),
        update=create_model(f"{thing}Update", __base__=Input, **updatable),
        out=out_schema(resource),
    )


@functools.cache
def out_schema(resource: Resource[Any]) -> type[RecordOut]:
    """``<Thing>Out``: every column of the record type, and its computed values.

    Alone, for the record types that only a service writes (gate decisions).
    """
    shown = {name: _output_field(resource.spec(name)) for name in resource.columns}
    computed: dict[str, Any] = {
        c.name: (c.type, Field(None, description=c.doc)) for c in resource.computed
    }
    out = create_model(f"{_thing(resource)}Out", __base__=RecordOut, **shown, **computed)
    out.computed = resource.computed
    return out


def _thing(resource: Resource[Any]) -> str:
    return resource.name.title().replace(" ", "")


def input_type(spec: FieldSpec, *, not_blank: bool = False) -> Any:
    """The type a request may give for a field: its value type within the column's limits.

    Text is text a database can store (``types.text``), ``not_blank`` for a required field.
    """
    if spec.reference:
        return RecordId
    if spec.int_bits is not None:
        return Annotated[int, Field(ge=-(2**spec.int_bits), le=2**spec.int_bits - 1)]
    if spec.type is str:
        return text(spec.max_length, not_blank=not_blank)
    if spec.type == list[str]:
        return list[text()]  # type: ignore[misc]
    return spec.type


def _input_field(spec: FieldSpec, *, required: bool) -> Any:
    """A required field, or an optional one that takes null only where the column holds null.

    An optional field shows no default: left out, the record gets the column's default.
    """
    if required:
        return (input_type(spec, not_blank=True), Field(description=spec.doc))
    shown = input_type(spec, not_blank=False) | None if spec.nullable else input_type(spec)
    return (shown, Field(None, description=spec.doc, json_schema_extra=_no_default))


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _output_field(spec: FieldSpec) -> Any:
    shown = spec.type | None if spec.nullable else spec.type
    return (shown, Field(description=spec.doc))


# --- gate decisions, audit trail, health ------------------------------------------------------


GateDecisionOut = out_schema(phases.GATE_DECISIONS)


class AuditEventOut(Output):
    id: int
    occurred_at: dt.datetime
    actor: str
    action: AuditAction
    entity_type: str = Field(description="The table of the record, e.g. builds.")
    entity_id: int | None
    product_id: int | None
    summary: str
    before: dict[str, Any] | None = Field(description="Changed fields before (null on create).")
    after: dict[str, Any] | None


class HealthOut(BaseModel):
    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="ok; degraded when the schema is not current; unavailable without database."
    )
    version: str
    database: str = Field(description="The database backend: sqlite or postgresql.")
    schema_revision: str | None
    schema_head: str | None
    schema_up_to_date: bool
