"""One criterion of a gate plan and the comparisons it may use."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["COMPARISONS", "CriterionSpec", "ParamValue", "Threshold", "compare"]

Threshold = float
ParamValue = str | float | int | tuple[str, ...]

COMPARISONS: Mapping[str, Callable[[float, float], bool]] = MappingProxyType(
    {
        ">=": operator.ge,
        ">": operator.gt,
        "<=": operator.le,
        "<": operator.lt,
    }
)


def compare(value: float, comparison: str, threshold: float) -> bool:
    """Whether ``value <comparison> threshold`` holds (``comparison`` one of ``COMPARISONS``)."""
    return bool(COMPARISONS[comparison](value, threshold))


@dataclass(frozen=True, slots=True)
class CriterionSpec:
    """What one criterion checks: a metric compared with a threshold.

    ``confidence`` is the confidence level of the bound a sampling metric computes (``None`` for
    metrics that do not sample). ``params`` are the metric's own options (e.g. the finding
    severities counted). A blocking criterion that fails stops the gate; an advisory one only
    makes the suggestion conditional.
    """

    id: str
    metric: str
    comparison: str
    threshold: Threshold
    blocking: bool
    explanation: str
    title: str = ""
    confidence: float | None = None
    params: Mapping[str, ParamValue] = field(default_factory=lambda: MappingProxyType({}))

    def holds(self, value: float) -> bool:
        """Whether ``value`` meets this criterion's comparison with its threshold."""
        return compare(value, self.comparison, self.threshold)

    def describe(self) -> str:
        """The rule as a person reads it, e.g. ``fpy_lower_bound >= 0.9``."""
        return f"{self.metric} {self.comparison} {self.threshold:g}"
