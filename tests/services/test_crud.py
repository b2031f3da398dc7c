"""The audited create/read/update/list services, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from phasegate.domain.enums import AuditAction, Phase, Priority, Technique
from phasegate.domain.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from phasegate.services import builds, crud, products, quality
from phasegate.store.models import AuditEvent
from phasegate.store.uow import UnitOfWork
from tests.factories import (
    ACTOR,
    make_build,
    make_characteristic,
    make_finding,
    make_line,
    make_product,
    make_revision,
    make_unit,
    person,
)


def _events(uow: UnitOfWork, entity_type: str) -> list[AuditEvent]:
    with uow:
        stmt = select(AuditEvent).where(AuditEvent.entity_type == entity_type)
        return list(uow.session.scalars(stmt.order_by(AuditEvent.id)))


def test_create_coerces_text_input_and_audits(uow: UnitOfWork) -> None:
    product = crud.create(
        uow,
        products.PRODUCTS,
        {
            "key": "AQM-1",
            "name": "Air-quality monitor",
            "target_unit_cost": "42.50",
            "target_annual_volume": "20000",
            "target_launch_date": "2027-03-01",
        },
        actor=person("ann"),
    )
    assert product.phase is Phase.PROTOTYPE
    assert product.target_unit_cost == 42.5
    assert product.target_annual_volume == 20000
    assert product.target_launch_date == dt.date(2027, 3, 1)
    assert product.created_at.tzinfo is not None
    (event,) = _events(uow, "products")
    assert (event.action, event.actor, event.entity_id) == (AuditAction.CREATE, "ann", product.id)
    assert event.after is not None and event.after["key"] == "AQM-1"
    assert event.product_id == product.id


def test_update_records_only_changed_fields(uow: UnitOfWork) -> None:
    product = make_product(uow, key="AQM")
    crud.update(uow, products.PRODUCTS, product.id, {"name": "Renamed"}, actor=person("bob"))
    update = _events(uow, "products")[-1]
    assert update.action is AuditAction.UPDATE
    assert update.before == {"name": product.name}
    assert update.after == {"name": "Renamed"}


def test_unchanged_update_writes_no_event(uow: UnitOfWork) -> None:
    product = make_product(uow)
    crud.update(uow, products.PRODUCTS, product.id, {"name": product.name}, actor=person("bob"))
    assert len(_events(uow, "products")) == 1


def test_phase_cannot_be_set_directly(uow: UnitOfWork) -> None:
    product = make_product(uow)
    with pytest.raises(InvalidInput) as caught:
        crud.update(uow, products.PRODUCTS, product.id, {"phase": "production"}, actor=person("x"))
    assert caught.value.fields[0].loc == "phase"
    assert "not a field of product" in caught.value.fields[0].message


def test_key_is_immutable(uow: UnitOfWork) -> None:
    product = make_product(uow)
    with pytest.raises(InvalidInput, match="key: cannot be changed after creation"):
        crud.update(uow, products.PRODUCTS, product.id, {"key": "OTHER"}, actor=person("x"))


def test_every_bad_field_is_named_at_once(uow: UnitOfWork) -> None:
    with pytest.raises(InvalidInput) as caught:
        crud.create(
            uow,
            products.PRODUCTS,
            {"key": "K", "name": "N", "target_unit_cost": "cheap", "colour": "red"},
            actor=person("x"),
        )
    locs = {f.loc for f in caught.value.fields}
    assert locs == {"target_unit_cost", "colour"}
    assert "'cheap' is not a valid float" in str(caught.value)


def test_required_fields(uow: UnitOfWork) -> None:
    with pytest.raises(InvalidInput) as caught:
        crud.create(uow, products.PRODUCTS, {"key": "K"}, actor=person("x"))
    assert [f.loc for f in caught.value.fields] == ["name"]


def test_enum_values_are_checked_and_listed(uow: UnitOfWork) -> None:
    product = make_product(uow)
    with pytest.raises(InvalidInput, match="'urgent' is not one of: must, should, could, wont"):
        crud.create(
            uow,
            products.REQUIREMENTS,
            {"product_id": product.id, "key": "R1", "title": "t", "priority": "urgent"},
            actor=person("x"),
        )


def test_duplicate_key_is_a_conflict(uow: UnitOfWork) -> None:
    make_product(uow, key="DUP")
    with pytest.raises(Conflict, match="key='DUP' already exists"):
        make_product(uow, key="DUP")


def test_characteristic_limits(uow: UnitOfWork) -> None:
    product = make_product(uow)
    with pytest.raises(InvalidInput, match=r"usl \(1.0\) must be greater than lsl \(2.0\)"):
        make_characteristic(uow, product, lsl=2.0, usl=1.0)
    with pytest.raises(InvalidInput, match=r"target \(5.0\) is above usl"):
        make_characteristic(uow, product, lsl=1.0, usl=2.0, target=5.0)
    with pytest.raises(InvalidInput, match="CTQ characteristic needs at least one spec limit"):
        make_characteristic(uow, product, lsl=None, usl=None, ctq=True)
    one_sided = make_characteristic(uow, product, lsl=None, usl=50.0, ctq="yes")
    assert one_sided.ctq is True and one_sided.lsl is None


def test_references_must_exist_and_share_the_product(uow: UnitOfWork) -> None:
    first, second = make_product(uow), make_product(uow)
    rev_of_second = make_revision(uow, second)
    with pytest.raises(InvalidInput, match="revisions 999999 does not exist"):
        make_build(uow, product_id=first.id, revision_id=999999)
    with pytest.raises(InvalidInput, match="belongs to another product"):
        make_build(uow, product_id=first.id, revision_id=rev_of_second.id)


def test_build_rules(uow: UnitOfWork) -> None:
    product = make_product(uow)
    with pytest.raises(InvalidInput) as caught:
        make_build(
            uow,
            product_id=product.id,
            phase="pilot",
            fidelity="low",
            planned_quantity=0,
            start_date="2026-05-02",
            end_date="2026-05-01",
        )
    assert {f.loc for f in caught.value.fields} == {
        "fidelity",
        "line_id",
        "planned_quantity",
        "end_date",
    }
    line = make_line(uow)
    pilot = make_build(
        uow,
        product_id=product.id,
        phase="pilot",
        fidelity=None,
        technique="pcb_assembly",
        line_id=line.id,
    )
    assert pilot.technique is Technique.PCB_ASSEMBLY


def test_unit_serial_unique_per_product(uow: UnitOfWork) -> None:
    build = make_build(uow)
    make_unit(uow, build, serial="SN1")
    with pytest.raises(Conflict):
        make_unit(uow, build, serial="SN1")
    other = make_build(uow)
    assert make_unit(uow, other, serial="SN1").serial == "SN1"


def test_a_unit_stays_with_the_product_of_its_build(uow: UnitOfWork) -> None:
    # The reference check of build_id refuses a build of another product, on create and update,
    # before any further rule runs; so no unit rule of its own is needed.
    build, other = make_build(uow), make_build(uow)
    with pytest.raises(InvalidInput) as caught:
        make_unit(uow, build, product_id=other.product_id)
    assert [(f.loc, f.message) for f in caught.value.fields] == [
        ("build_id", f"builds {build.id} belongs to another product")
    ]
    unit = make_unit(uow, build)
    with pytest.raises(InvalidInput, match="belongs to another product"):
        crud.update(uow, builds.UNITS, unit.id, {"build_id": other.id}, actor=person("x"))


def test_partner_phases_are_phases(uow: UnitOfWork) -> None:
    data = {"name": "Acme EMS", "kind": "contract_manufacturer"}
    partner = crud.create(
        uow, builds.PARTNERS, data | {"phases_served": "pilot, production"}, actor=person("x")
    )
    assert partner.phases_served == ["pilot", "production"]
    with pytest.raises(InvalidInput) as caught:
        crud.update(
            uow,
            builds.PARTNERS,
            partner.id,
            {"phases_served": ["pilot", "beta"]},
            actor=person("x"),
        )
    assert [(f.loc, f.message) for f in caught.value.fields] == [
        ("phases_served", "'beta' is not one of: prototype, pilot, production")
    ]


def test_finding_closure_needs_root_cause_and_action(uow: UnitOfWork) -> None:
    product = make_product(uow)
    finding = make_finding(uow, product)
    with pytest.raises(InvalidInput) as caught:
        crud.update(uow, quality.FINDINGS, finding.id, {"status": "closed"}, actor=person("q"))
    assert {f.loc for f in caught.value.fields} == {"corrective_action", "root_cause"}
    closed = crud.update(
        uow,
        quality.FINDINGS,
        finding.id,
        {"status": "closed", "root_cause": "thin wall", "corrective_action": "add rib"},
        actor=person("q"),
    )
    assert not closed.status.is_open


def test_feedback_rating_range(uow: UnitOfWork) -> None:
    product = make_product(uow)
    with pytest.raises(InvalidInput, match=r"6 is outside 1\.\.5"):
        crud.create(
            uow,
            quality.FEEDBACK,
            {"product_id": product.id, "source": "tester", "rating": 6},
            actor=person("x"),
        )


def test_requirement_rice_score(uow: UnitOfWork) -> None:
    product = make_product(uow)
    req = crud.create(
        uow,
        products.REQUIREMENTS,
        {
            "product_id": product.id,
            "key": "R1",
            "title": "Battery lasts a week",
            "priority": "must",
            "rice_reach": 2000,
            "rice_impact": 2,
            "rice_confidence": 0.8,
            "rice_effort": 4,
        },
        actor=person("pm"),
    )
    assert req.priority is Priority.MUST
    # RICE = 2000 x 2 x 0.8 / 4
    assert products.rice_score(req) == pytest.approx(800.0)
    with pytest.raises(InvalidInput, match="rice_confidence"):
        crud.update(uow, products.REQUIREMENTS, req.id, {"rice_confidence": 80}, actor=person("pm"))


def test_get_unknown_is_not_found(uow: UnitOfWork) -> None:
    with pytest.raises(NotFound, match="build 424242 does not exist"):
        crud.get(uow, builds.BUILDS, 424242, actor=ACTOR)
    with pytest.raises(NotFound, match="product 'NOPE' does not exist"):
        products.resolve_product(uow, "NOPE", actor=ACTOR)


def test_list_filters_search_and_pages(uow: UnitOfWork) -> None:
    for i in range(7):
        make_product(uow, key=f"LIST-{i}", name="Sensor hub" if i % 2 else "Lamp")
    page = crud.list_page(uow, products.PRODUCTS, q="sensor", limit=2, actor=ACTOR)
    assert page.total == 3 and len(page.items) == 2
    rest = crud.list_page(uow, products.PRODUCTS, q="sensor", limit=2, offset=2, actor=ACTOR)
    assert [p.key for p in rest.items] == ["LIST-5"]
    assert (
        crud.list_page(uow, products.PRODUCTS, filters={"phase": "pilot"}, actor=ACTOR).total == 0
    )
    with pytest.raises(InvalidInput, match="cannot filter product by name"):
        crud.list_page(uow, products.PRODUCTS, filters={"name": "x"}, actor=ACTOR)
    with pytest.raises(InvalidInput, match="limit"):
        crud.list_page(uow, products.PRODUCTS, limit=0, actor=ACTOR)


def test_integers_beyond_the_column_are_invalid_not_a_crash(uow: UnitOfWork) -> None:
    with pytest.raises(InvalidInput, match="too large to store"):
        make_product(uow, target_annual_volume=2**40)
    with pytest.raises(NotFound, match="product 99999999999 does not exist"):
        products.resolve_product(uow, "99999999999", actor=ACTOR)


def test_build_needs_a_planned_quantity_and_stays_updatable(uow: UnitOfWork) -> None:
    product = make_product(uow)
    revision = make_revision(uow, product)
    data = {"product_id": product.id, "revision_id": revision.id, "code": "X", "phase": "prototype"}
    with pytest.raises(InvalidInput, match="planned_quantity: is required"):
        crud.create(uow, builds.BUILDS, data, actor=person("x"))
    build = crud.create(uow, builds.BUILDS, data | {"planned_quantity": 3}, actor=person("x"))
    updated = crud.update(uow, builds.BUILDS, build.id, {"actual_cost": 1200}, actor=person("x"))
    assert updated.actual_cost == 1200.0


def test_every_change_raises_the_version(uow: UnitOfWork) -> None:
    product = make_product(uow, key="VER")
    assert product.version == 1
    changed = crud.update(uow, products.PRODUCTS, product.id, {"name": "Two"}, actor=person("x"))
    assert changed.version == 2
    same = crud.update(uow, products.PRODUCTS, product.id, {"name": "Two"}, actor=person("x"))
    assert same.version == 2  # nothing changed, nothing written
    assert crud.get(uow, products.PRODUCTS, product.id, actor=ACTOR).version == 2


def test_a_change_against_an_older_version_is_refused(uow: UnitOfWork) -> None:
    product = make_product(uow, key="STALE", name="First")
    crud.update(uow, products.PRODUCTS, product.id, {"name": "Second"}, actor=person("a"))
    with pytest.raises(PreconditionFailed, match="is at version 2, not 1") as caught:
        crud.update(
            uow,
            products.PRODUCTS,
            product.id,
            {"name": "Third"},
            actor=person("b"),
            expected_version=1,
        )
    assert [f.loc for f in caught.value.fields] == ["expected_version"]
    assert isinstance(caught.value, Conflict)
    kept = crud.get(uow, products.PRODUCTS, product.id, actor=ACTOR)
    assert (kept.name, kept.version) == ("Second", 2)
    assert len(_events(uow, "products")) == 2  # the create and the first change only
    done = crud.update(
        uow, products.PRODUCTS, product.id, {"name": "Third"}, actor=person("b"), expected_version=2
    )
    assert (done.name, done.version) == ("Third", 3)


def test_a_change_naming_no_record_is_refused_like_a_create(uow: UnitOfWork) -> None:
    # The checks run before anything is written: no database error leaks out of an update.
    unit = make_unit(uow, make_build(uow))
    with pytest.raises(InvalidInput) as caught:
        crud.update(uow, builds.UNITS, unit.id, {"build_id": 99999999}, actor=person("x"))
    assert [(f.loc, f.message) for f in caught.value.fields] == [
        ("build_id", "builds 99999999 does not exist")
    ]
    first, second = make_line(uow, stations=0), make_line(uow, stations=0)
    with pytest.raises(Conflict, match=f"a line with name='{first.name}' already exists"):
        crud.update(uow, builds.LINES, second.id, {"name": first.name}, actor=person("x"))
    with pytest.raises(NotFound, match="line 424242 does not exist"):
        crud.update(uow, builds.LINES, 424242, {"name": "x"}, actor=person("x"))


def test_keys_are_unique_and_found_whatever_their_case(uow: UnitOfWork) -> None:
    product = make_product(uow, key="case-x")
    with pytest.raises(Conflict, match="a product with key='case-x' already exists"):
        make_product(uow, key="CASE-X")
    assert products.resolve_product(uow, "CASE-X", actor=ACTOR).id == product.id
    assert products.product_by_key(uow, "Case-X", actor=ACTOR).id == product.id
    found = crud.list_page(uow, products.PRODUCTS, filters={"key": "CASE-x"}, actor=ACTOR)
    assert [p.id for p in found.items] == [product.id]
    build = make_build(uow, product_id=product.id, code="evt-1")
    with pytest.raises(Conflict, match="code='evt-1' already exists"):
        make_build(uow, product_id=product.id, code="EVT-1")
    make_unit(uow, build, serial="sn-1")
    with pytest.raises(Conflict, match="serial='sn-1' already exists"):
        make_unit(uow, build, serial="SN-1")
    other = make_build(uow, code="EVT-1")  # another product: its own codes and serials
    make_unit(uow, other, serial="SN-1")


def test_keys_codes_and_serials_are_printable_ascii_without_spaces(uow: UnitOfWork) -> None:
    with pytest.raises(InvalidInput, match="key: 'CAFÉ' may hold only printable ASCII"):
        make_product(uow, key="CAFÉ")
    with pytest.raises(InvalidInput, match=r"key: 'A\.B' may hold only letters, digits, - and _"):
        make_product(uow, key="A.B")
    build = make_build(uow)
    for serial in ("SN 1", "SN-١", "SN\t1"):
        with pytest.raises(InvalidInput) as caught:
            make_unit(uow, build, serial=serial)
        assert [f.loc for f in caught.value.fields] == ["serial"]
        assert "printable ASCII" in caught.value.fields[0].message
    with pytest.raises(InvalidInput, match=r"code: .* printable ASCII"):
        crud.update(uow, builds.BUILDS, build.id, {"code": "EVT 2"}, actor=person("x"))


def test_record_ids_are_ascii_digits_only(uow: UnitOfWork) -> None:
    product = make_product(uow, key="ONE")
    assert products.resolve_product(uow, str(product.id), actor=ACTOR).id == product.id
    for ref in (
        str(product.id).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),  # Arabic-Indic
        "³",
        "1\x00",
        "\ud800",
    ):
        with pytest.raises(NotFound):
            products.resolve_product(uow, ref, actor=ACTOR)


@pytest.mark.parametrize("text", ["bad\x00name", "bad\ud800name"])
def test_unstorable_text_is_refused_by_the_service(uow: UnitOfWork, text: str) -> None:
    """The CLI and the demo reach the services without the API's checks: the service refuses."""
    with pytest.raises(InvalidInput) as caught:
        crud.create(uow, products.PRODUCTS, {"key": "TX-1", "name": text}, actor=person("test"))
    assert [f.loc for f in caught.value.fields] == ["name"]


def test_offset_is_bounded_by_the_service(uow: UnitOfWork) -> None:
    with pytest.raises(InvalidInput, match="offset"):
        crud.list_page(uow, products.PRODUCTS, offset=2**31, actor=ACTOR)
