"""Gate plans: TOML data naming the criteria of one phase transition.

A plan has a ``name``, a ``version``, the ``from`` and ``to`` phases and a list of
``[[criteria]]``. The defaults ship with the package (``plans/*.toml``); a product may override
one (:func:`override`), which makes a new version label, so a decision records exactly the plan
it used. Every error names the key path, e.g. ``criteria[3].threshold``.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from types import MappingProxyType
from typing import Any

from phasegate.domain.enums import Phase
from phasegate.domain.errors import invalid
from phasegate.domain.phases import next_phase
from phasegate.gates.criteria import METRICS, metric
from phasegate.gates.spec import CriterionSpec, ParamValue

__all__ = ["GatePlan", "default_plan", "override", "parse_plan"]

_CRITERION_KEYS = frozenset(
    {
        "id",
        "metric",
        "title",
        "comparison",
        "threshold",
        "confidence",
        "blocking",
        "explanation",
        "params",
    }
)
_CHANGEABLE_KEYS = _CRITERION_KEYS - {"id", "metric"}
_PLAN_KEYS = frozenset({"name", "version", "from", "to", "description", "criteria"})
_DEFAULT_FILES = {Phase.PILOT: "prototype-pilot.toml", Phase.PRODUCTION: "pilot-production.toml"}


@dataclass(frozen=True, slots=True)
class GatePlan:
    """The criteria of one gate, ``from_phase`` -> ``to_phase``, as a named, versioned plan."""

    name: str
    version: str
    from_phase: Phase
    to_phase: Phase
    criteria: tuple[CriterionSpec, ...]
    description: str = ""

    def criterion(self, criterion_id: str) -> CriterionSpec:
        """The criterion with ``criterion_id``; ``InvalidInput`` naming it otherwise."""
        for spec in self.criteria:
            if spec.id == criterion_id:
                return spec
        raise invalid("criterion", f"plan {self.name} has no criterion {criterion_id!r}")


def _toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise invalid(source, f"not valid TOML: {exc}") from None


def _string(table: Mapping[str, Any], key: str, loc: str, *, required: bool = True) -> str:
    raw = table.get(key)
    if raw is None and not required:
        return ""
    if not isinstance(raw, str) or not raw.strip():
        what = "is missing" if raw is None else f"must be non-empty text, got {raw!r}"
        raise invalid(f"{loc}{key}", what)
    return raw.strip()


def _phase(table: Mapping[str, Any], key: str) -> Phase:
    raw = _string(table, key, "")
    try:
        return Phase(raw)
    except ValueError:
        allowed = ", ".join(p.value for p in Phase)
        raise invalid(key, f"{raw!r} is not one of: {allowed}") from None


def _number(raw: object, loc: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise invalid(loc, f"must be a finite number, got {raw!r}")
    return float(raw)


def _criterion(table: object, loc: str) -> CriterionSpec:
    """One ``[[criteria]]`` table as a ``CriterionSpec``; errors name ``loc.key``."""
    if not isinstance(table, dict):
        raise invalid(loc, "must be a table")
    unknown = sorted(set(table) - _CRITERION_KEYS)
    if unknown:
        raise invalid(
            f"{loc}.{unknown[0]}", f"unknown key; allowed: {', '.join(sorted(_CRITERION_KEYS))}"
        )
    cid = _string(table, "id", f"{loc}.")
    name = _string(table, "metric", f"{loc}.")
    try:
        entry = metric(name)
    except ValueError:
        raise invalid(
            f"{loc}.metric", f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}"
        ) from None
    comparison = _string(table, "comparison", f"{loc}.")
    if comparison not in entry.comparisons:
        raise invalid(
            f"{loc}.comparison",
            f"{comparison!r} does not fit {name}, which is better {entry.better}; "
            f"use {' or '.join(entry.comparisons)}",
        )
    if "threshold" not in table:
        raise invalid(f"{loc}.threshold", "is missing")
    threshold = _number(table["threshold"], f"{loc}.threshold")
    blocking = table.get("blocking")
    if not isinstance(blocking, bool):
        raise invalid(f"{loc}.blocking", f"must be true or false, got {blocking!r}")
    confidence = _criterion_confidence(table, loc, name, entry.samples)
    params = _params(table.get("params", {}), f"{loc}.params", name, entry.params)
    return CriterionSpec(
        id=cid,
        metric=name,
        comparison=comparison,
        threshold=threshold,
        blocking=blocking,
        explanation=_string(table, "explanation", f"{loc}."),
        title=_string(table, "title", f"{loc}.", required=False),
        confidence=confidence,
        params=params,
    )


def _criterion_confidence(
    table: Mapping[str, Any], loc: str, name: str, samples: bool
) -> float | None:
    raw = table.get("confidence")
    if not samples:
        if raw is not None:
            raise invalid(f"{loc}.confidence", f"{name} does not sample; remove the confidence")
        return None
    if raw is None:
        raise invalid(f"{loc}.confidence", f"is missing; {name} needs a confidence level")
    level = _number(raw, f"{loc}.confidence")
    if not 0 < level < 1:
        raise invalid(f"{loc}.confidence", f"must be between 0 and 1 (exclusive), got {level:g}")
    return level


def _params(
    raw: object, loc: str, name: str, checks: Mapping[str, Any]
) -> Mapping[str, ParamValue]:
    if not isinstance(raw, dict):
        raise invalid(loc, "must be a table")
    out: dict[str, ParamValue] = {}
    for key, value in raw.items():
        if key not in checks:
            allowed = ", ".join(sorted(checks)) or "none"
            raise invalid(f"{loc}.{key}", f"{name} takes no such parameter; allowed: {allowed}")
        out[key] = checks[key](f"{loc}.{key}", value)
    return MappingProxyType(out)


def parse_plan(text: str, *, source: str = "plan") -> GatePlan:
    """A :class:`GatePlan` from TOML text; ``InvalidInput`` naming the key path otherwise."""
    data = _toml(text, source)
    unknown = sorted(set(data) - _PLAN_KEYS)
    if unknown:
        raise invalid(unknown[0], f"unknown key; allowed: {', '.join(sorted(_PLAN_KEYS))}")
    name = _string(data, "name", "")
    version = _string(data, "version", "")
    from_phase = _phase(data, "from")
    to_phase = _phase(data, "to")
    expected = next_phase(from_phase)
    if expected is not to_phase:
        after = "no phase" if expected is None else expected.value
        raise invalid("to", f"the gate from {from_phase.value} leads to {after}")
    raw = data.get("criteria")
    if not isinstance(raw, list) or not raw:
        raise invalid("criteria", "a plan needs at least one [[criteria]] table")
    criteria = tuple(_criterion(table, f"criteria[{i}]") for i, table in enumerate(raw))
    _check_unique(criteria)
    return GatePlan(
        name=name,
        version=version,
        from_phase=from_phase,
        to_phase=to_phase,
        criteria=criteria,
        description=_string(data, "description", "", required=False),
    )


def _check_unique(criteria: tuple[CriterionSpec, ...]) -> None:
    seen: set[str] = set()
    for i, spec in enumerate(criteria):
        if spec.id in seen:
            raise invalid(f"criteria[{i}].id", f"{spec.id!r} is used by an earlier criterion")
        seen.add(spec.id)


def default_plan(to_phase: Phase) -> GatePlan:
    """The plan shipped for the gate into ``to_phase`` (pilot or production)."""
    try:
        filename = _DEFAULT_FILES[to_phase]
    except KeyError:
        raise invalid("to", f"there is no gate into {to_phase.value}") from None
    text = resources.files("phasegate.gates").joinpath("plans", filename).read_text("utf-8")
    return parse_plan(text, source=filename)


def override(plan: GatePlan, product_toml: str) -> GatePlan:
    """``plan`` with a product's overrides applied, under a new version label.

    The override file holds a ``version`` label (the plan's version becomes
    ``"<plan version>+<label>"``), optional ``[criteria.<id>]`` tables changing any of
    ``title``, ``comparison``, ``threshold``, ``confidence``, ``blocking``, ``explanation`` and
    ``params`` of an existing criterion (a ``params`` table replaces the criterion's parameters
    as a whole), ``remove = [ids]``, and ``[[add]]`` tables holding whole new criteria in the
    plan format.
    """
    data = _toml(product_toml, "override")
    label = _string(data, "version", "")
    unknown = sorted(set(data) - {"version", "criteria", "remove", "add"})
    if unknown:
        raise invalid(unknown[0], "unknown key; allowed: version, criteria, remove, add")
    by_id = {spec.id: spec for spec in plan.criteria}
    removed = _removals(data.get("remove", []), by_id)
    changes = data.get("criteria", {})
    if not isinstance(changes, dict):
        raise invalid("criteria", "must be a table of [criteria.<id>] tables")
    specs = [
        _changed(spec, changes[spec.id]) if spec.id in changes else spec
        for spec in plan.criteria
        if spec.id not in removed
    ]
    for cid in changes:
        if cid not in by_id or cid in removed:
            raise invalid(f"criteria.{cid}", f"plan {plan.name} has no criterion {cid!r} to change")
    added = data.get("add", [])
    if not isinstance(added, list):
        raise invalid("add", "must be a list of [[add]] tables")
    for i, table in enumerate(added):
        spec = _criterion(table, f"add[{i}]")
        if spec.id in {s.id for s in specs}:
            raise invalid(f"add[{i}].id", f"{spec.id!r} is already a criterion of the plan")
        specs.append(spec)
    criteria = tuple(specs)
    if not criteria:
        raise invalid("remove", "would leave the plan without criteria")
    return replace(plan, version=f"{plan.version}+{label}", criteria=criteria)


def _removals(raw: object, by_id: Mapping[str, CriterionSpec]) -> set[str]:
    if not isinstance(raw, list):
        raise invalid("remove", "must be a list of criterion ids")
    for i, cid in enumerate(raw):
        if cid not in by_id:
            raise invalid(f"remove[{i}]", f"there is no criterion {cid!r} to remove")
    return {str(cid) for cid in raw}


def _changed(spec: CriterionSpec, change: object) -> CriterionSpec:
    loc = f"criteria.{spec.id}"
    if not isinstance(change, dict):
        raise invalid(loc, "must be a table")
    unknown = sorted(set(change) - _CHANGEABLE_KEYS)
    if unknown:
        raise invalid(
            f"{loc}.{unknown[0]}",
            f"cannot be changed; allowed: {', '.join(sorted(_CHANGEABLE_KEYS))}",
        )
    merged: dict[str, Any] = {
        "id": spec.id,
        "metric": spec.metric,
        "title": spec.title or None,
        "comparison": spec.comparison,
        "threshold": spec.threshold,
        "confidence": spec.confidence,
        "blocking": spec.blocking,
        "explanation": spec.explanation,
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in spec.params.items()},
    }
    merged.update(change)
    return _criterion({k: v for k, v in merged.items() if v is not None}, loc)
