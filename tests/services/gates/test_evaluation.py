"""A product's gate evaluated from the database: the plan, the evidence and the suggestion.

The products are built by hand through the services, so each answer below follows from the
records made here: a product with no data lacks evidence and says what is missing, a prototype
with everything the prototype -> pilot plan asks for gets a go, and one CTQ out of spec makes
it a no go naming that CTQ.
"""

from __future__ import annotations

import datetime as dt

import pytest

from phasegate.domain.enums import Outcome, Phase, UnitStatus
from phasegate.domain.errors import Forbidden, InvalidInput
from phasegate.domain.policy import Role
from phasegate.gates import Waiver
from phasegate.services import costing, crud, products
from phasegate.services.gates.evaluation import evaluate_gate, plan_for
from phasegate.services.gates.records import GATE_PLANS
from phasegate.services.volume import (
    BuildVolume,
    MeasurementRecord,
    RunRecord,
    UnitRecord,
    record_build_volume,
)
from phasegate.store.models import Product
from phasegate.store.uow import UnitOfWork
from tests.factories import (
    ACTOR,
    make_build,
    make_characteristic,
    make_finding,
    make_line,
    make_partner,
    make_product,
    make_revision,
    person,
)

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def _measure(uow: UnitOfWork, build_id: int, code: str, name: str, values: list[float]) -> None:
    """One unit and one test run per value, off the line."""
    runs = [
        RunRecord(
            unit=f"{code}-{i:03d}",
            station=None,
            procedure="final",
            outcome=Outcome.PASS,
            started_at=T0 + dt.timedelta(minutes=i),
            ended_at=T0 + dt.timedelta(minutes=i, seconds=30),
            source_id=f"{code}-{i:03d}/final",
            measurements=(MeasurementRecord(name, v, Outcome.PASS, T0 + dt.timedelta(minutes=i)),),
        )
        for i, v in enumerate(values)
    ]
    units = [UnitRecord(r.unit, UnitStatus.PASSED, created_at=T0) for r in runs]
    record_build_volume(uow, build_id, BuildVolume(units=units, test_runs=runs), actor=ACTOR)


def ready_prototype(uow: UnitOfWork, *, flow: list[float]) -> Product:
    """A prototype with a verified must-have requirement, the CTQ Flow measured on its latest
    build with ``flow``, a costed BOM of 25 against a target of 40, a pilot build with a
    partner and a line, and a prototype budget of 5000 spent 5200 (4 % over, within 10 %)."""
    product = make_product(uow, target_unit_cost=40.0)
    rev = make_revision(uow, product)
    req = crud.create(
        uow,
        products.REQUIREMENTS,
        {"product_id": product.id, "key": "R1", "title": "Flow", "priority": "must",
         "status": "verified"},
        actor=ACTOR,
    )  # fmt: skip
    make_characteristic(
        uow, product, name="Flow", lsl=9.0, usl=11.0, ctq=True, requirement_id=req.id
    )
    common = {"product_id": product.id, "revision_id": rev.id}
    proto = make_build(uow, code=f"{product.key}-P1", actual_cost=5200.0, **common)
    _measure(uow, proto.id, proto.code, "Flow", flow)
    part = crud.create(
        uow, costing.PARTS, {"number": f"{product.key}-IC", "standard_cost": 12.5}, actor=ACTOR
    )
    crud.create(
        uow,
        costing.BOM_LINES,
        {"product_id": product.id, "revision_id": rev.id, "part_id": part.id,
         "quantity_per_unit": 2},
        actor=ACTOR,
    )  # fmt: skip
    partner, line = make_partner(uow, name=f"CM of {product.key}"), make_line(uow, stations=2)
    make_build(
        uow, code=f"{product.key}-PLT", phase="pilot", fidelity=None, technique=None,
        partner_id=partner.id, line_id=line.id, budget=None, **common,
    )  # fmt: skip
    return product


def _by_id(evaluation: object) -> dict[str, dict[str, object]]:
    doc = evaluation.as_dict()  # type: ignore[attr-defined]
    return {c["id"]: c for c in doc["criteria"]}


def test_a_product_with_no_data_lacks_evidence_and_says_what_is_missing(uow: UnitOfWork) -> None:
    product = make_product(uow, target_unit_cost=None)
    result = evaluate_gate(uow, product.key, Phase.PILOT, actor=ACTOR)
    doc = result.as_dict()
    assert (doc["product"], doc["from"], doc["to"]) == (product.key, "prototype", "pilot")
    assert doc["plan"] == {"name": "prototype-pilot", "version": "1"}
    assert doc["suggestion"] == "no_go"
    criteria = _by_id(result)
    for cid in ("must-requirements-verified", "ctq-in-spec", "bom-costed-within-target",
                "prototype-budget-variance"):  # fmt: skip
        assert criteria[cid]["status"] == "insufficient_evidence", cid
        assert criteria[cid]["evidence"]["missing"], cid  # type: ignore[index]
    # Not having chosen a partner and a line is the fact judged: it fails, naming both.
    assert criteria["pilot-partner-and-line"]["status"] == "fail"
    assert criteria["pilot-partner-and-line"]["value"] == 2
    # No findings at all is data: none open.
    assert criteria["no-open-design-material-findings"]["status"] == "pass"


def test_aready_prototype_gets_a_go(uow: UnitOfWork) -> None:
    product = ready_prototype(uow, flow=[10.0, 10.1, 9.9, 10.05, 9.95])
    result = evaluate_gate(uow, product.key, Phase.PILOT, actor=ACTOR)
    criteria = _by_id(result)
    assert {c: v["status"] for c, v in criteria.items()} == dict.fromkeys(criteria, "pass")
    assert result.suggestion.value == "go"
    # BOM: 2 x 12.5 = 25 against 40; budget: 5200 / 5000 - 1 = 0.04.
    assert criteria["bom-costed-within-target"]["value"] == pytest.approx(25.0 / 40.0)
    assert criteria["prototype-budget-variance"]["value"] == pytest.approx(0.04)


def test_a_ctq_out_of_spec_is_a_no_go_naming_it(uow: UnitOfWork) -> None:
    product = ready_prototype(uow, flow=[10.0, 11.6, 9.9])
    result = evaluate_gate(uow, product.key, Phase.PILOT, actor=ACTOR)
    criteria = _by_id(result)
    assert result.suggestion.value == "no_go"
    ctq = criteria["ctq-in-spec"]
    assert (ctq["status"], ctq["value"]) == ("fail", 1)
    assert {"kind": "characteristic", "build": f"{product.key}-P1", "name": "Flow"} in ctq["links"]  # type: ignore[operator]
    # The requirement Flow verifies is marked verified, so it stands; the CTQ fails on its own.
    assert criteria["must-requirements-verified"]["status"] == "pass"


def test_an_open_major_design_finding_is_a_no_go_linking_it(uow: UnitOfWork) -> None:
    product = ready_prototype(uow, flow=[10.0, 10.1, 9.9])
    finding = make_finding(uow, product, category="design_flaw", severity="major")
    make_finding(uow, product, category="design_flaw", severity="minor")
    result = evaluate_gate(uow, product.key, Phase.PILOT, actor=ACTOR)
    criterion = _by_id(result)["no-open-design-material-findings"]
    assert (criterion["status"], criterion["value"]) == ("fail", 1)
    assert criterion["links"] == [{"kind": "finding", "id": finding.id}]
    assert result.suggestion.value == "no_go"


def test_a_waiver_turns_the_failure_into_a_waived_answer(uow: UnitOfWork) -> None:
    product = ready_prototype(uow, flow=[10.0, 11.6, 9.9])
    waiver = Waiver("ctq-in-spec", "one unit from a mis-set fixture; retest passed", Role.QUALITY)
    result = evaluate_gate(uow, product.key, Phase.PILOT, actor=ACTOR, waivers=[waiver])
    assert _by_id(result)["ctq-in-spec"]["status"] == "waived"
    assert result.suggestion.value == "go"


def test_only_the_next_gate_is_evaluated(uow: UnitOfWork) -> None:
    product = make_product(uow)
    with pytest.raises(InvalidInput) as error:
        evaluate_gate(uow, product.key, Phase.PRODUCTION, actor=ACTOR)
    assert error.value.fields[0].loc == "to"
    assert "next gate is into pilot, not production" in error.value.message


def test_the_latest_override_of_the_product_applies(uow: UnitOfWork) -> None:
    product = ready_prototype(uow, flow=[10.0, 11.6, 9.9])
    for label, blocking in (("A", "true"), ("B", "false")):
        crud.create(
            uow,
            GATE_PLANS,
            {"product_id": product.id, "to_phase": "pilot",
             "toml": f'version = "{label}"\n[criteria.ctq-in-spec]\nblocking = {blocking}\n'},
            actor=ACTOR,
        )  # fmt: skip
    plan = plan_for(uow, product.key, Phase.PILOT, actor=ACTOR)
    assert plan.version == "1+B"
    result = evaluate_gate(uow, product.key, Phase.PILOT, actor=ACTOR)
    assert result.plan_version == "1+B"
    # The failing CTQ is advisory under B: a conditional go.
    assert result.suggestion.value == "conditional"


def test_an_override_that_does_not_fit_the_plan_is_refused_naming_the_key(
    uow: UnitOfWork,
) -> None:
    product = make_product(uow)
    with pytest.raises(InvalidInput) as error:
        crud.create(
            uow,
            GATE_PLANS,
            {"product_id": product.id, "to_phase": "production",
             "toml": 'version = "X"\n[criteria.nope]\nblocking = false\n'},
            actor=ACTOR,
        )  # fmt: skip
    assert error.value.fields[0].loc == "toml.criteria.nope"


def test_reading_a_gate_needs_the_gate_decision_read_right(uow: UnitOfWork) -> None:
    product = make_product(uow)
    partner = make_partner(uow)
    outsider = person("cm user", Role.PARTNER, partner_id=partner.id)
    with pytest.raises(Forbidden):
        evaluate_gate(uow, product.key, Phase.PILOT, actor=outsider)
