"""The cost of a build: per unit and per good unit, its breakdown, learning curve and projection.

The build is named by its code (whatever its case); ``product`` names its product when the code
is used in several. The ``cost`` object is the one the build report embeds (DESIGN.md,
"Build analytics").
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import READ_ERRORS
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, permission
from phasegate.services import costing

router = APIRouter(prefix="/builds/{code}", tags=["Cost"], route_class=GuardedRoute)

Code = Annotated[str, Path(min_length=1, max_length=40, description="The build's code.")]
Product = Annotated[
    str | None,
    Query(
        min_length=1, max_length=40, description="The product's key, when the code is in several."
    ),
]


class CostOut(BaseModel):
    """Cost per unit; null where the build lacks what it needs (see ``missing``)."""

    per_unit: float | None = Field(description="Per unit built.")
    per_good_unit: float | None = Field(
        description="Per good unit: material + labor + overhead + scrap + tooling."
    )
    material: float | None = Field(description="BOM standard plus the issue variance, per unit.")
    labor: float | None
    overhead: float | None = Field(description="The line's overhead rate times labor.")
    scrap: float | None = Field(
        description="Scrap and rework per good unit: rework per unit plus what the scrapped "
        "units add to each good one."
    )
    tooling: float | None = Field(description="Tooling investments over their volumes.")
    projected_per_unit_at_volume: float | None = Field(
        description="Cost per good unit at unit number `volume` along the learning curve."
    )
    volume: int | None = Field(description="The product's target annual volume.")
    target: float | None = Field(description="The product's target unit cost.")


class BreakdownOut(BaseModel):
    material_standard: float
    material_variance: float
    labor_hours: float = Field(description="Labor hours per unit built.")
    rework: float = Field(description="Rework cost per unit built.")
    yield_loss: float = Field(description="What the scrapped units add to each good unit.")
    yield_: float = Field(alias="yield", description="Good units over units built.")
    units_good: int


class PartCostOut(BaseModel):
    part: str
    description: str
    quantity_per_unit: float
    scrap_allowance: float
    unit_price: float = Field(description="At the build's volume, by the price breaks.")
    cost_per_unit: float
    standard_quantity: float = Field(description="Units built times the gross quantity.")
    issued_quantity: float | None = Field(description="Null when no issue is recorded.")
    cost_variance: float | None = Field(description="(issued − standard) × unit price.")


class StationCostOut(BaseModel):
    station: str
    operators: float
    hours_per_unit: float
    rate_per_hour: float
    cost_per_unit: float


class LearningCurveOut(BaseModel):
    n: int = Field(description="Units fitted: those through every station.")
    first_unit_hours: float
    exponent: float
    learning_rate: float = Field(description="2 ** exponent.")
    learning_rate_ci: list[float]
    r_squared: float
    confidence: float


class ProjectionOut(BaseModel):
    volume: float
    labor_hours: float
    material: float
    labor: float
    overhead: float
    tooling: float
    rework: float
    yield_: float = Field(alias="yield")
    per_good_unit: float
    ci: list[float] = Field(description="From the learning curve's confidence band.")


class WaterfallStepOut(BaseModel):
    label: str
    value: float
    measure: Literal["relative", "total"]


class BuildCostOut(BaseModel):
    """The cost of one build, as ``phasegate cost BUILD --format json`` prints it."""

    build: str
    product: str
    phase: str
    revision: str
    line: str | None
    units_built: int
    units_scrapped: int
    cost: CostOut
    breakdown: BreakdownOut | None
    parts: list[PartCostOut]
    stations: list[StationCostOut]
    learning_curve: LearningCurveOut | None
    projection: ProjectionOut | None
    waterfall: list[WaterfallStepOut]
    missing: list[str] = Field(description="What the build lacks for a cost, and why.")


@router.get(
    "/cost",
    response_model=BuildCostOut,
    response_model_by_alias=True,
    summary="Cost per unit of a build",
    description="Material (BOM at the build's volume by price breaks, plus the variance of the "
    "parts issued), labor (station cycle times × operators × rate), overhead (rate on labor), "
    "tooling amortisation, scrap and rework, per unit and per good unit; Wright's learning "
    "curve fitted to each unit's labor hours and the cost projected to the product's target "
    "annual volume; the waterfall against the target cost. Numbers the build lacks data for are "
    "null and `missing` says why.",
    operation_id="get_build_cost",
    responses=READ_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.READ, Kind.BUILD)},
)
def get_build_cost(code: Code, uow: Uow, actor: Acting, product: Product = None) -> BuildCostOut:
    result = costing.build_cost(uow, code, product=product, actor=actor)
    return BuildCostOut.model_validate(costing.as_dict(result))
