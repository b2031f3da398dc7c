"""The line model file: parsing, defaults, and errors that name the TOML key path."""

from __future__ import annotations

import numpy as np
import pytest

from phasegate.domain.errors import InvalidInput
from phasegate.line.distributions import lognormal_parameters, sample_times
from phasegate.line.model import TimeSpec, parse_line, parse_line_toml

EXAMPLE = """
name = "Pilot line A"
[[stations]]
name = "SMT"
servers = 1
buffer = 2
time = { dist = "lognormal", mean = 42.0, cv = 0.2 }

[[stations]]
name = "AOI"
servers = 2
buffer = 3
time = { dist = "empirical", samples = [10, 12.5, 11] }
mtbf_s = 3600
mttr_s = 300
yield = 0.98

[[stations]]
name = "Test"
time = { dist = "triangular", low = 20, mode = 25, high = 40 }
"""


def test_the_design_example_parses_with_defaults() -> None:
    line = parse_line_toml(EXAMPLE)
    assert line.name == "Pilot line A"
    assert [s.name for s in line.stations] == ["SMT", "AOI", "Test"]
    smt, aoi, test = line.stations
    assert (smt.servers, smt.buffer, smt.time) == (1, 2, TimeSpec("lognormal", (42.0, 0.2)))
    assert (aoi.servers, aoi.mtbf_s, aoi.mttr_s, aoi.yield_frac) == (2, 3600.0, 300.0, 0.98)
    assert aoi.time.params == (10.0, 12.5, 11.0)
    assert (test.servers, test.buffer, test.yield_frac, test.breakdowns) == (1, 0, 1.0, False)
    assert test.time.mean_s() == pytest.approx(85 / 3)


def _station(**overrides: object) -> dict[str, object]:
    station: dict[str, object] = {"name": "S", "time": {"dist": "fixed", "value": 10.0}}
    station.update(overrides)
    return station


def _line(*stations: dict[str, object]) -> dict[str, object]:
    named = [dict(s, name=f"S{i}") for i, s in enumerate(stations)]
    return {"name": "L", "stations": named}


@pytest.mark.parametrize(
    ("third", "loc", "words"),
    [
        ({"time": {"dist": "weibull", "mean": 3}}, "stations[2].time.dist", "unknown distribution"),
        ({"time": {"dist": "lognormal", "mean": 3, "cv": -0.1}}, "stations[2].time.cv", ">= 0"),
        ({"time": {"dist": "lognormal", "mean": 0, "cv": 0.1}}, "stations[2].time.mean", "> 0"),
        ({"time": {"dist": "fixed", "value": -1}}, "stations[2].time.value", "> 0"),
        ({"time": {"dist": "exponential", "mean": "x"}}, "stations[2].time.mean", "a number"),
        ({"time": {"dist": "normal", "mean": 5}}, "stations[2].time.sd", "required"),
        ({"time": {"dist": "fixed", "value": 1, "sd": 2}}, "stations[2].time.sd", "not a param"),
        (
            {"time": {"dist": "triangular", "low": 5, "mode": 9, "high": 7}},
            "stations[2].time.mode",
            "low <= mode <= high",
        ),
        ({"time": {"dist": "empirical", "samples": []}}, "stations[2].time.samples", "non-empty"),
        (
            {"time": {"dist": "empirical", "samples": [1, -2]}},
            "stations[2].time.samples[1]",
            ">= 0",
        ),
        ({"buffer": -1}, "stations[2].buffer", ">= 0"),
        ({"servers": 0}, "stations[2].servers", ">= 1"),
        ({"servers": 1.5}, "stations[2].servers", "whole number"),
        ({"yield": 0}, "stations[2].yield", "(0, 1]"),
        ({"yield": 1.2}, "stations[2].yield", "(0, 1]"),
        ({"mtbf_s": 100}, "stations[2].mttr_s", "required when mtbf_s"),
        ({"mtbf_s": 100, "mttr_s": -5}, "stations[2].mttr_s", "> 0"),
        ({"bufer": 2}, "stations[2].bufer", "unknown key"),
        ({"time": 12}, "stations[2].time", "must be a table"),
    ],
)
def test_a_bad_value_is_reported_with_its_key_path(
    third: dict[str, object], loc: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_line(_line(_station(), _station(), _station(**third)))
    assert [f.loc for f in caught.value.fields] == [loc]
    assert caught.value.message.startswith(f"{loc}: ")
    assert words in caught.value.fields[0].message


def test_every_problem_is_listed_and_the_message_counts_them() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_line(_line(_station(servers=0), _station(buffer=-2, **{"yield": 2})))
    assert [f.loc for f in caught.value.fields] == [
        "stations[0].servers",
        "stations[1].buffer",
        "stations[1].yield",
    ]
    assert "(and 2 more)" in caught.value.message


def test_the_line_needs_stations_with_unique_names() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_line({"name": "L", "stations": []})
    assert caught.value.fields[0].loc == "stations"
    with pytest.raises(InvalidInput) as caught:
        parse_line({"name": "L", "stations": [_station(), _station()]})
    assert caught.value.fields[0].loc == "stations[1].name"


def test_toml_syntax_errors_name_the_source_and_position() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_line_toml('name = "x"\n[[stations]\n', source="line.toml")
    assert caught.value.fields[0].loc == "line.toml"
    assert "line 2" in caught.value.message


def test_lognormal_parameters_give_the_asked_mean_and_cv() -> None:
    # Source: Law (2015), Simulation Modeling and Analysis, 5th ed., section 6.2.2:
    # E[X] = exp(mu + sigma^2/2), Var[X] = E[X]^2 (exp(sigma^2) - 1).
    mu, sigma = lognormal_parameters(42.0, 0.2)
    assert np.exp(mu + sigma**2 / 2) == pytest.approx(42.0, rel=1e-12)
    assert np.sqrt(np.exp(sigma**2) - 1) == pytest.approx(0.2, rel=1e-12)


@pytest.mark.parametrize(
    ("spec", "mean", "sd"),
    [
        (TimeSpec("lognormal", (42.0, 0.2)), 42.0, 8.4),
        (TimeSpec("exponential", (30.0,)), 30.0, 30.0),
        # Triangular: mean (a+b+c)/3, variance (a²+b²+c²-ab-ac-bc)/18 (Law 2015, 6.2.2).
        (TimeSpec("triangular", (20.0, 25.0, 40.0)), 85 / 3, np.sqrt(325 / 18)),
        (TimeSpec("normal", (50.0, 5.0)), 50.0, 5.0),
        (TimeSpec("empirical", (1.0, 2.0, 6.0)), 3.0, np.sqrt(14 / 3)),
    ],
)
def test_samples_have_the_distributions_mean_and_spread(
    spec: TimeSpec, mean: float, sd: float
) -> None:
    draws = sample_times(spec, 200_000, np.random.default_rng(7))
    assert draws.mean() == pytest.approx(mean, rel=0.01)
    assert draws.std() == pytest.approx(sd, rel=0.02)
    assert (draws >= 0).all()


def test_a_normal_time_is_truncated_at_zero() -> None:
    draws = sample_times(TimeSpec("normal", (1.0, 5.0)), 10_000, np.random.default_rng(1))
    assert draws.min() == 0.0
    assert (draws == 0.0).mean() == pytest.approx(0.42, abs=0.02)  # P(Z < -0.2) = 0.4207
