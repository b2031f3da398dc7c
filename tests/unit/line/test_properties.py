"""Property-based checks of the line performance engine."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phasegate.line import (
    Moments,
    PassTable,
    StationSpec,
    cycle_stats,
    flow_metrics,
    line_balance,
    line_performance,
    time_average_wip,
    unit_index,
)

SETTINGS = settings(max_examples=60, deadline=None)

times = st.floats(0.5, 500.0, allow_nan=False, allow_infinity=False)


@st.composite
def unit_streams(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Arrivals and departures of 1-40 units, every unit leaving after it arrived."""
    n = draw(st.integers(1, 40))
    entry = np.array(draw(st.lists(st.floats(0, 1e4), min_size=n, max_size=n)))
    stay = np.array(draw(st.lists(st.floats(0.01, 1e3), min_size=n, max_size=n)))
    return entry, entry + stay


@SETTINGS
@given(unit_streams())
def test_littles_law_holds_when_every_unit_has_left(stream):
    """L = lambda W over a window every unit enters and leaves within (Little, 1961): the
    time average of N(t) from the event sweep equals throughput x mean flow time."""
    entry, exit_ = stream
    r = flow_metrics(entry, exit_)
    assert r.finished == r.units
    assert r.littles_wip is not None
    assert r.mean_wip == pytest.approx(r.littles_wip, rel=1e-9, abs=1e-12)


@SETTINGS
@given(unit_streams(), st.floats(0.0, 1e3))
def test_units_still_in_the_line_only_raise_the_wip(stream, extra):
    """Marking a unit as still in the line (it stays until the window's end) never lowers the
    time-average WIP below the Little's-law value of the finished units."""
    entry, exit_ = stream
    end = float(exit_.max()) + extra
    open_exit = exit_.copy()
    open_exit[0] = np.nan
    r = flow_metrics(entry, open_exit, until_s=end)
    assert r.finished == r.units - 1
    if r.littles_wip is not None:
        assert r.mean_wip >= r.littles_wip - 1e-9


@SETTINGS
@given(unit_streams())
def test_peak_wip_bounds_the_average(stream):
    entry, exit_ = stream
    mean, peak, _ = time_average_wip(entry, exit_)
    assert 0 <= mean <= peak <= entry.size


@SETTINGS
@given(st.lists(st.tuples(times, st.integers(1, 4)), min_size=1, max_size=12))
def test_balance_efficiency_is_in_zero_one(stations):
    """0 < E_b <= 1 (Groover, eq. 15.10); the bottleneck's effective time is the largest."""
    mean = [t for t, _ in stations]
    servers = [m for _, m in stations]
    r = line_balance(mean, servers)
    assert 0 < r.efficiency <= 1
    assert r.bottleneck_s == max(r.effective_s)


@SETTINGS
@given(times, st.lists(st.integers(1, 4), min_size=1, max_size=12))
def test_balance_efficiency_is_one_for_equal_effective_times(pace, servers):
    """Stations whose time is proportional to their servers are perfectly balanced."""
    r = line_balance([pace * m for m in servers], servers)
    assert r.efficiency == pytest.approx(1.0, rel=1e-12)


@SETTINGS
@given(st.lists(times, min_size=2, max_size=60))
def test_aggregate_moments_agree_with_the_samples(values):
    """The running sums give the sample mean and sd; the sd from sum(x^2) - (sum x)^2/n loses
    digits when the spread is tiny beside the mean, hence a tolerance scaled by the values."""
    x = np.array(values)
    direct = cycle_stats(x)
    via = cycle_stats(x, Moments.of(x))
    assert direct == via
    assert direct.mean_s == pytest.approx(float(x.mean()), rel=1e-9)
    assert direct.sd_s == pytest.approx(float(x.std(ddof=1)), rel=1e-6, abs=1e-6 * x.max())
    assert direct.median_s is not None and direct.min_s <= direct.median_s <= direct.max_s


@SETTINGS
@given(st.lists(st.tuples(st.integers(1, 8), st.floats(0, 1e3)), min_size=1, max_size=30))
def test_unit_index_numbers_units_one_to_n(passes):
    unit = [u for u, _ in passes]
    start = [t for _, t in passes]
    idx = unit_index(unit, start)
    assert sorted(set(idx.tolist())) == list(range(1, len(set(unit)) + 1))


@st.composite
def serial_lines(draw: st.DrawFn) -> tuple[int, PassTable]:
    """Units that go through k stations in order, one pass each, every pass ok."""
    k = draw(st.integers(1, 4))
    n = draw(st.integers(1, 15))
    rows = []
    for unit in range(1, n + 1):
        t = draw(st.floats(0, 1e4))
        for station in range(k):
            t += draw(st.floats(0, 50))  # waiting
            duration = draw(st.floats(0.5, 100))
            rows.append((unit, station, t, t + duration))
            t += duration
    u, s, t0, t1 = (list(c) for c in zip(*rows, strict=True))
    return k, PassTable.of(u, s, t0, t1, [True] * len(u))


@SETTINGS
@given(serial_lines())
def test_a_line_without_rework_has_no_loops_and_obeys_littles_law(line):
    k, passes = line
    r = line_performance([StationSpec(f"S{i}") for i in range(k)], passes)
    assert all(s.routing.extra_passes == 0 and s.routing.loops_back == 0 for s in r.stations)
    assert r.flow is not None and r.flow.finished == r.flow.units
    assert r.flow.littles_wip is not None
    assert r.flow.mean_wip == pytest.approx(r.flow.littles_wip, rel=1e-9, abs=1e-12)
    assert r.balance is not None and 0 < r.balance.efficiency <= 1
