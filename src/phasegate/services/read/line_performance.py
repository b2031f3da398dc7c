"""Line performance of a build: cycle times, bottleneck, takt, balance, flow, yield, rework.

Per station the count, mean and CV of the cycle times and the first-pass yield come from the
maintained ``BuildStationStat`` aggregate; the median, the 90th percentile, the trend over the
unit index, the waiting time, the rework loops and the work in process need the passes
themselves, of which only the columns they use are read (unit, station, start, end, result).
The takt time is the build's line's working calendar over the product's target annual volume.
The computing is ``phasegate.line``'s; this module loads the data and shapes the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Float, Integer, cast, extract, func, select

from phasegate.domain.enums import Outcome, Phase, UnitStatus
from phasegate.domain.errors import NotFound, invalid
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.line import (
    DEFAULT_CALENDAR,
    BalanceResult,
    CycleStats,
    FlowResult,
    Moments,
    PassTable,
    StationResult,
    StationRouting,
    StationSpec,
    TaktResult,
    TrendResult,
    WorkingCalendar,
    insufficient,
    line_performance,
    takt_time,
)
from phasegate.services.access import authorize, scoped
from phasegate.services.read.yields import CONFIDENCE, rolled_yield, station_fpy
from phasegate.stats.yields import RolledYieldResult, YieldResult
from phasegate.store.models import (
    Build,
    BuildStationStat,
    Line,
    Product,
    Station,
    StationPass,
    Unit,
)
from phasegate.store.uow import UnitOfWork

Shown = float | str
"""A number, or what stands in for it when there was too little data to compute it."""


def shown(value: float | None, n: int) -> Shown:
    """``value``, or "insufficient data (n = ...)" when it could not be computed from ``n``."""
    return insufficient(n) if value is None else value


@dataclass(frozen=True, slots=True)
class StationPerformance:
    """One station of the build's line: its cycle times, yield, waiting and rework.

    ``passes`` counts every pass (the aggregate's); ``cycle.n`` the passes with a cycle time.
    ``effective_cycle_s`` and ``effective_p90_s`` are the mean and the 90th percentile over the
    parallel ``servers``.
    """

    station_id: int
    name: str
    sequence: int
    servers: int
    planned_cycle_time_s: float | None
    passes: int
    first_attempts: int
    first_pass_ok: int
    cycle: CycleStats
    effective_cycle_s: float | None
    effective_p90_s: float | None
    trend: TrendResult | None
    fpy: YieldResult | None
    routing: StationRouting
    bottleneck: bool

    def detail(self) -> dict[str, Any]:
        """Everything known of the station, JSON-ready; statistics from too little data are
        "insufficient data (n = ...)", the trend ``null`` below three cycle times."""
        c, w = self.cycle, self.routing
        trend = None
        if self.trend is not None:
            trend = {
                "slope_s_per_unit": self.trend.slope_s_per_unit,
                "intercept_s": self.trend.intercept_s,
                "ci": self.trend.ci.as_list(),
                "n": self.trend.n,
                "significant": self.trend.significant(),
            }
        fpy = None
        if self.fpy is not None:
            fpy = {
                "value": self.fpy.yield_frac,
                "ci": self.fpy.ci.as_list(),
                "lower_bound": self.fpy.lower_bound,
                "passed_first": self.fpy.passed,
                "first_attempts": self.fpy.units,
            }
        return {
            "name": self.name,
            "sequence": self.sequence,
            "servers": self.servers,
            "planned_cycle_time_s": self.planned_cycle_time_s,
            "passes": self.passes,
            "n": c.n,
            "mean_s": shown(c.mean_s, c.n),
            "median_s": shown(c.median_s, c.n),
            "p90_s": shown(c.p90_s, c.n),
            "sd_s": shown(c.sd_s, c.n),
            "cv": shown(c.cv, c.n),
            "min_s": c.min_s,
            "max_s": c.max_s,
            "effective_cycle_s": shown(self.effective_cycle_s, c.n),
            "bottleneck": self.bottleneck,
            "trend": trend,
            "fpy": fpy,
            "waiting": {
                "n": w.waits,
                "mean_s": shown(w.mean_wait_s, w.waits),
                "median_s": shown(w.median_wait_s, w.waits),
            },
            "rework": {
                "visited_units": w.visited_units,
                "reworked_units": w.reworked_units,
                "extra_passes": w.extra_passes,
                "share": shown(w.rework_share(), w.visited_units),
                "loops_back": w.loops_back,
            },
        }

    def contract(self) -> dict[str, Any]:
        """The station in the build report's ``line`` object."""
        c = self.cycle
        fpy: dict[str, Any] = {"value": insufficient(self.first_attempts), "ci": None}
        if self.fpy is not None:
            fpy = {"value": self.fpy.yield_frac, "ci": self.fpy.ci.as_list()}
        return {
            "name": self.name,
            "n": c.n,
            "cycle_mean_s": shown(c.mean_s, c.n),
            "cycle_p90_s": shown(c.p90_s, c.n),
            "cycle_cv": shown(c.cv, c.n),
            "fpy": fpy,
        }


@dataclass(frozen=True, slots=True)
class BuildLinePerformance:
    """The line performance of one build.

    ``takt`` is ``None`` when the product has no target annual volume; ``balance`` when no
    station has cycle times; ``flow`` when the build has no passes. ``throughput_per_hour`` is
    the bottleneck's capacity while the line works (3600 / its effective cycle time); the
    observed rate, over the whole window of the passes (idle time included), is
    ``flow.throughput_per_hour``.
    """

    build_id: int
    build_code: str
    product_key: str
    phase: Phase
    line: str | None
    calendar: WorkingCalendar
    annual_demand: int | None
    takt: TaktResult | None
    stations: tuple[StationPerformance, ...]
    balance: BalanceResult | None
    flow: FlowResult | None
    rty: RolledYieldResult | None
    passes: int
    confidence: float

    @property
    def bottleneck(self) -> StationPerformance | None:
        return next((s for s in self.stations if s.bottleneck), None)

    @property
    def throughput_per_hour(self) -> float | None:
        return None if self.balance is None else self.balance.capacity_per_hour()

    @property
    def meets_takt(self) -> bool | None:
        """Whether the bottleneck's effective cycle time is within the takt time."""
        if self.balance is None or self.takt is None:
            return None
        return self.balance.bottleneck_s <= self.takt.takt_s

    @property
    def cycle_times(self) -> int:
        return sum(s.cycle.n for s in self.stations)

    def contract(self) -> dict[str, Any]:
        """The build report's ``line`` object: ``{"takt_s", "bottleneck", "balance_efficiency",
        "throughput_per_hour", "stations": [...]}``; a value computed from too little data is
        "insufficient data (n = ...)", the takt time ``null`` without an annual volume."""
        n = self.cycle_times
        bottleneck = self.bottleneck
        return {
            "takt_s": None if self.takt is None else self.takt.takt_s,
            "bottleneck": None if bottleneck is None else bottleneck.name,
            "balance_efficiency": shown(
                None if self.balance is None else self.balance.efficiency, n
            ),
            "throughput_per_hour": shown(self.throughput_per_hour, n),
            "stations": [s.contract() for s in self.stations],
        }

    def detail(self) -> dict[str, Any]:
        """What the line object leaves out, JSON-ready: the calendar and the demand, the flow
        (WIP, flow time, observed throughput, Little's law), the RTY and each station's detail."""
        cal, flow = self.calendar, self.flow
        return {
            "line": self.line,
            "calendar": {
                "shifts_per_day": cal.shifts_per_day,
                "hours_per_shift": cal.hours_per_shift,
                "days_per_year": cal.days_per_year,
                "available_s_per_year": cal.available_s_per_year(),
            },
            "annual_demand": self.annual_demand,
            "meets_takt": self.meets_takt,
            "bottleneck_effective_cycle_s": None
            if self.balance is None
            else self.balance.bottleneck_s,
            "balance_delay": None if self.balance is None else self.balance.balance_delay(),
            "passes": self.passes,
            "confidence": self.confidence,
            "rty": None
            if self.rty is None
            else {"value": self.rty.yield_frac, "ci": self.rty.ci.as_list()},
            "flow": None
            if flow is None
            else {
                "units": flow.units,
                "finished": flow.finished,
                "through": flow.through,
                "window_s": flow.window_s,
                "mean_wip": flow.mean_wip,
                "max_wip": flow.max_wip,
                "mean_flow_s": shown(flow.mean_flow_s, flow.finished),
                "median_flow_s": shown(flow.median_flow_s, flow.finished),
                "throughput_per_hour": shown(flow.throughput_per_hour, flow.finished),
                "littles_wip": shown(flow.littles_wip, flow.finished),
            },
            "stations": [s.detail() for s in self.stations],
        }

    def document(self) -> dict[str, Any]:
        """The whole answer of the API and of ``--format json``: the build, the line object of
        the build report and the detail."""
        return {
            "build": self.build_code,
            "product": self.product_key,
            "phase": self.phase.value,
            "line": self.contract(),
            "detail": self.detail(),
        }


def build_line_performance(
    uow: UnitOfWork, build_id: int, *, actor: Principal, confidence: float = CONFIDENCE
) -> BuildLinePerformance:
    """The line performance of build ``build_id``; ``NotFound`` if it is not there (or not
    visible to ``actor``)."""
    authorize(actor, Action.READ, Kind.BUILD)
    authorize(actor, Action.READ, Kind.TEST_DATA)
    if not 0 < confidence < 1:
        raise invalid("confidence", f"must be between 0 and 1, got {confidence!r}")
    with uow:
        return _performance(
            uow, _build(uow, Build.id == build_id, str(build_id), actor), confidence
        )


def find_build_id(
    uow: UnitOfWork, code: str, *, actor: Principal, product: str | None = None
) -> int:
    """The id of the build with ``code`` (any case), of ``product`` (key, any case) if given;
    ``NotFound`` when there is none, ``InvalidInput`` naming ``product`` when several products
    have a build with that code."""
    authorize(actor, Action.READ, Kind.BUILD)
    stmt = select(Build.id).where(func.lower(Build.code) == code.lower())
    if product is not None:
        stmt = stmt.join(Product, Product.id == Build.product_id).where(
            func.lower(Product.key) == product.lower()
        )
    with uow:
        found = list(uow.session.scalars(scoped(stmt, actor, Build).limit(2)))
    if not found:
        of = f" of product {product!r}" if product is not None else ""
        raise NotFound(f"build {code!r}{of} does not exist")
    if len(found) > 1:
        raise invalid("product", f"build {code!r} is in several products: name the product")
    return int(found[0])


def _build(
    uow: UnitOfWork, where: ColumnElement[bool], shown_as: str, actor: Principal
) -> tuple[Build, Product, Line | None]:
    stmt = (
        select(Build, Product, Line)
        .join(Product, Product.id == Build.product_id)
        .outerjoin(Line, Line.id == Build.line_id)
        .where(where)
    )
    row = uow.session.execute(scoped(stmt, actor, Build)).first()
    if row is None:
        raise NotFound(f"build {shown_as} does not exist")
    return row[0], row[1], row[2]


def _performance(
    uow: UnitOfWork, found: tuple[Build, Product, Line | None], confidence: float
) -> BuildLinePerformance:
    build, product, line = found
    rows = _pass_rows(uow, build.id)
    stations = _stations(uow, build, {r[1] for r in rows})
    passes = _pass_table(rows, {st.id: i for i, (st, _) in enumerate(stations)})
    calendar = DEFAULT_CALENDAR if line is None else _calendar(line)
    demand = product.target_annual_volume
    takt = takt_time(calendar, demand) if demand else None
    specs = [
        StationSpec(st.name, st.servers or 1, _moments(agg) if agg is not None else None)
        for st, agg in stations
    ]
    result = None
    if specs:
        left = _units_out_of_the_line(uow, build.id)
        result = line_performance(specs, passes, takt, left_units=left, confidence=confidence)
    shown_stations: tuple[StationPerformance, ...] = ()
    if result is not None:
        bottleneck = result.bottleneck()
        shown_stations = tuple(
            _station(st, agg, result.stations[i], i == bottleneck, confidence)
            for i, (st, agg) in enumerate(stations)
        )
    return BuildLinePerformance(
        build_id=build.id,
        build_code=build.code,
        product_key=product.key,
        phase=build.phase,
        line=None if line is None else line.name,
        calendar=calendar,
        annual_demand=demand,
        takt=takt,
        stations=shown_stations,
        balance=None if result is None else result.balance,
        flow=None if result is None else result.flow,
        rty=rolled_yield([(s.first_pass_ok, s.first_attempts) for s in shown_stations], confidence),
        passes=int(passes.unit.size),
        confidence=confidence,
    )


# A unit in any other status is done with the line, whether or not it passed its last station.
IN_THE_LINE = (UnitStatus.IN_PROCESS, UnitStatus.REWORK)


def _units_out_of_the_line(uow: UnitOfWork, build_id: int) -> list[int]:
    """The build's units no longer in the line (passed, failed, scrapped, shipped, ...)."""
    stmt = select(Unit.id).where(Unit.build_id == build_id, Unit.status.not_in(IN_THE_LINE))
    return list(uow.session.scalars(stmt))


def _calendar(line: Line) -> WorkingCalendar:
    return WorkingCalendar(line.shifts_per_day, line.hours_per_shift, line.days_per_year)


def _moments(agg: BuildStationStat) -> Moments:
    return Moments(agg.cycle_time_count, agg.cycle_time_total_s, agg.cycle_time_total_sq)


def _station(
    st: Station,
    agg: BuildStationStat | None,
    result: StationResult,
    bottleneck: bool,
    confidence: float,
) -> StationPerformance:
    first_attempts = agg.first_attempts if agg is not None else 0
    first_pass_ok = agg.first_pass_ok if agg is not None else 0
    return StationPerformance(
        station_id=st.id,
        name=st.name,
        sequence=st.sequence,
        servers=st.servers or 1,
        planned_cycle_time_s=st.planned_cycle_time_s,
        passes=agg.passes if agg is not None else 0,
        first_attempts=first_attempts,
        first_pass_ok=first_pass_ok,
        cycle=result.cycle,
        effective_cycle_s=result.effective_cycle_s(),
        effective_p90_s=result.effective_p90_s(),
        trend=result.trend,
        fpy=station_fpy(first_pass_ok, first_attempts, confidence),
        routing=result.routing,
        bottleneck=bottleneck,
    )


def _stations(
    uow: UnitOfWork, build: Build, passed: set[int]
) -> list[tuple[Station, BuildStationStat | None]]:
    """The build's line's stations in flow order with their aggregates, then any other station
    the build's units passed (``passed``: the stations of its passes)."""
    stat = BuildStationStat
    aggregates = {
        agg.station_id: agg
        for agg in uow.session.scalars(select(stat).where(stat.build_id == build.id))
    }
    on_line: list[Station] = []
    if build.line_id is not None:
        on_line = list(
            uow.session.scalars(
                select(Station).where(Station.line_id == build.line_id).order_by(Station.sequence)
            )
        )
    others = (set(aggregates) | passed) - {st.id for st in on_line}
    if others:
        on_line += list(
            uow.session.scalars(
                select(Station)
                .where(Station.id.in_(sorted(others)))
                .order_by(Station.line_id, Station.sequence)
            )
        )
    return [(st, aggregates.get(st.id)) for st in on_line]


def _seconds(column: Any, dialect: str) -> Any:
    """``column`` (a UTC datetime) as seconds since 1970, computed by the database, so that
    no datetime object is made per pass. SQLite keeps ``YYYY-MM-DD HH:MM:SS.ffffff``: whole
    seconds from ``strftime('%s')`` plus the microsecond digits, exact like the aggregates'."""
    if dialect == "postgresql":
        return cast(extract("epoch", column), Float)
    micro = cast(func.substr(column, 21), Integer) / 1_000_000.0
    return cast(func.strftime("%s", column), Integer) + micro


def _pass_rows(uow: UnitOfWork, build_id: int) -> list[Any]:
    """The build's passes, only the columns the analysis needs, times in seconds."""
    dialect = uow.session.get_bind().dialect.name
    return list(
        uow.session.execute(
            select(
                StationPass.unit_id,
                StationPass.station_id,
                _seconds(StationPass.started_at, dialect),
                _seconds(StationPass.ended_at, dialect),
                StationPass.result,
            )
            .join(Unit, Unit.id == StationPass.unit_id)
            .where(Unit.build_id == build_id)
        ).all()
    )


def _pass_table(rows: Sequence[Any], position: dict[int, int]) -> PassTable:
    """The passes as arrays, each station by its position in the flow."""
    if not rows:
        return PassTable.of([], [], [], [], [])
    unit, station, started, ended, result = zip(*rows, strict=True)
    return PassTable.of(
        unit,
        [position[s] for s in station],
        np.array(started, dtype=np.float64),
        np.array(ended, dtype=np.float64),  # a pass still running has no end: None -> NaN
        [r == Outcome.PASS for r in result],
    )
