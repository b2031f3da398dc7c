"""Line performance from station passes: cycle times, bottleneck, balance, flow, rework. Pure.

A station pass is one unit's visit to one station: start, end (missing while it runs), result.
From the passes of a build this module computes, per station, the cycle-time statistics and
their trend over the unit index, the waiting time in front of the station and the rework loops
through it; for the line, the bottleneck, the balance efficiency, the capacity and the observed
throughput, the work in process and the flow time (checked against Little's law).

Statistics that need more data than there is are ``None``; each result keeps its ``n`` so an
adapter can say "insufficient data (n = ...)" instead of a number (see :func:`insufficient`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from phasegate.domain.errors import invalid
from phasegate.line.calendar import TaktResult
from phasegate.stats.intervals import Interval

__all__ = [
    "MIN_QUANTILE_N",
    "MIN_SPREAD_N",
    "MIN_TREND_N",
    "BalanceResult",
    "CycleStats",
    "FlowResult",
    "LineResult",
    "Moments",
    "PassTable",
    "StationResult",
    "StationRouting",
    "StationSpec",
    "TrendResult",
    "cycle_stats",
    "cycle_trend",
    "flow_metrics",
    "insufficient",
    "line_balance",
    "line_performance",
    "routing_metrics",
    "time_average_wip",
    "unit_index",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

MIN_SPREAD_N = 2
"""Cycle times needed for a standard deviation and a coefficient of variation."""
MIN_QUANTILE_N = 10
"""Cycle times needed for a 90th percentile that lies between observations, not at the top."""
MIN_TREND_N = 3
"""Points needed for a least-squares slope with a confidence interval (n - 2 degrees of freedom)."""
P90 = 90.0


def insufficient(n: int) -> str:
    """What a report shows instead of a number computed from too few values."""
    return f"insufficient data (n = {n})"


def _floats(name: str, values: ArrayLike, *, allow_nan: bool = False) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise invalid(name, f"not numeric ({error})") from None
    if arr.ndim != 1:
        raise invalid(name, f"expected a 1-D array, got {arr.ndim}-D")
    bad = np.flatnonzero(np.isinf(arr) if allow_nan else ~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise invalid(f"{name}[{i}]", f"{arr[i]} is not a finite number")
    return arr


def _same_length(**arrays: NDArray[np.generic]) -> int:
    lengths = {name: a.shape[0] for name, a in arrays.items()}
    first = next(iter(lengths))
    for name, n in lengths.items():
        if n != lengths[first]:
            raise invalid(name, f"has {n} entries but {first} has {lengths[first]}")
    return int(lengths[first])


# --- cycle times ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Moments:
    """Count, sum and sum of squares of cycle times: what a running aggregate keeps."""

    count: int
    total_s: float
    total_sq_s2: float

    @classmethod
    def of(cls, cycle_s: ArrayLike) -> Moments:
        """The moments of a sample of cycle times."""
        x = _floats("cycle_s", cycle_s)
        return cls(int(x.size), float(x.sum()), float((x * x).sum()))

    def mean_s(self) -> float | None:
        return self.total_s / self.count if self.count else None

    def sd_s(self) -> float | None:
        """Sample standard deviation, sqrt((Σx² − (Σx)²/n) / (n − 1)); None below 2 values."""
        n = self.count
        if n < MIN_SPREAD_N:
            return None
        variance = (self.total_sq_s2 - self.total_s**2 / n) / (n - 1)
        return math.sqrt(max(variance, 0.0))


@dataclass(frozen=True, slots=True)
class CycleStats:
    """Cycle times of one station: ``n`` values (seconds), their centre, spread and tail.

    ``mean_s`` needs one value, ``sd_s`` and ``cv`` two (``MIN_SPREAD_N``), ``median_s`` one,
    ``p90_s`` ten (``MIN_QUANTILE_N``); below that they are ``None``. ``cv`` is sd / mean.
    """

    n: int
    mean_s: float | None
    sd_s: float | None
    cv: float | None
    median_s: float | None
    p90_s: float | None
    min_s: float | None
    max_s: float | None


def cycle_stats(cycle_s: ArrayLike, moments: Moments | None = None) -> CycleStats:
    r"""Mean, standard deviation, CV, median, 90th percentile and extremes of cycle times.

    Parameters
    ----------
    cycle_s : array_like
        Cycle times in seconds (end − start of each pass); may be empty. Negative values and
        NaN are refused.
    moments : Moments, optional
        Count and sums kept by a running aggregate; when given, ``n``, the mean, the standard
        deviation and the CV come from them (so the report agrees with the aggregate), the
        median and the percentile from ``cycle_s``.

    Returns
    -------
    CycleStats

    Notes
    -----
    :math:`\bar x = \sum x/n`, :math:`s = \sqrt{(\sum x^2 - (\sum x)^2/n)/(n-1)}`,
    :math:`CV = s/\bar x`. Median and 90th percentile by linear interpolation between order
    statistics (Hyndman and Fan's definition 7, NumPy's default).

    References
    ----------
    Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in statistical packages. *The American
    Statistician* 50, 361-365.
    Hopp, W. J. and Spearman, M. L. (2008). *Factory Physics*, 3rd ed., Sec. 8.2
    (coefficient of variation of process times).

    Examples
    --------
    >>> s = cycle_stats([40.0, 42.0, 44.0, 46.0])
    >>> s.mean_s, s.median_s, round(s.cv, 4)
    (43.0, 43.0, 0.06)
    """
    x = _floats("cycle_s", cycle_s)
    if x.size and float(x.min()) < 0:
        i = int(np.argmin(x))
        raise invalid(f"cycle_s[{i}]", f"a cycle time cannot be negative, got {x[i]:g}")
    m = moments if moments is not None else Moments.of(x)
    mean, sd = m.mean_s(), m.sd_s()
    cv = sd / mean if sd is not None and mean is not None and mean > 0 else None
    has = x.size > 0
    return CycleStats(
        n=m.count,
        mean_s=mean,
        sd_s=sd,
        cv=cv,
        median_s=float(np.median(x)) if has else None,
        p90_s=float(np.percentile(x, P90)) if x.size >= MIN_QUANTILE_N else None,
        min_s=float(x.min()) if has else None,
        max_s=float(x.max()) if has else None,
    )


@dataclass(frozen=True, slots=True)
class TrendResult:
    """Least-squares line of cycle time on unit index: slope (s per unit) and its interval."""

    slope_s_per_unit: float
    intercept_s: float
    ci: Interval
    n: int
    residual_sd_s: float

    def significant(self) -> bool:
        """Whether the interval excludes zero: the cycle time drifts with the unit index."""
        return not self.ci.contains(0.0)


def cycle_trend(index: ArrayLike, cycle_s: ArrayLike, confidence: float = 0.95) -> TrendResult:
    r"""Slope of cycle time over unit index by least squares, with its confidence interval.

    Parameters
    ----------
    index : array_like
        Unit index of each cycle time (1 for the first unit into the line, ...).
    cycle_s : array_like
        Cycle times in seconds, as many as ``index``; at least ``MIN_TREND_N``.
    confidence : float, default 0.95
        Two-sided confidence level of the slope's interval.

    Returns
    -------
    TrendResult

    Notes
    -----
    :math:`b_1 = S_{xy}/S_{xx}`, :math:`b_0 = \bar y - b_1 \bar x`,
    :math:`\hat\sigma^2 = SS_E/(n-2)`, and the interval
    :math:`b_1 \pm t_{\alpha/2,\,n-2}\sqrt{\hat\sigma^2/S_{xx}}`. A negative slope is a
    learning effect; a positive one, wear or fatigue.

    References
    ----------
    Montgomery, D. C. and Runger, G. C. (2014). *Applied Statistics and Probability for
    Engineers*, 6th ed., Wiley, Sec. 11-2 (eq. 11-7, 11-8) and Sec. 11-5.1 (eq. 11-29).

    Examples
    --------
    >>> r = cycle_trend([1, 2, 3, 4], [50.0, 48.0, 47.0, 45.0])
    >>> round(r.slope_s_per_unit, 3), round(r.intercept_s, 3)
    (-1.6, 51.5)
    """
    from scipy import stats as sps

    x = _floats("index", index)
    y = _floats("cycle_s", cycle_s)
    n = _same_length(index=x, cycle_s=y)
    if n < MIN_TREND_N:
        raise invalid("cycle_s", f"a trend needs at least {MIN_TREND_N} values, got {n}")
    if not 0 < confidence < 1:
        raise invalid("confidence", f"must be between 0 and 1, got {confidence!r}")
    xc = x - x.mean()
    sxx = float((xc * xc).sum())
    if sxx == 0:
        raise invalid("index", "all values are equal: no slope can be fitted")
    slope = float((xc * (y - y.mean())).sum()) / sxx
    intercept = float(y.mean()) - slope * float(x.mean())
    resid = y - (intercept + slope * x)
    sigma2 = float((resid * resid).sum()) / (n - 2)
    half = float(sps.t.ppf(0.5 + confidence / 2.0, n - 2)) * math.sqrt(sigma2 / sxx)
    ci = Interval(slope - half, slope + half, confidence, "least-squares-t")
    return TrendResult(slope, intercept, ci, n, math.sqrt(sigma2))


def unit_index(unit: ArrayLike, start_s: ArrayLike) -> IntArray:
    """Each pass's unit index: 1 for the unit that entered the line first, 2 for the next, ...

    A unit enters the line at the start of its earliest pass; ties go to the lower unit id.

    Examples
    --------
    >>> unit_index([7, 3, 7, 5], [10.0, 0.0, 20.0, 5.0]).tolist()
    [3, 1, 3, 2]
    """
    u = np.asarray(unit, dtype=np.int64)
    t = _floats("start_s", start_s)
    _same_length(unit=u, start_s=t)
    if u.size == 0:
        return np.zeros(0, dtype=np.int64)
    ids, inverse = np.unique(u, return_inverse=True)
    first = np.full(ids.size, np.inf)
    np.minimum.at(first, inverse, t)
    order = np.lexsort((ids, first))
    rank = np.empty(ids.size, dtype=np.int64)
    rank[order] = np.arange(1, ids.size + 1)
    return rank[inverse]


# --- balance ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BalanceResult:
    """The bottleneck and the balance of a line.

    ``bottleneck`` is the position (in the stations given) with the largest effective cycle
    time; ``capacity_per_hour`` the rate the bottleneck allows.
    """

    effective_s: tuple[float, ...]
    bottleneck: int
    bottleneck_s: float
    work_content_s: float
    servers: int
    efficiency: float

    def balance_delay(self) -> float:
        """The idle share of the line's capacity: 1 − efficiency."""
        return 1.0 - self.efficiency

    def capacity_per_hour(self) -> float:
        """Units per hour the bottleneck lets through: 3600 / its effective cycle time."""
        return 3600.0 / self.bottleneck_s


def line_balance(mean_s: ArrayLike, servers: ArrayLike | None = None) -> BalanceResult:
    r"""Bottleneck and balance efficiency from mean station times and parallel servers.

    Parameters
    ----------
    mean_s : array_like
        Mean cycle time of each station in flow order, seconds, all positive.
    servers : array_like, optional
        Parallel identical machines at each station (default 1 each), whole numbers >= 1.

    Returns
    -------
    BalanceResult

    Notes
    -----
    A station with :math:`m_i` parallel servers and mean time :math:`t_i` lets a unit out every
    :math:`t_i/m_i` seconds (its effective cycle time). The bottleneck is the station with the
    largest effective time :math:`T_s = \max_i t_i/m_i` (the first one on a tie). The balance
    efficiency is

    .. math:: E_b = \frac{\sum_i t_i}{w \, T_s}, \qquad w = \sum_i m_i,

    the work content over the time all :math:`w` workstations are held per unit; with one
    server per station it is Groover's :math:`E_b = T_{wc}/(w T_s)`. It lies in (0, 1] and is 1
    exactly when every effective time equals :math:`T_s`; the balance delay is
    :math:`1 - E_b`.

    References
    ----------
    Groover, M. P. (2015). *Automation, Production Systems, and Computer-Integrated
    Manufacturing*, 4th ed., Pearson, Sec. 15.2.2, eq. (15.10) (balance efficiency) and
    eq. (15.11) (balance delay).
    Hopp, W. J. and Spearman, M. L. (2008). *Factory Physics*, 3rd ed., Sec. 7.2
    (bottleneck rate of parallel machines).

    Examples
    --------
    >>> r = line_balance([30.0, 45.0, 40.0])
    >>> r.bottleneck, round(r.efficiency, 4), r.capacity_per_hour()
    (1, 0.8519, 80.0)
    """
    t = _floats("mean_s", mean_s)
    if t.size == 0:
        raise invalid("mean_s", "no stations")
    bad = np.flatnonzero(t <= 0)
    if bad.size:
        i = int(bad[0])
        raise invalid(f"mean_s[{i}]", f"a station time must be positive, got {t[i]:g}")
    m = np.ones_like(t) if servers is None else _floats("servers", servers)
    _same_length(mean_s=t, servers=m)
    bad = np.flatnonzero((m < 1) | (m != np.round(m)))
    if bad.size:
        i = int(bad[0])
        raise invalid(f"servers[{i}]", f"must be a whole number of at least 1, got {m[i]:g}")
    effective = t / m
    k = int(np.argmax(effective))
    top = float(effective[k])
    efficiency = min(float(t.sum()) / (float(m.sum()) * top), 1.0)
    return BalanceResult(
        effective_s=tuple(float(v) for v in effective),
        bottleneck=k,
        bottleneck_s=top,
        work_content_s=float(t.sum()),
        servers=int(m.sum()),
        efficiency=efficiency,
    )


# --- flow: work in process, flow time, throughput ---------------------------------------------


def time_average_wip(entry_s: ArrayLike, exit_s: ArrayLike) -> tuple[float, int, float]:
    r"""Time-average and maximum work in process from entry and exit events, and the window.

    Parameters
    ----------
    entry_s, exit_s : array_like
        When each unit entered and left, seconds; ``exit_s >= entry_s``.

    Returns
    -------
    (float, int, float)
        :math:`\bar L = \frac{1}{T}\int_0^T N(t)\,dt`, the largest :math:`N(t)` and the window
        length :math:`T` (first entry to last exit).

    Notes
    -----
    :math:`N(t)` is a step function that rises by one at each entry and falls by one at each
    exit; the events are sorted (exits first at equal times, so a unit that leaves as another
    enters is not counted twice) and the steps integrated exactly.

    References
    ----------
    Little, J. D. C. (1961). A proof for the queuing formula L = λW. *Operations Research* 9,
    383-387.

    Examples
    --------
    >>> time_average_wip([0.0, 5.0], [10.0, 20.0])
    (1.25, 2, 20.0)
    """
    a = _floats("entry_s", entry_s)
    d = _floats("exit_s", exit_s)
    n = _same_length(entry_s=a, exit_s=d)
    if n == 0:
        raise invalid("entry_s", "no units")
    early = np.flatnonzero(d < a)
    if early.size:
        i = int(early[0])
        raise invalid(f"exit_s[{i}]", f"{d[i]:g} is before the entry {a[i]:g}")
    times = np.concatenate([a, d])
    steps = np.concatenate([np.ones(n), -np.ones(n)])
    order = np.lexsort((steps, times))
    times, level = times[order], np.cumsum(steps[order])
    window = float(times[-1] - times[0])
    area = float((level[:-1] * np.diff(times)).sum())
    peak = int(level.max())
    # An average of N(t) never exceeds its maximum; the clamp only undoes rounding in the sum.
    return (min(area / window, float(peak)) if window > 0 else 0.0, peak, window)


@dataclass(frozen=True, slots=True)
class FlowResult:
    """Work in process, flow time and throughput over the observed window.

    ``units`` entered the line, ``finished`` of them left it (``through`` of those by passing
    the last station, the others scrapped or taken out); the window runs from the first entry to
    ``until_s`` (the last event). ``mean_wip`` is the time average of the units in the line (the
    ones still in it counted up to the window's end), ``littles_wip`` is
    λ·W = (finished / window) × mean flow time of the finished units: the two agree when every
    unit has left (Little's law), and the gap is the work still in the line.
    ``throughput_per_hour`` counts the units through the line.
    """

    units: int
    finished: int
    through: int
    window_s: float
    mean_wip: float
    max_wip: int
    mean_flow_s: float | None
    median_flow_s: float | None
    throughput_per_hour: float | None
    littles_wip: float | None

    def littles_law_gap(self) -> float | None:
        """mean WIP − λW: zero (to rounding) when every unit has left the line."""
        return None if self.littles_wip is None else self.mean_wip - self.littles_wip


def flow_metrics(
    entry_s: ArrayLike,
    exit_s: ArrayLike,
    until_s: float | None = None,
    through: ArrayLike | None = None,
) -> FlowResult:
    r"""Work in process, flow time and throughput of units through the line.

    Parameters
    ----------
    entry_s : array_like
        When each unit entered the line (start of its first pass), seconds.
    exit_s : array_like
        When it left (end of its last pass), NaN for a unit still in the line.
    until_s : float, optional
        End of the observed window (default: the last entry or exit); units still in the line
        count as work in process up to it.
    through : array_like of bool, optional
        Whether each unit that left went through the line (default: every one that left); the
        others left it otherwise (scrapped) and count in the flow but not in the throughput.

    Returns
    -------
    FlowResult

    Notes
    -----
    Flow time :math:`W_j = d_j - a_j` of each unit that left; departure rate
    :math:`\lambda =` finished / :math:`T`; Little's law :math:`L = \lambda W` holds exactly for
    the time-average WIP over a window that every unit enters and leaves within. The throughput
    is the units through the line per hour of the window.

    References
    ----------
    Little, J. D. C. (1961). *Operations Research* 9, 383-387.
    Hopp, W. J. and Spearman, M. L. (2008). *Factory Physics*, 3rd ed., Sec. 7.2 (Little's law
    in a production line: WIP = TH × CT).

    Examples
    --------
    >>> r = flow_metrics([0.0, 10.0, 20.0], [30.0, 40.0, 50.0])
    >>> r.mean_wip, round(r.littles_wip, 12), r.mean_flow_s
    (1.8, 1.8, 30.0)
    """
    a = _floats("entry_s", entry_s)
    d = _floats("exit_s", exit_s, allow_nan=True)
    n = _same_length(entry_s=a, exit_s=d)
    if n == 0:
        raise invalid("entry_s", "no units")
    done = ~np.isnan(d)
    good = done if through is None else done & np.asarray(through, dtype=bool).reshape(-1)
    _same_length(exit_s=d, through=good)
    last = float(max(a.max(), d[done].max() if done.any() else -np.inf))
    end = last if until_s is None else float(until_s)
    if not math.isfinite(end) or end < last:
        raise invalid("until_s", f"{until_s!r} is before the last event at {last:g}")
    filled = np.where(done, d, end)  # units still in the line are in it until the end
    mean_wip, max_wip = _wip_until(a, filled, end)
    window = end - float(a.min())
    flow = d[done] - a[done]
    finished = int(done.sum())
    departures = finished / window if finished and window > 0 else None
    return FlowResult(
        units=n,
        finished=finished,
        through=int(good.sum()),
        window_s=window,
        mean_wip=mean_wip,
        max_wip=max_wip,
        mean_flow_s=float(flow.mean()) if finished else None,
        median_flow_s=float(np.median(flow)) if finished else None,
        throughput_per_hour=int(good.sum()) / window * 3600.0 if window > 0 else None,
        littles_wip=departures * float(flow.mean()) if departures is not None else None,
    )


def _wip_until(entry: FloatArray, exit_: FloatArray, end: float) -> tuple[float, int]:
    """Time-average and maximum WIP over [first entry, ``end``] (``end`` >= every exit)."""
    mean, peak, window = time_average_wip(entry, exit_)
    total = end - float(entry.min())
    return (mean * window / total if total > 0 else 0.0, peak)


# --- routing: waiting and rework loops --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StationRouting:
    """How units came to one station: waiting in front of it, and passes through it again.

    ``waits`` are the gaps between the end of a unit's previous pass (anywhere) and the start of
    its pass here; ``visited_units`` units passed here, ``reworked_units`` of them more than
    once, making ``extra_passes`` passes beyond the first; ``loops_back`` passes came here from
    a station later in the flow.
    """

    waits: int
    mean_wait_s: float | None
    median_wait_s: float | None
    visited_units: int
    reworked_units: int
    extra_passes: int
    loops_back: int

    def rework_share(self) -> float | None:
        """Share of the units visiting the station that passed it more than once."""
        return self.reworked_units / self.visited_units if self.visited_units else None


def routing_metrics(
    unit: ArrayLike, station: ArrayLike, start_s: ArrayLike, end_s: ArrayLike, stations: int
) -> tuple[StationRouting, ...]:
    """Waiting time and rework loops per station from the passes of many units.

    Parameters
    ----------
    unit : array_like of int
        The unit of each pass.
    station : array_like of int
        The station of each pass, by its position in the flow (0 .. ``stations`` − 1).
    start_s, end_s : array_like
        Start and end of each pass, seconds; ``end_s`` NaN for a pass still running.
    stations : int
        Number of stations.

    Returns
    -------
    tuple of StationRouting
        One per station, in flow order.

    Notes
    -----
    Each unit's passes are taken in order of start. The wait before a pass is its start minus
    the end of the unit's previous pass (a previous pass still running, or one overlapping the
    next, gives no wait). A pass at a station earlier in the flow than the unit's previous pass
    is a loop back (a return for rework).

    Examples
    --------
    >>> r = routing_metrics([1, 1, 1], [0, 1, 0], [0.0, 12.0, 30.0], [10.0, 20.0, 35.0], 2)
    >>> r[1].mean_wait_s, r[0].reworked_units, r[0].loops_back
    (2.0, 1, 1)
    """
    u = np.asarray(unit, dtype=np.int64)
    s = np.asarray(station, dtype=np.int64)
    t0 = _floats("start_s", start_s)
    t1 = _floats("end_s", end_s, allow_nan=True)
    _same_length(unit=u, station=s, start_s=t0, end_s=t1)
    if s.size and (int(s.min()) < 0 or int(s.max()) >= stations):
        i = int(np.flatnonzero((s < 0) | (s >= stations))[0])
        raise invalid(f"station[{i}]", f"{s[i]} is not a station position below {stations}")
    order = np.lexsort((t0, u))
    u, s, t0, t1 = u[order], s[order], t0[order], t1[order]
    follows = np.zeros(u.size, dtype=bool)
    follows[1:] = u[1:] == u[:-1]
    prev_end = np.full(u.size, np.nan)
    prev_end[1:] = t1[:-1]
    wait = t0 - prev_end
    has_wait = follows & ~np.isnan(wait) & (wait >= 0)
    back = np.zeros(u.size, dtype=bool)
    back[1:] = follows[1:] & (s[1:] < s[:-1])
    pairs, counts = np.unique(u * stations + s, return_counts=True)
    pair_station = pairs % stations
    return tuple(
        _routing_of(k, s, wait, has_wait, back, pair_station, counts) for k in range(stations)
    )


def _routing_of(
    k: int,
    s: IntArray,
    wait: FloatArray,
    has_wait: BoolArray,
    back: BoolArray,
    pair_station: IntArray,
    counts: IntArray,
) -> StationRouting:
    here = s == k
    waits = wait[here & has_wait]
    visits = counts[pair_station == k]
    return StationRouting(
        waits=int(waits.size),
        mean_wait_s=float(waits.mean()) if waits.size else None,
        median_wait_s=float(np.median(waits)) if waits.size else None,
        visited_units=int(visits.size),
        reworked_units=int((visits > 1).sum()),
        extra_passes=int((visits - 1).sum()),
        loops_back=int((here & back).sum()),
    )


# --- the whole line ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StationSpec:
    """A station as the analysis needs it: its name, parallel servers and, if an aggregate keeps
    them, the moments of its cycle times (else they are computed from the passes)."""

    name: str
    servers: int = 1
    moments: Moments | None = None


@dataclass(frozen=True, slots=True)
class PassTable:
    """Station passes as columns (one entry per pass).

    ``unit``: the unit's id; ``station``: the station's position in the flow; ``start_s`` and
    ``end_s``: seconds from any fixed origin (``end_s`` NaN while the pass runs); ``ok``: the
    pass's result was a pass.
    """

    unit: IntArray
    station: IntArray
    start_s: FloatArray
    end_s: FloatArray
    ok: BoolArray

    @classmethod
    def of(
        cls,
        unit: ArrayLike,
        station: ArrayLike,
        start_s: ArrayLike,
        end_s: ArrayLike,
        ok: ArrayLike,
    ) -> PassTable:
        """Columns checked: equal lengths, finite starts, ends not before starts."""
        table = cls(
            np.asarray(unit, dtype=np.int64).reshape(-1),
            np.asarray(station, dtype=np.int64).reshape(-1),
            _floats("start_s", start_s),
            _floats("end_s", end_s, allow_nan=True),
            np.asarray(ok, dtype=bool).reshape(-1),
        )
        _same_length(
            unit=table.unit,
            station=table.station,
            start_s=table.start_s,
            end_s=table.end_s,
            ok=table.ok,
        )
        early = np.flatnonzero(table.end_s < table.start_s)
        if early.size:
            i = int(early[0])
            raise invalid(f"end_s[{i}]", "a pass cannot end before it starts")
        return table

    def cycle_s(self) -> FloatArray:
        """End − start of each pass (NaN while it runs)."""
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class StationResult:
    """One station's cycle times, trend, effective cycle, waiting and rework."""

    name: str
    servers: int
    cycle: CycleStats
    trend: TrendResult | None
    routing: StationRouting

    def effective_cycle_s(self) -> float | None:
        """Mean cycle time / parallel servers: how often the station lets a unit out."""
        mean = self.cycle.mean_s
        return mean / self.servers if mean is not None else None

    def effective_p90_s(self) -> float | None:
        """90th percentile of the cycle time / parallel servers, beside the effective mean."""
        p90 = self.cycle.p90_s
        return p90 / self.servers if p90 is not None else None


@dataclass(frozen=True, slots=True)
class LineResult:
    """The performance of a line over a set of passes.

    ``balance`` covers the stations with a positive mean cycle time (``balanced`` gives their
    positions), ``None`` when none has; ``flow`` is ``None`` without passes; ``takt`` is
    ``None`` when the demand is unknown.
    """

    stations: tuple[StationResult, ...]
    balance: BalanceResult | None
    balanced: tuple[int, ...]
    flow: FlowResult | None
    takt: TaktResult | None

    def bottleneck(self) -> int | None:
        """Position of the bottleneck station among ``stations``."""
        return None if self.balance is None else self.balanced[self.balance.bottleneck]

    def meets_takt(self) -> bool | None:
        """Whether the bottleneck's effective cycle time is within the takt time."""
        if self.balance is None or self.takt is None:
            return None
        return self.balance.bottleneck_s <= self.takt.takt_s


def line_performance(
    stations: Sequence[StationSpec],
    passes: PassTable,
    takt: TaktResult | None = None,
    *,
    until_s: float | None = None,
    left_units: ArrayLike | None = None,
    confidence: float = 0.95,
) -> LineResult:
    """Everything this module computes, for a line of ``stations`` and its ``passes``.

    Parameters
    ----------
    stations : sequence of StationSpec
        The stations in flow order; ``passes.station`` indexes them.
    passes : PassTable
        The passes of the units.
    takt : TaktResult, optional
        The takt time the line is compared with.
    until_s : float, optional
        End of the observed window for the work in process (see :func:`flow_metrics`).
    left_units : array_like of int, optional
        Units known to have left the line without passing its last station (scrapped, taken
        out): they leave at the end of their last pass.
    confidence : float, default 0.95
        Level of the trend intervals.

    Returns
    -------
    LineResult

    Notes
    -----
    A unit has gone through the line once it has passed the last station (a pass with result
    pass); it entered at the start of its first pass and left at the end of its last one, as
    did the units of ``left_units``; every other unit is still in the line. Cycle times
    of passes still running are left out. The unit index of the trends is the order in which
    units entered the line (:func:`unit_index`).

    References
    ----------
    Hopp, W. J. and Spearman, M. L. (2008). *Factory Physics*, 3rd ed., Ch. 7-8.
    Groover, M. P. (2015). *Automation, Production Systems, and Computer-Integrated
    Manufacturing*, 4th ed., Ch. 15.
    """
    k = len(stations)
    if k == 0:
        raise invalid("stations", "a line needs at least one station")
    routing = routing_metrics(passes.unit, passes.station, passes.start_s, passes.end_s, k)
    index = unit_index(passes.unit, passes.start_s)
    cycle = passes.cycle_s()
    results = tuple(
        _station_result(spec, passes.station == i, cycle, index, routing[i], confidence)
        for i, spec in enumerate(stations)
    )
    balanced = tuple(
        i for i, r in enumerate(results) if r.cycle.mean_s is not None and r.cycle.mean_s > 0
    )
    balance = None
    if balanced:
        balance = line_balance(
            [results[i].cycle.mean_s or 0.0 for i in balanced],
            [results[i].servers for i in balanced],
        )
    flow = _flow(passes, k, until_s, left_units)
    return LineResult(results, balance, balanced, flow, takt)


def _station_result(
    spec: StationSpec,
    here: BoolArray,
    cycle: FloatArray,
    index: IntArray,
    routing: StationRouting,
    confidence: float,
) -> StationResult:
    ended = here & ~np.isnan(cycle)
    times = cycle[ended]
    trend = None
    x = index[ended]
    if times.size >= MIN_TREND_N and np.unique(x).size > 1:
        trend = cycle_trend(x, times, confidence)
    return StationResult(spec.name, spec.servers, cycle_stats(times, spec.moments), trend, routing)


def _flow(
    passes: PassTable, stations: int, until_s: float | None, left_units: ArrayLike | None
) -> FlowResult | None:
    if passes.unit.size == 0:
        return None
    ids, inverse = np.unique(passes.unit, return_inverse=True)
    entry = np.full(ids.size, np.inf)
    np.minimum.at(entry, inverse, passes.start_s)
    running = np.zeros(ids.size, dtype=bool)
    np.logical_or.at(running, inverse, np.isnan(passes.end_s))
    last_end = np.full(ids.size, -np.inf)
    np.maximum.at(last_end, inverse, np.nan_to_num(passes.end_s, nan=-np.inf))
    through = np.zeros(ids.size, dtype=bool)
    np.logical_or.at(through, inverse, passes.ok & (passes.station == stations - 1))
    taken_out = np.zeros(ids.size, dtype=bool)
    if left_units is not None:
        taken_out = np.isin(ids, np.asarray(left_units, dtype=np.int64).reshape(-1))
    left = (through | taken_out) & ~running
    exit_ = np.where(left, last_end, np.nan)
    if until_s is None:
        events = np.concatenate([passes.start_s, passes.end_s[~np.isnan(passes.end_s)]])
        until_s = float(events.max())
    return flow_metrics(entry, exit_, until_s, through)
