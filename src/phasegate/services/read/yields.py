"""Yields the pages show, with their confidence intervals, from ``phasegate.stats.yields``.

First-pass yield (FPY) of a station is the share of units that passed at their first attempt
there, with Wilson's score interval. Rolled throughput yield (RTY) of a build is the product of
its stations' FPYs, with the simultaneous interval of ``rolled_throughput_yield_interval``.
Stations no unit has reached yet are left out of both.
"""

from __future__ import annotations

from collections.abc import Sequence

from phasegate.stats.yields import (
    RTY_INTERVAL_METHOD,
    RolledYieldResult,
    YieldResult,
    first_pass_yield,
    rolled_throughput_yield_interval,
)

CONFIDENCE = 0.95
RTY_METHOD = RTY_INTERVAL_METHOD


def station_fpy(
    passed_first: int, first_attempts: int, confidence: float = CONFIDENCE
) -> YieldResult | None:
    """FPY with its Wilson interval; ``None`` when no unit made a first attempt."""
    if first_attempts == 0:
        return None
    return first_pass_yield(passed_first, first_attempts, confidence)


def rolled_yield(
    stations: Sequence[tuple[int, int]], confidence: float = CONFIDENCE
) -> RolledYieldResult | None:
    """RTY from (passed first, first attempts) per station; ``None`` when no station has any."""
    measured = [(ok, n) for ok, n in stations if n > 0]
    if not measured:
        return None
    return rolled_throughput_yield_interval(measured, confidence)
