"""The portfolio page: every product as a card with its phase and key counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import SQLColumnExpression, func, select

from phasegate.domain.enums import Phase, Severity
from phasegate.domain.phases import PHASE_ORDER
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


def portfolio(uow: UnitOfWork, *, phase: Phase | str | None = None) -> list[ProductCard]:
    """Every product (or those in ``phase``) with its phase and key counts, by key."""
    wanted = parse_optional_enum(Phase, "phase", phase)
    with uow:
        stmt = select(Product).order_by(Product.key)
        if wanted is not None:
            stmt = stmt.where(Product.phase == wanted)
        products = list(uow.session.scalars(stmt))
        return _cards(uow, products) if products else []


def _cards(uow: UnitOfWork, products: Sequence[Product]) -> list[ProductCard]:
    ids = [p.id for p in products]
    codes = _revision_codes(uow, ids)
    builds = _count_per_product(uow, Build.product_id, ids)
    units = _count_per_product(uow, Unit.product_id, ids)
    findings = open_findings_by(uow, Finding.product_id, Finding.product_id.in_(ids))
    feedback = feedback_summaries(uow, Feedback.product_id, Feedback.product_id.in_(ids))
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
    uow: UnitOfWork, product_id: SQLColumnExpression[int], ids: Sequence[int]
) -> dict[int, int]:
    stmt = select(product_id, func.count()).where(product_id.in_(ids)).group_by(product_id)
    return dict(uow.session.execute(stmt).all())


def phase_counts(uow: UnitOfWork) -> Tally[Phase]:
    """How many products are in each phase (every phase, in order)."""
    with uow:
        counts = dict(
            uow.session.execute(select(Product.phase, func.count()).group_by(Product.phase)).all()
        )
    return Tally.of(PHASE_ORDER, counts)
