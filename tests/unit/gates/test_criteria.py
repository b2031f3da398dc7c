"""The criteria library: each metric's pass, fail, boundary (exactly at the threshold) and
missing-data answers."""

from __future__ import annotations

import math

import pytest

from phasegate.domain.enums import (
    FindingCategory,
    Phase,
    Priority,
    RequirementStatus,
    Severity,
)
from phasegate.domain.errors import InvalidInput
from phasegate.gates import (
    METRICS,
    BomEvidence,
    BudgetEvidence,
    CharacteristicEvidence,
    ChecklistItem,
    ControlPlanEvidence,
    CostEvidence,
    CriterionStatus,
    FindingEvidence,
    FpyEvidence,
    GaugeEvidence,
    LineEvidence,
    PartSourcing,
    PilotBuildEvidence,
    RegulatoryEvidence,
    RequirementEvidence,
    evaluate_criterion,
    metric,
)

PASS = CriterionStatus.PASS
FAIL = CriterionStatus.FAIL
MISSING = CriterionStatus.INSUFFICIENT


def char(name, *, ctq=True, n=30, out=0, cpk=1.5, signals=0, build="P1", dof=None):
    return CharacteristicEvidence(
        name=name,
        build=build,
        ctq=ctq,
        n=n,
        mean=1.0,
        out_of_spec=out,
        cpk=cpk,
        cpk_dof=dof,
        open_signals=signals,
    )


def judge(spec, evidence):
    return evaluate_criterion(spec, evidence)


def test_unknown_metric_names_it():
    with pytest.raises(InvalidInput, match="unknown metric 'yield_magic'"):
        metric("yield_magic")


# --- must-have requirements ---


def _req(key, status=RequirementStatus.ACCEPTED, chars=(), priority=Priority.MUST):
    return RequirementEvidence(key, f"Requirement {key}", priority, status, tuple(chars))


def test_requirements_verified_by_status_or_by_characteristics(spec_of, evidence_of):
    spec = spec_of("must_requirements_verified", "<=", 0)
    ev = evidence_of(
        requirements=(
            _req("R1", RequirementStatus.VERIFIED),
            _req("R2", chars=["Flow", "Noise"]),
            _req("R3", RequirementStatus.PROPOSED, priority=Priority.COULD),  # not a must
            _req("R4", RequirementStatus.REJECTED),  # rejected: not required
        ),
        latest_build="P1",
        characteristics=(char("Flow"), char("Noise", ctq=False)),
    )
    result = judge(spec, ev)
    assert result.status is PASS
    assert result.value == 0
    assert result.evidence["verified"] == ["R1", "R2"]
    assert result.evidence["must_have"] == 2  # at the threshold 0: pass


def test_requirement_with_an_out_of_spec_characteristic_fails(spec_of, evidence_of):
    spec = spec_of("must_requirements_verified", "<=", 0)
    ev = evidence_of(
        requirements=(_req("R1", chars=["Flow"]), _req("R2", chars=["Noise"])),
        latest_build="P1",
        characteristics=(char("Flow", out=1),),  # Noise not measured
    )
    result = judge(spec, ev)
    # R2's missing measurements cannot undo R1's failure.
    assert result.status is FAIL
    assert result.value == 1
    assert result.evidence["failed"] == ["R1"]
    assert result.missing == ("requirement R2: measurements of Noise on P1",)
    assert {"kind": "characteristic", "build": "P1", "name": "Flow"} in result.links


def test_one_unverified_of_two_within_a_threshold_of_one(spec_of, evidence_of):
    spec = spec_of("must_requirements_verified", "<=", 1)
    ev = evidence_of(
        requirements=(_req("R1", chars=["Flow"]), _req("R2", RequirementStatus.VERIFIED)),
        characteristics=(char("Flow", out=3),),
    )
    assert judge(spec, ev).status is PASS


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({}, ("requirements",)),
        ({"requirements": ()}, ("must-have requirements",)),
        (
            {"requirements": (_req("R1"),)},
            ("requirement R1: a characteristic to verify it by",),
        ),
        (
            {"requirements": (_req("R1", chars=["Flow"]),), "latest_build": "P1"},
            ("requirement R1: measurements of Flow on P1",),
        ),
        (
            {
                "requirements": (_req("R1", chars=["Flow"]),),
                "characteristics": (char("Flow", n=0, out=None),),
            },
            ("requirement R1: measurements of Flow on the latest build",),
        ),
    ],
)
def test_requirements_without_data_are_insufficient(spec_of, evidence_of, fields, missing):
    result = judge(spec_of("must_requirements_verified", "<=", 0), evidence_of(**fields))
    assert result.status is MISSING
    assert result.missing == missing


# --- CTQs within spec ---


def test_ctqs_within_spec_pass_at_zero_and_fail_with_one_out(spec_of, evidence_of):
    spec = spec_of("ctq_within_spec", "<=", 0)
    good = evidence_of(
        latest_build="P1", characteristics=(char("Flow"), char("Colour", ctq=False, out=4))
    )
    assert judge(spec, good).status is PASS  # a non-CTQ out of spec does not count
    bad = evidence_of(latest_build="P1", characteristics=(char("Flow", out=1), char("Gap")))
    result = judge(spec, bad)
    assert (result.status, result.value, result.evidence["out_of_spec"]) == (FAIL, 1, ["Flow"])


def test_ctqs_within_spec_missing_data(spec_of, evidence_of):
    spec = spec_of("ctq_within_spec", "<=", 0)
    assert judge(spec, evidence_of()).missing == (
        "characteristic measurements of the latest build",
    )
    no_ctq = judge(spec, evidence_of(characteristics=(char("Colour", ctq=False),)))
    assert no_ctq.status is MISSING
    assert no_ctq.missing == ("CTQ characteristics (none is flagged CTQ)",)
    unmeasured = judge(spec, evidence_of(characteristics=(char("Flow"), char("Gap", n=0))))
    assert unmeasured.status is MISSING
    assert unmeasured.missing == ("measurements of CTQ Gap on P1",)


# --- open findings ---


def _finding(i, category, severity, open_=True):
    return FindingEvidence(i, f"Finding {i}", category, severity, open_)


def test_open_findings_count_only_the_listed_categories_and_severities(spec_of, evidence_of):
    spec = spec_of(
        "open_findings",
        "<=",
        0,
        categories=("design_flaw", "material_weakness"),
        severities=("critical", "major"),
    )
    findings = (
        _finding(1, FindingCategory.DESIGN_FLAW, Severity.MINOR),
        _finding(2, FindingCategory.SUPPLY, Severity.CRITICAL),
        _finding(3, FindingCategory.MATERIAL_WEAKNESS, Severity.MAJOR, open_=False),
    )
    assert judge(spec, evidence_of(findings=findings)).status is PASS
    worse = (*findings, _finding(4, FindingCategory.MATERIAL_WEAKNESS, Severity.CRITICAL))
    result = judge(spec, evidence_of(findings=worse))
    assert (result.status, result.value) == (FAIL, 1)
    assert result.links == ({"kind": "finding", "id": 4},)


def test_open_findings_without_params_count_every_open_one(spec_of, evidence_of):
    spec = spec_of("open_findings", "<=", 1)
    two = (
        _finding(1, FindingCategory.COST, Severity.COSMETIC),
        _finding(2, FindingCategory.QUALITY, Severity.MINOR),
    )
    assert judge(spec, evidence_of(findings=two[:1])).status is PASS  # 1 <= 1
    assert judge(spec, evidence_of(findings=two)).status is FAIL
    assert judge(spec, evidence_of(findings=())).status is PASS
    assert judge(spec, evidence_of()).missing == ("findings",)


# --- BOM ---


def _bom(cost=40.0, target=50.0, uncosted=(), parts=12):
    return BomEvidence("B", parts, tuple(uncosted), cost, target)


def test_bom_cost_against_target(spec_of, evidence_of):
    spec = spec_of("bom_cost_vs_target", "<=", 1.0)
    assert judge(spec, evidence_of(bom=_bom(40.0))).value == pytest.approx(0.8)
    at_target = judge(spec, evidence_of(bom=_bom(50.0)))
    assert (at_target.status, at_target.value) == (PASS, 1.0)
    assert judge(spec, evidence_of(bom=_bom(50.01))).status is FAIL


def test_bom_with_uncosted_parts(spec_of, evidence_of):
    spec = spec_of("bom_cost_vs_target", "<=", 1.0)
    open_ = judge(spec, evidence_of(bom=_bom(40.0, uncosted=["PCB-7"])))
    assert open_.status is MISSING
    assert open_.missing == ("cost of part PCB-7",)
    # Already over target: costing the last part can only make it worse.
    over = judge(spec, evidence_of(bom=_bom(55.0, uncosted=["PCB-7"])))
    assert over.status is FAIL


@pytest.mark.parametrize(
    ("bom", "missing"),
    [
        (None, ("a BOM",)),
        (_bom(target=None), ("a positive target cost",)),
        (_bom(parts=0, cost=0.0), ("BOM lines of revision B",)),
    ],
)
def test_bom_missing(spec_of, evidence_of, bom, missing):
    result = judge(spec_of("bom_cost_vs_target", "<=", 1.0), evidence_of(bom=bom))
    assert (result.status, result.missing) == (MISSING, missing)


# --- partner and line ---


def test_pilot_partner_and_line(spec_of, evidence_of):
    spec = spec_of("pilot_partner_and_line", "<=", 0)
    both = judge(spec, evidence_of(pilot_partner="Acme EMS", pilot_line="Line A"))
    assert (both.status, both.value) == (PASS, 0)
    assert both.links == (
        {"kind": "partner", "name": "Acme EMS"},
        {"kind": "line", "name": "Line A"},
    )
    one = judge(spec, evidence_of(pilot_partner="Acme EMS"))
    assert (one.status, one.value, one.evidence["not_chosen"]) == (FAIL, 1, ["line"])
    assert judge(spec, evidence_of()).status is FAIL


# --- budget variance ---


def test_budget_variance_of_the_current_phase(spec_of, evidence_of):
    spec = spec_of("budget_variance", "<=", 0.10)
    budgets = (BudgetEvidence(Phase.PROTOTYPE, 20_000.0, 22_000.0),)
    at_limit = judge(spec, evidence_of(budgets=budgets))
    assert at_limit.value == pytest.approx(0.10)
    assert at_limit.status is PASS
    over = (BudgetEvidence(Phase.PROTOTYPE, 20_000.0, 22_001.0),)
    assert judge(spec, evidence_of(budgets=over)).status is FAIL
    under = (BudgetEvidence(Phase.PROTOTYPE, 20_000.0, 15_000.0),)
    assert judge(spec, evidence_of(budgets=under)).value == pytest.approx(-0.25)


def test_budget_variance_of_a_named_phase(spec_of, evidence_of):
    spec = spec_of("budget_variance", "<=", 0.0, phase="pilot")
    budgets = (
        BudgetEvidence(Phase.PROTOTYPE, 1.0, 9.0),
        BudgetEvidence(Phase.PILOT, 100.0, 90.0),
    )
    result = judge(spec, evidence_of(phase=Phase.PRODUCTION, budgets=budgets))
    assert (result.status, result.value) == (PASS, pytest.approx(-0.1))


@pytest.mark.parametrize(
    ("budgets", "missing"),
    [
        (None, ("budgets",)),
        ((), ("prototype budget",)),
        ((BudgetEvidence(Phase.PROTOTYPE, None, 5.0),), ("a planned prototype budget above 0",)),
        ((BudgetEvidence(Phase.PROTOTYPE, 0.0, 5.0),), ("a planned prototype budget above 0",)),
        ((BudgetEvidence(Phase.PROTOTYPE, 5.0, None),), ("the actual prototype spend",)),
    ],
)
def test_budget_variance_missing(spec_of, evidence_of, budgets, missing):
    result = judge(spec_of("budget_variance", "<=", 0.1), evidence_of(budgets=budgets))
    assert (result.status, result.missing) == (MISSING, missing)


# --- pilot quantity ---


def test_pilot_quantity_counts_only_the_intended_line(spec_of, evidence_of):
    spec = spec_of("pilot_quantity_on_line", ">=", 100)
    builds = (
        PilotBuildEvidence("P1", "Line A", 60),
        PilotBuildEvidence("P2", "Line A", 40),
        PilotBuildEvidence("P0", "Lab bench", 500),
    )
    result = judge(spec, evidence_of(intended_line="Line A", pilot_builds=builds))
    assert (result.status, result.value) == (PASS, 100)  # exactly the minimum
    assert result.evidence["builds_on_other_lines"] == ["P0"]
    short = judge(spec, evidence_of(intended_line="Line A", pilot_builds=builds[:1]))
    assert (short.status, short.value) == (FAIL, 60)
    elsewhere = judge(spec, evidence_of(intended_line="Line B", pilot_builds=builds))
    assert (elsewhere.status, elsewhere.value) == (FAIL, 0)


def test_pilot_quantity_with_unknown_unit_counts(spec_of, evidence_of):
    spec = spec_of("pilot_quantity_on_line", ">=", 100)
    unknown = (PilotBuildEvidence("P1", "Line A", 60), PilotBuildEvidence("P2", "Line A", None))
    result = judge(spec, evidence_of(intended_line="Line A", pilot_builds=unknown))
    assert (result.status, result.missing) == (MISSING, ("units built in P2",))
    # Enough units already known: the unknown build can only add to them.
    enough = (PilotBuildEvidence("P1", "Line A", 120), PilotBuildEvidence("P2", "Line A", None))
    assert judge(spec, evidence_of(intended_line="Line A", pilot_builds=enough)).status is PASS


def test_pilot_quantity_missing(spec_of, evidence_of):
    spec = spec_of("pilot_quantity_on_line", ">=", 100)
    assert judge(spec, evidence_of()).missing == ("the intended production line", "pilot builds")
    assert judge(spec, evidence_of(intended_line="A")).missing == ("pilot builds",)


# --- FPY ---


def test_fpy_lower_bound_is_the_one_sided_wilson_bound(spec_of, evidence_of):
    # Hand-computed Wilson score bound, z = 1.644854 (one-sided 95 %), 95 of 100:
    # (0.95 + z²/200 - z·sqrt(0.95·0.05/100 + z²/40000)) / (1 + z²/100) = 0.90084.
    spec = spec_of("fpy_lower_bound", ">=", 0.90, confidence=0.95)
    result = judge(spec, evidence_of(fpy=FpyEvidence("P1", 95, 100)))
    assert result.value == pytest.approx(0.90084, abs=5e-6)
    assert result.status is PASS
    assert result.evidence["point"] == 0.95
    assert result.confidence == 0.95
    assert judge(spec, evidence_of(fpy=FpyEvidence("P1", 94, 100))).status is FAIL


def test_fpy_lower_bound_against_newcombe(spec_of, evidence_of):
    # Source: Newcombe (1998), Statistics in Medicine 17, 857-872, Table I, method 3 (Wilson
    # score): 81/263 gives 0.2553 to 0.3662 at 95 % two-sided, so its one-sided 97.5 % lower
    # bound is 0.2553.
    spec = spec_of("fpy_lower_bound", ">=", 0.2553, confidence=0.975)
    result = judge(spec, evidence_of(fpy=FpyEvidence("P1", 81, 263)))
    assert result.value == pytest.approx(0.2553, abs=5e-5)


def test_fpy_boundary_and_missing(spec_of, evidence_of):
    # All 30 units passing: Wilson lower bound n/(n + z²) = 30 / (30 + 1.644854²) = 0.917276.
    all_pass = evidence_of(fpy=FpyEvidence("P1", 30, 30))
    bound = judge(spec_of("fpy_lower_bound", ">=", 0.9, confidence=0.95), all_pass).value
    assert bound == pytest.approx(0.917276, abs=1e-6)
    at = spec_of("fpy_lower_bound", ">=", bound, confidence=0.95)
    assert judge(at, all_pass).status is PASS
    above = spec_of("fpy_lower_bound", ">=", math.nextafter(bound, 1.0), confidence=0.95)
    assert judge(above, all_pass).status is FAIL
    spec = spec_of("fpy_lower_bound", ">=", 0.9, confidence=0.95)
    assert judge(spec, evidence_of()).missing == ("first-pass counts of the pilot",)
    none_built = judge(spec, evidence_of(fpy=FpyEvidence("P1", 0, 0)))
    assert (none_built.status, none_built.missing) == (MISSING, ("units through P1",))


# --- Cpk ---


def test_cpk_lower_bound_is_bissells_bound_of_the_worst_ctq(spec_of, evidence_of):
    # Hand-computed Bissell (1990) bound: 1.33 - 1.644854·sqrt(1/(9·20) + 1.33²/(2·19)) = 0.9545.
    spec = spec_of("cpk_lower_bound", ">=", 1.0, confidence=0.95)
    ev = evidence_of(
        latest_build="P1", characteristics=(char("Flow", n=20, cpk=1.33), char("Gap", cpk=2.0))
    )
    result = judge(spec, ev)
    assert result.value == pytest.approx(0.9545, abs=1e-4)
    assert result.evidence["worst"] == "Flow"
    assert result.status is FAIL
    relaxed = spec_of("cpk_lower_bound", ">=", 0.95, confidence=0.95)
    assert judge(relaxed, ev).status is PASS


def test_cpk_lower_bound_uses_the_given_degrees_of_freedom(spec_of, evidence_of):
    spec = spec_of("cpk_lower_bound", ">=", 1.0, confidence=0.95)
    full = judge(spec, evidence_of(characteristics=(char("Flow", n=20, cpk=1.33),)))
    fewer = judge(spec, evidence_of(characteristics=(char("Flow", n=20, cpk=1.33, dof=9.0),)))
    # Fewer degrees of freedom for sigma: a wider interval, a lower bound.
    assert fewer.value < full.value


def test_cpk_point_boundary_and_missing(spec_of, evidence_of):
    spec = spec_of("cpk_point", ">=", 1.33)
    at = judge(spec, evidence_of(characteristics=(char("Flow", cpk=1.33), char("Gap", cpk=2.1))))
    assert (at.status, at.value) == (PASS, 1.33)
    below = judge(spec, evidence_of(characteristics=(char("Flow", cpk=1.329),)))
    assert below.status is FAIL
    unknown = judge(
        spec, evidence_of(characteristics=(char("Flow", cpk=1.5), char("Gap", cpk=None)))
    )
    assert (unknown.status, unknown.missing) == (MISSING, ("Cpk of CTQ Gap on P1",))
    # An incapable CTQ fails the gate whatever the unknown one shows.
    failed = judge(
        spec, evidence_of(characteristics=(char("Flow", cpk=0.8), char("Gap", cpk=None)))
    )
    assert failed.status is FAIL
    one_unit = judge(spec, evidence_of(characteristics=(char("Flow", n=1, cpk=3.0),)))
    assert one_unit.status is MISSING
    assert judge(spec, evidence_of()).status is MISSING


# --- SPC signals ---


def test_spc_signals(spec_of, evidence_of):
    spec = spec_of("spc_signals", "<=", 0)
    calm = judge(spec, evidence_of(characteristics=(char("Flow"), char("Gap"))))
    assert (calm.status, calm.value) == (PASS, 0)
    noisy = judge(spec, evidence_of(characteristics=(char("Flow", signals=2), char("Gap"))))
    assert (noisy.status, noisy.value) == (FAIL, 2)
    assert noisy.links == ({"kind": "characteristic", "build": "P1", "name": "Flow"},)
    uncharted = judge(spec, evidence_of(characteristics=(char("Flow", signals=None),)))
    assert uncharted.missing == ("an SPC chart of CTQ Flow on P1",)
    assert uncharted.status is MISSING


# --- line ---


def _line(cycle=55.0, takt=60.0, throughput=70.0, demand=60.0):
    return LineEvidence("Line A", "Solder", cycle, takt, throughput, demand)


def test_bottleneck_vs_takt(spec_of, evidence_of):
    spec = spec_of("bottleneck_vs_takt", "<=", 1.0)
    assert judge(spec, evidence_of(line_performance=_line(60.0, 60.0))).status is PASS
    late = judge(spec, evidence_of(line_performance=_line(61.0, 60.0)))
    assert (late.status, late.value) == (FAIL, pytest.approx(61 / 60))
    assert judge(spec, evidence_of()).missing == ("performance of the intended line",)
    no_takt = judge(spec, evidence_of(line_performance=_line(takt=None)))
    assert no_takt.missing == ("a takt time (demand and the line's working calendar)",)
    no_cycle = judge(spec, evidence_of(line_performance=_line(cycle=None)))
    assert no_cycle.missing == ("cycle times of the stations of Line A",)


def test_throughput_vs_demand(spec_of, evidence_of):
    spec = spec_of("throughput_vs_demand", ">=", 1.0)
    assert judge(spec, evidence_of(line_performance=_line(throughput=60.0))).status is PASS
    short = judge(spec, evidence_of(line_performance=_line(throughput=54.0)))
    assert (short.status, short.value) == (FAIL, pytest.approx(0.9))
    unsimulated = judge(spec, evidence_of(line_performance=_line(throughput=None)))
    assert (unsimulated.status, unsimulated.missing) == (MISSING, ("a simulation of Line A",))
    no_demand = judge(spec, evidence_of(line_performance=_line(demand=0.0)))
    assert no_demand.missing == ("a demand rate above 0",)


# --- unit cost ---


def test_unit_cost_vs_target(spec_of, evidence_of):
    spec = spec_of("unit_cost_vs_target", "<=", 1.0)
    at = judge(spec, evidence_of(target_unit_cost=80.0, cost=CostEvidence(80.0, 10_000)))
    assert (at.status, at.value) == (PASS, 1.0)
    over = judge(spec, evidence_of(target_unit_cost=80.0, cost=CostEvidence(88.0, 10_000)))
    assert (over.status, over.value) == (FAIL, pytest.approx(1.1))
    assert judge(spec, evidence_of(target_unit_cost=80.0)).missing == (
        "a unit cost projected to volume",
    )
    assert judge(spec, evidence_of(cost=CostEvidence(88.0, 10_000))).missing == (
        "a target unit cost above 0",
    )


# --- control plan and gauges ---


def test_control_plan_coverage(spec_of, evidence_of):
    spec = spec_of("control_plan_coverage", "<=", 0)
    chars = (char("Flow"), char("Gap"), char("Colour", ctq=False))
    full = ControlPlanEvidence("CP", "2", ("Flow", "Gap"))
    assert judge(spec, evidence_of(characteristics=chars, control_plan=full)).status is PASS
    part = ControlPlanEvidence("CP", "2", ("Flow", "Colour"))
    result = judge(spec, evidence_of(characteristics=chars, control_plan=part))
    assert (result.status, result.value, result.evidence["uncovered"]) == (FAIL, 1, ["Gap"])
    none = judge(spec, evidence_of(characteristics=chars))
    assert (none.status, none.missing) == (MISSING, ("a released control plan",))


def test_gage_rr_aiag_bands(spec_of, evidence_of):
    # AIAG MSA 4th ed.: %GRR < 10 % acceptable, 10-30 % conditional, > 30 % unacceptable.
    acceptable = spec_of("gage_rr", "<=", 30, min_ndc=5)
    good = spec_of("gage_rr", "<", 10, min_ndc=5)
    chars = (char("Flow"), char("Gap"))

    def gauges(flow_grr, gap_grr=5.0, ndc=8):
        return (
            GaugeEvidence("Flow", "FLOW-1", flow_grr, ndc),
            GaugeEvidence("Gap", "MIC-2", gap_grr, 12),
        )

    conditional = evidence_of(characteristics=chars, gauges=gauges(18.0))
    assert judge(acceptable, conditional).status is PASS
    assert judge(good, conditional).status is FAIL
    assert judge(good, conditional).value == 18.0
    at_30 = evidence_of(characteristics=chars, gauges=gauges(30.0))
    assert judge(acceptable, at_30).status is PASS
    at_10 = evidence_of(characteristics=chars, gauges=gauges(10.0))
    assert judge(good, at_10).status is FAIL  # "< 10": 10 % is no longer acceptable
    bad = evidence_of(characteristics=chars, gauges=gauges(31.0))
    assert judge(acceptable, bad).status is FAIL


def test_gage_rr_ndc_below_the_minimum_fails(spec_of, evidence_of):
    spec = spec_of("gage_rr", "<=", 30, min_ndc=5)
    chars = (char("Flow"),)
    at = evidence_of(characteristics=chars, gauges=(GaugeEvidence("Flow", "G", 5.0, 5),))
    assert judge(spec, at).status is PASS
    low = judge(
        spec, evidence_of(characteristics=chars, gauges=(GaugeEvidence("Flow", "G", 5.0, 4),))
    )
    assert low.status is FAIL
    assert low.evidence["failures"] == ["G on Flow: ndc 4 < 5"]


def test_gage_rr_missing(spec_of, evidence_of):
    spec = spec_of("gage_rr", "<=", 30)
    chars = (char("Flow"), char("Gap"))
    assert judge(spec, evidence_of(characteristics=chars)).missing == ("gage R&R studies",)
    gauges = (GaugeEvidence("Flow", "G", None, None),)
    result = judge(spec, evidence_of(characteristics=chars, gauges=gauges))
    assert result.status is MISSING
    assert result.missing == ("a gage R&R study of G on Flow", "a gauge for CTQ Gap")


# --- sourcing, go-to-market, regulatory ---


def test_parts_sourced(spec_of, evidence_of):
    spec = spec_of("parts_sourced", "<=", 0)
    parts = (
        PartSourcing("R-1", sourced=True, single_source=False, risk_accepted=False),
        PartSourcing("IC-9", sourced=True, single_source=True, risk_accepted=True),
    )
    assert judge(spec, evidence_of(parts=parts)).status is PASS
    risky = (*parts, PartSourcing("IC-10", sourced=True, single_source=True, risk_accepted=False))
    result = judge(spec, evidence_of(parts=risky))
    assert (result.status, result.evidence["single_source_not_accepted"]) == (FAIL, ["IC-10"])
    unsourced = (*parts, PartSourcing("LED-3", False, False, False))
    assert judge(spec, evidence_of(parts=unsourced)).evidence["unsourced"] == ["LED-3"]
    assert judge(spec, evidence_of()).status is MISSING
    assert judge(spec, evidence_of(parts=())).missing == ("parts of the BOM",)


def test_go_to_market_checklist(spec_of, evidence_of):
    spec = spec_of("go_to_market_checklist", "<=", 0)
    done = (ChecklistItem("Pricing", True), ChecklistItem("Launch plan", True))
    assert judge(spec, evidence_of(go_to_market=done)).status is PASS
    open_ = (*done, ChecklistItem("Channel training", False))
    result = judge(spec, evidence_of(go_to_market=open_))
    assert (result.status, result.evidence["open"]) == (FAIL, ["Channel training"])
    assert judge(spec, evidence_of(go_to_market=())).status is MISSING


def test_regulatory_units(spec_of, evidence_of):
    spec = spec_of("regulatory_units", "<=", 0)
    assert judge(spec, evidence_of(regulatory=RegulatoryEvidence(6, 6))).status is PASS
    short = judge(spec, evidence_of(regulatory=RegulatoryEvidence(4, 6)))
    assert (short.status, short.value) == (FAIL, 2)
    assert judge(spec, evidence_of(regulatory=RegulatoryEvidence(0, 0))).status is PASS
    unknown = judge(spec, evidence_of(regulatory=RegulatoryEvidence(4, None)))
    assert unknown.missing == ("units the regulatory approvals need",)
    assert judge(spec, evidence_of()).status is MISSING


def test_every_metric_has_a_test_here():
    tested = {
        "must_requirements_verified",
        "ctq_within_spec",
        "open_findings",
        "bom_cost_vs_target",
        "pilot_partner_and_line",
        "budget_variance",
        "pilot_quantity_on_line",
        "fpy_lower_bound",
        "cpk_lower_bound",
        "cpk_point",
        "spc_signals",
        "bottleneck_vs_takt",
        "throughput_vs_demand",
        "unit_cost_vs_target",
        "control_plan_coverage",
        "gage_rr",
        "parts_sourced",
        "go_to_market_checklist",
        "regulatory_units",
    }
    assert set(METRICS) == tested


@pytest.mark.parametrize(("passed", "units"), [(11, 10), (-1, 10), (0, -1)])
def test_fpy_counts_are_checked(passed, units):
    with pytest.raises(InvalidInput, match="fpy"):
        FpyEvidence("P1", passed, units)


def test_results_report_the_confidence_level_used(spec_of, evidence_of):
    ev = evidence_of(fpy=FpyEvidence("P1", 95, 100))
    unset = judge(spec_of("fpy_lower_bound", ">=", 0.9), ev)
    # No level given in code: the usual one-sided 95 %, and the result says so.
    assert unset.confidence == 0.95
    assert unset.value == pytest.approx(0.90084, abs=5e-6)
    assert judge(spec_of("spc_signals", "<=", 0, confidence=0.9), evidence_of()).confidence is None
