"""The evidence a gate is judged on, gathered from the database (``phasegate.gates.Evidence``).

Every field comes from the service that shows the same number on a page, so a gate and the page
behind each of its criteria never disagree, and every read goes to the maintained aggregates or
to one build's rows, never to a product's measurements in bulk:

- **requirements**: the product's requirements, with the characteristics linked to each;
- **latest build**: the latest build (by start date, then id) of the product's current phase;
  its **characteristics** are every characteristic of the product, measured there or not (an
  unmeasured one has ``n = 0``), with ``n``, the mean, Cpk and the chart's run-rule signals of
  ``read.characteristic.build_characteristics`` and, as ``out_of_spec``, the units whose final
  result is outside the limits (``read.rows.specs_met``: a retest that passed clears a unit).
  A characteristic counts as charted once it has ``MIN_CHART_POINTS`` subgroups; there is no
  record of a signal being resolved yet, so every signal on the chart counts as open;
- **findings**: every finding of the product (open: open, investigating or fixed);
- **BOM**, **part sourcing** and **cost**: ``services.costing`` on the latest build (the BOM of
  its revision; a part whose price is 0 counts as not costed); the projected unit cost is the
  latest pilot or production build's cost per good unit projected to the target volume;
- **pilot partner and line**: those of the product's latest pilot build, planned or done
  (choosing them is planning the pilot build);
- **budgets**: per phase, the builds' budgets and actual costs summed (``None`` when none of
  the phase's builds has one);
- **intended line**: the line of the latest production build when one is planned, else that of
  the latest pilot build; **pilot builds**: every pilot build with its line and units built
  (its recorded actual quantity, else the units registered);
- **FPY** and **line performance**: the latest pilot build, as its build report and line page
  show them (``read.build_report``, ``read.line_performance``): first-pass counts per unit,
  the bottleneck's effective cycle time against the takt time, and the demand per working hour;
  the simulated throughput is the line model of the pilot build's passes
  (``services.line_model``) run through the line simulation (:func:`simulated_throughput`);
- **control plan** and **gauges**: ``services.control_plan.ctq_coverage`` for the latest
  build's revision; only a released plan counts; each CTQ's gauge is its best-supported
  covering gauge with that gauge's latest study;
- **go-to-market** checklist and **regulatory** units: the product's checklist items, and the
  pilot builds' units allocated to regulatory approval against the product's
  ``regulatory_units_required``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from phasegate.domain.enums import Allocation, Phase
from phasegate.domain.errors import InvalidInput
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.gates import (
    BomEvidence,
    BudgetEvidence,
    CharacteristicEvidence,
    ChecklistItem,
    ControlPlanEvidence,
    CostEvidence,
    Evidence,
    FindingEvidence,
    FpyEvidence,
    GaugeEvidence,
    LineEvidence,
    PartSourcing,
    PilotBuildEvidence,
    RegulatoryEvidence,
    RequirementEvidence,
)
from phasegate.services.access import authorize, scoped
from phasegate.services.allocation import allocation_counts
from phasegate.services.control_plan import ctq_coverage
from phasegate.services.costing import BuildCost, build_cost_by_id, latest_line_build_cost
from phasegate.services.line_model import line_from_build
from phasegate.services.products import resolve_product
from phasegate.services.read.build_report import _first_pass_units as first_pass_units
from phasegate.services.read.characteristic import MIN_CHART_POINTS, build_characteristics
from phasegate.services.read.line_performance import build_line_performance
from phasegate.services.read.rows import build_age_key, specs_met
from phasegate.store.models import (
    Build,
    BuildUnitCount,
    Characteristic,
    ControlPlanStatus,
    Finding,
    GtmChecklistItem,
    Line,
    Part,
    Partner,
    Product,
    Requirement,
)
from phasegate.store.uow import UnitOfWork

__all__ = ["BuildFacts", "gather_evidence", "simulated_throughput"]

SECONDS_PER_HOUR = 3600.0
# The simulation behind throughput_vs_demand: small, seeded, so an evaluation stays quick and
# gives the same number for the same passes.
SIMULATED_UNITS = 2_000
SIMULATION_WARMUP = 200
SIMULATION_REPLICATIONS = 5
SIMULATION_SEED = 0


@dataclass(frozen=True, slots=True)
class BuildFacts:
    """One build of the product as the evidence needs it."""

    id: int
    code: str
    phase: Phase
    revision_id: int
    line: str | None
    partner: str | None
    budget: float | None
    actual_cost: float | None
    actual_quantity: int | None
    start_date: dt.date | None

    @property
    def age(self) -> tuple[bool, dt.date, int]:
        return build_age_key(self.start_date, self.id)


def _latest(builds: Sequence[BuildFacts], phase: Phase) -> BuildFacts | None:
    of_phase = [b for b in builds if b.phase is phase]
    return max(of_phase, key=lambda b: b.age) if of_phase else None


def _builds(uow: UnitOfWork, product: Product, actor: Principal) -> list[BuildFacts]:
    stmt = (
        select(
            Build.id,
            Build.code,
            Build.phase,
            Build.revision_id,
            Line.name.label("line"),
            Partner.name.label("partner"),
            Build.budget,
            Build.actual_cost,
            Build.actual_quantity,
            Build.start_date,
        )
        .outerjoin(Line, Line.id == Build.line_id)
        .outerjoin(Partner, Partner.id == Build.partner_id)
        .where(Build.product_id == product.id)
        .order_by(Build.id)
    )
    with uow:
        rows = uow.session.execute(scoped(stmt, actor, Build)).all()
    return [BuildFacts(**row._asdict()) for row in rows]


def _requirements(uow: UnitOfWork, product: Product) -> tuple[RequirementEvidence, ...]:
    with uow:
        reqs = list(
            uow.session.scalars(
                select(Requirement)
                .where(Requirement.product_id == product.id)
                .order_by(Requirement.key)
            )
        )
        linked = uow.session.execute(
            select(Characteristic.requirement_id, Characteristic.name)
            .where(
                Characteristic.product_id == product.id,
                Characteristic.requirement_id.is_not(None),
            )
            .order_by(Characteristic.name)
        ).all()
    names: dict[int, list[str]] = {}
    for req_id, name in linked:
        if req_id is not None:
            names.setdefault(req_id, []).append(name)
    return tuple(
        RequirementEvidence(r.key, r.title, r.priority, r.status, tuple(names.get(r.id, ())))
        for r in reqs
    )


def _characteristics(
    uow: UnitOfWork, product: Product, build: BuildFacts, actor: Principal
) -> tuple[CharacteristicEvidence, ...]:
    table = build_characteristics(uow, build.id, actor=actor)
    with uow:
        verdicts = specs_met(uow, [(build.id, build.code)])[build.id]
        every = uow.session.execute(
            select(Characteristic.id, Characteristic.name, Characteristic.ctq)
            .where(Characteristic.product_id == product.id)
            .order_by(Characteristic.ctq.desc(), Characteristic.name)
        ).all()
    rows = {row.spec.id: row for row in table.rows}
    out = []
    for char_id, name, ctq in every:
        row = rows.get(char_id)
        if row is None or row.n == 0:
            out.append(CharacteristicEvidence(name, build.code, bool(ctq), 0))
            continue
        verdict = verdicts.of(char_id)
        charted = row.n >= MIN_CHART_POINTS * row.sampling.subgroup_size
        out.append(
            CharacteristicEvidence(
                name=name,
                build=build.code,
                ctq=bool(ctq),
                n=row.n,
                mean=row.mean,
                out_of_spec=verdict.final_failures if verdict else 0,
                cpk=row.cpk,
                open_signals=row.signals if charted else None,
            )
        )
    return tuple(out)


def _findings(uow: UnitOfWork, product: Product, actor: Principal) -> tuple[FindingEvidence, ...]:
    authorize(actor, Action.READ, Kind.FINDING)
    stmt = select(Finding).where(Finding.product_id == product.id).order_by(Finding.id)
    with uow:
        found = list(uow.session.scalars(scoped(stmt, actor, Finding)))
    return tuple(
        FindingEvidence(f.id, f.title, f.category, f.severity, f.status.is_open) for f in found
    )


def _bom(cost: BuildCost, product: Product) -> BomEvidence | None:
    if not cost.parts:
        return None
    costed = [p for p in cost.parts if p.unit_price > 0]
    return BomEvidence(
        revision=cost.revision,
        parts=len(cost.parts),
        uncosted=tuple(p.part for p in cost.parts if p.unit_price <= 0),
        cost_per_unit=sum(p.cost_per_unit for p in costed),
        target_cost=product.target_unit_cost,
    )


def _sourcing(uow: UnitOfWork, cost: BuildCost) -> tuple[PartSourcing, ...] | None:
    if not cost.parts:
        return None
    numbers = sorted({p.part for p in cost.parts})
    with uow:
        parts = list(
            uow.session.scalars(select(Part).where(Part.number.in_(numbers)).order_by(Part.number))
        )
    return tuple(
        PartSourcing(p.number, p.sourced, p.single_source, p.sourcing_risk_accepted) for p in parts
    )


def _projected(cost: BuildCost | None) -> CostEvidence | None:
    if cost is None:
        return None
    contract = cost.contract()
    projected = contract["projected_per_unit_at_volume"]
    volume = contract["volume"]
    return CostEvidence(
        projected_unit_cost=None if projected is None else float(projected),
        volume=None if volume is None else int(volume),
    )


def _budgets(builds: Sequence[BuildFacts]) -> tuple[BudgetEvidence, ...]:
    out = []
    for phase in Phase:
        of_phase = [b for b in builds if b.phase is phase]
        if not of_phase:
            continue
        planned = [b.budget for b in of_phase if b.budget is not None]
        actual = [b.actual_cost for b in of_phase if b.actual_cost is not None]
        out.append(
            BudgetEvidence(
                phase, sum(planned) if planned else None, sum(actual) if actual else None
            )
        )
    return tuple(out)


def _pilot_builds(uow: UnitOfWork, builds: Sequence[BuildFacts]) -> tuple[PilotBuildEvidence, ...]:
    pilots = [b for b in builds if b.phase is Phase.PILOT]
    registered: dict[int, int] = {}
    if pilots:
        with uow:
            for build_id, n in uow.session.execute(
                select(BuildUnitCount.build_id, BuildUnitCount.n).where(
                    BuildUnitCount.build_id.in_([b.id for b in pilots])
                )
            ):
                registered[build_id] = registered.get(build_id, 0) + int(n)
    return tuple(
        PilotBuildEvidence(
            b.code,
            b.line,
            b.actual_quantity if b.actual_quantity is not None else registered.get(b.id, 0),
        )
        for b in pilots
    )


def _fpy(uow: UnitOfWork, build: BuildFacts) -> FpyEvidence | None:
    with uow:
        tested, first_pass = first_pass_units(uow, build.id)
    return FpyEvidence(build.code, first_pass, tested) if tested else None


def simulated_throughput(uow: UnitOfWork, build_id: int, *, actor: Principal) -> float | None:
    """Units per hour the build's line makes in simulation; ``None`` when its passes cannot
    make a line model (no finished pass, a station with neither a pass nor a planned time).

    The line model is ``services.line_model.line_from_build`` with each station's times fitted
    by a lognormal; the simulation runs :data:`SIMULATED_UNITS` units after
    :data:`SIMULATION_WARMUP`, over :data:`SIMULATION_REPLICATIONS` replications from
    :data:`SIMULATION_SEED`, so the same passes give the same number.
    """
    try:
        model = line_from_build(uow, build_id, actor=actor, fit="lognormal")
    except InvalidInput:
        return None
    # Imported here: the compiled simulation takes seconds to load, and only this needs it.
    from phasegate.line.simulation import simulate

    result = simulate(
        model.line,
        SIMULATED_UNITS,
        replications=SIMULATION_REPLICATIONS,
        seed=SIMULATION_SEED,
        warmup=SIMULATION_WARMUP,
    )
    return float(result.throughput_per_hour)


def _line(uow: UnitOfWork, build: BuildFacts, actor: Principal) -> LineEvidence | None:
    perf = build_line_performance(uow, build.id, actor=actor)
    if perf.line is None:
        return None
    bottleneck = perf.bottleneck
    demand = None
    if perf.annual_demand:
        hours = perf.calendar.available_s_per_year() / SECONDS_PER_HOUR
        demand = perf.annual_demand / hours if hours > 0 else None
    return LineEvidence(
        name=perf.line,
        bottleneck=None if bottleneck is None else bottleneck.name,
        bottleneck_cycle_time_s=None if perf.balance is None else perf.balance.bottleneck_s,
        takt_s=None if perf.takt is None else perf.takt.takt_s,
        simulated_throughput_per_hour=simulated_throughput(uow, build.id, actor=actor),
        demand_per_hour=demand,
    )


def _control(
    uow: UnitOfWork, product: Product, latest: BuildFacts | None, actor: Principal
) -> tuple[ControlPlanEvidence | None, tuple[GaugeEvidence, ...]]:
    coverage = ctq_coverage(
        uow, product.id, actor=actor, revision_id=None if latest is None else latest.revision_id
    )
    gauges = tuple(
        GaugeEvidence(
            characteristic=c.name,
            gauge=c.best.gauge if c.best else None,
            pct_grr=c.study.pct_grr_study_var if c.study else None,
            ndc=c.study.ndc if c.study else None,
        )
        for c in coverage.ctqs
    )
    plan = coverage.plan
    if plan is None or plan.status is not ControlPlanStatus.RELEASED:
        return None, gauges
    checked = tuple(c.name for c in coverage.covered)
    return ControlPlanEvidence(plan.name, plan.plan_version or "", checked), gauges


def _checklist(uow: UnitOfWork, product: Product) -> tuple[ChecklistItem, ...]:
    with uow:
        items = uow.session.execute(
            select(GtmChecklistItem.title, GtmChecklistItem.done)
            .where(GtmChecklistItem.product_id == product.id)
            .order_by(GtmChecklistItem.id)
        ).all()
    return tuple(ChecklistItem(title, bool(done)) for title, done in items)


def _regulatory(
    uow: UnitOfWork, product: Product, builds: Sequence[BuildFacts], actor: Principal
) -> RegulatoryEvidence:
    allocated = sum(
        allocation_counts(uow, b.id, actor=actor).counts.count(Allocation.REGULATORY)
        for b in builds
        if b.phase is Phase.PILOT
    )
    return RegulatoryEvidence(allocated, product.regulatory_units_required)


def _line_build_cost(
    uow: UnitOfWork,
    product: Product,
    latest: BuildFacts | None,
    cost: BuildCost | None,
    actor: Principal,
) -> BuildCost | None:
    """The latest pilot or production build's cost: the latest build's when it is one."""
    if latest is not None and latest.phase is not Phase.PROTOTYPE:
        return cost
    return latest_line_build_cost(uow, product.key, actor=actor)


def gather_evidence(uow: UnitOfWork, product: str, to: Phase, *, actor: Principal) -> Evidence:
    """The evidence of ``product`` (key or id) for its gate into ``to``, as of now.

    ``to`` chooses nothing but is kept for the criteria a plan may add; every field is filled
    whatever the gate, so a product override can use any metric. The module docstring says
    where each field comes from.
    """
    authorize(actor, Action.READ, Kind.GATE_DECISION)
    found = resolve_product(uow, product, actor=actor)
    builds = _builds(uow, found, actor)
    latest = _latest(builds, found.phase)
    pilot = _latest(builds, Phase.PILOT)
    production = _latest(builds, Phase.PRODUCTION)
    cost = None if latest is None else build_cost_by_id(uow, latest.id, actor=actor)
    control_plan, gauges = _control(uow, found, latest, actor)
    intended = production.line if production is not None and production.line else None
    return Evidence(
        product=found.key,
        phase=found.phase,
        target_unit_cost=found.target_unit_cost,
        target_annual_volume=found.target_annual_volume,
        requirements=_requirements(uow, found),
        latest_build=None if latest is None else latest.code,
        characteristics=None if latest is None else _characteristics(uow, found, latest, actor),
        findings=_findings(uow, found, actor),
        bom=None if cost is None else _bom(cost, found),
        pilot_partner=None if pilot is None else pilot.partner,
        pilot_line=None if pilot is None else pilot.line,
        budgets=_budgets(builds),
        intended_line=intended or (None if pilot is None else pilot.line),
        pilot_builds=_pilot_builds(uow, builds),
        fpy=None if pilot is None else _fpy(uow, pilot),
        line_performance=None if pilot is None else _line(uow, pilot, actor),
        cost=_projected(_line_build_cost(uow, found, latest, cost, actor)),
        control_plan=control_plan,
        gauges=gauges,
        parts=None if cost is None else _sourcing(uow, cost),
        go_to_market=_checklist(uow, found),
        regulatory=_regulatory(uow, found, builds, actor),
    )
