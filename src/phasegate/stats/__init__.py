"""Statistics engine: SPC charts and run rules, capability with confidence intervals, yield,
Pareto and gage R&R. Pure NumPy/SciPy: no database, no files, no I/O.
SciPy is imported by the functions that need it, when first called: the Shewhart and CUSUM
charts and the control-chart constants up to n = 50 need NumPy alone.

Every function validates its input (raising :class:`phasegate.domain.errors.InvalidInput`, a
``ValueError``, that names the value and the reason; NaN is never dropped silently) and returns
a frozen result object.
"""

from phasegate.stats.capability import CapabilityResult, Ppm, capability
from phasegate.stats.charts import (
    ChartResult,
    SpcResult,
    c_chart,
    cusum,
    ewma,
    imr,
    np_chart,
    p_chart,
    u_chart,
    xbar_r,
    xbar_s,
)
from phasegate.stats.constants import ControlConstants, c4, control_constants, d2, d3
from phasegate.stats.intervals import (
    Interval,
    clopper_pearson,
    clopper_pearson_lower,
    cp_interval,
    cp_lower,
    cpk_interval,
    cpk_lower,
    cpm_interval,
    cpm_lower,
    wilson,
    wilson_lower,
)
from phasegate.stats.msa import AnovaRow, GageRRResult, gage_rr
from phasegate.stats.normality import NormalityResult, anderson_darling, box_cox, box_cox_lambda
from phasegate.stats.pareto import ParetoResult, pareto
from phasegate.stats.rules import RuleSet, RuleViolations, check_rules, parse_rules
from phasegate.stats.yields import (
    DefectRate,
    RolledYieldResult,
    YieldResult,
    dpmo,
    dpu,
    first_pass_yield,
    rolled_throughput_yield,
    rolled_throughput_yield_interval,
)

__all__ = [
    "AnovaRow",
    "CapabilityResult",
    "ChartResult",
    "ControlConstants",
    "DefectRate",
    "GageRRResult",
    "Interval",
    "NormalityResult",
    "ParetoResult",
    "Ppm",
    "RolledYieldResult",
    "RuleSet",
    "RuleViolations",
    "SpcResult",
    "YieldResult",
    "anderson_darling",
    "box_cox",
    "box_cox_lambda",
    "c4",
    "c_chart",
    "capability",
    "check_rules",
    "clopper_pearson",
    "clopper_pearson_lower",
    "control_constants",
    "cp_interval",
    "cp_lower",
    "cpk_interval",
    "cpk_lower",
    "cpm_interval",
    "cpm_lower",
    "cusum",
    "d2",
    "d3",
    "dpmo",
    "dpu",
    "ewma",
    "first_pass_yield",
    "gage_rr",
    "imr",
    "np_chart",
    "p_chart",
    "pareto",
    "parse_rules",
    "rolled_throughput_yield",
    "rolled_throughput_yield_interval",
    "u_chart",
    "wilson",
    "wilson_lower",
    "xbar_r",
    "xbar_s",
]
