"""Recording a build's units, passes, runs, measurements and defects, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import func, select

from phasegate.domain.enums import AuditAction, Disposition, Outcome, Severity, UnitStatus
from phasegate.domain.errors import InvalidInput, NotFound
from phasegate.services import crud, quality
from phasegate.services.volume import (
    BuildVolume,
    DefectRecord,
    MeasurementRecord,
    RunRecord,
    StationPassRecord,
    UnitRecord,
    record_build_volume,
)
from phasegate.store.models import (
    AuditEvent,
    BuildCharacteristicStat,
    BuildStationStat,
    Defect,
    Measurement,
    Station,
    StationPass,
    TestRun,
    Unit,
)
from phasegate.store.uow import UnitOfWork
from tests.factories import make_build, make_characteristic, make_line, make_product, person

T0 = dt.datetime(2026, 1, 12, 8, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Setup:
    build_id: int
    code: str


@pytest.fixture
def setup(uow: UnitOfWork) -> Setup:
    """A pilot build on a two-station line, a characteristic measured at S2, a defect code."""
    product = make_product(uow)
    line = make_line(uow, stations=2)
    build = make_build(
        uow,
        product_id=product.id,
        line_id=line.id,
        phase="pilot",
        fidelity=None,
        technique=None,
    )
    make_characteristic(uow, product, name="Gap", unit="mm", lsl=0.1, usl=0.3)
    crud.create(
        uow,
        quality.DEFECT_CODES,
        {"code": "GAP", "description": "Gap out of limits"},
        actor=person("t"),
    )
    return Setup(build.id, build.code)


def _volume(units: int = 3) -> BuildVolume:
    """``units`` units through S1 and S2; the last fails the gap check and is reworked."""
    serials = [f"U{i}" for i in range(units)]
    passes: list[StationPassRecord] = []
    runs: list[RunRecord] = []
    for i, serial in enumerate(serials):
        start = T0 + dt.timedelta(minutes=10 * i)
        gap = 0.35 if i == units - 1 else 0.2
        for s, station in enumerate(("S1", "S2")):
            begin = start + dt.timedelta(minutes=s)
            passes.append(
                StationPassRecord(
                    unit=serial,
                    station=station,
                    started_at=begin,
                    ended_at=begin + dt.timedelta(seconds=40 + s),
                    result=Outcome.FAIL if station == "S2" and gap > 0.3 else Outcome.PASS,
                )
            )
        end = start + dt.timedelta(minutes=2)
        measurement = MeasurementRecord(
            characteristic="Gap",
            value=gap,
            outcome=Outcome.FAIL if gap > 0.3 else Outcome.PASS,
            measured_at=end,
        )
        runs.append(
            RunRecord(
                unit=serial,
                station="S2",
                procedure="gap check",
                outcome=measurement.outcome,
                started_at=start,
                ended_at=end,
                source_id=f"{serial}/s2/1",
                measurements=(measurement,),
            )
        )
    return BuildVolume(
        units=[UnitRecord(serial=s, status=UnitStatus.PASSED, created_at=T0) for s in serials],
        station_passes=passes,
        test_runs=runs,
        defects=[
            DefectRecord(
                unit=serials[-1],
                station="S2",
                code="GAP",
                severity=Severity.MINOR,
                found_at=T0 + dt.timedelta(hours=1),
                disposition=Disposition.REWORK,
                cost=12.5,
            )
        ],
    )


def test_records_every_row_with_its_references_and_aggregates(
    uow: UnitOfWork, setup: Setup
) -> None:
    volume = _volume()
    report = record_build_volume(uow, setup.build_id, volume, actor=person("line-3"))
    assert (report.units, report.station_passes, report.test_runs) == (3, 6, 3)
    assert (report.measurements, report.defects, report.rows) == (3, 1, 16)
    assert report.rows == volume.row_count
    with uow:
        s = uow.session
        units = dict(
            s.execute(select(Unit.serial, Unit.id).where(Unit.build_id == setup.build_id)).all()
        )
        assert sorted(units) == ["U0", "U1", "U2"]
        created = s.scalars(select(Unit.created_at).where(Unit.serial == "U0")).one()
        assert created == T0
        s2 = s.scalars(select(Station.id).where(Station.name == "S2")).first()
        failed_pass = s.execute(
            select(StationPass.unit_id, StationPass.station_id).where(
                StationPass.result == Outcome.FAIL
            )
        ).one()
        assert tuple(failed_pass) == (units["U2"], s2)
        run_of_u1 = s.scalars(select(TestRun).where(TestRun.source_id == "U1/s2/1")).one()
        measurement = s.scalars(
            select(Measurement).where(Measurement.test_run_id == run_of_u1.id)
        ).one()
        assert (measurement.unit_id, measurement.unit) == (units["U1"], "mm")
        assert (measurement.lsl, measurement.usl, measurement.value) == (0.1, 0.3, 0.2)
        defect = s.scalars(select(Defect)).one()
        assert (defect.unit_id, defect.station_id, defect.cost) == (units["U2"], s2, 12.5)
        stat = s.scalars(select(BuildCharacteristicStat)).one()
        assert (stat.build_id, stat.count, stat.failed, stat.above_usl) == (setup.build_id, 3, 1, 1)
        passes = s.scalar(select(func.sum(BuildStationStat.passes)))
        assert passes == 6
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.IMPORT)).one()
    assert (event.actor, event.entity_id, event.entity_type) == ("line-3", setup.build_id, "builds")
    assert event.after == {
        "units": 3,
        "station_passes": 6,
        "test_runs": 3,
        "measurements": 3,
        "defects": 1,
    }
    assert event.summary == f"imported 3 units and their test data into build {setup.code}"


def test_batches_report_progress_and_keep_row_order(uow: UnitOfWork, setup: Setup) -> None:
    seen: list[int] = []
    record_build_volume(
        uow, setup.build_id, _volume(5), actor=person("t"), batch_units=2, progress=seen.append
    )
    assert seen == [2 + 4 + 2 + 2, 2 * 10, 2 * 10 + 5 + 1]
    with uow:
        serials = uow.session.scalars(select(Unit.serial).order_by(Unit.id)).all()
        runs = uow.session.scalars(select(TestRun.source_id).order_by(TestRun.id)).all()
    assert serials == ["U0", "U1", "U2", "U3", "U4"]
    assert runs == [f"U{i}/s2/1" for i in range(5)]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        (
            lambda v: replace(v, station_passes=[replace(v.station_passes[0], unit="nope")]),
            "volume.station_passes[0].unit",
        ),
        (
            lambda v: replace(
                v, station_passes=[*v.station_passes, replace(v.station_passes[0], station="S9")]
            ),
            "volume.station_passes[6].station",
        ),
        (
            lambda v: replace(v, defects=[replace(v.defects[0], code="NOPE")]),
            "volume.defects[0].code",
        ),
        (
            lambda v: replace(
                v,
                test_runs=[
                    *v.test_runs[:2],
                    replace(
                        v.test_runs[2],
                        measurements=(
                            replace(v.test_runs[2].measurements[0], characteristic="Width"),
                        ),
                    ),
                ],
            ),
            "volume.test_runs[2].measurements[0].characteristic",
        ),
        (
            lambda v: replace(v, units=[*v.units, v.units[0]]),
            "volume.units[3].serial",
        ),
    ],
    ids=["unit", "station", "defect-code", "characteristic", "duplicate-serial"],
)
def test_unresolved_references_name_the_record_and_store_nothing(
    uow: UnitOfWork, setup: Setup, change: object, loc: str
) -> None:
    volume = change(_volume())  # type: ignore[operator]
    with pytest.raises(InvalidInput) as caught:
        record_build_volume(uow, setup.build_id, volume, actor=person("t"))
    assert [f.loc for f in caught.value.fields] == [loc]
    assert str(caught.value).startswith(loc)
    with uow:
        assert uow.session.scalar(select(func.count()).select_from(Unit)) == 0


def test_a_rejected_row_rolls_back_the_batches_before_it(uow: UnitOfWork, setup: Setup) -> None:
    volume = _volume(4)
    naive = replace(volume.station_passes[-1], started_at=dt.datetime(2026, 1, 12, 9, 0))
    volume = replace(volume, station_passes=[*volume.station_passes[:-1], naive])
    with pytest.raises(InvalidInput, match="timezone-aware"):
        record_build_volume(uow, setup.build_id, volume, actor=person("t"), batch_units=1)
    with uow:
        assert uow.session.scalar(select(func.count()).select_from(Unit)) == 0
        assert (
            uow.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == AuditAction.IMPORT)
            )
            == 0
        )


def test_units_without_a_time_are_started_now(uow: UnitOfWork, setup: Setup) -> None:
    before = dt.datetime.now(dt.UTC)
    record_build_volume(
        uow, setup.build_id, BuildVolume(units=[UnitRecord("N1")]), actor=person("t")
    )
    with uow:
        unit = uow.session.scalars(select(Unit)).one()
    assert unit.status is UnitStatus.IN_PROCESS
    assert unit.created_at >= before - dt.timedelta(seconds=1)


def test_off_line_work_on_a_build_without_a_line(uow: UnitOfWork) -> None:
    product = make_product(uow)
    build = make_build(uow, product_id=product.id)
    make_characteristic(uow, product, name="Weight", unit="g", lsl=None, usl=45.0)
    run = RunRecord(
        unit="P1",
        station=None,
        procedure="bench",
        outcome=Outcome.PASS,
        started_at=T0,
        ended_at=T0,
        source_id="P1/lab/1",
        source="lab",
        measurements=(MeasurementRecord("Weight", 44.1, Outcome.PASS, T0),),
    )
    volume = BuildVolume(units=[UnitRecord("P1")], test_runs=[run])
    assert record_build_volume(uow, build.id, volume, actor=person("t")).measurements == 1
    passes = [StationPassRecord("P2", "S1", T0, T0, Outcome.PASS)]
    with pytest.raises(InvalidInput, match="has no line"):
        record_build_volume(
            uow,
            build.id,
            BuildVolume(units=[UnitRecord("P2")], station_passes=passes),
            actor=person("t"),
        )


def test_unknown_build_and_bad_batch_size(uow: UnitOfWork, setup: Setup) -> None:
    with pytest.raises(NotFound, match="build 999999"):
        record_build_volume(uow, 999_999, BuildVolume(), actor=person("t"))
    with pytest.raises(InvalidInput, match="batch_units"):
        record_build_volume(uow, setup.build_id, BuildVolume(), actor=person("t"), batch_units=0)
