"""Taking test data in: idempotent by source id, partly bad batches, mapping, scope, atomicity.

Records are built here as the parsers yield them (``ingest.records``); each test runs on SQLite
and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text

from phasegate.domain.enums import AuditAction, Outcome, Severity
from phasegate.domain.errors import Conflict, Forbidden, InvalidInput
from phasegate.domain.policy import SYSTEM, Principal, Role, Scope
from phasegate.ingest.measurement_columns import MeasurementBlock
from phasegate.ingest.records import (
    AttachmentIn,
    DefectIn,
    MeasurementIn,
    Parsed,
    Rejected,
    StationPassIn,
    Target,
    TestRunIn,
    derived_source_id,
)
from phasegate.services import crud, ingest, quality
from phasegate.services.ingest import ALIASES, ingest_records, list_files, list_rejects
from phasegate.store import bulk
from phasegate.store.models import (
    Attachment,
    AuditEvent,
    BuildCharacteristicStat,
    BuildStationStat,
    Characteristic,
    Defect,
    IngestFile,
    IngestReject,
    Measurement,
    Station,
    StationPass,
    TestRun,
    Unit,
)
from phasegate.store.uow import UnitOfWork
from tests.factories import (
    make_build,
    make_characteristic,
    make_line,
    make_partner,
    make_product,
    person,
)

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class World:
    product_key: str
    product_id: int
    build: str
    build_id: int
    other_build: str  # another build of the product, of a partner
    partner_id: int
    gap_id: int
    stations: dict[str, int]


@pytest.fixture
def world(uow: UnitOfWork) -> World:
    """A product with a pilot build on a two-station line (S1, S2), a second build of a partner
    on the same line, a characteristic ``Gap`` (0.1..0.3 mm) and a defect code ``GAP``."""
    product = make_product(uow)
    line = make_line(uow, stations=2)
    pilot = {"phase": "pilot", "fidelity": None, "technique": None, "line_id": line.id}
    build = make_build(uow, product_id=product.id, **pilot)
    partner = make_partner(uow)
    other = make_build(uow, product_id=product.id, partner_id=partner.id, **pilot)
    gap = make_characteristic(uow, product, name="Gap", unit="mm", lsl=0.1, usl=0.3)
    crud.create(uow, quality.DEFECT_CODES, {"code": "GAP", "description": "Gap"}, actor=person("t"))
    with uow:
        found = uow.session.execute(
            select(Station.name, Station.id).where(Station.line_id == line.id)
        )
        stations = dict(found.all())
    return World(
        product.key, product.id, build.code, build.id, other.code, partner.id, gap.id, stations
    )


def run(
    serial: str,
    *,
    station: str | None = "S1",
    minute: int = 0,
    build: str | None = None,
    measurements: tuple[MeasurementIn, ...] | None = None,
    where: str = "",
    **more: Any,
) -> TestRunIn:
    started = T0 + dt.timedelta(minutes=minute)
    if measurements is None:
        measurements = (MeasurementIn("Gap", value=0.2, unit="mm", outcome=Outcome.PASS),)
    return TestRunIn(
        where=where or f"runs.json#/{serial}/{minute}",
        serial=serial,
        started_at=started,
        ended_at=started + dt.timedelta(seconds=40),
        outcome=Outcome.PASS,
        source_id=derived_source_id("run", serial, station, started),
        source="json",
        station=station,
        procedure="final test",
        target=Target(build=build),
        measurements=measurements,
        **more,
    )


def a_pass(
    serial: str,
    *,
    station: str = "S1",
    minute: int = 0,
    result: Outcome = Outcome.PASS,
    **more: Any,
) -> StationPassIn:
    started = T0 + dt.timedelta(minutes=minute)
    return StationPassIn(
        where=f"passes.csv:{minute + 2}",
        serial=serial,
        station=station,
        started_at=started,
        ended_at=started + dt.timedelta(seconds=30 + minute),
        result=result,
        source_id=derived_source_id("pass", serial, station, started),
        **more,
    )


def a_defect(serial: str, *, code: str = "GAP", minute: int = 0, **more: Any) -> DefectIn:
    found = T0 + dt.timedelta(minutes=minute)
    return DefectIn(
        where=f"defects.csv:{minute + 2}",
        serial=serial,
        code=code,
        severity=Severity.MINOR,
        found_at=found,
        source_id=derived_source_id("defect", serial, code, found),
        station="S2",
        **more,
    )


def take(
    uow: UnitOfWork,
    items: list[Parsed],
    *,
    actor: Principal = SYSTEM,
    build: str | None = None,
    **more: Any,
) -> ingest.IngestResult:
    return ingest_records(
        uow,
        items,
        actor=actor,
        source_name="station.json",
        format="json",
        target=Target(build=build),
        **more,
    )


def count(uow: UnitOfWork, model: Any) -> int:
    with uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def statuses(result: ingest.IngestResult) -> list[str]:
    return [r.status for r in result.records]


# --------------------------------------------------------------------------------------------


def test_inserts_runs_passes_and_defects_with_units_and_aggregates(
    uow: UnitOfWork, world: World
) -> None:
    series = ((0.0, 1.5), (1.0, 1.7))
    first = run(
        "SN-1",
        measurements=(
            MeasurementIn("Gap", value=0.25, outcome=Outcome.PASS, marginal=True),
            MeasurementIn("Gap", value=0.35, outcome=Outcome.FAIL, extra={"note": "edge"}),
            MeasurementIn("Sweep", series=series, unit="V", outcome=Outcome.PASS),
        ),
        attachments=(AttachmentIn("trace.csv", "text/csv", 120, "ab" * 20),),
        extra={"station_api": 3},
    )
    items: list[Parsed] = [
        first,
        run("SN-2", station="S2"),
        a_pass("SN-1"),
        a_pass("SN-1", station="S2", minute=1),
        a_defect("SN-2"),
    ]
    progress: list[int] = []
    result = take(uow, items, build=world.build, progress=progress.append)

    assert (result.inserted, result.duplicates, result.rejected) == (5, 0, 0)
    assert statuses(result) == ["inserted"] * 5
    assert [r.kind for r in result.records] == [
        "test_run",
        "test_run",
        "station_pass",
        "station_pass",
        "defect",
    ]
    assert result.measurements == 4
    assert progress == [5]
    assert [c.name for c in result.new_characteristics] == ["Sweep"]
    with uow:
        s = uow.session
        units = s.execute(select(Unit.serial, Unit.build_id).order_by(Unit.serial)).all()
        assert units == [("SN-1", world.build_id), ("SN-2", world.build_id)]
        stored = s.scalar(select(TestRun).where(TestRun.source_id == first.source_id))
        assert stored is not None
        assert stored.extra == {"station_api": 3, "measurements": {"Gap": {"note": "edge"}}}
        gaps = s.scalars(
            select(Measurement).where(Measurement.name == "Gap").order_by(Measurement.value)
        ).all()
        # Limits from the characteristic when the record gives none.
        assert [(m.lsl, m.usl, m.unit, m.marginal) for m in gaps] == [
            (0.1, 0.3, "mm", False),  # 0.2, of SN-2
            (0.1, 0.3, "mm", True),  # 0.25
            (0.1, 0.3, "mm", False),  # 0.35
        ]
        sweep = s.scalar(select(Measurement).where(Measurement.name == "Sweep"))
        assert sweep is not None and sweep.series == [[0.0, 1.5], [1.0, 1.7]]
        attachment = s.scalar(select(Attachment))
        assert attachment is not None
        assert (attachment.name, attachment.size, attachment.test_run_id) == (
            "trace.csv",
            120,
            stored.id,
        )
        stat = s.get(BuildCharacteristicStat, (world.build_id, world.gap_id))
        assert stat is not None
        assert (stat.count, stat.failed, stat.above_usl) == (3, 1, 1)
        assert stat.total == pytest.approx(0.8)
        passes = s.scalars(select(BuildStationStat).order_by(BuildStationStat.station_id)).all()
        assert [(p.passes, p.cycle_time_total_s) for p in passes] == [(1, 30.0), (1, 31.0)]
        file = s.get(IngestFile, result.file_id)
        assert file is not None
        assert (file.status, file.inserted, file.duplicates, file.rejected) == ("done", 5, 0, 0)
        assert (file.name, file.format, file.actor) == ("station.json", "json", "system")
        assert file.finished_at is not None
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.IMPORT)).all()
        assert len(events) == 1
        assert events[0].entity_type == "ingest_files" and events[0].entity_id == file.id
        assert events[0].after is not None and events[0].after["inserted"] == 5


def test_sending_the_same_records_again_changes_nothing(uow: UnitOfWork, world: World) -> None:
    items: list[Parsed] = [run("SN-1"), run("SN-1", minute=5), a_pass("SN-1"), a_defect("SN-1")]
    take(uow, items, build=world.build)
    tables = (Unit, TestRun, Measurement, StationPass, Defect, Characteristic)
    before = [count(uow, t) for t in tables]
    with uow:
        stat_before = uow.session.get(BuildCharacteristicStat, (world.build_id, world.gap_id))
        assert stat_before is not None
        counted = stat_before.count

    again = take(uow, items, build=world.build)

    assert (again.inserted, again.duplicates, again.rejected) == (0, 4, 0)
    assert statuses(again) == ["duplicate"] * 4
    assert [count(uow, t) for t in tables] == before
    with uow:
        stat = uow.session.get(BuildCharacteristicStat, (world.build_id, world.gap_id))
        assert stat is not None and stat.count == counted == 2


def test_the_same_record_twice_in_one_batch_is_stored_once(uow: UnitOfWork, world: World) -> None:
    record = run("SN-7")
    result = take(uow, [record, replace(record, where="runs.json#/again")], build=world.build)
    assert statuses(result) == ["inserted", "duplicate"]
    assert count(uow, TestRun) == 1


def test_a_partly_bad_batch_keeps_its_good_records_and_stores_the_rejects(
    uow: UnitOfWork, world: World
) -> None:
    late = run("SN-3", minute=9)
    items: list[Parsed] = [
        run("SN-1", build=world.build),
        Rejected("runs.json#/4", "outcome: 'maybe' is not one of: pass, fail", raw='{"x": 1}'),
        run("SN-2", station="Oven", build=world.build, where="runs.json#/5"),
        run("SN-NEW", where="runs.json#/6"),  # a new serial and no build
        a_defect("SN-1", code="NOPE"),
        replace(late, target=Target(build=world.build), ended_at=late.started_at - dt.timedelta(1)),
        a_pass("SN-1"),  # its unit is new in this batch
    ]
    result = take(uow, items)

    assert statuses(result) == [
        "inserted",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "inserted",
    ]
    reasons = {r.where: r.reason for r in result.records if r.status == "rejected"}
    assert reasons["runs.json#/4"].startswith("outcome: 'maybe'")
    assert "'Oven' is not a station on the line of build" in reasons["runs.json#/5"]
    assert "a new serial needs a build" in reasons["runs.json#/6"]
    assert reasons["defects.csv:2"] == "defect code 'NOPE' does not exist"
    assert "before it starts" in reasons[late.where]
    assert count(uow, TestRun) == 1 and count(uow, StationPass) == 1

    page = list_rejects(uow, actor=SYSTEM, file_id=result.file_id)
    assert page.total == 5
    stored = {r.where: r for r in page.items}
    assert stored["runs.json#/4"].kind == "unreadable" and stored["runs.json#/4"].raw == '{"x": 1}'
    assert stored["runs.json#/5"].kind == "test_run"
    assert stored["runs.json#/5"].source_id == derived_source_id("run", "SN-2", "Oven", T0)
    assert '"serial":"SN-2"' in stored["runs.json#/5"].raw
    with uow:
        file = uow.session.get(IngestFile, result.file_id)
        assert file is not None and (file.inserted, file.rejected) == (2, 5)

    # The repaired record goes in; its reject is resolved, the others stay open.
    oven = items[2]
    assert isinstance(oven, TestRunIn)
    fixed = take(uow, [replace(oven, station="S2")])
    assert statuses(fixed) == ["inserted"]
    assert list_rejects(uow, actor=SYSTEM, unresolved=True).total == 4


def test_a_known_serial_finds_its_build_and_a_build_must_match(
    uow: UnitOfWork, world: World
) -> None:
    take(uow, [run("SN-1")], build=world.build)
    result = take(uow, [run("sn-1", minute=1), run("SN-1", minute=2, build=world.other_build)])
    assert statuses(result)[0] == "inserted"
    assert result.records[1].reason == (
        f"unit 'SN-1' belongs to build {world.build}, not to build {world.other_build}"
    )
    with uow:
        runs = uow.session.scalars(select(TestRun.unit_id)).all()
        assert len(set(runs)) == 1


def test_unknown_names_become_characteristics_once(uow: UnitOfWork, world: World) -> None:
    measurements = (
        MeasurementIn("Vout", value=5.02, unit="V", lsl=4.9, usl=5.1, outcome=Outcome.PASS),
        MeasurementIn("Serial port", text_value="ok", outcome=Outcome.PASS),
    )
    first = take(uow, [run("SN-1", measurements=measurements)], build=world.build)
    second = take(uow, [run("SN-2", measurements=measurements)], build=world.build)

    assert [(c.product, c.name) for c in first.new_characteristics] == [
        (world.product_key, "Vout"),
        (world.product_key, "Serial port"),
    ]
    assert second.new_characteristics == ()
    with uow:
        vout = uow.session.scalar(select(Characteristic).where(Characteristic.name == "Vout"))
        assert vout is not None
        assert (vout.ctq, vout.unit, vout.lsl, vout.usl) == (False, "V", 4.9, 5.1)
        stat = uow.session.get(BuildCharacteristicStat, (world.build_id, vout.id))
        assert stat is not None and stat.count == 2
        assert stat.total == pytest.approx(10.04)


def test_aliases_map_names_onto_characteristics_whatever_their_case(
    uow: UnitOfWork, world: World
) -> None:
    crud.create(
        uow,
        ALIASES,
        {"product_id": world.product_id, "alias": "gap_mm", "characteristic_id": world.gap_id},
        actor=SYSTEM,
    )
    with pytest.raises((Conflict, InvalidInput)):
        crud.create(
            uow,
            ALIASES,
            {"product_id": world.product_id, "alias": "GAP_MM", "characteristic_id": world.gap_id},
            actor=SYSTEM,
        )
    other = make_characteristic(uow, _product(uow, world), name="Flatness")
    with pytest.raises(InvalidInput, match="another characteristic"):
        crud.create(
            uow,
            ALIASES,
            {"product_id": world.product_id, "alias": "gap", "characteristic_id": other.id},
            actor=SYSTEM,
        )
    measured = (MeasurementIn("GAP_MM", value=0.4, outcome=Outcome.FAIL),)
    result = take(uow, [run("SN-1", measurements=measured)], build=world.build)

    assert result.new_characteristics == ()
    with uow:
        m = uow.session.scalar(select(Measurement))
        assert m is not None
        assert (m.characteristic_id, m.name, m.lsl, m.usl) == (world.gap_id, "GAP_MM", 0.1, 0.3)
        stat = uow.session.get(BuildCharacteristicStat, (world.build_id, world.gap_id))
        assert stat is not None and (stat.count, stat.above_usl) == (1, 1)
    page = crud.list_page(uow, ALIASES, actor=SYSTEM, filters={"product_id": world.product_id})
    assert [a.alias for a in page.items] == ["gap_mm"]


def _product(uow: UnitOfWork, world: World) -> Any:
    from phasegate.store.models import Product

    with uow:
        return uow.get(Product, world.product_id)


def test_a_partner_stores_only_into_its_own_builds(uow: UnitOfWork, world: World) -> None:
    take(uow, [run("SN-OURS")], build=world.build)
    partner = person("cm", Role.PARTNER, partner_id=world.partner_id)

    result = take(
        uow,
        [
            run("SN-10", build=world.build),
            run("SN-OURS", minute=3),  # a unit of a build outside the scope
            run("SN-11", build=world.other_build),
        ],
        actor=partner,
    )

    assert statuses(result) == ["rejected", "rejected", "inserted"]
    assert result.records[0].reason == f"build {world.build!r} does not exist"
    assert result.records[1].reason.startswith("unit 'SN-OURS' does not exist")
    files = list_files(uow, actor=partner, limit=10)
    assert [f.id for f in files.items] == [result.file_id]
    assert list_files(uow, actor=SYSTEM, limit=10).total == 2
    assert list_rejects(uow, actor=partner).total == 2


def test_a_token_bound_to_a_station_stores_only_that_stations_records(
    uow: UnitOfWork, world: World
) -> None:
    token = Principal(
        name="s1-token",
        role=Role.OPERATIONS,
        scopes=frozenset({Scope.INGEST}),
        station_id=world.stations["S1"],
    )
    result = take(
        uow,
        [run("SN-1"), run("SN-2", station="S2"), a_pass("SN-1"), a_defect("SN-1")],
        actor=token,
        build=world.build,
    )
    assert statuses(result) == ["inserted", "rejected", "inserted", "rejected"]
    assert result.records[1].reason == "this token records only station 'S1', not 'S2'"


def test_reading_needs_the_ingest_permission(uow: UnitOfWork, world: World) -> None:
    from phasegate.domain.errors import Forbidden

    with pytest.raises(Forbidden):
        take(uow, [run("SN-1")], actor=person("v", Role.VIEWER), build=world.build)
    assert count(uow, IngestFile) == 0


def test_each_batch_is_stored_whole_and_a_rerun_completes_the_file(
    uow: UnitOfWork, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    items: list[Parsed] = [run(f"SN-{i}", minute=i) for i in range(5)]
    real = bulk.insert_measurement_columns
    calls = []

    def failing(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the process died")
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk, "insert_measurement_columns", failing)
    with pytest.raises(RuntimeError, match="the process died"):
        take(uow, items, build=world.build, batch_records=2)
    monkeypatch.setattr(bulk, "insert_measurement_columns", real)

    # The first batch is there whole; nothing of the second (not even its units).
    with uow:
        serials = sorted(uow.session.scalars(select(Unit.serial)))
        assert serials == ["SN-0", "SN-1"]
        assert uow.session.scalar(select(func.count()).select_from(Measurement)) == 2
        file = uow.session.scalars(select(IngestFile)).one()
        assert (file.status, file.inserted) == ("failed", 2)

    again = take(uow, items, build=world.build, batch_records=2)
    assert statuses(again) == ["duplicate"] * 2 + ["inserted"] * 3
    assert count(uow, TestRun) == 5
    with uow:
        stat = uow.session.get(BuildCharacteristicStat, (world.build_id, world.gap_id))
        assert stat is not None and stat.count == 5


def test_a_file_that_breaks_off_keeps_what_was_read_and_fails(
    uow: UnitOfWork, world: World
) -> None:
    def items() -> Iterator[Parsed]:
        yield run("SN-1")
        yield run("SN-2")
        yield run("SN-3")
        raise InvalidInput("runs.json:9: unexpected end of data")

    with pytest.raises(InvalidInput, match="unexpected end"):
        take(uow, items(), build=world.build, batch_records=2)  # type: ignore[arg-type]
    assert count(uow, TestRun) == 3
    with uow:
        file = uow.session.scalars(select(IngestFile)).one()
        assert (file.status, file.inserted, file.rejected) == ("failed", 3, 1)
        reject = uow.session.scalars(select(IngestReject)).one()
        assert (reject.kind, reject.reason) == ("file", "runs.json:9: unexpected end of data")
        audit = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).one()
        assert "failed" in audit.summary


def test_results_kept_are_capped(
    uow: UnitOfWork, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "MAX_KEPT_RESULTS", 3)
    result = take(uow, [run(f"SN-{i}", minute=i) for i in range(5)], build=world.build)
    assert result.inserted == 5
    assert len(result.records) == 3 and result.records_omitted == 2


# --------------------------------------------------------------------------------------------
# The aggregates equal a recomputation from the raw rows, whatever came in


def _stats(uow: UnitOfWork) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    s = uow.session
    chars = s.execute(
        select(
            BuildCharacteristicStat.build_id,
            BuildCharacteristicStat.characteristic_id,
            BuildCharacteristicStat.count,
            BuildCharacteristicStat.total,
            BuildCharacteristicStat.total_sq,
            BuildCharacteristicStat.minimum,
            BuildCharacteristicStat.maximum,
            BuildCharacteristicStat.failed,
            BuildCharacteristicStat.below_lsl,
            BuildCharacteristicStat.above_usl,
        ).order_by(BuildCharacteristicStat.build_id, BuildCharacteristicStat.characteristic_id)
    ).all()
    stations = s.execute(
        select(
            BuildStationStat.build_id,
            BuildStationStat.station_id,
            BuildStationStat.passes,
            BuildStationStat.first_attempts,
            BuildStationStat.first_pass_ok,
            BuildStationStat.failures,
            BuildStationStat.cycle_time_count,
            BuildStationStat.cycle_time_total_s,
            BuildStationStat.cycle_time_total_sq,
            BuildStationStat.cycle_time_min_s,
            BuildStationStat.cycle_time_max_s,
        ).order_by(BuildStationStat.build_id, BuildStationStat.station_id)
    ).all()
    return [tuple(r) for r in chars], [tuple(r) for r in stations]


def _same(kept: list[tuple[Any, ...]], recomputed: list[tuple[Any, ...]]) -> None:
    assert len(kept) == len(recomputed)
    for row, again in zip(kept, recomputed, strict=True):
        for a, b in zip(row, again, strict=True):
            assert a == b if a is None or b is None else a == pytest.approx(b, rel=1e-9, abs=1e-9)


measurement = st.builds(
    MeasurementIn,
    name=st.sampled_from(["Gap", "gap_mm", "Vout", "Torque"]),
    value=st.one_of(st.none(), st.floats(-10, 10, allow_nan=False)),
    lsl=st.one_of(st.none(), st.just(0.0)),
    outcome=st.sampled_from([Outcome.PASS, Outcome.FAIL, Outcome.UNSET]),
)
record = st.one_of(
    st.builds(
        lambda serial, station, minute, ms, build: run(
            serial, station=station, minute=minute, measurements=tuple(ms), build=build
        ),
        st.sampled_from(["A", "B", "C"]),
        st.sampled_from(["S1", "S2", "Oven", None]),
        st.integers(0, 3),
        st.lists(measurement, max_size=3),
        st.sampled_from([None, "BUILD", "OTHER"]),
    ),
    st.builds(
        lambda serial, station, minute, attempt, result: a_pass(
            serial, station=station, minute=minute, attempt=attempt, result=result
        ),
        st.sampled_from(["A", "B", "C"]),
        st.sampled_from(["S1", "S2", "Oven"]),
        st.integers(0, 3),
        st.integers(1, 2),
        st.sampled_from([Outcome.PASS, Outcome.FAIL]),
    ),
    st.builds(lambda: Rejected("bad.csv:3", "unreadable")),
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    files=st.lists(st.lists(record, max_size=6), min_size=1, max_size=3),
    batch=st.integers(1, 3),
)
def test_aggregates_equal_a_recomputation_after_any_ingests(
    uow: UnitOfWork, world: World, files: list[list[Parsed]], batch: int
) -> None:
    names = {"BUILD": world.build, "OTHER": world.other_build}
    for items in files:
        placed = [
            replace(i, target=Target(build=names[i.target.build]))
            if isinstance(i, TestRunIn) and i.target.build
            else i
            for i in items
        ]
        take(uow, placed, build=world.build if batch == 2 else None, batch_records=batch)
    with uow.write():
        kept = _stats(uow)
        bulk.recompute_stats(uow.session.connection())
        recomputed = _stats(uow)
        # Leaving without commit puts the kept aggregates back for the next example.
    _same(kept[0], recomputed[0])
    _same(kept[1], recomputed[1])


# --------------------------------------------------------------------------------------------
# Files


LONG_CSV = """serial,station,started_at,ended_at,name,value,unit,outcome
SN-1,S1,2026-03-02T08:00:00Z,2026-03-02T08:00:40Z,Gap,0.2,mm,pass
SN-1,S1,2026-03-02T08:00:00Z,2026-03-02T08:00:40Z,Vout,5.01,V,pass
SN-2,S1,2026-03-02T08:01:00Z,2026-03-02T08:01:40Z,Gap,0.5,mm,fail
SN-3,Oven,2026-03-02T08:02:00Z,2026-03-02T08:02:40Z,Gap,0.2,mm,pass
"""


def test_a_file_is_read_stored_and_recorded_with_its_digest(
    uow: UnitOfWork, world: World, tmp_path: Any
) -> None:
    path = tmp_path / "line1.csv"
    path.write_text(LONG_CSV)

    result = ingest.ingest_path(uow, path, actor=SYSTEM, target=Target(build=world.build))

    assert (result.format, result.inserted, result.rejected) == ("csv", 2, 1)
    assert result.records[2].where.startswith(str(path))
    assert "'Oven' is not a station" in result.records[2].reason
    with uow:
        file = uow.session.get(IngestFile, result.file_id)
        assert file is not None
        assert (file.size, file.sha256) == (len(LONG_CSV), _sha256(LONG_CSV))
    again = ingest.ingest_path(uow, path, actor=SYSTEM, target=Target(build=world.build))
    assert (again.inserted, again.duplicates, again.rejected) == (0, 2, 1)


def test_a_file_that_cannot_be_read_is_recorded_as_failed(
    uow: UnitOfWork, world: World, tmp_path: Any
) -> None:
    with pytest.raises(InvalidInput, match=r"nothing\.csv"):
        ingest.ingest_path(uow, tmp_path / "nothing.csv", actor=SYSTEM)
    bad = tmp_path / "bad.csv"
    bad.write_text("serial,station,started_at,name\nSN-1,S1,2026-03-02T08:00:00Z,Gap\n")
    with pytest.raises(InvalidInput):
        ingest.ingest_path(uow, bad, actor=SYSTEM, format="csv")

    files = list_files(uow, actor=SYSTEM).items
    assert [(f.status, f.rejected) for f in files] == [("failed", 1), ("failed", 1)]
    rejects = list_rejects(uow, actor=SYSTEM).items
    assert {r.kind for r in rejects} == {"file"}
    assert any("nothing.csv" in r.reason for r in rejects)


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def test_a_large_load_refreshes_the_planner_statistics(
    uow: UnitOfWork, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "ANALYZE_AFTER", 2)
    take(uow, [run("SN-1"), run("SN-2")], build=world.build)
    with uow:
        conn = uow.session.connection()
        if conn.dialect.name != "postgresql":
            pytest.skip("ANALYZE is run on PostgreSQL only")
        analyzed = conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_user_tables "
                "WHERE relname = 'measurements' AND last_analyze IS NOT NULL"
            )
        )
    assert analyzed == 1


def test_concurrent_ingests_of_the_same_records_store_each_once(
    engine: Engine, uow: UnitOfWork, world: World
) -> None:
    measured = (MeasurementIn("Fresh", value=1.0), MeasurementIn("Gap", value=0.2))
    items: list[Parsed] = [run(f"SN-{i % 7}", minute=i, measurements=measured) for i in range(40)]
    errors: list[BaseException] = []

    def ingest_all(order: int) -> None:
        work = UnitOfWork.for_engine(engine)
        try:
            take(work, items[::order], build=world.build, batch_records=3)
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=ingest_all, args=(k,)) for k in (1, -1, 1, -1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert count(uow, TestRun) == 40 and count(uow, Unit) == 7
    with uow:
        fresh = uow.session.scalars(
            select(Characteristic).where(Characteristic.name == "Fresh")
        ).one()
        stat = uow.session.get(BuildCharacteristicStat, (world.build_id, fresh.id))
        assert stat is not None and stat.count == 40
        files = uow.session.scalars(select(IngestFile)).all()
        assert sum(f.inserted for f in files) == 40
        assert sum(f.duplicates for f in files) == 120


# --------------------------------------------------------------------------------------------
# The preview: the import's own batch, rolled back


_EVERY_TABLE = (
    TestRun,
    Measurement,
    Attachment,
    StationPass,
    Defect,
    Unit,
    Characteristic,
    IngestFile,
    IngestReject,
    AuditEvent,
    BuildCharacteristicStat,
    BuildStationStat,
)


def _counts(uow: UnitOfWork) -> dict[str, int]:
    return {model.__name__: count(uow, model) for model in _EVERY_TABLE}


def _mixed(world: World) -> list[Parsed]:
    """Records of every fate: new, aliased and unknown names, a duplicate within the batch,
    an unknown station, a serial without a build, an unreadable part, a pass and a defect."""
    return [
        run(
            "SN-1",
            build=world.build,
            measurements=(
                MeasurementIn("Gap", value=0.2, unit="mm"),
                MeasurementIn("gap_mm", value=0.25),
                MeasurementIn("Ripple", value=3.0, unit="mV", lsl=0.0, usl=5.0),
            ),
        ),
        run("SN-1", build=world.build),  # the same source id again
        run("SN-2", build=world.build, station="S9"),
        run("SN-3", minute=1),  # a new serial, no build
        Rejected("runs.json#/9", "not a test run", "{}"),
        run("SN-2", minute=2, build=world.build, measurements=(MeasurementIn("GAP", value=0.1),)),
        a_pass("SN-1", minute=3, target=Target(build=world.build)),
        a_defect("SN-1", minute=4, target=Target(build=world.build)),
    ]


def test_the_preview_stores_nothing_and_says_what_the_import_then_does(
    uow: UnitOfWork, world: World
) -> None:
    crud.create(
        uow,
        ALIASES,
        {"product_id": world.product_id, "alias": "gap_mm", "characteristic_id": world.gap_id},
        actor=SYSTEM,
    )
    take(uow, [run("SN-0", minute=9)], build=world.build)  # something present already
    items = [*_mixed(world), run("SN-0", minute=9, build=world.build)]
    before = _counts(uow)

    seen = ingest.preview(uow, items, actor=SYSTEM, source_name="look.json", format="json")

    assert _counts(uow) == before
    result = take(uow, items)
    assert [(r.where, r.status, r.reason) for r in seen.records] == [
        (r.where, r.status, r.reason) for r in result.records
    ]
    assert statuses(result) == [
        "inserted",
        "duplicate",
        "rejected",
        "rejected",
        "rejected",
        "inserted",
        "inserted",
        "inserted",
        "duplicate",
    ]
    assert (seen.inserted, seen.duplicates, seen.rejected, seen.measurements) == (
        result.inserted,
        result.duplicates,
        result.rejected,
        result.measurements,
    )
    assert seen.read == len(items) and not seen.more
    by_name = {m.name: m for m in seen.mapping}
    assert {n: (m.how, m.characteristic, m.count) for n, m in by_name.items()} == {
        "Gap": ("name", "Gap", 1),
        "gap_mm": ("alias", "Gap", 1),
        "Ripple": ("new", "Ripple", 1),
        "GAP": ("case", "Gap", 1),
    }
    assert by_name["Gap"].characteristic_id == world.gap_id
    assert by_name["gap_mm"].characteristic_id == world.gap_id
    assert by_name["Ripple"].characteristic_id is None
    assert {m.product for m in seen.mapping} == {world.product_key}
    assert [c.name for c in seen.new_characteristics] == [
        c.name for c in result.new_characteristics
    ]
    # The import applied the mapping the preview showed.
    with uow:
        stored = dict(
            uow.session.execute(
                select(Measurement.name, Measurement.characteristic_id).join(TestRun)
            ).all()
        )
    assert stored["gap_mm"] == stored["GAP"] == stored["Gap"] == world.gap_id
    assert stored["Ripple"] == result.new_characteristics[0].id


def test_the_preview_takes_the_first_records_and_says_there_are_more(
    uow: UnitOfWork, world: World
) -> None:
    items: list[Parsed] = [run(f"SN-{i}", minute=i, build=world.build) for i in range(5)]
    before = _counts(uow)
    seen = ingest.preview(uow, iter(items), actor=SYSTEM, limit=3)
    assert seen.read == 3 and seen.more
    assert [r.status for r in seen.records] == ["inserted"] * 3
    assert _counts(uow) == before
    with pytest.raises(InvalidInput):
        ingest.preview(uow, items, actor=SYSTEM, limit=0)


def test_the_preview_is_refused_to_whoever_may_not_ingest(uow: UnitOfWork, world: World) -> None:
    with pytest.raises(Forbidden):
        ingest.preview(uow, [run("SN-1", build=world.build)], actor=person("v", Role.VIEWER))


def test_ingest_stream_takes_the_digest_and_format_of_an_open_stream(
    uow: UnitOfWork, world: World
) -> None:
    data = (
        b"serial,station,started_at,name,value,unit\n"
        b"SN-1,S1,2026-03-02T08:00:00Z,Gap,0.2,mm\n"
        b"SN-1,S1,2026-03-02T08:00:00Z,Width,4.0,mm\n"
    )

    class OneWay(io.RawIOBase):
        """A stream that cannot be seeked, as a socket is."""

        def __init__(self) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self.inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    preview = ingest.preview_stream(
        uow, io.BytesIO(data), name="long.csv", actor=SYSTEM, target=Target(build=world.build)
    )
    assert preview.format == "csv" and preview.inserted == 1
    assert {m.name: m.how for m in preview.mapping} == {"Gap": "name", "Width": "new"}
    result = ingest.ingest_stream(
        uow,
        OneWay(),
        name="long.csv",
        actor=SYSTEM,
        target=Target(build=world.build),  # type: ignore[arg-type]
    )
    assert (result.format, result.inserted, result.measurements) == ("csv", 1, 2)
    with uow:
        row = uow.session.get(IngestFile, result.file_id)
        assert row is not None
        assert row.sha256 == hashlib.sha256(data).hexdigest() and row.size == len(data)

    with pytest.raises(InvalidInput, match="empty"):
        ingest.ingest_stream(uow, io.BytesIO(b""), name="empty.csv", actor=SYSTEM)
    with uow:
        failed = uow.session.scalars(select(IngestFile).where(IngestFile.name == "empty.csv")).one()
        assert failed.status == "failed" and failed.rejected == 1


# --------------------------------------------------------------------------------------------
# Measurements given no outcome are judged against their limits


def test_a_measurement_without_an_outcome_is_judged_and_so_is_its_run(
    uow: UnitOfWork, world: World
) -> None:
    """Gap's limits are 0.1..0.3 mm. A value given no outcome is judged against its own limits,
    else its characteristic's (inclusive); a run given no outcome takes its measurements'."""
    unset = Outcome.UNSET

    def unjudged(serial: str, *, outcome: Outcome, **more: Any) -> TestRunIn:
        return replace(run(serial, **more), outcome=outcome)

    runs = [
        unjudged(  # within Gap's limits, on the limit, outside its own limits
            "SN-J1",
            outcome=unset,
            measurements=(
                MeasurementIn("Gap", value=0.2, outcome=unset),
                MeasurementIn("Gap", value=0.3, outcome=unset),
                MeasurementIn("Other", value=5.0, lsl=6.0, outcome=unset),
            ),
        ),
        unjudged(  # outside Gap's limits, but the station said pass: its verdict is kept
            "SN-J2",
            outcome=unset,
            measurements=(MeasurementIn("Gap", value=0.9, outcome=Outcome.PASS),),
        ),
        unjudged(  # within, and no limit for a text value: the run passes
            "SN-J3",
            outcome=unset,
            measurements=(
                MeasurementIn("Gap", value=0.25, outcome=unset),
                MeasurementIn("Label", text_value="ok", outcome=unset),
            ),
        ),
        unjudged(  # its own outcome stands
            "SN-J4",
            outcome=Outcome.ERROR,
            measurements=(MeasurementIn("Gap", value=0.9, outcome=unset),),
        ),
    ]
    result = take(uow, list(runs), build=world.build)
    assert result.inserted == 4
    with uow:
        stored = uow.session.execute(
            select(Unit.serial, Measurement.name, Measurement.value, Measurement.outcome)
            .join(Unit, Unit.id == Measurement.unit_id)
            .order_by(Measurement.id)
        ).all()
        assert [(s, n, o) for s, n, _, o in stored] == [
            ("SN-J1", "Gap", Outcome.PASS),
            ("SN-J1", "Gap", Outcome.PASS),
            ("SN-J1", "Other", Outcome.FAIL),
            ("SN-J2", "Gap", Outcome.PASS),
            ("SN-J3", "Gap", Outcome.PASS),
            ("SN-J3", "Label", Outcome.UNSET),
            ("SN-J4", "Gap", Outcome.FAIL),
        ]
        outcomes = dict(
            uow.session.execute(
                select(Unit.serial, TestRun.outcome).join(Unit, Unit.id == TestRun.unit_id)
            ).all()
        )
        assert outcomes == {
            "SN-J1": Outcome.FAIL,
            "SN-J2": Outcome.PASS,
            "SN-J3": Outcome.PASS,
            "SN-J4": Outcome.ERROR,
        }
        gap = uow.session.get(BuildCharacteristicStat, (world.build_id, world.gap_id))
        assert gap is not None
        assert (gap.count, gap.passed, gap.failed, gap.above_usl) == (5, 4, 1, 2)


_FLOATS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.0, -1.0]),
)
_TEXT = st.one_of(
    st.sampled_from(["Gap", "", " x", "a\x00b", "V", "x" * 201, "y" * 41, "\ud800"]),
    st.text(max_size=5),
)


@st.composite
def _measurement(draw: st.DrawFn) -> MeasurementIn:
    return MeasurementIn(
        name=draw(_TEXT),
        value=draw(_FLOATS),
        unit=draw(_TEXT),
        lsl=draw(_FLOATS),
        usl=draw(_FLOATS),
        text_value=draw(st.one_of(st.none(), _TEXT)),
        outcome=draw(st.sampled_from(list(Outcome))),
        measured_at=draw(st.one_of(st.none(), st.just(T0), st.just(T0.replace(tzinfo=None)))),
    )


@given(st.lists(st.lists(_measurement(), max_size=4), max_size=5))
@settings(max_examples=300, deadline=None)
def test_the_batch_check_passes_only_runs_whose_every_measurement_is_good(
    measurements: list[list[MeasurementIn]],
) -> None:
    """The check of a whole batch at once is sound: a run it lets through has no measurement
    the full check of one measurement refuses (it may send a good run to the full check)."""
    runs = [run(f"SN-{i}", measurements=tuple(ms)) for i, ms in enumerate(measurements)]
    good = MeasurementBlock.of(runs).plainly_good_runs().tolist()
    assert len(good) == len(runs)
    for ok, r in zip(good, runs, strict=True):
        problems = [ingest._measurement_problem(m) for m in r.measurements]
        if ok:
            assert problems == [None] * len(problems)


def test_the_batch_check_lets_plain_measurements_through_and_names_each_other_kind() -> None:
    plain = (MeasurementIn("Gap", 0.2, unit="mm", lsl=0.1, usl=0.3), MeasurementIn("V", None))
    others = [
        MeasurementIn("Gap", float("inf")),
        MeasurementIn("Gap", 1.0, lsl=2.0, usl=1.0),
        MeasurementIn("", 1.0),
        MeasurementIn("Gap", 1.0, unit="u" * 41),
        MeasurementIn("G\x00ap", 1.0),
        MeasurementIn("Gap", text_value="ok"),
        MeasurementIn("Gap", 1.0, measured_at=T0),
        MeasurementIn("Gap", 1.0, extra={"k": 1}),
    ]
    runs = [run("SN-0", measurements=plain)]
    runs += [run(f"SN-{i}", measurements=(*plain, m)) for i, m in enumerate(others, 1)]
    assert MeasurementBlock.of(runs).plainly_good_runs().tolist() == [True] + [False] * 8
