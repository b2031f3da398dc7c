"""CLI contract of ``phasegate cost BUILD``: exit codes, the JSON document, CSV and the table,
on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

from phasegate.domain.policy import SYSTEM
from phasegate.services import costing, identity
from phasegate.store import db
from phasegate.store.uow import UnitOfWork
from tests.adapters.cli.conftest import Runner
from tests.factories import ACTOR
from tests.services.test_costing import seed_costed_build


def _seed(url: str) -> dict[str, float | int | None]:
    engine = db.make_engine(url)
    db.upgrade(engine)
    uow = UnitOfWork.for_engine(engine)
    identity.create_user(uow, "root", "admin", actor=SYSTEM, password="root-password-1")
    seed_costed_build(uow)
    expected = costing.build_cost(uow, "CST-P1", actor=ACTOR).contract()
    engine.dispose()
    return expected


def test_json_is_exact(run: Runner, any_database_url: str) -> None:
    expected = _seed(any_database_url)
    done = run("cost", "cst-p1", "--format", "json", url=any_database_url)
    assert done.code == 0, done.err
    body = done.json()
    assert body["cost"] == expected
    assert body["build"] == "CST-P1"
    assert body["learning_curve"]["n"] == 4
    assert [s["label"] for s in body["waterfall"]][-1] == "Target"


def test_csv_and_table_show_the_cost_sheet(run: Runner, any_database_url: str) -> None:
    expected = _seed(any_database_url)
    done = run("cost", "CST-P1", "--product", "CST", "--format", "csv", url=any_database_url)
    assert done.code == 0, done.err
    rows = list(csv.DictReader(io.StringIO(done.out)))
    assert list(rows[0]) == ["component", "item", "cost_per_unit"]
    totals = {r["item"]: float(r["cost_per_unit"]) for r in rows if r["component"] == "total"}
    assert totals["per good unit"] == expected["per_good_unit"]
    parts = [r["item"] for r in rows if r["component"] == "material"]
    assert parts[:2] == ["PCB-1", "SCR-M2"]
    table = run("cost", "CST-P1", url=any_database_url)
    assert table.code == 0, table.err
    assert "Cost of CST-P1" in table.out
    assert "Learning curve: 90.0%" in table.out


def test_errors(run: Runner, any_database_url: str) -> None:
    _seed(any_database_url)
    missing = run("cost", "NOPE", url=any_database_url)
    assert missing.code == 1
    assert "build 'NOPE' does not exist" in missing.err
    bad = run("cost", "CST-P1", "--format", "xml", url=any_database_url)
    assert bad.code == 2
