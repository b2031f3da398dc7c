"""Read-side use cases: what the portfolio, product, build and unit views show.

Every function returns frozen dataclasses (never ORM records), so the web pages, the CLI and the
API render the same numbers. Counting runs in SQL (``GROUP BY``) and per-build figures come from
the running aggregates ``BuildCharacteristicStat`` and ``BuildStationStat``; only page-sized
lists of rows are loaded into Python.

A characteristic is *met* on a build when it has measurements there and none of them fell
below its LSL or above its USL. The share of specs met counts every characteristic of the
product in its denominator: a spec that was not measured on the build is not met.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, case, func, select

from phasegate.domain.enums import (
    Allocation,
    BuildStatus,
    Disposition,
    FeedbackSource,
    Fidelity,
    FindingCategory,
    FindingStatus,
    GateOutcome,
    Outcome,
    Phase,
    Priority,
    RequirementStatus,
    RevisionStatus,
    Severity,
    Technique,
    UnitStatus,
)
from phasegate.domain.errors import FieldError, InvalidInput, NotFound
from phasegate.store.models import (
    Build,
    BuildCharacteristicStat,
    BuildStationStat,
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

T = TypeVar("T")

MAX_PAGE = 500
OPEN_FINDING_STATUSES = tuple(s for s in FindingStatus if s.is_open)


# --------------------------------------------------------------------------- shared shapes


@dataclass(frozen=True, slots=True)
class PageOf(Generic[T]):
    """One page of a longer list: ``items`` from ``offset``, ``total`` matching in all."""

    items: tuple[T, ...]
    total: int
    limit: int
    offset: int

    @property
    def number(self) -> int:
        """1-based number of this page."""
        return self.offset // self.limit + 1

    @property
    def page_count(self) -> int:
        return max(1, math.ceil(self.total / self.limit))

    @property
    def first_index(self) -> int:
        """1-based position of the first item shown (0 when the page is empty)."""
        return self.offset + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return self.offset + len(self.items)

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total


@dataclass(frozen=True, slots=True)
class SeverityCount:
    severity: Severity
    count: int


@dataclass(frozen=True, slots=True)
class Count(Generic[T]):
    """How many records have one value of an enum field."""

    value: T
    count: int


@dataclass(frozen=True, slots=True)
class SpecsMet:
    """How many of the product's characteristics were met on one build."""

    build_id: int
    build_code: str
    met: int
    measured: int
    total: int

    @property
    def share(self) -> float | None:
        """Met / all characteristics of the product; ``None`` when it has none."""
        return self.met / self.total if self.total else None


def _severity_counts(counts: dict[Severity, int]) -> tuple[SeverityCount, ...]:
    return tuple(SeverityCount(s, counts.get(s, 0)) for s in Severity)


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(
            f"limit: {limit} is outside 1..{MAX_PAGE}", [FieldError("limit", "out of range")]
        )
    if offset < 0:
        raise InvalidInput(
            f"offset: {offset} must not be negative", [FieldError("offset", "is negative")]
        )


def _enum_value(enum: type[Any], name: str, raw: Any) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return enum(str(raw).strip().lower())
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidInput(
            f"{name}: {raw!r} is not one of: {allowed}", [FieldError(name, "unknown value")]
        ) from None


def _product(uow: UnitOfWork, key: str) -> Product:
    product = uow.session.scalar(select(Product).where(func.lower(Product.key) == key.lower()))
    if product is None:
        raise NotFound(f"product {key!r} does not exist")
    return product


def _revision_sort_key(code: str) -> tuple[int, str]:
    # "B" comes after "A", "10" after "9", "AA" after "Z".
    return (len(code), code)


def _latest_build_key(build: Any) -> tuple[bool, dt.date, int]:
    return (build.start_date is not None, build.start_date or dt.date.min, build.id)


def _specs_met(
    uow: UnitOfWork, builds: Sequence[tuple[int, str]], total: int
) -> dict[int, SpecsMet]:
    """Specs met on each of ``builds`` (id, code), from the per-characteristic aggregates."""
    if not builds:
        return {}
    stat = BuildCharacteristicStat
    met = case((((stat.below_lsl == 0) & (stat.above_usl == 0)), 1), else_=0)
    rows = uow.session.execute(
        select(stat.build_id, func.count(), func.sum(met))
        .where(stat.build_id.in_([b for b, _ in builds]), stat.count > 0)
        .group_by(stat.build_id)
    ).all()
    found = {build_id: (int(measured), int(n_met or 0)) for build_id, measured, n_met in rows}
    return {
        build_id: SpecsMet(
            build_id=build_id,
            build_code=code,
            met=found.get(build_id, (0, 0))[1],
            measured=found.get(build_id, (0, 0))[0],
            total=total,
        )
        for build_id, code in builds
    }


# --------------------------------------------------------------------------- portfolio


@dataclass(frozen=True, slots=True)
class ProductCard:
    key: str
    name: str
    phase: Phase
    revision_count: int
    latest_revision: str | None
    build_count: int
    unit_count: int
    open_findings: tuple[SeverityCount, ...]  # every severity, most severe first
    feedback_count: int
    rated_feedback_count: int
    mean_feedback_rating: float | None
    target_unit_cost: float | None
    target_launch_date: dt.date | None

    @property
    def open_findings_total(self) -> int:
        return sum(s.count for s in self.open_findings)


def portfolio(uow: UnitOfWork, *, phase: Phase | str | None = None) -> list[ProductCard]:
    """Every product (or those in ``phase``) with its phase and key counts, by key."""
    wanted = _enum_value(Phase, "phase", phase)
    with uow:
        s = uow.session
        stmt = select(Product).order_by(Product.key)
        if wanted is not None:
            stmt = stmt.where(Product.phase == wanted)
        products = list(s.scalars(stmt))
        ids = [p.id for p in products]
        if not ids:
            return []
        codes: dict[int, list[str]] = {}
        for product_id, code in s.execute(
            select(Revision.product_id, Revision.code).where(Revision.product_id.in_(ids))
        ):
            codes.setdefault(product_id, []).append(code)
        builds = dict(
            s.execute(
                select(Build.product_id, func.count())
                .where(Build.product_id.in_(ids))
                .group_by(Build.product_id)
            ).all()
        )
        units = dict(
            s.execute(
                select(Unit.product_id, func.count())
                .where(Unit.product_id.in_(ids))
                .group_by(Unit.product_id)
            ).all()
        )
        findings: dict[int, dict[Severity, int]] = {}
        for product_id, severity, n in s.execute(
            select(Finding.product_id, Finding.severity, func.count())
            .where(Finding.product_id.in_(ids), Finding.status.in_(OPEN_FINDING_STATUSES))
            .group_by(Finding.product_id, Finding.severity)
        ):
            findings.setdefault(product_id, {})[severity] = n
        feedback = {
            product_id: (n, rated, mean)
            for product_id, n, rated, mean in s.execute(
                select(
                    Feedback.product_id,
                    func.count(),
                    func.count(Feedback.rating),
                    func.avg(Feedback.rating),
                )
                .where(Feedback.product_id.in_(ids))
                .group_by(Feedback.product_id)
            )
        }
    cards = []
    for p in products:
        revs = sorted(codes.get(p.id, []), key=_revision_sort_key)
        n_feedback, n_rated, mean = feedback.get(p.id, (0, 0, None))
        cards.append(
            ProductCard(
                key=p.key,
                name=p.name,
                phase=p.phase,
                revision_count=len(revs),
                latest_revision=revs[-1] if revs else None,
                build_count=builds.get(p.id, 0),
                unit_count=units.get(p.id, 0),
                open_findings=_severity_counts(findings.get(p.id, {})),
                feedback_count=n_feedback,
                rated_feedback_count=n_rated,
                mean_feedback_rating=float(mean) if mean is not None else None,
                target_unit_cost=p.target_unit_cost,
                target_launch_date=p.target_launch_date,
            )
        )
    return cards


# --------------------------------------------------------------------------- product


@dataclass(frozen=True, slots=True)
class ProductSummary:
    key: str
    name: str
    description: str
    phase: Phase
    target_unit_cost: float | None
    target_annual_volume: int | None
    target_launch_date: dt.date | None

    @classmethod
    def of(cls, product: Product) -> ProductSummary:
        return cls(
            key=product.key,
            name=product.name,
            description=product.description,
            phase=product.phase,
            target_unit_cost=product.target_unit_cost,
            target_annual_volume=product.target_annual_volume,
            target_launch_date=product.target_launch_date,
        )


@dataclass(frozen=True, slots=True)
class PhaseStep:
    """One phase on the product's timeline."""

    phase: Phase
    state: str  # "done", "current" or "upcoming"
    entered_on: dt.date | None
    left_on: dt.date | None
    build_count: int
    first_build_start: dt.date | None
    last_build_end: dt.date | None


@dataclass(frozen=True, slots=True)
class GateDecisionRow:
    from_phase: Phase
    to_phase: Phase
    outcome: GateOutcome
    decided_at: dt.datetime
    decided_by: str
    rationale: str


@dataclass(frozen=True, slots=True)
class RevisionIteration:
    """One design revision and the evidence that says whether the design is converging."""

    code: str
    description: str
    status: RevisionStatus
    released_on: dt.date | None
    build_count: int
    specs: SpecsMet | None  # on this revision's latest build; None without builds
    open_findings: int
    findings_total: int
    feedback_count: int
    rated_feedback_count: int
    mean_feedback_rating: float | None


@dataclass(frozen=True, slots=True)
class BuildRow:
    id: int
    code: str
    revision: str
    phase: Phase
    status: BuildStatus
    fidelity: Fidelity | None
    technique: Technique | None
    partner: str | None
    line: str | None
    planned_quantity: int
    actual_quantity: int | None
    unit_count: int
    budget: float | None
    actual_cost: float | None
    start_date: dt.date | None
    end_date: dt.date | None


@dataclass(frozen=True, slots=True)
class RequirementCount:
    priority: Priority
    total: int
    verified: int
    by_status: tuple[Count[RequirementStatus], ...]


@dataclass(frozen=True, slots=True)
class FindingRow:
    id: int
    title: str
    category: FindingCategory
    severity: Severity
    status: FindingStatus
    owner: str
    revision: str | None
    fixed_in_revision: str | None
    build_id: int | None
    build_code: str | None
    opened_on: dt.date | None
    closed_on: dt.date | None


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    id: int
    source: FeedbackSource
    author: str
    rating: int | None
    text: str
    received_on: dt.date | None
    revision: str | None
    requirement: str | None


@dataclass(frozen=True, slots=True)
class ProductOverview:
    product: ProductSummary
    timeline: tuple[PhaseStep, ...]
    gate_decisions: tuple[GateDecisionRow, ...]
    revisions: tuple[RevisionIteration, ...]
    builds: tuple[BuildRow, ...]
    unit_count: int
    characteristic_count: int
    ctq_count: int
    latest_specs: SpecsMet | None  # on the product's latest build
    requirements: tuple[RequirementCount, ...]
    open_findings: tuple[SeverityCount, ...]
    top_open_findings: tuple[FindingRow, ...]
    feedback_count: int
    rated_feedback_count: int
    mean_feedback_rating: float | None
    recent_feedback: tuple[FeedbackRow, ...]

    @property
    def open_findings_total(self) -> int:
        return sum(s.count for s in self.open_findings)

    @property
    def requirement_total(self) -> int:
        return sum(r.total for r in self.requirements)

    @property
    def must_haves(self) -> RequirementCount | None:
        return next((r for r in self.requirements if r.priority is Priority.MUST), None)


def _finding_rows(uow: UnitOfWork, stmt: Select[Any]) -> tuple[FindingRow, ...]:
    found = Revision.__table__.alias("found_rev")
    fixed = Revision.__table__.alias("fixed_rev")
    rows = uow.session.execute(
        stmt.add_columns(found.c.code, fixed.c.code, Build.code)
        .outerjoin(found, found.c.id == Finding.revision_id)
        .outerjoin(fixed, fixed.c.id == Finding.fixed_in_revision_id)
        .outerjoin(Build, Build.id == Finding.build_id)
    ).all()
    return tuple(
        FindingRow(
            id=f.id,
            title=f.title,
            category=f.category,
            severity=f.severity,
            status=f.status,
            owner=f.owner,
            revision=rev,
            fixed_in_revision=fixed_rev,
            build_id=f.build_id,
            build_code=build_code,
            opened_on=f.opened_on,
            closed_on=f.closed_on,
        )
        for f, rev, fixed_rev, build_code in rows
    )


def _feedback_rows(uow: UnitOfWork, stmt: Select[Any]) -> tuple[FeedbackRow, ...]:
    rows = uow.session.execute(
        stmt.add_columns(Revision.code, Requirement.key)
        .outerjoin(Revision, Revision.id == Feedback.revision_id)
        .outerjoin(Requirement, Requirement.id == Feedback.requirement_id)
    ).all()
    return tuple(
        FeedbackRow(
            id=f.id,
            source=f.source,
            author=f.author,
            rating=f.rating,
            text=f.text,
            received_on=f.received_on,
            revision=rev,
            requirement=req,
        )
        for f, rev, req in rows
    )


def _severity_order() -> Any:
    return case({s.value: s.rank for s in Severity}, value=Finding.severity)


def product_overview(uow: UnitOfWork, key: str) -> ProductOverview:
    """Everything the product page shows, for the product with ``key`` (case-insensitive)."""
    with uow:
        s = uow.session
        product = _product(uow, key)
        pid = product.id
        revisions = sorted(
            s.scalars(select(Revision).where(Revision.product_id == pid)),
            key=lambda r: _revision_sort_key(r.code),
        )
        rev_code = {r.id: r.code for r in revisions}
        build_rows = s.execute(
            select(Build, Partner.name, Line.name)
            .outerjoin(Partner, Partner.id == Build.partner_id)
            .outerjoin(Line, Line.id == Build.line_id)
            .where(Build.product_id == pid)
        ).all()
        unit_counts = dict(
            s.execute(
                select(Unit.build_id, func.count())
                .where(Unit.product_id == pid)
                .group_by(Unit.build_id)
            ).all()
        )
        builds = sorted(
            (
                BuildRow(
                    id=b.id,
                    code=b.code,
                    revision=rev_code.get(b.revision_id, ""),
                    phase=b.phase,
                    status=b.status,
                    fidelity=b.fidelity,
                    technique=b.technique,
                    partner=partner,
                    line=line,
                    planned_quantity=b.planned_quantity,
                    actual_quantity=b.actual_quantity,
                    unit_count=unit_counts.get(b.id, 0),
                    budget=b.budget,
                    actual_cost=b.actual_cost,
                    start_date=b.start_date,
                    end_date=b.end_date,
                )
                for b, partner, line in build_rows
            ),
            key=_latest_build_key,
        )
        n_chars, n_ctq = s.execute(
            select(func.count(), func.count(case((Characteristic.ctq.is_(True), 1))))
            .select_from(Characteristic)
            .where(Characteristic.product_id == pid)
        ).one()

        latest_per_revision: dict[str, BuildRow] = {}
        for b in builds:  # sorted oldest first, so the last one written wins
            latest_per_revision[b.revision] = b
        wanted = [(b.id, b.code) for b in latest_per_revision.values()]
        if builds:
            wanted.append((builds[-1].id, builds[-1].code))
        specs = _specs_met(uow, list(dict(wanted).items()), n_chars)

        open_by_rev = dict(
            s.execute(
                select(Finding.revision_id, func.count())
                .where(Finding.product_id == pid, Finding.status.in_(OPEN_FINDING_STATUSES))
                .group_by(Finding.revision_id)
            ).all()
        )
        all_by_rev = dict(
            s.execute(
                select(Finding.revision_id, func.count())
                .where(Finding.product_id == pid)
                .group_by(Finding.revision_id)
            ).all()
        )
        feedback_by_rev = {
            rev_id: (n, rated, mean)
            for rev_id, n, rated, mean in s.execute(
                select(
                    Feedback.revision_id,
                    func.count(),
                    func.count(Feedback.rating),
                    func.avg(Feedback.rating),
                )
                .where(Feedback.product_id == pid)
                .group_by(Feedback.revision_id)
            )
        }
        builds_per_rev: dict[str, int] = {}
        for b in builds:
            builds_per_rev[b.revision] = builds_per_rev.get(b.revision, 0) + 1
        iterations = []
        for r in revisions:
            n_fb, n_rated, mean = feedback_by_rev.get(r.id, (0, 0, None))
            latest = latest_per_revision.get(r.code)
            iterations.append(
                RevisionIteration(
                    code=r.code,
                    description=r.description,
                    status=r.status,
                    released_on=r.released_on,
                    build_count=builds_per_rev.get(r.code, 0),
                    specs=specs[latest.id] if latest is not None else None,
                    open_findings=open_by_rev.get(r.id, 0),
                    findings_total=all_by_rev.get(r.id, 0),
                    feedback_count=n_fb,
                    rated_feedback_count=n_rated,
                    mean_feedback_rating=float(mean) if mean is not None else None,
                )
            )

        decisions = tuple(
            GateDecisionRow(
                from_phase=d.from_phase,
                to_phase=d.to_phase,
                outcome=d.outcome,
                decided_at=d.decided_at,
                decided_by=d.decided_by,
                rationale=d.rationale,
            )
            for d in s.scalars(
                select(GateDecision)
                .where(GateDecision.product_id == pid)
                .order_by(GateDecision.decided_at, GateDecision.id)
            )
        )
        timeline = _timeline(product.phase, product.created_at.date(), decisions, builds)

        requirement_counts: dict[Priority, dict[RequirementStatus, int]] = {}
        for priority, status, n in s.execute(
            select(Requirement.priority, Requirement.status, func.count())
            .where(Requirement.product_id == pid)
            .group_by(Requirement.priority, Requirement.status)
        ):
            requirement_counts.setdefault(priority, {})[status] = n
        requirements = tuple(
            RequirementCount(
                priority=p,
                total=sum(requirement_counts[p].values()),
                verified=requirement_counts[p].get(RequirementStatus.VERIFIED, 0),
                by_status=tuple(
                    Count(st, requirement_counts[p].get(st, 0)) for st in RequirementStatus
                ),
            )
            for p in Priority
            if p in requirement_counts
        )

        open_counts = dict(
            s.execute(
                select(Finding.severity, func.count())
                .where(Finding.product_id == pid, Finding.status.in_(OPEN_FINDING_STATUSES))
                .group_by(Finding.severity)
            ).all()
        )
        top_findings = _finding_rows(
            uow,
            select(Finding)
            .where(Finding.product_id == pid, Finding.status.in_(OPEN_FINDING_STATUSES))
            .order_by(_severity_order(), Finding.opened_on.desc(), Finding.id.desc())
            .limit(8),
        )
        n_feedback, n_rated, mean_rating = s.execute(
            select(func.count(), func.count(Feedback.rating), func.avg(Feedback.rating)).where(
                Feedback.product_id == pid
            )
        ).one()
        recent = _feedback_rows(
            uow,
            select(Feedback)
            .where(Feedback.product_id == pid)
            .order_by(Feedback.received_on.desc(), Feedback.id.desc())
            .limit(6),
        )
        return ProductOverview(
            product=ProductSummary.of(product),
            timeline=timeline,
            gate_decisions=decisions,
            revisions=tuple(iterations),
            builds=tuple(reversed(builds)),
            unit_count=sum(unit_counts.values()),
            characteristic_count=n_chars,
            ctq_count=n_ctq,
            latest_specs=specs[builds[-1].id] if builds else None,
            requirements=requirements,
            open_findings=_severity_counts(open_counts),
            top_open_findings=top_findings,
            feedback_count=n_feedback,
            rated_feedback_count=n_rated,
            mean_feedback_rating=float(mean_rating) if mean_rating is not None else None,
            recent_feedback=recent,
        )


def _timeline(
    current: Phase,
    created_on: dt.date,
    decisions: Iterable[GateDecisionRow],
    builds: Sequence[BuildRow],
) -> tuple[PhaseStep, ...]:
    """Phase steps: a phase is entered at the go (or conditional go) into it.

    The prototype phase starts at the earlier of the product's creation and its first build.
    """
    entered: dict[Phase, dt.date] = {}
    for d in decisions:
        if d.outcome is not GateOutcome.NO_GO:
            entered[d.to_phase] = d.decided_at.date()
    starts = [b.start_date for b in builds if b.start_date is not None]
    entered[Phase.PROTOTYPE] = min([created_on, *starts])
    steps = []
    for phase in Phase:
        in_phase = [b for b in builds if b.phase is phase]
        begun = [b.start_date for b in in_phase if b.start_date is not None]
        ended = [b.end_date for b in in_phase if b.end_date is not None]
        following = phase.next()
        if phase.order < current.order:
            state = "done"
        elif phase is current:
            state = "current"
        else:
            state = "upcoming"
        steps.append(
            PhaseStep(
                phase=phase,
                state=state,
                entered_on=entered.get(phase) if state != "upcoming" else None,
                left_on=entered.get(following) if following and state == "done" else None,
                build_count=len(in_phase),
                first_build_start=min(begun) if begun else None,
                last_build_end=max(ended) if ended else None,
            )
        )
    return tuple(steps)


def product_findings(
    uow: UnitOfWork,
    key: str,
    *,
    severity: Severity | str | None = None,
    status: str | None = "open",
    revision: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> PageOf[FindingRow]:
    """A page of the product's findings, most severe first.

    ``status`` is ``"open"`` (open, investigating or fixed but not verified), ``"all"``/``None``,
    or one finding status.
    """
    _check_page(limit, offset)
    wanted_severity = _enum_value(Severity, "severity", severity)
    with uow:
        product = _product(uow, key)
        stmt = select(Finding).where(Finding.product_id == product.id)
        if wanted_severity is not None:
            stmt = stmt.where(Finding.severity == wanted_severity)
        if status == "open":
            stmt = stmt.where(Finding.status.in_(OPEN_FINDING_STATUSES))
        elif status not in (None, "", "all"):
            stmt = stmt.where(Finding.status == _enum_value(FindingStatus, "status", status))
        if revision:
            rev_id = uow.session.scalar(
                select(Revision.id).where(
                    Revision.product_id == product.id, Revision.code == revision
                )
            )
            if rev_id is None:
                raise NotFound(f"product {product.key} has no revision {revision!r}")
            stmt = stmt.where(Finding.revision_id == rev_id)
        total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        items = _finding_rows(
            uow,
            stmt.order_by(_severity_order(), Finding.opened_on.desc(), Finding.id.desc())
            .limit(limit)
            .offset(offset),
        )
        return PageOf(items=items, total=total, limit=limit, offset=offset)


def product_feedback(
    uow: UnitOfWork,
    key: str,
    *,
    revision: str | None = None,
    rating: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> PageOf[FeedbackRow]:
    """A page of the product's feedback, newest first, optionally for one revision or rating."""
    _check_page(limit, offset)
    with uow:
        product = _product(uow, key)
        stmt = select(Feedback).where(Feedback.product_id == product.id)
        if revision:
            rev_id = uow.session.scalar(
                select(Revision.id).where(
                    Revision.product_id == product.id, Revision.code == revision
                )
            )
            if rev_id is None:
                raise NotFound(f"product {product.key} has no revision {revision!r}")
            stmt = stmt.where(Feedback.revision_id == rev_id)
        if rating is not None:
            stmt = stmt.where(Feedback.rating == rating)
        total = uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        items = _feedback_rows(
            uow,
            stmt.order_by(Feedback.received_on.desc(), Feedback.id.desc())
            .limit(limit)
            .offset(offset),
        )
        return PageOf(items=items, total=total, limit=limit, offset=offset)


# --------------------------------------------------------------------------- build


@dataclass(frozen=True, slots=True)
class BuildDetail:
    id: int
    code: str
    product_key: str
    product_name: str
    product_phase: Phase
    revision: str
    phase: Phase
    status: BuildStatus
    fidelity: Fidelity | None
    technique: Technique | None
    partner: str | None
    line: str | None
    planned_quantity: int
    actual_quantity: int | None
    budget: float | None
    actual_cost: float | None
    start_date: dt.date | None
    end_date: dt.date | None
    purpose: str

    @property
    def cost_variance(self) -> float | None:
        """Actual cost minus budget (positive means over budget)."""
        if self.budget is None or self.actual_cost is None:
            return None
        return self.actual_cost - self.budget


@dataclass(frozen=True, slots=True)
class StationStat:
    """Passes of one build at one station, from the ``BuildStationStat`` aggregate."""

    station_id: int
    name: str
    sequence: int
    planned_cycle_time_s: float | None
    passes: int
    first_attempts: int
    first_pass_ok: int
    failures: int
    cycle_time_count: int
    cycle_time_total_s: float
    cycle_time_total_sq: float
    cycle_time_min_s: float | None
    cycle_time_max_s: float | None

    @property
    def first_pass_yield(self) -> float | None:
        """Units that passed at their first attempt / units that made a first attempt."""
        return self.first_pass_ok / self.first_attempts if self.first_attempts else None

    @property
    def mean_cycle_time_s(self) -> float | None:
        n = self.cycle_time_count
        return self.cycle_time_total_s / n if n else None

    @property
    def cycle_time_sd_s(self) -> float | None:
        """Sample standard deviation, sqrt((Σx² − (Σx)²/n) / (n − 1))."""
        n = self.cycle_time_count
        if n < 2:
            return None
        variance = (self.cycle_time_total_sq - self.cycle_time_total_s**2 / n) / (n - 1)
        return math.sqrt(max(variance, 0.0))


@dataclass(frozen=True, slots=True)
class CharacteristicStat:
    """One characteristic's measurements on one build, from ``BuildCharacteristicStat``."""

    characteristic_id: int
    name: str
    unit: str
    ctq: bool
    lsl: float | None
    usl: float | None
    target: float | None
    count: int
    total: float
    minimum: float | None
    maximum: float | None
    below_lsl: int
    above_usl: int

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def out_of_spec(self) -> int:
        return self.below_lsl + self.above_usl

    @property
    def met(self) -> bool:
        return self.count > 0 and self.out_of_spec == 0


@dataclass(frozen=True, slots=True)
class BuildOverview:
    build: BuildDetail
    unit_count: int
    by_status: tuple[Count[UnitStatus], ...]  # every status, in enum order
    by_allocation: tuple[Count[Allocation], ...]
    stations: tuple[StationStat, ...]
    characteristics: tuple[CharacteristicStat, ...]
    open_findings: int
    defect_count: int

    @property
    def rolled_throughput_yield(self) -> float | None:
        """Product of the first-pass yields of the stations that have any (RTY)."""
        yields = [s.first_pass_yield for s in self.stations if s.first_pass_yield is not None]
        return math.prod(yields) if yields else None

    @property
    def specs_met(self) -> int:
        return sum(1 for c in self.characteristics if c.met)


def build_overview(uow: UnitOfWork, build_id: int) -> BuildOverview:
    """Everything the build page shows except the unit list (see ``build_units``)."""
    with uow:
        s = uow.session
        row = s.execute(
            select(Build, Product, Revision.code, Partner.name, Line.name)
            .join(Product, Product.id == Build.product_id)
            .join(Revision, Revision.id == Build.revision_id)
            .outerjoin(Partner, Partner.id == Build.partner_id)
            .outerjoin(Line, Line.id == Build.line_id)
            .where(Build.id == build_id)
        ).first()
        if row is None:
            raise NotFound(f"build {build_id} does not exist")
        b, product, revision, partner, line = row
        status_counts = dict(
            s.execute(
                select(Unit.status, func.count())
                .where(Unit.build_id == build_id)
                .group_by(Unit.status)
            ).all()
        )
        allocation_counts = dict(
            s.execute(
                select(Unit.allocation, func.count())
                .where(Unit.build_id == build_id)
                .group_by(Unit.allocation)
            ).all()
        )
        stat = BuildStationStat
        station_rows: list[tuple[Station, BuildStationStat | None]] = [
            (st, agg)
            for st, agg in s.execute(
                select(Station, stat)
                .join(stat, (stat.station_id == Station.id) & (stat.build_id == build_id))
                .order_by(Station.line_id, Station.sequence)
            )
        ]
        seen = {st.id for st, _ in station_rows}
        if b.line_id is not None:
            idle = [
                (st, None)
                for st in s.scalars(
                    select(Station).where(Station.line_id == b.line_id).order_by(Station.sequence)
                )
                if st.id not in seen
            ]
            station_rows = sorted(
                [*station_rows, *idle], key=lambda r: (r[0].line_id != b.line_id, r[0].sequence)
            )
        stations = tuple(
            StationStat(
                station_id=st.id,
                name=st.name,
                sequence=st.sequence,
                planned_cycle_time_s=st.planned_cycle_time_s,
                passes=agg.passes if agg else 0,
                first_attempts=agg.first_attempts if agg else 0,
                first_pass_ok=agg.first_pass_ok if agg else 0,
                failures=agg.failures if agg else 0,
                cycle_time_count=agg.cycle_time_count if agg else 0,
                cycle_time_total_s=agg.cycle_time_total_s if agg else 0.0,
                cycle_time_total_sq=agg.cycle_time_total_sq if agg else 0.0,
                cycle_time_min_s=agg.cycle_time_min_s if agg else None,
                cycle_time_max_s=agg.cycle_time_max_s if agg else None,
            )
            for st, agg in station_rows
        )
        cstat = BuildCharacteristicStat
        characteristics = tuple(
            CharacteristicStat(
                characteristic_id=c.id,
                name=c.name,
                unit=c.unit,
                ctq=c.ctq,
                lsl=c.lsl,
                usl=c.usl,
                target=c.target,
                count=agg.count,
                total=agg.total,
                minimum=agg.minimum,
                maximum=agg.maximum,
                below_lsl=agg.below_lsl,
                above_usl=agg.above_usl,
            )
            for c, agg in s.execute(
                select(Characteristic, cstat)
                .join(cstat, cstat.characteristic_id == Characteristic.id)
                .where(cstat.build_id == build_id)
                .order_by(Characteristic.ctq.desc(), Characteristic.name)
            )
        )
        open_findings = s.scalar(
            select(func.count())
            .select_from(Finding)
            .where(Finding.build_id == build_id, Finding.status.in_(OPEN_FINDING_STATUSES))
        )
        defects = s.scalar(
            select(func.count())
            .select_from(Defect)
            .join(Unit, Unit.id == Defect.unit_id)
            .where(Unit.build_id == build_id)
        )
        return BuildOverview(
            build=BuildDetail(
                id=b.id,
                code=b.code,
                product_key=product.key,
                product_name=product.name,
                product_phase=product.phase,
                revision=revision,
                phase=b.phase,
                status=b.status,
                fidelity=b.fidelity,
                technique=b.technique,
                partner=partner,
                line=line,
                planned_quantity=b.planned_quantity,
                actual_quantity=b.actual_quantity,
                budget=b.budget,
                actual_cost=b.actual_cost,
                start_date=b.start_date,
                end_date=b.end_date,
                purpose=b.purpose,
            ),
            unit_count=sum(status_counts.values()),
            by_status=tuple(Count(st, status_counts.get(st, 0)) for st in UnitStatus),
            by_allocation=tuple(Count(a, allocation_counts.get(a, 0)) for a in Allocation),
            stations=stations,
            characteristics=characteristics,
            open_findings=open_findings or 0,
            defect_count=defects or 0,
        )


@dataclass(frozen=True, slots=True)
class UnitRow:
    id: int
    serial: str
    product_key: str
    status: UnitStatus
    allocation: Allocation
    passes: int
    failed_passes: int
    last_station: str | None
    last_activity: dt.datetime | None
    defects: int


def build_units(
    uow: UnitOfWork,
    build_id: int,
    *,
    status: UnitStatus | str | None = None,
    allocation: Allocation | str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> PageOf[UnitRow]:
    """A page of the build's units by serial, filtered by status, allocation and serial text."""
    _check_page(limit, offset)
    wanted_status = _enum_value(UnitStatus, "status", status)
    wanted_allocation = _enum_value(Allocation, "allocation", allocation)
    with uow:
        s = uow.session
        product_key = s.scalar(
            select(Product.key)
            .join(Build, Build.product_id == Product.id)
            .where(Build.id == build_id)
        )
        if product_key is None:
            raise NotFound(f"build {build_id} does not exist")
        stmt = select(Unit.id, Unit.serial, Unit.status, Unit.allocation).where(
            Unit.build_id == build_id
        )
        if wanted_status is not None:
            stmt = stmt.where(Unit.status == wanted_status)
        if wanted_allocation is not None:
            stmt = stmt.where(Unit.allocation == wanted_allocation)
        if q and q.strip():
            stmt = stmt.where(func.lower(Unit.serial).like(f"%{q.strip().lower()}%"))
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        units = s.execute(stmt.order_by(Unit.serial, Unit.id).limit(limit).offset(offset)).all()
        ids = [u.id for u in units]
        passes: dict[int, tuple[int, int, Any]] = {}
        last: dict[int, str] = {}
        defects: dict[int, int] = {}
        if ids:
            failed = case((StationPass.result != Outcome.PASS, 1), else_=0)
            for unit_id, n, n_failed, latest in s.execute(
                select(
                    StationPass.unit_id,
                    func.count(),
                    func.sum(failed),
                    func.max(StationPass.started_at),
                )
                .where(StationPass.unit_id.in_(ids))
                .group_by(StationPass.unit_id)
            ):
                passes[unit_id] = (n, int(n_failed or 0), latest)
            ranked = (
                select(
                    StationPass.unit_id,
                    Station.name,
                    func.row_number()
                    .over(
                        partition_by=StationPass.unit_id,
                        order_by=(StationPass.started_at.desc(), StationPass.id.desc()),
                    )
                    .label("rank"),
                )
                .join(Station, Station.id == StationPass.station_id)
                .where(StationPass.unit_id.in_(ids))
                .subquery()
            )
            last = dict(
                s.execute(select(ranked.c.unit_id, ranked.c.name).where(ranked.c.rank == 1)).all()
            )
            defects = dict(
                s.execute(
                    select(Defect.unit_id, func.count())
                    .where(Defect.unit_id.in_(ids))
                    .group_by(Defect.unit_id)
                ).all()
            )
        items = []
        for u in units:
            n, n_failed, latest = passes.get(u.id, (0, 0, None))
            if isinstance(latest, str):  # SQLite returns max() of a datetime column as text
                latest = dt.datetime.fromisoformat(latest)
            if latest is not None and latest.tzinfo is None:
                latest = latest.replace(tzinfo=dt.UTC)
            items.append(
                UnitRow(
                    id=u.id,
                    serial=u.serial,
                    product_key=product_key,
                    status=u.status,
                    allocation=u.allocation,
                    passes=n,
                    failed_passes=n_failed,
                    last_station=last.get(u.id),
                    last_activity=latest,
                    defects=defects.get(u.id, 0),
                )
            )
        return PageOf(items=tuple(items), total=total, limit=limit, offset=offset)


# --------------------------------------------------------------------------- unit


@dataclass(frozen=True, slots=True)
class PassRow:
    station: str
    sequence: int
    started_at: dt.datetime
    ended_at: dt.datetime | None
    operator: str
    result: Outcome
    attempt: int

    @property
    def duration_s(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class MeasurementRow:
    name: str
    value: float | None
    text_value: str | None
    unit: str
    lsl: float | None
    usl: float | None
    outcome: Outcome
    measured_at: dt.datetime

    @property
    def within_limits(self) -> bool | None:
        """Whether ``value`` lies within [lsl, usl]; ``None`` without a value or any limit."""
        if self.value is None or (self.lsl is None and self.usl is None):
            return None
        return (self.lsl is None or self.value >= self.lsl) and (
            self.usl is None or self.value <= self.usl
        )


@dataclass(frozen=True, slots=True)
class TestRunRow:
    __test__ = False  # not a pytest class

    id: int
    procedure: str
    station: str | None
    outcome: Outcome
    started_at: dt.datetime
    ended_at: dt.datetime | None
    operator: str
    source: str
    measurements: tuple[MeasurementRow, ...]

    @property
    def duration_s(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def out_of_limits(self) -> int:
        return sum(1 for m in self.measurements if m.within_limits is False)


@dataclass(frozen=True, slots=True)
class DefectRow:
    id: int
    code: str
    description: str
    severity: Severity
    disposition: Disposition
    station: str | None
    found_at: dt.datetime
    cost: float
    notes: str


@dataclass(frozen=True, slots=True)
class UnitHistory:
    id: int
    serial: str
    status: UnitStatus
    allocation: Allocation
    created_at: dt.datetime
    product_key: str
    product_name: str
    product_phase: Phase
    build_id: int
    build_code: str
    build_phase: Phase
    revision: str
    passes: tuple[PassRow, ...]  # in time order
    test_runs: tuple[TestRunRow, ...]  # in time order
    defects: tuple[DefectRow, ...]

    @property
    def measurement_count(self) -> int:
        return sum(len(r.measurements) for r in self.test_runs)

    @property
    def out_of_limits(self) -> int:
        return sum(r.out_of_limits for r in self.test_runs)

    @property
    def passes_not_passed(self) -> int:
        return sum(1 for p in self.passes if p.result is not Outcome.PASS)

    @property
    def total_station_time_s(self) -> float:
        return sum(p.duration_s or 0.0 for p in self.passes)


def unit_history(uow: UnitOfWork, serial: str, product: str | None = None) -> UnitHistory:
    """The unit with ``serial`` and everything that happened to it.

    Serials are unique within a product; when the same serial exists in several products,
    ``product`` (a key) says which one, otherwise ``InvalidInput`` lists the candidates.
    """
    serial = serial.strip()
    if not serial:
        raise InvalidInput("serial: must not be empty", [FieldError("serial", "is required")])
    with uow:
        s = uow.session
        stmt = (
            select(Unit, Product.key)
            .join(Product, Product.id == Unit.product_id)
            .where(Unit.serial == serial)
        )
        if product:
            stmt = stmt.where(func.lower(Product.key) == product.lower())
        matches = s.execute(stmt.order_by(Product.key)).all()
        if not matches:
            if product:
                _product(uow, product)  # a NotFound naming the product if it is the problem
                raise NotFound(f"product {product} has no unit with serial {serial!r}")
            raise NotFound(f"no unit with serial {serial!r}")
        if len(matches) > 1:
            keys = ", ".join(key for _, key in matches)
            raise InvalidInput(
                f"serial {serial!r} exists in products {keys}; name the product",
                [FieldError("product", f"one of: {keys}")],
            )
        unit = matches[0][0]
        build, prod, revision = s.execute(
            select(Build, Product, Revision.code)
            .join(Product, Product.id == Build.product_id)
            .join(Revision, Revision.id == Build.revision_id)
            .where(Build.id == unit.build_id)
        ).one()
        passes = tuple(
            PassRow(
                station=name,
                sequence=sequence,
                started_at=p.started_at,
                ended_at=p.ended_at,
                operator=p.operator,
                result=p.result,
                attempt=p.attempt,
            )
            for p, name, sequence in s.execute(
                select(StationPass, Station.name, Station.sequence)
                .join(Station, Station.id == StationPass.station_id)
                .where(StationPass.unit_id == unit.id)
                .order_by(StationPass.started_at, StationPass.id)
            )
        )
        measurements: dict[int, list[MeasurementRow]] = {}
        for m in s.scalars(
            select(Measurement)
            .where(Measurement.unit_id == unit.id)
            .order_by(Measurement.measured_at, Measurement.id)
        ):
            measurements.setdefault(m.test_run_id, []).append(
                MeasurementRow(
                    name=m.name,
                    value=m.value,
                    text_value=m.text_value,
                    unit=m.unit,
                    lsl=m.lsl,
                    usl=m.usl,
                    outcome=m.outcome,
                    measured_at=m.measured_at,
                )
            )
        runs = tuple(
            TestRunRow(
                id=r.id,
                procedure=r.procedure,
                station=station,
                outcome=r.outcome,
                started_at=r.started_at,
                ended_at=r.ended_at,
                operator=r.operator,
                source=r.source,
                measurements=tuple(measurements.get(r.id, [])),
            )
            for r, station in s.execute(
                select(TestRun, Station.name)
                .outerjoin(Station, Station.id == TestRun.station_id)
                .where(TestRun.unit_id == unit.id)
                .order_by(TestRun.started_at, TestRun.id)
            )
        )
        defects = tuple(
            DefectRow(
                id=d.id,
                code=code,
                description=description,
                severity=d.severity,
                disposition=d.disposition,
                station=station,
                found_at=d.found_at,
                cost=d.cost,
                notes=d.notes,
            )
            for d, code, description, station in s.execute(
                select(Defect, DefectCode.code, DefectCode.description, Station.name)
                .join(DefectCode, DefectCode.id == Defect.defect_code_id)
                .outerjoin(Station, Station.id == Defect.station_id)
                .where(Defect.unit_id == unit.id)
                .order_by(Defect.found_at, Defect.id)
            )
        )
        return UnitHistory(
            id=unit.id,
            serial=unit.serial,
            status=unit.status,
            allocation=unit.allocation,
            created_at=unit.created_at,
            product_key=prod.key,
            product_name=prod.name,
            product_phase=prod.phase,
            build_id=build.id,
            build_code=build.code,
            build_phase=build.phase,
            revision=revision,
            passes=passes,
            test_runs=runs,
            defects=defects,
        )


def phase_counts(uow: UnitOfWork) -> tuple[Count[Phase], ...]:
    """How many products are in each phase (every phase, in order)."""
    with uow:
        counts = dict(
            uow.session.execute(select(Product.phase, func.count()).group_by(Product.phase)).all()
        )
    return tuple(Count(p, counts.get(p, 0)) for p in Phase)


def product_summary(uow: UnitOfWork, key: str) -> ProductSummary:
    """The product's own fields, for pages that list one kind of its records."""
    with uow:
        return ProductSummary.of(_product(uow, key))
