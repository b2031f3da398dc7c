"""A build's line performance: the build report's ``line`` object and its detail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import READ_ERRORS
from phasegate.api.types import StorableText
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, permission
from phasegate.services.read.line_performance import build_line_performance, find_build_id

router = APIRouter(prefix="/builds", tags=["Builds"], route_class=GuardedRoute)

INSUFFICIENT = 'A number, or "insufficient data (n = N)" when there were too few values.'
Shown = Annotated[float | str, Field(description=INSUFFICIENT)]
Code = Annotated[
    str,
    Path(min_length=1, max_length=40, description="The build's code, any case."),
    StorableText(),
]
ProductKey = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=40,
        description="The product's key, when several products have a build with this code.",
    ),
    StorableText(),
]


class YieldOut(BaseModel):
    value: Shown
    ci: list[float] | None = Field(description="95 % Wilson interval [low, high].")


class StationLineOut(BaseModel):
    """One station in the build report's line object."""

    name: str
    n: int = Field(description="Cycle times (passes with an end).")
    cycle_mean_s: Shown
    cycle_p90_s: Shown
    cycle_cv: Shown
    fpy: YieldOut


class LineFigures(BaseModel):
    """The build report's ``line`` object."""

    takt_s: float | None = Field(
        description="Available time of the line's calendar over the product's target annual "
        "volume, seconds per unit; null without an annual volume."
    )
    bottleneck: str | None = Field(description="The station with the largest effective cycle.")
    balance_efficiency: Shown
    throughput_per_hour: Shown = Field(description="The bottleneck's capacity, units per hour.")
    stations: list[StationLineOut]


class CalendarOut(BaseModel):
    shifts_per_day: int
    hours_per_shift: float
    days_per_year: int
    available_s_per_year: float


class FlowOut(BaseModel):
    units: int
    finished: int = Field(description="Units that left the line (through it, or scrapped).")
    through: int = Field(description="Units that passed the last station.")
    window_s: float = Field(description="From the first pass's start to the last event.")
    mean_wip: float = Field(description="Time-average units in the line.")
    max_wip: int
    mean_flow_s: Shown
    median_flow_s: Shown
    throughput_per_hour: Shown = Field(description="Units through per hour of the window.")
    littles_wip: Shown = Field(description="Throughput x mean flow time (Little's law).")


class TrendOut(BaseModel):
    slope_s_per_unit: float
    intercept_s: float
    ci: list[float]
    n: int
    significant: bool = Field(description="The interval of the slope excludes zero.")


class StationYieldOut(BaseModel):
    value: float
    ci: list[float]
    lower_bound: float
    passed_first: int
    first_attempts: int


class WaitingOut(BaseModel):
    n: int
    mean_s: Shown
    median_s: Shown


class ReworkOut(BaseModel):
    visited_units: int
    reworked_units: int = Field(description="Units that passed the station more than once.")
    extra_passes: int
    share: Shown
    loops_back: int = Field(description="Passes that came from a later station.")


class StationDetailOut(BaseModel):
    name: str
    sequence: int
    servers: int
    planned_cycle_time_s: float | None
    passes: int
    n: int
    mean_s: Shown
    median_s: Shown
    p90_s: Shown
    sd_s: Shown
    cv: Shown
    min_s: float | None
    max_s: float | None
    effective_cycle_s: Shown
    bottleneck: bool
    trend: TrendOut | None
    fpy: StationYieldOut | None
    waiting: WaitingOut
    rework: ReworkOut


class RtyOut(BaseModel):
    value: float
    ci: list[float]


class LineDetailOut(BaseModel):
    line: str | None
    calendar: CalendarOut
    annual_demand: int | None
    meets_takt: bool | None
    bottleneck_effective_cycle_s: float | None
    balance_delay: float | None
    passes: int
    confidence: float
    rty: RtyOut | None
    flow: FlowOut | None
    stations: list[StationDetailOut]


class LinePerformanceOut(BaseModel):
    """A build's line performance."""

    build: str
    product: str
    phase: str
    line: LineFigures
    detail: LineDetailOut


@router.get(
    "/{code}/line",
    response_model=LinePerformanceOut,
    summary="Get a build's line performance",
    description="Per station: cycle times (n, mean, median, p90, CV, trend over the unit index), "
    "first-pass yield with its Wilson interval, waiting and rework loops; for the line: takt "
    "time from the line's working calendar and the product's annual volume, bottleneck, "
    "balance efficiency, throughput, work in process and flow time. `line` is the build "
    "report's line object. A value computed from too few data is "
    '"insufficient data (n = N)".',
    operation_id="get_build_line_performance",
    responses=READ_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.READ, Kind.BUILD)},
)
def get_build_line_performance(
    code: Code, uow: Uow, actor: Acting, product: ProductKey = None
) -> Any:
    build_id = find_build_id(uow, code, actor=actor, product=product)
    return build_line_performance(uow, build_id, actor=actor).document()
