"""CLI contract of ``phasegate characteristics``: exit codes, the JSON and CSV shapes, on SQLite
and PostgreSQL."""

from __future__ import annotations

import csv
import io

from phasegate.domain.policy import SYSTEM
from phasegate.services import identity
from phasegate.services.read.characteristic import CONTRACT_FIELDS, FLAT_COLUMNS, POINT_COLUMNS
from phasegate.store import db
from phasegate.store.uow import UnitOfWork
from tests.adapters.cli.conftest import Runner
from tests.services.read.test_characteristic import Data, seed


def _seeded(url: str) -> Data:
    engine = db.make_engine(url)
    db.upgrade(engine)
    uow = UnitOfWork.for_engine(engine)
    identity.create_user(uow, "root", "admin", actor=SYSTEM, password="root-password-1")
    data = seed(uow)
    engine.dispose()
    return data


def test_json_is_the_table_with_the_contract_rows(run: Runner, any_database_url: str) -> None:
    data = _seeded(any_database_url)
    done = run("characteristics", data.pilot, "--format", "json", url=any_database_url)
    assert done.code == 0, done.err
    body = done.json()
    assert (body["build"], body["product"], body["sampling"]["Bore"]["subgroup_size"]) == (
        data.pilot, "CH1", 5,
    )  # fmt: skip
    (row,) = body["characteristics"]
    assert tuple(row) == CONTRACT_FIELDS
    assert (row["name"], row["n"], row["status"]) == ("Bore", 50, "ok")
    assert abs(row["mean"] - float(data.pilot_values.mean())) < 1e-12


def test_csv_has_one_line_per_characteristic(run: Runner, any_database_url: str) -> None:
    data = _seeded(any_database_url)
    done = run("characteristics", data.production, "--format", "csv", url=any_database_url)
    assert done.code == 0, done.err
    (row,) = list(csv.DictReader(io.StringIO(done.out)))
    assert tuple(row) == FLAT_COLUMNS
    assert (row["name"], row["n"], row["status"]) == ("Bore", "40", "watch")
    assert float(row["cpk_ci_low"]) < float(row["cpk_lower"]) < float(row["cpk"])


def test_one_characteristic_as_json_csv_and_a_table(run: Runner, any_database_url: str) -> None:
    data = _seeded(any_database_url)
    url = any_database_url
    args = ("characteristics", data.production, "--name", "bore", "--product", "ch1")
    as_json = run(*args, "--format", "json", url=url)
    assert as_json.code == 0, as_json.err
    body = as_json.json()
    assert body["phase1"]["builds"] == [data.pilot] and body["chart"]["chart"] == "xbar-r"
    assert [s["subgroup"] for s in body["signals"] if 1 in s["rules"]] == [6]
    points = list(csv.DictReader(io.StringIO(run(*args, "--format", "csv", url=url).out)))
    assert tuple(points[0]) == POINT_COLUMNS and len(points) == 8
    assert points[5]["rules"].startswith("1")
    assert points[5]["units"].split(", ") == list(data.production_serials[25:30])
    table = run(*args, url=url)
    assert table.code == 0 and "Phase I limits from pilot CH1-PLT" in table.out
    assert "Signals (Nelson rules)" in table.out


def test_bad_input_exits_2_and_a_missing_build_1(run: Runner, database_url: str) -> None:
    data = _seeded(database_url)
    missing = run("characteristics", "NOPE", url=database_url)
    assert missing.code == 1 and "build 'NOPE' does not exist" in missing.err
    bad = run("characteristics", data.pilot, "--subgroup-size", "0", url=database_url)
    assert bad.code == 2 and "--subgroup-size" in bad.err
