"""The build page: the build, its stations and characteristics, and its list of units."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, select

from phasegate.domain.enums import Allocation, Outcome, Phase, UnitStatus
from phasegate.domain.errors import NotFound
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.services.access import authorize, scoped
from phasegate.services.paging import KeysetPage, Window, check_page, parse_optional_enum
from phasegate.services.read.product import BuildRow, build_fields
from phasegate.services.read.rows import OPEN_FINDING_STATUSES, SpecsMet, Tally, specs_met
from phasegate.services.read.unit import UnitSummary
from phasegate.services.read.yields import rolled_yield, station_fpy
from phasegate.stats.yields import YieldResult
from phasegate.store.bulk import CharacteristicTotals, StationTotals, totals_of
from phasegate.store.models import (
    Build,
    BuildCharacteristicStat,
    BuildDefectCount,
    BuildStationStat,
    BuildUnitCount,
    Characteristic,
    Defect,
    Finding,
    Line,
    Partner,
    Product,
    Revision,
    Station,
    StationPass,
    Unit,
)
from phasegate.store.search import identifier_contains_text
from phasegate.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class BuildDetail(BuildRow):
    """A build with its product and purpose, for the build page."""

    product_key: str
    product_name: str
    product_phase: Phase
    purpose: str


@dataclass(frozen=True, slots=True)
class StationStat(StationTotals):
    """Passes of one build at one station, from the ``BuildStationStat`` aggregate."""

    station_id: int
    name: str
    sequence: int
    planned_cycle_time_s: float | None

    @property
    def fpy(self) -> YieldResult | None:
        """First-pass yield: units that passed at their first attempt / units that made one,
        with its Wilson interval; ``None`` before any first attempt."""
        return station_fpy(self.first_pass_ok, self.first_attempts)

    @property
    def mean_cycle_time_s(self) -> float | None:
        n = self.cycle_time_count
        return self.cycle_time_total_s / n if n else None

    @property
    def cycle_time_sd_s(self) -> float | None:
        """Sample standard deviation from the running sums, sqrt((Σx² − (Σx)²/n) / (n − 1))."""
        n = self.cycle_time_count
        if n < 2:
            return None
        variance = (self.cycle_time_total_sq - self.cycle_time_total_s**2 / n) / (n - 1)
        return math.sqrt(max(variance, 0.0))


@dataclass(frozen=True, slots=True)
class CharacteristicStat(CharacteristicTotals):
    """One characteristic's measurements on one build, from ``BuildCharacteristicStat``."""

    characteristic_id: int
    name: str
    unit: str
    ctq: bool
    lsl: float | None
    usl: float | None
    target: float | None
    met: bool  # by the units' final results, as ``specs_met`` judges it
    first_pass_failures: int

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def out_of_spec(self) -> int:
        return self.below_lsl + self.above_usl


@dataclass(frozen=True, slots=True)
class BuildOverview:
    build: BuildDetail
    by_status: Tally[UnitStatus]  # every status, in enum order
    by_allocation: Tally[Allocation]
    stations: tuple[StationStat, ...]
    characteristics: tuple[CharacteristicStat, ...]
    specs: SpecsMet
    open_findings: int
    defect_count: int

    @property
    def has_station_passes(self) -> bool:
        return any(s.passes for s in self.stations)


def build_overview(uow: UnitOfWork, build_id: int, *, actor: Principal) -> BuildOverview:
    """Everything the build page shows except the unit list (see ``build_units``)."""
    authorize(actor, Action.READ, Kind.BUILD)
    with uow:
        build, product, revision, partner, line = _build(uow, build_id, actor)
        statuses, allocations = _unit_counts(uow, build_id)
        by_status = Tally.of(UnitStatus, statuses)
        stations = _stations(uow, build)
        specs = specs_met(uow, [(build.id, build.code)])[build.id]
        detail = BuildDetail(
            **build_fields(
                build,
                revision=revision,
                partner=partner,
                line=line,
                unit_count=by_status.total,
                rty=rolled_yield([(s.first_pass_ok, s.first_attempts) for s in stations]),
            ),
            product_key=product.key,
            product_name=product.name,
            product_phase=product.phase,
            purpose=build.purpose,
        )
        return BuildOverview(
            build=detail,
            by_status=by_status,
            by_allocation=Tally.of(Allocation, allocations),
            stations=stations,
            characteristics=_characteristics(uow, build_id, specs),
            specs=specs,
            open_findings=_count(
                uow,
                select(func.count())
                .select_from(Finding)
                .where(Finding.build_id == build_id, Finding.status.in_(OPEN_FINDING_STATUSES)),
            ),
            defect_count=_count(
                uow, select(BuildDefectCount.n).where(BuildDefectCount.build_id == build_id)
            ),
        )


def _build(uow: UnitOfWork, build_id: int, actor: Principal) -> Any:
    """The build with its product, revision code, partner and line names, or ``NotFound``
    (also for a build outside a partner user's scope)."""
    stmt = (
        select(Build, Product, Revision.code, Partner.name, Line.name)
        .join(Product, Product.id == Build.product_id)
        .join(Revision, Revision.id == Build.revision_id)
        .outerjoin(Partner, Partner.id == Build.partner_id)
        .outerjoin(Line, Line.id == Build.line_id)
        .where(Build.id == build_id)
    )
    row = uow.session.execute(scoped(stmt, actor, Build)).first()
    if row is None:
        raise NotFound(f"build {build_id} does not exist")
    return row


def _count(uow: UnitOfWork, stmt: Select[Any]) -> int:
    return int(uow.session.scalar(stmt) or 0)


def _unit_counts(uow: UnitOfWork, build_id: int) -> tuple[Counter[UnitStatus], Counter[Allocation]]:
    """The build's units by status and by allocation, from the maintained counts (a few rows,
    whatever the size of the build)."""
    by_status: Counter[UnitStatus] = Counter()
    by_allocation: Counter[Allocation] = Counter()
    counts = BuildUnitCount
    for status, allocation, n in uow.session.execute(
        select(counts.status, counts.allocation, counts.n).where(counts.build_id == build_id)
    ):
        by_status[status] += n
        by_allocation[allocation] += n
    return by_status, by_allocation


def _stations(uow: UnitOfWork, build: Build) -> tuple[StationStat, ...]:
    """Stations with passes of this build, and the idle stations of its line, in line order."""
    stat = BuildStationStat
    rows: list[tuple[Station, BuildStationStat | None]] = [
        (st, agg)
        for st, agg in uow.session.execute(
            select(Station, stat)
            .join(stat, (stat.station_id == Station.id) & (stat.build_id == build.id))
            .order_by(Station.line_id, Station.sequence)
        )
    ]
    if build.line_id is not None:
        seen = {st.id for st, _ in rows}
        idle = uow.session.scalars(
            select(Station).where(Station.line_id == build.line_id).order_by(Station.sequence)
        )
        rows += [(st, None) for st in idle if st.id not in seen]
        rows.sort(key=lambda r: (r[0].line_id != build.line_id, r[0].sequence))
    return tuple(_station_stat(st, agg) for st, agg in rows)


def _station_stat(st: Station, agg: BuildStationStat | None) -> StationStat:
    return StationStat(
        **totals_of(StationTotals, agg or StationTotals.none()),
        station_id=st.id,
        name=st.name,
        sequence=st.sequence,
        planned_cycle_time_s=st.planned_cycle_time_s,
    )


def _characteristics(
    uow: UnitOfWork, build_id: int, specs: SpecsMet
) -> tuple[CharacteristicStat, ...]:
    """Characteristics measured on the build, CTQs first, then by name."""
    cstat = BuildCharacteristicStat
    return tuple(
        CharacteristicStat(
            **totals_of(CharacteristicTotals, agg),
            characteristic_id=c.id,
            name=c.name,
            unit=c.unit,
            ctq=c.ctq,
            lsl=c.lsl,
            usl=c.usl,
            target=c.target,
            met=(verdict := specs.of(c.id)) is not None and verdict.met,
            first_pass_failures=verdict.first_pass_failures if verdict else 0,
        )
        for c, agg in uow.session.execute(
            select(Characteristic, cstat)
            .join(cstat, cstat.characteristic_id == Characteristic.id)
            .where(cstat.build_id == build_id)
            .order_by(Characteristic.ctq.desc(), Characteristic.name)
        )
    )


@dataclass(frozen=True, slots=True)
class UnitRow(UnitSummary):
    """A unit in the build's list, with counts of its passes and defects."""

    passes: int
    failed_passes: int
    last_station: str | None
    last_activity: dt.datetime | None
    defects: int


UnitQuery = Select[int, str, UnitStatus, Allocation]


def build_units(
    uow: UnitOfWork,
    build_id: int,
    *,
    actor: Principal,
    status: UnitStatus | str | None = None,
    allocation: Allocation | str | None = None,
    q: str | None = None,
    limit: int = 50,
    window: Window | None = None,
) -> KeysetPage[UnitRow]:
    """A page of the build's units in serial order, filtered by status, allocation and a text
    found in the serial (whatever its case), reached by key: ``window`` says after or before
    which serial the page starts, or that it is the last page (the first page by default).

    One query reads the page, from the build's serial index (the last page and the pages before
    a key read it backwards), one more than asked to learn whether there are more; the total
    comes from the maintained counts, and is not counted for a search (``total`` is ``None``).
    """
    authorize(actor, Action.READ, Kind.UNIT)
    check_page(limit, 0)
    window = window or Window()
    wanted_status = parse_optional_enum(UnitStatus, "status", status)
    wanted_allocation = parse_optional_enum(Allocation, "allocation", allocation)
    search = q.strip() if q else ""
    with uow:
        product = uow.session.execute(
            scoped(
                select(Product.id, Product.key)
                .join(Build, Build.product_id == Product.id)
                .where(Build.id == build_id),
                actor,
                Build,
            )
        ).first()
        if product is None:
            raise NotFound(f"build {build_id} does not exist")
        product_key = product.key
        stmt = _units_matching(build_id, wanted_status, wanted_allocation, search)
        # Always true (a build's units are of its product); it lets the (build, product,
        # serial) index give the units in serial order.
        stmt = stmt.where(Unit.product_id == product.id)
        units, more = _window_of(uow, stmt, window, limit)
        total = None if search else _unit_total(uow, build_id, wanted_status, wanted_allocation)
        return KeysetPage(
            items=_unit_rows(uow, product_key, units),
            limit=limit,
            total=total,
            next_key=_next_key(units, window, more),
            previous_key=_previous_key(units, window, more),
            start=_start(window, total, len(units)),
        )


def _window_of(
    uow: UnitOfWork, stmt: UnitQuery, window: Window, limit: int
) -> tuple[list[Any], bool]:
    """The units of the page in serial order, and whether more lie beyond it in the direction
    it was read (one more row is read to tell)."""
    if window.after is not None:
        stmt = stmt.where(Unit.serial > window.after)
    if window.before is not None:
        stmt = stmt.where(Unit.serial < window.before)
    order = Unit.serial.desc() if window.backwards else Unit.serial
    stmt = stmt.order_by(order).limit(limit + 1)
    if window.offset:
        stmt = stmt.offset(window.offset)
    rows = list(uow.session.execute(stmt).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return (rows[::-1] if window.backwards else rows), more


def _next_key(units: Sequence[Any], window: Window, more: bool) -> str | None:
    """The serial the next page starts after: there is a next page when reading forwards found
    more, or when the page was read backwards from a key (the key's own page follows)."""
    if not units or window.last:
        return None
    has_next = window.before is not None or more
    return str(units[-1].serial) if has_next else None


def _previous_key(units: Sequence[Any], window: Window, more: bool) -> str | None:
    """The serial the previous page ends before: there is a previous page when reading
    backwards found more, or when the page starts after a key or at an offset."""
    if not units:
        return None
    has_previous = more if window.backwards else (window.after is not None or window.offset > 0)
    return str(units[0].serial) if has_previous else None


def _start(window: Window, total: int | None, shown: int) -> int | None:
    """Position of the page's first unit, where it is known without counting."""
    if not shown:
        return None
    if window.last:
        return None if total is None else max(total - shown + 1, 1)
    if window.after is None and window.before is None:
        return window.offset + 1
    return None


def _unit_total(
    uow: UnitOfWork, build_id: int, status: UnitStatus | None, allocation: Allocation | None
) -> int:
    """The build's units of this status and allocation, from the maintained counts."""
    counts = BuildUnitCount
    stmt = select(func.coalesce(func.sum(counts.n), 0)).where(counts.build_id == build_id)
    if status is not None:
        stmt = stmt.where(counts.status == status)
    if allocation is not None:
        stmt = stmt.where(counts.allocation == allocation)
    return _count(uow, stmt)


def _units_matching(
    build_id: int, status: UnitStatus | None, allocation: Allocation | None, search: str
) -> UnitQuery:
    stmt = select(Unit.id, Unit.serial, Unit.status, Unit.allocation).where(
        Unit.build_id == build_id
    )
    if status is not None:
        stmt = stmt.where(Unit.status == status)
    if allocation is not None:
        stmt = stmt.where(Unit.allocation == allocation)
    if search:
        stmt = stmt.where(identifier_contains_text(Unit.serial, search))
    return stmt


def _unit_rows(uow: UnitOfWork, product_key: str, units: Sequence[Any]) -> tuple[UnitRow, ...]:
    ids = [u.id for u in units]
    if not ids:
        return ()
    passes = _pass_counts(uow, ids)
    last = _last_passes(uow, ids)
    defects = _defect_counts(uow, ids)
    return tuple(
        UnitRow(
            id=u.id,
            serial=u.serial,
            product_key=product_key,
            status=u.status,
            allocation=u.allocation,
            passes=passes.get(u.id, (0, 0))[0],
            failed_passes=passes.get(u.id, (0, 0))[1],
            last_station=last.get(u.id, (None, None))[0],
            last_activity=last.get(u.id, (None, None))[1],
            defects=defects.get(u.id, 0),
        )
        for u in units
    )


def _pass_counts(uow: UnitOfWork, unit_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Per unit: station passes, and those that did not pass."""
    failed = case((StationPass.result != Outcome.PASS, 1), else_=0)
    rows = uow.session.execute(
        select(StationPass.unit_id, func.count(), func.sum(failed))
        .where(StationPass.unit_id.in_(unit_ids))
        .group_by(StationPass.unit_id)
    )
    return {unit_id: (n, int(n_failed or 0)) for unit_id, n, n_failed in rows}


def _last_passes(
    uow: UnitOfWork, unit_ids: Sequence[int]
) -> dict[int, tuple[str | None, dt.datetime | None]]:
    """Per unit: the station and start of its latest pass."""
    ranked = (
        select(
            StationPass.unit_id,
            StationPass.started_at,
            Station.name,
            func.row_number()
            .over(
                partition_by=StationPass.unit_id,
                order_by=(StationPass.started_at.desc(), StationPass.id.desc()),
            )
            .label("rank"),
        )
        .join(Station, Station.id == StationPass.station_id)
        .where(StationPass.unit_id.in_(unit_ids))
        .subquery()
    )
    rows = uow.session.execute(
        select(ranked.c.unit_id, ranked.c.name, ranked.c.started_at).where(ranked.c.rank == 1)
    )
    return {unit_id: (name, started) for unit_id, name, started in rows}


def _defect_counts(uow: UnitOfWork, unit_ids: Sequence[int]) -> dict[int, int]:
    stmt = (
        select(Defect.unit_id, func.count())
        .where(Defect.unit_id.in_(unit_ids))
        .group_by(Defect.unit_id)
    )
    return dict(uow.session.execute(stmt).all())
