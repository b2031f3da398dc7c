"""Use case "analyse a CSV file": SPC, capability and gage R&R on named columns, no database.

Reads the columns through :mod:`phasegate.ingest.columns`, forms subgroups, calls
:mod:`phasegate.stats` and returns report objects whose ``as_dict()`` is the JSON contract of
``phasegate spc`` / ``capability`` / ``gage``. Rows with a missing value are dropped and
reported (count and line numbers) in ``notes``; nothing is dropped silently.

Errors name the parameters of these functions (``subgroup_size``, ``phase1_start``...), as the
``loc`` of the error and, inside a message, between backquotes (`` `size` ``), so that each
adapter can name them its own way (a CLI flag, a form field).

- :mod:`.series`: rows to values in subgroups, missing values dropped and noted;
- :mod:`.charts`: the chart kinds, one entry each (what data, which stats function);
- :mod:`.spc`, :mod:`.capability`, :mod:`.gage`: one analysis each, with its report.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from phasegate.services.analysis.charts import CHART_KINDS, CHARTS, ChartKind, chart_kind

if TYPE_CHECKING:
    from phasegate.services.analysis.capability import CapabilityReport, analyse_capability
    from phasegate.services.analysis.gage import GageReport, analyse_gage
    from phasegate.services.analysis.spc import SpcReport, analyse_spc

__all__ = [
    "CHARTS",
    "CHART_KINDS",
    "CapabilityReport",
    "ChartKind",
    "GageReport",
    "SpcReport",
    "analyse_capability",
    "analyse_gage",
    "analyse_spc",
    "chart_kind",
]

# The analyses load the statistics engine (and SciPy): imported on first use, not with the package.
_LAZY = {
    "CapabilityReport": "capability",
    "analyse_capability": "capability",
    "GageReport": "gage",
    "analyse_gage": "gage",
    "SpcReport": "spc",
    "analyse_spc": "spc",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
