"""Benchmark: the ``phasegate`` command - start-up, and ``spc`` / ``capability`` on a big CSV.

Each command runs as a user runs it (a new process: start-up, reading the CSV, computing,
writing the JSON document) side by side with a plain script doing the same work the plain way:
pyarrow's CSV reader, NumPy, and orjson with ``OPT_SERIALIZE_NUMPY``, writing the same
document (every point of the chart as an object, the capability indices with their intervals).
The two alternate, several times; the median wall time and the peak RSS of each process
(``wait4``) are reported.

Usage: ``python benchmarks/bench_cli.py [--rows 1000000] [--repeat 5] [--no-write]``. It rewrites
the ``<!-- cli:begin -->`` ... ``<!-- cli:end -->`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import report

SEED = 20261202
N_SUB = 5
LSL, USL = 6.0, 14.0
PHASEGATE = str(Path(sys.executable).with_name("phasegate"))

# The plain scripts: what someone would write by hand, with no checks and no options.
_COMMON = """
import sys
import numpy as np
import orjson
import pyarrow.csv as pacsv

table = pacsv.read_csv(sys.argv[1], convert_options=pacsv.ConvertOptions(include_columns=["width"]))
x = table.column("width").to_numpy().reshape(-1, 5)
means = x.mean(axis=1)
ranges = x.max(axis=1) - x.min(axis=1)
rbar = ranges.mean()
d2, d3 = 2.325928947281039, 0.8640819410995083
sigma = rbar / d2
center = means.mean()
"""

SPC_SCRIPT = (
    _COMMON
    + """
def runs(mask, length):
    cs = np.cumsum(mask, dtype=np.int32)
    out = cs.copy()
    out[length:] -= cs[:-length]
    return out

se = sigma / np.sqrt(5)
ucl, lcl = center + 3 * se, center - 3 * se
z = (means - center) / se
flags = np.zeros(z.shape[0], dtype=np.uint16)
flags[np.abs(z) > 3] |= 1
flags[(runs(z > 0, 9) >= 9) | (runs(z < 0, 9) >= 9)] |= 2
step = np.diff(means)
trend = np.zeros(z.shape[0], bool)
trend[1:] = (runs(step > 0, 5) >= 5) | (runs(step < 0, 5) >= 5)
flags[trend] |= 4
alt = np.zeros(z.shape[0], bool)
alt[2:] = runs(step[1:] * step[:-1] < 0, 12) >= 12
flags[alt] |= 8
hi2, lo2 = z > 2, z < -2
flags[(hi2 & (runs(hi2, 3) >= 2)) | (lo2 & (runs(lo2, 3) >= 2))] |= 16
hi1, lo1 = z > 1, z < -1
flags[(hi1 & (runs(hi1, 5) >= 4)) | (lo1 & (runs(lo1, 5) >= 4))] |= 32
flags[runs(np.abs(z) <= 1, 15) >= 15] |= 64
flags[runs(np.abs(z) > 1, 8) >= 8] |= 128
r_ucl = rbar * (1 + 3 * d3 / d2)
r_flags = (ranges > r_ucl).astype(np.uint16)

def points(values, lo, hi, mid, flags):
    rules = [[r for r in range(1, 9) if f >> (r - 1) & 1] for f in flags.tolist()]
    return [
        {"subgroup": i + 1, "value": v, "lcl": lo, "ucl": hi, "violations": rule,
         "center": mid, "size": 5, "phase": 1}
        for i, (v, rule) in enumerate(zip(values.tolist(), rules))
    ]

doc = {
    "chart": "xbar-r", "center": center, "lcl": lcl, "ucl": ucl, "sigma": sigma,
    "signals": int(np.count_nonzero(flags)), "points": points(means, lcl, ucl, center, flags),
    "secondary": {
        "chart": "R", "center": rbar, "lcl": 0.0, "ucl": r_ucl,
        "signals": int(np.count_nonzero(r_flags)),
        "points": points(ranges, 0.0, r_ucl, rbar, r_flags),
    },
}
sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY) + b"\\n")
"""
)

CAPABILITY_SCRIPT = (
    _COMMON
    + f"""
import math
from scipy import special, stats

LSL, USL = {LSL}, {USL}
flat = x.reshape(-1)
n = flat.shape[0]
mean = flat.mean()
so = flat.std(ddof=1)
tgt = (USL + LSL) / 2
cp, pp = (USL - LSL) / (6 * sigma), (USL - LSL) / (6 * so)
cpl, cpu = (mean - LSL) / (3 * sigma), (USL - mean) / (3 * sigma)
ppl, ppu = (mean - LSL) / (3 * so), (USL - mean) / (3 * so)
cpk, ppk = min(cpl, cpu), min(ppl, ppu)
cpm = (USL - LSL) / (6 * math.sqrt(so * so + (mean - tgt) ** 2))
m = x.shape[0]
dof_w = m * d2 * d2 / (2 * d3 * d3)
z = special.ndtri(0.975)
chi_w = np.sqrt(stats.chi2.ppf([0.025, 0.975], dof_w) / dof_w)
chi_o = np.sqrt(stats.chi2.ppf([0.025, 0.975], n - 1) / (n - 1))
a2 = ((mean - tgt) / so) ** 2
nu = n * (1 + a2) ** 2 / (1 + 2 * a2)
chi_m = np.sqrt(stats.chi2.ppf([0.025, 0.975], nu) / nu)

def bissell(k, dof):
    half = z * math.sqrt(1 / (9 * n) + k * k / (2 * dof))
    return [k - half, k + half]

ci = {{
    "cp": cp * chi_w, "cpl": bissell(cpl, dof_w), "cpu": bissell(cpu, dof_w),
    "cpk": bissell(cpk, dof_w), "cpm": cpm * chi_m, "pp": pp * chi_o,
    "ppl": bissell(ppl, n - 1), "ppu": bissell(ppu, n - 1), "ppk": bissell(ppk, n - 1),
}}
sample = flat[:: -(-n // 100_000)]
k = sample.shape[0]
zs = (np.sort(sample) - sample.mean()) / sample.std(ddof=1)
i = np.arange(1, 2 * k, 2, dtype=np.float64)
ad = -k - np.dot(i, special.log_ndtr(zs) + special.log_ndtr(-zs[::-1])) / k
counts, edges = np.histogram(flat, bins=60)
doc = {{
    "n": n, "mean": mean, "sigma_within": sigma, "sigma_overall": so,
    "cp": cp, "cpl": cpl, "cpu": cpu, "cpk": cpk, "cpm": cpm,
    "pp": pp, "ppl": ppl, "ppu": ppu, "ppk": ppk, "ci": ci,
    "ppm": {{
        "expected_below": special.ndtr((LSL - mean) / so) * 1e6,
        "expected_above": special.ndtr((mean - USL) / so) * 1e6,
        "observed_below": np.count_nonzero(flat < LSL) / n * 1e6,
        "observed_above": np.count_nonzero(flat > USL) / n * 1e6,
    }},
    "normality": {{"test": "anderson-darling", "statistic": ad}},
    "histogram": {{"edges": edges, "counts": counts}},
}}
sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY) + b"\\n")
"""
)


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float


def run_once(argv: list[str]) -> Run:
    """Wall time and peak RSS of one process, its output thrown away."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {err}")
    return Run(seconds, usage.ru_maxrss / 1024)


def median(runs: list[Run]) -> Run:
    return Run(
        statistics.median(r.seconds for r in runs), statistics.median(r.peak_mb for r in runs)
    )


def side_by_side(plain: list[str], command: list[str], repeat: int) -> tuple[Run, Run]:
    """Both, alternating, ``repeat`` times each (after one unmeasured run each)."""
    run_once(plain), run_once(command)
    plains, commands = [], []
    for _ in range(repeat):
        plains.append(run_once(plain))
        commands.append(run_once(command))
    return median(plains), median(commands)


def write_csv(path: Path, rows: int) -> None:
    """``part,width``: subgroups of 5 consecutive rows, normal widths with six decimals."""
    rng = np.random.default_rng(SEED)
    widths = rng.normal(10.0, 1.0, rows)
    with path.open("w") as out:
        out.write("part,width\n")
        for start in range(0, rows, 100_000):
            chunk = widths[start : start + 100_000]
            out.writelines(
                f"P{(start + i) // N_SUB},{w:.6f}\n" for i, w in enumerate(chunk.tolist())
            )


_SCRIPT_IMPORTS = "import numpy, pyarrow.csv, orjson"


def startup(repeat: int) -> list[tuple[str, Run, float]]:
    """Median run and fastest time of the interpreter alone, and of two help screens."""
    cases = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("phasegate --help", [PHASEGATE, "--help"]),
        ("phasegate spc --help", [PHASEGATE, "spc", "--help"]),
        ("python -c 'import numpy, pyarrow.csv, orjson'", [sys.executable, "-c", _SCRIPT_IMPORTS]),
        ("python -c 'import phasegate.stats'", [sys.executable, "-c", "import phasegate.stats"]),
    ]
    out = []
    for label, argv in cases:
        run_once(argv)
        runs = [run_once(argv) for _ in range(max(repeat, 5))]
        out.append((label, median(runs), min(r.seconds for r in runs)))
    return out


def render(
    rows: int,
    size_mb: float,
    starts: list[tuple[str, Run, float]],
    pairs: list[tuple[str, Run, Run]],
) -> str:
    begin, end = report.markers("cli")
    m = report.machine()
    lines = [
        begin,
        "## The command line: start-up, and `spc` / `capability` on a big CSV",
        "",
        f"Measured {m['date']} on {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, "
        f"{m['platform']}. Each figure is the median of alternating runs, each a new process; "
        "peak RSS from `wait4`. Reproduce with `python benchmarks/bench_cli.py`.",
        "",
        "| start-up | median s | fastest s | peak RSS MB |",
        "|---|---:|---:|---:|",
        *(
            f"| `{label}` | {r.seconds:.3f} | {fastest:.3f} | {r.peak_mb:.0f} |"
            for label, r, fastest in starts
        ),
        "",
        "`python -c pass` is the interpreter alone. The target for both help screens is under "
        "0.5 s. The last two rows are what the spc script imports, and what every analysis "
        "command imports to compute: `phasegate.stats` imports SciPy only in the functions "
        "that use it (EWMA, the confidence intervals, normality, gage R&R), so an X̄-R chart, "
        "like the plain script, runs without it.",
        "",
        f"Workload: a CSV of {rows:,} rows (`part,width`, {size_mb:.1f} MB), subgroups of "
        f"{N_SUB} consecutive rows; the JSON goes to /dev/null. The plain script reads the file "
        "with `pyarrow.csv.read_csv`, computes with NumPy (SciPy for the capability intervals "
        "and normality) and writes the same document with `orjson.dumps(..., "
        "OPT_SERIALIZE_NUMPY)`, with no checks and no options. Targets: the command within 1.5x "
        "the script's time, its peak RSS under 2x.",
        "",
        "| command | script s | command s | time ratio | script MB | command MB | RSS ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, plain, command in pairs:
        lines.append(
            f"| `{label}` | {plain.seconds:.2f} | {command.seconds:.2f} | "
            f"{command.seconds / plain.seconds:.2f} | {plain.peak_mb:.0f} | "
            f"{command.peak_mb:.0f} | {command.peak_mb / plain.peak_mb:.2f} |"
        )
    lines.append(end)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="Print only.")
    args = parser.parse_args()
    starts = startup(args.repeat)
    for label, r, fastest in starts:
        print(f"{label}: {r.seconds:.3f} s (fastest {fastest:.3f}), {r.peak_mb:.0f} MB", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "widths.csv"
        write_csv(data, args.rows)
        scripts = {"spc": SPC_SCRIPT, "capability": CAPABILITY_SCRIPT}
        for name, text in scripts.items():
            (Path(tmp) / f"plain_{name}.py").write_text(text)
        cases = {
            "spc FILE --value width --chart xbar-r --subgroup-size 5 --format json": "spc",
            f"capability FILE --value width --subgroup-size 5 --lsl {LSL:g} --usl {USL:g} "
            "--format json": "capability",
        }
        pairs = []
        for label, name in cases.items():
            plain = [sys.executable, str(Path(tmp) / f"plain_{name}.py"), str(data)]
            command = [PHASEGATE, *label.replace("FILE", str(data)).split()]
            p, c = side_by_side(plain, command, args.repeat)
            print(f"{label}: script {p}, command {c}", flush=True)
            pairs.append((label, p, c))
        size_mb = data.stat().st_size / 1e6
    section = render(args.rows, size_mb, starts, pairs)
    print(section)
    if not args.no_write:
        report.write_section("cli", section)


if __name__ == "__main__":
    main()
