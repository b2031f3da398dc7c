"""Line performance: each value checked against a hand computation or a published example."""

from __future__ import annotations

import math

import numpy as np
import pytest

from phasegate.domain.errors import InvalidInput
from phasegate.line import (
    Moments,
    PassTable,
    StationSpec,
    WorkingCalendar,
    cycle_stats,
    cycle_trend,
    flow_metrics,
    insufficient,
    line_balance,
    line_performance,
    routing_metrics,
    takt_time,
    time_average_wip,
    unit_index,
)

# Montgomery and Runger, Applied Statistics and Probability for Engineers, 6th ed., Table 11-1
# (oxygen purity y against hydrocarbon level x), Examples 11-1 and 11-4.
HYDROCARBON = [0.99, 1.02, 1.15, 1.29, 1.46, 1.36, 0.87, 1.23, 1.55, 1.40,
               1.19, 1.15, 0.98, 1.01, 1.11, 1.20, 1.26, 1.32, 1.43, 0.95]  # fmt: skip
PURITY = [90.01, 89.05, 91.43, 93.74, 96.73, 94.45, 87.59, 91.77, 99.42, 93.65,
          93.54, 92.52, 90.56, 89.54, 89.85, 90.39, 93.25, 93.41, 94.98, 87.33]  # fmt: skip


def test_cycle_stats_by_hand():
    """1..10 s: mean 5.5, sample sd sqrt(82.5/9) = 3.02765, median 5.5; the 90th percentile by
    Hyndman and Fan (1996) definition 7: h = (n - 1) p + 1 = 9.1, so x(9) + 0.1 (x(10) - x(9))."""
    s = cycle_stats(np.arange(1.0, 11.0))
    assert s.n == 10
    assert s.mean_s == pytest.approx(5.5, rel=1e-12)
    assert s.sd_s == pytest.approx(math.sqrt(82.5 / 9), rel=1e-12)
    assert s.cv == pytest.approx(math.sqrt(82.5 / 9) / 5.5, rel=1e-12)
    assert s.median_s == 5.5
    assert s.p90_s == pytest.approx(9.1, rel=1e-12)
    assert (s.min_s, s.max_s) == (1.0, 10.0)


def test_too_few_values_leave_the_statistic_out():
    one = cycle_stats([42.0])
    assert (one.mean_s, one.median_s, one.sd_s, one.cv, one.p90_s) == (42.0, 42.0, None, None, None)
    nine = cycle_stats(np.arange(1.0, 10.0))
    assert nine.p90_s is None and nine.sd_s is not None
    empty = cycle_stats([])
    assert empty.n == 0 and empty.mean_s is None and empty.median_s is None
    assert insufficient(9) == "insufficient data (n = 9)"


def test_moments_from_an_aggregate_set_n_mean_and_cv():
    """The aggregate's sums give n, mean and sd; the samples only the median and percentile."""
    m = Moments(count=4, total_s=172.0, total_sq_s2=40.0**2 + 42.0**2 + 44.0**2 + 46.0**2)
    s = cycle_stats([40.0, 46.0], m)
    assert s.n == 4
    assert s.mean_s == 43.0
    assert s.sd_s == pytest.approx(math.sqrt(20.0 / 3.0), rel=1e-12)
    assert s.median_s == 43.0


def test_negative_cycle_time_is_refused():
    with pytest.raises(InvalidInput, match=r"cycle_s\[1\]"):
        cycle_stats([3.0, -1.0])


def test_trend_matches_the_published_regression():
    """Montgomery and Runger, Examples 11-1 and 11-4: b1 = 14.947, b0 = 74.283,
    sigma^2 = 1.18, 95 % CI of the slope 12.181 <= b1 <= 17.713."""
    r = cycle_trend(HYDROCARBON, PURITY)
    assert r.slope_s_per_unit == pytest.approx(14.947, rel=1e-4)
    assert r.intercept_s == pytest.approx(74.283, rel=1e-4)
    assert r.residual_sd_s**2 == pytest.approx(1.18, rel=1e-2)
    assert r.ci.low == pytest.approx(12.181, rel=1e-4)
    assert r.ci.high == pytest.approx(17.713, rel=1e-4)
    assert r.n == 20 and r.significant()


def test_trend_of_a_flat_series_is_not_significant():
    """S_xy = 0 - 1.5 + 0.5 + 0 + 1.5 - 2.5 = -2, S_xx = 17.5: slope -2 / 17.5."""
    r = cycle_trend([1, 2, 3, 4, 5, 6], [50.0, 51.0, 49.0, 50.0, 51.0, 49.0])
    assert r.slope_s_per_unit == pytest.approx(-2.0 / 17.5, rel=1e-12)
    assert not r.significant()


def test_trend_needs_three_points_and_some_spread():
    with pytest.raises(InvalidInput, match="at least 3"):
        cycle_trend([1, 2], [1.0, 2.0])
    with pytest.raises(InvalidInput, match="index"):
        cycle_trend([4, 4, 4], [1.0, 2.0, 3.0])


def test_unit_index_orders_units_by_entry():
    assert unit_index([9, 9, 4, 6, 4], [50.0, 60.0, 10.0, 10.0, 70.0]).tolist() == [3, 3, 1, 2, 1]


def test_balance_efficiency_by_hand():
    """Groover, Automation, Production Systems and CIM, 4th ed., eq. (15.10):
    E_b = T_wc / (w T_s) = (30 + 45 + 40) / (3 x 45) = 0.85185..."""
    r = line_balance([30.0, 45.0, 40.0])
    assert r.bottleneck == 1
    assert r.bottleneck_s == 45.0
    assert r.efficiency == pytest.approx(115.0 / 135.0, rel=1e-12)
    assert r.balance_delay() == pytest.approx(20.0 / 135.0, rel=1e-12)
    assert r.capacity_per_hour() == pytest.approx(80.0, rel=1e-12)


def test_parallel_servers_divide_the_station_time():
    """A 90 s station with two machines lets a unit out every 45 s: the 60 s station is the
    bottleneck; E_b = (60 + 90 + 40) / ((1 + 2 + 1) x 60) = 190 / 240."""
    r = line_balance([60.0, 90.0, 40.0], [1, 2, 1])
    assert r.effective_s == (60.0, 45.0, 40.0)
    assert r.bottleneck == 0
    assert r.servers == 4
    assert r.efficiency == pytest.approx(190.0 / 240.0, rel=1e-12)


def test_balance_refuses_bad_stations():
    with pytest.raises(InvalidInput, match=r"mean_s\[1\]"):
        line_balance([30.0, 0.0])
    with pytest.raises(InvalidInput, match=r"servers\[0\]"):
        line_balance([30.0], [0])


def test_time_average_wip_by_hand():
    """Units in [0, 10] and [5, 20]: area 10 + 15 = 25 over a 20 s window, peak 2."""
    assert time_average_wip([0.0, 5.0], [10.0, 20.0]) == (1.25, 2, 20.0)
    # one leaves at 10 as the next enters: never two at once
    assert time_average_wip([0.0, 10.0], [10.0, 20.0])[1] == 1


def test_flow_with_a_unit_still_in_the_line():
    """Units [0, 30], [10, 40] finished; the third entered at 20 and is still in the line at
    60: area 30 + 30 + 40 = 100 over 60 s; 2 finished in 60 s, mean flow 30 s."""
    r = flow_metrics([0.0, 10.0, 20.0], [30.0, 40.0, float("nan")], until_s=60.0)
    assert (r.units, r.finished, r.window_s, r.max_wip) == (3, 2, 60.0, 3)
    assert r.mean_wip == pytest.approx(100.0 / 60.0, rel=1e-12)
    assert r.mean_flow_s == 30.0
    assert r.throughput_per_hour == pytest.approx(2 / 60.0 * 3600.0, rel=1e-12)
    assert r.littles_wip == pytest.approx(1.0, rel=1e-12)
    assert r.littles_law_gap() == pytest.approx(100.0 / 60.0 - 1.0, rel=1e-12)


def test_flow_window_cannot_end_before_the_last_event():
    with pytest.raises(InvalidInput, match="until_s"):
        flow_metrics([0.0], [10.0], until_s=5.0)


def test_routing_waits_and_rework_by_hand():
    """Unit 1: A [0, 10], B [12, 20] (fails), A [30, 35] (rework, a loop back), B [36, 40].
    Unit 2: A [5, 15], B [25, 30]. Waits before B: 2, 1 (unit 1) and 10 (unit 2); before A: 10
    (unit 1's return)."""
    r = routing_metrics(
        [1, 1, 1, 1, 2, 2],
        [0, 1, 0, 1, 0, 1],
        [0.0, 12.0, 30.0, 36.0, 5.0, 25.0],
        [10.0, 20.0, 35.0, 40.0, 15.0, 30.0],
        2,
    )
    a, b = r
    assert (b.waits, b.mean_wait_s, b.median_wait_s) == (3, pytest.approx(13.0 / 3.0), 2.0)
    assert (a.waits, a.mean_wait_s) == (1, 10.0)
    assert (a.visited_units, a.reworked_units, a.extra_passes, a.loops_back) == (2, 1, 1, 1)
    assert (b.visited_units, b.reworked_units, b.extra_passes, b.loops_back) == (2, 1, 1, 0)
    assert a.rework_share() == 0.5


def test_routing_refuses_an_unknown_station():
    with pytest.raises(InvalidInput, match=r"station\[0\]"):
        routing_metrics([1], [3], [0.0], [1.0], 2)


def test_line_performance_by_hand():
    """Two stations, three units; unit 3 has not passed the last station yet.

    A: 10, 12, 14 s; B (two servers): 30, 34 s; A's mean 12 s, B's effective 32 / 2 = 16 s:
    B is the bottleneck; E_b = (12 + 32) / (3 x 16) = 44 / 48. Takt from 1 x 8 h x 250 d for
    450 000 units = 16 s: the bottleneck meets it exactly.
    """
    passes = PassTable.of(
        unit=[1, 1, 2, 2, 3],
        station=[0, 1, 0, 1, 0],
        start_s=[0.0, 10.0, 10.0, 22.0, 22.0],
        end_s=[10.0, 40.0, 22.0, 56.0, 36.0],
        ok=[True, True, True, True, True],
    )
    takt = takt_time(WorkingCalendar(1, 8.0, 250), 450_000)
    r = line_performance([StationSpec("A"), StationSpec("B", servers=2)], passes, takt)
    assert [s.cycle.mean_s for s in r.stations] == [12.0, 32.0]
    assert r.stations[1].effective_cycle_s() == 16.0
    assert r.stations[1].effective_p90_s() is None  # two values
    assert r.bottleneck() == 1
    assert r.balance is not None
    assert r.balance.efficiency == pytest.approx(44.0 / 48.0, rel=1e-12)
    assert r.meets_takt() is True
    assert r.flow is not None
    # unit 1 in [0, 40], unit 2 in [10, 56], unit 3 in [22, 56 (window end)]: 40 + 46 + 34
    assert (r.flow.units, r.flow.finished, r.flow.window_s) == (3, 2, 56.0)
    assert r.flow.mean_wip == pytest.approx(120.0 / 56.0, rel=1e-12)
    assert r.flow.mean_flow_s == 43.0
    trend = r.stations[0].trend
    assert trend is not None and trend.slope_s_per_unit == pytest.approx(2.0, rel=1e-12)
    assert r.stations[1].trend is None  # two points only


def test_a_station_without_passes_is_left_out_of_the_balance():
    passes = PassTable.of([1], [0], [0.0], [5.0], [True])
    r = line_performance([StationSpec("A"), StationSpec("B")], passes)
    assert r.balanced == (0,)
    assert r.bottleneck() == 0
    assert r.stations[1].cycle.n == 0
    assert r.flow is not None and r.flow.finished == 0
    assert r.meets_takt() is None


def test_pass_table_refuses_an_end_before_the_start():
    with pytest.raises(InvalidInput, match=r"end_s\[0\]"):
        PassTable.of([1], [0], [10.0], [5.0], [True])


def test_effective_p90_divides_by_the_servers():
    """Ten passes of 1..10 s at a station with two servers: p90 9.1 s (Hyndman and Fan
    definition 7), so one unit leaves every 4.55 s or less nine times in ten."""
    n = 10
    passes = PassTable.of(
        list(range(n)), [0] * n, [0.0] * n, [float(i) for i in range(1, n + 1)], [True] * n
    )
    r = line_performance([StationSpec("A", servers=2)], passes)
    assert r.stations[0].effective_p90_s() == pytest.approx(4.55, rel=1e-12)
    assert r.stations[0].effective_cycle_s() == pytest.approx(2.75, rel=1e-12)


def test_a_scrapped_unit_leaves_the_flow_but_not_through_the_line():
    """Unit 1 through the line in [0, 30]; unit 2 scrapped after its pass in [10, 20]: two
    left in 30 s with mean flow time (30 + 10) / 2 = 20 s, so L = 2/30 x 20 = 40/30, equal to
    the time-average WIP (30 + 10) / 30; the throughput counts unit 1 only: 120 per hour."""
    r = flow_metrics([0.0, 10.0], [30.0, 20.0], through=[True, False])
    assert (r.finished, r.through) == (2, 1)
    assert r.mean_wip == pytest.approx(40.0 / 30.0, rel=1e-12)
    assert r.littles_wip == pytest.approx(40.0 / 30.0, rel=1e-12)
    assert r.throughput_per_hour == pytest.approx(120.0, rel=1e-12)


def test_units_known_to_be_out_of_the_line_leave_after_their_last_pass():
    """Unit 2 failed at A and was scrapped: without ``left_units`` it stays in the line until
    the window's end (30 s), with it it leaves at 15 s."""
    passes = PassTable.of(
        [1, 1, 2], [0, 1, 0], [0.0, 10.0, 5.0], [10.0, 30.0, 15.0], [True, True, False]
    )
    stations = [StationSpec("A"), StationSpec("B")]
    kept = line_performance(stations, passes).flow
    out = line_performance(stations, passes, left_units=[2]).flow
    assert kept is not None and out is not None
    assert (kept.finished, kept.through, kept.mean_wip) == (1, 1, pytest.approx(55.0 / 30.0))
    assert (out.finished, out.through, out.mean_wip) == (2, 1, pytest.approx(40.0 / 30.0))
    assert out.littles_law_gap() == pytest.approx(0.0, abs=1e-12)
