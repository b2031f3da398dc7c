"""Stored measurements summed up: one row per measurement name, as ``phasegate measurements
summary`` prints it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import READ_ERRORS
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, permission
from phasegate.services.read.measurements import MeasurementFilters, measurement_summary

router = APIRouter(prefix="/measurements", tags=["Test data"], route_class=GuardedRoute)

Name = Annotated[str | None, Query(min_length=1, max_length=200)]


class MeasurementSummaryOut(BaseModel):
    """One measurement name (its characteristic) summed up."""

    name: str
    unit: str
    count: int = Field(description="Numeric values.")
    mean: float | None
    std: float | None = Field(description="Sample standard deviation (n - 1); null below 2.")
    min: float | None
    max: float | None
    passed: int = Field(description="Measurements whose outcome is pass (text values too).")
    failed: int = Field(description="Measurements whose outcome is fail (text values too).")
    product: str = Field(description="Key of the characteristic's product.")


@router.get(
    "/summary",
    response_model=list[MeasurementSummaryOut],
    summary="Summarise stored measurements",
    description="One row per measurement name (the characteristic it is mapped onto): count, "
    "mean, sample standard deviation, extremes of the numeric values, and the passed and failed "
    "outcomes. Filtered by product key, build code, station and characteristic name; read from "
    "the maintained per-build aggregates, or with `station` from the measurements themselves. "
    "A partner's token sees only its builds' measurements.",
    operation_id="summarise_measurements",
    responses=READ_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.READ, Kind.TEST_DATA)},
)
def summarise_measurements(
    uow: Uow,
    actor: Acting,
    product: Name = None,
    build: Name = None,
    station: Name = None,
    characteristic: Name = None,
) -> list[MeasurementSummaryOut]:
    filters = MeasurementFilters(product, build, station, characteristic)
    summary = measurement_summary(uow, filters, actor=actor)
    return [MeasurementSummaryOut.model_validate(row, from_attributes=True) for row in summary.rows]
