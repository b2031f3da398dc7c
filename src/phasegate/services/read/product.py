"""The product page: phase timeline, iteration view per revision, builds, findings, feedback,
and whether the product and its builds are on schedule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select

from phasegate.domain.enums import (
    BuildStatus,
    Fidelity,
    Phase,
    Priority,
    RequirementStatus,
    RevisionStatus,
    Severity,
    Technique,
)
from phasegate.domain.phases import PhaseStep, phase_timeline
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.services.access import authorize
from phasegate.services.phases import Decision, decisions_of
from phasegate.services.products import product_by_key
from phasegate.services.read.feedback import FeedbackRow, feedback_rows, newest_first
from phasegate.services.read.findings import FindingRow, finding_rows, most_severe_first
from phasegate.services.read.rows import (
    OPEN_FINDING_STATUSES,
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
from phasegate.services.read.yields import rolled_yield
from phasegate.stats.yields import RolledYieldResult
from phasegate.store.models import (
    Build,
    BuildStationStat,
    Characteristic,
    Feedback,
    Finding,
    Line,
    Partner,
    Requirement,
    Revision,
    Unit,
)
from phasegate.store.uow import UnitOfWork

TOP_OPEN_FINDINGS = 8
RECENT_FEEDBACK = 6


@dataclass(frozen=True, slots=True)
class GateDecisionRow(Decision):
    """A recorded gate decision, with the phase the product was in when it was taken."""

    from_phase: Phase


@dataclass(frozen=True, slots=True)
class BuildRow:
    """One build with its unit count, rolled throughput yield (``None`` without passes) and
    schedule (late when still in progress after its planned end date)."""

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
    rty: RolledYieldResult | None
    schedule: Schedule

    @property
    def cost_variance(self) -> float | None:
        """Actual cost minus budget (positive means over budget)."""
        if self.budget is None or self.actual_cost is None:
            return None
        return self.actual_cost - self.budget

    @property
    def over_budget(self) -> bool:
        return (self.cost_variance or 0.0) > 0


def build_fields(
    build: Build,
    *,
    revision: str,
    partner: str | None,
    line: str | None,
    unit_count: int,
    rty: RolledYieldResult | None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """The ``BuildRow`` fields of ``build``, for it and the shapes that extend it; its schedule
    as of ``today`` (UTC today when not given)."""
    return {
        "id": build.id,
        "code": build.code,
        "revision": revision,
        "phase": build.phase,
        "status": build.status,
        "fidelity": build.fidelity,
        "technique": build.technique,
        "partner": partner,
        "line": line,
        "planned_quantity": build.planned_quantity,
        "actual_quantity": build.actual_quantity,
        "unit_count": unit_count,
        "budget": build.budget,
        "actual_cost": build.actual_cost,
        "start_date": build.start_date,
        "end_date": build.end_date,
        "rty": rty,
        "schedule": build_schedule(build.status, build.end_date, today or utc_today()),
    }


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
    feedback: FeedbackSummary


@dataclass(frozen=True, slots=True)
class RequirementCount:
    """The product's requirements of one priority, by status."""

    priority: Priority
    by_status: Tally[RequirementStatus]

    @property
    def total(self) -> int:
        return self.by_status.total

    @property
    def verified(self) -> int:
        return self.by_status.count(RequirementStatus.VERIFIED)


@dataclass(frozen=True, slots=True)
class ProductOverview:
    product: ProductSummary
    schedule: Schedule  # late when the target launch date passed before production
    timeline: tuple[PhaseStep, ...]
    gate_decisions: tuple[GateDecisionRow, ...]
    revisions: tuple[RevisionIteration, ...]
    builds: tuple[BuildRow, ...]  # newest first
    characteristic_count: int
    ctq_count: int
    latest_specs: SpecsMet | None  # on the product's latest build
    requirements: tuple[RequirementCount, ...]
    open_findings: Tally[Severity]
    top_open_findings: tuple[FindingRow, ...]
    feedback: FeedbackSummary
    recent_feedback: tuple[FeedbackRow, ...]

    @property
    def unit_count(self) -> int:
        return sum(b.unit_count for b in self.builds)

    @property
    def requirement_total(self) -> int:
        return sum(r.total for r in self.requirements)

    @property
    def must_haves(self) -> RequirementCount | None:
        return next((r for r in self.requirements if r.priority is Priority.MUST), None)

    @property
    def late_builds(self) -> tuple[BuildRow, ...]:
        return tuple(b for b in self.builds if b.schedule.late)


def product_overview(
    uow: UnitOfWork, key: str, *, actor: Principal, today: dt.date | None = None
) -> ProductOverview:
    """Everything the product page shows, for the product with ``key`` (case-insensitive);
    schedules as of ``today`` (UTC today when not given).

    The page shows the product's requirements, feedback, budget and gate decisions besides
    its builds: a role that may not read requirements (a partner) may not read it.
    """
    today = today or utc_today()
    authorize(actor, Action.READ, Kind.REQUIREMENT)
    with uow:
        product = product_by_key(uow, key, actor=actor)
        pid = product.id
        revisions = _revisions(uow, pid)
        builds = _build_rows(uow, pid, {r.id: r.code for r in revisions}, today)
        n_chars, n_ctq = _characteristic_counts(uow, pid)
        latest = _latest_per_revision(builds)
        specs = _specs(uow, builds, latest)
        decisions = _gate_decisions(uow, pid)
        open_findings, top_findings = _open_findings(uow, pid)
        feedback, recent_feedback = _feedback(uow, pid)
        return ProductOverview(
            product=ProductSummary(**product_fields(product)),
            schedule=product_schedule(product.phase, product.target_launch_date, today),
            timeline=phase_timeline(product.phase, product.created_at.date(), decisions, builds),
            gate_decisions=decisions,
            revisions=_iterations(uow, pid, revisions, builds, latest, specs),
            builds=tuple(reversed(builds)),
            characteristic_count=n_chars,
            ctq_count=n_ctq,
            latest_specs=specs[builds[-1].id] if builds else None,
            requirements=_requirements(uow, pid),
            open_findings=open_findings,
            top_open_findings=top_findings,
            feedback=feedback,
            recent_feedback=recent_feedback,
        )


def _open_findings(
    uow: UnitOfWork, product_id: int
) -> tuple[Tally[Severity], tuple[FindingRow, ...]]:
    """The product's open findings by severity, and the most severe of them."""
    is_product = Finding.product_id == product_id
    by_severity = open_findings_by(uow, Finding.product_id, is_product)
    top = select(Finding).where(is_product, Finding.status.in_(OPEN_FINDING_STATUSES))
    return (
        by_severity.get(product_id, severity_tally({})),
        finding_rows(uow, most_severe_first(top).limit(TOP_OPEN_FINDINGS)),
    )


def _feedback(uow: UnitOfWork, product_id: int) -> tuple[FeedbackSummary, tuple[FeedbackRow, ...]]:
    """The product's feedback summary, and its most recent entries."""
    is_product = Feedback.product_id == product_id
    summary = feedback_summaries(uow, Feedback.product_id, is_product)
    recent = newest_first(select(Feedback).where(is_product)).limit(RECENT_FEEDBACK)
    return summary.get(product_id, FeedbackSummary.none()), feedback_rows(uow, recent)


def _revisions(uow: UnitOfWork, product_id: int) -> list[Revision]:
    found = uow.session.scalars(select(Revision).where(Revision.product_id == product_id))
    return sorted(found, key=lambda r: revision_sort_key(r.code))


def _build_rows(
    uow: UnitOfWork, product_id: int, rev_code: Mapping[int, str], today: dt.date
) -> list[BuildRow]:
    """The product's builds, oldest first, with unit counts and yields."""
    rows = uow.session.execute(
        select(Build, Partner.name, Line.name)
        .outerjoin(Partner, Partner.id == Build.partner_id)
        .outerjoin(Line, Line.id == Build.line_id)
        .where(Build.product_id == product_id)
    ).all()
    # Counted by build, so each build's units are counted from an index on build_id alone.
    unit_counts = dict(
        uow.session.execute(
            select(Unit.build_id, func.count())
            .where(Unit.build_id.in_(select(Build.id).where(Build.product_id == product_id)))
            .group_by(Unit.build_id)
        ).all()
    )
    stations = _station_counts(uow, [b.id for b, _, _ in rows])
    builds = [
        BuildRow(
            **build_fields(
                b,
                revision=rev_code.get(b.revision_id, ""),
                partner=partner,
                line=line,
                unit_count=unit_counts.get(b.id, 0),
                rty=rolled_yield(stations.get(b.id, [])),
                today=today,
            )
        )
        for b, partner, line in rows
    ]
    return sorted(builds, key=lambda b: build_age_key(b.start_date, b.id))


def _station_counts(uow: UnitOfWork, build_ids: Sequence[int]) -> dict[int, list[tuple[int, int]]]:
    """Per build: (passed first, first attempts) of each station, from the aggregates."""
    stat = BuildStationStat
    counts: dict[int, list[tuple[int, int]]] = {}
    for build_id, ok, attempts in uow.session.execute(
        select(stat.build_id, stat.first_pass_ok, stat.first_attempts).where(
            stat.build_id.in_(build_ids)
        )
    ):
        counts.setdefault(build_id, []).append((ok, attempts))
    return counts


def _characteristic_counts(uow: UnitOfWork, product_id: int) -> tuple[int, int]:
    """How many characteristics the product has, and how many of them are CTQ."""
    n_chars, n_ctq = uow.session.execute(
        select(func.count(), func.count(case((Characteristic.ctq.is_(True), 1))))
        .select_from(Characteristic)
        .where(Characteristic.product_id == product_id)
    ).one()
    return int(n_chars), int(n_ctq)


def _latest_per_revision(builds: Sequence[BuildRow]) -> dict[str, BuildRow]:
    latest: dict[str, BuildRow] = {}
    for b in builds:  # oldest first, so the last one written wins
        latest[b.revision] = b
    return latest


def _specs(
    uow: UnitOfWork, builds: Sequence[BuildRow], latest: Mapping[str, BuildRow]
) -> dict[int, SpecsMet]:
    """Specs met on the latest build of each revision and on the latest build of all."""
    wanted = {b.id: b.code for b in latest.values()}
    if builds:
        wanted[builds[-1].id] = builds[-1].code
    return specs_met(uow, list(wanted.items()))


def _iterations(
    uow: UnitOfWork,
    product_id: int,
    revisions: Sequence[Revision],
    builds: Sequence[BuildRow],
    latest: Mapping[str, BuildRow],
    specs: Mapping[int, SpecsMet],
) -> tuple[RevisionIteration, ...]:
    open_by_rev, all_by_rev = _findings_per_revision(uow, product_id)
    feedback = feedback_summaries(uow, Feedback.revision_id, Feedback.product_id == product_id)
    return tuple(
        RevisionIteration(
            code=r.code,
            description=r.description,
            status=r.status,
            released_on=r.released_on,
            build_count=sum(1 for b in builds if b.revision == r.code),
            specs=specs[latest[r.code].id] if r.code in latest else None,
            open_findings=open_by_rev.get(r.id, 0),
            findings_total=all_by_rev.get(r.id, 0),
            feedback=feedback.get(r.id, FeedbackSummary.none()),
        )
        for r in revisions
    )


def _findings_per_revision(
    uow: UnitOfWork, product_id: int
) -> tuple[dict[int | None, int], dict[int | None, int]]:
    """Open findings and all findings of the product, per revision id."""
    is_open = case((Finding.status.in_(OPEN_FINDING_STATUSES), 1))
    open_by_rev: dict[int | None, int] = {}
    all_by_rev: dict[int | None, int] = {}
    for rev_id, n_open, n_all in uow.session.execute(
        select(Finding.revision_id, func.count(is_open), func.count())
        .where(Finding.product_id == product_id)
        .group_by(Finding.revision_id)
    ):
        open_by_rev[rev_id], all_by_rev[rev_id] = n_open, n_all
    return open_by_rev, all_by_rev


def _gate_decisions(uow: UnitOfWork, product_id: int) -> tuple[GateDecisionRow, ...]:
    return tuple(
        GateDecisionRow(
            from_phase=d.from_phase,
            to_phase=d.to_phase,
            outcome=d.outcome,
            decided_at=d.decided_at,
            decided_by=d.decided_by,
            rationale=d.rationale,
        )
        for d in uow.session.scalars(decisions_of(product_id))
    )


def _requirements(uow: UnitOfWork, product_id: int) -> tuple[RequirementCount, ...]:
    """Requirement counts per MoSCoW priority that has any, by status."""
    counts: dict[Priority, dict[RequirementStatus, int]] = {}
    for priority, status, n in uow.session.execute(
        select(Requirement.priority, Requirement.status, func.count())
        .where(Requirement.product_id == product_id)
        .group_by(Requirement.priority, Requirement.status)
    ):
        counts.setdefault(priority, {})[status] = n
    return tuple(
        RequirementCount(priority=p, by_status=Tally.of(RequirementStatus, counts[p]))
        for p in Priority
        if p in counts
    )
