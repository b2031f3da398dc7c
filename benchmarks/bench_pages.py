"""Benchmark: the pages and API reads on a factory-scale build, against the demo alone.

Run ``python benchmarks/bench_pages.py [--units N] [--measurements N] [--repetitions N]
[--sqlite-only | --postgres-only] [--without TEXT] [--no-write]``. On each backend (a SQLite
file in a temporary folder; a database of its own on the PostgreSQL server, dropped at the end)
it builds two databases:

- *demo*: the demo alone (``load_demo``); its production build has 5,000 units;
- *big*: a copy of it plus one more production build of ``--units`` units (250,000 by default)
  on the demo's production line: every unit's station passes (rework after a failed first
  attempt, at the rates of the demo's production build), a test run per pass at each station
  that measures something, ``--measurements`` per unit (12: 3,000,000 at the default size) and
  a defect per failed first attempt, generated with NumPy from a seed and stored through
  ``services.volume.record_build_volume`` (the bulk
  path, which keeps the running aggregates). The load is timed and reported in rows/s.

Then it requests the pages and API reads a user opens through the real ASGI application
(``create_app`` with starlette's ``TestClient``, in process): once each to warm up, then
``--repetitions`` times alternately on the two databases, and reports the median and p90 of
each and the ratio big/demo. A page that reads the maintained aggregates stays within a small
factor; one that scans raw rows grows with the data. One full scan of the measurements on the
big database is timed as the reference for what scanning costs.

PostgreSQL is vacuumed and analysed after the load, as autovacuum does soon after it (the
server may have autovacuum off); SQLite is left as the product leaves it. The results replace
the section between ``<!-- pages:begin -->`` and ``<!-- pages:end -->`` in
``docs/benchmarks.md`` (printed instead with ``--no-write``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import os
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

import report
from phasegate.app import create_app
from phasegate.config import Settings
from phasegate.demo import load_demo
from phasegate.demo.logins import DEMO_LOGINS
from phasegate.domain.enums import (
    Allocation,
    BuildStatus,
    Disposition,
    Outcome,
    Phase,
    Severity,
    UnitStatus,
)
from phasegate.domain.policy import SYSTEM, Role
from phasegate.services import builds as build_records
from phasegate.services import crud, identity
from phasegate.services.volume import (
    BuildVolume,
    DefectRecord,
    MeasurementRecord,
    RunRecord,
    StationPassRecord,
    UnitRecord,
    VolumeReport,
    record_build_volume,
)
from phasegate.store import db
from phasegate.store.models import (
    Build,
    BuildCharacteristicStat,
    BuildStationStat,
    BuildUnitCount,
    Characteristic,
    Defect,
    DefectCode,
    Product,
    Station,
    StationPass,
    TestRun,
    Unit,
)
from phasegate.store.uow import UnitOfWork
from report import Postgres

ROOT = Path(__file__).resolve().parent.parent
DOC = report.DOC
BEGIN, END = report.markers("pages")
ACTOR = SYSTEM
# The probes read as the demo's viewer: the pages with its session, the API with its token.
VIEWER = next(login for login in DEMO_LOGINS if login.role is Role.VIEWER)
CSRF_INPUT = re.compile(r'name="csrftoken"[^>]*value="([^"]+)"')
SEED = 20_261
BIG_UNITS = 250_000
MEASUREMENTS_PER_UNIT = 12  # 3,000,000 measurements at 250,000 units
WITHOUT: list[str] = []  # labels of the requests left out (--without)
GOAL_MS = 200.0  # issue 11, point 7: the median of each goal request on the big database
UNIT_SPACING_S = 62.0  # a unit enters the line about every bottleneck cycle
CYCLE_CV = 0.15
DEEP = 0.9  # a "deep" page starts this far into its list
API_PAGE = 50
SCAN_SQL = "SELECT count(*), avg(value) FROM measurements"

# Unit statuses and allocations of the big build, with their shares.
STATUSES = {
    UnitStatus.SHIPPED: 0.935,
    UnitStatus.PASSED: 0.04,
    UnitStatus.IN_PROCESS: 0.012,
    UnitStatus.RETURNED: 0.008,
    UnitStatus.SCRAPPED: 0.005,
}
ALLOCATIONS = {
    Allocation.UNALLOCATED: 0.98,
    Allocation.TESTING: 0.01,
    Allocation.REGULATORY: 0.005,
    Allocation.MARKETING: 0.005,
}


# --------------------------------------------------------------------------------------------
# What the big build copies from the demo's production build


@dataclass(frozen=True, slots=True)
class CharacteristicPlan:
    name: str
    lsl: float | None
    usl: float | None
    center: float
    sd: float
    readings: int  # values taken per test run


@dataclass(frozen=True, slots=True)
class StationPlan:
    name: str
    cycle_s: float
    fail_p: float  # probability that a first attempt fails, as in the demo's production build
    procedure: str
    slug: str
    operators: tuple[str, ...]
    codes: tuple[tuple[str, Severity], ...]  # defect codes found there, with their severity
    characteristics: tuple[CharacteristicPlan, ...]


@dataclass(frozen=True, slots=True)
class LinePlan:
    build_id: int  # the demo's production build
    product_id: int
    product_key: str
    revision_id: int
    partner_id: int | None
    line_id: int
    stations: tuple[StationPlan, ...]
    codes: tuple[tuple[str, Severity], ...]  # every code found on the line


def line_plan(engine: Engine, per_unit: int = MEASUREMENTS_PER_UNIT) -> LinePlan:
    """The demo's (first) production build on a line, and how its line behaved, with
    ``per_unit`` measurements per unit spread over its characteristics."""
    with Session(engine) as s:
        build = s.scalars(
            select(Build)
            .where(Build.phase == Phase.PRODUCTION, Build.line_id.is_not(None))
            .order_by(Build.id)
        ).first()
        assert build is not None and build.line_id is not None, "the demo has no production build"
        stations = s.scalars(
            select(Station).where(Station.line_id == build.line_id).order_by(Station.sequence)
        ).all()
        codes = _codes_by_station(s, build.id)
        plans = tuple(_station_plan(s, build, st, codes.get(st.id, ())) for st in stations)
        return LinePlan(
            build_id=build.id,
            product_id=build.product_id,
            product_key=s.get_one(Product, build.product_id).key,
            revision_id=build.revision_id,
            partner_id=build.partner_id,
            line_id=build.line_id,
            stations=_with_readings(plans, per_unit),
            codes=tuple(sorted({c for found in codes.values() for c in found})),
        )


def _codes_by_station(s: Session, build_id: int) -> dict[int, tuple[tuple[str, Severity], ...]]:
    found: dict[int, set[tuple[str, Severity]]] = {}
    for station_id, code, severity in s.execute(
        select(Defect.station_id, DefectCode.code, Defect.severity)
        .distinct()
        .join(DefectCode, DefectCode.id == Defect.defect_code_id)
        .join(Unit, Unit.id == Defect.unit_id)
        .where(Unit.build_id == build_id)
    ):
        if station_id is not None:
            found.setdefault(station_id, set()).add((code, severity))
    return {k: tuple(sorted(v)) for k, v in found.items()}


def _station_plan(
    s: Session, build: Build, st: Station, codes: tuple[tuple[str, Severity], ...]
) -> StationPlan:
    stat = s.get(BuildStationStat, (build.id, st.id))
    fail_p = 0.0
    if stat is not None and stat.first_attempts:
        fail_p = 1 - stat.first_pass_ok / stat.first_attempts
    of_build = Unit.build_id == build.id
    procedure = s.scalar(
        select(func.max(TestRun.procedure))
        .join(Unit, Unit.id == TestRun.unit_id)
        .where(of_build, TestRun.station_id == st.id)
    )
    operators = s.scalars(
        select(StationPass.operator)
        .distinct()
        .join(Unit, Unit.id == StationPass.unit_id)
        .where(of_build, StationPass.station_id == st.id)
        .order_by(StationPass.operator)
    ).all()
    chars = s.scalars(
        select(Characteristic)
        .where(Characteristic.product_id == build.product_id, Characteristic.station_id == st.id)
        .order_by(Characteristic.name)
    ).all()
    return StationPlan(
        name=st.name,
        cycle_s=st.planned_cycle_time_s or 60.0,
        fail_p=fail_p,
        procedure=procedure or f"{st.name} test",
        slug=re.sub(r"[^a-z0-9]+", "-", st.name.lower()).strip("-"),
        operators=tuple(operators) or ("operator",),
        codes=codes,
        characteristics=tuple(_characteristic_plan(c) for c in chars),
    )


def _characteristic_plan(c: Characteristic) -> CharacteristicPlan:
    """Values centred in the limits (or on the target), four standard deviations from the
    nearer limit (Cpk 1.33)."""
    if c.lsl is not None and c.usl is not None:
        center, half = (c.lsl + c.usl) / 2, (c.usl - c.lsl) / 2
    else:
        limit = c.usl if c.usl is not None else c.lsl
        half = abs(limit or 1.0) / 2 or 1.0
        center = (limit or 0.0) - half if c.usl is not None else (limit or 0.0) + half
    if c.target is not None:
        center = c.target
    return CharacteristicPlan(c.name, c.lsl, c.usl, center, half / 4, readings=1)


def _with_readings(stations: tuple[StationPlan, ...], per_unit: int) -> tuple[StationPlan, ...]:
    """Spread ``per_unit`` measurements over the characteristics, the first ones one more."""
    count = sum(len(st.characteristics) for st in stations)
    base, extra = divmod(per_unit, max(count, 1))
    index = 0
    out = []
    for st in stations:
        chars = []
        for c in st.characteristics:
            chars.append(dataclasses.replace(c, readings=base + (1 if index < extra else 0)))
            index += 1
        out.append(dataclasses.replace(st, characteristics=tuple(chars)))
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Generating the big build with NumPy


@dataclass(frozen=True, slots=True)
class Passes:
    """Every station pass of the build, unit by unit, in flow order (NumPy columns)."""

    unit: np.ndarray  # index of the unit
    station: np.ndarray  # index of the station in the line
    attempt: np.ndarray  # 1, or 2 after a failed first attempt
    failed: np.ndarray
    start_s: np.ndarray  # seconds from the build's start
    end_s: np.ndarray


def simulate_passes(rng: np.random.Generator, line: LinePlan, n: int) -> Passes:
    """Each unit through each station; a failed first attempt is reworked and passes."""
    stations = line.stations
    fail = rng.random((n, len(stations))) < np.array([st.fail_p for st in stations])
    cycle = np.array([st.cycle_s for st in stations])
    mu = -(CYCLE_CV**2) / 2  # lognormal factors with mean 1
    first = cycle * rng.lognormal(mu, CYCLE_CV, fail.shape)
    second = cycle * rng.lognormal(mu, CYCLE_CV, fail.shape) * fail
    visit = first + second
    begin = UNIT_SPACING_S * np.arange(n)[:, None] + np.cumsum(visit, axis=1) - visit
    units, where = np.indices(fail.shape).reshape(2, -1)
    again = fail.ravel()  # the (unit, station) cells visited a second time

    def both(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """First attempts from ``a``, then second attempts from ``b``, in one column."""
        return np.concatenate([a.ravel(), b.ravel()[again]])

    unit, station = both(units, units), both(where, where)
    attempt = both(np.ones(units.size, int), np.full(units.size, 2))
    order = np.lexsort((attempt, station, unit))  # by unit, then station, then attempt
    return Passes(
        unit=unit[order],
        station=station[order],
        attempt=attempt[order],
        failed=both(again, np.zeros(units.size, bool))[order],
        start_s=both(begin, begin + first)[order],
        end_s=both(begin + first, begin + visit)[order],
    )


def _choices(rng: np.random.Generator, shares: Mapping[Any, float], n: int) -> list[Any]:
    keys = list(shares)
    p = np.array([shares[k] for k in keys])
    return [keys[i] for i in rng.choice(len(keys), size=n, p=p / p.sum())]


def generate_volume(
    line: LinePlan, code: str, n: int, start: dt.datetime, seed: int
) -> BuildVolume:
    """The big build's units, passes, test runs with their measurements, and defects."""
    rng = np.random.default_rng(seed)
    width = max(5, len(str(n)))
    serials = [f"{code}-{i + 1:0{width}d}" for i in range(n)]
    passes = simulate_passes(rng, line, n)
    starts = [start + dt.timedelta(seconds=x) for x in passes.start_s.tolist()]
    ends = [start + dt.timedelta(seconds=x) for x in passes.end_s.tolist()]
    units = [
        UnitRecord(serial=s, status=st, allocation=al, created_at=starts[k])
        for s, st, al, k in zip(
            serials,
            _choices(rng, STATUSES, n),
            _choices(rng, ALLOCATIONS, n),
            np.flatnonzero((passes.station == 0) & (passes.attempt == 1)).tolist(),
            strict=True,
        )
    ]
    columns = _PassColumns(passes, serials, starts, ends, line)
    return BuildVolume(
        units=units,
        station_passes=columns.station_passes(),
        test_runs=columns.test_runs(rng),
        defects=columns.defects(rng),
    )


class _PassColumns:
    """The simulated passes as Python values, turned into the volume service's records."""

    def __init__(
        self,
        passes: Passes,
        serials: Sequence[str],
        starts: Sequence[dt.datetime],
        ends: Sequence[dt.datetime],
        line: LinePlan,
    ) -> None:
        self.passes = passes
        self.line = line
        self.unit = [serials[i] for i in passes.unit.tolist()]
        self.station = passes.station.tolist()
        self.attempt = passes.attempt.tolist()
        self.failed = passes.failed.tolist()
        self.starts, self.ends = starts, ends
        shift = (passes.start_s // (8 * 3600)).astype(int).tolist()  # operators change by shift
        stations = line.stations
        self.operator = [
            stations[s].operators[h % len(stations[s].operators)]
            for s, h in zip(self.station, shift, strict=True)
        ]

    def station_passes(self) -> list[StationPassRecord]:
        stations = self.line.stations
        return [
            StationPassRecord(
                unit=self.unit[k],
                station=stations[s].name,
                started_at=self.starts[k],
                ended_at=self.ends[k],
                result=Outcome.FAIL if self.failed[k] else Outcome.PASS,
                operator=self.operator[k],
                attempt=self.attempt[k],
            )
            for k, s in enumerate(self.station)
        ]

    def test_runs(self, rng: np.random.Generator) -> list[RunRecord]:
        """A run per pass at a station that measures, in the order of the passes."""
        measured: dict[int, list[tuple[MeasurementRecord, ...]]] = {}
        for s, st in enumerate(self.line.stations):
            if st.characteristics:
                at = [self.starts[k] for k in np.flatnonzero(self.passes.station == s).tolist()]
                measured[s] = _measurements(rng, st.characteristics, at)
        taken = dict.fromkeys(measured, 0)
        runs = []
        for k, s in enumerate(self.station):
            if s not in measured:
                continue
            st = self.line.stations[s]
            runs.append(
                RunRecord(
                    unit=self.unit[k],
                    station=st.name,
                    procedure=st.procedure,
                    outcome=Outcome.FAIL if self.failed[k] else Outcome.PASS,
                    started_at=self.starts[k],
                    ended_at=self.ends[k],
                    source_id=f"{self.unit[k]}/{st.slug}/{self.attempt[k]}",
                    operator=self.operator[k],
                    source="station",
                    measurements=measured[s][taken[s]],
                )
            )
            taken[s] += 1
        return runs

    def defects(self, rng: np.random.Generator) -> list[DefectRecord]:
        """One defect per failed first attempt, with a code found at that station in the demo."""
        failed = np.flatnonzero(self.passes.failed).tolist()
        picks = rng.random(len(failed)).tolist()
        costs = np.round(rng.uniform(5.0, 40.0, len(failed)), 2).tolist()
        out = []
        for k, pick, cost in zip(failed, picks, costs, strict=True):
            st = self.line.stations[self.station[k]]
            codes = st.codes or self.line.codes
            code, severity = codes[int(pick * len(codes))]
            out.append(
                DefectRecord(
                    unit=self.unit[k],
                    station=st.name,
                    code=code,
                    severity=severity,
                    found_at=self.ends[k],
                    disposition=Disposition.REWORK,
                    cost=cost,
                )
            )
        return out


def _measurements(
    rng: np.random.Generator, chars: Sequence[CharacteristicPlan], at: Sequence[dt.datetime]
) -> list[tuple[MeasurementRecord, ...]]:
    """The readings of ``chars`` on each of ``len(at)`` runs, measured at ``at``."""
    names = [c.name for c in chars for _ in range(c.readings)]
    center = np.array([c.center for c in chars for _ in range(c.readings)])
    sd = np.array([c.sd for c in chars for _ in range(c.readings)])
    lsl = np.array([-np.inf if c.lsl is None else c.lsl for c in chars for _ in range(c.readings)])
    usl = np.array([np.inf if c.usl is None else c.usl for c in chars for _ in range(c.readings)])
    values = center + sd * rng.standard_normal((len(at), len(names)))
    ok = ((values >= lsl) & (values <= usl)).tolist()
    outcome = {True: Outcome.PASS, False: Outcome.FAIL}
    return [
        tuple(
            MeasurementRecord(name, v, outcome[good], when)
            for name, v, good in zip(names, row, ok_row, strict=True)
        )
        for row, ok_row, when in zip(values.tolist(), ok, at, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class LoadResult:
    build_id: int
    report: VolumeReport
    generate_s: float
    store_s: float


BIG_START = dt.datetime(2026, 1, 20, 6, 0, tzinfo=dt.UTC)


def big_code(line: LinePlan) -> str:
    return f"{line.product_key}-PR2"


@functools.cache
def big_volume(line: LinePlan, units: int, seed: int) -> tuple[BuildVolume, float]:
    """The big build's records and the seconds it took to generate them; generated once for
    every backend (the demo gives each the same line)."""
    started = time.perf_counter()
    volume = generate_volume(line, big_code(line), units, BIG_START, seed)
    return volume, time.perf_counter() - started


def add_big_build(engine: Engine, units: int, seed: int, per_unit: int) -> LoadResult:
    """A new production build of ``units`` units on the demo's production line, stored through
    the volume service in one transaction."""
    line = line_plan(engine, per_unit)
    uow = UnitOfWork.for_engine(engine)
    build = crud.create(
        uow,
        build_records.BUILDS,
        {
            "product_id": line.product_id,
            "revision_id": line.revision_id,
            "code": big_code(line),
            "phase": Phase.PRODUCTION,
            "status": BuildStatus.IN_PROGRESS,
            "partner_id": line.partner_id,
            "line_id": line.line_id,
            "planned_quantity": units,
            "start_date": BIG_START.date(),
            "purpose": "Second production run at factory volume.",
        },
        actor=ACTOR,
    )
    volume, generate_s = big_volume(line, units, seed)
    started = time.perf_counter()
    stored = record_build_volume(uow, build.id, volume, actor=ACTOR)
    return LoadResult(build.id, stored, generate_s, time.perf_counter() - started)


# --------------------------------------------------------------------------------------------
# The two databases of a backend


@dataclass(frozen=True, slots=True)
class Databases:
    demo: Engine
    big: Engine
    load: LoadResult


def sqlite_databases(folder: Path, units: int, seed: int, per_unit: int) -> Databases:
    demo = _migrated(f"sqlite:///{folder / 'demo.db'}")
    load_demo(demo)
    demo.dispose()
    src, dst = sqlite3.connect(folder / "demo.db"), sqlite3.connect(folder / "big.db")
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    big = db.make_engine(f"sqlite:///{folder / 'big.db'}")
    return Databases(demo, big, add_big_build(big, units, seed, per_unit))


def postgres_databases(pg: Postgres, units: int, seed: int, per_unit: int) -> Databases:
    demo = _migrated(pg.fresh())
    load_demo(demo)
    demo.dispose()  # a template database takes no other connection
    name = f"{demo.url.database}_big"
    with pg.admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{demo.url.database}"'))
    pg.names.append(name)
    big = db.make_engine(demo.url.set(database=name).render_as_string(hide_password=False))
    load = add_big_build(big, units, seed, per_unit)
    for engine in (demo, big):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return Databases(demo, big, load)


def _migrated(url: str) -> Engine:
    engine = db.make_engine(url)
    db.upgrade(engine)
    return engine


# --------------------------------------------------------------------------------------------
# Timing the requests


@dataclass(frozen=True, slots=True)
class Probe:
    label: str
    path: str
    htmx: bool = False  # the table alone, as HTMX asks for it
    goal: bool = False  # held to GOAL_MS on the big database


@dataclass(frozen=True, slots=True)
class Target:
    """The production build a database is probed on, and the values its requests use."""

    build_id: int
    build_code: str
    product_key: str
    units: int
    status: str  # the most common unit status
    serial: str  # a unit in the middle of the build
    unit_id: int
    deep_serial: str  # the unit 90 % into the build's list, by serial
    deep_cursor: str  # the API's cursor of the unit 90 % into the build's units
    characteristic_id: int  # the characteristic measured most on the build


def target_of(engine: Engine, build_id: int) -> Target:
    with Session(engine) as s:
        build = s.get_one(Build, build_id)
        ids = s.scalars(
            select(Unit.id).where(Unit.build_id == build_id).order_by(Unit.serial)
        ).all()
        unit = s.get_one(Unit, ids[len(ids) // 2])
        deep = s.get_one(Unit, ids[int(DEEP * len(ids))])
        status = s.scalar(
            select(BuildUnitCount.status)
            .where(BuildUnitCount.build_id == build_id)
            .group_by(BuildUnitCount.status)
            .order_by(func.sum(BuildUnitCount.n).desc())
        )
        characteristic_id = s.scalar(
            select(BuildCharacteristicStat.characteristic_id)
            .where(BuildCharacteristicStat.build_id == build_id)
            .order_by(BuildCharacteristicStat.count.desc())
        )
        assert characteristic_id is not None, "the build has no measurements"
        return Target(
            build_id=build_id,
            build_code=build.code,
            product_key=s.get_one(Product, build.product_id).key,
            units=len(ids),
            status=UnitStatus(status or UnitStatus.SHIPPED).value,
            serial=unit.serial,
            unit_id=unit.id,
            deep_serial=deep.serial,
            deep_cursor=crud.cursor_of(build_records.UNITS, deep),
            characteristic_id=characteristic_id,
        )


def probes(t: Target) -> list[Probe]:
    """The requests, in the same order and with the same labels on every database; those held
    to ``GOAL_MS`` come first."""
    build = f"/builds/{t.build_id}"
    units = f"{build}/units"
    api = f"/api/v1/units?build_id={t.build_id}&limit={API_PAGE}"
    api_deep = int(DEEP * t.units) // API_PAGE * API_PAGE
    return [
        Probe("build page (with its first units)", build, goal=True),
        Probe("units list, last page", f"{units}?last=1", htmx=True, goal=True),
        Probe("units list, serial search", f"{units}?q={t.serial[-4:]}", htmx=True, goal=True),
        Probe("characteristic page", f"{build}/characteristics/{t.characteristic_id}", goal=True),
        Probe(
            "build report (API)",
            f"/api/v1/builds/{t.build_code}/report?product={t.product_key}",
            goal=True,
        ),
        Probe("units list, first page", units, htmx=True),
        Probe("units list, next page 90 % deep", f"{units}?after={t.deep_serial}", htmx=True),
        Probe(
            "units list, status filter, last page",
            f"{units}?status={t.status}&last=1",
            htmx=True,
        ),
        Probe("unit page", f"/units/{t.serial}"),
        Probe("portfolio", "/"),
        Probe("product page", f"/products/{t.product_key}"),
        Probe("API units of the build, first page", api),
        Probe("API units of the build, 90 % deep by cursor", f"{api}&after={t.deep_cursor}"),
        Probe("API units of the build, 90 % deep by offset", f"{api}&offset={api_deep}"),
        Probe("API unit by id", f"/api/v1/units/{t.unit_id}"),
    ]


def signed_in_client(app: Any, engine: Engine) -> TestClient:
    """A client that reads as the demo's viewer: signed in to the pages through the sign-in
    form, and sending a read token to the API."""
    _, token = identity.create_token(
        UnitOfWork.for_engine(engine),
        actor=ACTOR,
        user=VIEWER.name,
        scopes=["read"],
        name="benchmark",
    )
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    form = client.get("/login")
    found = CSRF_INPUT.search(form.text)
    if form.status_code != 200 or found is None:
        raise RuntimeError(f"GET /login: {form.status_code}, no sign-in form with a CSRF token")
    fields = {"csrftoken": found[1], "name": VIEWER.name, "password": VIEWER.password}
    response = client.post("/login", data=fields | {"next": "/"}, follow_redirects=False)
    if response.status_code != 303:
        raise RuntimeError(f"POST /login: {response.status_code} {response.text[:200]}")
    return client


def _get(client: TestClient, probe: Probe) -> float:
    headers = {"HX-Request": "true"} if probe.htmx else {}
    started = time.perf_counter()
    response = client.get(probe.path, headers=headers)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {probe.path}: {response.status_code} {response.text[:200]}")
    return seconds


def time_probes(
    clients: Mapping[str, TestClient], plans: Mapping[str, Sequence[Probe]], repetitions: int
) -> dict[str, list[list[float]]]:
    """Seconds per database and probe: one warm-up each, then the databases in turn."""
    for name, client in clients.items():
        for probe in plans[name]:
            _get(client, probe)
    times: dict[str, list[list[float]]] = {name: [[] for _ in plans[name]] for name in clients}
    count = len(next(iter(plans.values())))
    for _ in range(repetitions):
        for index in range(count):
            for name, client in clients.items():
                times[name][index].append(_get(client, plans[name][index]))
    return times


def scan_seconds(engine: Engine, repetitions: int = 3) -> tuple[float, int]:
    """Median time of one full scan of the measurements (after one to warm up), and rows."""
    seconds = []
    rows = 0
    with engine.connect() as conn:
        for _ in range(repetitions + 1):
            started = time.perf_counter()
            rows = int(conn.execute(text(SCAN_SQL)).one()[0])
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds[1:]), rows


@dataclass(frozen=True, slots=True)
class BackendResult:
    name: str
    load: LoadResult
    scan_s: float
    scan_rows: int
    probes: dict[str, list[Probe]]  # per database
    seconds: dict[str, list[list[float]]]  # per database, per probe


def measure(name: str, dbs: Databases, repetitions: int) -> BackendResult:
    demo_build = line_plan(dbs.demo).build_id
    targets = {
        "demo": target_of(dbs.demo, demo_build),
        "big": target_of(dbs.big, dbs.load.build_id),
    }
    plans = {
        k: [p for p in probes(t) if not any(w in p.label for w in WITHOUT)]
        for k, t in targets.items()
    }
    engines = {"demo": dbs.demo, "big": dbs.big}
    apps = {
        k: create_app(Settings(database_url=str(e.url), demo=True), engine=e)
        for k, e in engines.items()
    }
    demo_client = signed_in_client(apps["demo"], dbs.demo)
    big_client = signed_in_client(apps["big"], dbs.big)
    with demo_client, big_client:
        seconds = time_probes({"demo": demo_client, "big": big_client}, plans, repetitions)
    scan_s, scan_rows = scan_seconds(dbs.big)
    return BackendResult(name, dbs.load, scan_s, scan_rows, plans, seconds)


def run_backend(name: str, make: Callable[[], Databases], repetitions: int) -> BackendResult:
    print(f"{name}: building the demo and the big database ...", flush=True)
    dbs = make()
    load = dbs.load
    print(
        f"{name}: {load.report.rows:,} rows generated in {load.generate_s:.1f} s, stored in "
        f"{load.store_s:.1f} s ({load.report.rows / load.store_s:,.0f} rows/s)",
        flush=True,
    )
    try:
        result = measure(name, dbs, repetitions)
    finally:
        dbs.demo.dispose()
        dbs.big.dispose()
    for line in _table(result):
        print(line)
    return result


# --------------------------------------------------------------------------------------------
# The report


def _ms(seconds: Sequence[float]) -> tuple[float, float]:
    """Median and 90th percentile, in milliseconds."""
    return statistics.median(seconds) * 1000, float(np.percentile(seconds, 90)) * 1000


def _table(r: BackendResult) -> list[str]:
    lines = [
        f"| {r.name}: page | request on the big database | demo median ms | demo p90 ms "
        f"| big median ms | big p90 ms | big / demo | within {GOAL_MS:.0f} ms |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for index, probe in enumerate(r.probes["big"]):
        demo_med, demo_p90 = _ms(r.seconds["demo"][index])
        big_med, big_p90 = _ms(r.seconds["big"][index])
        verdict = ("yes" if big_med <= GOAL_MS else "**no**") if probe.goal else ""
        lines.append(
            f"| {probe.label} | `{probe.path}` | {demo_med:.1f} | {demo_p90:.1f} | "
            f"{big_med:.1f} | {big_p90:.1f} | {big_med / demo_med:.2f}× | {verdict} |"
        )
    return lines


def section(results: Mapping[str, Any], backends: Sequence[BackendResult]) -> str:
    lines = [
        BEGIN,
        "## Pages at factory scale",
        "",
        "`python benchmarks/bench_pages.py` — the pages and API reads a user opens, requested "
        "through the ASGI application (`create_app`, starlette `TestClient`, in process, so the "
        "time is the server's: no network) as the "
        "demo's viewer (signed in to the pages, a read token for the API) on two "
        "databases side by side: *demo*, the demo alone (its production build has 5,000 units), "
        f"and *big*, the demo plus one production build of {results['units']:,} units on the "
        "demo's production line, with every unit's station passes (rework after a failed first "
        f"attempt, at the demo's rates), a test run per measuring station and "
        f"{results['measurements']} measurements per unit, and a defect per failed first "
        "attempt. Each request is probed on the demo's production build and on the big build; "
        f"the first five are held to {GOAL_MS:.0f} ms (median) on the big one, and a ratio "
        "big / demo near 1 says the request does not grow with the build. "
        "The build is generated with NumPy from a seed and stored through "
        "`services.volume.record_build_volume` (the bulk path, which keeps the running "
        "aggregates) in one transaction. Each request is made once to warm up, then "
        f"{results['repetitions']} times, alternating between the two databases. PostgreSQL is "
        "vacuumed and analysed after the load, as autovacuum does; SQLite is left as the "
        "product leaves it.",
        "",
        f"- Date: {results['date']}",
        f"- Machine: {results['nproc']} CPUs, {results['cpu']}; Python {results['python']}; "
        f"{results['platform']}",
        f"- Seed: {results['seed']}; repetitions: {results['repetitions']}",
        "",
        "Loading the big build: generating its records with NumPy (once, for every backend), "
        "then storing them through the volume service:",
        "",
        "| backend | units | station passes | test runs | measurements | defects | rows "
        "| generate s | store s | rows/s stored |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in backends:
        rep, load = r.load.report, r.load
        lines.append(
            f"| {r.name} | {rep.units:,} | {rep.station_passes:,} | {rep.test_runs:,} | "
            f"{rep.measurements:,} | {rep.defects:,} | {rep.rows:,} | {load.generate_s:.1f} | "
            f"{load.store_s:.1f} | {rep.rows / load.store_s:,.0f} |"
        )
    scans = "; ".join(f"{r.scan_s * 1000:,.0f} ms on {r.name}" for r in backends)
    lines += [
        "",
        f"What scanning would cost: one full scan `{SCAN_SQL}` of the big database's "
        f"{backends[0].scan_rows:,} measurements takes {scans}.",
    ]
    for r in backends:
        lines += ["", *_table(r)]
    lines += [
        "",
        f"Load average of the machine (1, 5, 15 min) when the probes ended: {results['load']}; "
        "other work ran on it at the same time, so every time above is an upper bound.",
        "",
        "How the unit list stays flat: the build's units counted by status and allocation, and "
        "its defects, are kept per build by triggers (`build_unit_counts`, "
        "`build_defect_counts`, migration `0011_unit_counts`), so neither the build page nor "
        "the list counts units; the list pages by serial (`after`, `before`, `last`) from the "
        "(build, product, serial) index, one more unit than shown telling whether more follow, "
        'and the API\'s units of a build page by cursor (`after`, the `Link: rel="next"` '
        "header) from the same index. The serial search is one query without a count (the page "
        "says whether more match): on PostgreSQL a trigram index (`pg_trgm`) on lower(serial) "
        "finds the matches; on SQLite, which has no such index in its standard build without a "
        "virtual table, the search reads the build's serial index in C with `LIKE` (serials "
        "are printable ASCII, whose case `LIKE` folds), so it still grows with the build (its "
        "ratio big / demo above).",
        END,
    ]
    return "\n".join(lines)


def _sqlite_backend(args: argparse.Namespace, backends: list[BackendResult]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        backends.append(
            run_backend(
                "SQLite",
                lambda: sqlite_databases(Path(tmp), args.units, args.seed, args.measurements),
                args.repetitions,
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--units", type=int, default=BIG_UNITS, help="units of the big build (scale)"
    )
    parser.add_argument(
        "--measurements",
        type=int,
        default=MEASUREMENTS_PER_UNIT,
        help="measurements per unit of the big build",
    )
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--postgres-only", action="store_true", help="skip SQLite")
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        metavar="TEXT",
        help="leave out the requests whose label holds TEXT (may be repeated)",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print the section, leave docs/benchmarks.md"
    )
    args = parser.parse_args()
    WITHOUT.extend(args.without)
    results: dict[str, Any] = {
        "load": "",
        **report.machine(),
        "units": args.units,
        "measurements": args.measurements,
        "repetitions": args.repetitions,
        "seed": args.seed,
    }
    backends: list[BackendResult] = []
    if args.postgres_only:
        print("SQLite skipped (--postgres-only)")
    else:
        _sqlite_backend(args, backends)
    pg = Postgres()
    if args.sqlite_only:
        print("PostgreSQL skipped (--sqlite-only)")
    elif pg.reachable():
        try:
            backends.append(
                run_backend(
                    "PostgreSQL",
                    lambda: postgres_databases(pg, args.units, args.seed, args.measurements),
                    args.repetitions,
                )
            )
        finally:
            pg.close()
    else:
        print("PostgreSQL not reachable; SQLite only")
    results["load"] = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    block = section(results, backends)
    if args.no_write:
        print(block)
        return
    report.write_section("pages", block)
    print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
