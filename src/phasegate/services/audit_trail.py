"""Reading the audit trail: who changed what, newest first."""

from __future__ import annotations

from sqlalchemy import func, select

from phasegate.domain.enums import AuditAction
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.services.access import authorize
from phasegate.services.paging import Page, check_page, parse_enum
from phasegate.store.models import AuditEvent
from phasegate.store.uow import UnitOfWork


def list_events(
    uow: UnitOfWork,
    *,
    actor: Principal,
    entity_type: str | None = None,
    entity_id: int | None = None,
    product_id: int | None = None,
    action: AuditAction | str | None = None,
    by: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[AuditEvent]:
    """One page of audit events matching every filter given (``by``: who acted), newest first."""
    authorize(actor, Action.READ, Kind.AUDIT_EVENT)
    check_page(limit, offset)
    stmt = select(AuditEvent)
    if entity_type is not None:
        stmt = stmt.where(AuditEvent.entity_type == entity_type)
    if entity_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if product_id is not None:
        stmt = stmt.where(AuditEvent.product_id == product_id)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == parse_enum(AuditAction, "action", action))
    if by is not None:
        stmt = stmt.where(AuditEvent.actor == by)
    with uow:
        total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        newest_first = stmt.order_by(AuditEvent.id.desc()).limit(limit).offset(offset)
        items = tuple(uow.session.scalars(newest_first))
        return Page(items=items, total=total, limit=limit, offset=offset)
