"""The chart kinds of :func:`~phasegate.services.analysis.spc.analyse_spc`, one entry per kind.

An entry says what data the chart takes (subgroups, one row per point, or one row per sample
with its sample size), which :mod:`phasegate.stats` function computes it and which parameters
of ``analyse_spc`` it passes on. The service validates its input and dispatches with these
entries; the CLI takes the ``--chart`` choices and help text from them. A new chart kind is a
new entry here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, cast

from phasegate.domain.errors import invalid

if TYPE_CHECKING:
    from phasegate.stats.charts import SpcResult

__all__ = ["CHARTS", "CHART_KINDS", "ChartKind", "Rows", "SizeColumn", "chart_kind"]


class Rows(StrEnum):
    """How the rows of a file become the points of a chart."""

    SUBGROUPS = "subgroups"  # one point per subgroup: needs `subgroup` or `subgroup_size`
    INDIVIDUALS = "individuals"  # one point per row
    SAMPLES = "samples"  # one point per row, a count of one sample: never `subgroup_size`
    ANY = "any"  # one point per row, or per subgroup (its mean) when subgroups are given


class SizeColumn(StrEnum):
    """Whether the chart takes a sample-size column (``size``)."""

    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


@dataclass(frozen=True, slots=True)
class ChartKind:
    """One kind of control chart.

    ``compute`` (the :mod:`phasegate.stats` function named ``function``, imported when first
    used, so that listing the kinds loads no statistics) is called with the values, then (except
    for ``Rows.INDIVIDUALS``) the subgroup sizes or the sample sizes, then ``phase1``,
    ``reference`` and one keyword per entry of ``parameters``, which maps a keyword of
    ``compute`` to the ``analyse_spc`` parameter that gives its value.
    """

    name: str
    label: str  # short name in prose: "X̄-R"
    title: str  # title of the primary chart
    rows: Rows
    function: str  # name of the phasegate.stats function that computes the chart
    parameters: Mapping[str, str]
    size: SizeColumn = SizeColumn.NONE
    counts_within_size: bool = False  # a count is of nonconforming units, at most the size
    secondary_title: str | None = None  # title of the dispersion chart, if there is one

    @property
    def compute(self) -> Callable[..., SpcResult]:
        """The :mod:`phasegate.stats` function that computes this kind of chart."""
        return cast(
            "Callable[..., SpcResult]",
            getattr(importlib.import_module("phasegate.stats"), self.function),
        )

    @property
    def attributes(self) -> bool:
        """True for charts of counts (p, np, c, u)."""
        return self.rows is Rows.SAMPLES

    @property
    def run_rules(self) -> bool:
        """True when the zone rules apply (Shewhart charts; not EWMA or CUSUM)."""
        return "rules" in self.parameters

    def one_row_per_point(self, grouped: bool) -> bool:
        """True when every point is one row of the file (given whether subgroups were given)."""
        return self.rows is not Rows.SUBGROUPS and not (self.rows is Rows.ANY and grouped)


_SHEWHART = {"rules": "rules", "exclude_out_of_control": "exclude_out_of_control"}
_VARIABLES = {**_SHEWHART, "center": "target", "sigma": "sigma"}
_KNOWN = {"target": "target", "sigma": "sigma"}

CHART_KINDS: tuple[ChartKind, ...] = (
    ChartKind(
        "xbar-r", "X̄-R", "X̄ chart (limits from R̄)", Rows.SUBGROUPS, "xbar_r", _VARIABLES,
        secondary_title="R chart",
    ),
    ChartKind(
        "xbar-s", "X̄-S", "X̄ chart (limits from S̄)", Rows.SUBGROUPS, "xbar_s", _VARIABLES,
        secondary_title="S chart",
    ),
    ChartKind(
        "imr", "I-MR", "Individuals chart", Rows.INDIVIDUALS, "imr", _VARIABLES,
        secondary_title="Moving-range chart",
    ),
    ChartKind(
        "p", "p", "p chart (fraction nonconforming)", Rows.SAMPLES, "p_chart", _SHEWHART,
        size=SizeColumn.REQUIRED, counts_within_size=True,
    ),
    ChartKind(
        "np", "np", "np chart (number nonconforming)", Rows.SAMPLES, "np_chart", _SHEWHART,
        size=SizeColumn.REQUIRED, counts_within_size=True,
    ),
    ChartKind(
        "c", "c", "c chart (nonconformities)", Rows.SAMPLES, "c_chart", _SHEWHART,
        size=SizeColumn.OPTIONAL,
    ),
    ChartKind(
        "u", "u", "u chart (nonconformities per unit)", Rows.SAMPLES, "u_chart", _SHEWHART,
        size=SizeColumn.REQUIRED,
    ),
    ChartKind(
        "ewma", "EWMA", "EWMA chart", Rows.ANY, "ewma",
        {"lam": "lam", "nsigmas": "nsigmas", **_KNOWN},
    ),
    ChartKind(
        "cusum", "CUSUM", "Tabular CUSUM (standardised)", Rows.ANY, "cusum",
        {"k": "k", "h": "h", **_KNOWN},
    ),
)  # fmt: skip

CHARTS: tuple[str, ...] = tuple(kind.name for kind in CHART_KINDS)
_BY_NAME = {kind.name: kind for kind in CHART_KINDS}


def chart_kind(name: str) -> ChartKind:
    """The chart kind called ``name``; an error lists the kinds there are."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise invalid("chart", f"unknown chart {name!r}; one of {', '.join(CHARTS)}") from None
