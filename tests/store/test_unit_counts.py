"""The maintained unit and defect counts per build (migration ``0011_unit_counts``), on SQLite
and PostgreSQL: whatever units and defects are inserted, changed or deleted, and however (one
row or many in a statement, a cascade from a deleted build), the counts equal a recount."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from phasegate.domain.enums import Allocation, Severity, UnitStatus
from phasegate.store import db
from phasegate.store.models import (
    BuildDefectCount,
    BuildUnitCount,
    Defect,
    DefectCode,
    Unit,
)
from phasegate.store.uow import UnitOfWork
from tests.factories import make_build, make_product, make_unit

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
_serials = itertools.count(1)

statuses = st.sampled_from(list(UnitStatus))
allocations = st.sampled_from(list(Allocation))
picks = st.integers(min_value=0, max_value=10_000)  # an index into what exists, modulo its size
builds = st.integers(min_value=0, max_value=2)
operations = st.one_of(
    st.tuples(st.just("add_unit"), builds, statuses, allocations),
    st.tuples(st.just("change_unit"), picks, builds, statuses, allocations),
    st.tuples(st.just("delete_unit"), picks),
    st.tuples(st.just("delete_status"), builds, statuses),  # many rows in one statement
    st.tuples(st.just("add_defect"), picks),
    st.tuples(st.just("move_defect"), picks, picks),
    st.tuples(st.just("delete_defect"), picks),
)


def unit_counts(conn: Connection) -> Counter[tuple[int, str, str]]:
    return Counter(
        {
            (b, s.value, a.value): n
            for b, s, a, n in conn.execute(
                select(
                    BuildUnitCount.build_id,
                    BuildUnitCount.status,
                    BuildUnitCount.allocation,
                    BuildUnitCount.n,
                )
            )
            if n
        }
    )


def unit_recount(conn: Connection) -> Counter[tuple[int, str, str]]:
    stmt = select(Unit.build_id, Unit.status, Unit.allocation, func.count()).group_by(
        Unit.build_id, Unit.status, Unit.allocation
    )
    return Counter({(b, s.value, a.value): n for b, s, a, n in conn.execute(stmt)})


def defect_counts(conn: Connection) -> dict[int, int]:
    rows = conn.execute(select(BuildDefectCount.build_id, BuildDefectCount.n))
    return {b: n for b, n in rows if n}


def defect_recount(conn: Connection) -> dict[int, int]:
    stmt = (
        select(Unit.build_id, func.count())
        .select_from(Defect)
        .join(Unit, Unit.id == Defect.unit_id)
        .group_by(Unit.build_id)
    )
    return dict(conn.execute(stmt).all())


class World:
    """Three builds of one product and a defect code, changed by raw SQL statements."""

    def __init__(self, uow: UnitOfWork, engine: Engine) -> None:
        product = make_product(uow)
        self.product_id = product.id
        self.build_ids = [make_build(uow, product_id=product.id).id for _ in range(3)]
        self.engine = engine
        with engine.begin() as conn:
            self.code_id = conn.execute(
                insert(DefectCode)
                .values(code=f"DC{next(_serials)}", description="scratch")
                .returning(DefectCode.id)
            ).scalar_one()

    def _ids(self, conn: Connection, model: Any) -> list[int]:
        return list(conn.scalars(select(model.id).order_by(model.id)))

    def apply(self, conn: Connection, op: tuple[Any, ...]) -> None:
        units = self._ids(conn, Unit)
        defects = self._ids(conn, Defect)
        match op:
            case ("add_unit", b, status, allocation):
                conn.execute(
                    insert(Unit).values(
                        product_id=self.product_id,
                        build_id=self.build_ids[b],
                        serial=f"U{next(_serials)}",
                        status=status,
                        allocation=allocation,
                    )
                )
            case ("change_unit", k, b, status, allocation) if units:
                conn.execute(
                    update(Unit)
                    .where(Unit.id == units[k % len(units)])
                    .values(build_id=self.build_ids[b], status=status, allocation=allocation)
                )
            case ("delete_unit", k) if units:
                conn.execute(delete(Unit).where(Unit.id == units[k % len(units)]))
            case ("delete_status", b, status):
                conn.execute(
                    delete(Unit).where(Unit.build_id == self.build_ids[b], Unit.status == status)
                )
            case ("add_defect", k) if units:
                conn.execute(
                    insert(Defect).values(
                        unit_id=units[k % len(units)],
                        defect_code_id=self.code_id,
                        severity=Severity.MINOR,
                        found_at=T0,
                        source_id=f"d{next(_serials)}",
                    )
                )
            case ("move_defect", k, j) if units and defects:
                conn.execute(
                    update(Defect)
                    .where(Defect.id == defects[k % len(defects)])
                    .values(unit_id=units[j % len(units)])
                )
            case ("delete_defect", k) if defects:
                conn.execute(delete(Defect).where(Defect.id == defects[k % len(defects)]))
            case _:
                pass  # nothing to change yet


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=st.lists(operations, min_size=1, max_size=25))
def test_counts_equal_a_recount_after_any_changes(
    uow: UnitOfWork, engine: Engine, ops: list[tuple[Any, ...]]
) -> None:
    world = World(uow, engine)
    with engine.begin() as conn:
        for op in ops:
            world.apply(conn, op)
    with engine.connect() as conn:
        assert unit_counts(conn) == unit_recount(conn)
        assert defect_counts(conn) == defect_recount(conn)


def test_a_deleted_build_takes_its_counts_and_the_service_writes_keep_them(
    uow: UnitOfWork, engine: Engine
) -> None:
    build = make_build(uow)
    other = make_build(uow, product_id=build.product_id)
    make_unit(uow, build, status="shipped")
    make_unit(uow, build, status="shipped")
    make_unit(uow, other, status="scrapped", allocation="testing")
    with engine.connect() as conn:
        assert unit_counts(conn) == Counter(
            {(build.id, "shipped", "unallocated"): 2, (other.id, "scrapped", "testing"): 1}
        )
    with engine.begin() as conn:
        conn.execute(delete(type(build)).where(type(build).id == build.id))
    with engine.connect() as conn:
        assert unit_counts(conn) == Counter({(other.id, "scrapped", "testing"): 1})
        assert conn.scalar(select(func.count()).select_from(BuildUnitCount)) == 1


def test_the_migration_counts_what_is_there_and_steps_back(uow: UnitOfWork, engine: Engine) -> None:
    """Rows written before the migration are counted when it runs; its downgrade drops the
    counts and the triggers, so units can be written without them."""
    build = make_build(uow)
    db.downgrade(engine, "0006_characteristic_passed")
    with engine.begin() as conn:
        for status in ("passed", "passed", "failed"):
            conn.execute(
                insert(Unit).values(
                    product_id=build.product_id,
                    build_id=build.id,
                    serial=f"M{next(_serials)}",
                    status=status,
                    allocation="testing",
                )
            )
    db.upgrade(engine, "0011_unit_counts")
    with engine.connect() as conn:
        assert unit_counts(conn) == Counter(
            {(build.id, "passed", "testing"): 2, (build.id, "failed", "testing"): 1}
        )
        assert unit_counts(conn) == unit_recount(conn)
