"""Versions, case-insensitive keys and one passing decision per gate, in the schema itself.

The migration that brings them upgrades a database that already holds data, and refuses (before
changing anything) a database whose rows already break the new rules. On SQLite the drift test
cannot compare indexes on expressions, so the indexes are checked here by what they refuse.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, inspect, select
from sqlalchemy.exc import IntegrityError

from phasegate.domain.errors import ConfigurationError
from phasegate.store import db
from phasegate.store.models import Base

BEFORE = "0001_core"
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def _insert(conn: Connection, table: str, **values: Any) -> int:
    """Insert one row into ``table``; its id. The columns given (and those with a default in
    Python) exist before the migration too: the version has only its default in the database."""
    result = conn.execute(Base.metadata.tables[table].insert().values(**values))
    return int(result.inserted_primary_key[0])


def _product(conn: Connection, key: str) -> int:
    return _insert(conn, "products", key=key, name=key, description="", phase="prototype")


def _build(conn: Connection, product_id: int) -> int:
    revision_id = _insert(
        conn, "revisions", product_id=product_id, code="A", description="", status="draft"
    )
    return _insert(
        conn,
        "builds",
        product_id=product_id,
        revision_id=revision_id,
        code="EVT",
        phase="prototype",
        status="planned",
        planned_quantity=2,
        purpose="",
    )


def _unit(conn: Connection, product_id: int, build_id: int, serial: str) -> int:
    return _insert(
        conn,
        "units",
        product_id=product_id,
        build_id=build_id,
        serial=serial,
        status="in_process",
        allocation="unallocated",
    )


def _decision(conn: Connection, product_id: int, outcome: str, to_phase: str = "pilot") -> int:
    return _insert(
        conn,
        "gate_decisions",
        product_id=product_id,
        from_phase="prototype",
        to_phase=to_phase,
        outcome=outcome,
        decided_at=NOW,
        decided_by="PM",
        rationale="",
    )


def _columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def test_upgrade_keeps_the_rows_and_starts_them_at_version_1(empty_engine: Engine) -> None:
    db.upgrade(empty_engine, BEFORE)
    with empty_engine.begin() as conn:
        product = _product(conn, "OLD-1")
        build = _build(conn, product)
        unit = _unit(conn, product, build, "sn-1")
        _unit(conn, product, build, "sn-2")
        _decision(conn, product, "no_go")
        _decision(conn, product, "no_go")  # several no-gos at one gate are fine
        _decision(conn, product, "go")
        _insert(conn, "defect_codes", code="D-1", description="scratch", category="")
    db.upgrade(empty_engine)
    assert db.is_up_to_date(empty_engine)
    units, codes = Base.metadata.tables["units"], Base.metadata.tables["defect_codes"]
    with empty_engine.connect() as conn:
        rows = conn.execute(select(units.c.id, units.c.serial, units.c.version)).all()
        assert sorted(tuple(r) for r in rows) == [(unit, "sn-1", 1), (unit + 1, "sn-2", 1)]
        assert conn.execute(select(codes.c.version)).scalar_one() == 1


def test_upgrade_stops_on_keys_that_differ_only_in_case(empty_engine: Engine) -> None:
    db.upgrade(empty_engine, BEFORE)
    with empty_engine.begin() as conn:
        first, second = _product(conn, "case-x"), _product(conn, "CASE-X")
        build = _build(conn, first)
        _unit(conn, first, build, "ab-1")
        _unit(conn, first, build, "AB-1")
        _unit(conn, second, _build(conn, second), "ab-1")  # another product: no collision
    with pytest.raises(ConfigurationError) as caught:
        db.upgrade(empty_engine)
    message = str(caught.value)
    assert f"products {first} 'case-x' and {second} 'CASE-X' have the same key" in message
    assert "'ab-1' and" in message and "'AB-1' have the same serial" in message
    assert message.count("have the same serial") == 1
    # Nothing changed: the schema is still the one before, every row is still there.
    assert db.current_revision(empty_engine) == BEFORE
    assert "version" not in _columns(empty_engine, "products")
    products = Base.metadata.tables["products"]
    with empty_engine.connect() as conn:
        assert sorted(conn.execute(select(products.c.key)).scalars()) == ["CASE-X", "case-x"]


def test_upgrade_stops_on_a_gate_passed_twice(empty_engine: Engine) -> None:
    db.upgrade(empty_engine, BEFORE)
    with empty_engine.begin() as conn:
        product = _product(conn, "TWICE")
        _decision(conn, product, "go")
        _decision(conn, product, "conditional")
    with pytest.raises(ConfigurationError, match=rf"product {product} has 2 go or conditional"):
        db.upgrade(empty_engine)
    assert db.current_revision(empty_engine) == BEFORE


@pytest.mark.parametrize(
    ("table", "first", "second"),
    [
        ("products", {"key": "case-x"}, {"key": "CASE-X"}),
        ("units", {"serial": "sn-9"}, {"serial": "SN-9"}),
        ("defect_codes", {"code": "d-1"}, {"code": "D-1"}),
    ],
)
def test_keys_are_unique_whatever_their_case(
    engine: Engine, table: str, first: dict[str, str], second: dict[str, str]
) -> None:
    with engine.begin() as conn:
        product = _product(conn, "OWNER")
        build = _build(conn, product)
    rows = {
        "products": lambda c, v: _product(c, v["key"]),
        "units": lambda c, v: _unit(c, product, build, v["serial"]),
        "defect_codes": lambda c, v: _insert(c, "defect_codes", description="", category="", **v),
    }[table]
    with engine.begin() as conn:
        rows(conn, first)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        rows(conn, second)


def test_a_gate_is_passed_once_but_may_be_refused_often(engine: Engine) -> None:
    with engine.begin() as conn:
        product = _product(conn, "GATE")
        _decision(conn, product, "no_go")
        _decision(conn, product, "no_go")
        _decision(conn, product, "go")
        _decision(conn, product, "go", to_phase="production")  # another gate
    for outcome in ("go", "conditional"):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            _decision(conn, product, outcome)


def test_every_record_callers_change_has_a_version(engine: Engine) -> None:
    for table in (
        "products",
        "revisions",
        "requirements",
        "characteristics",
        "partners",
        "lines",
        "stations",
        "builds",
        "units",
        "findings",
        "feedback",
        "defect_codes",
    ):
        assert "version" in _columns(engine, table), table
