"""A build's defects: the list with its filters, the Pareto by code and by station, and the
quality rates (DPU, DPMO, scrap and rework rates).

- :func:`build_defects`: one page of the build's defects, newest first, filtered by defect
  code, station, severity and disposition, with the number and cost of every defect matching
  and their counts by severity and by disposition. Pages are keyed (``after`` is the
  ``next_key`` of the page before), so a page costs the same wherever it is in a long list.
- :func:`defect_pareto`: defects grouped by code or by station, ordered by count or by cost,
  with each group's share and the cumulative share (``phasegate.stats.pareto``).
- :func:`defect_summary`: count and cost per code and per station, the ``"defects"`` part of
  the build report (``{"by_code": [{"code", "count", "cost"}], "by_station": [...]}``).
- :func:`quality_rates`: DPU and DPMO with exact Poisson intervals
  (``phasegate.stats.yields``), the scrap and rework rates with Wilson intervals.

Definitions (docs/defects.md says the same for readers):

- units: every unit of the build; defects: every defect recorded on them.
- DPU = defects / units.
- DPMO = 10^6 · defects / (units · opportunities per unit). The opportunities of one unit are
  the product's characteristics (each a specification the unit can miss) plus the stations of
  the build's line (each an operation the unit can be damaged or misbuilt in); at least 1,
  when a build has neither (the unit is then its own one opportunity and DPMO = 10^6 · DPU).
- scrap rate = units whose status is ``scrapped`` / units.
- rework rate = units reworked / units, where a unit is reworked when it went through a station
  more than once (a station pass with ``attempt`` > 1), has a defect dispositioned ``rework``,
  or its status is ``rework``; each unit counts once.

Too little data: the rates need ``MIN_UNITS`` units, the Pareto ``MIN_PARETO_DEFECTS``
defects; below that the results say ``insufficient`` with the ``n`` they had.

Who may: ``Action.READ`` on ``Kind.TEST_DATA``. A partner user sees only its partner's builds;
another build is ``NotFound``, worded as for one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select

from phasegate.domain.enums import Disposition, Severity, UnitStatus
from phasegate.domain.errors import NotFound, invalid
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.services.access import authorize, scoped
from phasegate.services.paging import MAX_PAGE, MAX_SEARCH, parse_optional_enum
from phasegate.services.read.rows import Tally
from phasegate.stats.intervals import Interval, wilson
from phasegate.stats.pareto import pareto
from phasegate.stats.yields import DefectRate, dpmo, dpu
from phasegate.store.models import (
    Build,
    Characteristic,
    Defect,
    DefectCode,
    Product,
    Station,
    StationPass,
    Unit,
)
from phasegate.store.uow import UnitOfWork

__all__ = [
    "MIN_PARETO_DEFECTS",
    "MIN_UNITS",
    "NO_STATION",
    "BuildRef",
    "DefectFilters",
    "DefectPage",
    "DefectPareto",
    "DefectRow",
    "DefectSummary",
    "GroupTotal",
    "ParetoBar",
    "QualityRates",
    "UnitRate",
    "all_build_defects",
    "build_defects",
    "build_ref",
    "defect_pareto",
    "defect_summary",
    "find_build",
    "quality_rates",
]

MIN_UNITS = 1
"""Units the rates need: a rate of no units is undefined."""
MIN_PARETO_DEFECTS = 5
"""Defects a Pareto needs: fewer cannot rank a vital few among the groups."""
NO_STATION = "(none)"
"""The station filter and Pareto group of defects recorded at no station."""
CONFIDENCE = 0.95

By = Literal["code", "station"]
Measure = Literal["count", "cost"]
BY_VALUES: tuple[By, ...] = ("code", "station")
MEASURES: tuple[Measure, ...] = ("count", "cost")


# --- the build ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BuildRef:
    """The build a defect list, Pareto or rate is of."""

    id: int
    code: str
    product_key: str
    line_id: int | None


def _ref(uow: UnitOfWork, where: ColumnElement[bool], actor: Principal) -> list[BuildRef]:
    stmt = (
        select(Build.id, Build.code, Product.key, Build.line_id)
        .join(Product, Product.id == Build.product_id)
        .where(where)
    )
    return [BuildRef(*row) for row in uow.session.execute(scoped(stmt, actor, Build))]


def build_ref(uow: UnitOfWork, build_id: int, *, actor: Principal) -> BuildRef:
    """The build with this id, or ``NotFound`` (also outside a partner user's scope)."""
    found = _ref(uow, Build.id == build_id, actor)
    if not found:
        raise NotFound(f"build {build_id} does not exist")
    return found[0]


def find_build(
    uow: UnitOfWork, code: str, *, product: str | None = None, actor: Principal
) -> BuildRef:
    """The build with this code (whatever its case), in ``product`` when given.

    ``NotFound`` when there is none the actor can see; ``InvalidInput`` on ``product`` when the
    code is used by builds of several products and none was named.
    """
    authorize(actor, Action.READ, Kind.BUILD)
    where = func.lower(Build.code) == code.strip().lower()
    if product is not None:
        where = and_(where, func.lower(Product.key) == product.strip().lower())
    with uow:
        found = _ref(uow, where, actor)
    if not found:
        named = f" of product {product!r}" if product is not None else ""
        raise NotFound(f"build {code!r}{named} does not exist")
    if len(found) > 1:
        keys = ", ".join(sorted(b.product_key for b in found))
        raise invalid("product", f"build {code!r} is in several products ({keys}): name one")
    return found[0]


# --- the list ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DefectFilters:
    """Which defects of a build: by code, station name (``NO_STATION`` for none), severity and
    disposition; ``None`` for any."""

    code: str | None = None
    station: str | None = None
    severity: Severity | None = None
    disposition: Disposition | None = None

    @classmethod
    def parse(
        cls,
        *,
        code: str | None = None,
        station: str | None = None,
        severity: Severity | str | None = None,
        disposition: Disposition | str | None = None,
    ) -> DefectFilters:
        """The filters as given by a person or a client; ``InvalidInput`` names a bad one."""
        return cls(
            code=_text("code", code),
            station=_text("station", station),
            severity=parse_optional_enum(Severity, "severity", severity),
            disposition=parse_optional_enum(Disposition, "disposition", disposition),
        )

    def as_params(self) -> dict[str, str | None]:
        """The filters as query parameters (``None`` where not given)."""
        return {
            "code": self.code,
            "station": self.station,
            "severity": self.severity.value if self.severity else None,
            "disposition": self.disposition.value if self.disposition else None,
        }


def _text(name: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > MAX_SEARCH:
        raise invalid(name, f"is {len(value)} characters long; at most {MAX_SEARCH}")
    return value.strip()


@dataclass(frozen=True, slots=True)
class DefectRow:
    """One defect, with its unit, code and station."""

    id: int
    unit_id: int
    serial: str
    unit_status: UnitStatus
    code: str
    description: str
    category: str
    station: str | None
    severity: Severity
    disposition: Disposition
    cost: float
    found_at: dt.datetime
    notes: str


@dataclass(frozen=True, slots=True)
class DefectPage:
    """One page of a build's defects, newest first, and what the filters match in all."""

    build: BuildRef
    filters: DefectFilters
    items: tuple[DefectRow, ...]
    total: int
    total_cost: float
    units: int  # distinct units with a matching defect
    by_severity: Tally[Severity]
    by_disposition: Tally[Disposition]
    limit: int
    after: str | None
    next_key: str | None

    @property
    def has_next(self) -> bool:
        return self.next_key is not None


def _key_of(row: DefectRow) -> str:
    """The key of the page after ``row``: its time in microseconds since the epoch and its id."""
    micros = round(row.found_at.timestamp() * 1_000_000)
    return f"{micros}.{row.id}"


def _parse_key(key: str) -> tuple[dt.datetime, int]:
    micros, sep, ident = key.strip().partition(".")
    try:
        when = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(micros))
        number = int(ident)
    except (ValueError, OverflowError):
        raise invalid("after", f"{key!r} is not a key of a defect list page") from None
    if not sep or not 0 < number <= 2**63 - 1:
        raise invalid("after", f"{key!r} is not a key of a defect list page")
    return when, number


def _matching(build: BuildRef, f: DefectFilters) -> Select[Any]:
    """The build's defects the filters keep, joined to their unit, code and station."""
    stmt = (
        select(Defect)
        .join(Unit, Unit.id == Defect.unit_id)
        .join(DefectCode, DefectCode.id == Defect.defect_code_id)
        .outerjoin(Station, Station.id == Defect.station_id)
        .where(Unit.build_id == build.id)
    )
    if f.code is not None:
        stmt = stmt.where(func.lower(DefectCode.code) == f.code.lower())
    if f.station == NO_STATION:
        stmt = stmt.where(Defect.station_id.is_(None))
    elif f.station is not None:
        stmt = stmt.where(func.lower(Station.name) == f.station.lower())
    if f.severity is not None:
        stmt = stmt.where(Defect.severity == f.severity)
    if f.disposition is not None:
        stmt = stmt.where(Defect.disposition == f.disposition)
    return stmt


def _check_filters(uow: UnitOfWork, f: DefectFilters) -> None:
    """A code or station that names nothing is a mistake worth saying, not an empty list."""
    if f.code is not None:
        known = select(DefectCode.id).where(func.lower(DefectCode.code) == f.code.lower())
        if uow.session.scalar(known.limit(1)) is None:
            raise invalid("code", f"{f.code!r} is not a defect code")
    if f.station is not None and f.station != NO_STATION:
        known = select(Station.id).where(func.lower(Station.name) == f.station.lower())
        if uow.session.scalar(known.limit(1)) is None:
            raise invalid("station", f"there is no station named {f.station!r}")


def _row_columns() -> tuple[Any, ...]:
    return (
        Defect.id,
        Unit.id,
        Unit.serial,
        Unit.status,
        DefectCode.code,
        DefectCode.description,
        DefectCode.category,
        Station.name,
        Defect.severity,
        Defect.disposition,
        Defect.cost,
        Defect.found_at,
        Defect.notes,
    )


def _page_rows(uow: UnitOfWork, stmt: Select[Any], after: str | None, limit: int) -> list[Any]:
    rows = stmt.with_only_columns(*_row_columns())
    if after is not None:
        when, ident = _parse_key(after)
        rows = rows.where(
            or_(Defect.found_at < when, and_(Defect.found_at == when, Defect.id < ident))
        )
    ordered = rows.order_by(Defect.found_at.desc(), Defect.id.desc()).limit(limit + 1)
    return list(uow.session.execute(ordered))


def build_defects(
    uow: UnitOfWork,
    build_id: int,
    filters: DefectFilters = DefectFilters(),
    *,
    actor: Principal,
    after: str | None = None,
    limit: int = 50,
) -> DefectPage:
    """One page of the build's defects, newest first (then by id), and what matches in all."""
    authorize(actor, Action.READ, Kind.TEST_DATA)
    if not 1 <= limit <= MAX_PAGE:
        raise invalid("limit", f"{limit} is outside 1..{MAX_PAGE}")
    if after is not None:
        _parse_key(after)
    with uow:
        build = build_ref(uow, build_id, actor=actor)
        _check_filters(uow, filters)
        stmt = _matching(build, filters)
        found = _page_rows(uow, stmt, after, limit)
        items = tuple(DefectRow(*row) for row in found[:limit])
        ids = stmt.with_only_columns(Defect.id).subquery()
        total, cost, units = uow.session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Defect.cost), 0.0),
                func.count(Unit.id.distinct()),
            )
            .select_from(Defect)
            .join(Unit, Unit.id == Defect.unit_id)
            .where(Defect.id.in_(select(ids.c.id)))
        ).one()
        severities = _counts(uow, stmt, Defect.severity)
        dispositions = _counts(uow, stmt, Defect.disposition)
    return DefectPage(
        build=build,
        filters=filters,
        items=items,
        total=int(total),
        total_cost=float(cost),
        units=int(units),
        by_severity=Tally.of(Severity, severities),
        by_disposition=Tally.of(Disposition, dispositions),
        limit=limit,
        after=after,
        next_key=_key_of(items[-1]) if len(found) > limit else None,
    )


def _counts(uow: UnitOfWork, stmt: Select[Any], column: Any) -> dict[Any, int]:
    grouped = stmt.with_only_columns(column, func.count()).group_by(column)
    return {value: int(n) for value, n in uow.session.execute(grouped)}


def all_build_defects(
    uow: UnitOfWork,
    build_id: int,
    filters: DefectFilters = DefectFilters(),
    *,
    actor: Principal,
) -> Iterator[DefectRow]:
    """Every defect the filters keep, newest first, read page by page (for a CSV download)."""
    after: str | None = None
    while True:
        page = build_defects(uow, build_id, filters, actor=actor, after=after, limit=MAX_PAGE)
        yield from page.items
        if page.next_key is None:
            return
        after = page.next_key


# --- the Pareto and the summary ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupTotal:
    """The defects of one code or one station: how many, and what they cost."""

    key: str  # the code, the station's name, or NO_STATION
    label: str  # the code's description, the station's name, or "No station"
    count: int
    cost: float


@dataclass(frozen=True, slots=True)
class ParetoBar(GroupTotal):
    """One bar of a Pareto: its group's share of the measure ordered by, and the running sum."""

    share: float
    cumulative_share: float
    vital: bool  # among the groups up to where the cumulative share reaches 80 %


@dataclass(frozen=True, slots=True)
class DefectPareto:
    """A build's defects by code or by station, ordered by count or by cost (descending)."""

    build: BuildRef
    by: By
    measure: Measure
    bars: tuple[ParetoBar, ...]
    total_count: int
    total_cost: float
    min_defects: int = MIN_PARETO_DEFECTS

    @property
    def n(self) -> int:
        """Defects the Pareto is of."""
        return self.total_count

    @property
    def insufficient(self) -> bool:
        """Too few defects to rank (the bars are still given, for the record)."""
        return self.total_count < self.min_defects

    @property
    def filter_name(self) -> str:
        """The defect list's filter a bar narrows it by."""
        return self.by


def _groups(uow: UnitOfWork, build: BuildRef, by: By) -> list[GroupTotal]:
    """Count and cost per code or per station, by key."""
    base = (
        select(func.count(), func.coalesce(func.sum(Defect.cost), 0.0))
        .select_from(Defect)
        .join(Unit, Unit.id == Defect.unit_id)
        .where(Unit.build_id == build.id)
    )
    if by == "code":
        stmt = (
            base.add_columns(DefectCode.code, DefectCode.description)
            .join(DefectCode, DefectCode.id == Defect.defect_code_id)
            .group_by(DefectCode.code, DefectCode.description)
            .order_by(DefectCode.code)
        )
        codes = [
            GroupTotal(code, text, int(n), float(c))
            for n, c, code, text in uow.session.execute(stmt)
        ]
        return sorted(codes, key=lambda g: g.key)
    stmt = (
        base.add_columns(Station.name)
        .outerjoin(Station, Station.id == Defect.station_id)
        .group_by(Station.name)
        .order_by(Station.name)
    )
    stations = [
        GroupTotal(name or NO_STATION, name or "No station", int(n), float(c))
        for n, c, name in uow.session.execute(stmt)
    ]
    # In Python: the databases sort the null station (no station) at different ends.
    return sorted(stations, key=lambda g: g.key)


def _check_by(by: str, measure: str) -> tuple[By, Measure]:
    if by not in BY_VALUES:
        raise invalid("by", f"{by!r} is not one of: {', '.join(BY_VALUES)}")
    if measure not in MEASURES:
        raise invalid("measure", f"{measure!r} is not one of: {', '.join(MEASURES)}")
    return by, measure


def defect_pareto(
    uow: UnitOfWork,
    build_id: int,
    *,
    actor: Principal,
    by: str = "code",
    measure: str = "count",
) -> DefectPareto:
    """The build's defects grouped ``by`` code or station, ordered by ``measure``.

    Shares and cumulative shares are of the measure ordered by (``phasegate.stats.pareto``);
    ties keep the order of the keys. Groups of zero cost are kept (last) in a cost Pareto.
    """
    authorize(actor, Action.READ, Kind.TEST_DATA)
    chosen_by, chosen_measure = _check_by(by, measure)
    with uow:
        build = build_ref(uow, build_id, actor=actor)
        groups = _groups(uow, build, chosen_by)
    total_count = sum(g.count for g in groups)
    total_cost = sum(g.cost for g in groups)
    return DefectPareto(
        build=build,
        by=chosen_by,
        measure=chosen_measure,
        bars=_bars(groups, chosen_measure),
        total_count=total_count,
        total_cost=total_cost,
    )


def _bars(groups: Sequence[GroupTotal], measure: Measure) -> tuple[ParetoBar, ...]:
    values = [float(g.count) if measure == "count" else g.cost for g in groups]
    if not groups or sum(values) <= 0:  # nothing to rank by: the groups as they are, no shares
        return tuple(ParetoBar(g.key, g.label, g.count, g.cost, 0.0, 0.0, False) for g in groups)
    result = pareto([g.key for g in groups], values)
    by_key = {g.key: g for g in groups}
    vital = set(result.vital_few(0.8))
    return tuple(
        ParetoBar(g.key, g.label, g.count, g.cost, float(s), float(cs), key in vital)
        for key, s, cs in zip(
            result.categories, result.shares, result.cumulative_shares, strict=True
        )
        for g in (by_key[key],)
    )


@dataclass(frozen=True, slots=True)
class DefectSummary:
    """Count and cost of a build's defects per code and per station, most frequent first."""

    by_code: tuple[GroupTotal, ...]
    by_station: tuple[GroupTotal, ...]

    def as_report(self) -> dict[str, list[dict[str, Any]]]:
        """The build report's ``"defects"``: ``{"by_code": [{"code", "count", "cost"}],
        "by_station": [{"station", "count", "cost"}]}`` (``station`` null for no station)."""
        return {
            "by_code": [{"code": g.key, "count": g.count, "cost": g.cost} for g in self.by_code],
            "by_station": [
                {
                    "station": None if g.key == NO_STATION else g.key,
                    "count": g.count,
                    "cost": g.cost,
                }
                for g in self.by_station
            ],
        }


def defect_summary(uow: UnitOfWork, build_id: int, *, actor: Principal) -> DefectSummary:
    """Count and cost per code and per station, by count descending (ties by key)."""
    authorize(actor, Action.READ, Kind.TEST_DATA)
    with uow:
        build = build_ref(uow, build_id, actor=actor)
        codes = _groups(uow, build, "code")
        stations = _groups(uow, build, "station")

    def ranked(groups: list[GroupTotal]) -> tuple[GroupTotal, ...]:
        return tuple(sorted(groups, key=lambda g: -g.count))  # stable: ties keep key order

    return DefectSummary(ranked(codes), ranked(stations))


# --- the rates ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitRate:
    """A share of the build's units (scrapped, reworked) with its Wilson interval."""

    value: float
    count: int
    units: int
    ci: Interval


@dataclass(frozen=True, slots=True)
class QualityRates:
    """DPU, DPMO, scrap and rework rates of one build; ``None`` below ``MIN_UNITS`` units."""

    build: BuildRef
    units: int
    defects: int
    scrapped: int
    reworked: int
    characteristics: int
    stations: int
    dpu: DefectRate | None
    dpmo: DefectRate | None
    scrap: UnitRate | None
    rework: UnitRate | None
    min_units: int = MIN_UNITS

    @property
    def n(self) -> int:
        return self.units

    @property
    def insufficient(self) -> bool:
        return self.units < self.min_units

    @property
    def opportunities_per_unit(self) -> int:
        """The product's characteristics plus the line's stations, at least 1."""
        return max(1, self.characteristics + self.stations)

    def as_report(self) -> dict[str, float | None]:
        """The build report's ``"dpmo"``, ``"scrap_rate"`` and ``"rework_rate"``."""
        return {
            "dpmo": None if self.dpmo is None else self.dpmo.value,
            "scrap_rate": None if self.scrap is None else self.scrap.value,
            "rework_rate": None if self.rework is None else self.rework.value,
        }


def _rate(count: int, units: int, confidence: float) -> UnitRate:
    return UnitRate(count / units, count, units, wilson(count, units, confidence))


def _reworked(uow: UnitOfWork, build_id: int) -> int:
    """Units of the build that went through a station again, have a defect dispositioned
    rework, or are in rework now; each counted once."""
    in_build = select(Unit.id).where(Unit.build_id == build_id)
    repeated = select(StationPass.unit_id).where(
        StationPass.unit_id.in_(in_build), StationPass.attempt > 1
    )
    disposed = select(Defect.unit_id).where(
        Defect.unit_id.in_(in_build), Defect.disposition == Disposition.REWORK
    )
    stmt = select(func.count()).where(
        Unit.build_id == build_id,
        or_(Unit.status == UnitStatus.REWORK, Unit.id.in_(repeated), Unit.id.in_(disposed)),
    )
    return int(uow.session.scalar(stmt.select_from(Unit)) or 0)


def quality_rates(
    uow: UnitOfWork, build_id: int, *, actor: Principal, confidence: float = CONFIDENCE
) -> QualityRates:
    """DPU and DPMO (exact Poisson intervals), scrap and rework rates (Wilson intervals)."""
    authorize(actor, Action.READ, Kind.TEST_DATA)
    with uow:
        build = build_ref(uow, build_id, actor=actor)
        units, scrapped = uow.session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((Unit.status == UnitStatus.SCRAPPED, 1), else_=0)), 0),
            ).where(Unit.build_id == build.id)
        ).one()
        defects = uow.session.scalar(
            select(func.count())
            .select_from(Defect)
            .join(Unit, Unit.id == Defect.unit_id)
            .where(Unit.build_id == build.id)
        )
        reworked = _reworked(uow, build.id)
        characteristics = uow.session.scalar(
            select(func.count())
            .select_from(Characteristic)
            .join(Build, Build.product_id == Characteristic.product_id)
            .where(Build.id == build.id)
        )
        stations: int | None = 0
        if build.line_id is not None:
            stations = uow.session.scalar(
                select(func.count()).select_from(Station).where(Station.line_id == build.line_id)
            )
    units, defects, scrapped = int(units), int(defects or 0), int(scrapped or 0)
    enough = units >= MIN_UNITS
    opportunities = max(1, int(characteristics or 0) + int(stations or 0))
    return QualityRates(
        build=build,
        units=units,
        defects=defects,
        scrapped=scrapped,
        reworked=reworked,
        characteristics=int(characteristics or 0),
        stations=int(stations or 0),
        dpu=dpu(defects, units, confidence) if enough else None,
        dpmo=dpmo(defects, units, opportunities, confidence) if enough else None,
        scrap=_rate(scrapped, units, confidence) if enough else None,
        rework=_rate(reworked, units, confidence) if enough else None,
    )
