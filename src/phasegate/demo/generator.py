"""Deterministic demo data: everything comes from one ``numpy.random.Generator`` seed.

``generate(seed)`` returns plain records (``DemoData``) and touches no database. The draws
happen in a fixed order, so the same seed gives the same data on every machine.

How the numbers behave, so the pages and analytics have something to find:

- prototypes converge: revision A misses most specs, B fewer, C meets every CTQ (C is the
  build the gate to pilot judged, so its CTQ values are drawn inside the limits);
- line builds flow through the stations one unit after another (each station serves one unit
  at a time; a unit waits for the station to be free), with lognormal processing times, a
  learning curve and one bottleneck (sensor calibration);
- a failed station pass is followed by rework and a second attempt, or by scrap;
- the production run of AS1 has a PM2.5 shift after a sensor lot change (serial 3201 on) and a
  slow upward trend of the enclosure gap (mould wear): signals for the SPC charts;
- the CO2 error of AS1 is marginally capable, the rest comfortably so.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from phasegate.demo import catalog
from phasegate.demo.catalog import SPECS, Spec
from phasegate.demo.records import (
    BuildRec,
    BuildVolume,
    DefectRec,
    DemoData,
    FeedbackRec,
    FindingRec,
    GateRec,
    MeasurementRec,
    PassRec,
    Resolution,
    RunRec,
    UnitRec,
)
from phasegate.domain.enums import (
    Allocation,
    BuildStatus,
    Disposition,
    FeedbackSource,
    Fidelity,
    FindingStatus,
    GateOutcome,
    Outcome,
    Phase,
    Severity,
    Technique,
    UnitStatus,
)

UTC = dt.UTC
D = dt.date

# The demo's "today": the AS1 production run is done, ASW is mid-pilot, ASC mid-prototype.
NOW = dt.datetime(2026, 3, 12, 11, 0, tzinfo=UTC)

DEFAULT_SEED = 2026


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _workdays(start: dt.date, count: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


BUILDS = [
    BuildRec("AS1", "AS1-A", "A", Phase.PROTOTYPE, BuildStatus.COMPLETED, Fidelity.LOW,
             Technique.PRINT_3D, "Formwerk Additive", None, 5, 5, 6_500.0, 5_980.0,
             D(2025, 1, 13), D(2025, 1, 31),
             "Proof of concept: do the sensors, battery and display fit in a pocketable "
             "housing, and do they read sensibly?"),
    BuildRec("AS1", "AS1-B", "B", Phase.PROTOTYPE, BuildStatus.COMPLETED, Fidelity.HIGH,
             Technique.CNC, "Keller Precision CNC", None, 10, 10, 18_000.0, 19_650.0,
             D(2025, 4, 1), D(2025, 4, 22),
             "Engineering prototype: verify the thermal and airflow fixes and the sealing."),
    BuildRec("AS1", "AS1-C", "C", Phase.PROTOTYPE, BuildStatus.COMPLETED, Fidelity.HIGH,
             Technique.SOFT_TOOLING, "Lumen Rapid PCBA", None, 20, 20, 42_000.0, 40_300.0,
             D(2025, 6, 23), D(2025, 7, 18),
             "Design-freeze candidate for tester trials, drop and climate tests and "
             "pre-compliance radio tests."),
    BuildRec("AS1", "AS1-PLT", "C", Phase.PILOT, BuildStatus.COMPLETED, None, None,
             catalog.CM, catalog.LINE_ONE, 300, 300, 78_000.0, 82_400.0,
             D(2025, 10, 6), D(2025, 10, 17),
             "Pilot run on the intended line: validate cycle times, yield and calibration; "
             "units for reliability tests, certification, marketing samples and pilot users."),
    BuildRec("AS1", "AS1-PR1", "C", Phase.PRODUCTION, BuildStatus.COMPLETED, None, None,
             catalog.CM, catalog.LINE_ONE, 5000, 5000, 231_000.0, 226_450.0,
             D(2026, 1, 12), D(2026, 1, 21),
             "First production run for the February launch."),
    BuildRec("ASW", "ASW-A", "A", Phase.PROTOTYPE, BuildStatus.COMPLETED, Fidelity.LOW,
             Technique.PRINT_3D, "Formwerk Additive", None, 4, 4, 5_200.0, 4_900.0,
             D(2025, 6, 9), D(2025, 6, 27),
             "Concept check on a classroom wall."),
    BuildRec("ASW", "ASW-B", "B", Phase.PROTOTYPE, BuildStatus.COMPLETED, Fidelity.HIGH,
             Technique.SOFT_TOOLING, "Lumen Rapid PCBA", None, 12, 12, 21_000.0, 22_800.0,
             D(2025, 9, 22), D(2025, 10, 24),
             "Design-freeze candidate for installer trials and pre-compliance."),
    BuildRec("ASW", "ASW-PLT", "B", Phase.PILOT, BuildStatus.IN_PROGRESS, None, None,
             catalog.CM, catalog.LINE_WALL, 150, None, 52_000.0, None,
             D(2026, 3, 2), None,
             "Pilot run on the intended line; units for certification and school trials."),
    BuildRec("ASC", "ASC-A", "A", Phase.PROTOTYPE, BuildStatus.COMPLETED, Fidelity.LOW,
             Technique.PRINT_3D, "Formwerk Additive", None, 5, 5, 4_800.0, 4_650.0,
             D(2025, 11, 10), D(2025, 11, 28),
             "Form study: weight, clip and wearing comfort."),
    BuildRec("ASC", "ASC-B", "B", Phase.PROTOTYPE, BuildStatus.IN_PROGRESS, Fidelity.HIGH,
             Technique.CNC, "Keller Precision CNC", None, 8, None, 14_500.0, None,
             D(2026, 2, 9), None,
             "Works-like prototype with the steel clip and the smaller battery."),
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class _StationModel:
    name: str
    mean_s: float  # mean processing time at this build's stage
    cv: float
    fail_p: float  # chance of a failure the measurements do not show
    codes: tuple[tuple[str, float, Severity], ...]  # such failures: code, weight, severity
    cosmetic_p: float = 0.0  # chance of a cosmetic defect that is used as is


_MAJOR, _MINOR = Severity.MAJOR, Severity.MINOR
_STATION_FAILURES = {
    "SMT placement": (0.012, (("SMT-MISSING", 0.4, _MAJOR), ("SMT-SHIFT", 0.6, _MINOR))),
    "Reflow & AOI": (0.035, (("AOI-BRIDGE", 0.5, _MAJOR), ("AOI-INSUF", 0.3, _MINOR),
                             ("AOI-TOMB", 0.2, _MINOR))),
    "Firmware flash": (0.015, (("FW-FLASH", 1.0, _MAJOR),)),
    "Sensor calibration": (0.015, (("CAL-NORESP", 1.0, _MAJOR),)),
    "CO2 calibration": (0.015, (("CAL-NORESP", 1.0, _MAJOR),)),
    "Final assembly": (0.025, (("FA-SCREW", 1.0, _MINOR),)),
    "Assembly & test": (0.02, (("FA-SCREW", 1.0, _MINOR),)),
    "End-of-line test": (0.012, (("EOL-DISPLAY", 1.0, _MAJOR),)),
}  # fmt: skip


def _stations(
    line: str, means: Sequence[float], cvs: Sequence[float], failure_scale: float
) -> list[_StationModel]:
    rec = next(x for x in catalog.LINES if x.name == line)
    models = []
    for station, mean_s, cv in zip(rec.stations, means, cvs, strict=True):
        fail_p, codes = _STATION_FAILURES[station.name]
        cosmetic = 0.02 if station.name in ("Final assembly", "Assembly & test") else 0.0
        models.append(
            _StationModel(
                station.name, mean_s, cv, fail_p * failure_scale, codes, cosmetic * failure_scale
            )
        )
    return models


@dataclass(frozen=True, slots=True)
class _LinePlan:
    """How one line build runs: which days, how many units a day, how fast they are released."""

    product: str
    build: str
    stage: str  # "pilot" or "production": selects the process means in ``SPECS``
    stations: list[_StationModel]
    days: list[tuple[dt.date, int, dt.datetime]]  # day, units, first release
    release_gap_s: float
    learning: Callable[[int], float]  # multiplier on processing times for the i-th unit
    drift: Callable[[str, int], float]  # added to the mean of a characteristic for unit i
    cutoff: dt.datetime | None  # nothing recorded after this (a build in progress)
    procedure_version: str


def _no_drift(_name: str, _i: int) -> float:
    return 0.0


def _as1_production_drift(name: str, i: int) -> float:
    if name == "PM2.5 error at 35 µg/m³" and i >= 3200:
        return 1.3  # new sensor lot from serial 3201 on
    if name == "Enclosure gap":
        return 0.07 * i / 5000  # mould wear
    return 0.0


def _round_to(value: float, step: float) -> float:
    return round(round(value / step) * step, 6)


def _in_spec(spec: Spec, value: float) -> bool:
    lsl, usl = spec.rec.lsl, spec.rec.usl
    return (lsl is None or value >= lsl) and (usl is None or value <= usl)


def _draw(rng: np.random.Generator, spec: Spec, mean: float, sd: float) -> float:
    value = float(rng.normal(mean, sd))
    if spec.rec.lsl is None and spec.rec.usl is not None:
        value = max(value, spec.resolution)  # one-sided, physically positive quantities
    return _round_to(value, spec.resolution)


def _specs_of(product: str) -> list[Spec]:
    return [s for s in SPECS if s.rec.product == product]


def _lognormal(rng: np.random.Generator, mean: float, cv: float) -> float:
    sigma2 = math.log1p(cv * cv)
    return float(rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2)))


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


# --------------------------------------------------------------------------------------------
# Prototype builds: bench tests in the lab, one test run per unit


def _prototype_volume(
    rng: np.random.Generator,
    build: BuildRec,
    *,
    tested: int | None = None,
    ctq_in_spec: bool = False,
) -> BuildVolume:
    volume = BuildVolume(build.product, build.code, None)
    specs = [s for s in _specs_of(build.product) if build.revision in s.stages]
    quantity = build.actual_quantity or build.planned_quantity
    tested = quantity if tested is None else tested
    base = build.end_date or build.start_date + dt.timedelta(days=14)
    for i in range(quantity):
        serial = f"{build.code}-{i + 1:03d}"
        created = _at(build.start_date, 9) + dt.timedelta(days=int(rng.integers(0, 5)), hours=i)
        if i >= tested:
            volume.units.append(
                UnitRec(serial, UnitStatus.IN_PROCESS, Allocation.ENGINEERING, created)
            )
            continue
        day = base + dt.timedelta(days=3 + i // 4)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        start = _at(day, 8) + dt.timedelta(minutes=int(95 * (i % 4)) + int(rng.integers(0, 20)))
        duration = dt.timedelta(minutes=float(rng.uniform(55, 85)))
        operator = catalog.LAB_TECHNICIANS[int(rng.integers(0, len(catalog.LAB_TECHNICIANS)))]
        measurements = []
        for k, spec in enumerate(specs):
            mean, sd = spec.stages[build.revision]
            value = _draw(rng, spec, mean, sd)
            if ctq_in_spec and spec.rec.ctq:
                while not _in_spec(spec, value):
                    value = _draw(rng, spec, mean, sd)
            outcome = Outcome.PASS if _in_spec(spec, value) else Outcome.FAIL
            at = start + duration * (k + 1) / (len(specs) + 1)
            measurements.append(MeasurementRec(spec.rec.name, value, outcome, at))
        ok = all(m.outcome is Outcome.PASS for m in measurements)
        volume.runs.append(
            RunRec(
                unit=i,
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
        )
        allocation = Allocation.ENGINEERING if i < max(2, quantity // 4) else Allocation.TESTING
        status = UnitStatus.PASSED if ok else UnitStatus.FAILED
        volume.units.append(UnitRec(serial, status, allocation, created))
    return volume


# --------------------------------------------------------------------------------------------
# Line builds: units flow through the stations


def _line_volume(rng: np.random.Generator, plan: _LinePlan) -> BuildVolume:
    line = next(b.line for b in BUILDS if b.code == plan.build)
    volume = BuildVolume(plan.product, plan.build, line)
    specs_at: dict[str, list[Spec]] = {}
    for spec in _specs_of(plan.product):
        if plan.stage in spec.stages and spec.rec.station is not None:
            specs_at.setdefault(spec.rec.station, []).append(spec)
    cutoff = plan.cutoff
    index = 0
    for _day, count, first_release in plan.days:
        free = [first_release] * len(plan.stations)
        for k in range(count):
            released = first_release + dt.timedelta(
                seconds=k * plan.release_gap_s + float(rng.uniform(0, 0.2 * plan.release_gap_s))
            )
            if cutoff is not None and released >= cutoff:
                break
            serial = f"{plan.build}-{index + 1:05d}"
            unit = len(volume.units)
            status = _run_unit(rng, plan, volume, unit, index, serial, released, free, specs_at)
            volume.units.append(UnitRec(serial, status, Allocation.UNALLOCATED, released))
            index += 1
    return volume


def _shift_operator(station_index: int, at: dt.datetime) -> str:
    shift = "early" if at.hour < 13 else "late"
    return catalog.OPERATORS[shift][station_index % len(catalog.OPERATORS[shift])]


def _run_unit(
    rng: np.random.Generator,
    plan: _LinePlan,
    volume: BuildVolume,
    unit: int,
    index: int,
    serial: str,
    released: dt.datetime,
    free: list[dt.datetime],
    specs_at: dict[str, list[Spec]],
) -> UnitStatus:
    """Send one unit down the line; appends its passes, runs and defects; returns its status."""
    ready = released
    learning = plan.learning(index)
    for s, station in enumerate(plan.stations):
        start = max(ready, free[s])
        seconds = _lognormal(rng, station.mean_s * learning, station.cv)
        end = start + dt.timedelta(seconds=seconds)
        free[s] = end
        if plan.cutoff is not None and end > plan.cutoff:
            return UnitStatus.IN_PROCESS
        outcome = _attempt(rng, plan, volume, unit, index, serial, station, s, start, end, 1,
                           specs_at)  # fmt: skip
        if outcome == "pass":
            ready = end
            continue
        if outcome == "scrap":
            return UnitStatus.SCRAPPED
        # Rework off the line, then a second attempt at the same station.
        repair = dt.timedelta(minutes=float(rng.uniform(12, 45)))
        start2 = end + repair
        end2 = start2 + dt.timedelta(seconds=_lognormal(rng, station.mean_s * 1.15, station.cv))
        if plan.cutoff is not None and end2 > plan.cutoff:
            return UnitStatus.REWORK
        outcome = _attempt(rng, plan, volume, unit, index, serial, station, s, start2, end2, 2,
                           specs_at)  # fmt: skip
        if outcome != "pass":
            return UnitStatus.SCRAPPED
        ready = end2
    return UnitStatus.PASSED


def _attempt(
    rng: np.random.Generator,
    plan: _LinePlan,
    volume: BuildVolume,
    unit: int,
    index: int,
    serial: str,
    station: _StationModel,
    s: int,
    start: dt.datetime,
    end: dt.datetime,
    attempt: int,
    specs_at: dict[str, list[Spec]],
) -> str:
    """One station pass: measurements, a possible defect; returns pass, rework or scrap."""
    operator = _shift_operator(s, start)
    specs = specs_at.get(station.name, [])
    measurements: list[MeasurementRec] = []
    failed: list[tuple[Spec, float]] = []
    for k, spec in enumerate(specs):
        mean, sd = spec.stages[plan.stage]
        mean += plan.drift(spec.rec.name, index)
        if attempt > 1 and spec.rec.target is not None:
            mean = (mean + spec.rec.target) / 2  # recalibrated or re-seated during rework
        value = _draw(rng, spec, mean, sd)
        ok = _in_spec(spec, value)
        at = start + (end - start) * (k + 1) / (len(specs) + 1)
        measurements.append(
            MeasurementRec(spec.rec.name, value, Outcome.PASS if ok else Outcome.FAIL, at)
        )
        if not ok:
            failed.append((spec, value))
    random_fail = rng.random() < station.fail_p * (0.5 if attempt > 1 else 1.0)
    cosmetic = station.cosmetic_p > 0 and rng.random() < station.cosmetic_p
    result = Outcome.FAIL if failed or random_fail else Outcome.PASS
    volume.passes.append(PassRec(unit, station.name, start, end, operator, result, attempt))
    if measurements:
        volume.runs.append(
            RunRec(
                unit=unit,
                station=station.name,
                procedure=f"{plan.product} {station.name.lower()} {plan.procedure_version}",
                outcome=result,  # a failed functional check fails the run too
                started_at=start,
                ended_at=end,
                operator=operator,
                source="station",
                source_id=f"{serial}/{_slug(station.name)}/{attempt}",
                measurements=tuple(measurements),
            )
        )
    if cosmetic and result is Outcome.PASS:
        volume.defects.append(
            DefectRec(unit, station.name, "FA-SCRATCH", Severity.COSMETIC, Disposition.USE_AS_IS,
                      0.0, end, "Light scratch on the front cover; within the cosmetic standard.")
        )  # fmt: skip
    if result is Outcome.PASS:
        return "pass"
    if failed:
        spec, value = failed[0]
        code = spec.defect_code
        severity = Severity.MAJOR if spec.rec.ctq else Severity.MINOR
        low = "-" if spec.rec.lsl is None else f"{spec.rec.lsl:g}"
        high = "-" if spec.rec.usl is None else f"{spec.rec.usl:g}"
        notes = f"{spec.rec.name} = {value:g} {spec.rec.unit} (limits {low}..{high})"
    else:
        weights = np.array([w for _, w, _ in station.codes])
        pick = int(rng.choice(len(station.codes), p=weights / weights.sum()))
        code, _, severity = station.codes[pick]
        notes = "Confirmed by the operator at the station."
    scrap = attempt > 1 or rng.random() < 0.06
    if scrap:
        cost = round(31.5 + 1.8 * (s + 1), 2)
        disposition = Disposition.SCRAP
    else:
        cost = round(float(rng.uniform(6, 30)), 2)
        disposition = Disposition.REWORK
    volume.defects.append(
        DefectRec(unit, station.name, code, severity, disposition, cost, end, notes)
    )
    return "scrap" if scrap else "rework"


def _allocate(
    rng: np.random.Generator,
    volume: BuildVolume,
    quotas: Sequence[tuple[Allocation, int, UnitStatus]],
    rest: tuple[Allocation, UnitStatus],
) -> None:
    """Give passed units their use: the first quotas in a random order, the rest to ``rest``."""
    passed = [i for i, u in enumerate(volume.units) if u.status is UnitStatus.PASSED]
    order = [passed[j] for j in rng.permutation(len(passed))]
    plan: list[tuple[Allocation, UnitStatus]] = []
    for allocation, count, status in quotas:
        plan.extend([(allocation, status)] * count)
    for position, i in enumerate(order):
        allocation, status = plan[position] if position < len(plan) else rest
        u = volume.units[i]
        volume.units[i] = UnitRec(u.serial, status, allocation, u.created_at)


def _line_plans() -> list[_LinePlan]:
    as1_pilot_days = [(d, 30, _at(d, 7)) for d in _workdays(D(2025, 10, 6), 10)]
    counts = [300, 500, 720, 720, 720, 720, 720, 600]
    as1_prod_days = [
        (d, n, _at(d, 5)) for d, n in zip(_workdays(D(2026, 1, 12), 8), counts, strict=True)
    ]
    asw_days = [(d, 14, _at(d, 7)) for d in _workdays(D(2026, 3, 2), 8)]
    asw_days.append((D(2026, 3, 12), 20, _at(D(2026, 3, 12), 10, 32)))
    cv_one = (0.08, 0.06, 0.15, 0.12, 0.22, 0.10)
    return [
        _LinePlan(
            "AS1", "AS1-PLT", "pilot",
            _stations(catalog.LINE_ONE, (46, 50, 44, 70.5, 58, 57), cv_one, 1.0),
            as1_pilot_days, 120.0, lambda i: 1 + 0.15 * math.exp(-i / 100), _no_drift, None,
            "v1.4",
        ),
        _LinePlan(
            "AS1", "AS1-PR1", "production",
            _stations(catalog.LINE_ONE, (41, 46, 39, 66, 50, 53), cv_one, 0.5),
            as1_prod_days, 75.0, lambda i: 1 + 0.12 * math.exp(-i / 700),
            _as1_production_drift, None, "v2.0",
        ),
        _LinePlan(
            "ASW", "ASW-PLT", "pilot",
            _stations(catalog.LINE_WALL, (43, 47, 34, 76, 63), (0.08, 0.06, 0.15, 0.12, 0.2), 1.0),
            asw_days, 110.0, lambda i: 1 + 0.15 * math.exp(-i / 60), _no_drift, NOW, "v0.9",
        ),
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------
# Findings, feedback and gates


def _build(code: str) -> BuildRec:
    return next(b for b in BUILDS if b.code == code)


def _findings(rng: np.random.Generator) -> list[FindingRec]:
    out: list[FindingRec] = []
    for build_code, texts in catalog.FINDINGS.items():
        build = _build(build_code)
        base = build.end_date or build.start_date + dt.timedelta(days=5)
        for t in texts:
            opened = base + dt.timedelta(days=t.opened_days)
            resolution = t.resolution
            if resolution is not None and resolution.status is not FindingStatus.INVESTIGATING:
                if resolution.fixed_in is not None:
                    fixing = next(
                        b
                        for b in BUILDS
                        if b.product == build.product and b.revision == resolution.fixed_in
                    )
                    closed = (fixing.end_date or fixing.start_date) + dt.timedelta(
                        days=int(rng.integers(2, 10))
                    )
                else:
                    closed = opened + dt.timedelta(days=int(rng.integers(10, 40)))
                resolution = Resolution(
                    resolution.status,
                    resolution.root_cause,
                    resolution.corrective_action,
                    resolution.fixed_in,
                    min(closed, NOW.date()),
                )
            out.append(
                FindingRec(
                    t.ref, build.product, t.revision, build.code, t.title, t.description,
                    t.category, t.severity, t.owner, opened, resolution,
                )
            )  # fmt: skip
    return out


def _rating(rng: np.random.Generator, base: int) -> int:
    return int(min(5, max(1, base + int(rng.choice([-1, 0, 1], p=[0.15, 0.7, 0.15])))))


def _feedback(rng: np.random.Generator) -> list[FeedbackRec]:
    out: list[FeedbackRec] = []
    testers = catalog.TESTERS
    for (product, revision), items in catalog.FEEDBACK.items():
        build = next(b for b in BUILDS if b.product == product and b.revision == revision)
        base = build.end_date or build.start_date + dt.timedelta(days=10)
        for requirement, finding, text, rating in items:
            received = min(base + dt.timedelta(days=int(rng.integers(4, 30))), NOW.date())
            author = testers[int(rng.integers(0, len(testers)))]
            out.append(
                FeedbackRec(product, revision, requirement, finding, FeedbackSource.TESTER,
                            author, _rating(rng, rating), text, received)
            )  # fmt: skip
    extra: list[tuple[str, str, FeedbackSource, list[tuple[str | None, str, int]], dt.date, int]]
    extra = [
        ("AS1", "C", FeedbackSource.PILOT_USER, catalog.PILOT_USER_TEXTS, D(2025, 10, 24), 16),
        ("AS1", "C", FeedbackSource.CUSTOMER, catalog.CUSTOMER_TEXTS, D(2026, 2, 4), 12),
        ("ASW", "B", FeedbackSource.PILOT_USER, catalog.PILOT_USER_TEXTS_ASW, D(2026, 3, 6), 3),
    ]
    for product, revision, source, texts, start, count in extra:
        for k in range(count):
            requirement, text, rating = texts[k % len(texts)]
            received = min(start + dt.timedelta(days=int(rng.integers(0, 28))), NOW.date())
            author = testers[int(rng.integers(0, len(testers)))]
            out.append(
                FeedbackRec(product, revision, requirement, None, source, author,
                            _rating(rng, rating), text, received)
            )  # fmt: skip
    return out


def _first_pass_yield(volume: BuildVolume) -> tuple[int, int]:
    failed_first = {p.unit for p in volume.passes if p.attempt == 1 and p.result is Outcome.FAIL}
    started = {p.unit for p in volume.passes}
    return len(started - failed_first), len(started)


def _station_means(volume: BuildVolume) -> dict[str, float]:
    sums: dict[str, list[float]] = {}
    for p in volume.passes:
        sums.setdefault(p.station, []).append((p.ended_at - p.started_at).total_seconds())
    return {k: float(np.mean(v)) for k, v in sums.items()}


def _gates(volumes: dict[str, BuildVolume]) -> list[GateRec]:
    signoff = (
        "Signed off: engineering (Lena Moreau), quality (Mei Chen), operations "
        "(Daniel Okafor), product (Sofia Lindqvist)."
    )
    proto = [b for b in BUILDS if b.product == "AS1" and b.phase is Phase.PROTOTYPE]
    budget = sum(b.budget for b in proto)
    spent = sum(b.actual_cost or 0.0 for b in proto)
    pilot = volumes["AS1-PLT"]
    ok, started = _first_pass_yield(pilot)
    means = _station_means(pilot)
    bottleneck = max(means, key=lambda k: means[k])
    takt = 2 * 7.5 * 3600 / (180_000 / 250)
    asw_proto = [b for b in BUILDS if b.product == "ASW" and b.phase is Phase.PROTOTYPE]
    return [
        GateRec(
            "AS1", Phase.PILOT, GateOutcome.GO, _at(D(2025, 9, 5), 14),
            "All must-have requirements verified on revision C. Every CTQ in spec on the 20 "
            "units of build AS1-C. No open critical or major design or material findings "
            "(11 on revision A and 5 on B are closed). BOM costed at 40.10 USD against the "
            f"42 USD target. Pilot on {catalog.LINE_ONE} at {catalog.CM}. Prototype spend "
            f"{spent:,.0f} USD against {budget:,.0f} USD budgeted. {signoff}",
        ),
        GateRec(
            "AS1", Phase.PRODUCTION, GateOutcome.GO, _at(D(2025, 12, 5), 15),
            f"{started} pilot units built on the intended line; first-pass yield "
            f"{ok / started:.1%}. Bottleneck {bottleneck} at {means[bottleneck]:.0f} s in the "
            f"pilot against a takt of {takt:.0f} s (180,000 units a year on two shifts); "
            "after the chamber change a 50-unit verification run measured 65 s. CTQs "
            "capable except the CO2 error (Cpk about 1.1), accepted with a corrective action "
            "on the calibration routine. Control plan covers every CTQ. Radio, EMC and safety "
            f"certificates received for the regulatory units. {signoff}",
        ),
        GateRec(
            "ASW", Phase.PILOT, GateOutcome.GO, _at(D(2026, 1, 16), 10),
            "All must-have requirements verified on revision B; every CTQ in spec on the 12 "
            "units of build ASW-B; the critical temperature finding of revision A closed. "
            f"Prototype spend {sum(b.actual_cost or 0 for b in asw_proto):,.0f} USD against "
            f"{sum(b.budget for b in asw_proto):,.0f} USD. Pilot on {catalog.LINE_WALL}. "
            f"{signoff}",
        ),
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------


def generate(seed: int = DEFAULT_SEED) -> DemoData:
    """All demo records for ``seed``; the same seed always gives the same records."""
    rng = np.random.default_rng(seed)
    volumes: dict[str, BuildVolume] = {}
    passed_gate = {"AS1-C", "ASW-B"}  # the latest prototype builds the gates judged
    for build in BUILDS:
        if build.phase is not Phase.PROTOTYPE:
            continue
        tested = 6 if build.code == "ASC-B" else None
        volumes[build.code] = _prototype_volume(
            rng, build, tested=tested, ctq_in_spec=build.code in passed_gate
        )
    for plan in _line_plans():
        volumes[plan.build] = _line_volume(rng, plan)
    _allocate(
        rng,
        volumes["AS1-PLT"],
        [
            (Allocation.REGULATORY, 20, UnitStatus.PASSED),
            (Allocation.TESTING, 60, UnitStatus.PASSED),
            (Allocation.MARKETING, 40, UnitStatus.SHIPPED),
            (Allocation.CUSTOMER, 150, UnitStatus.SHIPPED),
        ],
        (Allocation.ENGINEERING, UnitStatus.PASSED),
    )
    production = volumes["AS1-PR1"]
    shipped = sum(u.status is UnitStatus.PASSED for u in production.units) - 260
    _allocate(
        rng,
        production,
        [(Allocation.CUSTOMER, 38, UnitStatus.RETURNED),
         (Allocation.CUSTOMER, shipped - 38, UnitStatus.SHIPPED)],
        (Allocation.UNALLOCATED, UnitStatus.PASSED),
    )  # fmt: skip
    _allocate(
        rng,
        volumes["ASW-PLT"],
        [(Allocation.REGULATORY, 10, UnitStatus.PASSED),
         (Allocation.TESTING, 20, UnitStatus.PASSED),
         (Allocation.CUSTOMER, 30, UnitStatus.SHIPPED)],
        (Allocation.UNALLOCATED, UnitStatus.PASSED),
    )  # fmt: skip
    findings = _findings(rng)
    feedback = _feedback(rng)
    builds = [_with_actuals(b, volumes.get(b.code)) for b in BUILDS]
    return DemoData(
        seed=seed,
        partners=list(catalog.PARTNERS),
        lines=list(catalog.LINES),
        defect_codes=list(catalog.DEFECT_CODES),
        products=list(catalog.PRODUCTS),
        revisions=list(catalog.REVISIONS),
        requirements=list(catalog.REQUIREMENTS),
        characteristics=[s.rec for s in SPECS],
        builds=builds,
        findings=findings,
        feedback=feedback,
        gates=_gates(volumes),
        volumes=[volumes[b.code] for b in BUILDS if b.code in volumes],
    )


def _with_actuals(build: BuildRec, volume: BuildVolume | None) -> BuildRec:
    """A build in progress reports the units started so far and what they cost."""
    if build.status is not BuildStatus.IN_PROGRESS or volume is None:
        return build
    started = len(volume.units)
    cost = round(build.budget * started / build.planned_quantity * 1.04, 2)
    return BuildRec(
        build.product, build.code, build.revision, build.phase, build.status, build.fidelity,
        build.technique, build.partner, build.line, build.planned_quantity, started,
        build.budget, cost, build.start_date, build.end_date, build.purpose,
    )  # fmt: skip
