"""The audit trail: every change writes an ``AuditEvent`` with the state before and after."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from typing import Any

from sqlalchemy import inspect

from phasegate.domain.enums import AuditAction
from phasegate.store.models import AuditEvent, Base
from phasegate.store.uow import UnitOfWork

# Columns that never enter the audit trail: the trail is read by many, a hash or a token
# digest by nobody. A change of them is recorded as the field having changed, not its value.
SECRET_COLUMNS = frozenset({"password_hash", "digest"})
HIDDEN = "(hidden)"


def snapshot(obj: Base) -> dict[str, Any]:
    """Column values of a record as JSON-ready data (enums as values, dates as ISO text);
    secrets (``SECRET_COLUMNS``) as a marker that says only whether one is set."""
    state: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        if attr.key in SECRET_COLUMNS:
            value = getattr(obj, attr.key)
            state[attr.key] = None if value is None else f"{HIDDEN} {_fingerprint(value)}"
            continue
        value = getattr(obj, attr.key)
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, dt.datetime | dt.date):
            value = value.isoformat()
        state[attr.key] = value
    return state


def _fingerprint(secret: str) -> str:
    """A short digest that changes when the secret does (so a changed password shows as a
    change), from which nothing about the secret can be learnt."""
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


def entity_type(obj: Base) -> str:
    return str(obj.__tablename__)


def product_of(obj: Base) -> int | None:
    from phasegate.store.models import Product

    if isinstance(obj, Product):
        return obj.id
    return getattr(obj, "product_id", None)


def record(
    uow: UnitOfWork,
    *,
    actor: str,
    action: AuditAction,
    obj: Base,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    summary: str = "",
) -> AuditEvent:
    """Add an audit event for ``obj`` to the unit of work (committed with the change)."""
    if before is not None and after is not None:
        changed = {k for k in after if before.get(k) != after.get(k)}
        changed -= {"updated_at", "created_at", "version"}  # bookkeeping, not content
        before = {k: before[k] for k in sorted(changed)}
        after = {k: after[k] for k in sorted(changed)}
    event = AuditEvent(
        actor=actor,
        action=action,
        entity_type=entity_type(obj),
        entity_id=getattr(obj, "id", None),
        product_id=product_of(obj),
        summary=summary[:400],
        before=before,
        after=after,
    )
    uow.session.add(event)
    return event


def record_event(
    uow: UnitOfWork, *, actor: str, action: AuditAction, entity_type: str, summary: str
) -> AuditEvent:
    """Add an audit event about no stored record (a failed sign-in under an unknown name)."""
    event = AuditEvent(
        actor=actor[:120],
        action=action,
        entity_type=entity_type,
        entity_id=None,
        product_id=None,
        summary=summary[:400],
        before=None,
        after=None,
    )
    uow.session.add(event)
    return event
