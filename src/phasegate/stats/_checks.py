"""Input checks shared by the stats modules: every error names the value and the reason."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from phasegate.domain.errors import invalid

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def finite_array(name: str, values: ArrayLike, *, ndim: int | tuple[int, ...] = 1) -> FloatArray:
    """``values`` as a float64 array; NaN and infinity are rejected, never dropped.

    The error names the first offending position, e.g. ``values[17]: NaN is not allowed``.
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise invalid(name, f"not numeric ({error})") from None
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in dims:
        raise invalid(
            name, f"expected a {' or '.join(f'{d}-D' for d in dims)} array, got {arr.ndim}-D"
        )
    if arr.size == 0:
        raise invalid(name, "no data (empty)")
    ok = np.isfinite(arr)
    if not ok.all():
        bad = np.argwhere(~ok)[0]
        where = ", ".join(str(int(i)) for i in bad)
        what = "NaN" if np.isnan(arr[tuple(bad)]) else "infinity"
        raise invalid(
            f"{name}[{where}]", f"{what} is not allowed; remove or fill missing values first"
        )
    return arr


def sizes_array(name: str, sizes: ArrayLike, count: int | None = None) -> IntArray:
    """Positive integer sample sizes; the error names the first bad position."""
    arr = finite_array(name, sizes)
    if count is not None and arr.shape[0] != count:
        raise invalid(name, f"has {arr.shape[0]} entries but there are {count} points")
    bad = np.flatnonzero((arr <= 0) | (arr != np.round(arr)))
    if bad.size:
        i = int(bad[0])
        raise invalid(f"{name}[{i}]", f"sample size must be a positive integer, got {arr[i]:g}")
    return arr.astype(np.int64)


def counts_array(name: str, counts: ArrayLike) -> FloatArray:
    """Non-negative counts (whole numbers); the error names the first bad position."""
    arr = finite_array(name, counts)
    bad = np.flatnonzero((arr < 0) | (arr != np.round(arr)))
    if bad.size:
        i = int(bad[0])
        raise invalid(f"{name}[{i}]", f"count must be a non-negative whole number, got {arr[i]:g}")
    return arr


def confidence_level(confidence: float) -> float:
    """A confidence level strictly between 0 and 1."""
    if not (isinstance(confidence, int | float) and 0.0 < float(confidence) < 1.0):
        raise invalid("confidence", f"must be between 0 and 1 (exclusive), got {confidence!r}")
    return float(confidence)


def positive(name: str, value: Any) -> float:
    """A finite, strictly positive number."""
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise invalid(name, f"must be a positive number, got {value!r}")
    return v
