"""Prototype builds: bench tests in the lab, one test run per unit, four units a day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from phasegate.demo.records import BuildRec
from phasegate.demo.sampling import Collected, draw, in_spec, product_data, utc_at
from phasegate.demo.scenario import BenchTest, Catalog, Spec
from phasegate.domain.enums import Allocation, Outcome, UnitStatus
from phasegate.services.volume import MeasurementRecord, RunRecord, UnitRecord


@dataclass(frozen=True, slots=True)
class _Bench:
    build: BuildRec
    bench: BenchTest
    specs: list[Spec]  # measured on this revision
    technicians: tuple[str, ...]
    base: dt.date  # tests start a few days after this


def bench_volume(
    rng: np.random.Generator, catalog: Catalog, build: BuildRec, bench: BenchTest
) -> Collected:
    """The units of a prototype build and their lab tests (``bench.tested`` of them so far)."""
    specs = product_data(catalog, build.product).specs
    context = _Bench(
        build=build,
        bench=bench,
        specs=[s for s in specs if build.revision in s.process.stages],
        technicians=catalog.people.lab_technicians,
        base=build.end_date or build.start_date + dt.timedelta(days=14),
    )
    volume = Collected()
    quantity = build.actual_quantity or build.planned_quantity
    tested = quantity if bench.tested is None else bench.tested
    for i in range(quantity):
        serial = f"{build.code}-{i + 1:03d}"
        created = utc_at(build.start_date, 9) + dt.timedelta(days=int(rng.integers(0, 5)), hours=i)
        status, allocation = UnitStatus.IN_PROCESS, Allocation.ENGINEERING
        if i < tested:
            run = _bench_run(rng, context, i, serial)
            volume.runs.append(run)
            status = UnitStatus.PASSED if run.outcome is Outcome.PASS else UnitStatus.FAILED
            if i >= max(2, quantity // 4):
                allocation = Allocation.TESTING
        volume.units.append(
            UnitRecord(serial=serial, status=status, allocation=allocation, created_at=created)
        )
    return volume


def _bench_run(rng: np.random.Generator, context: _Bench, i: int, serial: str) -> RunRecord:
    """The lab test of the ``i``-th unit: four units a day, each measured on every spec."""
    build = context.build
    day = context.base + dt.timedelta(days=3 + i // 4)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    start = utc_at(day, 8) + dt.timedelta(minutes=int(95 * (i % 4)) + int(rng.integers(0, 20)))
    duration = dt.timedelta(minutes=float(rng.uniform(55, 85)))
    operator = context.technicians[int(rng.integers(0, len(context.technicians)))]
    measurements = []
    for k, spec in enumerate(context.specs):
        value = _bench_value(rng, spec, build.revision, context.bench.ctq_in_spec)
        outcome = Outcome.PASS if in_spec(spec, value) else Outcome.FAIL
        at = start + duration * (k + 1) / (len(context.specs) + 1)
        measurements.append(
            MeasurementRecord(
                characteristic=spec.rec.name, value=value, outcome=outcome, measured_at=at
            )
        )
    ok = all(m.outcome is Outcome.PASS for m in measurements)
    return RunRecord(
        unit=serial,
        station=None,
        procedure=f"{build.product} prototype verification, revision {build.revision}",
        outcome=Outcome.PASS if ok else Outcome.FAIL,
        started_at=start,
        ended_at=start + duration,
        operator=operator,
        source="lab",
        source_id=f"{serial}/lab/1",
        measurements=tuple(measurements),
    )


def _bench_value(rng: np.random.Generator, spec: Spec, revision: str, ctq_in_spec: bool) -> float:
    process = spec.process.stages[revision]
    value = draw(rng, spec, process.mean, process.sd)
    if ctq_in_spec and spec.rec.ctq:
        while not in_spec(spec, value):
            value = draw(rng, spec, process.mean, process.sd)
    return value
