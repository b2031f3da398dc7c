"""What importing the statistics package costs: SciPy only for the functions that need it, and the
tabulated d2, d3 are those of their defining integrals."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from phasegate.stats import constants

# Every Shewhart and CUSUM chart of the package, computed in a new interpreter; prints the
# SciPy modules loaded then, and the chart limits (so that the charts really ran).
_CHARTS_WITHOUT_SCIPY = """
import json, sys
import numpy as np
import phasegate.stats
from phasegate.stats import control_constants
from phasegate.stats.charts import (
    c_chart, cusum, imr, np_chart, p_chart, u_chart, xbar_r, xbar_s,
)

rng = np.random.default_rng(7)
results = [
    xbar_r(rng.normal(10.0, 1.0, (25, 5))),
    xbar_r(rng.normal(10.0, 1.0, (25, 12))),
    xbar_s(rng.normal(10.0, 1.0, (25, 5))),
    imr(rng.normal(10.0, 1.0, 30)),
    p_chart([3, 4, 5, 2, 6], [50, 50, 50, 50, 50]),
    np_chart([3, 4, 5, 2, 6], [50, 50, 50, 50, 50]),
    c_chart([3, 4, 5, 2, 6]),
    u_chart([3, 4, 5, 2, 6], [5, 5, 5, 5, 5]),
    cusum(rng.normal(10.0, 1.0, 30)),
]
control_constants(25)
limits = [float(np.asarray(r.primary.ucl).max()) for r in results]
print(json.dumps({
    "scipy": sorted(m for m in sys.modules if m == "scipy" or m.startswith("scipy.")),
    "limits": limits,
}))
"""


def test_charts_compute_without_importing_scipy():
    out = subprocess.run(
        [sys.executable, "-c", _CHARTS_WITHOUT_SCIPY],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(out.stdout)
    assert report["scipy"] == []
    assert len(report["limits"]) == 9
    assert all(limit == limit for limit in report["limits"])  # computed, not NaN


def test_functions_that_need_scipy_still_load_it():
    script = (
        "import sys\n"
        "from phasegate.stats import ewma, wilson\n"
        "assert 'scipy' not in sys.modules\n"
        "ewma([9.45, 7.99, 9.29], lam=0.1, target=10.0, sigma=1.0)\n"
        "wilson(30, 100)\n"
        "print(sorted(m for m in ('scipy.signal', 'scipy.special') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["['scipy.signal',", "'scipy.special']"]


@pytest.mark.parametrize("n", sorted(constants._RANGE_TABLE))
def test_range_table_is_the_quadrature(n):
    """Each tabulated d2(n), d3(n) is what the adaptive quadrature of the definition returns."""
    d2, d3 = constants._RANGE_TABLE[n]
    assert constants._d2_quad(n) == pytest.approx(d2, rel=1e-10, abs=0)
    assert constants._d3_quad(n) == pytest.approx(d3, rel=1e-10, abs=0)


def test_sizes_past_the_table_are_integrated():
    """Past the table the constants come from the quadrature, and carry on the table's trend:
    d2 increasing, d3 decreasing with n."""
    last = max(constants._RANGE_TABLE)
    d2_next, d3_next = constants.d2(last + 1), constants.d3(last + 1)
    assert constants.d2(last) < d2_next < constants.d2(last) + 0.02
    assert constants.d3(last) - 0.01 < d3_next < constants.d3(last)
