"""The what-if page of a build: its line as measured, changed by hand, both simulated.

``GET /builds/{id}/what-if`` shows the build's line model (``services.line_model``: each
station's unit times, servers, the default buffer, its scrap) as a form: per station servers,
buffer, mean time and CV; the annual demand; the units and replications of the run. The post
simulates the line as it is and the line as changed with the same seed and shows them side by
side: throughput against the rate the takt time needs, mean WIP and flow time with their 95 %
intervals, and per station the shares of time working, blocked and starved. The form posts by
HTMX with a "Simulating …" indicator; without script it posts as a plain form. Nothing is
stored, so the post needs only the permission to read the build.

A station whose mean and CV are left as shown keeps its measured times; a new mean with the same
CV scales its times (their shape kept); a new CV makes its time a lognormal with that mean and
CV (a CV of 0: a fixed time). Every value is checked by the line model's own rules
(:func:`phasegate.line.model.parse_line`) and shown beside its field; the run is bounded
(:data:`MAX_UNITS`, :data:`MAX_REPLICATIONS`, :data:`MAX_RUN`, :data:`MAX_SERVERS`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from phasegate.domain.errors import FieldError, InvalidInput
from phasegate.line import TaktResult, takt_time
from phasegate.line.model import DISTRIBUTIONS, Line, Station, TimeSpec, parse_line
from phasegate.line.simulation import SimulationResult, simulate
from phasegate.services.line_model import PilotLine, line_from_build
from phasegate.web.auth import actor
from phasegate.web.charts import AMBER, BLUE, GRID, RED, Figure, _layout
from phasegate.web.rendering import is_htmx, render
from phasegate.web.routes import PAGE_DEPENDENCIES, READ_BUILDS, BuildId, page_uow

router = APIRouter(include_in_schema=False, dependencies=PAGE_DEPENDENCIES)

MAX_UNITS = 20_000
"""Units per replication the page simulates at most (longer runs: ``phasegate line simulate``)."""
MAX_REPLICATIONS = 20
MAX_RUN = 100_000
"""Units in all (units x replications) per line: both lines run in about a second or two."""
MAX_SERVERS = 10  # per station: the event loop's work per event grows with the servers
MAX_BUFFER = 1_000
DEFAULT_UNITS = 2_000
DEFAULT_REPLICATIONS = 5
SEED = 1  # both lines are run with it: the difference is the change, not the draw
CONFIDENCE = 0.95
MEAN_FORMAT = "{:.6g}"
CV_FORMAT = "{:.4g}"
WHOLE = re.compile(r"-?[0-9]{1,12}")
LONG = re.compile(r"[0-9]{13,}")  # digits beyond any bound here, never read as a number
ANY = -(10**13)  # no lower bound here: the line model's rule names it


@dataclass(frozen=True, slots=True)
class Side:
    """One simulated line with the takt it is held against."""

    label: str
    result: SimulationResult
    takt: TaktResult | None
    demand: int | None

    @property
    def required_per_hour(self) -> float | None:
        return None if self.takt is None else self.takt.units_per_hour()

    @property
    def meets_takt(self) -> bool | None:
        need = self.required_per_hour
        return None if need is None else self.result.throughput_per_hour >= need


def current_values(pilot: PilotLine) -> dict[str, str]:
    """The form's fields as the build's line has them."""
    values = {
        "demand": "" if pilot.annual_demand is None else str(pilot.annual_demand),
        "units": str(DEFAULT_UNITS),
        "replications": str(DEFAULT_REPLICATIONS),
    }
    for i, (station, source) in enumerate(zip(pilot.line.stations, pilot.sources, strict=True)):
        values[f"servers_{i}"] = str(station.servers)
        values[f"buffer_{i}"] = str(station.buffer)
        values[f"mean_{i}"] = MEAN_FORMAT.format(source.mean_s)
        values[f"cv_{i}"] = CV_FORMAT.format(source.cv)
    return values


def field_names(pilot: PilotLine) -> list[str]:
    names = ["demand", "units", "replications"]
    for i in range(len(pilot.line.stations)):
        names += [f"servers_{i}", f"buffer_{i}", f"mean_{i}", f"cv_{i}"]
    return names


def _read(form: FormData, names: Sequence[str]) -> dict[str, str]:
    values = {}
    for name in names:
        raw = form.get(name)
        values[name] = raw.strip() if isinstance(raw, str) else ""
    return values


def _whole(text: str, name: str, errors: dict[str, str], low: int, high: int) -> int | None:
    """``text`` as a whole number; a problem is noted under ``name``."""
    if WHOLE.fullmatch(text) is None and LONG.fullmatch(text) is not None:
        errors[name] = f"at most {high:,} on this page, got a {len(text)}-digit number"
        return None
    if WHOLE.fullmatch(text) is None:
        errors[name] = f"must be a whole number, got {_shown(text)}" if text else "required"
        return None
    number = int(text)
    if number > high:
        errors[name] = f"at most {high:,} on this page, got {number:,}"
        return None
    if number < low:
        errors[name] = f"must be a whole number >= {low}, got {number}"
        return None
    return number


def _shown(text: str) -> str:
    """What was typed, quoted, cut short when long."""
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _number(text: str, name: str, errors: dict[str, str]) -> float | None:
    try:
        value = float(text)
    except ValueError:
        errors[name] = f"must be a number, got {_shown(text)}" if text else "required"
        return None
    if not math.isfinite(value):
        errors[name] = f"must be a finite number, got {_shown(text)}"
        return None
    return value


@dataclass(frozen=True, slots=True)
class Run:
    """What the form asks for: the changed line, its demand, the run's size."""

    line: Line
    demand: int | None
    units: int
    replications: int


# Where the line model's key paths go on the form.
_FIELD_OF = {"servers": "servers", "buffer": "buffer", "time": "mean"}
_TIME_FIELD = {"cv": "cv", "sd": "cv"}


def _field(loc: str) -> str:
    """The form field of a line model key path such as ``stations[2].time.cv``."""
    if not loc.startswith("stations["):
        return "form"
    index, _, rest = loc[len("stations[") :].partition("]")
    parts = rest.lstrip(".").split(".")
    if parts[0] == "time" and len(parts) > 1:
        return f"{_TIME_FIELD.get(parts[1].split('[')[0], 'mean')}_{index}"
    return f"{_FIELD_OF.get(parts[0], 'form')}_{index}"


def read_run(pilot: PilotLine, values: Mapping[str, str]) -> Run:
    """The run the form asks for; ``InvalidInput`` with one ``FieldError`` per bad field, each
    ``loc`` a field of the form."""
    errors: dict[str, str] = {}
    demand = None
    if values["demand"]:
        demand = _whole(values["demand"], "demand", errors, 1, 10**9)
    units = _whole(values["units"], "units", errors, 1, MAX_UNITS)
    replications = _whole(values["replications"], "replications", errors, 2, MAX_REPLICATIONS)
    if units is not None and replications is not None and units * replications > MAX_RUN:
        errors["units"] = (
            f"{units:,} units x {replications} replications is more than this page runs "
            f"({MAX_RUN:,} units in all): fewer units or replications, or use phasegate line "
            "simulate"
        )
    stations = []
    for i, (station, source) in enumerate(zip(pilot.line.stations, pilot.sources, strict=True)):
        # A field that is not a number stands in as a valid value, so that the line model's
        # rules still check every other field.
        servers = _whole(values[f"servers_{i}"], f"servers_{i}", errors, ANY, MAX_SERVERS)
        buffer = _whole(values[f"buffer_{i}"], f"buffer_{i}", errors, ANY, MAX_BUFFER)
        mean = _number(values[f"mean_{i}"], f"mean_{i}", errors)
        cv = _number(values[f"cv_{i}"], f"cv_{i}", errors)
        entry: dict[str, Any] = {
            "name": station.name,
            "servers": station.servers if servers is None else servers,
            "buffer": station.buffer if buffer is None else buffer,
            "time": _time(
                station,
                source.mean_s,
                source.cv,
                source.mean_s if mean is None else mean,
                source.cv if cv is None else cv,
            ),
        }
        if station.yield_frac != 1.0:
            entry["yield"] = station.yield_frac
        stations.append(entry)
    line = None
    try:
        line = parse_line({"name": f"{pilot.line.name}, changed", "stations": stations})
    except InvalidInput as error:
        for problem in error.fields:
            errors.setdefault(_field(problem.loc), problem.message)
    if errors or line is None:
        fields = [FieldError(loc, message) for loc, message in errors.items()]
        first = fields[0]
        raise InvalidInput(f"{first.loc}: {first.message}", fields)
    assert units is not None and replications is not None
    return Run(line, demand, units, replications)


def _same(typed: float, shown: float, fmt: str) -> bool:
    return typed == float(fmt.format(shown))


def _time(station: Station, mean_s: float, cv: float, mean: float, new_cv: float) -> Any:
    """The changed station's ``time`` table: as measured, scaled, or a lognormal."""
    spec = station.time
    same_cv = _same(new_cv, cv, CV_FORMAT)
    if same_cv and _same(mean, mean_s, MEAN_FORMAT):
        return _table(spec)
    if same_cv and spec.dist == "empirical" and mean > 0 and mean_s > 0:
        factor = mean / mean_s
        return {"dist": "empirical", "samples": [x * factor for x in spec.params]}
    if new_cv == 0:
        return {"dist": "fixed", "value": mean}
    return {"dist": "lognormal", "mean": mean, "cv": new_cv}


def _table(spec: TimeSpec) -> dict[str, Any]:
    if spec.dist == "empirical":
        return {"dist": "empirical", "samples": list(spec.params)}
    return {"dist": spec.dist, **dict(zip(DISTRIBUTIONS[spec.dist], spec.params, strict=True))}


def shares_chart(current: SimulationResult, changed: SimulationResult) -> Figure:
    """Per station the shares of server time working, blocked and starved (and down), the
    current line's bar beside the changed one's."""
    names = [s.name for s in current.stations]
    x = [[n for n in names for _ in (0, 1)], ["Current", "Changed"] * len(names)]
    traces = []
    for key, label, colour in (
        ("utilization", "Working", BLUE),
        ("blocked", "Blocked", RED),
        ("starved", "Starved", AMBER),
        ("down", "Down", "#64748b"),
    ):
        y = [
            getattr(s, key)
            for pair in zip(current.stations, changed.stations, strict=True)
            for s in pair
        ]
        if key == "down" and not any(y):
            continue
        traces.append(
            {
                "type": "bar",
                "name": label,
                "x": x,
                "y": y,
                "marker": {"color": colour},
                "hovertemplate": f"%{{x}}: {label.lower()} %{{y:.1%}}<extra></extra>",
            }
        )
    return {
        "data": traces,
        "layout": _layout(
            barmode="stack",
            hovermode="closest",
            height=340,
            yaxis={
                "title": {"text": "Share of server time"},
                "tickformat": ".0%",
                "range": [0, 1],
                "gridcolor": GRID,
                "zeroline": False,
            },
            xaxis={"type": "multicategory", "linecolor": GRID, "automargin": True},
            margin={"l": 56, "r": 16, "t": 40, "b": 56},
        ),
    }


def _page(
    request: Request,
    pilot: PilotLine,
    values: Mapping[str, str],
    *,
    errors: Mapping[str, str] | None = None,
    sides: tuple[Side, Side] | None = None,
    run: Run | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "nav": "portfolio",
        "pilot": pilot,
        "values": values,
        "errors": errors or {},
        "sides": sides,
        "run": run,
        "chart": None if sides is None else shares_chart(sides[0].result, sides[1].result),
        "max_units": MAX_UNITS,
        "max_replications": MAX_REPLICATIONS,
        "max_run": MAX_RUN,
        "max_servers": MAX_SERVERS,
        "seed": SEED,
        "warmup": None if run is None else warmup_of(run.units),
    }
    template = "partials/what_if_panel.html" if is_htmx(request) else "what_if.html"
    return render(request, template, context, status_code=status_code)


def warmup_of(units: int) -> int:
    """Exits before measuring starts: a tenth of the measured units."""
    return units // 10


@router.get("/builds/{build_id}/what-if", name="build_what_if", openapi_extra=READ_BUILDS)
def what_if_page(request: Request, build_id: BuildId) -> Response:
    pilot = line_from_build(page_uow(request), build_id, actor=actor(request))
    return _page(request, pilot, current_values(pilot))


@router.post("/builds/{build_id}/what-if", name="build_what_if_run", openapi_extra=READ_BUILDS)
async def what_if_run(request: Request, build_id: BuildId) -> Response:
    form = await request.form()
    # The database and the simulation run off the event loop.
    return await run_in_threadpool(_answer, request, build_id, form)


def _answer(request: Request, build_id: int, form: FormData) -> Response:
    pilot = line_from_build(page_uow(request), build_id, actor=actor(request))
    values = _read(form, field_names(pilot))
    try:
        run = read_run(pilot, values)
    except InvalidInput as error:
        errors: dict[str, str] = {}
        for problem in error.fields:
            errors.setdefault(problem.loc, problem.message)
        return _page(request, pilot, values, errors=errors, status_code=400)
    return _page(request, pilot, values, sides=_simulate(pilot, run), run=run)


def _simulate(pilot: PilotLine, run: Run) -> tuple[Side, Side]:
    warmup = warmup_of(run.units)
    results = [
        simulate(
            line,
            run.units,
            replications=run.replications,
            seed=SEED,
            warmup=warmup,
            confidence=CONFIDENCE,
        )
        for line in (pilot.line, run.line)
    ]
    changed_takt = None if run.demand is None else takt_time(pilot.calendar, run.demand)
    return (
        Side("Current line", results[0], pilot.takt, pilot.annual_demand),
        Side("Changed line", results[1], changed_takt, run.demand),
    )
