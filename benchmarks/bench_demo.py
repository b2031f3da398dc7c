"""Benchmark: generate and load the full demo, and the bulk path against the ORM.

Run ``python benchmarks/bench_demo.py [--repetitions N] [--sqlite-only] [--no-write]``. It
times ``load_demo`` (generation included) on a fresh SQLite file and, when the server is
reachable, on a fresh PostgreSQL database; then it re-inserts the demo's measurements through
``store.bulk`` and through ORM ``add_all`` to show the ratio. The results replace the section
between ``<!-- demo:begin -->`` and ``<!-- demo:end -->`` in ``docs/benchmarks.md`` (printed
instead with ``--no-write``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import report
from phasegate.demo import DemoSummary, load_demo
from phasegate.store import bulk, db
from phasegate.store.models import BuildCharacteristicStat, Measurement

ROOT = Path(__file__).resolve().parent.parent
DOC = report.DOC
BEGIN, END = report.markers("demo")


def migrated(url: str) -> Engine:
    engine = db.make_engine(url)
    db.upgrade(engine)
    return engine


def fresh_sqlite(folder: Path) -> Engine:
    return migrated(f"sqlite:///{folder / f'demo-{uuid.uuid4().hex[:8]}.db'}")


def time_loads(make: Callable[[], Engine], repetitions: int) -> tuple[list[float], DemoSummary]:
    seconds = []
    summary: DemoSummary | None = None
    for _ in range(repetitions):
        engine = make()
        started = time.perf_counter()
        summary = load_demo(engine)
        seconds.append(time.perf_counter() - started)
        engine.dispose()
    assert summary is not None
    return seconds, summary


def measurement_rows(engine: Engine) -> list[dict[str, Any]]:
    columns = [c for c in Measurement.__table__.columns if c.name != "id"]
    with Session(engine) as session:
        rows = session.execute(select(Measurement).order_by(Measurement.id)).scalars().all()
        return [{c.name: getattr(m, c.key) for c in columns} for m in rows]


def _clear_measurements(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(Measurement.__table__.delete())
        conn.execute(BuildCharacteristicStat.__table__.delete())


def time_bulk_vs_orm(engine: Engine) -> dict[str, float]:
    """Re-insert the demo's measurements: bulk path (with aggregates) vs ORM add_all."""
    rows = measurement_rows(engine)
    _clear_measurements(engine)
    started = time.perf_counter()
    with engine.begin() as conn:
        bulk.insert_measurements(conn, rows)
    bulk_s = time.perf_counter() - started
    _clear_measurements(engine)
    started = time.perf_counter()
    with Session(engine) as session:
        session.add_all([Measurement(**r) for r in rows])
        session.commit()
    orm_s = time.perf_counter() - started
    return {"rows": len(rows), "bulk_s": bulk_s, "orm_s": orm_s}


def section(results: dict[str, Any]) -> str:
    lines = [
        BEGIN,
        "## Demo: generate and load",
        "",
        "`python benchmarks/bench_demo.py` — `load_demo` on an empty, migrated database: "
        "generation from the seed, the low-volume records through the audited services, "
        "units, station passes, test runs, measurements and defects through the volume "
        "service (`services.volume`, on `store.bulk`, which also maintains the per-build "
        "aggregates).",
        "",
        f"- Date: {results['date']}",
        f"- Machine: {results['nproc']} CPUs, {results['cpu']}; Python {results['python']}; "
        f"{results['platform']}",
        f"- Repetitions: {results['repetitions']} (fresh database each time); target < 30 s",
        "",
        "| backend | rows (bulk) | audit events (services) | min s | median s | max s "
        "| rows/s of the whole load |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results["loads"].items():
        secs = r["seconds"]
        median = statistics.median(secs)
        lines.append(
            f"| {name} | {r['rows']:,} | {r['records']:,} | {min(secs):.2f} | {median:.2f} | "
            f"{max(secs):.2f} | {r['rows'] / median:,.0f} |"
        )
    lines += [
        "",
        "Baseline: the demo's measurements inserted again, bulk path (aggregates included) "
        "against ORM `add_all` of one object per row:",
        "",
        "| backend | rows | bulk s | bulk rows/s | ORM s | ORM rows/s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results["baseline"].items():
        lines.append(
            f"| {name} | {r['rows']:,} | {r['bulk_s']:.2f} | {r['rows'] / r['bulk_s']:,.0f} | "
            f"{r['orm_s']:.2f} | {r['rows'] / r['orm_s']:,.0f} | "
            f"{r['orm_s'] / r['bulk_s']:.1f}× |"
        )
    lines.append(END)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument(
        "--no-write", action="store_true", help="print the section, leave docs/benchmarks.md"
    )
    args = parser.parse_args()
    results: dict[str, Any] = {
        **report.machine(),
        "repetitions": args.repetitions,
        "loads": {},
        "baseline": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        seconds, summary = time_loads(lambda: fresh_sqlite(folder), args.repetitions)
        results["loads"]["SQLite"] = {
            "seconds": seconds,
            "rows": summary.bulk_rows,
            "records": summary.audit_events,
        }
        print(f"SQLite: {[round(s, 2) for s in seconds]} s for {summary.bulk_rows:,} rows")
        engine = fresh_sqlite(folder)
        load_demo(engine)
        results["baseline"]["SQLite"] = time_bulk_vs_orm(engine)
        engine.dispose()
    pg = report.Postgres()
    if args.sqlite_only:
        print("PostgreSQL skipped (--sqlite-only)")
    elif pg.reachable():
        try:
            seconds, summary = time_loads(lambda: migrated(pg.fresh()), args.repetitions)
            results["loads"]["PostgreSQL"] = {
                "seconds": seconds,
                "rows": summary.bulk_rows,
                "records": summary.audit_events,
            }
            print(f"PostgreSQL: {[round(s, 2) for s in seconds]} s")
            engine = migrated(pg.fresh())
            load_demo(engine)
            results["baseline"]["PostgreSQL"] = time_bulk_vs_orm(engine)
            engine.dispose()
        finally:
            pg.close()
    else:
        print("PostgreSQL not reachable; SQLite only")
    for name, r in results["baseline"].items():
        print(f"{name}: bulk {r['bulk_s']:.2f} s, ORM {r['orm_s']:.2f} s for {r['rows']:,} rows")
    if args.no_write:
        print(section(results))
        return
    report.write_section("demo", section(results))
    print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
