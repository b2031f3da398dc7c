"""Writes that hold under concurrency, on SQLite and PostgreSQL.

Each thread has its own unit of work (its own session and connection), as each request of a
server has. A barrier starts them together, so their transactions overlap.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Engine, select

from phasegate.domain.enums import AuditAction, GateOutcome, Phase
from phasegate.domain.errors import Conflict, PhasegateError, PreconditionFailed
from phasegate.gates import GateEvaluation
from phasegate.services import crud, phases, products
from phasegate.services.gates import decisions as gate_decisions
from phasegate.store.models import AuditEvent
from phasegate.store.uow import UnitOfWork
from tests.factories import ACTOR, make_product, person

T = TypeVar("T")


def _all_at_once(engine: Engine, n: int, work: Callable[[UnitOfWork, int], T]) -> list[Any]:
    """What ``work(uow, i)`` returned or raised in each of ``n`` threads started together."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        uow = UnitOfWork.for_engine(engine)
        barrier.wait()
        try:
            return work(uow, i)
        except PhasegateError as error:
            return error

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def _events(uow: UnitOfWork, entity_id: int) -> list[AuditEvent]:
    with uow:
        stmt = select(AuditEvent).where(
            AuditEvent.entity_type == "products", AuditEvent.entity_id == entity_id
        )
        return list(uow.session.scalars(stmt.order_by(AuditEvent.id)))


def test_concurrent_go_decisions_store_one(engine: Engine, uow: UnitOfWork) -> None:
    product = make_product(uow, key="RACE")
    evaluation = GateEvaluation("RACE", Phase.PROTOTYPE, Phase.PILOT, "p", "1", GateOutcome.GO, ())
    review = gate_decisions.open_decision(uow, "RACE", "pilot", evaluation=evaluation, actor=ACTOR)
    for role in gate_decisions.REQUIRED_ROLES:
        gate_decisions.sign(uow, review.id, approve=True, actor=person(role.value, role))

    def go(uow: UnitOfWork, i: int) -> gate_decisions.ReviewView:
        actor = person(f"lead {i}")
        return gate_decisions.decide(uow, review.id, outcome="go", rationale="", actor=actor)

    results = _all_at_once(engine, 8, go)
    won = [r for r in results if isinstance(r, gate_decisions.ReviewView)]
    lost = [r for r in results if not isinstance(r, gate_decisions.ReviewView)]
    assert len(won) == 1
    assert all(isinstance(r, Conflict) and "already decided" in str(r) for r in lost), lost
    assert [d.outcome for d in phases.gate_history(uow, "RACE", actor=ACTOR)] == [GateOutcome.GO]
    assert products.resolve_product(uow, "RACE", actor=ACTOR).phase is Phase.PILOT
    decisions = [e for e in _events(uow, product.id) if e.action is AuditAction.DECISION]
    assert len(decisions) == 1


def test_concurrent_updates_chain_their_audit_events(engine: Engine, uow: UnitOfWork) -> None:
    product = make_product(uow, key="CHAIN")

    def rename(uow: UnitOfWork, i: int) -> None:
        for n in range(5):
            data = {"name": f"writer {i} change {n}"}
            crud.update(uow, products.PRODUCTS, product.id, data, actor=person(f"w{i}"))

    assert not any(_all_at_once(engine, 4, rename))
    events = _events(uow, product.id)
    updates = [e for e in events if e.action is AuditAction.UPDATE]
    assert len(updates) == 20
    for previous, event in itertools.pairwise(events):
        assert event.before == {"name": previous.after["name"]}  # type: ignore[index]
    final = crud.get(uow, products.PRODUCTS, product.id, actor=ACTOR)
    assert updates[-1].after == {"name": final.name}
    assert final.version == 21


def test_read_then_write_with_the_version_read_loses_no_change(
    engine: Engine, uow: UnitOfWork
) -> None:
    product = make_product(uow, key="COUNT", target_annual_volume=1000)

    def add_one(uow: UnitOfWork, i: int) -> int:
        retries = 0
        for _ in range(5):
            while True:
                seen = crud.get(uow, products.PRODUCTS, product.id, actor=ACTOR)
                data = {"target_annual_volume": seen.target_annual_volume + 1}
                try:
                    crud.update(
                        uow,
                        products.PRODUCTS,
                        product.id,
                        data,
                        actor=person(f"w{i}"),
                        expected_version=seen.version,
                    )
                    break
                except PreconditionFailed:
                    retries += 1
        return retries

    _all_at_once(engine, 4, add_one)
    assert crud.get(uow, products.PRODUCTS, product.id, actor=ACTOR).target_annual_volume == 1020


def test_one_of_many_changes_against_the_same_version_wins(engine: Engine, uow: UnitOfWork) -> None:
    product = make_product(uow, key="ONCE")

    def rename(uow: UnitOfWork, i: int) -> Any:
        data = {"name": f"writer {i}"}
        return crud.update(
            uow, products.PRODUCTS, product.id, data, actor=person("w"), expected_version=1
        )

    results = _all_at_once(engine, 8, rename)
    assert sum(not isinstance(r, PhasegateError) for r in results) == 1
    assert sum(isinstance(r, PreconditionFailed) for r in results) == 7
    assert crud.get(uow, products.PRODUCTS, product.id, actor=ACTOR).version == 2
