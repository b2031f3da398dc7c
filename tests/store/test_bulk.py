"""The bulk insert path and its running aggregates, on SQLite and on PostgreSQL.

Every aggregate test recomputes the expected values from the raw rows read back from the
database, so a wrong sum, a lost row or a mixed-up build shows up as a difference.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sqlite3
import uuid
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from phasegate.domain.enums import Outcome, UnitStatus
from phasegate.domain.errors import InvalidInput
from phasegate.store import bulk, db
from phasegate.store.models import (
    Build,
    BuildCharacteristicStat,
    BuildStationStat,
    Defect,
    DefectCode,
    Measurement,
    StationPass,
    TestRun,
    Unit,
)
from phasegate.store.uow import UnitOfWork
from tests import factories
from tests.conftest import _reset_postgres

T0 = dt.datetime(2025, 10, 6, 7, 0, tzinfo=dt.UTC)


def _setup(engine: Engine) -> dict[str, Any]:
    uow = UnitOfWork.for_engine(engine)
    line = factories.make_line(uow, stations=3)
    product = factories.make_product(uow)
    first = factories.make_build(
        uow, product_id=product.id, phase="pilot", fidelity=None, line_id=line.id
    )
    second = factories.make_build(
        uow, product_id=product.id, phase="pilot", fidelity=None, line_id=line.id
    )
    chars = [
        factories.make_characteristic(uow, product, lsl=9.0, usl=11.0),
        factories.make_characteristic(uow, product, lsl=None, usl=5.0, ctq=True),
    ]
    with uow:
        stations = [s.id for s in uow.get(type(line), line.id).stations]
        uow.session.add(DefectCode(code="AOI-BRIDGE", description="Solder bridge"))
        uow.commit()
        code_id = uow.session.scalar(select(DefectCode.id))
    return {
        "product": product.id,
        "builds": [first.id, second.id],
        "chars": [c.id for c in chars],
        "stations": stations,
        "code": code_id,
    }


def _units(ctx: dict[str, Any], n: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "product_id": ctx["product"],
            "build_id": ctx["builds"][i % 2],
            "serial": f"{prefix}{i:05d}",
            "status": UnitStatus.PASSED if i % 7 else "scrapped",
        }
        for i in range(n)
    ]


def _passes(ctx: dict[str, Any], unit_ids: list[int], rng: np.random.Generator) -> list[Any]:
    rows = []
    for u in unit_ids:
        for k, station in enumerate(ctx["stations"]):
            start = T0 + dt.timedelta(seconds=float(u * 300 + k * 60))
            seconds = float(rng.lognormal(np.log(40), 0.2))
            failed = rng.random() < 0.1
            rows.append(
                {
                    "unit_id": u,
                    "station_id": station,
                    "started_at": start,
                    "ended_at": start + dt.timedelta(seconds=seconds),
                    "operator": "P. Dvorak",
                    "result": Outcome.FAIL if failed else "pass",
                    "attempt": 1,
                }
            )
            if failed:
                rows.append(rows[-1] | {"attempt": 2, "result": Outcome.PASS})
    # A pass still running has no end and no cycle time.
    rows.append(rows[0] | {"ended_at": None, "attempt": 3})
    return rows


def _runs_and_measurements(
    ctx: dict[str, Any], unit_ids: list[int], rng: np.random.Generator, tag: str
) -> tuple[list[Any], Any]:
    runs = [
        {
            "unit_id": u,
            "station_id": ctx["stations"][-1],
            "procedure": "end-of-line test v1",
            "outcome": "pass",
            "started_at": T0,
            "ended_at": T0 + dt.timedelta(seconds=50),
            "source_id": f"{tag}/{u}",
        }
        for u in unit_ids
    ]

    def measurements(run_ids: list[int]) -> list[dict[str, Any]]:
        rows = []
        for run_id, u in zip(run_ids, unit_ids, strict=True):
            for c, (mean, sd, lsl, usl) in zip(
                ctx["chars"], ((10.0, 0.6, 9.0, 11.0), (3.0, 1.2, None, 5.0)), strict=True
            ):
                value = float(rng.normal(mean, sd))
                ok = (lsl is None or value >= lsl) and value <= usl
                rows.append(
                    {
                        "test_run_id": run_id,
                        "unit_id": u,
                        "characteristic_id": c,
                        "name": f"char {c}",
                        "value": value,
                        "unit": "mm",
                        "lsl": lsl,
                        "usl": usl,
                        "outcome": Outcome.PASS if ok else Outcome.FAIL,
                        "measured_at": T0,
                    }
                )
            # A text-only result and one with no characteristic: stored, not aggregated.
            rows.append(
                {
                    "test_run_id": run_id,
                    "unit_id": u,
                    "name": "firmware version",
                    "text_value": "2.0.1",
                    "measured_at": T0,
                }
            )
        return rows

    return runs, measurements


def _insert_everything(engine: Engine, ctx: dict[str, Any], n: int, tag: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    with engine.begin() as conn:
        unit_ids = bulk.insert_units(conn, _units(ctx, n, tag))
        bulk.insert_station_passes(conn, _passes(ctx, unit_ids, rng))
        runs, measurements = _runs_and_measurements(ctx, unit_ids, rng, tag)
        run_ids = bulk.insert_test_runs(conn, runs)
        bulk.insert_measurements(conn, measurements(run_ids))
        bulk.insert_defects(
            conn,
            [
                {
                    "unit_id": u,
                    "station_id": ctx["stations"][1],
                    "defect_code_id": ctx["code"],
                    "severity": "major",
                    "disposition": "rework",
                    "cost": 12.5,
                    "found_at": T0,
                }
                for u in unit_ids[::5]
            ],
        )


def _expected_characteristic_stats(engine: Engine) -> dict[tuple[int, int], dict[str, Any]]:
    acc: dict[tuple[int, int], dict[str, Any]] = defaultdict(
        lambda: {"values": [], "passed": 0, "failed": 0, "below": 0, "above": 0}
    )
    with UnitOfWork.for_engine(engine) as uow:
        rows = uow.session.execute(
            select(Unit.build_id, Measurement).join(Unit, Unit.id == Measurement.unit_id)
        ).all()
        for build_id, m in rows:
            if m.characteristic_id is None:
                continue
            a = acc[build_id, m.characteristic_id]
            a["passed"] += m.outcome is Outcome.PASS
            a["failed"] += m.outcome is Outcome.FAIL
            if m.value is not None:
                a["values"].append(m.value)
                a["below"] += m.lsl is not None and m.value < m.lsl
                a["above"] += m.usl is not None and m.value > m.usl
    return acc


def _assert_characteristic_stats(engine: Engine) -> None:
    expected = _expected_characteristic_stats(engine)
    with UnitOfWork.for_engine(engine) as uow:
        stats = list(uow.session.scalars(select(BuildCharacteristicStat)))
    assert {(s.build_id, s.characteristic_id) for s in stats} == set(expected)
    for s in stats:
        e = expected[s.build_id, s.characteristic_id]
        values = np.array(e["values"])
        assert s.count == len(values)
        assert s.total == pytest.approx(values.sum(), rel=1e-12)
        assert s.total_sq == pytest.approx((values**2).sum(), rel=1e-12)
        assert s.minimum == values.min()
        assert s.maximum == values.max()
        assert (s.passed, s.failed) == (e["passed"], e["failed"])
        assert (s.below_lsl, s.above_usl) == (e["below"], e["above"])


def _assert_station_stats(engine: Engine, *, rel: float = 1e-9) -> None:
    acc: dict[tuple[int, int], list[StationPass]] = defaultdict(list)
    with UnitOfWork.for_engine(engine) as uow:
        for build_id, p in uow.session.execute(
            select(Unit.build_id, StationPass).join(Unit, Unit.id == StationPass.unit_id)
        ).all():
            acc[build_id, p.station_id].append(p)
        stats = list(uow.session.scalars(select(BuildStationStat)))
    assert {(s.build_id, s.station_id) for s in stats} == set(acc)
    for s in stats:
        passes = acc[s.build_id, s.station_id]
        cycle = np.array(
            [(p.ended_at - p.started_at).total_seconds() for p in passes if p.ended_at]
        )
        assert s.passes == len(passes)
        assert s.first_attempts == sum(p.attempt == 1 for p in passes)
        assert s.first_pass_ok == sum(p.attempt == 1 and p.result is Outcome.PASS for p in passes)
        assert s.failures == sum(p.result is Outcome.FAIL for p in passes)
        assert s.cycle_time_count == len(cycle)
        assert s.cycle_time_total_s == pytest.approx(cycle.sum(), rel=rel)
        assert s.cycle_time_total_sq == pytest.approx((cycle**2).sum(), rel=rel)
        assert s.cycle_time_min_s == pytest.approx(cycle.min(), rel=rel)
        assert s.cycle_time_max_s == pytest.approx(cycle.max(), rel=rel)


def test_inserted_rows_read_back_through_the_models(engine: Engine) -> None:
    ctx = _setup(engine)
    with engine.begin() as conn:
        ids = bulk.insert_units(conn, _units(ctx, 3, "SN"))
        run_ids = bulk.insert_test_runs(
            conn,
            [
                {
                    "unit_id": ids[1],
                    "procedure": "calibration v2",
                    "outcome": Outcome.FAIL,
                    "started_at": T0,
                    "source_id": "run-1",
                    "operator": "M. Sedlak",
                }
            ],
        )
        bulk.insert_measurements(
            conn,
            [
                {
                    "test_run_id": run_ids[0],
                    "unit_id": ids[1],
                    "characteristic_id": ctx["chars"][0],
                    "name": "gap",
                    "value": 11.5,
                    "usl": 11.0,
                    "outcome": "fail",
                    "measured_at": T0 + dt.timedelta(microseconds=250),
                }
            ],
        )
    with UnitOfWork.for_engine(engine) as uow:
        units = list(uow.session.scalars(select(Unit).order_by(Unit.id)))
        assert [u.id for u in units] == ids
        assert [u.serial for u in units] == ["SN00000", "SN00001", "SN00002"]
        assert units[0].status is UnitStatus.SCRAPPED  # the value "scrapped" became the enum
        assert units[0].created_at.tzinfo is dt.UTC
        run = uow.get(TestRun, run_ids[0])
        assert (run.unit_id, run.outcome, run.operator, run.ended_at) == (
            ids[1],
            Outcome.FAIL,
            "M. Sedlak",
            None,
        )
        m = uow.session.scalars(select(Measurement)).one()
        assert m.measured_at == T0 + dt.timedelta(microseconds=250)
        assert (m.value, m.lsl, m.usl, m.unit, m.outcome) == (11.5, None, 11.0, "", Outcome.FAIL)


def test_ids_follow_row_order_and_keep_counting(engine: Engine) -> None:
    ctx = _setup(engine)
    with engine.begin() as conn:
        first = bulk.insert_units(conn, _units(ctx, 4, "A"))
    with engine.begin() as conn:
        second = bulk.insert_units(conn, _units(ctx, 3, "B"))
    assert first == sorted(first) and second == sorted(second)
    assert second[0] > first[-1]
    # The ORM (and the sequence behind it on PostgreSQL) carries on after the bulk ids.
    uow = UnitOfWork.for_engine(engine)
    with uow:
        build = uow.get(Build, ctx["builds"][0])
    unit = factories.make_unit(uow, build)
    assert unit.id > second[-1]
    with UnitOfWork.for_engine(engine) as uow:
        serials = dict(uow.session.execute(select(Unit.id, Unit.serial)).all())
    assert [serials[i] for i in first + second] == [
        *(f"A{i:05d}" for i in range(4)),
        *(f"B{i:05d}" for i in range(3)),
    ]


def test_aggregates_equal_those_recomputed_from_raw_rows(engine: Engine) -> None:
    ctx = _setup(engine)
    # Two batches, so the second one accumulates onto existing aggregate rows.
    _insert_everything(engine, ctx, 60, "first", seed=1)
    _insert_everything(engine, ctx, 45, "second", seed=2)
    _assert_characteristic_stats(engine)
    _assert_station_stats(engine)
    with UnitOfWork.for_engine(engine) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Defect)) == 12 + 9
        assert uow.session.scalar(select(func.count()).select_from(Measurement)) == 105 * 3


def test_recompute_stats_rebuilds_the_same_aggregates(engine: Engine) -> None:
    ctx = _setup(engine)
    _insert_everything(engine, ctx, 40, "run", seed=3)
    with engine.begin() as conn:
        conn.execute(BuildStationStat.__table__.delete())
        conn.execute(
            BuildCharacteristicStat.__table__.update().values(count=0, total=0.0, minimum=None)
        )
        bulk.recompute_stats(conn)
    _assert_characteristic_stats(engine)
    _assert_station_stats(engine)
    with engine.begin() as conn:
        bulk.recompute_stats(conn, build_id=ctx["builds"][0])
    _assert_station_stats(engine)


def test_stats_can_be_left_to_the_caller(engine: Engine) -> None:
    ctx = _setup(engine)
    with engine.begin() as conn:
        ids = bulk.insert_units(conn, _units(ctx, 2, "S"))
        rows = _passes(ctx, ids, np.random.default_rng(4))
        bulk.insert_station_passes(conn, rows, update_stats=False)
        assert conn.scalar(select(func.count()).select_from(BuildStationStat)) == 0
        deltas = bulk.station_stat_deltas(rows, bulk.build_of_units(conn, ids))
        bulk.apply_station_stats(conn, deltas)
    _assert_station_stats(engine)


def test_empty_input_is_a_no_op(engine: Engine) -> None:
    with engine.begin() as conn:
        assert bulk.insert_units(conn, []) == []
        assert bulk.insert_measurements(conn, []) == 0
        assert bulk.insert_station_passes(conn, []) == []


def test_bad_rows_are_named(sqlite_engine: Engine) -> None:
    ctx = _setup(sqlite_engine)
    with sqlite_engine.begin() as conn:
        with pytest.raises(ValueError, match=r"units row 1: missing column 'serial'"):
            bulk.insert_units(conn, [_units(ctx, 1, "X")[0], {"product_id": 1, "build_id": 1}])
        with pytest.raises(ValueError, match=r"units row 0: status 'lost' is not one of"):
            bulk.insert_units(conn, [_units(ctx, 1, "X")[0] | {"status": "lost"}])
        naive = _units(ctx, 1, "X")[0] | {"created_at": dt.datetime(2025, 1, 1)}
        with pytest.raises(ValueError, match="timezone-aware"):
            bulk.insert_units(conn, [naive])


def test_deltas_of_values_without_numbers() -> None:
    rows = [
        {"unit_id": 1, "characteristic_id": 7, "value": None, "outcome": "fail"},
        {"unit_id": 1, "characteristic_id": 7, "value": 2.0, "lsl": 3.0, "outcome": "fail"},
        {"unit_id": 1, "characteristic_id": 7, "value": None, "outcome": "pass"},
    ]
    (delta,) = bulk.characteristic_stat_deltas(rows, {1: 5})
    assert (delta.build_id, delta.count, delta.failed, delta.below_lsl) == (5, 1, 2, 1)
    assert delta.passed == 1
    assert delta.minimum == delta.maximum == 2.0
    assert math.isclose(delta.total_sq, 4.0)


def test_sqlite_datetimes_are_stored_as_the_orm_stores_them(sqlite_engine: Engine) -> None:
    ctx = _setup(sqlite_engine)
    uow = UnitOfWork.for_engine(sqlite_engine)
    with uow:
        build = uow.get(Build, ctx["builds"][0])
    factories.make_unit(uow, build)  # through the ORM
    with sqlite_engine.begin() as conn:
        bulk.insert_units(conn, [_units(ctx, 1, "Z")[0] | {"created_at": T0}])
        stored = [row[0] for row in conn.exec_driver_sql("SELECT created_at FROM units")]
    pattern = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$"
    assert all(re.match(pattern, s) for s in stored), stored
    with UnitOfWork.for_engine(sqlite_engine) as uow:
        found = uow.session.scalars(select(Unit.serial).where(Unit.created_at <= T0)).all()
    assert found == ["Z00000"]


def test_rows_go_in_the_callers_transaction(engine: Engine) -> None:
    # The driver's cursor begins nothing itself; the rows must still be rolled back with the
    # transaction of the connection they were handed, begun or not.
    ctx = _setup(engine)
    with engine.connect() as conn:
        ids = bulk.insert_units(conn, _units(ctx, 3, "TX"))
        assert conn.in_transaction() and len(ids) == 3
        conn.rollback()
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Unit)) == 0
    with engine.connect() as conn:
        bulk.insert_units(conn, _units(ctx, 2, "TX"))
        conn.commit()
        versions = conn.scalars(select(Unit.version)).all()
    assert versions == [1, 1]


# --------------------------------------------------------------------------------------------
# References checked once per batch


def _one_run(conn: Any, ctx: dict[str, Any], tag: str) -> tuple[int, int]:
    (unit,) = bulk.insert_units(conn, _units(ctx, 1, tag))
    runs, _ = _runs_and_measurements(ctx, [unit], np.random.default_rng(1), tag)
    (run,) = bulk.insert_test_runs(conn, runs)
    return unit, run


def _measurement(run: int, unit: int, characteristic: int | None) -> dict[str, Any]:
    return {
        "test_run_id": run,
        "unit_id": unit,
        "characteristic_id": characteristic,
        "name": "m",
        "value": 1.0,
        "measured_at": T0,
    }


@pytest.mark.parametrize("column", ["test_run_id", "unit_id", "characteristic_id"])
def test_a_missing_reference_refuses_the_batch_naming_its_row(engine: Engine, column: str) -> None:
    ctx = _setup(engine)
    with engine.begin() as conn:
        unit, run = _one_run(conn, ctx, "R")
    good = _measurement(run, unit, ctx["chars"][0])
    columns = {k: [v, v, v] for k, v in good.items()}
    columns[column] = [good[column], good[column], 987654]
    refused = (InvalidInput, IntegrityError, sqlite3.IntegrityError)
    with pytest.raises(refused) as caught, engine.begin() as conn:
        bulk.insert_measurement_columns(conn, columns, 3)
    if isinstance(caught.value, InvalidInput):  # PostgreSQL names the row; SQLite's key refuses
        assert caught.value.fields[0].loc == f"measurements[2].{column}"
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Measurement)) == 0


def test_after_a_bulk_insert_the_keys_are_checked_again(engine: Engine) -> None:
    """The per-row foreign-key checks are skipped for the bulk COPY only: a plain insert in the
    same transaction, after it, is still refused."""
    ctx = _setup(engine)
    with engine.begin() as conn:
        unit, run = _one_run(conn, ctx, "K")
    stray = Measurement.__table__.insert().values(**_measurement(run, 987654, None))
    with engine.begin() as conn:
        bulk.insert_measurements(conn, [_measurement(run, unit, ctx["chars"][0])])
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(stray)


@pytest.mark.postgres
def test_a_user_who_may_not_skip_the_triggers_inserts_all_the_same(
    postgres_database: str,
) -> None:
    """Without the right to set ``session_replication_role`` the keys are checked per row, as
    usual, after the same check of the batch."""
    engine = bulk_engine = None
    role = f"plain_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    try:
        engine = _reset_postgres(postgres_database)
        db.upgrade(engine)
        ctx = _setup(engine)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
            conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA public TO "{role}"')
            conn.exec_driver_sql(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')
            conn.exec_driver_sql(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
        bulk_engine = create_engine(make_url(postgres_database).set(username=role))
        with bulk_engine.begin() as conn:
            unit, run = _one_run(conn, ctx, "P")
            bulk.insert_measurements(conn, [_measurement(run, unit, ctx["chars"][0])] * 3)
        with bulk_engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(Measurement)) == 3
    finally:
        for e in (bulk_engine, engine):
            if e is not None:
                e.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP OWNED BY "{role}"')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        admin.dispose()


def test_text_with_tabs_backslashes_and_newlines_comes_back_as_it_went_in(engine: Engine) -> None:
    """PostgreSQL takes the rows as COPY text: every character that format escapes (and the
    text of its null marker) must come back unchanged."""
    ctx = _setup(engine)
    with engine.begin() as conn:
        unit, run = _one_run(conn, ctx, "T")
    names = ["tab\there", "back\\slash", "new\nline\r", "\\N", "ünïcødé ✓", "'quoted' \"x\""]
    rows = [
        _measurement(run, unit, None) | {"name": n, "text_value": n, "value": None, "unit": n[:8]}
        for n in names
    ]
    rows.append(_measurement(run, unit, None) | {"value": 1e-300, "series": [[0.5, -2.25]]})
    with engine.begin() as conn:
        bulk.insert_measurements(conn, rows)
    with engine.connect() as conn:
        stored = conn.execute(
            select(
                Measurement.name, Measurement.text_value, Measurement.value, Measurement.series
            ).order_by(Measurement.id)
        ).all()
    assert [(n, t) for n, t, _, _ in stored[:-1]] == [(n, n) for n in names]
    assert stored[-1][2:] == (1e-300, [[0.5, -2.25]])
