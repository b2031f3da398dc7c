"""The ingest schema: rows stored before it get source ids; new columns on the bulk path."""

from __future__ import annotations

import datetime as dt
import sqlite3

import psycopg
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError

from phasegate.domain.enums import Outcome
from phasegate.store import bulk, db
from phasegate.store.models import (
    Attachment,
    BuildCharacteristicStat,
    Defect,
    Measurement,
    Product,
    StationPass,
    TestRun,
)
from phasegate.store.uow import UnitOfWork
from tests.factories import make_build, make_characteristic, make_line, make_unit

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


_OLD_ROWS = (
    # The tables as they were at 0004_identity (raw SQL: today's models have columns added
    # since). Times go in as parameters, so each backend stores them its own way.
    "INSERT INTO products (key, name, description, phase, created_at, updated_at) "
    "VALUES ('OLD', 'Old product', '', 'pilot', :t, :t)",
    "INSERT INTO revisions (product_id, code, description, status, created_at, updated_at) "
    "SELECT id, 'A', '', 'released', :t, :t FROM products",
    "INSERT INTO lines (name, description, created_at, updated_at) VALUES ('Old line', '', :t, :t)",
    "INSERT INTO stations (line_id, name, sequence, equipment, servers, created_at, updated_at) "
    "SELECT id, 'S1', 1, '', 1, :t, :t FROM lines",
    "INSERT INTO builds (product_id, revision_id, code, phase, status, planned_quantity, "
    "purpose, line_id, created_at, updated_at) "
    "SELECT p.id, r.id, 'OLD-PLT', 'pilot', 'in_progress', 10, '', l.id, :t, :t "
    "FROM products p, revisions r, lines l",
    "INSERT INTO units (product_id, build_id, serial, status, allocation, created_at, "
    "updated_at) SELECT product_id, id, 'SN-OLD', 'in_process', 'unallocated', :t, :t "
    "FROM builds",
    "INSERT INTO defect_codes (code, description, category) VALUES ('X1', 'x', '')",
    "INSERT INTO station_passes (unit_id, station_id, started_at, operator, result, attempt) "
    "SELECT u.id, s.id, :t, '', 'pass', 1 FROM units u, stations s",
    "INSERT INTO station_passes (unit_id, station_id, started_at, operator, result, attempt) "
    "SELECT u.id, s.id, :t, '', 'pass', 1 FROM units u, stations s",
    "INSERT INTO defects (unit_id, station_id, defect_code_id, severity, disposition, cost, "
    "found_at, notes) SELECT u.id, s.id, c.id, 'minor', 'pending', 0, :t, '' "
    "FROM units u, stations s, defect_codes c",
)


def test_rows_stored_before_the_migration_get_legacy_source_ids(empty_engine: Engine) -> None:
    db.upgrade(empty_engine, "0004_identity")
    uow = UnitOfWork.for_engine(empty_engine)
    with empty_engine.begin() as conn:
        for statement in _OLD_ROWS:
            conn.execute(text(statement), {"t": T0})

    db.upgrade(empty_engine)

    with uow:
        passes = uow.session.execute(select(StationPass.id, StationPass.source_id)).all()
        assert sorted(s for _, s in passes) == sorted(
            f"legacy:station_passes:{i}" for i, _ in passes
        )
        defect = uow.session.scalars(select(Defect)).one()
        assert defect.source_id == f"legacy:defects:{defect.id}"


def test_the_bulk_path_writes_the_new_columns_and_refuses_a_second_source_id(
    engine: Engine, uow: UnitOfWork
) -> None:
    build = make_build(uow)
    unit = make_unit(uow, build)
    char = make_characteristic(uow, _product(uow, build.product_id), name="Tiny")
    with engine.begin() as conn:
        (run_id,) = bulk.insert_test_runs(
            conn,
            [
                {
                    "unit_id": unit.id,
                    "procedure": "p",
                    "outcome": Outcome.PASS,
                    "started_at": T0,
                    "source_id": "run-1",
                    "extra": {"fixture": {"slot": 3}},
                }
            ],
        )
        bulk.insert_measurements(
            conn,
            [
                {
                    "test_run_id": run_id,
                    "unit_id": unit.id,
                    "characteristic_id": char.id,
                    "name": "Tiny",
                    "value": 1e-200,  # its square is below the smallest double
                    "measured_at": T0,
                    "marginal": True,
                    "series": [[0.0, 1.0], [1.0, 2.0]],
                }
            ],
        )
        bulk.insert_attachments(conn, [{"test_run_id": run_id, "name": "log.txt", "size": 12}])
        bulk.recompute_stats(conn)
    with uow:
        run = uow.session.get(TestRun, run_id)
        assert run is not None and run.extra == {"fixture": {"slot": 3}}
        m = uow.session.scalars(select(Measurement)).one()
        assert (m.marginal, m.series) == (True, [[0.0, 1.0], [1.0, 2.0]])
        a = uow.session.scalars(select(Attachment)).one()
        assert (a.name, a.mimetype, a.size, a.sha1) == ("log.txt", "", 12, "")
        stat = uow.session.get(BuildCharacteristicStat, (build.id, char.id))
        assert stat is not None and stat.count == 1 and stat.total_sq == pytest.approx(0.0)
    line = make_line(uow, stations=1)
    with engine.connect() as conn:
        station = conn.scalar(text("SELECT id FROM stations WHERE line_id = :l"), {"l": line.id})
    twice = [
        {"unit_id": unit.id, "station_id": station, "started_at": T0, "result": Outcome.PASS}
        | {"source_id": "same"}
    ] * 2
    # The bulk path runs on the driver's cursor: the driver's own error comes out.
    refused = (IntegrityError, sqlite3.IntegrityError, psycopg.errors.UniqueViolation)
    with pytest.raises(refused), engine.begin() as conn:
        bulk.insert_station_passes(conn, twice, update_stats=False)


def _product(uow: UnitOfWork, product_id: int) -> Product:
    with uow:
        return uow.get(Product, product_id)
