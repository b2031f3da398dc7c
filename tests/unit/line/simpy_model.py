"""A SimPy model of the serial line, written process by process: the reference for the engine.

Each station holds ``servers + buffer`` places (a ``simpy.Resource``; the first station holds
only its servers) and a ``simpy.FilterStore`` of its free servers. A unit takes a place, then
a free server, works, and keeps both until it holds a place at the next station (blocking after
service). A failure process per server takes an idle server out of the store or interrupts the
unit working on it; the unit resumes after the repair with the work it had left. With a yield
below 1 a unit is scrapped after its work at that station with probability ``1 - yield``.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from phasegate.line.model import Line, Station


@dataclass(eq=False)
class _Server:
    env: simpy.Environment
    down: bool = False
    parked: bool = False  # out of the store because it failed while idle or while blocked
    failure: Any = None
    repaired: Any = None

    def __post_init__(self) -> None:
        self.failure = self.env.event()
        self.repaired = self.env.event()


@dataclass(eq=False)
class _Place:
    station: Station
    space: simpy.Resource
    free: simpy.FilterStore
    servers: list[_Server] = field(default_factory=list)


@dataclass
class SimpyRun:
    """What the reference model measured between the warm-up's end and the target exit."""

    departures: np.ndarray
    throughput_per_hour: float
    mean_wip: float
    mean_flow_time_s: float


class _Model:
    def __init__(
        self,
        line: Line,
        times: np.ndarray,
        rng: np.random.Generator | None,
        target: int,
        warmup: int,
        record: bool,
    ) -> None:
        self.env = simpy.Environment()
        self.line, self.times, self.rng = line, times, rng
        self.target, self.warmup = target, warmup
        self.places: list[_Place] = []
        for k, station in enumerate(line.stations):
            capacity = station.servers + (station.buffer if k > 0 else 0)
            place = _Place(station, simpy.Resource(self.env, capacity), simpy.FilterStore(self.env))
            for _ in range(station.servers):
                server = _Server(self.env)
                place.servers.append(server)
                place.free.items.append(server)
                if station.mtbf_s is not None:
                    self.env.process(self._breakdowns(place, server))
            self.places.append(place)
        self.departures = np.full(times.shape, np.nan) if record else np.empty((0, 0))
        self.exits = 0
        self.wip = 0
        self.wip_area = 0.0
        self.wip_since = 0.0
        self.t0 = 0.0
        self.t1 = math.nan
        self.good = 0
        self.flow = 0.0
        self.finished = self.env.event()

    def _wip(self, delta: int) -> None:
        now = self.env.now
        self.wip_area += self.wip * (now - self.wip_since)
        self.wip_since = now
        self.wip += delta

    def _breakdowns(self, place: _Place, server: _Server) -> Generator[Any, Any, None]:
        assert self.rng is not None and place.station.mtbf_s and place.station.mttr_s
        while True:
            yield self.env.timeout(self.rng.exponential(place.station.mtbf_s))
            server.down = True
            if server in place.free.items:
                yield place.free.get(lambda s: s is server)
                server.parked = True
            server.failure.succeed()
            server.failure = self.env.event()
            yield self.env.timeout(self.rng.exponential(place.station.mttr_s))
            server.down = False
            server.repaired.succeed()
            server.repaired = self.env.event()
            if server.parked:
                server.parked = False
                yield place.free.put(server)

    def _work(self, server: _Server, seconds: float) -> Generator[Any, Any, None]:
        left = seconds
        while True:
            if server.down:
                yield server.repaired
            start = self.env.now
            done = self.env.timeout(left)
            yield done | server.failure
            if done.processed:
                return
            left -= self.env.now - start

    def _leave_server(self, place: _Place, server: _Server, request: Any) -> None:
        if server.down:
            server.parked = True
        else:
            place.free.put(server)
        place.space.release(request)

    def _exit(self, unit: int, good: bool, entry: float) -> None:
        self._wip(-1)
        self.exits += 1
        if self.exits > self.target:
            return
        if good and self.exits > self.warmup:
            self.good += 1
            self.flow += self.env.now - entry
        if self.exits == self.warmup:
            self.t0 = self.env.now
            self.wip_area = 0.0
        if self.exits == self.target:
            self.t1 = self.env.now
            self.finished.succeed()

    def _unit(self, unit: int, request: Any) -> Generator[Any, Any, None]:
        last = len(self.places) - 1
        entry = math.nan
        for k, place in enumerate(self.places):
            server = yield place.free.get()
            if k == 0:
                entry = self.env.now
                self._wip(1)
            yield from self._work(server, float(self.times[unit, k]))
            station = place.station
            if station.yield_frac < 1.0:
                assert self.rng is not None
                if self.rng.random() >= station.yield_frac:
                    self._record(unit, k)
                    self._leave_server(place, server, request)
                    self._exit(unit, False, entry)
                    return
            following = None
            if k < last:
                following = self.places[k + 1].space.request()
                yield following
            self._record(unit, k)
            self._leave_server(place, server, request)
            request = following
        self._exit(unit, True, entry)

    def _record(self, unit: int, k: int) -> None:
        if self.departures.size:
            self.departures[unit, k] = self.env.now

    def _source(self) -> Generator[Any, Any, None]:
        first = self.places[0].space
        for unit in range(len(self.times)):
            request = first.request()
            yield request
            self.env.process(self._unit(unit, request))

    def run(self) -> SimpyRun:
        self.env.process(self._source())
        self.env.run(until=self.finished)
        duration = self.t1 - self.t0
        self._wip(0)
        return SimpyRun(
            departures=self.departures,
            throughput_per_hour=self.good / duration * 3600.0,
            mean_wip=self.wip_area / duration,
            mean_flow_time_s=self.flow / self.good if self.good else math.nan,
        )


def simpy_trace(line: Line, times: np.ndarray) -> np.ndarray:
    """Departure times of each unit from each station; breakdowns and yield not applied."""
    plain = Line(
        line.name,
        tuple(Station(s.name, s.servers, s.buffer, s.time) for s in line.stations),
    )
    model = _Model(plain, np.asarray(times, dtype=float), None, len(times), 0, True)
    return model.run().departures


def simpy_replicate(
    line: Line, times: np.ndarray, rng: np.random.Generator, *, units: int, warmup: int
) -> SimpyRun:
    """One replication: stop at the ``warmup + units``-th exit, measure after the warm-up."""
    model = _Model(line, times, rng, warmup + units, warmup, False)
    return model.run()
