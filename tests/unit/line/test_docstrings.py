"""The line engine's docstrings: their examples run, and each public computation cites its
source (the stats package's convention, applied to the line package)."""

from __future__ import annotations

import doctest
import inspect
from types import ModuleType

import pytest

from phasegate.line import calendar, performance

MODULES = (calendar, performance)
COMPUTATIONS = (
    calendar.takt_time,
    performance.cycle_stats,
    performance.cycle_trend,
    performance.line_balance,
    performance.time_average_wip,
    performance.flow_metrics,
    performance.line_performance,
)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module, raise_on_error=False, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("function", COMPUTATIONS, ids=lambda f: f.__name__)
def test_each_computation_cites_its_source(function: object) -> None:
    doc = inspect.getdoc(function) or ""
    assert "References\n----------" in doc
    assert "Notes\n-----" in doc
