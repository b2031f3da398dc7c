"""The policy applied: who may act, and which records a partner user can see.

Every service that reads or changes records calls ``authorize`` first, with the principal the
adapter resolved (a session, a token, the CLI's user). A partner user is further scoped to its
partner's builds: ``scope_clause`` gives the condition to add to a query of any record type, and
``require_visible`` answers ``NotFound`` — not ``Forbidden`` — for a record outside the scope, so
an id outside it reveals nothing, not even that it exists.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, select

from phasegate.domain.errors import Forbidden, NotFound
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.store.models import (
    AuditEvent,
    Build,
    Characteristic,
    Defect,
    DefectCode,
    Feedback,
    Finding,
    GateDecision,
    Line,
    Measurement,
    Partner,
    Product,
    Requirement,
    Revision,
    Station,
    StationPass,
    TestRun,
    Unit,
)
from phasegate.store.uow import UnitOfWork

# How a refusal names what was refused: "may not create products", "may not decide gates".
_PLURAL = {Kind.TEST_DATA: "test data", Kind.FEEDBACK: "feedback"}
_WHAT = {Action.DECIDE_GATE: "decide gates", Action.SIGN_OFF: "sign off gate decisions"}


def authorize(actor: Principal, action: Action, kind: Kind) -> None:
    """``Forbidden`` unless the policy table (and the token's scopes) let ``actor`` do this."""
    if not actor.may(action, kind):
        what = _WHAT.get(action) or f"{action.value} {_PLURAL.get(kind, kind.value + 's')}"
        how = "this token's scopes do not" if actor.scopes is not None else "the role does not"
        raise Forbidden(f"{actor.name} ({actor.role.value}) may not {what}: {how} allow it")


def partner_builds(partner_id: int) -> Select[Any]:
    """The ids of the builds assigned to the partner."""
    return select(Build.id).where(Build.partner_id == partner_id)


def partner_units(partner_id: int) -> Select[Any]:
    return select(Unit.id).where(Unit.build_id.in_(partner_builds(partner_id)))


def partner_products(partner_id: int) -> Select[Any]:
    return select(Build.product_id).where(Build.partner_id == partner_id)


def _partner_clause(model: Any, partner_id: int) -> ColumnElement[bool]:
    """What a user of partner ``partner_id`` may see of ``model``'s rows."""
    if model is Build:
        return Build.partner_id == partner_id
    if model is Unit:
        return Unit.build_id.in_(partner_builds(partner_id))
    if model in (StationPass, TestRun, Measurement, Defect):
        return model.unit_id.in_(partner_units(partner_id))  # type: ignore[no-any-return]
    if model is Finding:
        return Finding.build_id.in_(partner_builds(partner_id))
    if model is Product:
        return Product.id.in_(partner_products(partner_id))
    if model in (Revision, Characteristic):
        return model.product_id.in_(partner_products(partner_id))  # type: ignore[no-any-return]
    if model is Partner:
        return Partner.id == partner_id
    if model is Line:
        return Line.partner_id == partner_id
    if model is Station:
        return Station.line_id.in_(select(Line.id).where(Line.partner_id == partner_id))
    # Requirements, feedback, gate decisions, the audit trail and anything new: nothing.
    return false()


# The catalogue of defect codes is shared by everyone who records defects.
UNSCOPED = (DefectCode,)
# Never shown to a partner user (the policy table already refuses it them): said for readers.
NEVER_VISIBLE_TO_PARTNERS = (Requirement, Feedback, GateDecision, AuditEvent)


def scope_clause(actor: Principal, model: Any) -> ColumnElement[bool] | None:
    """The condition a query of ``model`` needs for ``actor``; None when it sees every row."""
    if not actor.scoped or model in UNSCOPED:
        return None
    if actor.partner_id is None:  # a partner user whose partner is not set sees nothing
        return false()
    return _partner_clause(model, actor.partner_id)


S = TypeVar("S", bound="Select[*tuple[Any, ...]]")


def scoped(stmt: S, actor: Principal, model: Any) -> S:
    """``stmt`` narrowed to the rows of ``model`` that ``actor`` may see."""
    clause = scope_clause(actor, model)
    return stmt if clause is None else stmt.where(clause)


def is_visible(uow: UnitOfWork, actor: Principal, model: Any, ident: Any) -> bool:
    """Whether the record of ``model`` with id ``ident`` is inside ``actor``'s scope."""
    clause = scope_clause(actor, model)
    if clause is None:
        return True
    found = uow.session.scalar(select(model.id).where(model.id == ident, clause).limit(1))
    return found is not None


def require_visible(
    uow: UnitOfWork, actor: Principal, obj: Any, *, label: str, ident: Any = None
) -> None:
    """``NotFound`` for a record outside ``actor``'s scope, worded as for one that is not there."""
    shown = obj.id if ident is None else ident
    if not is_visible(uow, actor, type(obj), obj.id):
        raise NotFound(f"{label} {shown} does not exist")


def read(uow: UnitOfWork, actor: Principal, kind: Kind, obj: Any, *, label: str) -> None:
    """The checks before showing one record: the role may read its kind, and it is in scope."""
    authorize(actor, Action.READ, kind)
    require_visible(uow, actor, obj, label=label)
