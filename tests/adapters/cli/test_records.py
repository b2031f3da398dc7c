"""CLI contract: exit codes, JSON shapes and one-line errors of the record commands."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from phasegate.domain.policy import SYSTEM
from phasegate.services import crud, identity, products
from phasegate.store import db
from phasegate.store.uow import UnitOfWork
from tests.adapters.cli.conftest import Runner
from tests.factories import make_build, make_product, make_unit
from tests.gate_support import pass_gate


def _seed(url: str) -> None:
    engine = db.make_engine(url)
    db.upgrade(engine)
    uow = UnitOfWork.for_engine(engine)
    identity.create_user(uow, "root", "admin", actor=SYSTEM, password="root-password-1")
    product = make_product(uow, key="AQM", name="Air monitor")
    make_product(uow, key="LAMP", name="Desk lamp")
    build = make_build(uow, product_id=product.id, code="PROTO-A")
    make_unit(uow, build, serial="AQM-0001")
    pass_gate(uow, "AQM", "pilot")
    engine.dispose()


def test_init_creates_the_schema_and_is_repeatable(run: Runner) -> None:
    first = run("init", "--format", "json")
    assert first.code == 0, first.err
    assert first.json()["changed"] is True
    again = run("init", "--format", "json")
    assert again.code == 0
    assert again.json()["changed"] is False
    assert again.json()["schema_now"] == db.head_revision()


def test_products_list_json(run: Runner, database_url: str) -> None:
    _seed(database_url)
    result = run("products", "list", "--format", "json")
    assert result.code == 0, result.err
    rows = {row["key"]: row for row in result.json()}
    assert set(rows) == {"AQM", "LAMP"}
    assert rows["AQM"]["phase"] == "pilot"
    assert rows["LAMP"]["phase"] == "prototype"
    only_pilot = run("products", "list", "--phase", "pilot", "--format", "json").json()
    assert [row["key"] for row in only_pilot] == ["AQM"]


def test_products_list_csv_and_table(run: Runner, database_url: str) -> None:
    _seed(database_url)
    csv = run("products", "list", "--format", "csv")
    assert csv.code == 0
    header, *lines = csv.out.strip().splitlines()
    assert header.split(",")[:3] == ["key", "name", "phase"]
    assert "open_findings_critical" in header.split(",")
    assert len(lines) == 2
    table = run("products", "list")
    assert table.code == 0
    assert "AQM" in table.out and "monitor" in table.out


def test_builds_list_filters_by_product(run: Runner, database_url: str) -> None:
    _seed(database_url)
    rows = run("builds", "list", "--product", "AQM", "--format", "json").json()
    assert [(r["code"], r["product"], r["phase"]) for r in rows] == [
        ("PROTO-A", "AQM", "prototype")
    ]
    assert run("builds", "list", "--product", "LAMP", "--format", "json").json() == []


def test_units_show(run: Runner, database_url: str) -> None:
    _seed(database_url)
    result = run("units", "show", "AQM-0001", "--format", "json")
    assert result.code == 0, result.err
    assert "AQM-0001" in result.out
    table = run("units", "show", "AQM-0001")
    assert table.code == 0 and "AQM-0001" in table.out


def test_unknown_records_fail_with_one_line(run: Runner, database_url: str) -> None:
    _seed(database_url)
    missing = run("units", "show", "NOPE-1")
    assert missing.code == 1
    assert len(missing.err.strip().splitlines()) == 1
    assert "NOPE-1" in missing.err
    product = run("builds", "list", "--product", "GHOST")
    assert product.code == 1
    assert product.err.strip() == "Error: product 'GHOST' does not exist"


def test_bad_database_url_is_a_configuration_failure(run: Runner, tmp_path: Path) -> None:
    """A misconfigured database is the operator's problem, not bad input: exit 1, one line."""
    bad = run("products", "list", url="mysql://nobody@nowhere/db")
    assert bad.code == 1
    assert bad.err.count("\n") == 1
    assert "backend 'mysql' is not supported" in bad.err
    garbage = run("products", "list", url="not a url")
    assert garbage.code == 1 and "cannot parse" in garbage.err
    missing_dir = run("init", url=f"sqlite:///{tmp_path}/no/such/dir/x.db")
    assert missing_dir.code == 1 and "does not exist" in missing_dir.err
    assert "Traceback" not in bad.err + garbage.err + missing_dir.err


def test_uninitialised_database_asks_for_init(run: Runner) -> None:
    result = run("products", "list")
    assert result.code == 1
    assert "run `phasegate init`" in result.err


def test_unreachable_postgres_is_one_line(run: Runner) -> None:
    result = run("products", "list", url="postgresql://postgres@127.0.0.1:1/none")
    assert result.code == 1
    assert result.err.startswith("Error: cannot open database")
    assert result.err.count("\n") == 1


def test_usage_errors_exit_2(run: Runner) -> None:
    result = run("products", "list", "--format", "xml")
    assert result.code == 2
    assert "xml" in result.err


def test_products_and_builds_lists_show_specs_met_and_the_schedule(
    run: Runner, database_url: str
) -> None:
    """Dates relative to today: the CLI's clock is the real one."""
    _seed(database_url)
    today = dt.datetime.now(dt.UTC).date()
    engine = db.make_engine(database_url)
    uow = UnitOfWork.for_engine(engine)
    lamp = crud.update(
        uow,
        products.PRODUCTS,
        products.resolve_product(uow, "LAMP", actor=SYSTEM).id,
        {"target_launch_date": today - dt.timedelta(days=3)},
        actor=SYSTEM,
    )
    make_build(
        uow,
        product_id=lamp.id,
        code="LAMP-1",
        status="in_progress",
        start_date=today - dt.timedelta(days=20),
        end_date=today - dt.timedelta(days=2),
    )
    engine.dispose()

    rows = {row["key"]: row for row in run("products", "list", "--format", "json").json()}
    assert rows["LAMP"]["schedule"] == {
        "late": True,
        "target_launch_date": (today - dt.timedelta(days=3)).isoformat(),
        "days_late": 3,
    }
    assert [b["code"] for b in rows["LAMP"]["late_builds"]] == ["LAMP-1"]
    assert rows["LAMP"]["latest_specs"]["label"] == "no characteristics measured on LAMP-1"
    assert rows["AQM"]["schedule"]["late"] is False and rows["AQM"]["late_builds"] == []
    csv = run("products", "list", "--format", "csv").out.splitlines()
    assert {"specs_measured", "launch_days_late", "late_builds"} <= set(csv[0].split(","))
    builds = {b["code"]: b for b in run("builds", "list", "--format", "json").json()}
    assert (builds["LAMP-1"]["days_past_end"], builds["PROTO-A"]["days_past_end"]) == (2, 0)
    assert "2 d late" in run("builds", "list").out
