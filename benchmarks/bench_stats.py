"""Benchmark: X̄-R limits + eight Nelson rules + full capability with CIs on 1,000,000 values.

Compares, in one run on one machine, ``phasegate.stats`` with

* a plain vectorized NumPy/SciPy baseline written here (same computations, no validation), and
* the SPC libraries from PyPI that install (``pip install -e '.[bench]'``), each run in its own
  subprocess with a time limit; their X̄ UCL and Cpk are compared with ours.

Usage: ``python benchmarks/bench_stats.py [--n 1000000] [--repeat 5] [--peer-timeout 600]``.
It rewrites the ``<!-- stats:begin -->`` ... ``<!-- stats:end -->`` section of
docs/benchmarks.md (other sections are left alone) unless ``--no-write`` is given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special, stats

import report

ROOT = Path(__file__).resolve().parent.parent
DOC = report.DOC
BEGIN, END = report.markers("stats")
N_SUB = 5
LSL, USL = 6.0, 14.0
SEED = 20261125


def make_data(n: int) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    return rng.normal(10.0, 1.0, (n // N_SUB, N_SUB))


# ------------------------------------------------------------------------------------------------
# the plain NumPy baseline: the same quantities, straight-line code, no checks


def _runs(mask: np.ndarray, length: int) -> np.ndarray:
    cs = np.cumsum(mask, dtype=np.int32)
    out = cs.copy()
    out[length:] -= cs[:-length]
    return out


def baseline(x: np.ndarray) -> dict[str, float]:
    d2, d3, c4n = 2.325928947281039, 0.8640819410995083, None  # n = 5
    means = x.mean(axis=1)
    ranges = x.max(axis=1) - x.min(axis=1)
    rbar = ranges.mean()
    sigma = rbar / d2
    center = means.mean()
    se = sigma / math.sqrt(N_SUB)
    ucl, lcl = center + 3 * se, center - 3 * se
    r_ucl = rbar * (1 + 3 * d3 / d2)
    z = (means - center) / se
    flags = np.zeros(z.shape[0], dtype=np.uint16)
    flags[np.abs(z) > 3] |= 1
    flags[(_runs(z > 0, 9) >= 9) | (_runs(z < 0, 9) >= 9)] |= 2
    step = np.diff(means)
    trend = np.zeros(z.shape[0], bool)
    trend[1:] = (_runs(step > 0, 5) >= 5) | (_runs(step < 0, 5) >= 5)
    flags[trend] |= 4
    alt = np.zeros(z.shape[0], bool)
    alt[2:] = _runs(step[1:] * step[:-1] < 0, 12) >= 12
    flags[alt] |= 8
    hi2, lo2 = z > 2, z < -2
    flags[(hi2 & (_runs(hi2, 3) >= 2)) | (lo2 & (_runs(lo2, 3) >= 2))] |= 16
    hi1, lo1 = z > 1, z < -1
    flags[(hi1 & (_runs(hi1, 5) >= 4)) | (lo1 & (_runs(lo1, 5) >= 4))] |= 32
    flags[_runs(np.abs(z) <= 1, 15) >= 15] |= 64
    flags[_runs(np.abs(z) > 1, 8) >= 8] |= 128
    r_flags = ranges > r_ucl
    del c4n
    # capability
    flat = x.reshape(-1)
    n = flat.shape[0]
    mean = center
    so = flat.std(ddof=1)
    cp, pp = (USL - LSL) / (6 * sigma), (USL - LSL) / (6 * so)
    cpk = min(USL - mean, mean - LSL) / (3 * sigma)
    ppk = min(USL - mean, mean - LSL) / (3 * so)
    tgt = (USL + LSL) / 2
    cpm = (USL - LSL) / (6 * math.sqrt(so * so + (mean - tgt) ** 2))
    m = x.shape[0]
    dof_w = m * d2 * d2 / (2 * d3 * d3)
    z975 = special.ndtri(0.975)
    cp_ci = cp * np.sqrt(stats.chi2.ppf([0.025, 0.975], dof_w) / dof_w)
    pp_ci = pp * np.sqrt(stats.chi2.ppf([0.025, 0.975], n - 1) / (n - 1))
    half = z975 * math.sqrt(1 / (9 * n) + cpk * cpk / (2 * dof_w))
    a2 = ((mean - tgt) / so) ** 2
    nu = n * (1 + a2) ** 2 / (1 + 2 * a2)
    cpm_ci = cpm * np.sqrt(stats.chi2.ppf([0.025, 0.975], nu) / nu)
    ppm_below = special.ndtr((LSL - mean) / so) * 1e6
    ppm_above = special.ndtr((mean - USL) / so) * 1e6
    obs_below = np.count_nonzero(flat < LSL) / n * 1e6
    obs_above = np.count_nonzero(flat > USL) / n * 1e6
    # like phasegate: Anderson-Darling on an evenly spaced subsample of at most 100,000 values
    sample = flat[:: -(-n // 100_000)]
    m_ad = sample.shape[0]
    zs = (np.sort(sample) - sample.mean()) / sample.std(ddof=1)
    i = np.arange(1, 2 * m_ad, 2, dtype=np.float64)
    a2_stat = -m_ad - np.dot(i, special.log_ndtr(zs) + special.log_ndtr(-zs[::-1])) / m_ad
    return {
        "ucl": float(ucl),
        "lcl": float(lcl),
        "r_ucl": float(r_ucl),
        "signals": int(np.count_nonzero(flags)),
        "r_signals": int(np.count_nonzero(r_flags)),
        "cpk": float(cpk),
        "cpk_low": float(cpk - half),
        "ppk": float(ppk),
        "cp_low": float(cp_ci[0]),
        "pp_low": float(pp_ci[0]),
        "cpm_low": float(cpm_ci[0]),
        "ppm": float(ppm_below + ppm_above + obs_below + obs_above),
        "ad": float(a2_stat),
    }


def phasegate_run(x: np.ndarray) -> dict[str, float]:
    from phasegate import stats as pg

    chart = pg.xbar_r(x, rules="nelson")
    cap = pg.capability(x, lsl=LSL, usl=USL)
    return {
        "ucl": chart.primary.upper_limit,
        "signals": chart.primary.violations.count(),
        "cpk": cap.cpk,
        "cpk_low": cap.ci["cpk"].low,
        "ad": cap.normality.statistic if cap.normality else math.nan,
    }


def best_of(fn: Any, x: np.ndarray, repeat: int) -> tuple[float, dict[str, float]]:
    fn(x)  # warm-up: imports, constant caches
    times = []
    out: dict[str, float] = {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(x)
        times.append(time.perf_counter() - t0)
    return min(times), out


# ------------------------------------------------------------------------------------------------
# peers: each in a subprocess, timed inside it (imports and data frames excluded)


def _peer_capstat_core(x: np.ndarray) -> tuple[float, dict[str, float]]:
    import capstat_core as cc

    t0 = time.perf_counter()
    pair = cc.xbar_r_chart(x)
    violations = cc.nelson_rules(pair.location)
    cap = cc.capability(x, lsl=LSL, usl=USL, within_method="rbar_d2")
    seconds = time.perf_counter() - t0
    points = {v.point for v in violations}
    return seconds, {"ucl": pair.location.limits.upper, "cpk": cap.cpk, "signals": len(points)}


def _peer_shewhart(x: np.ndarray) -> tuple[float, dict[str, float]]:
    import pandas as pd
    import shewhart as sw

    df = pd.DataFrame({"v": x.reshape(-1), "g": np.repeat(np.arange(x.shape[0]), x.shape[1])})
    t0 = time.perf_counter()
    chart = sw.xbar_r(df, value="v", subgroup="g", rules="nelson")
    cap = sw.capability(df, value="v", subgroup="g", lsl=LSL, usl=USL)
    seconds = time.perf_counter() - t0
    return seconds, {
        "ucl": chart.stats["xbar_ucl"],
        "cpk": cap.stats["cpk"],
        "signals": len(chart.signals),
    }


def _peer_pccpy(x: np.ndarray) -> tuple[float, dict[str, float]]:
    import pccpy

    t0 = time.perf_counter()
    chart = pccpy.xbar_r_chart(x, tests=(1, 2, 3, 4, 5, 6, 7, 8))
    cap = pccpy.capability_analysis(x.reshape(-1), LSL, USL, subgroup_size=x.shape[1])
    seconds = time.perf_counter() - t0
    out: dict[str, float] = {}
    for name in ("ucl", "UCL"):
        if hasattr(chart, name):
            value = getattr(chart, name)
            out["ucl"] = float(np.ravel(value)[0])
    for name in ("cpk", "Cpk"):
        if hasattr(cap, name):
            out["cpk"] = float(getattr(cap, name))
    return seconds, out


def _peer_spc_lib(x: np.ndarray) -> tuple[float, dict[str, float]]:
    import spc_lib

    t0 = time.perf_counter()
    chart = spc_lib.XBarRChart(x, usl=USL, lsl=LSL)
    chart.fit()
    sigma_xbar = (chart.ucl_main - chart.cl_main) / 3
    found = spc_lib.rules.detect_violations(
        chart.stat_main, chart.cl_main, sigma_xbar, last_n=None, rules=None
    )
    cap = chart.capability()
    seconds = time.perf_counter() - t0
    out: dict[str, float] = {"ucl": float(chart.ucl_main)}
    out["signals"] = float(len({i for points in found.values() for i in points}))
    if isinstance(cap, dict):
        for key in ("cpk", "Cpk"):
            if key in cap:
                out["cpk"] = float(cap[key])
    return seconds, out


def _peer_pycontrolcharts(x: np.ndarray) -> tuple[float, dict[str, float]]:
    import pycontrolcharts as pcc

    t0 = time.perf_counter()
    frame = pcc.calc_xbar_r(
        x.reshape(-1).tolist(), subgroup_size=x.shape[1], spec_upper=USL, spec_lower=LSL
    )
    seconds = time.perf_counter() - t0
    out: dict[str, float] = {}
    for col in frame.columns:
        if str(col).lower() in {"ucl", "mean_ucl", "xbar_ucl", "x_ucl"}:
            out["ucl"] = float(frame[col].iloc[0])
    return seconds, out


PEERS = {
    "capstat-core": _peer_capstat_core,
    "shewhart": _peer_shewhart,
    "pccpy": _peer_pccpy,
    "spc-lib": _peer_spc_lib,
    "pycontrolcharts": _peer_pycontrolcharts,
}
PEER_NOTES = {
    "spc-lib": "X̄-R with table constants (n <= 10), its Western Electric rule set and Cp/Cpk "
    "without confidence intervals or normality test, so it does less work than the others",
    "pycontrolcharts": "X̄-R with its run tests; it has no capability function",
    "pccpy": "X̄-R with tests 1-8 and capability_analysis (no normality test; within sigma "
    "pooled, hence its Cpk differs in the fourth digit)",
    "shewhart": "its X̄-R and capability functions on a data frame; capability estimates the "
    "within sigma its own way (Cpk differs in the fourth digit) and reports signals per rule",
    "capstat-core": "xbar_r_chart, nelson_rules and capability(within_method='rbar_d2'); its "
    "default pooled estimate refuses 800,000 degrees of freedom",
}


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "not installed"


def run_peer(name: str, n: int, timeout: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "--peer", name, "--n", str(n)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"peer": name, "status": f"did not finish in {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"peer": name, "status": f"failed: {last[:160]}"}
    return {"peer": name, "status": "ran", **json.loads(done.stdout.strip().splitlines()[-1])}


def _peer_main(name: str, n: int) -> None:
    import warnings

    warnings.simplefilter("ignore")
    x = make_data(n)
    seconds, out = PEERS[name](x)
    print(json.dumps({"seconds": seconds, **{k: float(v) for k, v in out.items()}}))


# ------------------------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"NumPy {np.__version__}, SciPy {__import__('scipy').__version__}, {platform.system()}"
    )


def render(n: int, base_t: float, pg_t: float, base: dict, pg: dict, peers: list[dict]) -> str:
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    lines = [
        BEGIN,
        "## Statistics engine: X̄-R + 8 Nelson rules + capability with CIs",
        "",
        f"Measured {date} on {machine()}.",
        f"Workload: {n:,} normal values in subgroups of {N_SUB} ({n // N_SUB:,} subgroups); "
        "X̄-R limits, the eight Nelson rules on the X̄ chart (rule 1 on R), then Cp, Cpk, Cpm, "
        "Pp, Ppk with chi-square/Bissell/Boyles intervals, expected and observed ppm and the "
        "Anderson-Darling statistic (on an evenly spaced subsample of 100,000 values, as "
        "phasegate does above that size). Best of repeated runs; peers once each, timed inside "
        "their own process without imports or data-frame construction. Reproduce with "
        "`python benchmarks/bench_stats.py`.",
        "",
        "| implementation | seconds | ratio to NumPy baseline | phasegate is faster by | "
        "X̄ UCL | Cpk | status |",
        "|---|---:|---:|---:|---:|---:|---|",
        f"| plain NumPy baseline (in the script) | {base_t:.4f} | 1.00 | - | {base['ucl']:.6f} | "
        f"{base['cpk']:.6f} | ran |",
        f"| phasegate.stats | {pg_t:.4f} | {pg_t / base_t:.2f} | - | {pg['ucl']:.6f} | "
        f"{pg['cpk']:.6f} | ran |",
    ]
    for p in peers:
        name = f"{p['peer']} {_version(p['peer'])}"
        if p["status"] == "ran":
            ucl = f"{p['ucl']:.6f}" if "ucl" in p else "n/a"
            cpk = f"{p['cpk']:.6f}" if "cpk" in p else "n/a"
            lines.append(
                f"| {name} | {p['seconds']:.3f} | {p['seconds'] / base_t:.1f} | "
                f"{p['seconds'] / pg_t:.0f}x | {ucl} | {cpk} | ran |"
            )
        else:
            lines.append(f"| {name} | - | - | - | - | - | {p['status']} |")
    ran = [p for p in peers if p["status"] == "ran"]
    lines.append("")
    if ran:
        fastest = min(ran, key=lambda p: p["seconds"])
        lines.append(
            f"Fastest peer: {fastest['peer']} at {fastest['seconds']:.3f} s, "
            f"{fastest['seconds'] / pg_t:.0f}x slower than phasegate.stats; phasegate.stats is "
            f"{pg_t / base_t:.2f}x the plain NumPy baseline (the target is at most 2x)."
        )
    agree = [
        f"{p['peer']}: UCL differs by {abs(p['ucl'] - pg['ucl']):.2e}"
        + (f", Cpk by {abs(p['cpk'] - pg['cpk']):.2e}" if "cpk" in p else "")
        + (f", {int(p['signals'])} points with signals" if "signals" in p else "")
        for p in ran
        if "ucl" in p
    ]
    if agree:
        lines.append("")
        lines.append("Agreement with phasegate.stats: " + "; ".join(agree) + ".")
    lines.append(
        f"Baseline and phasegate agree: UCL {abs(base['ucl'] - pg['ucl']):.1e}, "
        f"Cpk {abs(base['cpk'] - pg['cpk']):.1e}, A² {abs(base['ad'] - pg['ad']):.1e}, "
        f"points with signals {base['signals']} vs {pg['signals']}."
    )
    notes = [f"{k}: {v}" for k, v in PEER_NOTES.items() if any(p["peer"] == k for p in peers)]
    if notes:
        lines.append("")
        lines.append("Notes: " + "; ".join(notes) + ".")
    lines.append(END)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--peers", default=",".join(PEERS), help="Comma-separated peers to run.")
    parser.add_argument("--peer-timeout", type=float, default=600.0)
    parser.add_argument("--no-write", action="store_true", help="Print only.")
    args = parser.parse_args()
    if args.peer:
        _peer_main(args.peer, args.n)
        return
    x = make_data(args.n)
    base_t, base = best_of(baseline, x, args.repeat)
    pg_t, pg = best_of(phasegate_run, x, args.repeat)
    print(f"baseline {base_t:.4f} s, phasegate {pg_t:.4f} s ({pg_t / base_t:.2f}x)", flush=True)
    peers = []
    for name in [p for p in args.peers.split(",") if p]:
        result = run_peer(name, args.n, args.peer_timeout)
        print(result, flush=True)
        peers.append(result)
    section = render(args.n, base_t, pg_t, base, pg, peers)
    print(section)
    if not args.no_write:
        report.write_section("stats", section)


if __name__ == "__main__":
    main()
