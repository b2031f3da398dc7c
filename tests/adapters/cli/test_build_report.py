"""CLI contract of ``phasegate builds report BUILD``: the build report as JSON, its headline
figures as CSV, and a clear error for an unknown build, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest

from tests.adapters.api.test_build_report import COST_KEYS, QUALITY_KEYS, REPORT_KEYS
from tests.adapters.cli.conftest import Runner
from tests.adapters.cli.test_line_performance import _seed


def test_json_is_the_build_report(run: Runner, any_database_url: str) -> None:
    _seed(any_database_url)
    done = run("builds", "report", "plt-1", "--format", "json", url=any_database_url)
    assert done.code == 0, done.err
    report = done.json()
    assert set(report) == REPORT_KEYS
    assert set(report["quality"]) == QUALITY_KEYS and set(report["cost"]) == COST_KEYS
    assert report["quality"]["fpy"]["value"] == pytest.approx(2 / 3)
    assert report["line"]["bottleneck"] == "S2"


def test_csv_lists_the_headline_figures(run: Runner, database_url: str) -> None:
    _seed(database_url)
    done = run("builds", "report", "PLT-1", "--product", "LNP", "--format", "csv")
    assert done.code == 0, done.err
    rows = {(r["section"], r["figure"]): r["value"] for r in csv.DictReader(io.StringIO(done.out))}
    assert rows["build", "units"] == "3"
    assert rows["line", "bottleneck"] == "S2"
    assert float(rows["quality", "fpy"]) == pytest.approx(2 / 3)


def test_an_unknown_build_exits_with_a_reason(run: Runner, database_url: str) -> None:
    _seed(database_url)
    done = run("builds", "report", "NOPE")
    assert done.code != 0
    assert "NOPE" in done.err
