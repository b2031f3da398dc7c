"""Create, read, update and list for every record type, in one shape.

Each record type is described once by a ``Resource``: which fields may be set, which are
required, which references must exist (and belong to the same product), which keys are unique,
and any further business rule. Input values are coerced from the column types, so the CLI, the
API and the demo get the same validation and the same error messages; every change is audited.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import GenericAlias
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Date,
    Float,
    Integer,
    String,
    Text,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import JSON

from phasegate.domain.enums import AuditAction
from phasegate.domain.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    invalid,
)
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.domain.text import unstorable_reason
from phasegate.services import audit
from phasegate.services.access import authorize, is_visible, require_visible, scoped
from phasegate.services.paging import Page, check_page, parse_enum
from phasegate.store.models import Base
from phasegate.store.search import contains_text
from phasegate.store.uow import UnitOfWork

M = TypeVar("M", bound=Base)


# The longest text a ``Text`` column takes (its type sets no length of its own).
TEXT_MAX_LENGTH = 10_000

# Columns every record may have that no caller sets: the key, the audit timestamps and the
# version every change raises.
SYSTEM_COLUMNS = ("id", "created_at", "updated_at", "version")

# What an identifier may hold: printable ASCII, no spaces (so lower() agrees on every backend).
IDENTIFIER = re.compile(r"[!-~]+")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One column of a record type as callers see it; the API documents and checks fields by it.

    ``type`` is the Python type of the values: ``str``, ``int``, ``float``, ``bool``,
    ``datetime.date``, ``datetime.datetime``, an enum, or a ``list`` of ``str`` or of an enum (a
    JSON list column). ``nullable``: the column may hold null. ``max_length``: the longest text it
    stores; ``int_bits``: whole numbers lie in ``-2**int_bits .. 2**int_bits - 1``;
    ``reference``: the value is the id of another record. ``doc`` is the column's description.
    """

    name: str
    type: Any
    nullable: bool
    doc: str | None = None
    max_length: int | None = None
    int_bits: int | None = None
    reference: bool = False


@dataclass(frozen=True, slots=True)
class Computed:
    """A value shown with every record of a type but stored nowhere.

    ``type`` is the Python type of the value (``float | None``), ``compute`` derives it from the
    record, ``doc`` says what it means; e.g. a requirement's RICE score.
    """

    name: str
    type: Any
    compute: Callable[[Any], Any]
    doc: str


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per record type
class Resource(Generic[M]):
    """What callers may do with each column of one record type: the one table of the type.

    The model's columns give the types, the ``doc`` of each column its description; this table
    says, by column name:

    - ``required``, ``optional``: settable at creation, the required ones must be given;
    - ``immutable``: of those, the ones that cannot change after creation;
    - ``read_only``: shown but set only by a service (a product's phase, by a gate decision);
      the ``SYSTEM_COLUMNS`` are read-only without saying so;
    - ``computed``: values shown beside the columns, derived from the record;
    - ``choices``: the enum the items of a JSON list column come from;
    - ``references``: foreign keys that must name an existing record (of the same product);
    - ``unique``: keys no two records share; ``filters``, ``search``, ``order_by``: how lists
      are filtered, searched and sorted;
    - ``identifiers``: the text columns people name a record by (a key, a code, a serial):
      printable ASCII without spaces, unique, filtered and looked up whatever their case;
    - ``check``: further business rules, run when every field is valid on its own.

    Every column is settable, read-only or a system column. The API derives its Create, Update
    and Out schemas from this table, so a new field touches the model, its migration and this.
    """

    name: str
    model: type[M]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    immutable: tuple[str, ...] = ()
    read_only: tuple[str, ...] = ()
    computed: tuple[Computed, ...] = ()
    choices: Mapping[str, type[enum.Enum]] = field(default_factory=dict)
    references: Mapping[str, type[Base]] = field(default_factory=dict)
    unique: tuple[tuple[str, ...], ...] = ()
    identifiers: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    order_by: tuple[str, ...] = ("id",)
    check: Callable[[UnitOfWork, M], list[FieldError]] | None = None
    describe: Callable[[M], str] = field(default=lambda obj: f"#{obj.id}")

    @property
    def kind(self) -> Kind:
        """The kind of record the policy table names this type by."""
        return Kind(self.name)

    @property
    def fields(self) -> tuple[str, ...]:
        """The settable columns."""
        return self.required + self.optional

    @property
    def updatable(self) -> tuple[str, ...]:
        """The columns an update may change."""
        return tuple(f for f in self.fields if f not in self.immutable)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column of the model, in table order."""
        return tuple(self.model.__table__.columns.keys())

    def spec(self, name: str) -> FieldSpec:
        """What column ``name`` holds, from the model's column and ``choices``."""
        column = self.model.__table__.columns[name]
        kind = column.type
        if isinstance(kind, JSON):
            item = self.choices.get(name, str)
            value_type: Any = GenericAlias(list, (item,))  # list[item]
        else:
            value_type = kind.python_type
        length = _text_length(kind)
        return FieldSpec(
            name=name,
            type=value_type,
            nullable=bool(column.nullable),
            doc=column.doc,
            max_length=length if value_type is str else None,
            int_bits=_int_bits(kind),
            reference=bool(column.foreign_keys),
        )


def _text_length(kind: Any) -> int | None:
    """The most characters a text column takes: its length, ``TEXT_MAX_LENGTH`` for ``Text``."""
    length: int | None = getattr(kind, "length", None)
    if length is None and isinstance(kind, Text):
        return TEXT_MAX_LENGTH
    return length


def _int_bits(kind: Any) -> int | None:
    """Bits of a whole-number column (sign excluded): PostgreSQL's INTEGER or BIGINT."""
    if isinstance(kind, BigInteger):
        return 63
    return 31 if isinstance(kind, Integer) else None


def coerce(resource: Resource[Any], name: str, value: Any) -> Any:
    """Convert ``value`` to the type of column ``name``; ``InvalidInput`` says why not."""
    column = resource.model.__table__.columns[name]
    if value is None or (isinstance(value, str) and value == "" and column.nullable):
        if not column.nullable:
            raise invalid(name, "is required")
        return None
    try:
        return _convert(resource, column, value)
    except InvalidInput:
        raise
    except (TypeError, ValueError):
        kind = type(column.type).__name__.lower()
        raise invalid(name, f"{value!r} is not a valid {kind}") from None


def _convert(resource: Resource[Any], column: Column[Any], value: Any) -> Any:
    name, kind = column.name, column.type
    # Enum before String: an Enum column is a String.
    if isinstance(kind, SAEnum) and kind.enum_class is not None:
        return parse_enum(kind.enum_class, name, value)
    if isinstance(kind, Boolean):
        return _to_bool(name, value)
    if isinstance(kind, Float):
        return _to_float(name, value)
    bits = _int_bits(kind)
    if bits is not None:
        return _to_int(name, value, bits=bits)
    if isinstance(kind, Date):
        return _to_date(value)
    if isinstance(kind, JSON):
        return _to_list(name, value, resource.choices.get(name))
    if isinstance(kind, String | Text):
        text = _to_text(name, value, _text_length(kind))
        if not text and not column.nullable and name in resource.required:
            raise invalid(name, "must not be empty")
        if text and name in resource.identifiers and not IDENTIFIER.fullmatch(text):
            raise invalid(name, f"{text!r} may hold only printable ASCII characters, no spaces")
        return text
    return value


def _to_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "y", "on"):
        return True
    if text in ("false", "no", "0", "n", "off"):
        return False
    raise invalid(name, f"{value!r} is not a yes/no value")


def _to_float(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise invalid(name, f"{value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise invalid(name, f"{value!r} is not a finite number")
    return number


def _to_int(name: str, value: Any, *, bits: int) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise invalid(name, f"{value!r} is not a whole number")
    whole = int(value)
    if not -(2**bits) <= whole < 2**bits:
        raise invalid(name, f"{whole} is too large to store")
    return whole


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def _to_list(name: str, value: Any, choices: type[enum.Enum] | None) -> list[str]:
    """A list of strings from a list or comma-separated text; items of ``choices`` if given."""
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple):
        items = [str(v) if not isinstance(v, enum.Enum) else v.value for v in value]
    else:
        raise invalid(name, f"{value!r} is not a list")
    if choices is None:
        return items
    return [parse_enum(choices, name, item).value for item in items]


def _to_text(name: str, value: Any, length: int | None) -> str:
    text = str(value).strip() if not isinstance(value, enum.Enum) else value.value
    reason = unstorable_reason(text)
    if reason is not None:
        raise invalid(name, reason)
    if length is not None and len(text) > length:
        raise invalid(name, f"is {len(text)} characters long; at most {length} allowed")
    return text


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


def _validate(uow: UnitOfWork, resource: Resource[M], obj: M, actor: Principal) -> None:
    """Required fields, references and business rules (``InvalidInput``), then unique keys."""
    errors = [
        FieldError(n, "is required") for n in resource.required if getattr(obj, n) in (None, "")
    ]
    errors += _reference_errors(uow, resource, obj, actor)
    if not errors and resource.check is not None:
        errors.extend(resource.check(uow, obj))
    if errors:
        raise _combine(resource, errors)
    for key in resource.unique:
        _check_unique(uow, resource, obj, key)


def _reference_errors(
    uow: UnitOfWork, resource: Resource[M], obj: M, actor: Principal
) -> list[FieldError]:
    """Each reference names an existing record the actor can see, of the same product where
    both have one. A record outside a partner user's scope is answered as not existing."""
    errors = []
    for name, target in resource.references.items():
        ref_id = getattr(obj, name)
        if ref_id is None:
            continue
        ref = uow.session.get(target, ref_id)
        if ref is None or not is_visible(uow, actor, target, ref_id):
            errors.append(FieldError(name, f"{target.__tablename__} {ref_id} does not exist"))
        elif _of_another_product(ref, obj):
            errors.append(
                FieldError(name, f"{target.__tablename__} {ref_id} belongs to another product")
            )
    return errors


def _of_another_product(ref: Any, obj: Any) -> bool:
    """Both records belong to a product, and not to the same one."""
    both = hasattr(ref, "product_id") and hasattr(obj, "product_id")
    return both and bool(ref.product_id != obj.product_id)


def _check_unique(uow: UnitOfWork, resource: Resource[M], obj: M, key: tuple[str, ...]) -> None:
    """``Conflict`` when another record has the same values of ``key`` (naming the one stored)."""
    model: Any = resource.model
    stmt = select(model).where(*(_equals(resource, k, getattr(obj, k)) for k in key))
    if obj.id is not None:  # type: ignore[attr-defined]
        stmt = stmt.where(model.id != obj.id)  # type: ignore[attr-defined]
    other = uow.session.scalar(stmt.limit(1))
    if other is not None:
        shown = ", ".join(f"{k}={getattr(other, k)!r}" for k in key if k != "product_id")
        raise Conflict(
            f"a {resource.name} with {shown} already exists",
            [FieldError(key[-1], "already exists")],
        )


def _equals(resource: Resource[Any], name: str, value: Any) -> ColumnElement[bool]:
    """Column ``name`` holds ``value``; identifiers whatever their case."""
    column = getattr(resource.model, name)
    if name in resource.identifiers and value is not None:
        return func.lower(column) == func.lower(value)
    return column == value  # type: ignore[no-any-return]


def _flush(uow: UnitOfWork, resource: Resource[Any]) -> None:
    try:
        uow.session.flush()
    except IntegrityError as error:
        uow.session.rollback()
        detail = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise Conflict(f"{resource.name} conflicts with existing data: {detail}") from error
    except StaleDataError as error:  # another writer changed the version read meanwhile
        uow.session.rollback()
        raise Conflict(f"the {resource.name} was changed meanwhile; read it again") from error


def create(
    uow: UnitOfWork, resource: Resource[M], data: Mapping[str, Any], *, actor: Principal
) -> M:
    """Validate ``data``, insert the record (at version 1), audit it and commit."""
    authorize(actor, Action.CREATE, resource.kind)
    with uow.write():
        values = _clean(resource, data, resource.fields)
        obj = resource.model(**values)
        _validate(uow, resource, obj, actor)
        uow.session.add(obj)
        _flush(uow, resource)
        audit.record(
            uow,
            actor=actor.name,
            action=AuditAction.CREATE,
            obj=obj,
            before=None,
            after=audit.snapshot(obj),
            summary=f"created {resource.name} {resource.describe(obj)}",
        )
        uow.commit()
        return obj


def update(
    uow: UnitOfWork,
    resource: Resource[M],
    ident: int,
    data: Mapping[str, Any],
    *,
    actor: Principal,
    expected_version: int | None = None,
) -> M:
    """Apply a partial update, audit the changed fields and commit; a change raises the version.

    The record is read under the write lock (``UnitOfWork.write``, ``get(lock=True)``), so
    concurrent updates apply one after the other and each audit event's ``before`` is the state
    its change was applied to. With ``expected_version``, a record at another version is left
    as it is: ``PreconditionFailed``. A record outside a partner user's scope is ``NotFound``.
    """
    authorize(actor, Action.UPDATE, resource.kind)
    with uow.write():
        obj = uow.get(resource.model, ident, label=resource.name, lock=True)
        require_visible(uow, actor, obj, label=resource.name)
        values = _clean(resource, data, resource.updatable)
        _check_version(resource, obj, expected_version)
        before = audit.snapshot(obj)
        # Nothing is written before every check has passed: a query of the checks would
        # otherwise flush the new values first, and the database refuse them.
        with uow.session.no_autoflush:
            for key, value in values.items():
                setattr(obj, key, value)
            _validate(uow, resource, obj, actor)
        _flush(uow, resource)
        after = audit.snapshot(obj)
        if any(before.get(k) != after.get(k) for k in values):
            audit.record(
                uow,
                actor=actor.name,
                action=AuditAction.UPDATE,
                obj=obj,
                before=before,
                after=after,
                summary=f"updated {resource.name} {resource.describe(obj)}",
            )
        uow.commit()
        return obj


def _check_version(resource: Resource[Any], obj: Any, expected: int | None) -> None:
    if expected is not None and obj.version != expected:
        raise PreconditionFailed(
            f"{resource.name} {obj.id} is at version {obj.version}, not {expected}; "
            "it was changed meanwhile",
            [FieldError("expected_version", f"the record is at version {obj.version}")],
        )


def get(uow: UnitOfWork, resource: Resource[M], ident: int, *, actor: Principal) -> M:
    """One record the actor may read; ``NotFound`` when it is not there or outside the scope."""
    authorize(actor, Action.READ, resource.kind)
    with uow:
        obj = uow.session.get(resource.model, ident)
        if obj is None:
            raise NotFound(f"{resource.name} {ident} does not exist")
        require_visible(uow, actor, obj, label=resource.name)
        return obj


def list_page(
    uow: UnitOfWork,
    resource: Resource[M],
    *,
    actor: Principal,
    filters: Mapping[str, Any] | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
    after: str | None = None,
) -> Page[M]:
    """One page of records matching equality ``filters`` and a text search ``q``.

    ``q`` is found literally (``%`` and ``_`` are no wildcards) in any of the ``search``
    columns, whatever the case, the same way on every backend. A partner user sees only the
    records in its scope. ``after`` (a cursor, see ``cursor_of``) starts the page after that
    record in list order, read from an index rather than skipping ``offset`` rows.
    """
    authorize(actor, Action.READ, resource.kind)
    check_page(limit, offset)
    model: Any = resource.model
    stmt = scoped(select(model), actor, model)
    given = {k: v for k, v in (filters or {}).items() if v is not None}
    unknown = [k for k in given if k not in resource.filters]
    if unknown:
        raise invalid(unknown[0], f"cannot filter {resource.name} by {unknown[0]}")
    for key, raw in given.items():
        stmt = stmt.where(_equals(resource, key, coerce(resource, key, raw)))
    if q:
        needle = q.strip()
        stmt = stmt.where(or_(*(contains_text(getattr(model, c), needle) for c in resource.search)))
    keys = [getattr(model, c) for c in list_keys(resource)]
    with uow:
        total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        if after is not None:
            if offset:
                raise invalid("after", "cannot be given with offset")
            stmt = stmt.where(tuple_(*keys) > tuple_(*_cursor_values(resource, after)))
        items = tuple(uow.session.scalars(stmt.order_by(*keys).limit(limit).offset(offset)))
        return Page(items=items, total=total, limit=limit, offset=offset)


def list_keys(resource: Resource[Any]) -> tuple[str, ...]:
    """The columns a list is ordered by: ``order_by``, then the id unless ``order_by`` is
    already unique, so every record has one place and a cursor names it."""
    order = resource.order_by
    return order if order[-1] == "id" or order in resource.unique else (*order, "id")


def cursor_of(resource: Resource[M], record: M) -> str:
    """The cursor of the page after ``record``: its list keys, as URL-safe text."""
    values = [getattr(record, c) for c in list_keys(resource)]
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_values(resource: Resource[Any], cursor: str) -> list[Any]:
    """The list keys a cursor holds, each of its column's type; ``InvalidInput`` for ``after``
    when the text is not a cursor of this list."""
    model: Any = resource.model
    keys = list_keys(resource)
    refused = invalid("after", f"is not a cursor of the {resource.name} list")
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise refused from None
    if not isinstance(values, list) or len(values) != len(keys):
        raise refused
    for name, value in zip(keys, values, strict=True):
        column = model.__table__.c[name]
        if column.nullable or not _cursor_value_fits(column.type.python_type, value):
            raise refused
    return values


def _cursor_value_fits(kind: type, value: object) -> bool:
    """An integer key within 64 bits, or a text key either database can store."""
    if kind is int:
        return type(value) is int and 0 <= value < 2**63
    if kind is str:
        return isinstance(value, str) and unstorable_reason(value) is None
    return False
