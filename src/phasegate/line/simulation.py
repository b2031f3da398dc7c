"""Discrete-event simulation of a serial line with finite buffers and blocking after service.

The model
---------
Station ``k`` has ``c_k`` parallel identical servers and ``b_k`` buffer places in front of it;
it holds at most ``c_k + b_k`` units (in its buffer, in service, or finished and blocked). The
first station draws from an unlimited supply of raw material, so it never waits for work and
its buffer does not matter. Units are taken from a buffer first in, first out; an idle server
takes the next unit as soon as it arrives. A unit that finishes at station ``k`` keeps its
server (*blocking after service*) until station ``k + 1`` has room; finished units waiting at
the same station move on in the order in which they finished. The last station delivers to an
unlimited sink.

Breakdowns are time based: each server of a station with ``mtbf_s`` fails after an exponential
time with mean ``mtbf_s`` measured on the clock (idle, working or blocked), stays down for an
exponential repair time with mean ``mttr_s``, and then the next failure clock starts. A unit in
service when its server fails resumes after the repair with the work it still had left
(preempt-resume); a finished unit on a failed server may still move on, but the server takes
no new unit until it is repaired. With ``yield`` below 1 each unit passes the station with that
probability after its processing; one that fails is scrapped there and leaves the line at once.

The recursion, and why the engine is event driven
-------------------------------------------------
With one server per station and no breakdowns or scrap, the departure time ``D_k(i)`` of unit
``i`` from station ``k`` follows the exact max-plus recursion for blocking after service
(Dallery & Gershwin 1992; Chen & Yao 2001)::

    S_k(i) = max(D_{k-1}(i), D_k(i - 1))                    start of service
    D_k(i) = max(S_k(i) + p_k(i), D_{k+1}(i - b_{k+1} - 1))  leave when k+1 has room

with ``D_0(i) = 0`` (unlimited raw material) and ``D_{K+1} = -inf`` (unlimited sink): the
unit ``i - b_{k+1} - 1`` ahead must have left station ``k + 1`` before there is a place for
``i``. With ``c`` parallel servers units overtake each other, so ``i`` is no longer the
``i``-th to arrive downstream, and breakdowns and scrap make the service times depend on the
clock; the recursion then holds only along the order of events. The engine therefore runs the
events themselves in a compiled loop (numba): the next event is the earliest service
completion, failure or repair over all servers, and each event is followed by the moves it
allows, from the station where it happened upstream. One event costs a few dozen machine
instructions; there is no Python code per event. The tests hold the engine to a SimPy model of
the same line event by event (to 1e-9 s on given processing times) and to the recursion above.

References
----------
Dallery, Y., & Gershwin, S. B. (1992). Manufacturing flow line systems: a review of models
and analytical results. *Queueing Systems* 12, 3-94.
Chen, H., & Yao, D. D. (2001). *Fundamentals of Queueing Networks*. Springer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt
from scipy import stats

from phasegate.line.distributions import sample_line
from phasegate.line.model import Line

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

INF = math.inf

# Server states, also the columns of the per-server time accumulators.
IDLE, BUSY, BLOCKED, DOWN = 0, 1, 2, 3
# Columns of the per-server float state.
F_FINISH, F_FAIL, F_UP, F_LEFT, F_SINCE = 0, 1, 2, 3, 4
# Columns of the per-server int state.
I_UNIT, I_STATE, I_STATION = 0, 1, 2
# Columns of the per-station int state.
S_SERVERS, S_CAP, S_FIRST, S_OCC, S_BUFOFF, S_BUFHEAD, S_BUFCOUNT, S_BLKHEAD, S_BLKCOUNT = range(9)
# Counters: next unit to enter, exits, units in the line, good exits counted, measuring flag,
# exit target, warm-up exits, record flag.
C_NEXT, C_EXITS, C_WIP, C_GOOD, C_MEASURING, C_TARGET, C_WARMUP, C_RECORD = range(8)
# Float counters: window start, window end, WIP integral, WIP since, flow-time sum.
G_T0, G_TEND, G_WIPACC, G_WIPSINCE, G_FLOW = range(5)


@numba.njit(cache=True)
def _set_state(
    s: int, new: int, t: float, fsrv: FloatArray, isrv: IntArray, acc: FloatArray
) -> None:
    acc[s, isrv[s, I_STATE]] += t - fsrv[s, F_SINCE]
    isrv[s, I_STATE] = new
    fsrv[s, F_SINCE] = t


@numba.njit(cache=True)
def _wip_change(delta: int, t: float, cnt: IntArray, g: FloatArray) -> None:
    g[G_WIPACC] += cnt[C_WIP] * (t - g[G_WIPSINCE])
    g[G_WIPSINCE] = t
    cnt[C_WIP] += delta


@numba.njit(cache=True)
def _begin_window(
    t: float, fsrv: FloatArray, isrv: IntArray, acc: FloatArray, cnt: IntArray, g: FloatArray
) -> None:
    """Start measuring at ``t``: what happened before is the warm-up."""
    for s in range(isrv.shape[0]):
        _set_state(s, isrv[s, I_STATE], t, fsrv, isrv, acc)
    acc[:, :] = 0.0
    _wip_change(0, t, cnt, g)
    g[G_WIPACC] = 0.0
    g[G_FLOW] = 0.0
    g[G_T0] = t
    cnt[C_GOOD] = 0
    cnt[C_MEASURING] = 1


@numba.njit(cache=True)
def _exit(
    u: int,
    good: bool,
    t: float,
    entry: FloatArray,
    fsrv: FloatArray,
    isrv: IntArray,
    acc: FloatArray,
    cnt: IntArray,
    g: FloatArray,
) -> None:
    _wip_change(-1, t, cnt, g)
    cnt[C_EXITS] += 1
    if cnt[C_EXITS] > cnt[C_TARGET]:
        return
    if good and cnt[C_MEASURING] == 1:
        cnt[C_GOOD] += 1
        g[G_FLOW] += t - entry[u]
    if cnt[C_EXITS] == cnt[C_WARMUP]:
        _begin_window(t, fsrv, isrv, acc, cnt, g)
    if cnt[C_EXITS] == cnt[C_TARGET]:
        g[G_TEND] = t


@numba.njit(cache=True)
def _start(
    s: int, u: int, t: float, times: FloatArray, fsrv: FloatArray, isrv: IntArray, acc: FloatArray
) -> None:
    isrv[s, I_UNIT] = u
    fsrv[s, F_FINISH] = t + times[u, isrv[s, I_STATION]]
    _set_state(s, BUSY, t, fsrv, isrv, acc)


@numba.njit(cache=True)
def _feed(
    k: int,
    t: float,
    times: FloatArray,
    sta: IntArray,
    buf: IntArray,
    entry: FloatArray,
    fsrv: FloatArray,
    isrv: IntArray,
    acc: FloatArray,
    cnt: IntArray,
    g: FloatArray,
) -> None:
    """Give work to station ``k``'s idle servers that are up, lowest number first."""
    first = sta[k, S_FIRST]
    for s in range(first, first + sta[k, S_SERVERS]):
        if isrv[s, I_STATE] != IDLE:
            continue
        if k == 0:
            if cnt[C_NEXT] >= times.shape[0]:
                return
            u = cnt[C_NEXT]
            cnt[C_NEXT] += 1
            sta[0, S_OCC] += 1
            entry[u] = t
            _wip_change(1, t, cnt, g)
        else:
            if sta[k, S_BUFCOUNT] == 0:
                return
            size = sta[k, S_CAP]
            u = buf[sta[k, S_BUFOFF] + sta[k, S_BUFHEAD]]
            sta[k, S_BUFHEAD] = (sta[k, S_BUFHEAD] + 1) % size
            sta[k, S_BUFCOUNT] -= 1
        _start(s, u, t, times, fsrv, isrv, acc)


@numba.njit(cache=True)
def _enter(
    k: int,
    u: int,
    t: float,
    times: FloatArray,
    sta: IntArray,
    buf: IntArray,
    entry: FloatArray,
    fsrv: FloatArray,
    isrv: IntArray,
    acc: FloatArray,
    cnt: IntArray,
    g: FloatArray,
) -> None:
    """Unit ``u`` arrives at station ``k`` (which has room): an idle server or the buffer."""
    sta[k, S_OCC] += 1
    first = sta[k, S_FIRST]
    for s in range(first, first + sta[k, S_SERVERS]):
        if isrv[s, I_STATE] == IDLE:
            _start(s, u, t, times, fsrv, isrv, acc)
            return
    size = sta[k, S_CAP]
    tail = (sta[k, S_BUFHEAD] + sta[k, S_BUFCOUNT]) % size
    buf[sta[k, S_BUFOFF] + tail] = u
    sta[k, S_BUFCOUNT] += 1


@numba.njit(cache=True)
def _release(
    s: int, t: float, fsrv: FloatArray, isrv: IntArray, acc: FloatArray, sta: IntArray
) -> None:
    """The unit leaves server ``s``: the server is idle, or stays down until repaired."""
    isrv[s, I_UNIT] = -1
    sta[isrv[s, I_STATION], S_OCC] -= 1
    if fsrv[s, F_UP] == INF:
        _set_state(s, IDLE, t, fsrv, isrv, acc)


@numba.njit(cache=True)
def _settle(
    k_event: int,
    t: float,
    times: FloatArray,
    sta: IntArray,
    buf: IntArray,
    blk: IntArray,
    entry: FloatArray,
    deps: FloatArray,
    fsrv: FloatArray,
    isrv: IntArray,
    acc: FloatArray,
    cnt: IntArray,
    g: FloatArray,
) -> None:
    """Make every move the event at station ``k_event`` allows, from there upstream."""
    last = sta.shape[0] - 1
    for k in range(k_event, -1, -1):
        moved = 0
        while sta[k, S_BLKCOUNT] > 0 and (k == last or sta[k + 1, S_OCC] < sta[k + 1, S_CAP]):
            first = sta[k, S_FIRST]
            s = blk[first + sta[k, S_BLKHEAD]]
            sta[k, S_BLKHEAD] = (sta[k, S_BLKHEAD] + 1) % sta[k, S_SERVERS]
            sta[k, S_BLKCOUNT] -= 1
            u = isrv[s, I_UNIT]
            if cnt[C_RECORD] == 1:
                deps[u, k] = t
            _release(s, t, fsrv, isrv, acc, sta)
            if k == last:
                _exit(u, True, t, entry, fsrv, isrv, acc, cnt, g)
            else:
                _enter(k + 1, u, t, times, sta, buf, entry, fsrv, isrv, acc, cnt, g)
            moved += 1
        _feed(k, t, times, sta, buf, entry, fsrv, isrv, acc, cnt, g)
        if moved == 0 and k < k_event:
            return


@numba.njit(cache=True)
def _complete(
    s: int,
    t: float,
    yields: FloatArray,
    rng: np.random.Generator,
    sta: IntArray,
    blk: IntArray,
    deps: FloatArray,
    entry: FloatArray,
    fsrv: FloatArray,
    isrv: IntArray,
    acc: FloatArray,
    cnt: IntArray,
    g: FloatArray,
) -> None:
    """Server ``s`` finishes its unit: scrapped, or blocked until the next station has room."""
    k = isrv[s, I_STATION]
    fsrv[s, F_FINISH] = INF
    u = isrv[s, I_UNIT]
    if yields[k] < 1.0 and rng.random() >= yields[k]:
        if cnt[C_RECORD] == 1:
            deps[u, k] = t
        _release(s, t, fsrv, isrv, acc, sta)
        _exit(u, False, t, entry, fsrv, isrv, acc, cnt, g)
        return
    _set_state(s, BLOCKED, t, fsrv, isrv, acc)
    first = sta[k, S_FIRST]
    tail = (sta[k, S_BLKHEAD] + sta[k, S_BLKCOUNT]) % sta[k, S_SERVERS]
    blk[first + tail] = s
    sta[k, S_BLKCOUNT] += 1


@numba.njit(cache=True)
def _fail(
    s: int,
    t: float,
    mttr: FloatArray,
    rng: np.random.Generator,
    fsrv: FloatArray,
    isrv: IntArray,
    acc: FloatArray,
) -> None:
    """Server ``s`` breaks down: work in progress pauses until the repair ends."""
    k = isrv[s, I_STATION]
    fsrv[s, F_FAIL] = INF
    fsrv[s, F_UP] = t + rng.standard_exponential() * mttr[k]
    if isrv[s, I_STATE] == BUSY:
        fsrv[s, F_LEFT] = fsrv[s, F_FINISH] - t
        fsrv[s, F_FINISH] = INF
    _set_state(s, DOWN, t, fsrv, isrv, acc)


@numba.njit(cache=True)
def _repair(
    s: int,
    t: float,
    mtbf: FloatArray,
    rng: np.random.Generator,
    fsrv: FloatArray,
    isrv: IntArray,
    acc: FloatArray,
) -> None:
    """Server ``s`` is repaired: it resumes its unit, or waits for one, or stays blocked."""
    k = isrv[s, I_STATION]
    fsrv[s, F_UP] = INF
    fsrv[s, F_FAIL] = t + rng.standard_exponential() * mtbf[k]
    if isrv[s, I_UNIT] < 0:
        _set_state(s, IDLE, t, fsrv, isrv, acc)
    elif fsrv[s, F_LEFT] >= 0.0:
        fsrv[s, F_FINISH] = t + fsrv[s, F_LEFT]
        fsrv[s, F_LEFT] = -1.0
        _set_state(s, BUSY, t, fsrv, isrv, acc)
    else:
        _set_state(s, BLOCKED, t, fsrv, isrv, acc)


@numba.njit(cache=True)
def _next_event(fsrv: FloatArray) -> tuple[int, int, float]:
    """The earliest completion, failure or repair: ``(server, column, time)``."""
    best, column, when = -1, 0, INF
    for s in range(fsrv.shape[0]):
        for c in range(3):  # F_FINISH, F_FAIL, F_UP
            if fsrv[s, c] < when:
                best, column, when = s, c, fsrv[s, c]
    return best, column, when


@numba.njit(cache=True)
def _run(
    times: FloatArray,
    servers: IntArray,
    buffers: IntArray,
    mtbf: FloatArray,
    mttr: FloatArray,
    yields: FloatArray,
    rng: np.random.Generator,
    target: int,
    warmup: int,
    record: bool,
    deps: FloatArray,
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Run the line until ``target`` units have left it (good or scrapped).

    Returns the float counters, the per-server time in each state (measured after the
    ``warmup``-th exit) and the int counters.
    """
    n_stations = servers.shape[0]
    n_servers = int(servers.sum())
    sta = np.zeros((n_stations, 9), dtype=np.int64)
    isrv = np.zeros((n_servers, 3), dtype=np.int64)
    fsrv = np.full((n_servers, 5), INF)
    acc = np.zeros((n_servers, 4))
    offset = 0
    bufoff = 0
    for k in range(n_stations):
        size = buffers[k] if k > 0 else 0
        sta[k, S_SERVERS] = servers[k]
        sta[k, S_CAP] = servers[k] + size
        sta[k, S_FIRST] = offset
        sta[k, S_BUFOFF] = bufoff
        for s in range(offset, offset + servers[k]):
            isrv[s, I_UNIT] = -1
            isrv[s, I_STATION] = k
            fsrv[s, F_SINCE] = 0.0
            fsrv[s, F_LEFT] = -1.0
            if mtbf[k] > 0.0:
                fsrv[s, F_FAIL] = rng.standard_exponential() * mtbf[k]
        offset += servers[k]
        # The ring holds every unit the station may hold: with a server down, a unit can wait
        # for it even where there are no buffer places.
        bufoff += sta[k, S_CAP]
    buf = np.zeros(bufoff, dtype=np.int64)
    blk = np.zeros(n_servers, dtype=np.int64)
    entry = np.zeros(times.shape[0])
    cnt = np.zeros(8, dtype=np.int64)
    cnt[C_TARGET] = target
    cnt[C_WARMUP] = warmup
    cnt[C_RECORD] = 1 if record else 0
    cnt[C_MEASURING] = 1 if warmup == 0 else 0
    g = np.zeros(5)
    _feed(0, 0.0, times, sta, buf, entry, fsrv, isrv, acc, cnt, g)
    while cnt[C_EXITS] < target:
        s, column, t = _next_event(fsrv)
        if s < 0:
            break
        if column == F_FINISH:
            _complete(s, t, yields, rng, sta, blk, deps, entry, fsrv, isrv, acc, cnt, g)
        elif column == F_FAIL:
            _fail(s, t, mttr, rng, fsrv, isrv, acc)
        else:
            _repair(s, t, mtbf, rng, fsrv, isrv, acc)
        _settle(isrv[s, I_STATION], t, times, sta, buf, blk, entry, deps, fsrv, isrv, acc, cnt, g)
    end = g[G_TEND]
    for s in range(n_servers):
        _set_state(s, isrv[s, I_STATE], end, fsrv, isrv, acc)
    _wip_change(0, end, cnt, g)
    return g, acc, cnt


@numba.njit(cache=True)
def _overlap(a: float, b: float, t0: float, t1: float) -> float:
    return max(0.0, min(b, t1) - max(a, t0))


@numba.njit(cache=True)
def _recursion(
    times: FloatArray, buffers: IntArray, deps: FloatArray, target: int, warmup: int
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Single-server stations without breakdowns or scrap: the max-plus recursion.

    Fills ``deps`` and returns the same counters and per-station time shares as ``_run``,
    measured between the ``warmup``-th and the ``target``-th exit.
    """
    rows, n_stations = times.shape
    last = n_stations - 1
    for i in range(rows):
        previous = 0.0  # D_{k-1}(i); the first station draws from an unlimited supply
        for k in range(n_stations):
            start = max(previous, deps[i - 1, k]) if i > 0 else previous
            done = start + times[i, k]
            ahead = i - buffers[k + 1] - 1 if k < last else -1
            if ahead >= 0 and deps[ahead, k + 1] > done:
                done = deps[ahead, k + 1]
            deps[i, k] = done
            previous = done
    t0 = deps[warmup - 1, last] if warmup > 0 else 0.0
    t1 = deps[target - 1, last]
    acc = np.zeros((n_stations, 4))
    g = np.zeros(5)
    for i in range(rows):
        entry = max(0.0, deps[i - 1, 0]) if i > 0 else 0.0
        if entry >= t1:
            break
        start = entry
        for k in range(n_stations):
            if k > 0:
                start = max(deps[i, k - 1], deps[i - 1, k]) if i > 0 else deps[i, k - 1]
            finish = start + times[i, k]
            acc[k, BUSY] += _overlap(start, finish, t0, t1)
            acc[k, BLOCKED] += _overlap(finish, deps[i, k], t0, t1)
        g[G_WIPACC] += _overlap(entry, deps[i, last], t0, t1)
        if warmup <= i < target:
            g[G_FLOW] += deps[i, last] - entry
    for k in range(n_stations):
        acc[k, IDLE] = (t1 - t0) - acc[k, BUSY] - acc[k, BLOCKED]
    g[G_T0] = t0
    g[G_TEND] = t1
    cnt = np.zeros(8, dtype=np.int64)
    cnt[C_GOOD] = target - warmup
    cnt[C_EXITS] = target
    return g, acc, cnt


@dataclass(frozen=True, slots=True)
class StationShares:
    """Shares of a station's server time after warm-up; the four add up to 1."""

    name: str
    servers: int
    utilization: float  # processing
    blocked: float  # finished, waiting for room downstream
    starved: float  # idle, nothing to work on
    down: float  # broken down, under repair


@dataclass(frozen=True, slots=True)
class Replication:
    """One replication's results, measured between the warm-up's end and the last exit."""

    throughput_per_hour: float
    mean_wip: float
    mean_flow_time_s: float
    good_units: int
    duration_s: float
    stations: tuple[StationShares, ...]


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """Means over replications, with two-sided t intervals for the first three quantities.

    ``ci`` maps ``throughput_per_hour``, ``mean_wip`` and ``mean_flow_time_s`` to
    ``(low, high)``; with one replication the bounds are NaN.
    """

    line: str
    units: int
    replications: int
    seed: int
    warmup: int
    confidence: float
    throughput_per_hour: float
    mean_wip: float
    mean_flow_time_s: float
    bottleneck: str
    ci: dict[str, tuple[float, float]]
    stations: tuple[StationShares, ...]
    runs: tuple[Replication, ...]


def _arrays(line: Line) -> tuple[IntArray, IntArray, FloatArray, FloatArray, FloatArray]:
    servers = np.array([s.servers for s in line.stations], dtype=np.int64)
    buffers = np.array([s.buffer for s in line.stations], dtype=np.int64)
    mtbf = np.array([s.mtbf_s or 0.0 for s in line.stations], dtype=np.float64)
    mttr = np.array([s.mttr_s or 0.0 for s in line.stations], dtype=np.float64)
    yields = np.array([s.yield_frac for s in line.stations], dtype=np.float64)
    return servers, buffers, mtbf, mttr, yields


def recursion_applies(line: Line) -> bool:
    """Whether the closed max-plus recursion describes ``line`` exactly.

    It does for one server per station, without breakdowns and without scrap.
    """
    return all(s.servers == 1 and not s.breakdowns and s.yield_frac == 1.0 for s in line.stations)


def replicate(
    line: Line,
    units: int,
    rng: np.random.Generator,
    *,
    warmup: int = 0,
    method: str = "auto",
) -> Replication:
    """One replication: ``warmup`` exits discarded, then ``units`` exits measured.

    Processing times are drawn up front from ``rng`` (enough for every unit that can enter
    before the last exit); the event loop then uses ``rng`` for failures, repairs and scrap.
    ``method`` is ``"events"`` (the event loop), ``"recursion"`` (the max-plus recursion, only
    where :func:`recursion_applies`) or ``"auto"`` (the recursion where it applies); both give
    the same numbers where both apply.
    """
    if method not in ("auto", "events", "recursion"):
        raise ValueError(f"method ({method!r}) must be auto, events or recursion")
    use_recursion = recursion_applies(line) if method == "auto" else method == "recursion"
    if use_recursion and not recursion_applies(line):
        raise ValueError("the recursion needs one server per station, no breakdowns, no scrap")
    servers, buffers, mtbf, mttr, yields = _arrays(line)
    capacity = int(servers.sum() + buffers[1:].sum())
    target = warmup + units
    times = sample_line(line, target + capacity, rng)
    return _replication(
        line, times, rng, servers, buffers, mtbf, mttr, yields, target, warmup, use_recursion
    )


def _replication(
    line: Line,
    times: FloatArray,
    rng: np.random.Generator,
    servers: IntArray,
    buffers: IntArray,
    mtbf: FloatArray,
    mttr: FloatArray,
    yields: FloatArray,
    target: int,
    warmup: int,
    use_recursion: bool,
) -> Replication:
    if use_recursion:
        extended = np.append(buffers, 0)
        g, acc, cnt = _recursion(times, extended, np.empty_like(times), target, warmup)
    else:
        g, acc, cnt = _run(
            times,
            servers,
            buffers,
            mtbf,
            mttr,
            yields,
            rng,
            target,
            warmup,
            False,
            np.zeros((1, 1)),
        )
    duration = float(g[G_TEND] - g[G_T0])
    good = int(cnt[C_GOOD])
    shares = []
    first = 0
    for station in line.stations:
        total = acc[first : first + station.servers].sum(axis=0)
        first += station.servers
        scale = float(total.sum()) or 1.0
        shares.append(
            StationShares(
                name=station.name,
                servers=station.servers,
                utilization=float(total[BUSY] / scale),
                blocked=float(total[BLOCKED] / scale),
                starved=float(total[IDLE] / scale),
                down=float(total[DOWN] / scale),
            )
        )
    return Replication(
        throughput_per_hour=good / duration * 3600.0 if duration > 0 else math.nan,
        mean_wip=float(g[G_WIPACC] / duration) if duration > 0 else math.nan,
        mean_flow_time_s=float(g[G_FLOW] / good) if good else math.nan,
        good_units=good,
        duration_s=duration,
        stations=tuple(shares),
    )


def _interval(values: list[float], confidence: float) -> tuple[float, float]:
    n = len(values)
    if n < 2:
        return (math.nan, math.nan)
    mean = float(np.mean(values))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
    return (mean - half, mean + half)


def simulate(
    line: Line,
    units: int,
    *,
    replications: int = 1,
    seed: int = 0,
    warmup: int = 0,
    confidence: float = 0.95,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Simulate ``line`` and average the replications.

    Parameters
    ----------
    line : Line
        The line model.
    units : int
        Units that leave the line (good or scrapped) in each replication after the warm-up.
    replications : int
        Independent replications; each gets its own stream spawned from ``seed``.
    seed : int
        The same seed gives the same numbers.
    warmup : int
        Exits discarded at the start of each replication (the line starts empty).
    confidence : float
        Confidence level of the t intervals over replications.
    progress : callable, optional
        Called with the number of replications done after each one.

    Returns
    -------
    SimulationResult
        Throughput of good units per hour, the time-average number of units in the line, the
        mean time from entering the first station to leaving the last (good units), per
        station the shares of server time processing, blocked, starved and down, and the
        bottleneck: the station whose servers are least often blocked or starved.

    Notes
    -----
    The interval for a mean over :math:`R` replications is
    :math:`\\bar x \\pm t_{R-1, (1+c)/2}\\, s / \\sqrt{R}`.

    References
    ----------
    Law, A. M. (2015). *Simulation Modeling and Analysis*, 5th ed., section 9.4.1.

    Examples
    --------
    >>> from phasegate.line.model import parse_line
    >>> line = parse_line({"name": "L", "stations": [
    ...     {"name": "A", "time": {"dist": "fixed", "value": 30.0}},
    ...     {"name": "B", "time": {"dist": "fixed", "value": 60.0}, "buffer": 1}]})
    >>> result = simulate(line, 100, warmup=10)
    >>> result.throughput_per_hour, result.bottleneck
    (60.0, 'B')
    """
    if units < 1:
        raise ValueError(f"units ({units}) must be at least 1")
    if replications < 1:
        raise ValueError(f"replications ({replications}) must be at least 1")
    if warmup < 0:
        raise ValueError(f"warmup ({warmup}) must be >= 0")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence ({confidence}) must be between 0 and 1")
    streams = np.random.SeedSequence(seed).spawn(replications)
    done: list[Replication] = []
    for stream in streams:
        done.append(replicate(line, units, np.random.default_rng(stream), warmup=warmup))
        if progress is not None:
            progress(len(done))
    runs = tuple(done)
    keys = ("throughput_per_hour", "mean_wip", "mean_flow_time_s")
    means = {key: float(np.mean([getattr(r, key) for r in runs])) for key in keys}
    ci = {key: _interval([getattr(r, key) for r in runs], confidence) for key in keys}
    stations = tuple(
        StationShares(
            name=station.name,
            servers=station.servers,
            utilization=float(np.mean([r.stations[k].utilization for r in runs])),
            blocked=float(np.mean([r.stations[k].blocked for r in runs])),
            starved=float(np.mean([r.stations[k].starved for r in runs])),
            down=float(np.mean([r.stations[k].down for r in runs])),
        )
        for k, station in enumerate(line.stations)
    )
    bottleneck = max(stations, key=lambda s: s.utilization + s.down).name
    return SimulationResult(
        line=line.name,
        units=units,
        replications=replications,
        seed=seed,
        warmup=warmup,
        confidence=confidence,
        throughput_per_hour=means["throughput_per_hour"],
        mean_wip=means["mean_wip"],
        mean_flow_time_s=means["mean_flow_time_s"],
        bottleneck=bottleneck,
        ci=ci,
        stations=stations,
        runs=runs,
    )


def trace(line: Line, times: npt.ArrayLike) -> FloatArray:
    """Departure times of each unit from each station, for given processing times.

    The units enter in row order from the unlimited supply at time 0; breakdowns and yield of
    the line are not applied (the times given are the exact processing times, and every unit
    passes). Servers and buffers are those of ``line``.

    Parameters
    ----------
    line : Line
        The line model (its servers and buffers are used).
    times : array_like, shape (units, stations)
        Processing time of each unit at each station in seconds, >= 0.

    Returns
    -------
    ndarray, shape (units, stations)
        ``out[i, k]`` is the time unit ``i`` leaves station ``k`` (moves on, or leaves the
        line from the last station).

    Notes
    -----
    With one server per station the departures follow the max-plus recursion
    :math:`D_k(i) = \\max(\\max(D_{k-1}(i), D_k(i-1)) + p_k(i),\\ D_{k+1}(i - b_{k+1} - 1))`
    (blocking after service, :math:`D_0 \\equiv 0`); with parallel servers the compiled event
    loop described in the module docstring gives them.

    References
    ----------
    Dallery, Y., & Gershwin, S. B. (1992). *Queueing Systems* 12, 3-94.

    Examples
    --------
    >>> from phasegate.line.model import parse_line
    >>> line = parse_line({"name": "L", "stations": [
    ...     {"name": "A", "time": {"dist": "fixed", "value": 1.0}},
    ...     {"name": "B", "time": {"dist": "fixed", "value": 1.0}}]})
    >>> trace(line, [[1.0, 3.0], [1.0, 3.0], [1.0, 3.0]]).tolist()
    [[1.0, 4.0], [4.0, 7.0], [7.0, 10.0]]
    """
    matrix = np.array(times, dtype=np.float64, ndmin=2)
    n_stations = len(line.stations)
    if matrix.ndim != 2 or matrix.shape[1] != n_stations:
        raise ValueError(
            f"times must have one column per station ({n_stations}), got shape {matrix.shape}"
        )
    bad = np.argwhere(~np.isfinite(matrix) | (matrix < 0))
    if bad.size:
        row, column = (int(v) for v in bad[0])
        raise ValueError(
            f"time of unit {row + 1} at station {line.stations[column].name!r} must be a "
            f"finite number >= 0, got {matrix[row, column]!r}"
        )
    servers, buffers, _, _, _ = _arrays(line)
    zeros = np.zeros(n_stations)
    deps = np.full(matrix.shape, np.nan)
    if len(matrix) == 0:
        return deps
    if bool((servers == 1).all()):
        _recursion(matrix, np.append(buffers, 0), deps, len(matrix), 0)
        return deps
    _run(
        matrix,
        servers,
        buffers,
        zeros,
        zeros,
        np.ones(n_stations),
        np.random.default_rng(0),
        len(matrix),
        0,
        True,
        deps,
    )
    return deps
