"""The test-run page: one test run, where it sits in the unit's genealogy, what it measured.

A test run belongs to a unit, the unit to a build, the build to a product and a revision; the run
names its station (on the build's line) and holds its measurements (a value, a text or a series,
with the limits it was judged against, its outcome and whether it was marginal) and the metadata
of its attachments. A partner user sees only the runs of its partner's builds: any other run is
``NotFound``, worded as for a run that does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from phasegate.domain.enums import Outcome, Phase, UnitStatus
from phasegate.domain.errors import NotFound
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.services.access import authorize, scoped
from phasegate.services.read.unit import (
    AttachmentRow,
    MeasurementRow,
    attachments_of,
    measurement_row,
)
from phasegate.store.models import (
    Build,
    Line,
    Measurement,
    Partner,
    Product,
    Revision,
    Station,
    TestRun,
    Unit,
)
from phasegate.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class RunOfUnit:
    """Another test run of the same unit, to move between them."""

    id: int
    procedure: str
    station: str | None
    outcome: Outcome
    started_at: dt.datetime


@dataclass(frozen=True, slots=True)
class TestRunDetail:
    """A test run with its unit's genealogy, its measurements and its attachments."""

    __test__ = False  # not a pytest class

    id: int
    procedure: str
    outcome: Outcome
    started_at: dt.datetime
    ended_at: dt.datetime | None
    operator: str
    source: str  # the format it came in: openhtf, csv, json, ...
    source_id: str
    extra: dict[str, Any] | None  # the source record's fields phasegate has no column for
    station: str | None
    line: str | None
    unit_serial: str
    unit_status: UnitStatus
    product_key: str
    product_name: str
    build_id: int
    build_code: str
    build_phase: Phase
    revision: str
    partner: str | None
    measurements: tuple[MeasurementRow, ...]  # in time order
    attachments: tuple[AttachmentRow, ...]
    unit_runs: tuple[RunOfUnit, ...]  # every test run of the unit, this one included

    @property
    def duration_s(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()

    @property
    def out_of_limits(self) -> int:
        return sum(1 for m in self.measurements if m.within_limits is False)

    @property
    def failed(self) -> int:
        return sum(1 for m in self.measurements if m.outcome is Outcome.FAIL)

    @property
    def marginal(self) -> int:
        return sum(1 for m in self.measurements if m.marginal)

    @property
    def extra_fields(self) -> tuple[str, ...]:
        """The names of the kept fields, in order, for a page to list."""
        return tuple(sorted(self.extra or {}))


def test_run_detail(uow: UnitOfWork, run_id: int, *, actor: Principal) -> TestRunDetail:
    """The test run with id ``run_id``; ``NotFound`` when there is none or it is outside the
    actor's scope."""
    authorize(actor, Action.READ, Kind.TEST_DATA)
    with uow:
        row = uow.session.execute(
            scoped(
                select(
                    TestRun,
                    Unit,
                    Build,
                    Product,
                    Revision.code,
                    Partner.name,
                    Station.name,
                    Line.name,
                )
                .join(Unit, Unit.id == TestRun.unit_id)
                .join(Build, Build.id == Unit.build_id)
                .join(Product, Product.id == Build.product_id)
                .join(Revision, Revision.id == Build.revision_id)
                .outerjoin(Partner, Partner.id == Build.partner_id)
                .outerjoin(Station, Station.id == TestRun.station_id)
                .outerjoin(Line, Line.id == Station.line_id)
                .where(TestRun.id == run_id),
                actor,
                TestRun,
            )
        ).first()
        if row is None:
            raise NotFound(f"test run {run_id} does not exist")
        run, unit, build, product, revision, partner, station, line = row
        measurements = tuple(
            measurement_row(m)
            for m in uow.session.scalars(
                select(Measurement)
                .where(Measurement.test_run_id == run.id)
                .order_by(Measurement.measured_at, Measurement.id)
            )
        )
        attachments = attachments_of(uow, select(TestRun.id).where(TestRun.id == run.id))
        return TestRunDetail(
            id=run.id,
            procedure=run.procedure,
            outcome=run.outcome,
            started_at=run.started_at,
            ended_at=run.ended_at,
            operator=run.operator,
            source=run.source,
            source_id=run.source_id,
            extra=dict(run.extra) if run.extra else None,
            station=station,
            line=line,
            unit_serial=unit.serial,
            unit_status=unit.status,
            product_key=product.key,
            product_name=product.name,
            build_id=build.id,
            build_code=build.code,
            build_phase=build.phase,
            revision=revision,
            partner=partner,
            measurements=measurements,
            attachments=tuple(attachments.get(run.id, [])),
            unit_runs=_unit_runs(uow, unit.id),
        )


def _unit_runs(uow: UnitOfWork, unit_id: int) -> tuple[RunOfUnit, ...]:
    return tuple(
        RunOfUnit(
            id=r.id, procedure=r.procedure, station=name, outcome=r.outcome, started_at=r.started_at
        )
        for r, name in uow.session.execute(
            select(TestRun, Station.name)
            .outerjoin(Station, Station.id == TestRun.station_id)
            .where(TestRun.unit_id == unit_id)
            .order_by(TestRun.started_at, TestRun.id)
        )
    )
