"""The criteria library: one pure function per metric, from a criterion and the evidence.

Each function computes the metric's value from :class:`~phasegate.gates.evidence.Evidence`,
compares it with the criterion's threshold and answers ``pass``, ``fail`` or
``insufficient_evidence``. Missing data never passes: it answers ``insufficient_evidence``
naming what is missing (``evidence["missing"]``), unless the data that is there already
decides the outcome (an out-of-spec CTQ fails the gate whatever the unmeasured ones show).

Every metric states which way is better (``lower`` or ``higher``); a plan may only compare it
the matching way (``<=``/``<`` or ``>=``/``>``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal

from phasegate.domain.enums import FindingCategory, Phase, Priority, RequirementStatus, Severity
from phasegate.domain.errors import invalid
from phasegate.gates.evidence import CharacteristicEvidence, Evidence
from phasegate.gates.spec import CriterionSpec, ParamValue
from phasegate.stats import cpk_lower, wilson_lower

__all__ = [
    "METRICS",
    "CriterionResult",
    "CriterionStatus",
    "Metric",
    "evaluate_criterion",
    "metric",
]

Link = Mapping[str, str | int]


class CriterionStatus(StrEnum):
    """The answer of one criterion."""

    PASS = "pass"
    FAIL = "fail"
    INSUFFICIENT = "insufficient_evidence"
    WAIVED = "waived"


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """One criterion judged: its value against the threshold, and the evidence it used.

    ``evidence`` is a JSON-ready snapshot of the data the value came from (with ``missing``
    naming what was not there); ``links`` are symbolic targets a page or the API turns into
    URLs, e.g. ``{"kind": "characteristic", "build": "P1", "name": "Flow"}``.
    """

    id: str
    title: str
    metric: str
    status: CriterionStatus
    blocking: bool
    value: float | None
    comparison: str
    threshold: float
    confidence: float | None
    evidence: Mapping[str, Any]
    links: tuple[Link, ...] = ()

    @property
    def missing(self) -> tuple[str, ...]:
        """What the criterion needed and did not find."""
        return tuple(self.evidence.get("missing", ()))

    def as_dict(self) -> dict[str, Any]:
        """The criterion in the ``gates evaluate`` JSON shape (floats unrounded)."""
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "blocking": self.blocking,
            "value": self.value,
            "threshold": self.threshold,
            "confidence": self.confidence,
            "evidence": _plain(self.evidence),
            "links": [dict(link) for link in self.links],
        }


def _plain(value: Any) -> Any:
    """A deep copy of ``value`` made of dicts, lists and scalars only."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


MetricFunction = Callable[[CriterionSpec, Evidence], CriterionResult]
ParamCheck = Callable[[str, object], ParamValue]


@dataclass(frozen=True, slots=True)
class Metric:
    """A metric a plan may name: its function, which way is better and what it needs."""

    name: str
    title: str
    better: Literal["lower", "higher"]
    function: MetricFunction
    samples: bool = False
    params: Mapping[str, ParamCheck] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def comparisons(self) -> tuple[str, str]:
        """The comparisons a plan may use with this metric."""
        return ("<=", "<") if self.better == "lower" else (">=", ">")


_REGISTRY: dict[str, Metric] = {}
METRICS: Mapping[str, Metric] = MappingProxyType(_REGISTRY)


def metric(name: str) -> Metric:
    """The metric called ``name``; ``InvalidInput`` naming it and the known ones otherwise."""
    try:
        return METRICS[name]
    except KeyError:
        known = ", ".join(sorted(METRICS))
        raise invalid("metric", f"unknown metric {name!r}; known metrics: {known}") from None


def evaluate_criterion(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """Judge one criterion of a plan on ``evidence``."""
    return metric(spec.metric).function(spec, evidence)


def _register(
    name: str,
    title: str,
    better: Literal["lower", "higher"],
    *,
    samples: bool = False,
    params: Mapping[str, ParamCheck] | None = None,
) -> Callable[[MetricFunction], MetricFunction]:
    def wrap(function: MetricFunction) -> MetricFunction:
        _REGISTRY[name] = Metric(
            name, title, better, function, samples, MappingProxyType(dict(params or {}))
        )
        return function

    return wrap


def _finish(
    spec: CriterionSpec,
    value: float | None,
    evidence: dict[str, Any],
    links: Sequence[Link] = (),
    *,
    missing: Sequence[str] = (),
    failures: Sequence[str] = (),
    missing_can_only_worsen: bool = True,
) -> CriterionResult:
    """The result of ``spec`` for ``value``, settling what missing data leaves open.

    With data missing, the known value decides only when the missing part cannot change the
    outcome: a known fail stands when missing data can only make the value worse, a known
    pass when it can only make it better; otherwise the answer is ``insufficient_evidence``.
    ``failures`` are reasons that fail the criterion whatever the value.
    """
    if missing:
        evidence["missing"] = list(missing)
    if failures:
        evidence["failures"] = list(failures)
    if value is None:
        status = CriterionStatus.FAIL if failures else CriterionStatus.INSUFFICIENT
    else:
        holds = spec.holds(value) and not failures
        if not missing:
            status = CriterionStatus.PASS if holds else CriterionStatus.FAIL
        elif not holds and (missing_can_only_worsen or failures):
            status = CriterionStatus.FAIL
        elif holds and not missing_can_only_worsen:
            status = CriterionStatus.PASS
        else:
            status = CriterionStatus.INSUFFICIENT
    entry = METRICS[spec.metric]
    return CriterionResult(
        id=spec.id,
        title=spec.title or entry.title,
        metric=spec.metric,
        status=status,
        blocking=spec.blocking,
        value=value,
        comparison=spec.comparison,
        threshold=spec.threshold,
        confidence=_confidence(spec) if entry.samples else None,
        evidence=evidence,
        links=tuple(links),
    )


def _confidence(spec: CriterionSpec) -> float:
    # A parsed plan always gives a sampling metric its level; a spec built in code without one
    # gets the usual 95 %, and the result reports the level used.
    return 0.95 if spec.confidence is None else spec.confidence


def _char_link(c: CharacteristicEvidence) -> Link:
    return {"kind": "characteristic", "build": c.build, "name": c.name}


def _ctqs_or_missing(evidence: Evidence) -> tuple[tuple[CharacteristicEvidence, ...], list[str]]:
    ctqs = evidence.ctqs()
    if ctqs is None:
        build = evidence.latest_build or "the latest build"
        return (), [f"characteristic measurements of {build}"]
    if not ctqs:
        return (), ["CTQ characteristics (none is flagged CTQ)"]
    return ctqs, []


# --- parameter checks ---


def _enum_list(kind: type[StrEnum]) -> ParamCheck:
    def check(loc: str, raw: object) -> tuple[str, ...]:
        allowed = [m.value for m in kind]
        if not isinstance(raw, list) or not raw:
            raise invalid(loc, f"must be a non-empty list of: {', '.join(allowed)}")
        for i, item in enumerate(raw):
            if item not in allowed:
                raise invalid(f"{loc}[{i}]", f"{item!r} is not one of: {', '.join(allowed)}")
        return tuple(str(item) for item in raw)

    return check


def _phase_param(loc: str, raw: object) -> str:
    allowed = [p.value for p in Phase]
    if raw not in allowed:
        raise invalid(loc, f"{raw!r} is not one of: {', '.join(allowed)}")
    return str(raw)


def _positive_int(loc: str, raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise invalid(loc, f"must be a whole number of 1 or more, got {raw!r}")
    return raw


def _names(spec: CriterionSpec, key: str, kind: type[StrEnum]) -> tuple[str, ...]:
    """The enum values listed in ``params[key]``; every value of ``kind`` when not given."""
    given = spec.params.get(key)
    if isinstance(given, tuple):
        return given
    return tuple(m.value for m in kind)


# --- prototype -> pilot ---


@_register("must_requirements_verified", "Must-have requirements verified", "lower")
def must_requirements_verified(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """Must-have requirements not verified (value); a requirement is verified when marked so,
    or when every characteristic linked to it is measured in spec on the latest build."""
    if evidence.requirements is None:
        return _finish(spec, None, {}, missing=["requirements"])
    musts = [
        r
        for r in evidence.requirements
        if r.priority is Priority.MUST and r.status is not RequirementStatus.REJECTED
    ]
    if not musts:
        return _finish(spec, None, {"must_have": 0}, missing=["must-have requirements"])
    chars = {c.name: c for c in evidence.characteristics or ()}
    build = evidence.latest_build or "the latest build"
    verified: list[str] = []
    failed: list[str] = []
    missing: list[str] = []
    links: list[Link] = []
    for req in musts:
        if req.status is RequirementStatus.VERIFIED:
            verified.append(req.key)
            continue
        if not req.characteristics:
            missing.append(f"requirement {req.key}: a characteristic to verify it by")
            links.append({"kind": "requirement", "key": req.key})
            continue
        outcome = _verify(req.key, req.characteristics, chars, build, missing, links)
        if outcome is True:
            verified.append(req.key)
        elif outcome is False:
            failed.append(req.key)
    if failed:
        links.extend({"kind": "requirement", "key": key} for key in failed)
    snapshot = {
        "must_have": len(musts),
        "latest_build": evidence.latest_build,
        "verified": verified,
        "failed": failed,
    }
    return _finish(spec, float(len(failed)), snapshot, links, missing=missing)


def _verify(
    key: str,
    names: tuple[str, ...],
    chars: Mapping[str, CharacteristicEvidence],
    build: str,
    missing: list[str],
    links: list[Link],
) -> bool | None:
    """True: every characteristic in spec; False: one out of spec; None: not all measured."""
    unmeasured = False
    for name in names:
        c = chars.get(name)
        if c is None or c.n == 0 or c.out_of_spec is None:
            missing.append(f"requirement {key}: measurements of {name} on {build}")
            unmeasured = True
        elif c.out_of_spec > 0:
            links.append(_char_link(c))
            return False
    return None if unmeasured else True


@_register("ctq_within_spec", "Every CTQ within spec on the latest build", "lower")
def ctq_within_spec(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """CTQ characteristics with a measurement outside [LSL, USL] on the latest build (value)."""
    ctqs, missing = _ctqs_or_missing(evidence)
    if missing:
        return _finish(spec, None, {"latest_build": evidence.latest_build}, missing=missing)
    rows = []
    out: list[str] = []
    links: list[Link] = []
    for c in ctqs:
        rows.append({"name": c.name, "n": c.n, "mean": c.mean, "out_of_spec": c.out_of_spec})
        if c.n == 0 or c.out_of_spec is None:
            missing.append(f"measurements of CTQ {c.name} on {c.build}")
        elif c.out_of_spec > 0:
            out.append(c.name)
            links.append(_char_link(c))
    snapshot = {"latest_build": evidence.latest_build, "ctqs": rows, "out_of_spec": out}
    return _finish(spec, float(len(out)), snapshot, links, missing=missing)


@_register(
    "open_findings",
    "No open findings of the listed categories and severities",
    "lower",
    params={"categories": _enum_list(FindingCategory), "severities": _enum_list(Severity)},
)
def open_findings(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """Open findings of the categories and severities in ``params`` (default: all) (value)."""
    if evidence.findings is None:
        return _finish(spec, None, {}, missing=["findings"])
    categories = _names(spec, "categories", FindingCategory)
    severities = _names(spec, "severities", Severity)
    hits = [
        f
        for f in evidence.findings
        if f.open and f.category.value in categories and f.severity.value in severities
    ]
    snapshot = {
        "categories": list(categories),
        "severities": list(severities),
        "open": [
            {
                "id": f.id,
                "title": f.title,
                "category": f.category.value,
                "severity": f.severity.value,
            }
            for f in hits
        ],
    }
    links: list[Link] = [{"kind": "finding", "id": f.id} for f in hits]
    return _finish(spec, float(len(hits)), snapshot, links)


@_register("bom_cost_vs_target", "BOM fully costed and within target", "lower")
def bom_cost_vs_target(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """BOM material cost per unit over its target cost (value); every part must have a cost."""
    bom = evidence.bom
    if bom is None:
        return _finish(spec, None, {}, missing=["a BOM"])
    snapshot: dict[str, Any] = {
        "revision": bom.revision,
        "parts": bom.parts,
        "uncosted": list(bom.uncosted),
        "cost_per_unit": bom.cost_per_unit,
        "target_cost": bom.target_cost,
    }
    links: list[Link] = [{"kind": "bom", "revision": bom.revision}]
    missing = [f"cost of part {part}" for part in bom.uncosted]
    if bom.parts == 0:
        missing.append(f"BOM lines of revision {bom.revision}")
    if bom.target_cost is None or bom.target_cost <= 0:
        return _finish(spec, None, snapshot, links, missing=[*missing, "a positive target cost"])
    if bom.parts == 0:
        return _finish(spec, None, snapshot, links, missing=missing)
    # Costing the remaining parts can only raise the cost: over target already is a fail.
    return _finish(spec, bom.cost_per_unit / bom.target_cost, snapshot, links, missing=missing)


@_register("pilot_partner_and_line", "Pilot partner and line chosen", "lower")
def pilot_partner_and_line(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """How many of the two choices, pilot partner and pilot line, are still open (value).

    Not having chosen is the fact judged here, so it fails rather than lacking evidence.
    """
    links: list[Link] = []
    if evidence.pilot_partner is not None:
        links.append({"kind": "partner", "name": evidence.pilot_partner})
    if evidence.pilot_line is not None:
        links.append({"kind": "line", "name": evidence.pilot_line})
    open_choices = [
        name
        for name, chosen in (("partner", evidence.pilot_partner), ("line", evidence.pilot_line))
        if chosen is None
    ]
    snapshot = {
        "partner": evidence.pilot_partner,
        "line": evidence.pilot_line,
        "not_chosen": open_choices,
    }
    return _finish(spec, float(len(open_choices)), snapshot, links)


@_register(
    "budget_variance", "Phase budget variance within limit", "lower", params={"phase": _phase_param}
)
def budget_variance(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """(actual - planned) / planned of a phase's budget (value); the phase is ``params.phase``,
    by default the product's current phase. An underspend is negative."""
    phase = Phase(str(spec.params.get("phase", evidence.phase.value)))
    links: list[Link] = [{"kind": "budget", "phase": phase.value}]
    if evidence.budgets is None:
        return _finish(spec, None, {"phase": phase.value}, links, missing=["budgets"])
    budget = next((b for b in evidence.budgets if b.phase is phase), None)
    if budget is None:
        return _finish(spec, None, {"phase": phase.value}, links, missing=[f"{phase.value} budget"])
    snapshot = {"phase": phase.value, "planned": budget.planned, "actual": budget.actual}
    missing = []
    if budget.planned is None or budget.planned <= 0:
        missing.append(f"a planned {phase.value} budget above 0")
    if budget.actual is None:
        missing.append(f"the actual {phase.value} spend")
    if missing or budget.planned is None or budget.actual is None:
        return _finish(spec, None, snapshot, links, missing=missing)
    variance = (budget.actual - budget.planned) / budget.planned
    return _finish(spec, variance, snapshot, links)


# --- pilot -> production ---


@_register("pilot_quantity_on_line", "Minimum pilot quantity built on the intended line", "higher")
def pilot_quantity_on_line(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """Units built by pilot builds on the intended production line (value); units built on
    another line do not count."""
    missing = []
    if evidence.intended_line is None:
        missing.append("the intended production line")
    if evidence.pilot_builds is None:
        missing.append("pilot builds")
    if missing or evidence.pilot_builds is None:
        return _finish(spec, None, {"intended_line": evidence.intended_line}, missing=missing)
    on_line = [b for b in evidence.pilot_builds if b.line == evidence.intended_line]
    elsewhere = [b.code for b in evidence.pilot_builds if b.line != evidence.intended_line]
    units = sum(b.units_built or 0 for b in on_line)
    missing = [f"units built in {b.code}" for b in on_line if b.units_built is None]
    snapshot = {
        "intended_line": evidence.intended_line,
        "builds": [{"code": b.code, "units_built": b.units_built} for b in on_line],
        "builds_on_other_lines": elsewhere,
    }
    links: list[Link] = [{"kind": "build", "code": b.code} for b in on_line]
    return _finish(
        spec, float(units), snapshot, links, missing=missing, missing_can_only_worsen=False
    )


@_register("fpy_lower_bound", "First-pass yield lower confidence bound", "higher", samples=True)
def fpy_lower_bound(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """One-sided Wilson lower bound of the pilot's first-pass yield at ``confidence`` (value),
    computed by :func:`phasegate.stats.wilson_lower`."""
    fpy = evidence.fpy
    if fpy is None:
        return _finish(spec, None, {}, missing=["first-pass counts of the pilot"])
    links: list[Link] = [{"kind": "build", "code": fpy.build}]
    snapshot: dict[str, Any] = {
        "build": fpy.build,
        "passed_first": fpy.passed_first,
        "units": fpy.units,
        "method": "wilson",
    }
    if fpy.units == 0:
        return _finish(spec, None, snapshot, links, missing=[f"units through {fpy.build}"])
    snapshot["point"] = fpy.passed_first / fpy.units
    bound = wilson_lower(fpy.passed_first, fpy.units, _confidence(spec))
    return _finish(spec, bound, snapshot, links)


def _cpk_rows(
    spec: CriterionSpec, evidence: Evidence, *, lower: bool
) -> tuple[float | None, dict[str, Any], list[Link], list[str]]:
    ctqs, missing = _ctqs_or_missing(evidence)
    rows: list[dict[str, Any]] = []
    links: list[Link] = []
    values: dict[str, float] = {}
    for c in ctqs:
        links.append(_char_link(c))
        if c.cpk is None or c.n < 2:
            missing.append(f"Cpk of CTQ {c.name} on {c.build}")
            rows.append({"name": c.name, "n": c.n, "cpk": c.cpk})
            continue
        row: dict[str, Any] = {"name": c.name, "n": c.n, "cpk": c.cpk}
        if lower:
            row["cpk_lower"] = cpk_lower(c.cpk, c.n, _confidence(spec), c.cpk_dof)
            values[c.name] = row["cpk_lower"]
        else:
            values[c.name] = c.cpk
        rows.append(row)
    worst = min(values, key=values.__getitem__) if values else None
    snapshot = {"latest_build": evidence.latest_build, "ctqs": rows, "worst": worst}
    return (None if worst is None else values[worst]), snapshot, links, missing


@_register("cpk_lower_bound", "Cpk lower confidence bound of every CTQ", "higher", samples=True)
def cpk_lower_bound(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """The smallest one-sided Bissell lower bound of Cpk over the CTQs (value), computed by
    :func:`phasegate.stats.cpk_lower` at ``confidence``."""
    value, snapshot, links, missing = _cpk_rows(spec, evidence, lower=True)
    snapshot["method"] = "bissell"
    return _finish(spec, value, snapshot, links, missing=missing)


@_register("cpk_point", "Cpk of every CTQ", "higher")
def cpk_point(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """The smallest Cpk point estimate over the CTQs of the latest build (value)."""
    value, snapshot, links, missing = _cpk_rows(spec, evidence, lower=False)
    return _finish(spec, value, snapshot, links, missing=missing)


@_register("spc_signals", "No unresolved SPC signals on CTQs", "lower")
def spc_signals(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """Unresolved run-rule signals on the CTQ charts of the latest build, summed (value)."""
    ctqs, missing = _ctqs_or_missing(evidence)
    rows = []
    links: list[Link] = []
    total = 0
    for c in ctqs:
        rows.append({"name": c.name, "open_signals": c.open_signals})
        if c.open_signals is None:
            missing.append(f"an SPC chart of CTQ {c.name} on {c.build}")
        elif c.open_signals > 0:
            total += c.open_signals
            links.append(_char_link(c))
    snapshot = {"latest_build": evidence.latest_build, "ctqs": rows}
    return _finish(spec, float(total) if ctqs else None, snapshot, links, missing=missing)


@_register("bottleneck_vs_takt", "Bottleneck cycle time within takt", "lower")
def bottleneck_vs_takt(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """Bottleneck cycle time over takt time (value): above 1 the line cannot keep the pace."""
    line = evidence.line_performance
    if line is None:
        return _finish(spec, None, {}, missing=["performance of the intended line"])
    snapshot = {
        "line": line.name,
        "bottleneck": line.bottleneck,
        "bottleneck_cycle_time_s": line.bottleneck_cycle_time_s,
        "takt_s": line.takt_s,
    }
    links: list[Link] = [{"kind": "line", "name": line.name}]
    missing = []
    if line.bottleneck_cycle_time_s is None:
        missing.append(f"cycle times of the stations of {line.name}")
    if line.takt_s is None or line.takt_s <= 0:
        missing.append("a takt time (demand and the line's working calendar)")
    if missing or line.bottleneck_cycle_time_s is None or line.takt_s is None:
        return _finish(spec, None, snapshot, links, missing=missing)
    return _finish(spec, line.bottleneck_cycle_time_s / line.takt_s, snapshot, links)


@_register("throughput_vs_demand", "Simulated throughput meets demand", "higher")
def throughput_vs_demand(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """Simulated throughput per hour over the demand per hour (value)."""
    line = evidence.line_performance
    if line is None:
        return _finish(spec, None, {}, missing=["performance of the intended line"])
    snapshot = {
        "line": line.name,
        "simulated_throughput_per_hour": line.simulated_throughput_per_hour,
        "demand_per_hour": line.demand_per_hour,
    }
    links: list[Link] = [{"kind": "line", "name": line.name}]
    missing = []
    if line.simulated_throughput_per_hour is None:
        missing.append(f"a simulation of {line.name}")
    if line.demand_per_hour is None or line.demand_per_hour <= 0:
        missing.append("a demand rate above 0")
    if missing or line.simulated_throughput_per_hour is None or line.demand_per_hour is None:
        return _finish(spec, None, snapshot, links, missing=missing)
    return _finish(spec, line.simulated_throughput_per_hour / line.demand_per_hour, snapshot, links)


@_register("unit_cost_vs_target", "Projected unit cost at volume within target", "lower")
def unit_cost_vs_target(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """Unit cost projected to the target volume over the target unit cost (value)."""
    cost = evidence.cost
    target = evidence.target_unit_cost
    snapshot: dict[str, Any] = {
        "projected_unit_cost": None if cost is None else cost.projected_unit_cost,
        "volume": None if cost is None else cost.volume,
        "target_unit_cost": target,
    }
    links: list[Link] = [{"kind": "product", "key": evidence.product}]
    missing = []
    if cost is None or cost.projected_unit_cost is None:
        missing.append("a unit cost projected to volume")
    if target is None or target <= 0:
        missing.append("a target unit cost above 0")
    if missing or cost is None or cost.projected_unit_cost is None or target is None:
        return _finish(spec, None, snapshot, links, missing=missing)
    return _finish(spec, cost.projected_unit_cost / target, snapshot, links)


@_register("control_plan_coverage", "Control plan covers every CTQ", "lower")
def control_plan_coverage(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """CTQ characteristics the released control plan does not check (value)."""
    ctqs, missing = _ctqs_or_missing(evidence)
    plan = evidence.control_plan
    if plan is None:
        missing.append("a released control plan")
    if missing or plan is None:
        return _finish(spec, None, {}, missing=missing)
    covered = set(plan.characteristics)
    uncovered = [c.name for c in ctqs if c.name not in covered]
    snapshot = {
        "control_plan": {"name": plan.name, "version": plan.version},
        "ctqs": [c.name for c in ctqs],
        "uncovered": uncovered,
    }
    links: list[Link] = [{"kind": "control_plan", "name": plan.name, "version": plan.version}]
    return _finish(spec, float(len(uncovered)), snapshot, links)


@_register("gage_rr", "Gage R&R of every CTQ gauge", "lower", params={"min_ndc": _positive_int})
def gage_rr(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """The largest %GRR (of study variation) over the gauges of the CTQs (value); a gauge with
    fewer distinct categories than ``params.min_ndc`` (default 5) fails whatever its %GRR.

    AIAG MSA (4th ed.): %GRR under 10 % acceptable, 10-30 % conditionally acceptable, over
    30 % unacceptable; ndc >= 5.
    """
    raw_ndc = spec.params.get("min_ndc", 5)
    min_ndc = raw_ndc if isinstance(raw_ndc, int) else 5
    ctqs, missing = _ctqs_or_missing(evidence)
    if evidence.gauges is None:
        missing.append("gage R&R studies")
    if missing or evidence.gauges is None:
        return _finish(spec, None, {"min_ndc": min_ndc}, missing=missing)
    by_char = {g.characteristic: g for g in evidence.gauges}
    rows: list[dict[str, Any]] = []
    links: list[Link] = []
    failures: list[str] = []
    worst: float | None = None
    for c in ctqs:
        g = by_char.get(c.name)
        if g is None or g.gauge is None:
            missing.append(f"a gauge for CTQ {c.name}")
            continue
        links.append({"kind": "gauge", "name": g.gauge})
        rows.append(
            {"characteristic": c.name, "gauge": g.gauge, "pct_grr": g.pct_grr, "ndc": g.ndc}
        )
        if g.pct_grr is None:
            missing.append(f"a gage R&R study of {g.gauge} on {c.name}")
            continue
        worst = g.pct_grr if worst is None else max(worst, g.pct_grr)
        if g.ndc is not None and g.ndc < min_ndc:
            failures.append(f"{g.gauge} on {c.name}: ndc {g.ndc} < {min_ndc}")
    snapshot = {"min_ndc": min_ndc, "gauges": rows}
    return _finish(spec, worst, snapshot, links, missing=missing, failures=failures)


@_register("parts_sourced", "Every part sourced, single-source risk accepted", "lower")
def parts_sourced(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """Parts with no supplier, or with a single one whose risk nobody accepted (value)."""
    if evidence.parts is None:
        return _finish(spec, None, {}, missing=["sourcing of the parts"])
    if not evidence.parts:
        return _finish(spec, None, {"parts": 0}, missing=["parts of the BOM"])
    unsourced = [p.part for p in evidence.parts if not p.sourced]
    risky = [
        p.part for p in evidence.parts if p.sourced and p.single_source and not p.risk_accepted
    ]
    snapshot = {
        "parts": len(evidence.parts),
        "unsourced": unsourced,
        "single_source_not_accepted": risky,
    }
    links: list[Link] = [{"kind": "part", "number": n} for n in [*unsourced, *risky]]
    return _finish(spec, float(len(unsourced) + len(risky)), snapshot, links)


@_register("go_to_market_checklist", "Go-to-market checklist done", "lower")
def go_to_market_checklist(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """Go-to-market checklist items not done (value)."""
    items = evidence.go_to_market
    if items is None or not items:
        return _finish(spec, None, {}, missing=["go-to-market checklist items"])
    open_items = [i.name for i in items if not i.done]
    snapshot = {"items": len(items), "done": len(items) - len(open_items), "open": open_items}
    return _finish(
        spec, float(len(open_items)), snapshot, [{"kind": "checklist", "name": "go_to_market"}]
    )


@_register("regulatory_units", "Units allocated to regulatory approval", "lower")
def regulatory_units(spec: CriterionSpec, evidence: Evidence) -> CriterionResult:
    """Shortfall of units allocated to regulatory approval against those needed (value)."""
    reg = evidence.regulatory
    if reg is None:
        return _finish(spec, None, {}, missing=["allocation of pilot units"])
    snapshot = {"allocated": reg.allocated, "required": reg.required}
    if reg.required is None:
        return _finish(spec, None, snapshot, missing=["units the regulatory approvals need"])
    shortfall = max(reg.required - reg.allocated, 0)
    links: list[Link] = [{"kind": "product", "key": evidence.product}]
    return _finish(spec, float(shortfall), snapshot, links)
