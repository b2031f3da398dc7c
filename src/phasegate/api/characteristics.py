"""A build's characteristics: the table (n, mean, sd, Cpk with its interval, signals, status)
and one characteristic's chart, signals, capability, histogram, normality and phase I limits,
as ``phasegate characteristics`` prints them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import READ_ERRORS
from phasegate.api.types import StorableText
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, permission
from phasegate.services.read.characteristic import (
    MAX_SUBGROUP_SIZE,
    build_characteristics,
    characteristic_detail,
)

router = APIRouter(prefix="/builds", tags=["Test data"], route_class=GuardedRoute)

Code = Annotated[str, Path(min_length=1, max_length=40), StorableText(not_blank=True)]
Name = Annotated[str, Path(min_length=1, max_length=200), StorableText(not_blank=True)]
ProductKey = Annotated[
    Annotated[str, StorableText(not_blank=True)] | None,
    Query(
        min_length=1,
        max_length=40,
        description="Product key, when the build code is in several products.",
    ),
]
SubgroupSize = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_SUBGROUP_SIZE,
        description="Consecutive values per subgroup of the X̄-R chart; 1 gives the I-MR chart. "
        "Default: the characteristic's sampling in the product's control plan, else 5.",
    ),
]
READ_TEST_DATA = {PERMISSION_KEY: permission(Action.READ, Kind.TEST_DATA)}


class CharacteristicRowOut(BaseModel):
    """One characteristic on the build, as the build report's ``quality.characteristics``."""

    name: str
    ctq: bool = Field(description="Critical to quality.")
    n: int = Field(description="Numeric values measured on the build.")
    mean: float | None
    sd: float | None = Field(description="Sample standard deviation (n - 1); null below 2.")
    cpk: float | None = Field(description="Null with too few values or no specification limit.")
    cpk_ci: list[float | None] | None = Field(description="Two-sided 95 % interval [lo, hi].")
    cpk_lower: float | None = Field(description="One-sided 95 % lower confidence bound.")
    signals: int = Field(description="Chart points that break a Nelson rule.")
    status: Literal["ok", "watch", "insufficient_data"] = Field(
        description="watch: Cpk lower bound below 1.33 or a signal; insufficient_data: fewer "
        "values than capability needs."
    )


class Thresholds(BaseModel):
    min_capability_values: int
    min_chart_points: int
    cpk_lower_target: float
    confidence: float


class SamplingOut(BaseModel):
    subgroup_size: int = Field(description="Consecutive values per subgroup; 1: I-MR chart.")
    source: str = Field(description="Where the size comes from: asked, control plan or default.")


class BuildCharacteristicsOut(BaseModel):
    """The build's characteristics table."""

    build: str
    product: str
    phase: str
    subgroup_size: int | None = Field(description="As asked; null: each one's own sampling.")
    sampling: dict[str, SamplingOut] = Field(description="Per characteristic name.")
    thresholds: Thresholds
    characteristics: list[CharacteristicRowOut]


class SpecOut(BaseModel):
    name: str
    unit: str
    ctq: bool
    lsl: float | None
    usl: float | None
    target: float | None


class SignalOut(BaseModel):
    """A point that breaks a run rule, with the units and test runs behind it."""

    chart: str = Field(description="xbar, r, i or mr.")
    subgroup: int = Field(description="1-based; for a moving range the later of its two values.")
    value: float | None
    rules: list[int]
    descriptions: list[str]
    units: list[str] = Field(description="Serials of the units behind the point.")
    test_runs: list[int] = Field(description="Ids of the test runs behind the point.")


class HistogramOut(BaseModel):
    edges: list[float]
    counts: list[int]


class PhaseOneOut(BaseModel):
    """Where the limits of a production build's chart come from."""

    source: str
    builds: list[str]
    n: int
    subgroups: int
    center: float
    sigma: float


class CharacteristicDetailOut(BaseModel):
    """One characteristic on the build: chart, signals, capability, histogram, normality."""

    build: str
    product: str
    phase: str
    characteristic: SpecOut
    summary: CharacteristicRowOut
    note: str = Field(description="Why a number is missing, e.g. 'insufficient data (n = 12)'.")
    subgroup_size: int
    sampling: str = Field(description="Where the subgroup size comes from.")
    chart: dict[str, Any] | None = Field(
        description="The `phasegate spc --format json` document of the X̄-R or I-MR chart."
    )
    chart_note: str
    signals: list[SignalOut]
    capability: dict[str, Any] | None = Field(
        description="The `phasegate capability --format json` document."
    )
    capability_note: str
    histogram: HistogramOut
    normality: dict[str, Any] | None = Field(description="Anderson-Darling test of the values.")
    phase1: PhaseOneOut | None = Field(description="Pilot limits a production build is judged by.")
    phase1_note: str


@router.get(
    "/{code}/characteristics",
    response_model=BuildCharacteristicsOut,
    summary="List a build's characteristics with capability and signals",
    description="One row per characteristic measured on the build: n, mean and sd from the "
    "maintained aggregates; Cpk with its 95 % interval and lower bound, and the number of "
    "Nelson-rule signals of its X̄-R chart (subgroups of consecutive values in test order, as "
    "many as the control plan samples, else 5, or `subgroup_size`); status `watch` when the "
    "Cpk lower bound is below 1.33 or there is a signal, `insufficient_data` below 25 values. "
    "A production build's chart is judged against the limits of the product's pilot builds.",
    operation_id="list_build_characteristics",
    responses=READ_ERRORS,
    openapi_extra=READ_TEST_DATA,
)
def list_build_characteristics(
    uow: Uow,
    actor: Acting,
    code: Code,
    product: ProductKey = None,
    subgroup_size: SubgroupSize = None,
) -> Any:
    result = build_characteristics(
        uow, code, actor=actor, product=product, subgroup_size=subgroup_size
    )
    return result.as_dict()


@router.get(
    "/{code}/characteristics/{name:path}",
    response_model=CharacteristicDetailOut,
    summary="Read one characteristic of a build: chart, signals, capability",
    description="The X̄-R chart (I-MR with `subgroup_size=1`) with its Nelson signals and the "
    "units and test runs behind each, capability with intervals and lower bounds, histogram, "
    "normality verdict and, for a production build, the pilot's phase I limits. The name may "
    "contain `/`.",
    operation_id="read_build_characteristic",
    responses=READ_ERRORS,
    openapi_extra=READ_TEST_DATA,
)
def read_build_characteristic(
    uow: Uow,
    actor: Acting,
    code: Code,
    name: Name,
    product: ProductKey = None,
    subgroup_size: SubgroupSize = None,
) -> Any:
    detail = characteristic_detail(
        uow, code, name, actor=actor, product=product, subgroup_size=subgroup_size
    )
    return detail.as_dict()
