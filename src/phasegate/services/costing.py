"""The cost of a build: records behind it (parts, BOMs, issues, rates, tooling) and its roll-up.

Where the numbers come from:

- material: the BOM of the build's revision (``bom_lines``), priced at the build's units built
  by each part's price breaks, plus the variance of the parts issued to the build
  (``material_issues``) against that standard; a build with no issue recorded has none;
- labor: per station, the build's summed cycle times (the maintained ``build_station_stats``,
  every pass counted, reworked ones too) times the station's operators
  (``station_labor_rates``, 1 when not set), over the units built, at the station's labor rate
  or else the line's (``line_cost_rates``);
- overhead: the line's overhead rate, a fraction of direct labor cost;
- tooling: the product's tooling investments, each over its amortisation volume;
- scrap: units whose status is scrapped; rework: the cost of the defects dispositioned rework.

The learning curve is fitted to each unit's labor hours (summed over its passes, times the
operators) against its position in the build (units in the order they were registered), over
the units that passed through every station the build used; a build of more than
``MAX_CURVE_UNITS`` units is sampled at an even stride. The projection takes the curve to unit
number ``target_annual_volume`` and prices the BOM at that volume (``costing.project``).
What cannot be computed is said, with why, in ``BuildCost.missing`` — never a made-up number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import bindparam, case, func, select, text

from phasegate import costing
from phasegate.domain.enums import Disposition, Phase, UnitStatus
from phasegate.domain.errors import FieldError, InvalidInput, NotFound
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.services.access import authorize, require_visible, scoped
from phasegate.services.crud import Resource
from phasegate.services.products import resolve_product
from phasegate.services.read.defects import find_build
from phasegate.store.models import (
    Base,
    BomLine,
    Build,
    BuildStationStat,
    Defect,
    Line,
    LineCostRate,
    MaterialIssue,
    Part,
    PartPriceBreak,
    Product,
    Revision,
    Station,
    StationLaborRate,
    ToolingInvestment,
    Unit,
)
from phasegate.store.uow import UnitOfWork

M = TypeVar("M", bound=Base)

# A learning curve needs at least this many units that went through every station.
MIN_CURVE_UNITS = 3
# At most this many units are read for a learning curve; a larger build is sampled evenly.
MAX_CURVE_UNITS = 5_000


# --- the records ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CostResource(Resource[M]):
    """A costing record type, governed in the policy table by an existing kind of record.

    Parts, price breaks and BOM lines are design data (``revision``: engineers); rates are the
    line's (``line``: operations); material issues and tooling belong to making the product
    (``build``: engineers and operations).
    """

    policy_kind: Kind = Kind.REVISION

    @property
    def kind(self) -> Kind:
        return self.policy_kind


def _not_negative(obj: Any, *names: str) -> list[FieldError]:
    return [
        FieldError(n, f"{getattr(obj, n)} must not be negative")
        for n in names
        if getattr(obj, n) is not None and getattr(obj, n) < 0
    ]


def _check_part(uow: UnitOfWork, p: Part) -> list[FieldError]:
    return _not_negative(p, "standard_cost")


PARTS = CostResource(
    name="part",
    model=Part,
    required=("number", "standard_cost"),
    optional=("description", "sourced", "single_source", "sourcing_risk_accepted"),
    immutable=("number",),
    unique=(("number",),),
    identifiers=("number",),
    filters=("number",),
    search=("number", "description"),
    order_by=("number",),
    check=_check_part,
    describe=lambda p: p.number,
)


def _check_price_break(uow: UnitOfWork, b: PartPriceBreak) -> list[FieldError]:
    errors = _not_negative(b, "unit_cost")
    if b.min_quantity is not None and b.min_quantity <= 0:
        errors.append(FieldError("min_quantity", f"{b.min_quantity} must be above 0"))
    return errors


PRICE_BREAKS = CostResource(
    name="price break",
    model=PartPriceBreak,
    required=("part_id", "min_quantity", "unit_cost"),
    immutable=("part_id",),
    references={"part_id": Part},
    unique=(("part_id", "min_quantity"),),
    filters=("part_id",),
    order_by=("part_id", "min_quantity"),
    check=_check_price_break,
    describe=lambda b: f"#{b.id} from {b.min_quantity:g}",
)


def _check_bom_line(uow: UnitOfWork, line: BomLine) -> list[FieldError]:
    errors = []
    if line.quantity_per_unit is not None and line.quantity_per_unit <= 0:
        errors.append(FieldError("quantity_per_unit", f"{line.quantity_per_unit} must be above 0"))
    allowance = line.scrap_allowance
    if allowance is not None and not 0 <= allowance < 1:
        errors.append(FieldError("scrap_allowance", f"{allowance} is not a fraction from 0 to 1"))
    return errors


BOM_LINES = CostResource(
    name="bom line",
    model=BomLine,
    required=("product_id", "revision_id", "part_id", "quantity_per_unit"),
    optional=("scrap_allowance",),
    immutable=("product_id", "revision_id", "part_id"),
    references={"product_id": Product, "revision_id": Revision, "part_id": Part},
    unique=(("revision_id", "part_id"),),
    filters=("product_id", "revision_id", "part_id"),
    order_by=("product_id", "revision_id", "id"),
    check=_check_bom_line,
    describe=lambda line: f"#{line.id}",
)


def _check_issue(uow: UnitOfWork, issue: MaterialIssue) -> list[FieldError]:
    """The part issued is on the BOM of the build's revision: only then has it a standard."""
    build = uow.session.get(Build, issue.build_id)
    if build is None:
        return []
    on_bom = uow.session.scalar(
        select(BomLine.id).where(
            BomLine.revision_id == build.revision_id, BomLine.part_id == issue.part_id
        )
    )
    if on_bom is None:
        return [FieldError("part_id", f"part {issue.part_id} is not on the build's BOM")]
    return []


MATERIAL_ISSUES = CostResource(
    name="material issue",
    model=MaterialIssue,
    required=("build_id", "part_id", "quantity"),
    optional=("issued_on", "note"),
    immutable=("build_id",),
    references={"build_id": Build, "part_id": Part},
    filters=("build_id", "part_id"),
    search=("note",),
    order_by=("build_id", "id"),
    check=_check_issue,
    describe=lambda i: f"#{i.id}",
    policy_kind=Kind.BUILD,
)


def _check_line_rate(uow: UnitOfWork, r: LineCostRate) -> list[FieldError]:
    return _not_negative(r, "labor_rate_per_hour", "overhead_rate")


LINE_COST_RATES = CostResource(
    name="line cost rate",
    model=LineCostRate,
    required=("line_id", "labor_rate_per_hour"),
    optional=("overhead_rate",),
    immutable=("line_id",),
    references={"line_id": Line},
    unique=(("line_id",),),
    filters=("line_id",),
    order_by=("line_id",),
    check=_check_line_rate,
    describe=lambda r: f"of line {r.line_id}",
    policy_kind=Kind.LINE,
)


def _check_station_rate(uow: UnitOfWork, r: StationLaborRate) -> list[FieldError]:
    errors = _not_negative(r, "labor_rate_per_hour")
    if r.operators is not None and r.operators <= 0:
        errors.append(FieldError("operators", f"{r.operators} must be above 0"))
    return errors


STATION_LABOR_RATES = CostResource(
    name="station labor rate",
    model=StationLaborRate,
    required=("station_id",),
    optional=("operators", "labor_rate_per_hour"),
    immutable=("station_id",),
    references={"station_id": Station},
    unique=(("station_id",),),
    filters=("station_id",),
    order_by=("station_id",),
    check=_check_station_rate,
    describe=lambda r: f"of station {r.station_id}",
    policy_kind=Kind.LINE,
)


def _check_tooling(uow: UnitOfWork, t: ToolingInvestment) -> list[FieldError]:
    errors = _not_negative(t, "cost")
    if t.amortisation_volume is not None and t.amortisation_volume < 1:
        errors.append(
            FieldError("amortisation_volume", f"{t.amortisation_volume} must be 1 or more")
        )
    return errors


TOOLING = CostResource(
    name="tooling investment",
    model=ToolingInvestment,
    required=("product_id", "name", "cost", "amortisation_volume"),
    immutable=("product_id",),
    references={"product_id": Product},
    unique=(("product_id", "name"),),
    filters=("product_id",),
    search=("name",),
    order_by=("product_id", "name"),
    check=_check_tooling,
    describe=lambda t: t.name,
    policy_kind=Kind.BUILD,
)


# --- the cost of a build -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartCost:
    """One BOM line of the build: its standard cost per unit and what was issued against it."""

    part: str
    description: str
    quantity_per_unit: float
    scrap_allowance: float
    unit_price: float
    cost_per_unit: float
    standard_quantity: float
    issued_quantity: float | None
    cost_variance: float | None


@dataclass(frozen=True, slots=True)
class StationCost:
    """Labor at one station of the build, per unit built."""

    station: str
    sequence: int
    operators: float
    hours_per_unit: float
    rate_per_hour: float
    cost_per_unit: float


@dataclass(frozen=True, slots=True)
class CurvePoints:
    """The units the learning curve was fitted to: position in the build and labor hours."""

    units: tuple[int, ...]
    hours: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class BuildCost:
    """A build's cost per unit, its breakdown, learning curve and projection, against target.

    ``cost`` is None when the build lacks what a cost needs (``missing`` says what);
    ``projection`` is None when the learning curve or the target volume is missing.
    """

    build_id: int
    build: str
    product: str
    phase: Phase
    revision: str
    line: str | None
    units_built: int
    units_scrapped: int
    rework_cost: float
    target: float | None
    volume: int | None
    parts: tuple[PartCost, ...]
    stations: tuple[StationCost, ...]
    cost: costing.UnitCost | None
    curve: costing.LearningCurve | None
    points: CurvePoints | None
    projection: costing.Projection | None
    waterfall: tuple[costing.WaterfallStep, ...]
    overhead_rate: float | None
    missing: tuple[str, ...] = field(default=())

    @property
    def over_target(self) -> bool | None:
        """Whether the cost per good unit is above the target; None without either."""
        if self.cost is None or self.target is None:
            return None
        return self.cost.per_good_unit > self.target

    def contract(self) -> dict[str, float | int | None]:
        """The ``cost`` object of the build report (DESIGN.md, "Build analytics").

        ``per_unit`` is per unit built; ``material + labor + overhead + scrap + tooling`` is
        ``per_good_unit`` (``scrap`` is scrap and rework); ``projected_per_unit_at_volume`` is
        the cost per good unit projected to ``volume``.
        """
        c = self.cost
        return {
            "per_unit": c.per_unit if c else None,
            "per_good_unit": c.per_good_unit if c else None,
            "material": c.material if c else None,
            "labor": c.labor if c else None,
            "overhead": c.overhead if c else None,
            "scrap": c.scrap if c else None,
            "tooling": c.tooling if c else None,
            "projected_per_unit_at_volume": (
                self.projection.per_good_unit if self.projection else None
            ),
            "volume": self.volume,
            "target": self.target,
        }


def build_cost(
    uow: UnitOfWork, code: str, *, product: str | None = None, actor: Principal
) -> BuildCost:
    """The cost of the build with this code (in ``product`` when the code is ambiguous)."""
    ref = find_build(uow, code, product=product, actor=actor)
    return build_cost_by_id(uow, ref.id, actor=actor)


def build_cost_by_id(uow: UnitOfWork, build_id: int, *, actor: Principal) -> BuildCost:
    """The cost of build ``build_id``; ``NotFound`` when it is not there or outside the scope."""
    authorize(actor, Action.READ, Kind.BUILD)
    with uow:
        build = uow.session.get(Build, build_id)
        if build is None:
            raise NotFound(f"build {build_id} does not exist")
        require_visible(uow, actor, build, label="build")
        return _Costing(uow, build).result()


def latest_line_build_cost(uow: UnitOfWork, product: str, *, actor: Principal) -> BuildCost | None:
    """The cost of the product's latest pilot or production build; None when it has none."""
    found = resolve_product(uow, product, actor=actor)
    with uow:
        stmt = (
            select(Build.id)
            .where(Build.product_id == found.id, Build.phase != Phase.PROTOTYPE)
            .order_by(Build.start_date.desc().nulls_last(), Build.id.desc())
            .limit(1)
        )
        build_id = uow.session.scalar(scoped(stmt, actor, Build))
    return None if build_id is None else build_cost_by_id(uow, build_id, actor=actor)


class _Costing:
    """Reads what the cost of one build needs and hands it to ``phasegate.costing``."""

    def __init__(self, uow: UnitOfWork, build: Build) -> None:
        self.uow = uow
        self.session = uow.session
        self.build = build
        self.product = self.session.get_one(Product, build.product_id)
        self.revision = self.session.get_one(Revision, build.revision_id)
        self.line = self.session.get(Line, build.line_id) if build.line_id else None
        self.missing: list[str] = []

    def result(self) -> BuildCost:
        built, scrapped = self._unit_counts()
        rework = self._rework_cost()
        bom = self._bom()
        rate = self._line_rate()
        stations = self._stations(built, rate)
        if not bom:
            self.missing.append(f"revision {self.revision.code} has no BOM")
        if built == 0:
            self.missing.append("no units built")
        elif scrapped >= built:
            self.missing.append("every unit was scrapped")
        material = costing.roll_up_material(bom, built) if bom and built else None
        variance = self._variance(material, built) if material is not None else None
        cost = None
        if material is not None and rate is not None and stations and scrapped < built:
            cost = costing.roll_up(
                material,
                [
                    costing.StationLabor(s.station, s.hours_per_unit, s.rate_per_hour)
                    for s in stations
                ],
                overhead_rate=rate.overhead_rate,
                tooling=self._tooling(),
                units_built=built,
                units_scrapped=scrapped,
                rework_cost=rework,
                variance=variance,
            )
        points = self._curve_points() if cost is not None else None
        curve = self._fit(points)
        projection = self._project(cost, bom, curve, rate)
        target = self.product.target_unit_cost
        return BuildCost(
            build_id=self.build.id,
            build=self.build.code,
            product=self.product.key,
            phase=self.build.phase,
            revision=self.revision.code,
            line=self.line.name if self.line else None,
            units_built=built,
            units_scrapped=scrapped,
            rework_cost=rework,
            target=target,
            volume=self.product.target_annual_volume,
            parts=self._parts(material, variance),
            stations=tuple(stations),
            cost=cost,
            curve=curve,
            points=points,
            projection=projection,
            waterfall=costing.waterfall(cost, target) if cost is not None else (),
            overhead_rate=rate.overhead_rate if rate is not None else None,
            missing=tuple(self.missing),
        )

    # -- reads -----------------------------------------------------------------------------------

    def _unit_counts(self) -> tuple[int, int]:
        scrapped = case((Unit.status == UnitStatus.SCRAPPED, 1), else_=0)
        row = self.session.execute(
            select(func.count(Unit.id), func.coalesce(func.sum(scrapped), 0)).where(
                Unit.build_id == self.build.id
            )
        ).one()
        return int(row[0]), int(row[1])

    def _rework_cost(self) -> float:
        total = self.session.scalar(
            select(func.coalesce(func.sum(Defect.cost), 0.0))
            .join(Unit, Unit.id == Defect.unit_id)
            .where(Unit.build_id == self.build.id, Defect.disposition == Disposition.REWORK)
        )
        return float(total or 0.0)

    def _bom(self) -> list[costing.BomLine]:
        rows = self.session.execute(
            select(Part.id, Part.number, Part.description, Part.standard_cost, BomLine)
            .join(BomLine, BomLine.part_id == Part.id)
            .where(BomLine.revision_id == self.revision.id)
            .order_by(BomLine.id)
        ).all()
        breaks: dict[int, list[costing.PriceBreak]] = defaultdict(list)
        part_ids = [r[0] for r in rows]
        for pb in self.session.scalars(
            select(PartPriceBreak).where(PartPriceBreak.part_id.in_(part_ids))
        ):
            breaks[pb.part_id].append(costing.PriceBreak(pb.min_quantity, pb.unit_cost))
        return [
            costing.BomLine(
                part=number,
                quantity_per_unit=line.quantity_per_unit,
                standard_cost=standard,
                scrap_allowance=line.scrap_allowance,
                price_breaks=tuple(breaks[part_id]),
                description=description,
            )
            for part_id, number, description, standard, line in rows
        ]

    def _issued(self) -> dict[str, float]:
        rows = self.session.execute(
            select(Part.number, func.sum(MaterialIssue.quantity))
            .join(Part, Part.id == MaterialIssue.part_id)
            .where(MaterialIssue.build_id == self.build.id)
            .group_by(Part.number)
        ).all()
        return {number: float(total) for number, total in rows}

    def _variance(
        self, material: costing.MaterialRollUp, built: int
    ) -> costing.MaterialVariance | None:
        issued = self._issued()
        if not issued:
            return None
        try:
            return costing.material_variance(material, issued, built)
        except InvalidInput as error:
            # Issues recorded before the BOM changed: say which, and cost without a variance.
            self.missing.append(f"material variance: {error.message}")
            return None

    def _line_rate(self) -> LineCostRate | None:
        if self.line is None:
            self.missing.append(f"a {self.build.phase.value} build without a line has no labor")
            return None
        rate = self.session.scalar(select(LineCostRate).where(LineCostRate.line_id == self.line.id))
        if rate is None:
            self.missing.append(f"line {self.line.name} has no labor rate")
        return rate

    def _stations(self, built: int, rate: LineCostRate | None) -> list[StationCost]:
        if rate is None or built == 0:
            return []
        rows = self.session.execute(
            select(Station, BuildStationStat.cycle_time_total_s, StationLaborRate)
            .join(BuildStationStat, BuildStationStat.station_id == Station.id)
            .outerjoin(StationLaborRate, StationLaborRate.station_id == Station.id)
            .where(BuildStationStat.build_id == self.build.id)
            .where(BuildStationStat.cycle_time_count > 0)
            .order_by(Station.sequence)
        ).all()
        if not rows:
            self.missing.append("no timed station passes")
        stations = []
        for station, seconds, own in rows:
            operators = own.operators if own is not None else 1.0
            hourly = (
                own.labor_rate_per_hour
                if own is not None and own.labor_rate_per_hour is not None
                else rate.labor_rate_per_hour
            )
            hours = seconds * operators / 3600.0 / built
            stations.append(
                StationCost(
                    station.name, station.sequence, operators, hours, hourly, hours * hourly
                )
            )
        return stations

    def _tooling(self) -> list[costing.Tooling]:
        return [
            costing.Tooling(t.name, t.cost, t.amortisation_volume)
            for t in self.session.scalars(
                select(ToolingInvestment)
                .where(ToolingInvestment.product_id == self.product.id)
                .order_by(ToolingInvestment.name)
            )
        ]

    def _curve_points(self) -> CurvePoints:
        """Each complete unit's labor hours, at its position among the build's units.

        Units count in the order they were registered (their ids). A build of more than
        ``MAX_CURVE_UNITS`` units is sampled at an even stride, so the cost of a build of any
        size reads a bounded number of passes.
        """
        unit_ids = np.fromiter(
            self.session.scalars(
                select(Unit.id).where(Unit.build_id == self.build.id).order_by(Unit.id)
            ),
            dtype=np.int64,
        )
        stride = max(1, -(-unit_ids.size // MAX_CURVE_UNITS))  # ceiling division
        chosen = np.arange(0, unit_ids.size, stride)
        if chosen.size == 0:
            return CurvePoints((), ())
        seconds = _pass_seconds(self.session.get_bind().dialect.name)
        stmt = text(
            f"SELECT p.unit_id, sum({seconds} * coalesce(r.operators, 1.0)), "
            "count(DISTINCT p.station_id) "
            "FROM station_passes p "
            "LEFT JOIN station_labor_rates r ON r.station_id = p.station_id "
            "WHERE p.unit_id IN :units AND p.ended_at IS NOT NULL "
            "GROUP BY p.unit_id"
        ).bindparams(bindparam("units", expanding=True))
        rows = self.session.execute(stmt, {"units": unit_ids[chosen].tolist()}).all()
        labor = {int(r[0]): (float(r[1]) / 3600.0, int(r[2])) for r in rows}
        if not labor:
            return CurvePoints((), ())
        most = max(visited for _, visited in labor.values())
        units, hours = [], []
        for index in chosen.tolist():
            found = labor.get(int(unit_ids[index]))
            if found is not None and found[1] == most and found[0] > 0:
                units.append(index + 1)
                hours.append(found[0])
        return CurvePoints(tuple(units), tuple(hours))

    def _fit(self, points: CurvePoints | None) -> costing.LearningCurve | None:
        if points is None:
            return None
        if len(set(points.units)) < MIN_CURVE_UNITS:
            self.missing.append(
                f"a learning curve needs {MIN_CURVE_UNITS} units through every station "
                f"(n = {len(points.units)})"
            )
            return None
        return costing.fit_learning_curve(points.units, points.hours)

    def _project(
        self,
        cost: costing.UnitCost | None,
        bom: list[costing.BomLine],
        curve: costing.LearningCurve | None,
        rate: LineCostRate | None,
    ) -> costing.Projection | None:
        volume = self.product.target_annual_volume
        if cost is None or curve is None or rate is None:
            return None
        if not volume:
            self.missing.append(f"product {self.product.key} has no target annual volume")
            return None
        return costing.project(
            cost,
            costing.roll_up_material(bom, volume),
            curve,
            overhead_rate=rate.overhead_rate,
            volume=volume,
        )

    def _parts(
        self, material: costing.MaterialRollUp | None, variance: costing.MaterialVariance | None
    ) -> tuple[PartCost, ...]:
        if material is None:
            return ()
        by_part: Mapping[str, costing.PartVariance] = (
            {p.part: p for p in variance.parts} if variance is not None else {}
        )
        parts = []
        for line in material.lines:
            v = by_part.get(line.part)
            parts.append(
                PartCost(
                    part=line.part,
                    description=line.description,
                    quantity_per_unit=line.quantity_per_unit,
                    scrap_allowance=line.scrap_allowance,
                    unit_price=line.unit_price,
                    cost_per_unit=line.cost_per_unit,
                    standard_quantity=material.volume * line.gross_quantity,
                    issued_quantity=v.issued_quantity if v else None,
                    cost_variance=v.cost_variance if v else None,
                )
            )
        return tuple(parts)


def _pass_seconds(dialect: str) -> str:
    """A pass's duration in seconds, as the station aggregates compute it (``store/bulk.py``)."""
    if dialect == "postgresql":
        return "EXTRACT(EPOCH FROM (p.ended_at - p.started_at))::float8"
    # Whole seconds from strftime plus the microsecond digits of the stored text.
    return (
        "((CAST(strftime('%s', p.ended_at) AS INTEGER) "
        "- CAST(strftime('%s', p.started_at) AS INTEGER)) "
        "+ (CAST(substr(p.ended_at, 21) AS INTEGER) "
        "- CAST(substr(p.started_at, 21) AS INTEGER)) / 1000000.0)"
    )


@dataclass(frozen=True, slots=True)
class LearningChart:
    """What a chart of the learning curve shows: units observed (at most ``max_points``, an
    even sample) and the fitted curve with its confidence band from unit 1 to the target
    volume (or the last unit observed, if later), at log-spaced units."""

    units: tuple[int, ...]
    hours: tuple[float, ...]
    line_units: tuple[float, ...]
    fitted: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    confidence: float


def learning_chart(
    result: BuildCost, *, max_points: int = 400, line_points: int = 60
) -> LearningChart | None:
    """The learning curve of ``result`` ready to draw; None without a curve."""
    curve, points = result.curve, result.points
    if curve is None or points is None:
        return None
    step = max(1, -(-len(points.units) // max_points))
    last = max(points.units[-1], result.volume or 0)
    xs = np.unique(np.geomspace(1.0, float(last), line_points))
    bands = [curve.band(float(x)) for x in xs]
    return LearningChart(
        units=points.units[::step],
        hours=points.hours[::step],
        line_units=tuple(float(x) for x in xs),
        fitted=tuple(curve.predict(float(x)) for x in xs),
        low=tuple(b.low for b in bands),
        high=tuple(b.high for b in bands),
        confidence=curve.confidence,
    )


SHEET_COLUMNS = ("component", "item", "cost_per_unit")


def cost_sheet(result: BuildCost) -> list[dict[str, Any]]:
    """The cost sheet: one row per part, station and component, then the totals, the
    projection and the target (``SHEET_COLUMNS``); empty when the build has no cost."""
    c = result.cost
    if c is None:
        return []

    def row(component: str, item: str, value: float) -> dict[str, Any]:
        return {"component": component, "item": item, "cost_per_unit": value}

    rows = [row("material", p.part, p.cost_per_unit) for p in result.parts]
    rows.append(row("material", "variance (issued vs standard)", c.material_variance))
    rows += [row("labor", s.station, s.cost_per_unit) for s in result.stations]
    rows += [
        row("overhead", f"{result.overhead_rate or 0:.0%} of labor", c.overhead),
        row("tooling", "amortisation", c.tooling),
        row("scrap", "rework", c.rework),
        row("scrap", f"scrapped units (yield {c.yield_frac:.1%})", c.yield_loss),
        row("total", "per unit built", c.per_unit),
        row("total", "per good unit", c.per_good_unit),
    ]
    if result.projection is not None:
        rows.append(
            row("projection", f"per good unit at {result.volume:,} units",
                result.projection.per_good_unit)
        )  # fmt: skip
    if result.target is not None:
        rows.append(row("target", "target", result.target))
    return rows


def as_dict(result: BuildCost) -> dict[str, Any]:
    """The whole cost of a build as JSON-ready data: the contract object and its breakdown."""
    curve = result.curve
    projection = result.projection
    return {
        "build": result.build,
        "product": result.product,
        "phase": result.phase.value,
        "revision": result.revision,
        "line": result.line,
        "units_built": result.units_built,
        "units_scrapped": result.units_scrapped,
        "cost": result.contract(),
        "breakdown": _breakdown(result.cost),
        "parts": [
            {
                "part": p.part,
                "description": p.description,
                "quantity_per_unit": p.quantity_per_unit,
                "scrap_allowance": p.scrap_allowance,
                "unit_price": p.unit_price,
                "cost_per_unit": p.cost_per_unit,
                "standard_quantity": p.standard_quantity,
                "issued_quantity": p.issued_quantity,
                "cost_variance": p.cost_variance,
            }
            for p in result.parts
        ],
        "stations": [
            {
                "station": s.station,
                "operators": s.operators,
                "hours_per_unit": s.hours_per_unit,
                "rate_per_hour": s.rate_per_hour,
                "cost_per_unit": s.cost_per_unit,
            }
            for s in result.stations
        ],
        "learning_curve": None
        if curve is None
        else {
            "n": curve.n,
            "first_unit_hours": curve.first_unit,
            "exponent": curve.exponent,
            "learning_rate": curve.learning_rate,
            "learning_rate_ci": curve.learning_rate_ci().as_list(),
            "r_squared": curve.r_squared,
            "confidence": curve.confidence,
        },
        "projection": None
        if projection is None
        else {
            "volume": projection.volume,
            "labor_hours": projection.labor_hours,
            "material": projection.material,
            "labor": projection.labor,
            "overhead": projection.overhead,
            "tooling": projection.tooling,
            "rework": projection.rework,
            "yield": projection.yield_frac,
            "per_good_unit": projection.per_good_unit,
            "ci": projection.band.as_list(),
        },
        "waterfall": [
            {"label": s.label, "value": s.value, "measure": s.measure} for s in result.waterfall
        ],
        "missing": list(result.missing),
    }


def _breakdown(cost: costing.UnitCost | None) -> dict[str, float | int] | None:
    if cost is None:
        return None
    return {
        "material_standard": cost.material_standard,
        "material_variance": cost.material_variance,
        "labor_hours": cost.labor_hours,
        "rework": cost.rework,
        "yield_loss": cost.yield_loss,
        "yield": cost.yield_frac,
        "units_good": cost.units_good,
    }
