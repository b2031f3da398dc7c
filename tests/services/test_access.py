"""The policy applied by the services, on both backends: a partner user sees only its own
builds and what hangs off them, and a record outside its scope answers as one that is not
there; internal roles see everything their role may read and change only what it may change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from phasegate.domain.enums import Outcome, Phase, UnitStatus
from phasegate.domain.errors import Forbidden, InvalidInput, NotFound
from phasegate.domain.policy import SYSTEM, Principal, Role, Scope
from phasegate.services import audit_trail, builds, crud, identity, lines, phases, products, quality
from phasegate.services.access import scoped
from phasegate.services.crud import Resource
from phasegate.services.gates import decisions as gate_decisions
from phasegate.services.read.build import build_overview, build_units
from phasegate.services.read.feedback import product_feedback
from phasegate.services.read.findings import product_findings
from phasegate.services.read.portfolio import phase_counts, portfolio
from phasegate.services.read.product import product_overview
from phasegate.services.read.rows import product_summary
from phasegate.services.read.unit import unit_history
from phasegate.services.volume import (
    BuildVolume,
    StationPassRecord,
    UnitRecord,
    record_build_volume,
)
from phasegate.store.models import Build, Finding, Line, Partner, Station, StationPass, Unit
from phasegate.store.uow import UnitOfWork
from tests.factories import (
    make_build,
    make_characteristic,
    make_finding,
    make_line,
    make_partner,
    make_product,
    make_revision,
    person,
)
from tests.gate_support import empty_evaluation, pass_gate

T0 = dt.datetime(2026, 4, 6, 8, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Side:
    """One partner's share of the world: its partner, line, stations, build, units, finding."""

    partner_id: int
    line_id: int
    station_ids: tuple[int, ...]
    build_id: int
    unit_ids: tuple[int, ...]
    serials: tuple[str, ...]
    finding_id: int
    user: Principal


@dataclass(frozen=True)
class World:
    a: Side
    b: Side
    shared_key: str
    b_only_key: str
    b_only_build_id: int


def _volume(serials: tuple[str, ...]) -> BuildVolume:
    passes = [
        StationPassRecord(
            unit=serial,
            station=station,
            started_at=T0 + dt.timedelta(minutes=i, seconds=s * 30),
            ended_at=T0 + dt.timedelta(minutes=i, seconds=s * 30 + 25),
            result=Outcome.PASS,
        )
        for i, serial in enumerate(serials)
        for s, station in enumerate(("S1", "S2"))
    ]
    units = [UnitRecord(serial=s, status=UnitStatus.PASSED, created_at=T0) for s in serials]
    return BuildVolume(units=units, station_passes=passes)


def _side(uow: UnitOfWork, letter: str, product_id: int, serials: tuple[str, ...]) -> Side:
    partner = make_partner(uow, name=f"{letter} EMS", country="DE")
    line = make_line(uow, stations=2, name=f"Line {letter}", partner_id=partner.id)
    build = make_build(
        uow,
        product_id=product_id,
        code=f"EVT-{letter}",
        phase="pilot",
        fidelity=None,
        technique=None,
        partner_id=partner.id,
        line_id=line.id,
    )
    record_build_volume(uow, build.id, _volume(serials), actor=SYSTEM)
    units = crud.list_page(uow, builds.UNITS, actor=SYSTEM, filters={"build_id": build.id})
    stations = crud.list_page(uow, builds.STATIONS, actor=SYSTEM, filters={"line_id": line.id})
    product = crud.get(uow, products.PRODUCTS, product_id, actor=SYSTEM)
    finding = make_finding(uow, product, build_id=build.id, title=f"Crack on {letter}")
    user = identity.create_user(uow, f"cm-{letter}", Role.PARTNER, actor=SYSTEM, partner=partner.id)
    return Side(
        partner_id=partner.id,
        line_id=line.id,
        station_ids=tuple(s.id for s in stations.items),
        build_id=build.id,
        unit_ids=tuple(u.id for u in units.items),
        serials=serials,
        finding_id=finding.id,
        user=identity.principal_for(user),
    )


@pytest.fixture
def world(uow: UnitOfWork) -> World:
    """Partners Alpha and Beta build the shared product; Beta alone builds a second one,
    which has passed its pilot gate."""
    shared = make_product(uow, key="SHARED", name="Shared sensor")
    make_revision(uow, shared, code="A")
    make_characteristic(uow, shared, name="gap shared")
    a = _side(uow, "Alpha", shared.id, ("SN-A1", "SN-A2"))
    b = _side(uow, "Beta", shared.id, ("SN-B1", "SN-B2", "SN-B3"))
    b_only = make_product(uow, key="BONLY", name="Beta's own sensor")
    make_revision(uow, b_only, code="X")
    make_characteristic(uow, b_only, name="gap bonly")
    b_build = make_build(uow, product_id=b_only.id, code="EVT-Beta-2", partner_id=b.partner_id)
    make_finding(uow, b_only, build_id=b_build.id, title="Crack on Beta 2")
    pass_gate(uow, "BONLY", "pilot", decided_by=SYSTEM.name)
    return World(a, b, "SHARED", "BONLY", b_build.id)


PILOT_GATE = (Phase.PROTOTYPE, Phase.PILOT)


def _ids(page: Any) -> set[int]:
    return {item.id for item in page.items}


# What partner A sees -----------------------------------------------------------------------


def test_partner_lists_show_only_its_own_records(uow: UnitOfWork, world: World) -> None:
    a, b = world.a, world.b
    actor = a.user

    def listed(resource: Resource[Any], **filters: Any) -> set[int]:
        page = crud.list_page(uow, resource, actor=actor, filters=filters or None)
        assert page.total == len(page.items)
        return _ids(page)

    assert listed(builds.BUILDS) == {a.build_id}
    assert listed(builds.UNITS) == set(a.unit_ids)
    assert listed(builds.UNITS, build_id=b.build_id) == set()
    assert listed(quality.FINDINGS) == {a.finding_id}
    assert listed(builds.PARTNERS) == {a.partner_id}
    assert listed(builds.LINES) == {a.line_id}
    assert listed(builds.STATIONS) == set(a.station_ids)
    assert listed(builds.STATIONS, line_id=b.line_id) == set()
    shared = products.resolve_product(uow, world.shared_key, actor=SYSTEM)
    assert listed(products.PRODUCTS) == {shared.id}
    revisions = crud.list_page(uow, products.REVISIONS, actor=actor).items
    assert {r.product_id for r in revisions} == {shared.id}
    characteristics = crud.list_page(uow, products.CHARACTERISTICS, actor=actor).items
    assert [c.name for c in characteristics] == ["gap shared"]


@pytest.mark.parametrize(
    ("resource", "q"),
    [
        (builds.BUILDS, "EVT-Beta"),
        (builds.UNITS, "SN-B"),
        (quality.FINDINGS, "Crack on Beta"),
        (products.PRODUCTS, "BONLY"),
        (products.CHARACTERISTICS, "bonly"),
        (builds.PARTNERS, "Beta"),
        (builds.LINES, "Beta"),
    ],
)
def test_partner_search_finds_nothing_of_the_other(
    uow: UnitOfWork, world: World, resource: Resource[Any], q: str
) -> None:
    assert crud.list_page(uow, resource, actor=world.a.user, q=q).total == 0
    assert crud.list_page(uow, resource, actor=world.b.user, q=q).total >= 1
    assert crud.list_page(uow, resource, actor=SYSTEM, q=q).total >= 1


def test_partner_search_still_finds_its_own(uow: UnitOfWork, world: World) -> None:
    actor = world.a.user
    assert crud.list_page(uow, builds.UNITS, actor=actor, q="SN-").total == 2
    assert crud.list_page(uow, quality.FINDINGS, actor=actor, q="Crack").total == 1
    assert crud.list_page(uow, builds.BUILDS, actor=actor, q="EVT").total == 1


def _the_other_sides_records(world: World) -> list[tuple[Resource[Any], int]]:
    b = world.b
    return [
        (builds.BUILDS, b.build_id),
        (builds.BUILDS, world.b_only_build_id),
        (builds.UNITS, b.unit_ids[0]),
        (quality.FINDINGS, b.finding_id),
        (builds.PARTNERS, b.partner_id),
        (builds.LINES, b.line_id),
        (builds.STATIONS, b.station_ids[0]),
    ]


def test_a_record_of_the_other_partner_is_not_found_not_forbidden(
    uow: UnitOfWork, world: World
) -> None:
    for resource, ident in _the_other_sides_records(world):
        with pytest.raises(NotFound, match=f"{resource.name} {ident} does not exist"):
            crud.get(uow, resource, ident, actor=world.a.user)
        # The same answer as for an id nobody has.
        with pytest.raises(NotFound, match=f"{resource.name} 99999 does not exist"):
            crud.get(uow, resource, 99999, actor=world.a.user)
        assert crud.get(uow, resource, ident, actor=world.b.user).id == ident
    assert crud.get(uow, builds.BUILDS, world.a.build_id, actor=world.a.user).id == world.a.build_id
    with pytest.raises(NotFound):
        products.resolve_product(uow, world.b_only_key, actor=world.a.user)
    with pytest.raises(NotFound):
        lines.list_stations(uow, world.b.line_id, actor=world.a.user)
    assert len(lines.list_stations(uow, world.a.line_id, actor=world.a.user).items) == 2


def test_partner_cannot_change_or_add_to_the_other_partners_build(
    uow: UnitOfWork, world: World
) -> None:
    a, b = world.a, world.b
    with pytest.raises(NotFound, match=f"unit {b.unit_ids[0]} does not exist"):
        crud.update(uow, builds.UNITS, b.unit_ids[0], {"status": "failed"}, actor=a.user)
    assert crud.get(uow, builds.UNITS, b.unit_ids[0], actor=SYSTEM).status is UnitStatus.PASSED
    shared = products.resolve_product(uow, world.shared_key, actor=SYSTEM)
    data = {"product_id": shared.id, "build_id": b.build_id, "serial": "SN-SNEAK"}
    with pytest.raises(InvalidInput) as caught:
        crud.create(uow, builds.UNITS, data, actor=a.user)
    assert [(f.loc, f.message) for f in caught.value.fields] == [
        ("build_id", f"builds {b.build_id} does not exist")
    ]
    # Moving its own unit into the other build is refused the same way.
    with pytest.raises(InvalidInput, match="does not exist"):
        crud.update(uow, builds.UNITS, a.unit_ids[0], {"build_id": b.build_id}, actor=a.user)
    # Its own build takes the unit; a build it may not make at all.
    own = crud.create(uow, builds.UNITS, data | {"build_id": a.build_id}, actor=a.user)
    assert own.build_id == a.build_id
    with pytest.raises(Forbidden):
        crud.create(uow, builds.BUILDS, {"code": "EVT-New", "product_id": shared.id}, actor=a.user)
    with pytest.raises(Forbidden):
        crud.update(uow, quality.FINDINGS, a.finding_id, {"status": "closed"}, actor=a.user)


def test_partner_cannot_ingest_into_the_other_partners_build(uow: UnitOfWork, world: World) -> None:
    a, b = world.a, world.b
    with pytest.raises(NotFound, match=f"build {b.build_id} does not exist"):
        record_build_volume(uow, b.build_id, _volume(("SN-A9",)), actor=a.user)
    assert crud.list_page(uow, builds.UNITS, actor=SYSTEM, q="SN-A9").total == 0
    report = record_build_volume(uow, a.build_id, _volume(("SN-A9",)), actor=a.user)
    assert (report.units, report.station_passes) == (1, 2)


def test_a_station_bound_ingest_token_records_only_that_station(
    uow: UnitOfWork, world: World
) -> None:
    a, b = world.a, world.b
    s1 = a.station_ids[0]  # stations are listed in sequence: S1 first
    token = Principal(
        name="cm-Alpha",
        role=Role.PARTNER,
        user_id=a.user.user_id,
        partner_id=a.partner_id,
        scopes=frozenset({Scope.INGEST}),
        station_id=s1,
    )
    at_s1 = BuildVolume(
        units=[UnitRecord(serial="SN-A7")],
        station_passes=[
            StationPassRecord(
                unit="SN-A7",
                station="S1",
                started_at=T0,
                ended_at=T0 + dt.timedelta(seconds=30),
                result=Outcome.PASS,
            )
        ],
    )
    assert record_build_volume(uow, a.build_id, at_s1, actor=token).station_passes == 1
    with pytest.raises(Forbidden, match=r"station_passes\[1\]\.station: .* only station 'S1'"):
        record_build_volume(uow, a.build_id, _volume(("SN-A8",)), actor=token)
    assert crud.list_page(uow, builds.UNITS, actor=SYSTEM, q="SN-A8").total == 0
    # A build on another line of its own partner is not the bound station's.
    other_line = make_line(uow, stations=1, name="Line Alpha 2", partner_id=a.partner_id)
    shared = products.resolve_product(uow, world.shared_key, actor=SYSTEM)
    elsewhere = make_build(
        uow, product_id=shared.id, partner_id=a.partner_id, line_id=other_line.id
    )
    with pytest.raises(Forbidden, match="not on the line of build"):
        record_build_volume(uow, elsewhere.id, at_s1, actor=token)
    with pytest.raises(NotFound):
        record_build_volume(uow, b.build_id, at_s1, actor=token)
    # The token cannot read what it wrote.
    with pytest.raises(Forbidden, match="token's scopes"):
        crud.list_page(uow, builds.UNITS, actor=token)


def test_partner_portfolio_counts_only_its_own(uow: UnitOfWork, world: World) -> None:
    (card,) = portfolio(uow, actor=world.a.user)
    assert card.key == world.shared_key
    assert (card.build_count, card.unit_count, card.open_findings.total) == (1, 2, 1)
    assert card.feedback.count == 0
    mine = phase_counts(uow, actor=world.a.user)
    assert (mine.count(Phase.PROTOTYPE), mine.count(Phase.PILOT)) == (1, 0)
    theirs = {c.key: c for c in portfolio(uow, actor=world.b.user)}
    assert sorted(theirs) == ["BONLY", "SHARED"]
    assert (theirs["SHARED"].build_count, theirs["SHARED"].unit_count) == (1, 3)
    assert theirs["SHARED"].open_findings.total == 1


def test_partner_read_services_refuse_the_other_partners_build(
    uow: UnitOfWork, world: World
) -> None:
    a, b = world.a, world.b
    with pytest.raises(NotFound, match=f"build {b.build_id} does not exist"):
        build_overview(uow, b.build_id, actor=a.user)
    with pytest.raises(NotFound, match=f"build {b.build_id} does not exist"):
        build_units(uow, b.build_id, actor=a.user)
    with pytest.raises(NotFound):
        unit_history(uow, b.serials[0], actor=a.user)
    with pytest.raises(NotFound):
        unit_history(uow, b.serials[0], product=world.shared_key, actor=a.user)
    overview = build_overview(uow, a.build_id, actor=a.user)
    assert overview.build.code == "EVT-Alpha"
    assert build_units(uow, a.build_id, actor=a.user).total == 2
    history = unit_history(uow, a.serials[0], actor=a.user)
    assert (history.build_id, len(history.passes)) == (a.build_id, 2)
    findings = product_findings(uow, world.shared_key, actor=a.user, status="all")
    assert [f.title for f in findings.items] == ["Crack on Alpha"]
    assert product_summary(uow, world.shared_key, actor=a.user).key == world.shared_key
    with pytest.raises(NotFound):
        product_summary(uow, world.b_only_key, actor=a.user)


@pytest.mark.parametrize(
    "read",
    [
        lambda uow, actor: product_overview(uow, "SHARED", actor=actor),
        lambda uow, actor: product_feedback(uow, "SHARED", actor=actor),
        lambda uow, actor: audit_trail.list_events(uow, actor=actor),
        lambda uow, actor: phases.gate_history(uow, "SHARED", actor=actor),
        lambda uow, actor: crud.list_page(uow, products.REQUIREMENTS, actor=actor),
        lambda uow, actor: crud.list_page(uow, quality.FEEDBACK, actor=actor),
    ],
)
def test_partner_may_not_read_internal_records(
    uow: UnitOfWork, world: World, read: Callable[[UnitOfWork, Principal], Any]
) -> None:
    with pytest.raises(Forbidden, match=r"cm-Alpha \(partner\) may not read"):
        read(uow, world.a.user)
    read(uow, person("vic", Role.VIEWER))  # an internal role may


def test_a_partner_user_without_a_partner_sees_nothing(uow: UnitOfWork, world: World) -> None:
    lost = Principal(name="lost", role=Role.PARTNER)
    assert crud.list_page(uow, builds.BUILDS, actor=lost).total == 0
    assert portfolio(uow, actor=lost) == []
    with pytest.raises(NotFound):
        crud.get(uow, builds.BUILDS, world.a.build_id, actor=lost)


# Internal roles ------------------------------------------------------------------------------


def test_an_internal_role_sees_both_partners(uow: UnitOfWork, world: World) -> None:
    viewer = person("vic", Role.VIEWER)
    a, b = world.a, world.b
    all_builds = _ids(crud.list_page(uow, builds.BUILDS, actor=viewer))
    assert all_builds == {a.build_id, b.build_id, world.b_only_build_id}
    assert crud.list_page(uow, builds.UNITS, actor=viewer, q="SN-").total == 5
    assert _ids(crud.list_page(uow, builds.PARTNERS, actor=viewer)) == {a.partner_id, b.partner_id}
    assert crud.list_page(uow, quality.FINDINGS, actor=viewer).total == 3
    for resource, ident in _the_other_sides_records(world):
        assert crud.get(uow, resource, ident, actor=viewer).id == ident
    cards = {c.key: c for c in portfolio(uow, actor=viewer)}
    assert (cards["SHARED"].build_count, cards["SHARED"].unit_count) == (2, 5)
    counts = phase_counts(uow, actor=viewer)
    assert (counts.count(Phase.PROTOTYPE), counts.count(Phase.PILOT)) == (1, 1)
    assert build_overview(uow, b.build_id, actor=viewer).build.code == "EVT-Beta"
    assert unit_history(uow, b.serials[0], actor=viewer).build_id == b.build_id
    overview = product_overview(uow, "SHARED", actor=viewer)
    assert overview.product.key == "SHARED" and len(overview.builds) == 2


def test_a_viewer_cannot_create_or_change_anything(uow: UnitOfWork, world: World) -> None:
    viewer = person("vic", Role.VIEWER)
    shared = products.resolve_product(uow, world.shared_key, actor=SYSTEM)
    attempts: list[Callable[[], Any]] = [
        lambda: crud.create(uow, products.PRODUCTS, {"key": "NEW", "name": "New"}, actor=viewer),
        lambda: crud.create(uow, builds.PARTNERS, {"name": "N", "kind": "supplier"}, actor=viewer),
        lambda: crud.create(
            uow,
            builds.UNITS,
            {"product_id": shared.id, "build_id": world.a.build_id, "serial": "V"},
            actor=viewer,
        ),
        lambda: crud.create(
            uow,
            quality.FINDINGS,
            {"product_id": shared.id, "title": "t", "category": "other", "severity": "minor"},
            actor=viewer,
        ),
        lambda: crud.update(uow, products.PRODUCTS, shared.id, {"name": "Renamed"}, actor=viewer),
        lambda: record_build_volume(uow, world.a.build_id, _volume(("SN-V1",)), actor=viewer),
        lambda: gate_decisions.open_decision(
            uow, "SHARED", "pilot", evaluation=empty_evaluation("SHARED", *PILOT_GATE), actor=viewer
        ),
        lambda: identity.create_user(uow, "eve", Role.ADMIN, actor=viewer),
    ]
    for attempt in attempts:
        with pytest.raises(Forbidden, match=r"vic \(viewer\) may not"):
            attempt()
    assert crud.list_page(uow, products.PRODUCTS, actor=SYSTEM).total == 2
    assert products.resolve_product(uow, "SHARED", actor=SYSTEM).name == "Shared sensor"


def test_only_a_product_user_decides_the_gate_and_is_named(uow: UnitOfWork, world: World) -> None:
    engineer = person("eng", Role.ENGINEER)
    evaluation = empty_evaluation("SHARED", *PILOT_GATE)
    with pytest.raises(Forbidden, match=r"eng \(engineer\) may not decide gate"):
        gate_decisions.open_decision(uow, "SHARED", "pilot", evaluation=evaluation, actor=engineer)
    with pytest.raises(Forbidden):
        gate_decisions.open_decision(
            uow, "SHARED", "pilot", evaluation=evaluation, actor=world.a.user
        )
    assert phases.gate_history(uow, "SHARED", actor=SYSTEM) == []
    action = gate_decisions.ActionItem("fix S2", "pat", dt.date(2026, 3, 1))
    review = pass_gate(
        uow, "SHARED", "pilot", outcome="conditional", rationale="fix S2", decided_by="pat",
        actions=(action,),
    )  # fmt: skip
    assert review.decision is not None and review.decision["decided_by"] == "pat"
    assert [d.decided_by for d in phases.gate_history(uow, "SHARED", actor=engineer)] == ["pat"]
    assert products.resolve_product(uow, "SHARED", actor=SYSTEM).phase is Phase.PILOT
    events = audit_trail.list_events(uow, actor=engineer, by="pat").items
    moved = [e for e in events if e.entity_type == "products"]
    assert len(moved) == 1 and "decided by pat" in moved[0].summary


def test_the_audit_trail_filters_by_who_acted(uow: UnitOfWork, world: World) -> None:
    ops = person("olga", Role.OPERATIONS)
    crud.update(uow, builds.UNITS, world.a.unit_ids[0], {"status": "failed"}, actor=ops)
    crud.update(uow, builds.UNITS, world.a.unit_ids[1], {"status": "failed"}, actor=world.a.user)
    viewer = person("vic", Role.VIEWER)
    by_olga = audit_trail.list_events(uow, actor=viewer, by="olga")
    assert [(e.actor, e.entity_id) for e in by_olga.items] == [("olga", world.a.unit_ids[0])]
    by_partner = audit_trail.list_events(uow, actor=viewer, by="cm-Alpha")
    assert [e.entity_id for e in by_partner.items] == [world.a.unit_ids[1]]
    assert audit_trail.list_events(uow, actor=viewer, by="nobody").total == 0


def test_scoped_queries_narrow_every_kind_a_partner_reads(uow: UnitOfWork, world: World) -> None:
    """``access.scoped`` narrows raw queries too, for the read models that build their own."""
    a = world.a
    with uow:
        seen = {
            model: set(uow.session.scalars(scoped(select(model.id), a.user, model)))
            for model in (Build, Unit, StationPass, Finding, Line, Station, Partner)
        }
        passes_of_a = set(
            uow.session.scalars(select(StationPass.id).where(StationPass.unit_id.in_(a.unit_ids)))
        )
    assert seen[Build] == {a.build_id} and seen[Unit] == set(a.unit_ids)
    assert seen[StationPass] == passes_of_a and len(passes_of_a) == 4
    assert seen[Finding] == {a.finding_id} and seen[Partner] == {a.partner_id}
    assert seen[Line] == {a.line_id} and seen[Station] == set(a.station_ids)
