"""Benchmark: ``phasegate ingest`` of a long CSV against raw inserts of the same rows.

Run ``python benchmarks/bench_ingest.py [--rows N] [--sqlite-only] [--no-write]``. It writes a
deterministic long CSV of ``--rows`` measurements (default 1,000,000: 5,000 units, each tested
at four stations, 50 measurements a run, with units and limits) to a temporary folder, then on
a fresh SQLite file and on a fresh PostgreSQL database (when the server is reachable):

- runs the whole command ``phasegate ingest FILE --product --build`` in a subprocess (start-up,
  parsing, checks, test runs, units, measurements, the per-build aggregates and ANALYZE), with
  the child's peak RSS from ``getrusage(RUSAGE_CHILDREN)``;
- then reads the stored measurements back and inserts exactly those rows into a table of the
  same shape (same columns and indexes, no foreign keys) in one transaction: with
  ``sqlite3.executemany`` on SQLite, with psycopg ``COPY`` on PostgreSQL.

Both rates count measurement rows only; the ingest also creates the test runs, the units and
the aggregates, the baseline does not. The results replace the section between
``<!-- ingest:begin -->`` and ``<!-- ingest:end -->`` in ``docs/benchmarks.md`` (printed
instead with ``--no-write``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, Index, MetaData, Table
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex, CreateTable

import report
from phasegate.domain.policy import SYSTEM, Role
from phasegate.services import builds, crud, identity, products
from phasegate.store import db
from phasegate.store.models import Measurement
from phasegate.store.uow import UnitOfWork

ROOT = Path(__file__).resolve().parent.parent
DOC = report.DOC
BEGIN, END = report.markers("ingest")
PHASEGATE = Path(sys.executable).with_name("phasegate")

STATIONS = ("ICT", "FCT", "RF-CAL", "FINAL")
PER_RUN = 50
PRODUCT = "BENCH"
BUILD = "BENCH-PLT"
RAW_TABLE = "measurements_raw"
RATIO_TARGET = 0.5
RSS_TARGET_MB = 500
T0 = dt.datetime(2026, 1, 5, 6, 0, tzinfo=dt.UTC)

HEADER = (
    "serial",
    "station",
    "started_at",
    "ended_at",
    "outcome",
    "name",
    "value",
    "unit",
    "lsl",
    "usl",
    "measurement_outcome",
)
_UNITS = ("V", "mA", "ohm", "dB", "MHz", "mm", "degC", "ms")


def _characteristics(station: str) -> list[tuple[str, str, float, float, float]]:
    """The station's 50 measurements: name, unit, nominal, lsl, usl (seeded, always the same)."""
    rng = random.Random(station)
    rows = []
    for i in range(PER_RUN):
        unit = _UNITS[i % len(_UNITS)]
        nominal = round(rng.uniform(0.5, 500.0), 3)
        tolerance = round(nominal * rng.uniform(0.02, 0.1), 4)
        rows.append(
            (f"{station}_{unit}_{i:02d}", unit, nominal, nominal - tolerance, nominal + tolerance)
        )
    return rows


def write_csv(path: Path, rows: int) -> int:
    """A long CSV of ``rows`` measurement rows (rounded down to whole runs); the rows written."""
    runs = max(1, rows // PER_RUN)
    specs = {s: _characteristics(s) for s in STATIONS}
    rng = random.Random(20260105)
    written = 0
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for run in range(runs):
            serial = f"SN{run // len(STATIONS):07d}"
            station = STATIONS[run % len(STATIONS)]
            started = T0 + dt.timedelta(seconds=15 * run)
            ended = started + dt.timedelta(seconds=rng.uniform(20, 60))
            lines = []
            failed = False
            for name, unit, nominal, lsl, usl in specs[station]:
                value = rng.gauss(nominal, (usl - lsl) / 8)
                ok = lsl <= value <= usl
                failed |= not ok
                lines.append((name, f"{value:.5g}", unit, f"{lsl:.5g}", f"{usl:.5g}", ok))
            for name, value, unit, lsl, usl, ok in lines:
                writer.writerow(
                    (
                        serial,
                        station,
                        started.isoformat(),
                        ended.isoformat(),
                        "fail" if failed else "pass",
                        name,
                        value,
                        unit,
                        lsl,
                        usl,
                        "pass" if ok else "fail",
                    )
                )
            written += len(lines)
    return written


# --------------------------------------------------------------------------------------------
# Databases


def fresh_sqlite(folder: Path) -> str:
    return f"sqlite:///{folder / f'ingest-{uuid.uuid4().hex[:8]}.db'}"


def prepare(url: str) -> None:
    """Migrate; an admin for the command to act as; the product, its line of stations, a build."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    uow = UnitOfWork.for_engine(engine)
    identity.create_user(uow, "bench", Role.ADMIN, actor=SYSTEM)
    product = crud.create(
        uow,
        products.PRODUCTS,
        {"key": PRODUCT, "name": "Bench product", "target_unit_cost": 40.0},
        actor=SYSTEM,
    )
    revision = crud.create(
        uow, products.REVISIONS, {"product_id": product.id, "code": "A"}, actor=SYSTEM
    )
    line = crud.create(uow, builds.LINES, {"name": "Bench line"}, actor=SYSTEM)
    for sequence, name in enumerate(STATIONS, 1):
        crud.create(
            uow,
            builds.STATIONS,
            {"line_id": line.id, "name": name, "sequence": sequence, "planned_cycle_time_s": 30.0},
            actor=SYSTEM,
        )
    crud.create(
        uow,
        builds.BUILDS,
        {
            "product_id": product.id,
            "revision_id": revision.id,
            "line_id": line.id,
            "code": BUILD,
            "phase": "pilot",
            "fidelity": None,
            "technique": None,
            "planned_quantity": 5000,
            "budget": 100_000.0,
        },
        actor=SYSTEM,
    )
    engine.dispose()


# --------------------------------------------------------------------------------------------
# The command


def run_ingest(url: str, csv_path: Path, folder: Path) -> dict[str, Any]:
    """``phasegate ingest`` of the file in a subprocess: seconds and its peak RSS (MB)."""
    env = {**os.environ, "PHASEGATE_DATABASE_URL": url, "PHASEGATE_USER": "bench"}
    command = [str(PHASEGATE), "ingest", str(csv_path), "--product", PRODUCT, "--build", BUILD]
    command += ["--format-out", "json"]
    log = folder / "ingest.log"
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak RSS
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"phasegate ingest failed ({process.returncode}):\n{log.read_text()}")
    return {"seconds": seconds, "rss_mb": usage.ru_maxrss / 1024}


def stored_rows(url: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The measurements as stored (every column but the id), in id order."""
    columns = [c.name for c in Measurement.__table__.columns if c.name != "id"]
    engine = db.make_engine(url)
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        cursor.execute(f"SELECT {', '.join(columns)} FROM measurements ORDER BY id")
        rows = [tuple(r) for r in cursor.fetchall()]
        cursor.close()
    engine.dispose()
    return columns, rows


def raw_table(engine: Engine) -> tuple[str, list[str]]:
    """DDL of a table shaped like ``measurements`` (columns, primary key, indexes; no foreign
    keys) named :data:`RAW_TABLE`: the table and its indexes, each a statement."""
    metadata = MetaData()
    source: Table = Measurement.__table__  # type: ignore[assignment]
    columns = [c._copy() for c in source.columns]
    for column in columns:
        column.foreign_keys.clear()
        column.constraints.clear()
    table = Table(RAW_TABLE, metadata, *columns)
    for index in source.indexes:
        Index(
            index.name.replace("measurements", RAW_TABLE),  # type: ignore[union-attr]
            *[table.c[c.name] for c in index.columns],
        )
    dialect = engine.dialect
    create = str(CreateTable(table).compile(dialect=dialect))
    indexes = [str(CreateIndex(i).compile(dialect=dialect)) for i in table.indexes]
    return create, indexes


def baseline_sqlite(url: str, columns: list[str], rows: list[tuple[Any, ...]]) -> float:
    """``executemany`` of the rows into the raw table, in one transaction; seconds."""
    create, indexes = raw_table(db.make_engine(url))
    path = make_url(url).database
    assert path is not None
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(create)
    for statement in indexes:
        conn.execute(statement)
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {RAW_TABLE} ({', '.join(columns)}) VALUES ({marks})"
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany(statement, rows)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def baseline_postgres(url: str, columns: list[str], rows: list[tuple[Any, ...]]) -> float:
    """``COPY`` of the rows into the raw table, in one transaction; seconds."""
    create, indexes = raw_table(db.make_engine(url))
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    wrapped = _json_series(columns, rows)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(create)
        for statement in indexes:
            conn.execute(statement)
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cursor:
            copy_sql = f"COPY {RAW_TABLE} ({', '.join(columns)}) FROM STDIN"
            with cursor.copy(copy_sql) as copy:
                for row in wrapped:
                    copy.write_row(row)
        return time.perf_counter() - started


def _json_series(columns: list[str], rows: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """The rows with the JSON ``series`` column as text (COPY takes JSON as its text)."""
    at = columns.index("series")
    for row in rows:
        if row[at] is None:
            yield row
        else:
            yield (*row[:at], json.dumps(row[at]), *row[at + 1 :])


# --------------------------------------------------------------------------------------------
# One backend, the report


def ingest_into(name: str, url: str, csv_path: Path) -> dict[str, Any]:
    """The command's run into a prepared database at ``url``."""
    prepare(url)
    ingest = run_ingest(url, csv_path, csv_path.parent)
    print(f"{name}: ingest {ingest['seconds']:.1f} s, peak RSS {ingest['rss_mb']:.0f} MB")
    return ingest


def compare(name: str, url: str, ingest: dict[str, Any], rows: int) -> dict[str, Any]:
    """The raw insert of the rows the command stored at ``url``, beside the command's run."""
    columns, stored = stored_rows(url)
    if len(stored) != rows:
        raise RuntimeError(f"{name}: {len(stored):,} measurements stored, {rows:,} in the file")
    baseline = baseline_sqlite if name == "SQLite" else baseline_postgres
    raw_s = baseline(url, columns, stored)
    result = {
        "rows": rows,
        "ingest_s": ingest["seconds"],
        "rss_mb": ingest["rss_mb"],
        "raw_s": raw_s,
        "raw": "sqlite3.executemany" if name == "SQLite" else "psycopg COPY",
    }
    ratio = raw_s / ingest["seconds"]
    print(
        f"{name}: ingest {ingest['seconds']:.1f} s ({rows / ingest['seconds']:,.0f} rows/s, "
        f"peak RSS {ingest['rss_mb']:.0f} MB); {result['raw']} {raw_s:.1f} s "
        f"({rows / raw_s:,.0f} rows/s); ratio {ratio:.2f}",
        flush=True,
    )
    return result


def section(results: dict[str, Any]) -> str:
    lines = [
        BEGIN,
        "## Ingest: a long CSV through `phasegate ingest`",
        "",
        "`python benchmarks/bench_ingest.py` — a deterministic long CSV of "
        f"{results['rows']:,} measurement rows ({results['rows'] // PER_RUN:,} test runs of "
        f"{PER_RUN} measurements with limits; {len(STATIONS)} stations; "
        f"{results['mb']:.0f} MB) ingested by the whole command `phasegate ingest FILE "
        "--product --build` in a subprocess (start-up, columnar parsing, checks, units, test "
        "runs, measurements, the per-build aggregates, ANALYZE on PostgreSQL) into a fresh "
        "database; against it, the same stored measurement rows inserted raw into a table of "
        "the same columns and indexes in one transaction (`sqlite3.executemany` on SQLite, "
        "psycopg `COPY` on PostgreSQL). Both rates count measurement rows; only the ingest "
        "also creates the test runs, units and aggregates.",
        "",
        f"- Date: {results['date']}",
        f"- Machine: {results['nproc']} CPUs, {results['cpu']}; Python {results['python']}; "
        f"{results['platform']}",
        f"- Load average (1 min) at the start and at the end: {results['load'][0]:.1f}, "
        f"{results['load'][1]:.1f} (other work on the machine slows both sides)",
        f"- Targets: ingest rate ≥ {RATIO_TARGET:.0%} of the raw rate; peak RSS of the command "
        f"< {RSS_TARGET_MB} MB",
        "",
        "| backend | rows | ingest s | ingest rows/s | peak RSS MB | raw insert | raw s "
        "| raw rows/s | ratio |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for name, r in results["backends"].items():
        lines.append(
            f"| {name} | {r['rows']:,} | {r['ingest_s']:.1f} | {r['rows'] / r['ingest_s']:,.0f} "
            f"| {r['rss_mb']:.0f} | {r['raw']} | {r['raw_s']:.1f} | {r['rows'] / r['raw_s']:,.0f} "
            f"| {r['raw_s'] / r['ingest_s']:.2f} |"
        )
    lines.append(END)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="measurement rows")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument(
        "--no-write", action="store_true", help="print the section, leave docs/benchmarks.md"
    )
    args = parser.parse_args()
    results: dict[str, Any] = {**report.machine(), "backends": {}}
    load_at_start = os.getloadavg()[0]
    pg = report.Postgres()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path = folder / "long.csv"
        results["rows"] = rows = write_csv(csv_path, args.rows)
        results["mb"] = csv_path.stat().st_size / 1e6
        print(f"{rows:,} rows, {results['mb']:.0f} MB", flush=True)
        urls = {"SQLite": fresh_sqlite(folder)}
        if args.sqlite_only:
            print("PostgreSQL skipped (--sqlite-only)")
        elif pg.reachable():
            urls["PostgreSQL"] = pg.fresh()
        else:
            print("PostgreSQL not reachable; SQLite only")
        try:
            # Every command first, while this process is small: a child's peak RSS counts what
            # it shared with this process when it was forked, before its exec.
            runs = {name: ingest_into(name, url, csv_path) for name, url in urls.items()}
            for name, url in urls.items():
                results["backends"][name] = compare(name, url, runs[name], rows)
        finally:
            pg.close()
    results["load"] = (load_at_start, os.getloadavg()[0])
    if args.no_write:
        print(section(results))
        return
    report.write_section("ingest", section(results))
    print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
