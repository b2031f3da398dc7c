"""The portfolio page: every product as a card with its phase and key counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, SQLColumnExpression, func, select

from phasegate.domain.enums import Phase, Severity
from phasegate.domain.phases import PHASE_ORDER
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.services.access import authorize, scope_clause, scoped
from phasegate.services.paging import parse_optional_enum
from phasegate.services.read.rows import (
    FeedbackSummary,
    ProductSummary,
    Tally,
    feedback_summaries,
    open_findings_by,
    product_fields,
    revision_sort_key,
    severity_tally,
)
from phasegate.store.models import Build, Feedback, Finding, Product, Revision, Unit
from phasegate.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ProductCard(ProductSummary):
    """A product with the counts its portfolio card shows."""

    revision_count: int
    latest_revision: str | None
    build_count: int
    unit_count: int
    open_findings: Tally[Severity]
    feedback: FeedbackSummary


def portfolio(
    uow: UnitOfWork, *, actor: Principal, phase: Phase | str | None = None
) -> list[ProductCard]:
    """Every product (or those in ``phase``) with its phase and key counts, by key.

    A partner user sees the products it builds, counting only its own builds, their units and
    their findings, and no feedback.
    """
    authorize(actor, Action.READ, Kind.PRODUCT)
    wanted = parse_optional_enum(Phase, "phase", phase)
    with uow:
        stmt = scoped(select(Product).order_by(Product.key), actor, Product)
        if wanted is not None:
            stmt = stmt.where(Product.phase == wanted)
        products = list(uow.session.scalars(stmt))
        return _cards(uow, products, actor) if products else []


def _cards(uow: UnitOfWork, products: Sequence[Product], actor: Principal) -> list[ProductCard]:
    ids = [p.id for p in products]
    codes = _revision_codes(uow, ids)
    builds = _count_per_product(uow, Build.product_id, ids, scope_clause(actor, Build))
    units = _count_per_product(uow, Unit.product_id, ids, scope_clause(actor, Unit))
    in_scope = scope_clause(actor, Finding)
    findings = open_findings_by(
        uow,
        Finding.product_id,
        Finding.product_id.in_(ids) if in_scope is None else Finding.product_id.in_(ids) & in_scope,
    )
    feedback = (
        feedback_summaries(uow, Feedback.product_id, Feedback.product_id.in_(ids))
        if actor.may(Action.READ, Kind.FEEDBACK)
        else {}
    )
    no_findings = severity_tally({})
    return [
        ProductCard(
            **product_fields(p),
            revision_count=len(codes.get(p.id, [])),
            latest_revision=codes[p.id][-1] if codes.get(p.id) else None,
            build_count=builds.get(p.id, 0),
            unit_count=units.get(p.id, 0),
            open_findings=findings.get(p.id, no_findings),
            feedback=feedback.get(p.id, FeedbackSummary.none()),
        )
        for p in products
    ]


def _revision_codes(uow: UnitOfWork, ids: Sequence[int]) -> dict[int, list[str]]:
    """Each product's revision codes in release order."""
    codes: dict[int, list[str]] = {}
    for product_id, code in uow.session.execute(
        select(Revision.product_id, Revision.code).where(Revision.product_id.in_(ids))
    ):
        codes.setdefault(product_id, []).append(code)
    return {pid: sorted(found, key=revision_sort_key) for pid, found in codes.items()}


def _count_per_product(
    uow: UnitOfWork,
    product_id: SQLColumnExpression[int],
    ids: Sequence[int],
    in_scope: ColumnElement[bool] | None,
) -> dict[int, int]:
    stmt = select(product_id, func.count()).where(product_id.in_(ids)).group_by(product_id)
    if in_scope is not None:
        stmt = stmt.where(in_scope)
    return dict(uow.session.execute(stmt).all())


def phase_counts(uow: UnitOfWork, *, actor: Principal) -> Tally[Phase]:
    """How many products (that ``actor`` may see) are in each phase (every phase, in order)."""
    authorize(actor, Action.READ, Kind.PRODUCT)
    with uow:
        stmt = select(Product.phase, func.count()).group_by(Product.phase)
        counts: dict[Phase, int] = dict(uow.session.execute(scoped(stmt, actor, Product)).all())
    return Tally.of(PHASE_ORDER, counts)
