"""Shapes and queries that several pages share: counts, the product summary, specs met and
the schedule.

Specs met (``specs_met``), the one definition every page, the API and the CLI use: on a build,
each characteristic measured there is judged by its units' *final* results. A unit's final
result for a characteristic is its latest measurement of it (from its latest test run); the
characteristic is *met* when every unit's final result is within limits, so a unit that failed,
was reworked and passed its retest counts as passing. A measurement is within limits when its
value lies within the LSL and USL stored on its own row; one without a value is judged by its
outcome (pass or fail; other outcomes carry no result). Beside it go the *first-pass failures*:
units whose first measurement of the characteristic was out of limits. The denominator is the
characteristics measured on that build, never all of the product's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, SQLColumnExpression, case, func, select

from phasegate.domain.enums import BuildStatus, FindingStatus, Outcome, Phase, Severity
from phasegate.domain.errors import NotFound
from phasegate.domain.phases import phases_reached
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.services.access import authorize
from phasegate.services.products import product_by_key
from phasegate.services.read.line_performance import find_build_id
from phasegate.store.models import (
    Build,
    BuildCharacteristicStat,
    Characteristic,
    Feedback,
    Finding,
    Measurement,
    Product,
    Revision,
    TestRun,
    Unit,
)
from phasegate.store.uow import UnitOfWork

T = TypeVar("T")
K = TypeVar("K")

OPEN_FINDING_STATUSES = tuple(s for s in FindingStatus if s.is_open)


@dataclass(frozen=True, slots=True)
class Count(Generic[T]):
    """How many records have one value of an enum field."""

    value: T
    count: int


@dataclass(frozen=True, slots=True)
class Tally(Generic[T]):
    """Counts for every value of an enum field, in the enum's order (zeros included)."""

    counts: tuple[Count[T], ...]

    @classmethod
    def of(cls, values: Iterable[T], found: Mapping[T, int]) -> Tally[T]:
        return cls(tuple(Count(v, found.get(v, 0)) for v in values))

    def __iter__(self) -> Iterator[Count[T]]:
        return iter(self.counts)

    @property
    def total(self) -> int:
        return sum(c.count for c in self.counts)

    def count(self, value: T) -> int:
        return next((c.count for c in self.counts if c.value == value), 0)


def severity_tally(found: Mapping[Severity, int]) -> Tally[Severity]:
    """Open findings by severity, most severe first."""
    return Tally.of(Severity, found)


@dataclass(frozen=True, slots=True)
class FeedbackSummary:
    """How much feedback there is, how much of it rated, and the mean of the ratings given."""

    count: int
    rated: int
    mean_rating: float | None

    @classmethod
    def none(cls) -> FeedbackSummary:
        return cls(0, 0, None)


def feedback_summaries(
    uow: UnitOfWork, group: SQLColumnExpression[K], *criteria: ColumnElement[bool]
) -> dict[K, FeedbackSummary]:
    """Feedback matching ``criteria``, summarised per value of ``group``."""
    rows = uow.session.execute(
        select(group, func.count(), func.count(Feedback.rating), func.avg(Feedback.rating))
        .where(*criteria)
        .group_by(group)
    )
    return {
        key: FeedbackSummary(n, rated, float(mean) if mean is not None else None)
        for key, n, rated, mean in rows
    }


def open_findings_by(
    uow: UnitOfWork, group: SQLColumnExpression[K], *criteria: ColumnElement[bool]
) -> dict[K, Tally[Severity]]:
    """Open findings matching ``criteria`` by severity, per value of ``group``."""
    found: dict[K, dict[Severity, int]] = {}
    for key, severity, n in uow.session.execute(
        select(group, Finding.severity, func.count())
        .where(Finding.status.in_(OPEN_FINDING_STATUSES), *criteria)
        .group_by(group, Finding.severity)
    ):
        found.setdefault(key, {})[severity] = n
    return {key: severity_tally(counts) for key, counts in found.items()}


def revision_sort_key(code: str) -> tuple[int, str]:
    """Revision codes in release order: "B" after "A", "10" after "9", "AA" after "Z"."""
    return (len(code), code)


def build_age_key(start_date: dt.date | None, build_id: int) -> tuple[bool, dt.date, int]:
    """Sorts builds oldest first, so the last is the latest; builds without a start date count
    as the oldest."""
    return (start_date is not None, start_date or dt.date.min, build_id)


def revision_id(uow: UnitOfWork, product: Product, code: str) -> int:
    """Id of the product's revision ``code``, or ``NotFound``."""
    found = uow.session.scalar(
        select(Revision.id).where(Revision.product_id == product.id, Revision.code == code)
    )
    if found is None:
        raise NotFound(f"product {product.key} has no revision {code!r}")
    return found


@dataclass(frozen=True, slots=True)
class ProductSummary:
    """The product's own fields."""

    key: str
    name: str
    phase: Phase
    description: str
    target_unit_cost: float | None
    target_annual_volume: int | None
    target_launch_date: dt.date | None

    @property
    def phases_reached(self) -> tuple[Phase, ...]:
        return phases_reached(self.phase)


def product_fields(product: Product) -> dict[str, Any]:
    """The ``ProductSummary`` fields of ``product``, for it and the shapes that extend it."""
    return {
        "key": product.key,
        "name": product.name,
        "phase": product.phase,
        "description": product.description,
        "target_unit_cost": product.target_unit_cost,
        "target_annual_volume": product.target_annual_volume,
        "target_launch_date": product.target_launch_date,
    }


def product_summary(uow: UnitOfWork, key: str, *, actor: Principal) -> ProductSummary:
    """The product's own fields, for pages that list one kind of its records."""
    with uow:
        return ProductSummary(**product_fields(product_by_key(uow, key, actor=actor)))


@dataclass(frozen=True, slots=True)
class CharacteristicVerdict:
    """One characteristic on one build, judged by its units' final results."""

    characteristic_id: int
    name: str
    met: bool  # every unit's final result within limits
    first_pass_failures: int  # units whose first measurement was out of limits
    final_failures: int  # units whose final (latest) measurement is out of limits


@dataclass(frozen=True, slots=True)
class SpecsMet:
    """Specs met on one build: each characteristic measured there, judged as the module says."""

    build_id: int
    build_code: str
    characteristics: tuple[CharacteristicVerdict, ...]  # each measured there, CTQs first

    @property
    def measured(self) -> int:
        """The denominator: characteristics measured on this build."""
        return len(self.characteristics)

    @property
    def met(self) -> int:
        return sum(1 for c in self.characteristics if c.met)

    @property
    def first_pass_failures(self) -> int:
        """First measurements out of limits, one per unit and characteristic."""
        return sum(c.first_pass_failures for c in self.characteristics)

    @property
    def share(self) -> float | None:
        """Met / measured on this build; ``None`` when nothing was measured."""
        return self.met / self.measured if self.measured else None

    @property
    def label(self) -> str:
        """The count with its denominator named, e.g. "9 of 11 characteristics measured on
        AS1-PR1 met (2 first-pass failures)"."""
        if not self.measured:
            return f"no characteristics measured on {self.build_code}"
        noun = "characteristic" if self.measured == 1 else "characteristics"
        n_first = self.first_pass_failures
        first = f"{n_first} first-pass failure{'' if n_first == 1 else 's'}"
        return f"{self.met} of {self.measured} {noun} measured on {self.build_code} met ({first})"

    def of(self, characteristic_id: int) -> CharacteristicVerdict | None:
        """The verdict on one characteristic; ``None`` when it was not measured here."""
        return next(
            (c for c in self.characteristics if c.characteristic_id == characteristic_id), None
        )


def specs_met(uow: UnitOfWork, builds: Sequence[tuple[int, str]]) -> dict[int, SpecsMet]:
    """Specs met on each of ``builds`` (id, code), by build id.

    The per-(build, characteristic) aggregates settle every characteristic without a single
    measurement out of limits or failed (met, no first-pass failures); only the others are
    judged from their measurements, in one grouped query (``_judged_from_measurements``).
    A characteristic whose aggregate counts values out of limits while none of its measurements
    are stored (aggregates loaded on their own) can only be judged by the aggregate: not met,
    each value out of limits a first-pass failure.
    """
    if not builds:
        return {}
    stat = BuildCharacteristicStat
    rows = uow.session.execute(
        select(
            stat.build_id,
            stat.characteristic_id,
            Characteristic.name,
            stat.below_lsl + stat.above_usl,
            stat.failed,
        )
        .join(Characteristic, Characteristic.id == stat.characteristic_id)
        .where(
            stat.build_id.in_([b for b, _ in builds]),
            (stat.count > 0) | (stat.passed > 0) | (stat.failed > 0),
        )
        .order_by(stat.build_id, Characteristic.ctq.desc(), Characteristic.name)
    ).all()
    doubtful = {(b, c) for b, c, _, outside, failed in rows if outside or failed}
    judged = _judged_from_measurements(uow, doubtful) if doubtful else {}
    verdicts: dict[int, list[CharacteristicVerdict]] = {}
    for build_id, char_id, name, outside, _ in rows:
        first_failed, final_failed = judged.get((build_id, char_id), (outside, outside))
        verdicts.setdefault(build_id, []).append(
            CharacteristicVerdict(char_id, name, final_failed == 0, first_failed, final_failed)
        )
    return {
        build_id: SpecsMet(build_id, code, tuple(verdicts.get(build_id, ())))
        for build_id, code in builds
    }


def build_specs(
    uow: UnitOfWork, code: str, *, actor: Principal, product: str | None = None
) -> SpecsMet:
    """Specs met on the build with ``code`` (of ``product`` when several have that code);
    ``NotFound`` when it is not there or not visible to ``actor``."""
    authorize(actor, Action.READ, Kind.TEST_DATA)
    build_id = find_build_id(uow, code, actor=actor, product=product)
    with uow:
        found = uow.session.scalar(select(Build.code).where(Build.id == build_id))
        return specs_met(uow, [(build_id, found or code)])[build_id]


def _judged_from_measurements(
    uow: UnitOfWork, pairs: set[tuple[int, int]]
) -> dict[tuple[int, int], tuple[int, int]]:
    """Per (build, characteristic) of ``pairs``: units whose first measurement was out of
    limits, and units whose latest one is.

    One query. Only units with a measurement out of limits can have a first or final result
    out of limits, so it first finds those (unit, characteristic) pairs in one pass over the
    build's measurements, then ranks just their measurements newest first (by the start of
    their test run, then by when they were taken): the newest is the final result, the
    last-ranked the first one. On a build of 528,000 measurements (40,000 units, 10 % of them
    retested) with every characteristic in doubt this takes 0.2 s on SQLite and 0.25 s on
    PostgreSQL once it has analysed the table; ranking every measurement took 3 s on SQLite.
    Measurements without a value whose outcome is neither pass nor fail carry no result and
    are left out.
    """
    m, run = Measurement, TestRun
    out_of_limits = case(
        (m.value.is_not(None), case(((m.value < m.lsl) | (m.value > m.usl), 1), else_=0)),
        (m.outcome == Outcome.FAIL, 1),
        else_=0,
    )
    failing = (
        select(m.unit_id, m.characteristic_id, Unit.build_id)
        .join(Unit, Unit.id == m.unit_id)
        .where(
            Unit.build_id.in_(sorted({b for b, _ in pairs})),
            m.characteristic_id.in_(sorted({c for _, c in pairs})),
            out_of_limits == 1,
        )
        .distinct()
        .cte("failing")
    )
    per_unit = (m.unit_id, m.characteristic_id)
    ranked = (
        select(
            failing.c.build_id,
            m.characteristic_id,
            out_of_limits.label("bad"),
            func.row_number()
            .over(
                partition_by=per_unit,
                order_by=(run.started_at.desc(), m.measured_at.desc(), m.id.desc()),
            )
            .label("newest"),
            func.count().over(partition_by=per_unit).label("n"),
        )
        .select_from(failing)
        .join(
            m,
            (m.unit_id == failing.c.unit_id) & (m.characteristic_id == failing.c.characteristic_id),
        )
        .join(run, run.id == m.test_run_id)
        .where(m.value.is_not(None) | m.outcome.in_((Outcome.PASS, Outcome.FAIL)))
        .subquery()
    )
    r = ranked.c
    first_bad = func.sum(case(((r.newest == r.n) & (r.bad == 1), 1), else_=0))
    final_bad = func.sum(case(((r.newest == 1) & (r.bad == 1), 1), else_=0))
    rows = uow.session.execute(
        select(r.build_id, r.characteristic_id, first_bad, final_bad).group_by(
            r.build_id, r.characteristic_id
        )
    )
    return {
        (build_id, char_id): (int(first or 0), int(final or 0))
        for build_id, char_id, first, final in rows
        if (build_id, char_id) in pairs
    }


def utc_today() -> dt.date:
    """Today's date in UTC, the default clock of the schedule checks."""
    return dt.datetime.now(dt.UTC).date()


@dataclass(frozen=True, slots=True)
class Schedule:
    """Whether a planned date has passed without what it promised: ``due`` is the date,
    ``days_late`` how many days ago it passed (0 when on schedule or without a date)."""

    due: dt.date | None
    days_late: int

    @property
    def late(self) -> bool:
        return self.days_late > 0


def product_schedule(phase: Phase, target_launch_date: dt.date | None, today: dt.date) -> Schedule:
    """Late when the target launch date has passed and the product is not in production yet."""
    if target_launch_date is None or phase is Phase.PRODUCTION:
        return Schedule(target_launch_date, 0)
    return Schedule(target_launch_date, max((today - target_launch_date).days, 0))


def build_schedule(status: BuildStatus, end_date: dt.date | None, today: dt.date) -> Schedule:
    """Late when the build is still in progress after its planned end date."""
    if end_date is None or status is not BuildStatus.IN_PROGRESS:
        return Schedule(end_date, 0)
    return Schedule(end_date, max((today - end_date).days, 0))
