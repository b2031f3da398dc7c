"""The line simulation against SimPy, the max-plus recursion and published queueing results."""

from __future__ import annotations

import doctest
import inspect
import math
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phasegate.line import distributions, simulation
from phasegate.line.distributions import sample_line
from phasegate.line.model import Line, parse_line
from phasegate.line.simulation import _interval, replicate, simulate, trace
from tests.unit.line.simpy_model import simpy_replicate, simpy_trace


def _line(*stations: dict[str, object]) -> Line:
    named = []
    for i, station in enumerate(stations):
        item = {"name": f"S{i}", "time": {"dist": "fixed", "value": 1.0}}
        item.update(station)
        named.append(item)
    return parse_line({"name": "test line", "stations": named})


PARALLEL = _line(
    {"servers": 2},
    {"servers": 3, "buffer": 1},
    {"servers": 1, "buffer": 0},
    {"servers": 2, "buffer": 2},
)
SERIAL = _line({}, {"buffer": 0}, {"buffer": 1}, {"buffer": 0}, {"buffer": 2})


def test_hand_computed_trace_of_a_blocked_two_station_line() -> None:
    # Unit 1 finishes A at 1 but B is busy with unit 0 until 4 and has no buffer: it is
    # blocked on A until 4, so unit 2 starts A only at 4 (blocking after service).
    line = _line({}, {"buffer": 0})
    out = trace(line, [[1.0, 3.0], [1.0, 3.0], [1.0, 3.0]])
    assert out.tolist() == [[1.0, 4.0], [4.0, 7.0], [7.0, 10.0]]


def test_hand_computed_trace_with_parallel_servers_and_overtaking() -> None:
    # Two servers at B: unit 1 (1 s) overtakes unit 0 (10 s) and leaves first.
    line = _line({}, {"servers": 2})
    out = trace(line, [[1.0, 10.0], [1.0, 1.0], [1.0, 1.0]])
    assert out.tolist() == [[1.0, 11.0], [2.0, 3.0], [3.0, 4.0]]


@pytest.mark.parametrize("line", [PARALLEL, SERIAL], ids=["parallel", "serial"])
def test_trace_equals_the_simpy_model_event_by_event(line: Line) -> None:
    scales = np.linspace(0.5, 2.5, len(line.stations))
    times = np.random.default_rng(5).exponential(scales, (400, len(line.stations)))
    ours = trace(line, times)
    reference = simpy_trace(line, times)
    assert not np.isnan(ours).any()
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-9)


@settings(max_examples=15, deadline=None)
@given(
    servers=st.lists(st.integers(1, 3), min_size=1, max_size=4),
    buffers=st.lists(st.integers(0, 2), min_size=4, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_trace_equals_simpy_on_any_small_line(
    servers: list[int], buffers: list[int], seed: int
) -> None:
    line = _line(*({"servers": c, "buffer": b} for c, b in zip(servers, buffers, strict=False)))
    times = np.random.default_rng(seed).exponential(1.0, (30, len(servers)))
    np.testing.assert_allclose(trace(line, times), simpy_trace(line, times), atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), units=st.integers(1, 60))
def test_departures_respect_the_flow(seed: int, units: int) -> None:
    times = np.random.default_rng(seed).exponential(1.0, (units, len(PARALLEL.stations)))
    out = trace(PARALLEL, times)
    # A unit leaves a station no sooner than it arrived there plus its work there.
    arrived = np.hstack([np.zeros((units, 1)), out[:, :-1]])
    assert (out >= arrived + times - 1e-9).all()
    # No more than c + b units are ever at station k: unit i arrives at k only after the
    # unit c + b places ahead of it in arrival order has left.
    for k in range(1, len(PARALLEL.stations)):
        place = PARALLEL.stations[k].servers + PARALLEL.stations[k].buffer
        arrivals = np.sort(out[:, k - 1])
        leaving = np.sort(out[:, k])
        assert (arrivals[place:] >= leaving[:-place] - 1e-9).all()


def test_the_event_loop_and_the_recursion_give_the_same_numbers() -> None:
    line = _line(
        *(
            {"buffer": b, "time": {"dist": "lognormal", "mean": m, "cv": 0.5}}
            for m, b in [(40, 0), (42, 0), (45, 1), (41, 0), (39, 2)]
        )
    )
    events = replicate(line, 2000, np.random.default_rng(3), warmup=100, method="events")
    recursion = replicate(line, 2000, np.random.default_rng(3), warmup=100, method="recursion")
    assert events.good_units == recursion.good_units == 2000
    for name in ("throughput_per_hour", "mean_wip", "mean_flow_time_s", "duration_s"):
        assert getattr(events, name) == pytest.approx(getattr(recursion, name), rel=1e-9)
    for a, b in zip(events.stations, recursion.stations, strict=True):
        assert (a.utilization, a.blocked, a.starved) == pytest.approx(
            (b.utilization, b.blocked, b.starved), abs=1e-9
        )


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    line = _line({"servers": 2, "time": {"dist": "exponential", "mean": 50.0}}, {"buffer": 1})
    first = simulate(line, 300, replications=3, seed=11)
    assert simulate(line, 300, replications=3, seed=11) == first
    assert simulate(line, 300, replications=3, seed=12) != first


def test_a_deterministic_line_has_the_bottleneck_rate() -> None:
    # Fixed times 30 s and 60 s, one place between: B works all the time (60 units/h) and A is
    # blocked half of its time once the line is full.
    line = _line(
        {"time": {"dist": "fixed", "value": 30.0}},
        {"time": {"dist": "fixed", "value": 60.0}, "buffer": 1},
    )
    result = simulate(line, 100, warmup=10)
    assert result.throughput_per_hour == pytest.approx(60.0)
    assert result.bottleneck == "S1"
    a, b = result.stations
    assert (a.utilization, a.blocked, a.starved) == pytest.approx((0.5, 0.5, 0.0))
    assert (b.utilization, b.blocked, b.starved) == pytest.approx((1.0, 0.0, 0.0))
    # A unit: 30 s at A, 30 s blocked (B still busy), waits 60 s in the buffer, 60 s at B.
    assert result.mean_flow_time_s == pytest.approx(180.0)
    assert result.mean_wip == pytest.approx(3.0)  # Little: 60/h x 180 s


def test_the_shares_add_up_and_down_time_shows_with_breakdowns() -> None:
    line = _line({"mtbf_s": 20.0, "mttr_s": 5.0}, {"servers": 2, "buffer": 1, "yield": 0.9})
    result = simulate(line, 50_000, seed=4)
    for shares in result.stations:
        total = shares.utilization + shares.blocked + shares.starved + shares.down
        assert total == pytest.approx(1.0)
    # Time-based failures: down a share mttr / (mtbf + mttr) = 0.2 of the clock; the first
    # station (1 s per unit, never starved or blocked here) works the other 0.8, and nine in
    # ten units pass the second: 0.8 x 0.9 x 3600 = 2592 good units per hour.
    first, second = result.stations
    assert first.down == pytest.approx(0.2, abs=0.01)
    assert first.utilization == pytest.approx(1 - first.down)
    assert second.down == 0.0
    assert result.throughput_per_hour == pytest.approx(2592, rel=0.02)


# Three lines for the statistical comparison with SimPy: balanced, one bottleneck, and tight
# buffers with breakdowns, parallel servers and scrap.
STOCHASTIC = {
    "balanced": _line(
        *({"buffer": 2, "time": {"dist": "lognormal", "mean": 40.0, "cv": 0.4}} for _ in range(4))
    ),
    "bottleneck": _line(
        {"time": {"dist": "exponential", "mean": 30.0}},
        {"buffer": 3, "time": {"dist": "triangular", "low": 40.0, "mode": 55.0, "high": 70.0}},
        {"buffer": 3, "servers": 2, "time": {"dist": "normal", "mean": 45.0, "sd": 10.0}},
    ),
    "tight_breakdowns": _line(
        {"time": {"dist": "lognormal", "mean": 30.0, "cv": 0.4}, "mtbf_s": 900.0, "mttr_s": 120.0},
        {"servers": 2, "buffer": 1, "time": {"dist": "exponential", "mean": 55.0}, "yield": 0.95},
        {
            "buffer": 0,
            "time": {"dist": "empirical", "samples": [20.0, 26.0, 28.0, 31.0, 40.0]},
            "mtbf_s": 600.0,
            "mttr_s": 60.0,
        },
    ),
}


@pytest.mark.parametrize("name", list(STOCHASTIC))
def test_means_over_replications_agree_with_simpy(name: str) -> None:
    line = STOCHASTIC[name]
    units, warmup, replications = 800, 100, 20
    ours = simulate(line, units, replications=replications, seed=1, warmup=warmup)
    rng = np.random.default_rng(99)
    capacity = sum(s.servers + s.buffer for s in line.stations)
    runs = [
        simpy_replicate(
            line, sample_line(line, units + warmup + capacity, rng), rng, units=units, warmup=warmup
        )
        for _ in range(replications)
    ]
    for key in ("throughput_per_hour", "mean_wip", "mean_flow_time_s"):
        values = [getattr(run, key) for run in runs]
        low, high = _interval(values, 0.95)
        our_low, our_high = ours.ci[key]
        # Each mean lies within the other's 95 % interval.
        assert low <= getattr(ours, key) <= high, (key, getattr(ours, key), (low, high))
        assert our_low <= float(np.mean(values)) <= our_high, key


def test_mm1_mean_flow_time() -> None:
    # Source: M/M/1 sojourn time W = 1 / (mu - lambda) (Kleinrock 1975, Queueing Systems
    # vol. 1, chapter 3). The first station, with exponential times of mean 1/lambda and
    # unlimited raw material, releases a Poisson stream; a buffer of 500 places never fills
    # (P = rho^500). A unit's flow time is its interarrival time at the release station plus
    # its M/M/1 sojourn: 1/lambda + 1/(mu - lambda).
    lam, mu = 1 / 60, 1 / 40
    line = _line(
        {"time": {"dist": "exponential", "mean": 1 / lam}},
        {"buffer": 500, "time": {"dist": "exponential", "mean": 1 / mu}},
    )
    result = simulate(line, 40_000, replications=8, seed=3, warmup=2000)
    low, high = result.ci["mean_flow_time_s"]
    expected = 1 / lam + 1 / (mu - lam)  # 60 + 120 s
    assert low <= expected <= high
    assert result.mean_flow_time_s == pytest.approx(expected, rel=0.03)
    assert result.throughput_per_hour == pytest.approx(lam * 3600, rel=0.02)


def test_two_exponential_stations_without_buffer_make_two_thirds_of_the_rate() -> None:
    # Source: Hillier & Boling (1967), "Finite queues in series with exponential or Erlang
    # service times - a numerical approach", Operations Research 15(2), 286-303; also Altiok
    # (1997), Performance Analysis of Manufacturing Systems: two exponential
    # stations with equal rate mu, no place between them (blocking), first station never
    # starved: throughput = 2 mu / 3.
    mu = 1 / 60
    line = _line(
        {"time": {"dist": "exponential", "mean": 1 / mu}},
        {"buffer": 0, "time": {"dist": "exponential", "mean": 1 / mu}},
    )
    for method in ("recursion", "events"):
        runs = [
            replicate(line, 20_000, np.random.default_rng(seed), warmup=500, method=method)
            for seed in range(6)
        ]
        values = [run.throughput_per_hour for run in runs]
        low, high = _interval(values, 0.95)
        assert low <= 2 * mu / 3 * 3600 <= high, method  # 40 units per hour
        # The first station is blocked a third of the time (the state where both are done).
        blocked = np.mean([run.stations[0].blocked for run in runs])
        assert blocked == pytest.approx(1 / 3, abs=0.01)


def test_confidence_interval_is_absent_with_one_replication() -> None:
    result = simulate(SERIAL, 50)
    assert all(math.isnan(v) for pair in result.ci.values() for v in pair)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"units": 0}, "units (0)"),
        ({"units": 5, "replications": 0}, "replications (0)"),
        ({"units": 5, "warmup": -1}, "warmup (-1)"),
    ],
)
def test_bad_run_settings_are_refused(kwargs: dict[str, int], words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        simulate(SERIAL, **kwargs)


def test_trace_refuses_bad_times() -> None:
    with pytest.raises(ValueError, match="one column per station"):
        trace(SERIAL, np.ones((3, 2)))
    with pytest.raises(ValueError, match="unit 2 at station 'S1'"):
        trace(SERIAL, [[1, 1, 1, 1, 1], [1, -1, 1, 1, 1]])


def test_progress_is_reported_after_each_replication() -> None:
    calls: list[int] = []
    simulate(SERIAL, 20, replications=3, progress=calls.append)
    assert calls == [1, 2, 3]


@pytest.mark.parametrize("module", [simulation, distributions], ids=lambda m: m.__name__)
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module, raise_on_error=False, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize(
    "function",
    [simulation.simulate, simulation.trace, distributions.lognormal_parameters],
    ids=lambda f: f.__name__,
)
def test_each_computation_states_its_formula_and_source(function: object) -> None:
    doc = inspect.getdoc(function) or ""
    assert "References\n----------" in doc
    assert "Notes\n-----" in doc
