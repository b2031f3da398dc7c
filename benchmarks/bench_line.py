"""Line simulation: phasegate against an equivalent SimPy model, side by side in one run.

The line: five single-server stations in series with lognormal processing times (means 40 to
45 s, CV 0.3 to 0.5), buffers of 0 to 2 places, blocking after service, unlimited raw
material. One replication of 1,000,000 units. The SimPy model is the usual one (a resource for
each station's places, one for its servers, a process per unit) and is given exactly the
processing times phasegate draws for its replication, so both must report the same
throughput; the SimPy time leaves out the drawing of the times. phasegate is timed through
its public ``simulate`` (drawing included), which takes the max-plus recursion on this line,
and through its event loop (``replicate(..., method="events")``), the path lines with
parallel servers, breakdowns or scrap take.

Run ``python benchmarks/bench_line.py`` (``--units N`` for a quicker look, ``--no-write`` to
print only); it writes the ``line`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

import report
from phasegate.line.distributions import sample_line
from phasegate.line.model import Line, parse_line
from phasegate.line.simulation import replicate, simulate

STATIONS = [  # (mean s, cv, buffer in front)
    (40.0, 0.3, 0),
    (42.0, 0.5, 1),
    (45.0, 0.4, 0),
    (41.0, 0.3, 2),
    (43.0, 0.5, 1),
]
SEED = 2026


def bench_line() -> Line:
    return parse_line(
        {
            "name": "bench line",
            "stations": [
                {
                    "name": f"S{k + 1}",
                    "buffer": buffer,
                    "time": {"dist": "lognormal", "mean": mean, "cv": cv},
                }
                for k, (mean, cv, buffer) in enumerate(STATIONS)
            ],
        }
    )


def simpy_throughput(line: Line, times: np.ndarray, units: int) -> float:
    """Units per hour of the SimPy model until the ``units``-th unit leaves the line."""
    env = simpy.Environment()
    stations = line.stations
    last = len(stations) - 1
    servers = [simpy.Resource(env, s.servers) for s in stations]
    places = [
        simpy.Resource(env, s.servers + (s.buffer if k else 0)) for k, s in enumerate(stations)
    ]
    done = env.event()
    exits = [0]

    def unit(i: int, place: Any) -> Generator[Any, Any, None]:
        row = times[i]
        for k in range(last + 1):
            with servers[k].request() as server:
                yield server
                yield env.timeout(row[k])
                following = None
                if k < last:
                    following = places[k + 1].request()
                    yield following
            places[k].release(place)
            place = following
        exits[0] += 1
        if exits[0] == units:
            done.succeed()

    def source() -> Generator[Any, Any, None]:
        for i in range(len(times)):
            place = places[0].request()
            yield place
            env.process(unit(i, place))

    env.process(source())
    env.run(until=done)
    return units / env.now * 3600.0


def _timed(work: Callable[[], float]) -> tuple[float, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = work()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def run(units: int) -> dict[str, Any]:
    line = bench_line()
    _timed(lambda: simulate(line, 100).throughput_per_hour)  # numba: load the compiled code
    ours, ours_wall, ours_cpu = _timed(lambda: simulate(line, units, seed=SEED).throughput_per_hour)
    # The stream simulate gives its one replication, and so the same processing times.
    stream = np.random.SeedSequence(SEED).spawn(1)[0]
    capacity = sum(s.servers + s.buffer for s in line.stations[1:]) + line.stations[0].servers
    times = sample_line(line, units + capacity, np.random.default_rng(stream))
    rng = np.random.default_rng(np.random.SeedSequence(SEED).spawn(1)[0])
    events, events_wall, events_cpu = _timed(
        lambda: replicate(line, units, rng, method="events").throughput_per_hour
    )
    theirs, theirs_wall, theirs_cpu = _timed(lambda: simpy_throughput(line, times, units))
    return {
        "units": units,
        "rows": [
            ("phasegate `simulate` (recursion)", ours, ours_wall, ours_cpu),
            ("phasegate event loop", events, events_wall, events_cpu),
            ("SimPy", theirs, theirs_wall, theirs_cpu),
        ],
        "same_3sf": f"{ours:.3g}" == f"{theirs:.3g}" == f"{events:.3g}",
        "simpy": (theirs_wall, theirs_cpu),
    }


def section(result: dict[str, Any], load: float) -> str:
    begin, end = report.markers("line")
    m = report.machine()
    theirs_wall, theirs_cpu = result["simpy"]
    lines = [
        begin,
        "## Line simulation: phasegate against SimPy",
        "",
        f"Measured {m['date']} on {m['nproc']} CPUs ({m['cpu']}), Python {m['python']}, "
        f"{m['platform']}; load average {load:.1f} when the run began. One replication of "
        f"{result['units']:,} units through five single-server stations in series with lognormal "
        "times and buffers of 0 to 2 places (blocking after service). SimPy runs the usual "
        "process-per-unit model on exactly the processing times phasegate drew, so the "
        "throughputs must agree; its time leaves the drawing out. Reproduce with "
        "`python benchmarks/bench_line.py`.",
        "",
        "| model | throughput / h | wall s | CPU s | SimPy wall / this | SimPy CPU / this |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, throughput, wall, cpu in result["rows"]:
        lines.append(
            f"| {name} | {throughput:.6g} | {wall:.3f} | {cpu:.3f} | "
            f"{theirs_wall / wall:.0f}x | {theirs_cpu / cpu:.0f}x |"
        )
    same = "agree" if result["same_3sf"] else "DO NOT agree"
    lines += [
        "",
        f"The throughputs {same} to three significant figures. The target is phasegate's "
        "`simulate` at least 50 times faster than SimPy. The event loop is the engine for "
        "lines with parallel servers, breakdowns or scrap; on this line it gives the same "
        "numbers as the recursion. With a high load average the wall times are stretched by "
        "other work on the machine; the CPU times and the ratios are the steadier figures.",
        end,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--no-write", action="store_true", help="Print only.")
    args = parser.parse_args()
    import os

    load = os.getloadavg()[0]
    result = run(args.units)
    text = section(result, load)
    print(text)
    if not args.no_write:
        report.write_section("line", text)


if __name__ == "__main__":
    main()
