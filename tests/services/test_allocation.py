"""Allocating a build's units to purposes, on SQLite and PostgreSQL: counts, changes by serial
and by count, versions, permissions, the audit trail and concurrent changes."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, select

from phasegate.domain.enums import Allocation, AuditAction
from phasegate.domain.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    PhasegateError,
    PreconditionFailed,
)
from phasegate.domain.policy import Principal, Role
from phasegate.services.allocation import allocate_units, allocation_counts
from phasegate.store.models import AuditEvent, Build, Unit
from phasegate.store.uow import UnitOfWork
from tests.factories import ACTOR, make_build, make_partner, make_unit, person


def _build(uow: UnitOfWork, n: int = 6, **overrides: Any) -> Build:
    """A build of ``n`` units ALC-01 … (unallocated), ALC-01 and ALC-02 already for testing."""
    build = make_build(uow, **overrides)
    for i in range(1, n + 1):
        make_unit(
            uow,
            build,
            serial=f"ALC-{build.id}-{i:02d}",
            allocation="testing" if i <= 2 else "unallocated",
        )
    return build


def _units(uow: UnitOfWork, build: Build) -> dict[str, tuple[Allocation, int]]:
    with uow:
        found = uow.session.scalars(select(Unit).where(Unit.build_id == build.id))
        return {u.serial.rsplit("-", 1)[1]: (u.allocation, u.version) for u in found}


def _audit(uow: UnitOfWork, unit_ids: list[int]) -> list[AuditEvent]:
    with uow:
        stmt = select(AuditEvent).where(
            AuditEvent.entity_type == "units",
            AuditEvent.entity_id.in_(unit_ids),
            AuditEvent.action == AuditAction.UPDATE,
        )
        return list(uow.session.scalars(stmt.order_by(AuditEvent.id)))


def test_counts_cover_every_purpose(uow: UnitOfWork) -> None:
    build = _build(uow)
    counts = allocation_counts(uow, build.id, actor=ACTOR)
    assert [(c.value.value, c.count) for c in counts.counts] == [
        ("unallocated", 4),
        ("testing", 2),
        ("marketing", 0),
        ("regulatory", 0),
        ("engineering", 0),
        ("customer", 0),
    ]
    assert (counts.units, counts.unallocated) == (6, 4)


def test_allocate_by_serial_versions_and_audits(uow: UnitOfWork) -> None:
    build = _build(uow)
    s = f"ALC-{build.id}"
    change = allocate_units(
        uow,
        build.id,
        "marketing",
        actor=person("pm", Role.ENGINEER),
        serials=[f"{s}-01", f"{s}-03".lower(), f"{s}-03"],  # any case, once each
    )
    assert [(u.serial, u.before, u.after, u.version) for u in change.changed] == [
        (f"{s}-01", Allocation.TESTING, Allocation.MARKETING, 2),
        (f"{s}-03", Allocation.UNALLOCATED, Allocation.MARKETING, 2),
    ]
    assert change.counts.counts.count(Allocation.MARKETING) == 2
    assert change.counts.counts.count(Allocation.TESTING) == 1
    units = _units(uow, build)
    assert units["01"] == (Allocation.MARKETING, 2) and units["02"] == (Allocation.TESTING, 1)
    events = _audit(uow, [u.id for u in change.changed])
    assert [(e.actor, e.before, e.after) for e in events] == [
        ("pm", {"allocation": "testing"}, {"allocation": "marketing"}),
        ("pm", {"allocation": "unallocated"}, {"allocation": "marketing"}),
    ]
    # A unit already at the purpose is left as it is: no new version, no audit event.
    again = allocate_units(uow, build.id, "marketing", actor=ACTOR, serials=[f"{s}-01"])
    assert again.changed == () and again.unchanged == (f"{s}-01",)
    assert _units(uow, build)["01"] == (Allocation.MARKETING, 2)


def test_allocate_a_count_of_unallocated_units(uow: UnitOfWork) -> None:
    build = _build(uow)
    change = allocate_units(uow, build.id, "regulatory", actor=ACTOR, count=3)
    assert [u.serial[-2:] for u in change.changed] == ["03", "04", "05"]  # by serial
    assert change.counts.unallocated == 1
    with pytest.raises(InvalidInput) as error:
        allocate_units(uow, build.id, "customer", actor=ACTOR, count=2)
    assert error.value.fields[0].loc == "count" and "1 unallocated" in error.value.message
    assert _units(uow, build)["06"] == (Allocation.UNALLOCATED, 1)  # nothing changed


def test_bad_requests_name_the_field(uow: UnitOfWork) -> None:
    build = _build(uow)
    other = _build(uow)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"purpose": "sales", "count": 1}, "purpose"),
        ({"purpose": "testing"}, "serials"),
        ({"purpose": "testing", "count": 1, "serials": ["x"]}, "serials"),
        ({"purpose": "testing", "count": 0}, "count"),
        ({"purpose": "unallocated", "count": 1}, "purpose"),
        ({"purpose": "testing", "serials": [" "]}, "serials"),
        ({"purpose": "testing", "serials": [f"ALC-{other.id}-03"]}, "serials"),
        ({"purpose": "testing", "count": 1, "versions": {"x": 1}}, "versions"),
    ]
    for kwargs, field in cases:
        purpose = kwargs.pop("purpose")
        with pytest.raises(InvalidInput) as error:
            allocate_units(uow, build.id, purpose, actor=ACTOR, **kwargs)
        assert error.value.fields[0].loc == field, kwargs
    assert all(v == 1 for _, v in _units(uow, build).values())


def test_a_stale_version_changes_nothing(uow: UnitOfWork) -> None:
    build = _build(uow)
    s = f"ALC-{build.id}"
    allocate_units(uow, build.id, "engineering", actor=ACTOR, serials=[f"{s}-04"])
    with pytest.raises(PreconditionFailed) as error:
        allocate_units(
            uow,
            build.id,
            "customer",
            actor=ACTOR,
            serials=[f"{s}-03", f"{s}-04"],
            versions={f"{s}-03": 1, f"{s}-04": 1},
        )
    assert error.value.fields[0].loc == f"versions.{s}-04"
    assert _units(uow, build)["03"] == (Allocation.UNALLOCATED, 1)
    done = allocate_units(
        uow, build.id, "customer", actor=ACTOR, serials=[f"{s}-04"], versions={f"{s}-04": 2}
    )
    assert done.changed[0].version == 3


def test_who_may_change(uow: UnitOfWork) -> None:
    partner, stranger = make_partner(uow), make_partner(uow)
    build = _build(uow, partner_id=partner.id)
    serial = f"ALC-{build.id}-05"
    for role in (Role.VIEWER, Role.PRODUCT):
        with pytest.raises(Forbidden):
            allocate_units(uow, build.id, "testing", actor=person("x", role), serials=[serial])
    assert allocation_counts(uow, build.id, actor=person("v", Role.VIEWER)).units == 6
    outsider = Principal(name="cm2", role=Role.PARTNER, partner_id=stranger.id)
    with pytest.raises(NotFound):
        allocate_units(uow, build.id, "testing", actor=outsider, serials=[serial])
    with pytest.raises(NotFound):
        allocation_counts(uow, build.id, actor=outsider)
    insider = Principal(name="cm1", role=Role.PARTNER, partner_id=partner.id)
    change = allocate_units(uow, build.id, "testing", actor=insider, serials=[serial])
    assert change.changed[0].after is Allocation.TESTING
    assert _units(uow, build)["05"] == (Allocation.TESTING, 2)


def _all_at_once(engine: Engine, n: int, work: Callable[[UnitOfWork, int], Any]) -> list[Any]:
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


PURPOSES = ["testing", "marketing", "regulatory", "engineering", "customer"]


def test_concurrent_changes_of_one_unit_at_one_version(engine: Engine, uow: UnitOfWork) -> None:
    build = _build(uow)
    serial = f"ALC-{build.id}-03"

    def change(uow: UnitOfWork, i: int) -> Any:
        return allocate_units(
            uow,
            build.id,
            PURPOSES[i],
            actor=person(f"w{i}"),
            serials=[serial],
            versions={serial: 1},
        )

    results = _all_at_once(engine, 4, change)
    won = [r for r in results if not isinstance(r, PhasegateError)]
    lost = [r for r in results if isinstance(r, PhasegateError)]
    assert len(won) == 1 and all(isinstance(r, PreconditionFailed) for r in lost), results
    assert _units(uow, build)["03"] == (won[0].purpose, 2)
    assert len(_audit(uow, [won[0].changed[0].id])) == 1


def test_concurrent_changes_of_one_unit_chain_their_audit(engine: Engine, uow: UnitOfWork) -> None:
    build = _build(uow)
    serial = f"ALC-{build.id}-03"

    def change(uow: UnitOfWork, i: int) -> Any:
        return allocate_units(uow, build.id, PURPOSES[i], actor=person(f"w{i}"), serials=[serial])

    results = _all_at_once(engine, 4, change)
    assert not any(isinstance(r, PhasegateError) for r in results), results
    allocation, version = _units(uow, build)["03"]
    assert version == 5  # four changes, one after the other
    events = _audit(uow, [results[0].changed[0].id])
    assert len(events) == 4
    assert events[0].before == {"allocation": "unallocated"}
    for previous, event in itertools.pairwise(events):
        assert event.before == previous.after  # each change saw the one before it
    assert events[-1].after == {"allocation": allocation.value}


def test_concurrent_counts_take_different_units(engine: Engine, uow: UnitOfWork) -> None:
    build = _build(uow, n=10)  # 8 unallocated

    def take(uow: UnitOfWork, i: int) -> Any:
        return allocate_units(uow, build.id, PURPOSES[i], actor=person(f"w{i}"), count=2)

    results = _all_at_once(engine, 4, take)
    assert not any(isinstance(r, PhasegateError) for r in results), results
    taken = [u.serial for r in results for u in r.changed]
    assert len(taken) == len(set(taken)) == 8
    assert allocation_counts(uow, build.id, actor=ACTOR).unallocated == 0
