"""Run rules (Nelson 1-8, Western Electric 1-4) on standardized chart values, fully vectorized.

A point's standardized value is ``z = (value - center) / sigma_point``, where ``sigma_point`` is
the standard error of that point (one third of the distance from the centre to its 3-sigma
limit), so charts whose limits vary per point are judged correctly.

Each rule flags the point that completes its pattern. For the "k of m" rules (Nelson 5 and 6,
Western Electric 2 and 3) the flagged point must itself be one of the k points, as Minitab does,
so a point back inside zone C is not flagged for a pattern that ended before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from phasegate.domain.errors import invalid
from phasegate.stats._checks import BoolArray, FloatArray

__all__ = [
    "NELSON_RULES",
    "WESTERN_ELECTRIC_RULES",
    "RuleSet",
    "RuleViolations",
    "check_rules",
    "parse_rules",
]

RuleSystem = Literal["nelson", "western_electric"]

NELSON_RULES: dict[int, str] = {
    1: "one point beyond 3 sigma",
    2: "nine points in a row on the same side of the centre line",
    3: "six points in a row steadily increasing or decreasing",
    4: "fourteen points in a row alternating up and down",
    5: "two out of three points beyond 2 sigma on the same side",
    6: "four out of five points beyond 1 sigma on the same side",
    7: "fifteen points in a row within 1 sigma of the centre line",
    8: "eight points in a row beyond 1 sigma on either side",
}

WESTERN_ELECTRIC_RULES: dict[int, str] = {
    1: "one point beyond 3 sigma",
    2: "two out of three points beyond 2 sigma on the same side",
    3: "four out of five points beyond 1 sigma on the same side",
    4: "eight points in a row on the same side of the centre line",
}


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Which rules of which system to check."""

    system: RuleSystem
    rules: tuple[int, ...]

    def describe(self, rule: int) -> str:
        table = NELSON_RULES if self.system == "nelson" else WESTERN_ELECTRIC_RULES
        return table[rule]


def parse_rules(spec: str | Sequence[int] | RuleSet | None) -> RuleSet:
    """Turn ``"nelson"``, ``"we"``, ``"nelson:1,2,5"``, ``"1,2,5"`` or a list into a RuleSet.

    Bare numbers mean Nelson rules. ``None`` means all eight Nelson rules.
    """
    if isinstance(spec, RuleSet):
        return spec
    if spec is None:
        return RuleSet("nelson", tuple(range(1, 9)))
    system: RuleSystem = "nelson"
    numbers: Iterable[int | str]
    if isinstance(spec, str):
        text = spec.strip().lower().replace(" ", "")
        head, _, tail = text.partition(":")
        if head in {"nelson", "n"}:
            numbers = tail.split(",") if tail else range(1, 9)
        elif head in {"we", "western_electric", "western-electric", "westernelectric"}:
            system = "western_electric"
            numbers = tail.split(",") if tail else range(1, 5)
        elif head in {"none", ""}:
            return RuleSet("nelson", ())
        else:
            numbers = text.split(",")
    else:
        numbers = spec
    table = NELSON_RULES if system == "nelson" else WESTERN_ELECTRIC_RULES
    chosen: list[int] = []
    for item in numbers:
        try:
            rule = int(item)
        except (TypeError, ValueError):
            raise invalid("rules", f"{item!r} is not a rule number") from None
        if rule not in table:
            raise invalid("rules", f"{system} rules are numbered 1-{len(table)}, got {rule}")
        if rule not in chosen:
            chosen.append(rule)
    return RuleSet(system, tuple(sorted(chosen)))


@dataclass(frozen=True, slots=True)
class RuleViolations:
    """Which points break which rules.

    ``flags[i]`` has bit ``r - 1`` set when point ``i`` breaks rule ``r``; use :meth:`at` for
    one point or :meth:`points` for one rule.
    """

    rule_set: RuleSet
    flags: NDArray[np.uint16]

    def at(self, index: int) -> list[int]:
        """Rule numbers broken at point ``index``."""
        f = int(self.flags[index])
        return [r for r in self.rule_set.rules if f >> (r - 1) & 1]

    def points(self, rule: int) -> NDArray[np.intp]:
        """Indices of the points that break ``rule``."""
        return np.flatnonzero(self.flags & np.uint16(1 << (rule - 1)))

    def any(self) -> BoolArray:
        """Boolean mask of the points that break at least one rule."""
        return np.asarray(self.flags != 0, dtype=np.bool_)

    def count(self) -> int:
        """Number of points with at least one violation."""
        return int(np.count_nonzero(self.flags))

    def as_lists(self) -> list[list[int]]:
        """Per point, the list of rule numbers broken (for JSON output)."""
        rules = self.rule_set.rules
        out: list[list[int]] = [[] for _ in range(self.flags.shape[0])]
        for rule in rules:
            for i in self.points(rule).tolist():
                out[i].append(rule)
        return out


def _ends_of_runs(mask: BoolArray, length: int) -> BoolArray:
    """True at i when mask[i - length + 1 .. i] are all True."""
    return _window_counts(mask, length) >= length


def _window_counts(mask: BoolArray, length: int) -> NDArray[np.int32]:
    """Number of True values in the window of ``length`` ending at each index (partial at start)."""
    cs = np.cumsum(mask, dtype=np.int32)
    if length >= cs.shape[0]:
        return cs
    out = np.empty_like(cs)
    out[:length] = cs[:length]
    np.subtract(cs[length:], cs[:-length], out=out[length:])
    return out


def check_rules(
    z: ArrayLike,
    rules: str | Sequence[int] | RuleSet | None = None,
    *,
    values: ArrayLike | None = None,
) -> RuleViolations:
    r"""Check run rules on standardized values.

    Parameters
    ----------
    z : array_like
        Standardized values, ``(value - center) / sigma_point``, in time order.
    rules : str, sequence of int or RuleSet, optional
        ``"nelson"`` (default, rules 1-8), ``"we"`` (Western Electric 1-4), ``"nelson:1,5"``, or
        rule numbers.
    values : array_like, optional
        The raw plotted values, used for the trend and alternation rules (Nelson 3 and 4) when
        the standard error varies per point; defaults to ``z``.

    Returns
    -------
    RuleViolations
        Per point, the rules it breaks.

    Notes
    -----
    Zones: C is :math:`|z| \le 1`, B is :math:`1 < |z| \le 2`, A is :math:`2 < |z| \le 3`; a
    point exactly on a boundary is inside the inner zone and a point exactly on the centre line
    is on neither side. Every rule is a sliding-window count computed with cumulative sums, so
    the cost is a few passes over the array whatever its length.

    References
    ----------
    Nelson, L. S. (1984). The Shewhart control chart - tests for special causes. *Journal of
    Quality Technology* 16(4), 237-239.
    Western Electric Co. (1956). *Statistical Quality Control Handbook*, pp. 25-28.

    Examples
    --------
    >>> v = check_rules([0.1, 3.5, 0.2, -0.3], "nelson")
    >>> v.at(1), v.count()
    ([1], 1)
    """
    rule_set = parse_rules(rules)
    zz = np.asarray(z, dtype=np.float64)
    if zz.ndim != 1:
        raise invalid("z", "expected a 1-D array")
    flags = np.zeros(zz.shape[0], dtype=np.uint16)
    if zz.shape[0] == 0 or not rule_set.rules:
        return RuleViolations(rule_set, flags)
    points = _Points(zz, zz if values is None else np.asarray(values, dtype=np.float64))
    detectors = _DETECTORS[rule_set.system]
    for rule in rule_set.rules:
        if rule not in detectors:
            raise invalid("rules", f"{rule_set.system} rules are numbered 1-{len(detectors)}")
        flags[detectors[rule](points)] |= np.uint16(1 << (rule - 1))
    return RuleViolations(rule_set, flags)


class _Points:
    """What the rules look at: the standardized values and the steps between plotted values."""

    def __init__(self, z: FloatArray, raw: FloatArray) -> None:
        self.z = z
        self.raw = raw

    @cached_property
    def step(self) -> FloatArray:
        return np.diff(self.raw)


def _beyond_3(p: _Points) -> BoolArray:
    return np.abs(p.z) > 3


def _same_side(length: int) -> Callable[[_Points], BoolArray]:
    def rule(p: _Points) -> BoolArray:
        return _ends_of_runs(p.z > 0, length) | _ends_of_runs(p.z < 0, length)

    return rule


def _k_of_m_beyond(k: int, m: int, limit: float) -> Callable[[_Points], BoolArray]:
    def rule(p: _Points) -> BoolArray:
        return _k_of_m(p.z > limit, k, m) | _k_of_m(p.z < -limit, k, m)

    return rule


def _trend(p: _Points) -> BoolArray:
    trend = np.zeros(p.z.shape[0], dtype=np.bool_)
    trend[1:] = _ends_of_runs(p.step > 0, 5) | _ends_of_runs(p.step < 0, 5)
    return trend


def _alternating(p: _Points) -> BoolArray:
    alternating = np.zeros(p.z.shape[0], dtype=np.bool_)
    if p.step.shape[0] >= 2:
        flips = p.step[1:] * p.step[:-1] < 0
        alternating[2:] = _ends_of_runs(flips, 12)
    return alternating


def _run_within_1_sigma(p: _Points) -> BoolArray:
    return _ends_of_runs(np.abs(p.z) <= 1, 15)


def _run_beyond_1_sigma(p: _Points) -> BoolArray:
    return _ends_of_runs(np.abs(p.z) > 1, 8)


# One detector per rule number of each system; the descriptions are NELSON_RULES and
# WESTERN_ELECTRIC_RULES.
_DETECTORS: dict[RuleSystem, dict[int, Callable[[_Points], BoolArray]]] = {
    "nelson": {
        1: _beyond_3,
        2: _same_side(9),
        3: _trend,
        4: _alternating,
        5: _k_of_m_beyond(2, 3, 2.0),
        6: _k_of_m_beyond(4, 5, 1.0),
        7: _run_within_1_sigma,
        8: _run_beyond_1_sigma,
    },
    "western_electric": {
        1: _beyond_3,
        2: _k_of_m_beyond(2, 3, 2.0),
        3: _k_of_m_beyond(4, 5, 1.0),
        4: _same_side(8),
    },
}


def _k_of_m(mask: BoolArray, k: int, m: int) -> BoolArray:
    """True at i when mask[i] holds and at least k of the m points ending at i hold."""
    return mask & (_window_counts(mask, m) >= k)


def standardize(
    values: FloatArray, center: FloatArray | float, sigma: FloatArray | float
) -> FloatArray:
    """``(values - center) / sigma``; a point on a zero-width centre line gets 0, not NaN."""
    if np.min(sigma) > 0:
        return np.asarray((values - center) / sigma, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (values - center) / sigma
    return np.where(np.isnan(z), 0.0, z)
