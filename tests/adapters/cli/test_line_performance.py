"""CLI contract of ``phasegate line-performance BUILD``: exit codes and the JSON, CSV and table
output, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest

from phasegate.domain.policy import SYSTEM
from phasegate.services import identity
from phasegate.store import db
from phasegate.store.uow import UnitOfWork
from tests.adapters.api.test_line_performance import STATION_KEYS, seed_line_build
from tests.adapters.cli.conftest import Runner


def _seed(url: str) -> None:
    """The schema, an admin and build PLT-1 of product LNP (see ``seed_line_build``)."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    uow = UnitOfWork.for_engine(engine)
    identity.create_user(uow, "root", "admin", actor=SYSTEM, password="root-password-1")
    seed_line_build(uow)
    engine.dispose()


def test_json_is_the_api_document(run: Runner, any_database_url: str) -> None:
    _seed(any_database_url)
    done = run("line-performance", "plt-1", "--format", "json", url=any_database_url)
    assert done.code == 0, done.err
    body = done.json()
    assert set(body) == {"build", "product", "phase", "line", "detail"}
    line = body["line"]
    assert line["takt_s"] == pytest.approx(16.0)
    assert line["bottleneck"] == "S2"
    assert line["balance_efficiency"] == pytest.approx(44 / 48)
    assert [set(s) for s in line["stations"]] == [STATION_KEYS, STATION_KEYS]
    assert line["stations"][0]["cycle_p90_s"] == "insufficient data (n = 4)"


def test_csv_has_one_row_per_station(run: Runner, database_url: str) -> None:
    _seed(database_url)
    done = run("line-performance", "PLT-1", "--product", "LNP", "--format", "csv")
    assert done.code == 0, done.err
    rows = list(csv.DictReader(io.StringIO(done.out)))
    assert [r["station"] for r in rows] == ["S1", "S2"]
    assert float(rows[0]["mean_s"]) == pytest.approx(12.0)
    assert rows[1]["bottleneck"] == "True"
    assert float(rows[1]["effective_cycle_s"]) == pytest.approx(16.0)
    assert (rows[0]["reworked_units"], rows[0]["visited_units"]) == ("1", "3")


def test_table_names_takt_and_bottleneck(run: Runner, database_url: str) -> None:
    _seed(database_url)
    done = run("line-performance", "PLT-1")
    assert done.code == 0, done.err
    assert "Takt time: 16 s" in done.out
    assert "Bottleneck: S2 (within takt: yes)" in done.out
    assert "Stations of build PLT-1 (LNP)" in done.out


def test_unknown_build_and_product(run: Runner, database_url: str) -> None:
    _seed(database_url)
    missing = run("line-performance", "NOPE")
    assert missing.code == 1 and "build 'NOPE' does not exist" in missing.err
    wrong = run("line-performance", "PLT-1", "--product", "OTHER")
    assert wrong.code == 1 and "does not exist" in wrong.err
    bad = run("line-performance", "PLT-1", "--format", "xml")
    assert bad.code == 2
