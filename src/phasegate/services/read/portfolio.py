"""The portfolio page: every product as a card with its phase, key counts, specs met on its
latest build and whether it and its builds are on schedule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, func, select

from phasegate.domain.enums import Phase, Severity
from phasegate.domain.phases import PHASE_ORDER
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.services.access import authorize, scope_clause, scoped
from phasegate.services.paging import parse_optional_enum
from phasegate.services.read.rows import (
    FeedbackSummary,
    ProductSummary,
    Schedule,
    SpecsMet,
    Tally,
    build_age_key,
    build_schedule,
    feedback_summaries,
    open_findings_by,
    product_fields,
    product_schedule,
    revision_sort_key,
    severity_tally,
    specs_met,
    utc_today,
)
from phasegate.store.models import Build, Feedback, Finding, Product, Revision, Unit
from phasegate.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class LateBuild:
    """A build still in progress after its planned end date."""

    id: int
    code: str
    schedule: Schedule


@dataclass(frozen=True, slots=True)
class ProductCard(ProductSummary):
    """A product with the counts its portfolio card shows."""

    revision_count: int
    latest_revision: str | None
    build_count: int
    unit_count: int
    open_findings: Tally[Severity]
    feedback: FeedbackSummary
    schedule: Schedule  # late when the target launch date passed before production
    late_builds: tuple[LateBuild, ...]
    latest_specs: SpecsMet | None  # on the latest build; None without builds


def portfolio(
    uow: UnitOfWork,
    *,
    actor: Principal,
    phase: Phase | str | None = None,
    today: dt.date | None = None,
) -> list[ProductCard]:
    """Every product (or those in ``phase``) with its phase and key counts, by key; schedules
    as of ``today`` (UTC today when not given).

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
        return _cards(uow, products, actor, today or utc_today()) if products else []


def _cards(
    uow: UnitOfWork, products: Sequence[Product], actor: Principal, today: dt.date
) -> list[ProductCard]:
    ids = [p.id for p in products]
    codes = _revision_codes(uow, ids)
    builds = _builds_per_product(uow, ids, actor)
    latest = {pid: found[-1] for pid, found in builds.items()}
    specs = specs_met(uow, [(b.id, b.code) for b in latest.values()])
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
            build_count=len(builds.get(p.id, ())),
            unit_count=units.get(p.id, 0),
            open_findings=findings.get(p.id, no_findings),
            feedback=feedback.get(p.id, FeedbackSummary.none()),
            schedule=product_schedule(p.phase, p.target_launch_date, today),
            late_builds=_late_builds(builds.get(p.id, ()), today),
            latest_specs=specs[latest[p.id].id] if p.id in latest else None,
        )
        for p in products
    ]


def _builds_per_product(
    uow: UnitOfWork, ids: Sequence[int], actor: Principal
) -> dict[int, list[Any]]:
    """Each product's builds that ``actor`` may see, oldest first (see ``build_age_key``):
    the columns the card needs, not whole records."""
    stmt = select(
        Build.id, Build.product_id, Build.code, Build.status, Build.start_date, Build.end_date
    ).where(Build.product_id.in_(ids))
    found: dict[int, list[Any]] = {}
    for build in uow.session.execute(scoped(stmt, actor, Build)):
        found.setdefault(build.product_id, []).append(build)
    for builds in found.values():
        builds.sort(key=lambda b: build_age_key(b.start_date, b.id))
    return found


def _late_builds(builds: Sequence[Any], today: dt.date) -> tuple[LateBuild, ...]:
    late = (LateBuild(b.id, b.code, build_schedule(b.status, b.end_date, today)) for b in builds)
    return tuple(b for b in late if b.schedule.late)


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
