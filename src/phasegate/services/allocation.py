"""Where a build's units go: testing, marketing samples, regulatory approval, engineering,
customers — or nowhere yet (``unallocated``).

- :func:`allocation_counts`: the build's units counted per purpose (every purpose, zeros too).
- :func:`allocate_units`: give a set of the build's units a purpose, named by serial (each
  with the version it was read at, if the caller wants the change to apply only to that
  version) or as "N unallocated units", taken in serial order.

A change is one transaction: every unit is read under the write lock (``UnitOfWork.write``,
``SELECT ... FOR UPDATE`` on PostgreSQL), checked, changed and audited, or none is. Each unit
changed gets one more version (its ``ETag`` changes), as a change through ``crud.update`` does;
a unit whose version is not the one given is ``PreconditionFailed`` and nothing changes. A unit
already at the purpose is left as it is (no new version, no audit event).

Who may: reading the counts needs ``read`` on units, changing them ``update`` on units. A
partner user works only inside its partner's builds; another build is ``NotFound``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from phasegate.domain.enums import Allocation, AuditAction
from phasegate.domain.errors import Conflict, FieldError, InvalidInput, PreconditionFailed, invalid
from phasegate.domain.policy import Action, Kind, Principal
from phasegate.services import audit
from phasegate.services.access import authorize
from phasegate.services.paging import parse_enum
from phasegate.services.read.defects import BuildRef, build_ref
from phasegate.services.read.rows import Tally
from phasegate.store.models import Unit
from phasegate.store.uow import UnitOfWork

__all__ = [
    "MAX_UNITS_PER_CHANGE",
    "AllocatedUnit",
    "AllocationChange",
    "AllocationCounts",
    "allocate_units",
    "allocation_counts",
]

MAX_UNITS_PER_CHANGE = 1000
"""Units one change may name or take: more is a mistake more likely than a plan."""
# How often "N unallocated units" looks again when another change took some of those it found.
_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class AllocationCounts:
    """A build's units per purpose, every purpose in the enum's order."""

    build: BuildRef
    counts: Tally[Allocation]

    @property
    def units(self) -> int:
        return self.counts.total

    @property
    def unallocated(self) -> int:
        return self.counts.count(Allocation.UNALLOCATED)


@dataclass(frozen=True, slots=True)
class AllocatedUnit:
    """One unit a change gave a purpose: what it had, what it has, and its new version."""

    id: int
    serial: str
    before: Allocation
    after: Allocation
    version: int


@dataclass(frozen=True, slots=True)
class AllocationChange:
    """What a change did: the units it changed, those already at the purpose, the counts after."""

    purpose: Allocation
    changed: tuple[AllocatedUnit, ...]
    unchanged: tuple[str, ...]  # serials already at the purpose
    counts: AllocationCounts


def _counts(uow: UnitOfWork, build: BuildRef) -> AllocationCounts:
    found = dict(
        uow.session.execute(
            select(Unit.allocation, func.count())
            .where(Unit.build_id == build.id)
            .group_by(Unit.allocation)
        ).all()
    )
    return AllocationCounts(build, Tally.of(Allocation, found))


def allocation_counts(uow: UnitOfWork, build_id: int, *, actor: Principal) -> AllocationCounts:
    """The build's units counted per purpose."""
    authorize(actor, Action.READ, Kind.UNIT)
    with uow:
        return _counts(uow, build_ref(uow, build_id, actor=actor))


def _requested(
    serials: Sequence[str] | None, count: int | None, purpose: Allocation
) -> list[str] | int:
    """The serials named (once each, in the order given) or the number of units asked for."""
    if (serials is None) == (count is None):
        raise InvalidInput(
            "name the units (`serials`) or give a number of unallocated units (`count`): "
            "one of the two",
            [FieldError("serials", "give serials or count"), FieldError("count", "or this")],
        )
    if count is not None:
        if isinstance(count, bool) or not 1 <= count <= MAX_UNITS_PER_CHANGE:
            raise invalid("count", f"{count!r} is outside 1..{MAX_UNITS_PER_CHANGE}")
        if purpose is Allocation.UNALLOCATED:
            raise invalid("purpose", "unallocated units are unallocated already: name a purpose")
        return count
    assert serials is not None
    wanted = list(dict.fromkeys(s.strip() for s in serials if s and s.strip()))
    if not wanted:
        raise invalid("serials", "name at least one unit")
    if len(wanted) > MAX_UNITS_PER_CHANGE:
        raise invalid("serials", f"{len(wanted)} units; at most {MAX_UNITS_PER_CHANGE} at once")
    return wanted


def _named_units(uow: UnitOfWork, build: BuildRef, serials: list[str]) -> list[Unit]:
    """The build's units with these serials (whatever their case), locked, in the order named."""
    lowered = {s.lower(): s for s in serials}
    found = {
        u.serial.lower(): u
        for u in uow.session.scalars(
            select(Unit)
            .where(Unit.build_id == build.id, func.lower(Unit.serial).in_(list(lowered)))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    missing = [original for low, original in lowered.items() if low not in found]
    if missing:
        shown = ", ".join(repr(s) for s in missing[:10]) + (" …" if len(missing) > 10 else "")
        raise invalid("serials", f"not units of build {build.code}: {shown}")
    return [found[low] for low in lowered]


def _unallocated_units(uow: UnitOfWork, build: BuildRef, count: int) -> list[Unit]:
    """``count`` unallocated units of the build, the first by serial, locked.

    On PostgreSQL a unit another change took while this one waited for its lock drops out of
    the locked rows; the query then runs again (a new snapshot) until it has enough or there
    are not enough left.
    """
    for _ in range(_ATTEMPTS):
        units = list(
            uow.session.scalars(
                select(Unit)
                .where(Unit.build_id == build.id, Unit.allocation == Allocation.UNALLOCATED)
                .order_by(Unit.serial, Unit.id)
                .limit(count)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        )
        if len(units) == count:
            return units
        left = uow.session.scalar(
            select(func.count()).where(
                Unit.build_id == build.id, Unit.allocation == Allocation.UNALLOCATED
            )
        )
        if (left or 0) < count:
            raise invalid(
                "count", f"build {build.code} has {left or 0} unallocated units, not {count}"
            )
    raise Conflict("other changes keep taking these units; try again")


def _check_versions(units: Sequence[Unit], versions: Mapping[str, int]) -> None:
    by_serial = {k.strip().lower(): v for k, v in versions.items()}
    stale = [
        u
        for u in units
        if u.serial.lower() in by_serial and by_serial[u.serial.lower()] != u.version
    ]
    if stale:
        raise PreconditionFailed(
            "changed meanwhile: "
            + ", ".join(f"unit {u.serial} is at version {u.version}" for u in stale)
            + "; read them again",
            [
                FieldError(f"versions.{u.serial}", f"the unit is at version {u.version}")
                for u in stale
            ],
        )


def allocate_units(
    uow: UnitOfWork,
    build_id: int,
    purpose: Allocation | str,
    *,
    actor: Principal,
    serials: Sequence[str] | None = None,
    count: int | None = None,
    versions: Mapping[str, int] | None = None,
) -> AllocationChange:
    """Give units of the build ``purpose``: those named by ``serials``, or ``count`` unallocated.

    ``versions`` maps serials to the version each was read at; a unit at another version is
    ``PreconditionFailed`` and nothing changes. Every unit changed is audited (``update`` of
    the unit, its allocation before and after) under ``actor``.
    """
    authorize(actor, Action.UPDATE, Kind.UNIT)
    chosen = parse_enum(Allocation, "purpose", purpose)
    wanted = _requested(serials, count, chosen)
    if versions and not isinstance(wanted, list):
        raise invalid("versions", "apply to units named by serial")
    with uow.write():
        build = build_ref(uow, build_id, actor=actor)
        if isinstance(wanted, list):
            units = _named_units(uow, build, wanted)
            _check_versions(units, versions or {})
        else:
            units = _unallocated_units(uow, build, wanted)
        changed: list[tuple[Unit, Allocation]] = []
        unchanged: list[str] = []
        for unit in units:
            if unit.allocation is chosen:
                unchanged.append(unit.serial)
                continue
            before = audit.snapshot(unit)
            previous = unit.allocation
            unit.allocation = chosen
            uow.session.flush()  # raises the version; a stale one is Conflict
            audit.record(
                uow,
                actor=actor.name,
                action=AuditAction.UPDATE,
                obj=unit,
                before=before,
                after=audit.snapshot(unit),
                summary=f"allocated unit {unit.serial} to {chosen.label.lower()} "
                f"(was {previous.label.lower()})",
            )
            changed.append((unit, previous))
        counts = _counts(uow, build)
        uow.commit()
    return AllocationChange(
        purpose=chosen,
        changed=tuple(
            AllocatedUnit(u.id, u.serial, previous, u.allocation, u.version)
            for u, previous in changed
        ),
        unchanged=tuple(unchanged),
        counts=counts,
    )
