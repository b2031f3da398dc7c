"""A build's line as a line model: the station times of its passes, ready for the simulation.

``phasegate line from-pilot`` writes it as a line file, and the what-if page starts from it.
What each station gets, and from where:

- **time**: the time each unit took at the station: the sum of the unit's finished passes there
  (one pass for most units; a unit failed and passed again at the station counts both, since
  the line file has no rework loop and the station did the work twice). A unit with a pass
  still running there is left out. With ``fit="empirical"`` these times are the samples; with
  ``fit="lognormal"`` a lognormal with their mean and coefficient of variation (sample standard
  deviation over the mean; 0 from one time), which the file names in a comment. A station of the
  line without any finished pass takes its planned cycle time as a fixed time; without one
  there is nothing to take and the station is refused by name.
- **servers**: the station's parallel machines.
- **buffer**: no buffer is recorded for a station, so every station gets ``buffer`` places
  (default :data:`DEFAULT_BUFFER`); the file says so.
- **yield**: the share of the units that reached the station and were not scrapped there. A
  unit counts as scrapped at a station when its status is scrapped and its last pass was there;
  failed units that were reworked are not scrap (their extra passes are in the times above).
- no breakdowns: the passes do not record the stoppages of the machines.

The stations are those of the build's line in flow order, then any other station the units
passed, as on the build page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from phasegate.domain.enums import Phase, UnitStatus
from phasegate.domain.errors import invalid
from phasegate.domain.policy import Principal
from phasegate.line import TaktResult, WorkingCalendar
from phasegate.line.model import Line, parse_line
from phasegate.line.toml_out import dump
from phasegate.services.read.line_performance import build_line_performance, find_build_id
from phasegate.store.models import StationPass, Unit
from phasegate.store.uow import UnitOfWork

FITS = ("empirical", "lognormal")
"""How a station's times become its time distribution: the times themselves, or a lognormal
fitted by its moments."""
DEFAULT_BUFFER = 2
"""Places in front of each station when none is given: none is recorded in the database."""


@dataclass(frozen=True, slots=True)
class StationSource:
    """Where one station of the model got its numbers.

    ``units``: units with a time at the station; ``passes``: their finished passes;
    ``scrapped``: units scrapped there; ``time``: how the time was made ("empirical",
    "lognormal", or "planned" for the planned cycle time of a station without passes);
    ``mean_s`` and ``cv``: the mean and coefficient of variation of the unit times (the planned
    time and 0 for a planned one).
    """

    name: str
    units: int
    passes: int
    scrapped: int
    time: str
    mean_s: float
    cv: float

    def note(self) -> str:
        """One line for the line file saying where the station's numbers came from."""
        if self.time == "planned":
            return f"{self.name}: no finished passes; the planned cycle time, fixed"
        scrap = f"; {self.scrapped} scrapped here" if self.scrapped else ""
        if self.time == "lognormal":
            how = f"lognormal fitted by moments (mean {self.mean_s:.6g} s, cv {self.cv:.4g})"
        else:
            how = "the times themselves (empirical)"
        return f"{self.name}: {self.units} units, {self.passes} passes{scrap}; time: {how}"


@dataclass(frozen=True, slots=True)
class PilotLine:
    """A build's line as a line model, with where its numbers came from and the build's takt.

    ``takt`` is ``None`` when the product has no target annual volume.
    """

    build_id: int
    build_code: str
    product_key: str
    phase: Phase
    line_name: str | None
    fit: str
    buffer: int
    calendar: WorkingCalendar
    annual_demand: int | None
    takt: TaktResult | None
    line: Line
    sources: tuple[StationSource, ...]

    def header(self) -> list[str]:
        """The comment lines at the top of its line file."""
        demand = (
            f"takt {self.takt.takt_s:.6g} s ({self.annual_demand} units a year)"
            if self.takt is not None
            else "no takt (the product has no target annual volume)"
        )
        return [
            f"Line model of build {self.build_code} ({self.product_key}, {self.phase.value}) "
            f"from its station passes: phasegate line from-pilot --fit {self.fit}",
            f"Line: {self.line_name or 'none'}; {demand}",
            "time: per unit, the sum of its finished passes at the station (rework included)",
            f"buffer: not recorded; {self.buffer} places in front of every station",
            "yield: units not scrapped at the station; no breakdowns (none recorded)",
        ]


def line_from_build(
    uow: UnitOfWork,
    build: str | int,
    *,
    actor: Principal,
    product: str | None = None,
    fit: str = "empirical",
    buffer: int = DEFAULT_BUFFER,
) -> PilotLine:
    """The line model of ``build`` (its code, any case, or its id) from its station passes.

    Raises
    ------
    NotFound
        No such build (or not visible to ``actor``).
    InvalidInput
        ``fit`` unknown or ``buffer`` below 0; the build has no finished station passes; a
        station has neither a finished pass nor a planned cycle time; every unit reaching a
        station was scrapped there.
    """
    if fit not in FITS:
        raise invalid("fit", f"unknown fit {fit!r} (expected one of {', '.join(FITS)})")
    if isinstance(buffer, bool) or not isinstance(buffer, int) or buffer < 0:
        raise invalid("buffer", f"must be a whole number >= 0, got {buffer!r}")
    if isinstance(build, int):
        build_id = build
    else:
        build_id = find_build_id(uow, build, actor=actor, product=product)
    perf = build_line_performance(uow, build_id, actor=actor)
    times, scrapped = _unit_times(uow, build_id)
    if not any(times.values()):
        raise invalid(
            "build",
            f"build {perf.build_code} has no finished station passes: there are no times "
            "to take the line model from",
        )
    stations: list[dict[str, Any]] = []
    sources: list[StationSource] = []
    for station in perf.stations:
        per_unit = times.get(station.station_id, {})
        source, spec = _station(station.name, station.planned_cycle_time_s, per_unit, fit)
        source = _with_scrap(source, scrapped.get(station.station_id, 0))
        sources.append(source)
        entry: dict[str, Any] = {
            "name": station.name,
            "servers": station.servers,
            "buffer": buffer,
            "time": spec,
        }
        if source.scrapped:
            entry["yield"] = 1.0 - source.scrapped / source.units
        stations.append(entry)
    name = f"{perf.line or 'Line'} (build {perf.build_code})"
    return PilotLine(
        build_id=perf.build_id,
        build_code=perf.build_code,
        product_key=perf.product_key,
        phase=perf.phase,
        line_name=perf.line,
        fit=fit,
        buffer=buffer,
        calendar=perf.calendar,
        annual_demand=perf.annual_demand,
        takt=perf.takt,
        line=parse_line({"name": name, "stations": stations}),
        sources=tuple(sources),
    )


def to_toml(pilot: PilotLine) -> str:
    """The line file of ``pilot``, with comments naming the build, the fit and the defaults."""
    notes = {s.name: [s.note()] for s in pilot.sources}
    return dump(pilot.line, header=pilot.header(), station_notes=notes)


@dataclass
class _UnitTime:
    seconds: float = 0.0
    passes: int = 0
    running: bool = False


def _unit_times(
    uow: UnitOfWork, build_id: int
) -> tuple[dict[int, dict[int, _UnitTime]], dict[int, int]]:
    """Per station, each unit's time there (in the order the units first came), and per
    station the units scrapped there (scrapped units whose last pass was there)."""
    stmt = (
        select(
            StationPass.station_id,
            StationPass.unit_id,
            StationPass.started_at,
            StationPass.ended_at,
            Unit.status,
        )
        .join(Unit, Unit.id == StationPass.unit_id)
        .where(Unit.build_id == build_id)
        .order_by(StationPass.started_at, StationPass.id)
    )
    times: dict[int, dict[int, _UnitTime]] = {}
    last: dict[int, int] = {}
    scrapped_units: set[int] = set()
    with uow:
        for station, unit, started, ended, status in uow.session.execute(stmt):
            entry = times.setdefault(station, {}).setdefault(unit, _UnitTime())
            if ended is None:
                entry.running = True
            else:
                entry.seconds += (ended - started).total_seconds()
                entry.passes += 1
            last[unit] = station
            if status == UnitStatus.SCRAPPED:
                scrapped_units.add(unit)
    finished = {
        station: {u: t for u, t in units.items() if not t.running and t.passes}
        for station, units in times.items()
    }
    scrapped: dict[int, int] = {}
    for unit in scrapped_units:
        if unit in finished[last[unit]]:  # scrap counts where the unit's time is known
            scrapped[last[unit]] = scrapped.get(last[unit], 0) + 1
    return finished, scrapped


def _station(
    name: str, planned_s: float | None, per_unit: Mapping[int, _UnitTime], fit: str
) -> tuple[StationSource, dict[str, Any]]:
    """The station's source and its ``time`` table of the line file."""
    if not per_unit:
        if planned_s is None or planned_s <= 0:
            raise invalid(
                f"stations.{name}",
                "no finished passes and no planned cycle time: there is no time to give it",
            )
        return StationSource(name, 0, 0, 0, "planned", planned_s, 0.0), {
            "dist": "fixed",
            "value": planned_s,
        }
    samples = [t.seconds for t in per_unit.values()]
    n = len(samples)
    mean = math.fsum(samples) / n
    cv = 0.0
    if n > 1 and mean > 0:
        cv = math.sqrt(math.fsum((x - mean) ** 2 for x in samples) / (n - 1)) / mean
    source = StationSource(name, n, sum(t.passes for t in per_unit.values()), 0, fit, mean, cv)
    if fit == "lognormal":
        return source, {"dist": "lognormal", "mean": mean, "cv": cv}
    return source, {"dist": "empirical", "samples": samples}


def _with_scrap(source: StationSource, scrapped: int) -> StationSource:
    if not scrapped:
        return source
    if scrapped >= source.units:
        raise invalid(
            f"stations.{source.name}",
            f"all {source.units} units that reached it were scrapped there: a line model "
            "needs a yield above 0",
        )
    return StationSource(
        source.name,
        source.units,
        source.passes,
        scrapped,
        source.time,
        source.mean_s,
        source.cv,
    )
