"""The cost of a build from its stored records, worked by hand, on SQLite and PostgreSQL.

The build: 4 units on a two-station line, unit 4 scrapped. Unit x (in the order it started)
takes 360 s * x^b at S1 and 720 s * x^b at S2, b = log2(0.9) (an exact 90 % curve); S1 has one
operator at its own 40/h, S2 two operators at the line's 30/h; overhead 50 % of labor.
With F = sum of x^b over x = 1..4, labor hours per unit are (0.1 + 0.2 * 2) F / 4 = 0.125 F and
labor cost (0.1 * 40 + 0.4 * 30) F / 4 = 4 F (32 per hour).

BOM: PCB 1 per unit at 4.00 (3.00 from 100 bought), screws 4 per unit + 5 % at 0.05: 4.21 per
unit at 4 units; at 1,000 units the PCB costs 3.00: 3.21. Issued: 5 PCBs (standard 4: +4.00) and
17 screws (standard 16.8: +0.01); +1.0025 per unit. Tooling 1,000 over 500 units: 2.00.
Rework: one defect dispositioned rework at 10.00 (2.50 per unit); a scrap defect's 50.00 is the
scrapped unit itself, not added. Yield 3/4.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from phasegate.domain.enums import Disposition, Outcome, Severity, UnitStatus
from phasegate.domain.errors import Forbidden, InvalidInput, NotFound
from phasegate.domain.policy import Role
from phasegate.services import builds, crud, quality, volume
from phasegate.services import costing as svc
from phasegate.store.models import Station
from phasegate.store.uow import UnitOfWork
from tests.factories import ACTOR, make_build, make_line, make_product, make_revision, person

B = math.log2(0.9)
F = sum(x**B for x in range(1, 5))
START = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def _create(uow: UnitOfWork, resource: Any, **values: Any) -> Any:
    return crud.create(uow, resource, values, actor=ACTOR)


def _volume(serials: list[str]) -> volume.BuildVolume:
    units, passes = [], []
    for x, serial in enumerate(serials, start=1):
        status = UnitStatus.SCRAPPED if x == 4 else UnitStatus.PASSED
        units.append(volume.UnitRecord(serial=serial, status=status))
        begin = START + dt.timedelta(hours=x)
        for name, seconds in (("S1", 360.0), ("S2", 720.0)):
            took = dt.timedelta(seconds=seconds * x**B)
            passes.append(volume.StationPassRecord(serial, name, begin, begin + took, Outcome.PASS))
            begin += took
    defects = [
        volume.DefectRecord(
            serials[1], "S1", "COST-1", Severity.MINOR, START, Disposition.REWORK, 10.0
        ),
        volume.DefectRecord(
            serials[3], "S2", "COST-1", Severity.MAJOR, START, Disposition.SCRAP, 50.0
        ),
    ]
    return volume.BuildVolume(units=units, station_passes=passes, defects=defects)


@pytest.fixture
def costed(uow: UnitOfWork) -> dict[str, Any]:
    return seed_costed_build(uow)


def seed_costed_build(uow: UnitOfWork) -> dict[str, Any]:
    """The build of the module notes, CST-P1 of product CST, with every record its cost needs."""
    product = make_product(uow, key="CST", target_unit_cost=20.0, target_annual_volume=1000)
    revision = make_revision(uow, product)
    line = make_line(uow, stations=2)
    build = make_build(
        uow,
        product_id=product.id,
        revision_id=revision.id,
        code="CST-P1",
        phase="pilot",
        fidelity=None,
        technique=None,
        line_id=line.id,
    )
    _create(uow, quality.DEFECT_CODES, code="COST-1", description="Cost test")
    volume.record_build_volume(uow, build.id, _volume(["U1", "U2", "U3", "U4"]), actor=ACTOR)
    pcb = _create(uow, svc.PARTS, number="PCB-1", description="Main board", standard_cost=4.0)
    screw = _create(uow, svc.PARTS, number="SCR-M2", standard_cost=0.05)
    _create(uow, svc.PRICE_BREAKS, part_id=pcb.id, min_quantity=100, unit_cost=3.0)
    for part, quantity, allowance in ((pcb, 1, 0.0), (screw, 4, 0.05)):
        _create(
            uow,
            svc.BOM_LINES,
            product_id=product.id,
            revision_id=revision.id,
            part_id=part.id,
            quantity_per_unit=quantity,
            scrap_allowance=allowance,
        )
    _create(uow, svc.MATERIAL_ISSUES, build_id=build.id, part_id=pcb.id, quantity=5)
    _create(uow, svc.MATERIAL_ISSUES, build_id=build.id, part_id=screw.id, quantity=10)
    _create(uow, svc.MATERIAL_ISSUES, build_id=build.id, part_id=screw.id, quantity=7)
    _create(uow, svc.LINE_COST_RATES, line_id=line.id, labor_rate_per_hour=30.0, overhead_rate=0.5)
    with uow:
        stations = {s.name: s.id for s in uow.session.query(Station).filter_by(line_id=line.id)}
    _create(uow, svc.STATION_LABOR_RATES, station_id=stations["S1"], labor_rate_per_hour=40.0)
    _create(uow, svc.STATION_LABOR_RATES, station_id=stations["S2"], operators=2)
    _create(
        uow, svc.TOOLING, product_id=product.id, name="Mould", cost=1000.0, amortisation_volume=500
    )
    return {"product": product, "revision": revision, "line": line, "build": build, "pcb": pcb}


def test_build_cost_by_hand(uow: UnitOfWork, costed: dict[str, Any]) -> None:
    result = svc.build_cost(uow, "cst-p1", actor=ACTOR)
    assert result.missing == ()
    assert (result.units_built, result.units_scrapped) == (4, 1)
    cost = result.cost
    assert cost is not None
    assert cost.material_standard == pytest.approx(4.21, rel=1e-9)
    assert cost.material_variance == pytest.approx(1.0025, rel=1e-9)
    assert cost.labor_hours == pytest.approx(0.125 * F, rel=1e-6)
    assert cost.labor == pytest.approx(4 * F, rel=1e-6)
    assert cost.overhead == pytest.approx(2 * F, rel=1e-6)
    assert cost.tooling == pytest.approx(2.0, rel=1e-9)
    assert cost.rework == pytest.approx(2.5, rel=1e-9)
    per_unit = 4.21 + 1.0025 + 6 * F + 2.0 + 2.5
    contract = result.contract()
    assert list(contract) == [
        "per_unit",
        "per_good_unit",
        "material",
        "labor",
        "overhead",
        "scrap",
        "tooling",
        "projected_per_unit_at_volume",
        "volume",
        "target",
    ]
    assert contract["per_unit"] == pytest.approx(per_unit, rel=1e-6)
    assert contract["per_good_unit"] == pytest.approx(per_unit / 0.75, rel=1e-6)
    assert contract["scrap"] == pytest.approx(2.5 + per_unit / 0.75 - per_unit, rel=1e-6)
    assert (contract["volume"], contract["target"]) == (1000, 20.0)
    by_station = {s.station: s for s in result.stations}
    assert by_station["S1"].rate_per_hour == 40.0
    assert by_station["S2"].operators == 2.0
    assert by_station["S2"].hours_per_unit == pytest.approx(0.4 * F / 4, rel=1e-6)
    by_part = {p.part: p for p in result.parts}
    assert by_part["PCB-1"].cost_variance == pytest.approx(4.0, rel=1e-9)
    assert by_part["SCR-M2"].issued_quantity == 17.0
    assert by_part["SCR-M2"].cost_variance == pytest.approx(0.01, rel=1e-9)


def test_learning_curve_and_projection(uow: UnitOfWork, costed: dict[str, Any]) -> None:
    result = svc.build_cost(uow, "CST-P1", product="cst", actor=ACTOR)
    assert result.curve is not None and result.points is not None
    assert result.points.units == (1, 2, 3, 4)
    assert result.curve.learning_rate == pytest.approx(0.9, rel=1e-6)
    assert result.curve.first_unit == pytest.approx(0.5, rel=1e-6)
    projected = (3.21 + 2.0 + 2.5 + 24 * 1000**B) / 0.75
    assert result.contract()["projected_per_unit_at_volume"] == pytest.approx(projected, rel=1e-5)
    steps = {s.label: s.value for s in result.waterfall}
    assert steps["Target"] == 20.0
    assert steps["Gap to target"] == pytest.approx(20.0 - result.cost.per_good_unit, rel=1e-9)
    data = svc.as_dict(result)
    assert data["cost"] == result.contract()
    assert data["learning_curve"]["n"] == 4
    assert latest(uow) == result.contract()
    chart = svc.learning_chart(result)
    assert chart is not None and chart.units == (1, 2, 3, 4)
    assert chart.line_units[0] == 1.0 and chart.line_units[-1] == pytest.approx(1000.0)
    assert chart.fitted[-1] == pytest.approx(0.5 * 1000**B, rel=1e-6)
    assert all(lo <= f <= hi for lo, f, hi in zip(chart.low, chart.fitted, chart.high, strict=True))
    sheet = svc.cost_sheet(result)
    assert sheet[-1] == {"component": "target", "item": "target", "cost_per_unit": 20.0}
    assert {
        "component": "total",
        "item": "per good unit",
        "cost_per_unit": result.cost.per_good_unit,
    } in sheet


def latest(uow: UnitOfWork) -> dict[str, Any]:
    found = svc.latest_line_build_cost(uow, "CST", actor=ACTOR)
    assert found is not None
    return found.contract()


def test_what_is_missing_is_said(uow: UnitOfWork, costed: dict[str, Any]) -> None:
    product = costed["product"]
    revision_b = make_revision(uow, product, code="B")
    proto = make_build(uow, product_id=product.id, revision_id=revision_b.id, code="CST-A")
    result = svc.build_cost(uow, "CST-A", actor=ACTOR)
    assert result.cost is None
    assert result.contract()["per_unit"] is None
    assert result.waterfall == ()
    assert "revision B has no BOM" in result.missing
    assert "no units built" in result.missing
    assert any("without a line" in m for m in result.missing)
    assert proto.id == result.build_id
    with pytest.raises(NotFound):
        svc.build_cost(uow, "NOPE", actor=ACTOR)


def test_records_are_checked(uow: UnitOfWork, costed: dict[str, Any]) -> None:
    other = _create(uow, svc.PARTS, number="GASKET", standard_cost=0.3)
    with pytest.raises(InvalidInput) as error:
        _create(uow, svc.MATERIAL_ISSUES, build_id=costed["build"].id, part_id=other.id, quantity=1)
    assert error.value.fields[0].loc == "part_id"
    with pytest.raises(InvalidInput) as error:
        _create(
            uow,
            svc.BOM_LINES,
            product_id=costed["product"].id,
            revision_id=costed["revision"].id,
            part_id=other.id,
            quantity_per_unit=1,
            scrap_allowance=1.5,
        )
    assert error.value.fields[0].loc == "scrap_allowance"
    with pytest.raises(InvalidInput) as error:
        _create(uow, svc.PARTS, number="BAD PART", standard_cost=1)
    assert error.value.fields[0].loc == "number"
    with pytest.raises(InvalidInput) as error:
        _create(
            uow,
            svc.TOOLING,
            product_id=costed["product"].id,
            name="Jig",
            cost=5,
            amortisation_volume=0,
        )
    assert error.value.fields[0].loc == "amortisation_volume"


def test_who_may_change_costs(uow: UnitOfWork, costed: dict[str, Any]) -> None:
    with pytest.raises(Forbidden):
        crud.create(
            uow, svc.PARTS, {"number": "X1", "standard_cost": 1}, actor=person("p", Role.PRODUCT)
        )
    engineer = person("e", Role.ENGINEER)
    assert crud.create(uow, svc.PARTS, {"number": "X1", "standard_cost": 1}, actor=engineer).id
    with pytest.raises(Forbidden):
        crud.update(uow, svc.LINE_COST_RATES, 1, {"overhead_rate": 2}, actor=engineer)
    viewer = person("v", Role.VIEWER)
    assert svc.build_cost(uow, "CST-P1", actor=viewer).cost is not None


def test_a_large_build_is_sampled_evenly(
    uow: UnitOfWork, costed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(svc, "MAX_CURVE_UNITS", 2)  # 4 units: every second one is read
    result = svc.build_cost(uow, "CST-P1", actor=ACTOR)
    assert result.points is not None and result.points.units == (1, 3)
    assert result.points.hours == pytest.approx((0.5, 0.5 * 3**B), rel=1e-6)
    assert result.curve is None and result.projection is None
    assert "a learning curve needs 3 units through every station (n = 2)" in result.missing
    assert result.cost is not None  # the roll-up itself reads every unit's aggregate


def test_a_partner_sees_the_cost_of_its_own_builds_only(
    uow: UnitOfWork, costed: dict[str, Any]
) -> None:
    partner = crud.create(
        uow, builds.PARTNERS, {"name": "CM", "kind": "contract_manufacturer"}, actor=ACTOR
    )
    own = person("cm", Role.PARTNER, partner_id=partner.id)
    with pytest.raises(NotFound):
        svc.build_cost(uow, "CST-P1", actor=own)
    crud.update(uow, builds.BUILDS, costed["build"].id, {"partner_id": partner.id}, actor=ACTOR)
    assert svc.build_cost(uow, "CST-P1", actor=own).cost is not None
    assert crud.list_page(uow, svc.PARTS, actor=own).total == 0
