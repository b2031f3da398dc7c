"""Create, read, update and list for every record type, in one shape.

Each record type is described once by a ``Resource``: which fields may be set, which are
required, which references must exist (and belong to the same product), which keys are unique,
and any further business rule. Input values are coerced from the column types, so the CLI, the
API and the demo get the same validation and the same error messages; every change is audited.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, Boolean, Date, Float, Integer, String, Text, func, or_, select
from sqlalchemy import Enum as SAEnum
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import JSON

from phasegate.domain.enums import AuditAction
from phasegate.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from phasegate.services import audit
from phasegate.store.models import Base
from phasegate.store.uow import UnitOfWork

M = TypeVar("M", bound=Base)

MAX_PAGE = 500


@dataclass(frozen=True)
class Resource(Generic[M]):
    name: str
    model: type[M]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    immutable: tuple[str, ...] = ()  # settable at creation only
    references: Mapping[str, type[Base]] = field(default_factory=dict)
    unique: tuple[tuple[str, ...], ...] = ()
    filters: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    order_by: tuple[str, ...] = ("id",)
    check: Callable[[UnitOfWork, M], list[FieldError]] | None = None
    describe: Callable[[M], str] = field(default=lambda obj: f"#{obj.id}")

    @property
    def fields(self) -> tuple[str, ...]:
        return self.required + self.optional

    @property
    def updatable(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if f not in self.immutable)


@dataclass(frozen=True, slots=True)
class Page(Generic[M]):
    items: list[M]
    total: int
    limit: int
    offset: int


def coerce(resource: Resource[Any], name: str, value: Any) -> Any:
    """Convert ``value`` to the type of column ``name``; ``InvalidInput`` says why not."""
    column = resource.model.__table__.columns[name]
    if value is None or (isinstance(value, str) and value == "" and column.nullable):
        if not column.nullable:
            raise _bad(name, "is required")
        return None
    kind = column.type
    try:
        if isinstance(kind, SAEnum) and kind.enum_class is not None:
            if isinstance(value, kind.enum_class):
                return value
            try:
                return kind.enum_class(str(value).strip().lower())
            except ValueError:
                allowed = ", ".join(m.value for m in kind.enum_class)
                raise _bad(name, f"{value!r} is not one of: {allowed}") from None
        if isinstance(kind, Boolean):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "yes", "1", "y", "on"):
                return True
            if text in ("false", "no", "0", "n", "off"):
                return False
            raise _bad(name, f"{value!r} is not a yes/no value")
        if isinstance(kind, Float):
            if isinstance(value, bool):
                raise _bad(name, f"{value!r} is not a number")
            number = float(value)
            if not math.isfinite(number):
                raise _bad(name, f"{value!r} is not a finite number")
            return number
        if isinstance(kind, Integer):
            if isinstance(value, bool):
                raise _bad(name, f"{value!r} is not a whole number")
            if isinstance(value, float) and not value.is_integer():
                raise _bad(name, f"{value!r} is not a whole number")
            whole = int(value)
            bits = 63 if isinstance(kind, BigInteger) else 31
            if not -(2**bits) <= whole < 2**bits:
                raise _bad(name, f"{whole} is too large to store")
            return whole
        if isinstance(kind, Date):
            if isinstance(value, dt.datetime):
                return value.date()
            if isinstance(value, dt.date):
                return value
            return dt.date.fromisoformat(str(value).strip())
        if isinstance(kind, JSON):
            if isinstance(value, str):
                return [part.strip() for part in value.split(",") if part.strip()]
            if not isinstance(value, list | tuple):
                raise _bad(name, f"{value!r} is not a list")
            return [str(v) for v in value]
        if isinstance(kind, String | Text):
            text = str(value).strip() if not isinstance(value, enum.Enum) else value.value
            length = getattr(kind, "length", None)
            if length is not None and len(text) > length:
                raise _bad(name, f"is {len(text)} characters long; at most {length} allowed")
            if not text and not column.nullable and name in resource.required:
                raise _bad(name, "must not be empty")
            return text
    except (TypeError, ValueError) as error:
        if isinstance(error, InvalidInput):
            raise
        raise _bad(name, f"{value!r} is not a valid {type(kind).__name__.lower()}") from None
    return value


def _bad(name: str, message: str) -> InvalidInput:
    return InvalidInput(f"{name}: {message}", [FieldError(name, message)])


def _clean(
    resource: Resource[Any], data: Mapping[str, Any], allowed: Sequence[str]
) -> dict[str, Any]:
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if key not in allowed:
            reason = (
                "cannot be changed after creation"
                if key in resource.fields
                else f"is not a field of {resource.name}"
            )
            errors.append(FieldError(key, reason))
            continue
        try:
            values[key] = coerce(resource, key, raw)
        except InvalidInput as error:
            errors.extend(error.fields)
    if errors:
        raise _combine(resource, errors)
    return values


def _combine(resource: Resource[Any], errors: list[FieldError]) -> InvalidInput:
    detail = "; ".join(f"{e.loc}: {e.message}" for e in errors)
    return InvalidInput(f"invalid {resource.name}: {detail}", errors)


def _validate(uow: UnitOfWork, resource: Resource[M], obj: M) -> None:
    errors: list[FieldError] = []
    for name in resource.required:
        if getattr(obj, name) in (None, ""):
            errors.append(FieldError(name, "is required"))
    for name, target in resource.references.items():
        ref_id = getattr(obj, name)
        if ref_id is None:
            continue
        ref = uow.session.get(target, ref_id)
        if ref is None:
            errors.append(FieldError(name, f"{target.__tablename__} {ref_id} does not exist"))
        elif (
            hasattr(ref, "product_id")
            and hasattr(obj, "product_id")
            and ref.product_id != obj.product_id
        ):
            errors.append(
                FieldError(name, f"{target.__tablename__} {ref_id} belongs to another product")
            )
    if not errors and resource.check is not None:
        errors.extend(resource.check(uow, obj))
    if errors:
        raise _combine(resource, errors)
    for key in resource.unique:
        criteria = {k: getattr(obj, k) for k in key}
        stmt = select(resource.model.id).filter_by(**criteria)  # type: ignore[attr-defined]
        if obj.id is not None:  # type: ignore[attr-defined]
            stmt = stmt.where(resource.model.id != obj.id)  # type: ignore[attr-defined]
        if uow.session.scalar(stmt.limit(1)) is not None:
            shown = ", ".join(f"{k}={v!r}" for k, v in criteria.items() if k != "product_id")
            raise Conflict(
                f"a {resource.name} with {shown} already exists",
                [FieldError(key[-1], "already exists")],
            )


def _flush(uow: UnitOfWork, resource: Resource[Any]) -> None:
    try:
        uow.session.flush()
    except IntegrityError as error:
        uow.session.rollback()
        detail = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise Conflict(f"{resource.name} conflicts with existing data: {detail}") from error


def create(uow: UnitOfWork, resource: Resource[M], data: Mapping[str, Any], *, actor: str) -> M:
    """Validate ``data``, insert the record, audit it and commit."""
    with uow:
        values = _clean(resource, data, resource.fields)
        obj = resource.model(**values)
        _validate(uow, resource, obj)
        uow.session.add(obj)
        _flush(uow, resource)
        audit.record(
            uow,
            actor=actor,
            action=AuditAction.CREATE,
            obj=obj,
            before=None,
            after=audit.snapshot(obj),
            summary=f"created {resource.name} {resource.describe(obj)}",
        )
        uow.commit()
        return obj


def update(
    uow: UnitOfWork, resource: Resource[M], ident: int, data: Mapping[str, Any], *, actor: str
) -> M:
    """Apply a partial update, audit the changed fields and commit."""
    with uow:
        obj = get(uow, resource, ident)
        values = _clean(resource, data, resource.updatable)
        before = audit.snapshot(obj)
        for key, value in values.items():
            setattr(obj, key, value)
        _validate(uow, resource, obj)
        _flush(uow, resource)
        after = audit.snapshot(obj)
        if any(before.get(k) != after.get(k) for k in values):
            audit.record(
                uow,
                actor=actor,
                action=AuditAction.UPDATE,
                obj=obj,
                before=before,
                after=after,
                summary=f"updated {resource.name} {resource.describe(obj)}",
            )
        uow.commit()
        return obj


def get(uow: UnitOfWork, resource: Resource[M], ident: int) -> M:
    with uow:
        obj = uow.session.get(resource.model, ident)
        if obj is None:
            raise NotFound(f"{resource.name} {ident} does not exist")
        return obj


def list_page(
    uow: UnitOfWork,
    resource: Resource[M],
    *,
    filters: Mapping[str, Any] | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[M]:
    """One page of records matching equality ``filters`` and a text search ``q``."""
    if not 1 <= limit <= MAX_PAGE:
        raise _bad("limit", f"{limit} is outside 1..{MAX_PAGE}")
    if offset < 0:
        raise _bad("offset", f"{offset} must not be negative")
    model: Any = resource.model
    stmt = select(model)
    given = {k: v for k, v in (filters or {}).items() if v is not None}
    unknown = [k for k in given if k not in resource.filters]
    if unknown:
        raise _bad(unknown[0], f"cannot filter {resource.name} by {unknown[0]}")
    for key, raw in given.items():
        stmt = stmt.where(getattr(model, key) == coerce(resource, key, raw))
    if q:
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(*(func.lower(getattr(model, c)).like(pattern) for c in resource.search))
        )
    with uow:
        total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        order = [getattr(model, c) for c in resource.order_by]
        items = list(uow.session.scalars(stmt.order_by(*order).limit(limit).offset(offset)))
        return Page(items=items, total=total, limit=limit, offset=offset)
