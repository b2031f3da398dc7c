"""The ingest schema: rows stored before it get source ids; new columns on the bulk path."""

from __future__ import annotations

import datetime as dt
import sqlite3

import psycopg
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError

from phasegate.domain.enums import Outcome
from phasegate.services import crud, quality
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
from tests.factories import make_build, make_characteristic, make_line, make_unit, person

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def test_rows_stored_before_the_migration_get_legacy_source_ids(empty_engine: Engine) -> None:
    db.upgrade(empty_engine, "0004_identity")
    uow = UnitOfWork.for_engine(empty_engine)
    line = make_line(uow, stations=1)
    build = make_build(uow, line_id=line.id)
    unit = make_unit(uow, build)
    code = crud.create(
        uow, quality.DEFECT_CODES, {"code": "X1", "description": "x"}, actor=person("t")
    )
    with empty_engine.begin() as conn:
        station_id = conn.scalar(text("SELECT id FROM stations"))
        params = {"u": unit.id, "s": station_id, "t": T0, "c": code.id}
        for _ in range(2):
            conn.execute(
                text(
                    "INSERT INTO station_passes (unit_id, station_id, started_at, operator, "
                    "result, attempt) VALUES (:u, :s, :t, '', 'pass', 1)"
                ),
                params,
            )
        conn.execute(
            text(
                "INSERT INTO defects (unit_id, station_id, defect_code_id, severity, disposition,"
                " cost, found_at, notes) VALUES (:u, :s, :c, 'minor', 'pending', 0, :t, '')"
            ),
            params,
        )

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
