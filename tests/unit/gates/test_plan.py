"""Gate plans: the shipped defaults, parsing errors that name the key path, product overrides."""

from __future__ import annotations

import pytest

from phasegate.domain.enums import Phase
from phasegate.domain.errors import InvalidInput
from phasegate.gates import METRICS, default_plan, override, parse_plan

HEADER = """
name = "test-plan"
version = "3"
from = "pilot"
to = "production"
"""

FPY = """
[[criteria]]
id = "fpy"
metric = "fpy_lower_bound"
comparison = ">="
threshold = 0.9
confidence = 0.95
blocking = true
explanation = "Yield."
"""

FINDINGS = """
[[criteria]]
id = "findings"
metric = "open_findings"
comparison = "<="
threshold = 0
blocking = false
explanation = "Findings."
[criteria.params]
severities = ["critical"]
"""


def _loc(text: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_plan(text)
    return caught.value.fields[0].loc


@pytest.mark.parametrize(
    ("to_phase", "name", "from_phase", "count"),
    [
        (Phase.PILOT, "prototype-pilot", Phase.PROTOTYPE, 6),
        (Phase.PRODUCTION, "pilot-production", Phase.PILOT, 15),
    ],
)
def test_default_plans_parse_and_name_only_known_metrics(to_phase, name, from_phase, count):
    plan = default_plan(to_phase)
    assert (plan.name, plan.version, plan.from_phase, plan.to_phase) == (
        name,
        "1",
        from_phase,
        to_phase,
    )
    assert len(plan.criteria) == count
    for spec in plan.criteria:
        assert spec.metric in METRICS
        assert spec.explanation
        assert (spec.confidence is not None) == METRICS[spec.metric].samples


def test_default_pilot_production_thresholds_follow_the_design():
    plan = default_plan(Phase.PRODUCTION)
    fpy = plan.criterion("fpy-lower-bound")
    assert (fpy.comparison, fpy.threshold, fpy.confidence) == (">=", 0.90, 0.95)
    cpk = plan.criterion("cpk-lower-bound")
    assert (cpk.threshold, cpk.confidence) == (1.0, 0.95)
    assert plan.criterion("cpk-point").threshold == 1.33
    grr = plan.criterion("gage-rr-acceptable")
    assert (grr.threshold, grr.blocking, dict(grr.params)) == (30.0, True, {"min_ndc": 5})
    assert plan.criterion("gage-rr-good").blocking is False


def test_no_gate_into_prototype():
    with pytest.raises(InvalidInput, match="no gate into prototype"):
        default_plan(Phase.PROTOTYPE)


def test_a_plan_parses_its_criteria():
    plan = parse_plan(HEADER + FPY + FINDINGS)
    assert [s.id for s in plan.criteria] == ["fpy", "findings"]
    assert dict(plan.criteria[1].params) == {"severities": ("critical",)}
    assert plan.criteria[1].blocking is False
    assert plan.criteria[0].describe() == "fpy_lower_bound >= 0.9"


@pytest.mark.parametrize(
    ("text", "loc"),
    [
        ('version = "1"\nfrom = "pilot"\nto = "production"\n' + FPY, "name"),
        (HEADER.replace('"3"', "3") + FPY, "version"),
        (HEADER.replace('from = "pilot"', 'from = "beta"') + FPY, "from"),
        (HEADER.replace('to = "production"', 'to = "pilot"') + FPY, "to"),
        (HEADER, "criteria"),
        (HEADER + FINDINGS + FPY.replace("fpy_lower_bound", "yield_magic"), "criteria[1].metric"),
        (HEADER + FPY.replace("threshold = 0.9\n", ""), "criteria[0].threshold"),
        (HEADER + FINDINGS + FPY.replace("= 0.9\n", '= "high"\n'), "criteria[1].threshold"),
        (HEADER + FPY.replace("confidence = 0.95\n", ""), "criteria[0].confidence"),
        (HEADER + FPY.replace("0.95", "1.0"), "criteria[0].confidence"),
        (
            HEADER + FINDINGS.replace("threshold = 0", "threshold = 0\nconfidence = 0.9"),
            "criteria[0].confidence",
        ),
        (HEADER + FPY.replace('">="', '"<="'), "criteria[0].comparison"),
        (HEADER + FPY.replace('">="', '"=~"'), "criteria[0].comparison"),
        (HEADER + FPY.replace("blocking = true", 'blocking = "yes"'), "criteria[0].blocking"),
        (HEADER + FPY.replace('explanation = "Yield."', ""), "criteria[0].explanation"),
        (HEADER + FPY + "colour = 'red'\n", "criteria[0].colour"),
        (HEADER + FPY + FINDINGS.replace("severities", "owners"), "criteria[1].params.owners"),
        (
            HEADER + FINDINGS.replace('["critical"]', '["critical", "fatal"]'),
            "criteria[0].params.severities[1]",
        ),
        (HEADER + FINDINGS.replace('["critical"]', "[]"), "criteria[0].params.severities"),
        (HEADER + FPY + FPY, "criteria[1].id"),
        ("name = \n", "plan"),
        (HEADER.replace('name = "test-plan"', 'nmae = "test-plan"') + FPY, "nmae"),
        (HEADER.replace('from = "pilot"', 'from = "production"') + FPY, "to"),
    ],
)
def test_parse_errors_name_the_key_path(text, loc):
    assert _loc(text) == loc


def test_unknown_metric_message_lists_the_known_ones():
    with pytest.raises(
        InvalidInput, match=r"unknown metric 'yield_magic'; known: .*fpy_lower_bound"
    ):
        parse_plan(HEADER + FPY.replace("fpy_lower_bound", "yield_magic"))


# --- overrides ---


def test_override_changes_thresholds_makes_advisory_removes_and_adds():
    base = default_plan(Phase.PRODUCTION)
    product = """
version = "AQM-1.2"
remove = ["go-to-market"]

[criteria.fpy-lower-bound]
threshold = 0.85
confidence = 0.90

[criteria.regulatory-units]
blocking = false

[criteria.no-open-critical-findings.params]
severities = ["critical", "major"]

[[add]]
id = "budget"
metric = "budget_variance"
comparison = "<="
threshold = 0.2
blocking = false
explanation = "The pilot stayed within 20 % of its budget."
[add.params]
phase = "pilot"
"""
    plan = override(base, product)
    assert plan.version == "1+AQM-1.2"
    assert plan.name == base.name
    ids = [s.id for s in plan.criteria]
    assert "go-to-market" not in ids
    assert ids[-1] == "budget"
    fpy = plan.criterion("fpy-lower-bound")
    assert (fpy.threshold, fpy.confidence, fpy.blocking) == (0.85, 0.90, True)
    assert plan.criterion("regulatory-units").blocking is False
    findings = plan.criterion("no-open-critical-findings")
    assert findings.params["severities"] == ("critical", "major")
    assert findings.title == "No open critical findings"  # untouched keys stay
    assert dict(plan.criterion("budget").params) == {"phase": "pilot"}
    # The base plan is unchanged.
    assert base.criterion("fpy-lower-bound").threshold == 0.90
    assert "go-to-market" in [s.id for s in base.criteria]


@pytest.mark.parametrize(
    ("text", "loc"),
    [
        ("remove = []", "version"),
        ('version = "x"\nremove = ["nope"]', "remove[0]"),
        ('version = "x"\n[criteria.nope]\nthreshold = 1', "criteria.nope"),
        (
            'version = "x"\n[criteria.fpy-lower-bound]\nthreshold = "low"',
            "criteria.fpy-lower-bound.threshold",
        ),
        (
            'version = "x"\n[criteria.fpy-lower-bound]\nmetric = "cpk_point"',
            "criteria.fpy-lower-bound.metric",
        ),
        ('version = "x"\n[criteria.cpk-point]\nconfidence = 0.9', "criteria.cpk-point.confidence"),
        (
            'version = "x"\nremove = ["spc-signals"]\n[criteria.spc-signals]\nthreshold = 1',
            "criteria.spc-signals",
        ),
        (
            'version = "x"\n[[add]]\nid = "spc-signals"\nmetric = "spc_signals"\n'
            'comparison = "<="\nthreshold = 0\nblocking = true\nexplanation = "x"',
            "add[0].id",
        ),
        ('version = "x"\n[[add]]\nid = "n"\nmetric = "spc_signals"', "add[0].comparison"),
        ('version = "x"\nrename = 1', "rename"),
    ],
)
def test_override_errors_name_the_key_path(text, loc):
    with pytest.raises(InvalidInput) as caught:
        override(default_plan(Phase.PRODUCTION), text)
    assert caught.value.fields[0].loc == loc


def test_override_cannot_remove_every_criterion():
    plan = default_plan(Phase.PILOT)
    ids = ", ".join(f'"{s.id}"' for s in plan.criteria)
    with pytest.raises(InvalidInput, match="without criteria"):
        override(plan, f'version = "x"\nremove = [{ids}]')
