"""Record a build's high-volume test data: units, station passes, test runs, measurements, defects.

``record_build_volume(uow, build_id, volume, actor=...)`` stores one ``BuildVolume`` in one
transaction and commits. The rows go through the bulk path (``store.bulk``: ``executemany`` on
SQLite, ``COPY`` on PostgreSQL, on the unit of work's connection), which also keeps the
per-build aggregates up to date; the import is written to the audit trail in the same
transaction. Either everything is stored or nothing is.

The records are plain values that name what they refer to, so a caller needs no database ids:

- a station pass, test run or defect names its unit by ``serial`` (a unit of the same volume);
- stations by name, on the build's line (``None`` for work off the line, e.g. a lab bench);
- measurements by the name of one of the product's characteristics, whose unit and limits they
  are stored with;
- defects by their defect code.

A reference that does not resolve raises ``InvalidInput`` naming the record, e.g.
``volume.station_passes[12].station``, before anything is written. An ingest token bound to a
station records only that station's work, into builds on that station's line (``Forbidden``
otherwise).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from phasegate.domain.enums import (
    Allocation,
    AuditAction,
    Disposition,
    Outcome,
    Severity,
    UnitStatus,
)
from phasegate.domain.errors import FieldError, Forbidden, InvalidInput
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.ingest.records import derived_source_id
from phasegate.services import audit
from phasegate.services.access import authorize, require_visible
from phasegate.store import bulk
from phasegate.store.models import Build, Characteristic, DefectCode, Station
from phasegate.store.uow import UnitOfWork

# Units per bulk round trip: bounds the rows held in memory at once and sets how often
# ``progress`` is called.
DEFAULT_BATCH_UNITS = 500

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class UnitRecord:
    """A new unit of the build."""

    serial: str
    status: UnitStatus = UnitStatus.IN_PROCESS
    allocation: Allocation = Allocation.UNALLOCATED
    created_at: dt.datetime | None = None  # when the unit was started; now when not given


@dataclass(frozen=True, slots=True)
class StationPassRecord:
    """One visit of a unit to a station of the build's line."""

    unit: str  # serial
    station: str  # station name
    started_at: dt.datetime
    ended_at: dt.datetime | None
    result: Outcome
    operator: str = ""
    attempt: int = 1  # 2 and up: the same station again after rework


@dataclass(frozen=True, slots=True)
class MeasurementRecord:
    """One measured value of a characteristic, stored with the characteristic's unit and limits."""

    characteristic: str  # characteristic name
    value: float
    outcome: Outcome
    measured_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A test run of a unit and the measurements it took."""

    unit: str  # serial
    station: str | None  # station name; None for a test off the line
    procedure: str
    outcome: Outcome
    started_at: dt.datetime
    ended_at: dt.datetime | None
    source_id: str  # unique across all test runs: names the run in its source
    operator: str = ""
    source: str = ""  # where the run comes from, e.g. "station" or "lab"
    measurements: tuple[MeasurementRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class DefectRecord:
    """A defect found on a unit."""

    unit: str  # serial
    station: str | None  # station name; None when found off the line
    code: str  # defect code
    severity: Severity
    found_at: dt.datetime
    disposition: Disposition = Disposition.PENDING
    cost: float = 0.0
    notes: str = ""


@dataclass(frozen=True, slots=True)
class BuildVolume:
    """The high-volume records of one build, as one batch."""

    units: Sequence[UnitRecord] = ()
    station_passes: Sequence[StationPassRecord] = ()
    test_runs: Sequence[RunRecord] = ()
    defects: Sequence[DefectRecord] = ()

    @property
    def measurement_count(self) -> int:
        return sum(len(r.measurements) for r in self.test_runs)

    @property
    def row_count(self) -> int:
        """Rows the volume adds to the database (aggregates and audit left out)."""
        return (
            len(self.units)
            + len(self.station_passes)
            + len(self.test_runs)
            + self.measurement_count
            + len(self.defects)
        )


@dataclass(frozen=True, slots=True)
class VolumeReport:
    """What ``record_build_volume`` stored."""

    build: str  # build code
    units: int
    station_passes: int
    test_runs: int
    measurements: int
    defects: int

    @classmethod
    def of(cls, build: str, volume: BuildVolume) -> VolumeReport:
        return cls(
            build=build,
            units=len(volume.units),
            station_passes=len(volume.station_passes),
            test_runs=len(volume.test_runs),
            measurements=volume.measurement_count,
            defects=len(volume.defects),
        )

    @property
    def rows(self) -> int:
        return self.units + self.station_passes + self.test_runs + self.measurements + self.defects


def record_build_volume(
    uow: UnitOfWork,
    build_id: int,
    volume: BuildVolume,
    *,
    actor: Principal,
    batch_units: int = DEFAULT_BATCH_UNITS,
    progress: Progress | None = None,
) -> VolumeReport:
    """Store ``volume`` for build ``build_id`` in one transaction, audit it and commit.

    Parameters
    ----------
    uow : the unit of work; this function opens and commits it.
    build_id : the build the units belong to (their product is the build's).
    volume : the records; see the module docstring for how they refer to each other.
    actor : who imports: their role must allow ingesting test data, a partner user only into
        its own builds; named in the audit trail.
    batch_units : units per bulk round trip, with their passes, runs and defects.
    progress : called after each round trip with the rows stored so far by this call.

    Raises ``NotFound`` when the build does not exist and ``InvalidInput`` naming the record
    and field when a reference does not resolve or the bulk path rejects a row.
    """
    authorize(actor, Action.INGEST, Kind.TEST_DATA)
    if batch_units < 1:
        raise _bad("batch_units", f"must be at least 1, not {batch_units}")
    with uow.write():
        build = uow.get(Build, build_id, label="build")
        require_visible(uow, actor, build, label="build")
        refs = _resolve(uow.session, build, volume)
        if actor.station_id is not None:
            _check_bound_station(refs, volume, build, actor.station_id)
        conn = uow.session.connection()
        stored = 0
        for batch in _batches(volume, refs.positions, batch_units):
            stored += _insert_batch(conn, build, refs, batch)
            if progress is not None:
                progress(stored)
        report = VolumeReport.of(build.code, volume)
        _audit(uow, build, report, actor.name)
        uow.commit()
    return report


def _audit(uow: UnitOfWork, build: Build, report: VolumeReport, actor: str) -> None:
    audit.record(
        uow,
        actor=actor,
        action=AuditAction.IMPORT,
        obj=build,
        before=None,
        after={
            "units": report.units,
            "station_passes": report.station_passes,
            "test_runs": report.test_runs,
            "measurements": report.measurements,
            "defects": report.defects,
        },
        summary=f"imported {report.units} units and their test data into build {build.code}",
    )


# --------------------------------------------------------------------------------------------
# Resolving names to ids


@dataclass(frozen=True, slots=True)
class _Limits:
    id: int
    unit: str
    lsl: float | None
    usl: float | None


@dataclass(frozen=True, slots=True)
class _References:
    positions: Mapping[str, int]  # serial -> index in ``volume.units``
    stations: Mapping[str, int]  # station name -> id
    characteristics: Mapping[str, _Limits]
    defect_codes: Mapping[str, int]  # code -> id


def _resolve(session: Session, build: Build, volume: BuildVolume) -> _References:
    """Ids for every name the volume uses; ``InvalidInput`` for the first that has none."""
    stations: dict[str, int] = {}
    if build.line_id is not None:
        on_line = select(Station.name, Station.id).where(Station.line_id == build.line_id)
        stations = dict(session.execute(on_line).all())
    limits = {
        c.name: _Limits(id=c.id, unit=c.unit, lsl=c.lsl, usl=c.usl)
        for c in session.scalars(
            select(Characteristic).where(Characteristic.product_id == build.product_id)
        )
    }
    codes = dict(session.execute(select(DefectCode.code, DefectCode.id)).all())
    refs = _References(
        positions=_positions(volume.units),
        stations=stations,
        characteristics=limits,
        defect_codes=codes,
    )
    _check(refs, volume, build)
    return refs


def _positions(units: Sequence[UnitRecord]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for index, unit in enumerate(units):
        if positions.setdefault(unit.serial, index) != index:
            raise _bad(f"volume.units[{index}].serial", f"{unit.serial!r} appears twice")
    return positions


def _check(refs: _References, volume: BuildVolume, build: Build) -> None:
    if build.line_id is None:
        off_line = f"cannot be used: build {build.code} has no line"
    else:
        off_line = f"is not a station on the line of build {build.code}"
    for name, records in (
        ("station_passes", volume.station_passes),
        ("test_runs", volume.test_runs),
        ("defects", volume.defects),
    ):
        _require(name, "unit", records, refs.positions, "is not a unit of this volume")
        _require(name, "station", records, refs.stations, off_line)
    _require("defects", "code", volume.defects, refs.defect_codes, "is not a defect code")
    used = {m.characteristic for r in volume.test_runs for m in r.measurements}
    if used <= refs.characteristics.keys():
        return
    for index, run in enumerate(volume.test_runs):
        _require(
            f"test_runs[{index}].measurements",
            "characteristic",
            run.measurements,
            refs.characteristics,
            f"is not a characteristic of the product of build {build.code}",
        )


def bound_station_refusal(
    stations: Mapping[str, int], station_id: int, build_code: str, name: str | None
) -> str | None:
    """Why a token bound to station ``station_id`` may not record work at station ``name`` for
    a build whose line has ``stations`` (name -> id); None when it may."""
    bound = next((n for n, sid in stations.items() if sid == station_id), None)
    if bound is None:
        return f"this token is bound to a station that is not on the line of build {build_code}"
    if name != bound:
        return f"this token records only station {bound!r}, not {name!r}"
    return None


def _check_bound_station(
    refs: _References, volume: BuildVolume, build: Build, station_id: int
) -> None:
    """A token bound to a station records only work done at that station, on its line."""
    bound = next((name for name, sid in refs.stations.items() if sid == station_id), None)
    if bound is None:
        raise Forbidden(
            f"this token is bound to a station that is not on the line of build {build.code}"
        )
    stations: dict[str, Sequence[str | None]] = {
        "station_passes": [p.station for p in volume.station_passes],
        "test_runs": [r.station for r in volume.test_runs],
        "defects": [d.station for d in volume.defects],
    }
    for table, names in stations.items():
        for index, name in enumerate(names):
            refusal = bound_station_refusal(refs.stations, station_id, build.code, name)
            if refusal is not None:
                loc = f"volume.{table}[{index}].station"
                raise Forbidden(f"{loc}: {refusal}", [FieldError(loc, f"must be {bound!r}")])


def _require(
    table: str, attr: str, records: Sequence[Any], known: Mapping[str, Any], reason: str
) -> None:
    """Every non-null ``record.<attr>`` is a key of ``known``; else name the first that is not."""
    used = {getattr(r, attr) for r in records}
    used.discard(None)
    if used <= known.keys():
        return
    for index, record in enumerate(records):
        value = getattr(record, attr)
        if value is not None and value not in known:
            raise _bad(f"volume.{table}[{index}].{attr}", f"{value!r} {reason}")


def _bad(loc: str, message: str) -> InvalidInput:
    return InvalidInput(f"{loc}: {message}", [FieldError(loc, message)])


# --------------------------------------------------------------------------------------------
# Inserting, one group of units at a time


@dataclass(slots=True)
class _Batch:
    first: int  # index of the first unit in ``volume.units``
    units: Sequence[UnitRecord]
    passes: list[StationPassRecord] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    defects: list[DefectRecord] = field(default_factory=list)


def _batches(volume: BuildVolume, positions: Mapping[str, int], size: int) -> list[_Batch]:
    """Units in groups of ``size``, each with the passes, runs and defects of its units."""
    units = volume.units
    out = [_Batch(k, units[k : k + size]) for k in range(0, len(units), size)]
    for p in volume.station_passes:
        out[positions[p.unit] // size].passes.append(p)
    for r in volume.test_runs:
        out[positions[r.unit] // size].runs.append(r)
    for d in volume.defects:
        out[positions[d.unit] // size].defects.append(d)
    return out


def _insert_batch(conn: Connection, build: Build, refs: _References, batch: _Batch) -> int:
    """Insert one batch; returns the number of rows written."""
    unit_ids = bulk.insert_units(conn, [_unit_row(build, u) for u in batch.units])
    unit_id = dict(zip((u.serial for u in batch.units), unit_ids, strict=True))
    build_of_unit = dict.fromkeys(unit_ids, build.id)
    stations = refs.stations
    bulk.insert_station_passes(
        conn,
        [_pass_row(p, unit_id[p.unit], stations[p.station]) for p in batch.passes],
        build_of_unit=build_of_unit,
    )
    run_ids = bulk.insert_test_runs(
        conn, [_run_row(r, unit_id[r.unit], _station_id(stations, r.station)) for r in batch.runs]
    )
    measurements = list(_measurement_rows(batch.runs, run_ids, unit_id, refs.characteristics))
    bulk.insert_measurements(conn, measurements, build_of_unit=build_of_unit)
    bulk.insert_defects(
        conn,
        [
            _defect_row(d, unit_id[d.unit], _station_id(stations, d.station), refs.defect_codes)
            for d in batch.defects
        ],
    )
    return (
        len(batch.units)
        + len(batch.passes)
        + len(batch.runs)
        + len(measurements)
        + len(batch.defects)
    )


def _station_id(stations: Mapping[str, int], name: str | None) -> int | None:
    return stations[name] if name else None


def _unit_row(build: Build, u: UnitRecord) -> dict[str, Any]:
    row: dict[str, Any] = {
        "product_id": build.product_id,
        "build_id": build.id,
        "serial": u.serial,
        "status": u.status,
        "allocation": u.allocation,
    }
    if u.created_at is not None:
        row["created_at"] = row["updated_at"] = u.created_at
    return row


def _pass_row(p: StationPassRecord, unit_id: int, station_id: int) -> dict[str, Any]:
    return {
        # The id the same pass gets when a station file sends it (``ingest.events``).
        "source_id": derived_source_id("pass", p.unit, p.station, p.started_at),
        "unit_id": unit_id,
        "station_id": station_id,
        "started_at": p.started_at,
        "ended_at": p.ended_at,
        "operator": p.operator,
        "result": p.result,
        "attempt": p.attempt,
    }


def _run_row(r: RunRecord, unit_id: int, station_id: int | None) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "station_id": station_id,
        "procedure": r.procedure,
        "outcome": r.outcome,
        "started_at": r.started_at,
        "ended_at": r.ended_at,
        "operator": r.operator,
        "source": r.source,
        "source_id": r.source_id,
    }


def _measurement_rows(
    runs: Iterable[RunRecord],
    run_ids: Sequence[int],
    unit_id: Mapping[str, int],
    limits: Mapping[str, _Limits],
) -> Iterable[dict[str, Any]]:
    for run, run_id in zip(runs, run_ids, strict=True):
        unit = unit_id[run.unit]
        for m in run.measurements:
            char = limits[m.characteristic]
            yield {
                "test_run_id": run_id,
                "unit_id": unit,
                "characteristic_id": char.id,
                "name": m.characteristic,
                "value": m.value,
                "unit": char.unit,
                "lsl": char.lsl,
                "usl": char.usl,
                "outcome": m.outcome,
                "measured_at": m.measured_at,
            }


def _defect_row(
    d: DefectRecord, unit_id: int, station_id: int | None, codes: Mapping[str, int]
) -> dict[str, Any]:
    return {
        # The id the same defect gets when a defects file sends it (``ingest.events``).
        "source_id": derived_source_id("defect", d.unit, f"{d.station or ''}/{d.code}", d.found_at),
        "unit_id": unit_id,
        "station_id": station_id,
        "defect_code_id": codes[d.code],
        "severity": d.severity,
        "disposition": d.disposition,
        "cost": d.cost,
        "found_at": d.found_at,
        "notes": d.notes,
    }
