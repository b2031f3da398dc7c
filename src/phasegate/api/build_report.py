"""``GET /api/v1/builds/{code}/report``: the build report (DESIGN.md, "Build analytics")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from phasegate.api.characteristics import CharacteristicRowOut
from phasegate.api.costing import CostOut
from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import READ_ERRORS
from phasegate.api.line_performance import Code, LineFigures, ProductKey, YieldOut
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, permission
from phasegate.services.read.build_report import build_report

router = APIRouter(prefix="/builds", tags=["Builds"], route_class=GuardedRoute)


class QualityOut(BaseModel):
    """The build's yields, rates and characteristics."""

    fpy: YieldOut = Field(
        description="Units that passed every station at the first attempt, over the units "
        "with a station pass, with its 95 % Wilson interval."
    )
    rty: YieldOut = Field(
        description="The product of the stations' first-pass yields, with a Bonferroni-Wilson "
        "interval."
    )
    dpmo: float | None = Field(description="Defects per million opportunities.")
    scrap_rate: float | None = Field(description="Scrapped units over units.")
    rework_rate: float | None = Field(description="Reworked units over units.")
    characteristics: list[CharacteristicRowOut]


class DefectGroupOut(BaseModel):
    count: int
    cost: float


class DefectsOfCodeOut(DefectGroupOut):
    code: str


class DefectsAtStationOut(DefectGroupOut):
    station: str | None = Field(description="Null for defects found at no station.")


class DefectsOut(BaseModel):
    by_code: list[DefectsOfCodeOut]
    by_station: list[DefectsAtStationOut]


class BuildReportOut(BaseModel):
    """The whole analysis of one build; the build page shows the same numbers."""

    build: str
    phase: str
    units: int
    line: LineFigures
    quality: QualityOut
    defects: DefectsOut
    cost: CostOut


@router.get(
    "/{code}/report",
    response_model=BuildReportOut,
    summary="Get a build's report",
    description="Line (takt, bottleneck, balance, throughput, stations), quality (FPY, RTY, "
    "DPMO, scrap and rework rates, each characteristic with Cpk and its interval), defects by "
    "code and by station, and cost per unit against the target, each computed by the same "
    "service as the build's own endpoints and pages. A value computed from too few data is "
    '"insufficient data (n = N)".',
    operation_id="get_build_report",
    responses=READ_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.READ, Kind.TEST_DATA)},
)
def get_build_report(code: Code, uow: Uow, actor: Acting, product: ProductKey = None) -> Any:
    return build_report(uow, code, actor=actor, product=product).document
