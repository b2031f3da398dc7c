"""The unit page: one serial-numbered unit and everything that happened to it.

Its genealogy: the product, the build (its phase, partner and line) and the revision it was
built to; then, in time order, its station passes, its test runs with their measurements (value,
limits, outcome, whether marginal) and attachments, and its defects. Each test run has a page of
its own (``services.read.test_run``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from phasegate.domain.enums import Allocation, Disposition, Outcome, Phase, Severity, UnitStatus
from phasegate.domain.errors import FieldError, InvalidInput, NotFound
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.domain.text import storable
from phasegate.services.access import authorize, scoped
from phasegate.services.products import product_by_key
from phasegate.store.models import (
    Attachment,
    Build,
    Defect,
    DefectCode,
    Line,
    Measurement,
    Partner,
    Product,
    Revision,
    Station,
    StationPass,
    TestRun,
    Unit,
)
from phasegate.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class UnitSummary:
    """What identifies a unit and where it stands."""

    id: int
    serial: str
    product_key: str
    status: UnitStatus
    allocation: Allocation


@dataclass(frozen=True, slots=True)
class StationWork:
    """Work on a unit at a station: when it started and ended, and who did it."""

    station: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    operator: str

    @property
    def duration_s(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class PassRow(StationWork):
    sequence: int
    result: Outcome
    attempt: int


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
    marginal: bool = False  # within its limits, but near one of them
    series: tuple[tuple[float, ...], ...] | None = None  # a dimensioned measurement's rows

    @property
    def series_points(self) -> int:
        return 0 if self.series is None else len(self.series)

    @property
    def within_limits(self) -> bool | None:
        """Whether ``value`` lies within [lsl, usl]; ``None`` without a value or any limit."""
        if self.value is None or (self.lsl is None and self.usl is None):
            return None
        return (self.lsl is None or self.value >= self.lsl) and (
            self.usl is None or self.value <= self.usl
        )


@dataclass(frozen=True, slots=True)
class AttachmentRow:
    """An attachment of a test run, by its metadata (the bytes stay at the station)."""

    name: str
    mimetype: str
    size: int | None  # bytes
    sha1: str


@dataclass(frozen=True, slots=True)
class TestRunRow(StationWork):
    __test__ = False  # not a pytest class

    id: int
    procedure: str
    outcome: Outcome
    source: str
    measurements: tuple[MeasurementRow, ...]
    attachments: tuple[AttachmentRow, ...] = ()

    @property
    def out_of_limits(self) -> int:
        return sum(1 for m in self.measurements if m.within_limits is False)

    @property
    def marginal(self) -> int:
        return sum(1 for m in self.measurements if m.marginal)


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
class UnitHistory(UnitSummary):
    created_at: dt.datetime
    product_name: str
    product_phase: Phase
    build_id: int
    build_code: str
    build_phase: Phase
    revision: str
    partner: str | None  # who made the build
    line: str | None  # the line it was made on
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
    def attachment_count(self) -> int:
        return sum(len(r.attachments) for r in self.test_runs)

    @property
    def passes_not_passed(self) -> int:
        return sum(1 for p in self.passes if p.result is not Outcome.PASS)

    @property
    def total_station_time_s(self) -> float:
        return sum(p.duration_s or 0.0 for p in self.passes)


def unit_history(
    uow: UnitOfWork, serial: str, product: str | None = None, *, actor: Principal
) -> UnitHistory:
    """The unit with ``serial`` and everything that happened to it.

    Serials are unique within a product; when the same serial exists in several products,
    ``product`` (a key) says which one, otherwise ``InvalidInput`` lists the candidates.
    """
    authorize(actor, Action.READ, Kind.UNIT)
    authorize(actor, Action.READ, Kind.TEST_DATA)
    serial = serial.strip()
    if not serial:
        raise InvalidInput("serial: must not be empty", [FieldError("serial", "is required")])
    with uow:
        unit = _find_unit(uow, serial, product, actor)
        build, prod, revision, partner, line = uow.session.execute(
            select(Build, Product, Revision.code, Partner.name, Line.name)
            .join(Product, Product.id == Build.product_id)
            .join(Revision, Revision.id == Build.revision_id)
            .outerjoin(Partner, Partner.id == Build.partner_id)
            .outerjoin(Line, Line.id == Build.line_id)
            .where(Build.id == unit.build_id)
        ).one()
        return UnitHistory(
            id=unit.id,
            serial=unit.serial,
            product_key=prod.key,
            status=unit.status,
            allocation=unit.allocation,
            created_at=unit.created_at,
            product_name=prod.name,
            product_phase=prod.phase,
            build_id=build.id,
            build_code=build.code,
            build_phase=build.phase,
            revision=revision,
            partner=partner,
            line=line,
            passes=_passes(uow, unit.id),
            test_runs=_test_runs(uow, unit.id),
            defects=_defects(uow, unit.id),
        )


def _find_unit(uow: UnitOfWork, serial: str, product: str | None, actor: Principal) -> Unit:
    """The one unit with ``serial`` (in ``product`` when given), or the error that says why not.

    Serials are compared whatever their case, as their unique index compares them.
    """
    # No serial or key holds such text, and the database would refuse it.
    if not storable(serial):
        raise NotFound(f"no unit with serial {serial!r}")
    if product and not storable(product):
        raise NotFound(f"product {product!r} does not exist")
    stmt = scoped(
        select(Unit, Product.key)
        .join(Product, Product.id == Unit.product_id)
        .where(func.lower(Unit.serial) == func.lower(serial)),
        actor,
        Unit,
    )
    if product:
        stmt = stmt.where(func.lower(Product.key) == func.lower(product))
    matches = uow.session.execute(stmt.order_by(Product.key)).all()
    if not matches:
        if product:
            product_by_key(
                uow, product, actor=actor
            )  # a NotFound naming the product if it is the problem
            raise NotFound(f"product {product} has no unit with serial {serial!r}")
        raise NotFound(f"no unit with serial {serial!r}")
    if len(matches) > 1:
        keys = ", ".join(key for _, key in matches)
        raise InvalidInput(
            f"serial {serial!r} exists in products {keys}; name the product",
            [FieldError("product", f"one of: {keys}")],
        )
    unit: Unit = matches[0][0]
    return unit


def _passes(uow: UnitOfWork, unit_id: int) -> tuple[PassRow, ...]:
    return tuple(
        PassRow(
            station=name,
            started_at=p.started_at,
            ended_at=p.ended_at,
            operator=p.operator,
            sequence=sequence,
            result=p.result,
            attempt=p.attempt,
        )
        for p, name, sequence in uow.session.execute(
            select(StationPass, Station.name, Station.sequence)
            .join(Station, Station.id == StationPass.station_id)
            .where(StationPass.unit_id == unit_id)
            .order_by(StationPass.started_at, StationPass.id)
        )
    )


def measurement_row(m: Measurement) -> MeasurementRow:
    """A stored measurement as the pages show it."""
    series = None if m.series is None else tuple(tuple(float(v) for v in row) for row in m.series)
    return MeasurementRow(
        name=m.name,
        value=m.value,
        text_value=m.text_value,
        unit=m.unit,
        lsl=m.lsl,
        usl=m.usl,
        outcome=m.outcome,
        measured_at=m.measured_at,
        marginal=bool(m.marginal),
        series=series,
    )


def _measurements(uow: UnitOfWork, unit_id: int) -> dict[int, list[MeasurementRow]]:
    """The unit's measurements in time order, per test run id."""
    runs: dict[int, list[MeasurementRow]] = {}
    for m in uow.session.scalars(
        select(Measurement)
        .where(Measurement.unit_id == unit_id)
        .order_by(Measurement.measured_at, Measurement.id)
    ):
        runs.setdefault(m.test_run_id, []).append(measurement_row(m))
    return runs


def attachments_of(uow: UnitOfWork, run_ids: Select[Any]) -> dict[int, list[AttachmentRow]]:
    """The attachments of the test runs whose ids ``run_ids`` selects, in the order they were
    stored, per test run id."""
    found: dict[int, list[AttachmentRow]] = {}
    for a in uow.session.scalars(
        select(Attachment).where(Attachment.test_run_id.in_(run_ids)).order_by(Attachment.id)
    ):
        found.setdefault(a.test_run_id, []).append(
            AttachmentRow(name=a.name, mimetype=a.mimetype, size=a.size, sha1=a.sha1)
        )
    return found


def _test_runs(uow: UnitOfWork, unit_id: int) -> tuple[TestRunRow, ...]:
    measurements = _measurements(uow, unit_id)
    attachments = attachments_of(uow, select(TestRun.id).where(TestRun.unit_id == unit_id))
    return tuple(
        TestRunRow(
            station=station,
            started_at=r.started_at,
            ended_at=r.ended_at,
            operator=r.operator,
            id=r.id,
            procedure=r.procedure,
            outcome=r.outcome,
            source=r.source,
            measurements=tuple(measurements.get(r.id, [])),
            attachments=tuple(attachments.get(r.id, [])),
        )
        for r, station in uow.session.execute(
            select(TestRun, Station.name)
            .outerjoin(Station, Station.id == TestRun.station_id)
            .where(TestRun.unit_id == unit_id)
            .order_by(TestRun.started_at, TestRun.id)
        )
    )


def _defects(uow: UnitOfWork, unit_id: int) -> tuple[DefectRow, ...]:
    return tuple(
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
        for d, code, description, station in uow.session.execute(
            select(Defect, DefectCode.code, DefectCode.description, Station.name)
            .join(DefectCode, DefectCode.id == Defect.defect_code_id)
            .outerjoin(Station, Station.id == Defect.station_id)
            .where(Defect.unit_id == unit_id)
            .order_by(Defect.found_at, Defect.id)
        )
    )
