"""Pilot and production builds: units flow through the stations of a line.

Each station serves one unit at a time and a unit waits for the station to be free;
processing times are lognormal, shortened by a learning curve. A failed pass is followed by
rework off the line and a second attempt, or by scrap. Measurements drift where the line run
says so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np

from phasegate.demo.records import BuildRec
from phasegate.demo.sampling import Collected, draw, in_spec, lognormal, product_data, slug
from phasegate.demo.scenario import Allocations, Catalog, Drift, LineRun, Operators, Spec, Use
from phasegate.domain.enums import (
    Allocation,
    BuildStatus,
    Disposition,
    Outcome,
    Severity,
    UnitStatus,
)
from phasegate.services.volume import (
    DefectRecord,
    MeasurementRecord,
    RunRecord,
    StationPassRecord,
    UnitRecord,
)

_SCRAP_P = 0.06  # chance that a failed first attempt is scrapped rather than reworked
_SCRATCH = "Light scratch on the front cover; within the cosmetic standard."

Verdict = Literal["pass", "rework", "scrap"]


@dataclass(frozen=True, slots=True)
class _StationModel:
    name: str
    mean_s: float  # mean processing time in this run
    cv: float
    fail_p: float  # chance of a failure the measurements do not show
    codes: tuple[tuple[str, float, Severity], ...]  # such failures: code, weight, severity
    cosmetic_p: float  # chance of a cosmetic defect that is used as is


@dataclass(frozen=True, slots=True)
class _LineBuild:
    """What every station pass of one line build needs to know."""

    build: BuildRec
    run: LineRun
    stations: list[_StationModel]  # in line order
    specs_at: dict[str, list[Spec]]  # measured at each station
    drifts: dict[str, Drift]  # by characteristic name
    operators: Operators
    cutoff: dt.datetime | None  # nothing recorded after this (a build in progress)
    volume: Collected


@dataclass(frozen=True, slots=True)
class _Unit:
    serial: str
    index: int  # position in the build: drives the learning curve and drift
    learning: float  # multiplier on processing times


@dataclass(frozen=True, slots=True)
class _Visit:
    """One attempt of a unit at a station."""

    station: int  # index into ``_LineBuild.stations``
    start: dt.datetime
    end: dt.datetime
    attempt: int


def _line_build(catalog: Catalog, build: BuildRec, run: LineRun) -> _LineBuild:
    assert build.line is not None  # the catalog checks that line builds have a line
    line = catalog.line(build.line)
    stations = []
    for station in line.stations:
        failures = catalog.failures[line.name, station.name]
        timing = run.stations[station.name]
        stations.append(
            _StationModel(
                name=station.name,
                mean_s=timing.mean_s,
                cv=timing.cv,
                fail_p=failures.probability * run.failure_scale,
                codes=tuple((c.code, c.weight, c.severity) for c in failures.codes),
                cosmetic_p=failures.cosmetic * run.failure_scale,
            )
        )
    specs_at: dict[str, list[Spec]] = {}
    for spec in product_data(catalog, build.product).specs:
        if run.stage in spec.process.stages and spec.rec.station is not None:
            specs_at.setdefault(spec.rec.station, []).append(spec)
    in_progress = build.status is BuildStatus.IN_PROGRESS
    return _LineBuild(
        build=build,
        run=run,
        stations=stations,
        specs_at=specs_at,
        drifts={d.characteristic: d for d in run.drift},
        operators=catalog.people.operators,
        cutoff=catalog.today if in_progress else None,
        volume=Collected(),
    )


def line_volume(
    rng: np.random.Generator, catalog: Catalog, build: BuildRec, run: LineRun
) -> Collected:
    """The units of a line build, sent down the line day by day from the schedule."""
    context = _line_build(catalog, build, run)
    gap = run.release_gap_s
    index = 0
    for block in run.schedule:
        for first_release, count in block.days():
            free = [first_release] * len(context.stations)
            for k in range(count):
                released = first_release + dt.timedelta(
                    seconds=k * gap + float(rng.uniform(0, 0.2 * gap))
                )
                if context.cutoff is not None and released >= context.cutoff:
                    break
                serial = f"{build.code}-{index + 1:05d}"
                unit = _Unit(serial=serial, index=index, learning=run.learning.factor(index))
                status = _run_unit(rng, context, unit, released, free)
                context.volume.units.append(
                    UnitRecord(
                        serial=unit.serial,
                        status=status,
                        allocation=Allocation.UNALLOCATED,
                        created_at=released,
                    )
                )
                index += 1
    return context.volume


def _run_unit(
    rng: np.random.Generator,
    context: _LineBuild,
    unit: _Unit,
    released: dt.datetime,
    free: list[dt.datetime],
) -> UnitStatus:
    """Send one unit down the line; appends its passes, runs and defects; returns its status.

    ``free`` holds when each station is free again; it is updated as the unit passes.
    """
    ready = released
    for s in range(len(context.stations)):
        left = _through_station(rng, context, unit, s, ready, free)
        if isinstance(left, UnitStatus):
            return left
        ready = left
    return UnitStatus.PASSED


def _through_station(
    rng: np.random.Generator,
    context: _LineBuild,
    unit: _Unit,
    s: int,
    ready: dt.datetime,
    free: list[dt.datetime],
) -> dt.datetime | UnitStatus:
    """One station: when the unit leaves it, or its final status when it stops there."""
    station = context.stations[s]
    cutoff = context.cutoff
    start = max(ready, free[s])
    end = start + dt.timedelta(seconds=lognormal(rng, station.mean_s * unit.learning, station.cv))
    free[s] = end
    if cutoff is not None and end > cutoff:
        return UnitStatus.IN_PROCESS
    verdict = _attempt(rng, context, unit, _Visit(station=s, start=start, end=end, attempt=1))
    if verdict == "pass":
        return end
    if verdict == "scrap":
        return UnitStatus.SCRAPPED
    # Rework off the line, then a second attempt at the same station.
    start = end + dt.timedelta(minutes=float(rng.uniform(12, 45)))
    end = start + dt.timedelta(seconds=lognormal(rng, station.mean_s * 1.15, station.cv))
    if cutoff is not None and end > cutoff:
        return UnitStatus.REWORK
    if _attempt(rng, context, unit, _Visit(station=s, start=start, end=end, attempt=2)) != "pass":
        return UnitStatus.SCRAPPED
    return end


def _shift_operator(operators: Operators, station_index: int, at: dt.datetime) -> str:
    names = operators.early if at.hour < 13 else operators.late
    return names[station_index % len(names)]


def _attempt(rng: np.random.Generator, context: _LineBuild, unit: _Unit, visit: _Visit) -> Verdict:
    """One station pass: measurements, a possible defect; returns pass, rework or scrap."""
    station = context.stations[visit.station]
    operator = _shift_operator(context.operators, visit.station, visit.start)
    measurements, failed = _measure(rng, context, unit, visit)
    random_fail = rng.random() < station.fail_p * (0.5 if visit.attempt > 1 else 1.0)
    cosmetic = station.cosmetic_p > 0 and rng.random() < station.cosmetic_p
    result = Outcome.FAIL if failed or random_fail else Outcome.PASS
    volume = context.volume
    volume.passes.append(
        StationPassRecord(
            unit=unit.serial,
            station=station.name,
            started_at=visit.start,
            ended_at=visit.end,
            result=result,
            operator=operator,
            attempt=visit.attempt,
        )
    )
    if measurements:
        volume.runs.append(_station_run(context, unit, visit, result, operator, measurements))
    if cosmetic and result is Outcome.PASS:
        volume.defects.append(_scratch(unit, station, visit))
    if result is Outcome.PASS:
        return "pass"
    return _failure(rng, context, unit, visit, failed)


def _scratch(unit: _Unit, station: _StationModel, visit: _Visit) -> DefectRecord:
    return DefectRecord(
        unit=unit.serial,
        station=station.name,
        code="FA-SCRATCH",
        severity=Severity.COSMETIC,
        disposition=Disposition.USE_AS_IS,
        cost=0.0,
        found_at=visit.end,
        notes=_SCRATCH,
    )


def _measure(
    rng: np.random.Generator, context: _LineBuild, unit: _Unit, visit: _Visit
) -> tuple[list[MeasurementRecord], list[tuple[Spec, float]]]:
    """The station's measurements of the unit, and those out of the limits."""
    specs = context.specs_at.get(context.stations[visit.station].name, [])
    measurements: list[MeasurementRecord] = []
    failed: list[tuple[Spec, float]] = []
    for k, spec in enumerate(specs):
        process = spec.process.stages[context.run.stage]
        drift = context.drifts.get(spec.rec.name)
        mean = process.mean + (drift.at(unit.index) if drift is not None else 0.0)
        if visit.attempt > 1 and spec.rec.target is not None:
            mean = (mean + spec.rec.target) / 2  # recalibrated or re-seated during rework
        value = draw(rng, spec, mean, process.sd)
        ok = in_spec(spec, value)
        at = visit.start + (visit.end - visit.start) * (k + 1) / (len(specs) + 1)
        measurements.append(
            MeasurementRecord(
                characteristic=spec.rec.name,
                value=value,
                outcome=Outcome.PASS if ok else Outcome.FAIL,
                measured_at=at,
            )
        )
        if not ok:
            failed.append((spec, value))
    return measurements, failed


def _station_run(
    context: _LineBuild,
    unit: _Unit,
    visit: _Visit,
    result: Outcome,
    operator: str,
    measurements: list[MeasurementRecord],
) -> RunRecord:
    station = context.stations[visit.station].name
    return RunRecord(
        unit=unit.serial,
        station=station,
        procedure=f"{context.build.product} {station.lower()} {context.run.procedure_version}",
        outcome=result,  # a failed functional check fails the run too
        started_at=visit.start,
        ended_at=visit.end,
        operator=operator,
        source="station",
        source_id=f"{unit.serial}/{slug(station)}/{visit.attempt}",
        measurements=tuple(measurements),
    )


def _failure(
    rng: np.random.Generator,
    context: _LineBuild,
    unit: _Unit,
    visit: _Visit,
    failed: list[tuple[Spec, float]],
) -> Verdict:
    """Record the defect behind a failed pass; rework it or, on a second failure, scrap it."""
    station = context.stations[visit.station]
    if failed:
        code, severity, notes = _out_of_limits(*failed[0])
    else:
        code, severity, notes = _station_failure(rng, station)
    scrap = visit.attempt > 1 or rng.random() < _SCRAP_P
    if scrap:
        cost = round(31.5 + 1.8 * (visit.station + 1), 2)
        disposition = Disposition.SCRAP
    else:
        cost = round(float(rng.uniform(6, 30)), 2)
        disposition = Disposition.REWORK
    context.volume.defects.append(
        DefectRecord(
            unit=unit.serial,
            station=station.name,
            code=code,
            severity=severity,
            disposition=disposition,
            cost=cost,
            found_at=visit.end,
            notes=notes,
        )
    )
    return "scrap" if scrap else "rework"


def _out_of_limits(spec: Spec, value: float) -> tuple[str, Severity, str]:
    rec = spec.rec
    low = "-" if rec.lsl is None else f"{rec.lsl:g}"
    high = "-" if rec.usl is None else f"{rec.usl:g}"
    notes = f"{rec.name} = {value:g} {rec.unit} (limits {low}..{high})"
    return spec.process.defect_code, Severity.MAJOR if rec.ctq else Severity.MINOR, notes


def _station_failure(rng: np.random.Generator, station: _StationModel) -> tuple[str, Severity, str]:
    weights = np.array([w for _, w, _ in station.codes])
    pick = int(rng.choice(len(station.codes), p=weights / weights.sum()))
    code, _, severity = station.codes[pick]
    return code, severity, "Confirmed by the operator at the station."


def allocate(rng: np.random.Generator, units: list[UnitRecord], allocations: Allocations) -> None:
    """Give passed units their use: the quotas in a random order, the rest to ``rest``."""
    passed = [i for i, u in enumerate(units) if u.status is UnitStatus.PASSED]
    order = [passed[j] for j in rng.permutation(len(passed))]
    plan: list[Use] = []
    remaining = len(passed)
    for quota in allocations.quotas:
        count = quota.units if quota.units is not None else remaining - (quota.keep_back or 0)
        plan.extend([Use(allocation=quota.allocation, status=quota.status)] * count)
        remaining -= count
    for position, i in enumerate(order):
        use = plan[position] if position < len(plan) else allocations.rest
        units[i] = dataclasses.replace(units[i], status=use.status, allocation=use.allocation)
