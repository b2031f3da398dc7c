"""The evidence of a gate gathered from the database: each field from the service that shows it.

Hand-built products: a prototype whose evidence comes from its latest build and its pilot
plans, and a pilot whose first-pass counts, allocations, checklist, part sourcing and line come
from its pilot build.
"""

from __future__ import annotations

import datetime as dt

import pytest

from phasegate.domain.enums import Allocation, Outcome, Phase, UnitStatus
from phasegate.services import costing, crud, products
from phasegate.services.gates.evaluation import evaluate_gate
from phasegate.services.gates.evidence import gather_evidence
from phasegate.services.gates.records import GTM_ITEMS
from phasegate.services.volume import (
    BuildVolume,
    StationPassRecord,
    UnitRecord,
    record_build_volume,
)
from phasegate.store.models import Product
from phasegate.store.uow import UnitOfWork
from tests.factories import (
    ACTOR,
    make_build,
    make_characteristic,
    make_line,
    make_product,
    make_revision,
)
from tests.services.gates.test_evaluation import T0, ready_prototype


def _by_id(evaluation: object) -> dict[str, dict[str, object]]:
    doc = evaluation.as_dict()  # type: ignore[attr-defined]
    return {c["id"]: c for c in doc["criteria"]}


def test_prototype_evidence_comes_from_the_latest_build_and_the_pilot_plans(
    uow: UnitOfWork,
) -> None:
    """The ready prototype of test_evaluation, plus a characteristic never measured: it is
    there with n = 0; the budget sums the prototype builds; partner and line are the pilot
    build's."""
    product = ready_prototype(uow, flow=[10.0, 10.2, 9.8])
    make_characteristic(uow, product, name="Noise", lsl=0.0, usl=30.0, ctq=True)
    evidence = gather_evidence(uow, product.key, Phase.PILOT, actor=ACTOR)
    assert evidence.phase is Phase.PROTOTYPE
    assert evidence.latest_build == f"{product.key}-P1"
    chars = {c.name: c for c in evidence.characteristics or ()}
    assert (chars["Flow"].n, chars["Flow"].out_of_spec) == (3, 0)
    assert chars["Flow"].mean == pytest.approx(10.0)
    assert (chars["Noise"].n, chars["Noise"].ctq) == (0, True)
    assert [(r.key, r.characteristics) for r in evidence.requirements or ()] == [("R1", ("Flow",))]
    assert evidence.pilot_partner == f"CM of {product.key}"
    assert evidence.pilot_line is not None
    budgets = {b.phase: (b.planned, b.actual) for b in evidence.budgets or ()}
    assert budgets[Phase.PROTOTYPE] == (5000.0, 5200.0)
    assert budgets[Phase.PILOT] == (None, None)
    assert evidence.bom is not None
    assert (evidence.bom.parts, evidence.bom.uncosted) == (1, ())
    assert evidence.bom.cost_per_unit == pytest.approx(25.0)
    # The unmeasured CTQ now leaves "every CTQ within spec" without evidence.
    criterion = _by_id(evaluate_gate(uow, product.key, Phase.PILOT, actor=ACTOR))["ctq-in-spec"]
    assert criterion["status"] == "insufficient_evidence"


def test_pilot_evidence_comes_from_the_pilot_build(uow: UnitOfWork) -> None:
    """A pilot with 4 units on a 2-station line: one reworked at S2, so 3 of 4 pass first time;
    2 units allocated to regulatory approval of 3 required; a checklist of two items, one done;
    a single-source part whose risk nobody accepted."""
    product = make_product(uow, target_unit_cost=40.0, target_annual_volume=100_000)
    crud.update(uow, products.PRODUCTS, product.id, {"regulatory_units_required": 3}, actor=ACTOR)
    rev = make_revision(uow, product)
    line = make_line(uow, stations=2)
    pilot = make_build(
        uow, code="PV-PLT", phase="pilot", fidelity=None, technique=None,
        product_id=product.id, revision_id=rev.id, line_id=line.id,
    )  # fmt: skip
    serials = [f"PV-{i}" for i in range(4)]
    units = [
        UnitRecord(s, UnitStatus.PASSED,
                   Allocation.REGULATORY if i < 2 else Allocation.UNALLOCATED, created_at=T0)
        for i, s in enumerate(serials)
    ]  # fmt: skip
    passes = []
    for i, serial in enumerate(serials):
        start = T0 + dt.timedelta(minutes=5 * i)
        for k, station in enumerate(("S1", "S2")):
            at = start + dt.timedelta(seconds=40 * k)
            passes.append(
                StationPassRecord(serial, station, at, at + dt.timedelta(seconds=30),
                                  Outcome.FAIL if (i == 3 and k == 1) else Outcome.PASS)
            )  # fmt: skip
        if i == 3:
            at = start + dt.timedelta(seconds=120)
            passes.append(
                StationPassRecord(serial, "S2", at, at + dt.timedelta(seconds=30),
                                  Outcome.PASS, attempt=2)
            )  # fmt: skip
    volume = BuildVolume(units=units, station_passes=passes)
    record_build_volume(uow, pilot.id, volume, actor=ACTOR)
    for title, done in (("Launch plan", True), ("Service manual", False)):
        crud.create(
            uow, GTM_ITEMS, {"product_id": product.id, "title": title, "done": done}, actor=ACTOR
        )
    part = crud.create(
        uow, costing.PARTS,
        {"number": "PV-MCU", "standard_cost": 3.0, "sourced": True, "single_source": True},
        actor=ACTOR,
    )  # fmt: skip
    crud.create(
        uow, costing.BOM_LINES,
        {"product_id": product.id, "revision_id": rev.id, "part_id": part.id,
         "quantity_per_unit": 1},
        actor=ACTOR,
    )  # fmt: skip
    with uow.write():
        uow.get(Product, product.id).phase = Phase.PILOT
        uow.commit()

    evidence = gather_evidence(uow, product.key, Phase.PRODUCTION, actor=ACTOR)
    assert evidence.latest_build == "PV-PLT"
    assert evidence.fpy is not None
    assert (evidence.fpy.passed_first, evidence.fpy.units) == (3, 4)
    assert evidence.intended_line == line.name
    assert [(b.code, b.line, b.units_built) for b in evidence.pilot_builds or ()] == [
        ("PV-PLT", line.name, 4)
    ]
    assert evidence.regulatory is not None
    assert (evidence.regulatory.allocated, evidence.regulatory.required) == (2, 3)
    assert [(i.name, i.done) for i in evidence.go_to_market or ()] == [
        ("Launch plan", True), ("Service manual", False)
    ]  # fmt: skip
    assert [
        (p.part, p.sourced, p.single_source, p.risk_accepted) for p in evidence.parts or ()
    ] == [("PV-MCU", True, True, False)]
    assert evidence.line_performance is not None
    assert evidence.line_performance.name == line.name
    # Demand: 100,000 a year over one 8-hour shift on 250 days = 50 an hour. The two stations
    # take about 30 s a unit (a reworked unit 60 s at S2): the simulated line makes far more.
    assert evidence.line_performance.demand_per_hour == pytest.approx(50.0)
    simulated = evidence.line_performance.simulated_throughput_per_hour
    assert simulated is not None and 60.0 < simulated < 130.0

    criteria = _by_id(evaluate_gate(uow, product.key, Phase.PRODUCTION, actor=ACTOR))
    assert criteria["regulatory-units"]["value"] == 1  # 3 required - 2 allocated
    assert criteria["go-to-market"]["value"] == 1
    assert (criteria["parts-sourced"]["status"], criteria["parts-sourced"]["value"]) == ("fail", 1)
    assert criteria["throughput-demand"]["status"] == "pass"
    # No control plan yet: coverage lacks evidence rather than passing.
    assert criteria["control-plan-coverage"]["status"] == "insufficient_evidence"
