"""The CSV analysis service: the chart-kind registry, and errors that name its own parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phasegate.domain.errors import InvalidInput
from phasegate.services.analysis import (
    CHART_KINDS,
    CHARTS,
    analyse_capability,
    analyse_spc,
    chart_kind,
)
from phasegate.services.analysis.charts import Rows, SizeColumn


@pytest.fixture
def widths(tmp_path: Path) -> Path:
    rows = ["time,lot,width"]
    rows += [
        f"2026-11-{1 + i // 20:02d}T08:00:00,L{i // 5:02d},{1.5 + 0.01 * ((i * 7) % 11)}"
        for i in range(60)
    ]
    path = tmp_path / "widths.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def counts(tmp_path: Path) -> Path:
    path = tmp_path / "counts.csv"
    path.write_text("count,n\n" + "".join(f"{i % 7},50\n" for i in range(20)))
    return path


@pytest.mark.parametrize("name", CHARTS)
def test_every_registered_chart_kind_runs(widths: Path, counts: Path, name: str) -> None:
    """Each entry is enough to call its chart: the data it needs comes from the entry alone."""
    kind = chart_kind(name)
    args: dict[str, Any] = {}
    if kind.rows is Rows.SUBGROUPS:
        args["subgroup"] = "lot"
    if kind.size is SizeColumn.REQUIRED:
        args["size"] = "n"
    if kind.attributes:
        report = analyse_spc(counts, value="count", chart=name, **args)
    else:
        report = analyse_spc(widths, value="width", chart=name, **args)
    assert report.result.chart == name
    assert (report.result.secondary is not None) == (kind.secondary_title is not None)


def test_registry_names_are_unique_and_complete() -> None:
    assert len(set(CHARTS)) == len(CHARTS) == len(CHART_KINDS)
    with pytest.raises(InvalidInput) as info:
        chart_kind("pie")
    assert info.value.fields[0].loc == "chart"
    assert all(name in str(info.value) for name in CHARTS)


@pytest.mark.parametrize(
    ("call", "loc"),
    [
        ({"chart": "xbar-r", "subgroup_size": 0}, "subgroup_size"),
        ({"chart": "xbar-r", "subgroup": "lot", "subgroup_size": 5}, "subgroup"),
        ({"chart": "xbar-r"}, "chart"),
        ({"chart": "p"}, "size"),
        ({"chart": "p", "size": "n", "subgroup_size": 5}, "subgroup_size"),
        ({"chart": "imr", "size": "n"}, "size"),
        ({"chart": "imr", "phase1_start": "2026-11-01"}, "time"),
        ({"chart": "imr", "time": "time", "phase1": 5, "phase1_end": "2026-11-02"}, "phase1"),
        ({"chart": "imr", "time": "time", "phase1_start": "yesterday"}, "phase1_start"),
        ({"chart": "imr", "time": "time", "phase1_end": "soon"}, "phase1_end"),
        ({"chart": "imr", "subgroup": "lot"}, "subgroup"),
        ({"chart": "imr", "subgroup_size": 5}, "subgroup_size"),
    ],
)
def test_spc_errors_name_the_service_parameters(
    widths: Path, call: dict[str, Any], loc: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        analyse_spc(widths, value="width", **call)
    assert [f.loc for f in info.value.fields] == [loc]
    assert "--" not in str(info.value)


@pytest.mark.parametrize(
    ("call", "loc"),
    [
        ({"lsl": None, "usl": None}, "lsl/usl"),
        ({"lsl": 2.0, "usl": 1.0}, "usl"),
        ({"lsl": 1.0, "usl": 2.0, "sigma_within": "range"}, "sigma_within"),
        ({"lsl": 1.0, "usl": 2.0, "subgroup": "lot", "subgroup_size": 5}, "subgroup"),
    ],
)
def test_capability_errors_name_the_service_parameters(
    widths: Path, call: dict[str, Any], loc: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        analyse_capability(widths, value="width", **call)
    assert [f.loc for f in info.value.fields] == [loc]
    assert "--" not in str(info.value)
