"""Evaluating a plan: the suggestion rule, waivers and the JSON contract shape."""

from __future__ import annotations

import json

import pytest

from phasegate.domain.enums import GateOutcome, Phase, Priority, RequirementStatus
from phasegate.domain.errors import InvalidInput
from phasegate.domain.policy import Role
from phasegate.gates import (
    BomEvidence,
    BudgetEvidence,
    CharacteristicEvidence,
    ChecklistItem,
    ControlPlanEvidence,
    CostEvidence,
    CriterionStatus,
    FpyEvidence,
    GatePlan,
    GaugeEvidence,
    LineEvidence,
    PartSourcing,
    PilotBuildEvidence,
    RegulatoryEvidence,
    RequirementEvidence,
    Waiver,
    default_plan,
    evaluate,
)


def _plan(*specs):
    return GatePlan("test", "7", Phase.PILOT, Phase.PRODUCTION, tuple(specs))


@pytest.fixture
def specs(spec_of):
    """An FPY criterion and a regulatory-units criterion, blocking or advisory as asked."""

    def make(*, fpy_blocking=True, reg_blocking=False):
        return (
            spec_of(
                "fpy_lower_bound", ">=", 0.9, confidence=0.95, blocking=fpy_blocking, cid="fpy"
            ),
            spec_of("regulatory_units", "<=", 0, blocking=reg_blocking, cid="reg"),
        )

    return make


GOOD_FPY = FpyEvidence("P1", 99, 100)
BAD_FPY = FpyEvidence("P1", 80, 100)
GOOD_REG = RegulatoryEvidence(6, 6)
BAD_REG = RegulatoryEvidence(2, 6)


@pytest.mark.parametrize(
    ("fpy", "reg", "fpy_blocking", "reg_blocking", "suggestion"),
    [
        (GOOD_FPY, GOOD_REG, True, False, GateOutcome.GO),
        (BAD_FPY, GOOD_REG, True, False, GateOutcome.NO_GO),  # blocking fail
        (None, GOOD_REG, True, False, GateOutcome.NO_GO),  # blocking insufficient
        (GOOD_FPY, BAD_REG, True, False, GateOutcome.CONDITIONAL),  # advisory fail
        (GOOD_FPY, None, True, False, GateOutcome.CONDITIONAL),  # advisory insufficient
        (GOOD_FPY, BAD_REG, True, True, GateOutcome.NO_GO),
        (BAD_FPY, BAD_REG, False, False, GateOutcome.CONDITIONAL),
        (None, None, False, False, GateOutcome.CONDITIONAL),
    ],
)
def test_suggestion_rule(specs, evidence_of, fpy, reg, fpy_blocking, reg_blocking, suggestion):
    plan = _plan(*specs(fpy_blocking=fpy_blocking, reg_blocking=reg_blocking))
    result = evaluate(plan, evidence_of(fpy=fpy, regulatory=reg, phase=Phase.PILOT))
    assert result.suggestion is suggestion


def test_as_dict_is_the_json_contract(specs, evidence_of):
    result = evaluate(_plan(*specs()), evidence_of(fpy=GOOD_FPY, phase=Phase.PILOT))
    data = json.loads(json.dumps(result.as_dict()))
    assert list(data) == ["product", "from", "to", "plan", "suggestion", "criteria"]
    assert (data["product"], data["from"], data["to"]) == ("AQM-1", "pilot", "production")
    assert data["plan"] == {"name": "test", "version": "7"}
    assert data["suggestion"] == "conditional"
    fpy, reg = data["criteria"]
    assert list(fpy) == [
        "id",
        "title",
        "status",
        "blocking",
        "value",
        "threshold",
        "confidence",
        "evidence",
        "links",
    ]
    assert fpy["status"] == "pass"
    assert fpy["value"] == result.criteria[0].value  # unrounded
    assert fpy["value"] != round(fpy["value"], 6)
    assert (fpy["threshold"], fpy["confidence"], fpy["blocking"]) == (0.9, 0.95, True)
    assert fpy["evidence"]["passed_first"] == 99
    assert fpy["links"] == [{"kind": "build", "code": "P1"}]
    assert reg["status"] == "insufficient_evidence"
    assert reg["evidence"]["missing"] == ["allocation of pilot units"]
    assert reg["value"] is None


def test_a_waiver_turns_a_fail_into_waived(specs, evidence_of):
    plan = _plan(*specs())
    evidence = evidence_of(fpy=BAD_FPY, regulatory=GOOD_REG, phase=Phase.PILOT)
    assert evaluate(plan, evidence).suggestion is GateOutcome.NO_GO
    waiver = Waiver("fpy", "  Station 3 fixture fault, fixed in P2; retest planned. ", Role.QUALITY)
    result = evaluate(plan, evidence, [waiver])
    fpy = result.criteria[0]
    assert fpy.status is CriterionStatus.WAIVED
    assert fpy.evidence["waiver"] == {
        "reason": "Station 3 fixture fault, fixed in P2; retest planned.",
        "by": "quality",
        "status": "fail",
    }
    assert fpy.value == pytest.approx(0.7, abs=0.05)  # the value stays for people to see
    assert result.suggestion is GateOutcome.GO
    assert result.as_dict()["criteria"][0]["status"] == "waived"


def test_a_waiver_of_missing_evidence_keeps_what_was_missing(specs, evidence_of):
    plan = _plan(*specs())
    result = evaluate(
        plan,
        evidence_of(fpy=GOOD_FPY, phase=Phase.PILOT),
        [Waiver("reg", "No approval needed for the EU-only launch.", Role.PRODUCT)],
    )
    reg = result.criteria[1]
    assert reg.status is CriterionStatus.WAIVED
    assert reg.evidence["waiver"]["status"] == "insufficient_evidence"
    assert reg.missing == ("allocation of pilot units",)
    assert result.suggestion is GateOutcome.GO


def test_a_waiver_of_a_passing_criterion_changes_nothing(specs, evidence_of):
    plan = _plan(*specs())
    evidence = evidence_of(fpy=GOOD_FPY, regulatory=GOOD_REG, phase=Phase.PILOT)
    result = evaluate(plan, evidence, [Waiver("fpy", "Belt and braces.", Role.ENGINEER)])
    assert result.criteria[0].status is CriterionStatus.PASS
    assert "waiver" not in result.criteria[0].evidence


@pytest.mark.parametrize(
    ("waivers", "loc"),
    [
        ([Waiver("fpy", "", Role.QUALITY)], "waivers[0].reason"),
        (
            [Waiver("reg", "ok", Role.QUALITY), Waiver("fpy", "   ", Role.QUALITY)],
            "waivers[1].reason",
        ),
        ([Waiver("nope", "ok", Role.QUALITY)], "waivers[0].criterion_id"),
        (
            [Waiver("fpy", "a", Role.QUALITY), Waiver("fpy", "b", Role.PRODUCT)],
            "waivers[1].criterion_id",
        ),
    ],
)
def test_bad_waivers_are_refused(specs, evidence_of, waivers, loc):
    with pytest.raises(InvalidInput) as caught:
        evaluate(_plan(*specs()), evidence_of(fpy=BAD_FPY), waivers)
    assert caught.value.fields[0].loc == loc


@pytest.mark.parametrize("to_phase", [Phase.PILOT, Phase.PRODUCTION])
def test_default_plans_on_no_evidence_say_no_go_and_name_what_is_missing(to_phase, evidence_of):
    plan = default_plan(to_phase)
    result = evaluate(plan, evidence_of())
    assert result.suggestion is GateOutcome.NO_GO
    assert not any(c.status is CriterionStatus.PASS for c in result.criteria)
    for c in result.criteria:
        if c.status is CriterionStatus.INSUFFICIENT:
            assert c.missing, c.id
    json.dumps(result.as_dict())


def _ready_for_production(evidence_of):
    ctqs = tuple(
        CharacteristicEvidence(name, "P2", True, 120, 1.0, 0, 1.8, None, 0)
        for name in ("Flow", "Gap")
    )
    return evidence_of(
        phase=Phase.PILOT,
        target_unit_cost=80.0,
        latest_build="P2",
        characteristics=ctqs,
        findings=(),
        intended_line="Line A",
        pilot_builds=(PilotBuildEvidence("P2", "Line A", 120),),
        fpy=FpyEvidence("P2", 118, 120),
        line_performance=LineEvidence("Line A", "Solder", 50.0, 60.0, 75.0, 60.0),
        cost=CostEvidence(72.0, 50_000),
        control_plan=ControlPlanEvidence("CP", "1", ("Flow", "Gap")),
        gauges=(GaugeEvidence("Flow", "F-1", 7.5, 12), GaugeEvidence("Gap", "M-2", 12.0, 9)),
        parts=(PartSourcing("IC-1", True, True, True),),
        go_to_market=(ChecklistItem("Pricing", True),),
        regulatory=RegulatoryEvidence(6, 6),
    )


def test_a_product_ready_for_production_gets_a_conditional_go_for_its_gauge(evidence_of):
    plan = default_plan(Phase.PRODUCTION)
    result = evaluate(plan, _ready_for_production(evidence_of))
    statuses = {c.id: c.status for c in result.criteria}
    # Gap's gauge at 12 % GRR is acceptable only on condition (AIAG 10-30 %): the advisory
    # criterion fails, every blocking one passes.
    assert statuses.pop("gage-rr-good") is CriterionStatus.FAIL
    assert set(statuses.values()) == {CriterionStatus.PASS}
    assert result.suggestion is GateOutcome.CONDITIONAL
    waived = evaluate(
        plan,
        _ready_for_production(evidence_of),
        [Waiver("gage-rr-good", "New micrometer ordered for Gap, due in May.", Role.QUALITY)],
    )
    assert waived.suggestion is GateOutcome.GO


def test_a_prototype_ready_for_its_pilot_gets_a_go(evidence_of):
    evidence = evidence_of(
        requirements=(
            RequirementEvidence(
                "R1", "Accurate", Priority.MUST, RequirementStatus.ACCEPTED, ("Flow",)
            ),
            RequirementEvidence("R2", "Quiet", Priority.MUST, RequirementStatus.VERIFIED),
        ),
        latest_build="B2",
        characteristics=(CharacteristicEvidence("Flow", "B2", True, 8, 1.0, 0, 1.1),),
        findings=(),
        bom=BomEvidence("B", 40, (), 31.5, 35.0),
        pilot_partner="Acme EMS",
        pilot_line="Line A",
        budgets=(BudgetEvidence(Phase.PROTOTYPE, 40_000.0, 45_000.0),),
    )
    result = evaluate(default_plan(Phase.PILOT), evidence)
    statuses = {c.id: c.status for c in result.criteria}
    # 12.5 % over the prototype budget: the advisory criterion fails.
    assert statuses.pop("prototype-budget-variance") is CriterionStatus.FAIL
    assert set(statuses.values()) == {CriterionStatus.PASS}
    assert result.suggestion is GateOutcome.CONDITIONAL
