"""Yields the pages show, with their confidence intervals, from ``phasegate.stats.yields``.

First-pass yield (FPY) of a station is the share of units that passed at their first attempt
there; its interval is Wilson's score interval. Rolled throughput yield (RTY) of a build is the
product of its stations' FPYs. Its interval multiplies the stations' Wilson bounds, each taken
at confidence ``1 - (1 - confidence) / k`` for ``k`` stations (Bonferroni), so that the product
covers the true RTY with at least ``confidence`` when the stations are independent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from phasegate.stats.intervals import Interval
from phasegate.stats.yields import YieldResult, first_pass_yield, rolled_throughput_yield

CONFIDENCE = 0.95
RTY_METHOD = "wilson-bonferroni-product"


def station_fpy(
    passed_first: int, first_attempts: int, confidence: float = CONFIDENCE
) -> YieldResult | None:
    """FPY with its Wilson interval; ``None`` when no unit made a first attempt."""
    if first_attempts == 0:
        return None
    return first_pass_yield(passed_first, first_attempts, confidence)


@dataclass(frozen=True, slots=True)
class RolledYield:
    """RTY of a build: the product of ``stations`` first-pass yields, with its interval."""

    yield_frac: float
    ci: Interval
    stations: int


def rolled_yield(
    stations: Sequence[tuple[int, int]], confidence: float = CONFIDENCE
) -> RolledYield | None:
    """RTY from (passed first, first attempts) per station; stations without attempts are left
    out. ``None`` when no station has any."""
    measured = [(ok, n) for ok, n in stations if n > 0]
    if not measured:
        return None
    each = 1.0 - (1.0 - confidence) / len(measured)
    results = [first_pass_yield(ok, n, each) for ok, n in measured]
    return RolledYield(
        yield_frac=rolled_throughput_yield([r.yield_frac for r in results]),
        ci=Interval(
            low=rolled_throughput_yield([r.ci.low for r in results]),
            high=rolled_throughput_yield([r.ci.high for r in results]),
            confidence=confidence,
            method=RTY_METHOD,
        ),
        stations=len(measured),
    )
