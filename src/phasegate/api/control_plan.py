"""Control plans over HTTP: plans, items and gauges as records, a plan's sheet, gage studies and
the coverage of a product's CTQs.

Plans, items and gauges have the four routes of every record type (``resources.Collection``);
an item can also be deleted (with ``If-Match``). A gage study is posted as its raw readings and
computed by the service; the coverage answers, per CTQ, the covering item, gauge and the latest
study with its AIAG verdict.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from phasegate.api.conditional import IfMatch, expected_version, stale_if_match
from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import CREATE_UNDER_ERRORS, READ_ERRORS, UPDATE_ERRORS
from phasegate.api.resources import Collection, IdPath, RefPath, collection_router
from phasegate.api.schemas import Input
from phasegate.api.types import RecordId, text
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, permission
from phasegate.services import control_plan as cp
from phasegate.services import crud
from phasegate.services.crud import TEXT_MAX_LENGTH

PLANS = Collection(cp.CONTROL_PLANS, "/control-plans", product_owned=True)
ITEMS = Collection(cp.CONTROL_PLAN_ITEMS, "/control-plan-items")
GAUGES = Collection(cp.GAUGES, "/gauges")

router = APIRouter(tags=["Control plans"], route_class=GuardedRoute)
READ = {PERMISSION_KEY: permission(Action.READ, Kind.CONTROL_PLAN)}
PlanQuery = Annotated[
    int | None, Query(ge=1, le=2**31 - 1, description="This plan; default: the current one.")
]


# --- bodies ------------------------------------------------------------------------------------


Label = text(cp.LABEL_LENGTH, not_blank=True) | int


class ReadingIn(Input):
    """One reading: the part and the operator by a name or a number, the value read."""

    part: Label  # type: ignore[valid-type]
    operator: Label  # type: ignore[valid-type]
    value: float = Field(allow_inf_nan=False)


class GageStudyCreate(Input):
    """A crossed gage R&R study: every part measured the same number of times (2 or more) by
    every operator. The results are computed from the readings."""

    characteristic_id: RecordId = Field(description="The characteristic the gauge measured.")
    readings: list[ReadingIn] = Field(max_length=cp.MAX_READINGS)
    studied_on: dt.date | None = Field(None, description="The day of the readings; default today.")
    tolerance: float | None = Field(
        None, gt=0, allow_inf_nan=False, description="USL - LSL; default the characteristic's."
    )
    study_multiplier: float = Field(6.0, gt=0, le=10, description="6 (AIAG 4th ed.) or 5.15.")
    notes: text(TEXT_MAX_LENGTH) = ""  # type: ignore[valid-type]


class ReadingOut(BaseModel):
    part: str
    operator: str
    value: float


class GageStudyOut(BaseModel):
    id: int
    gauge_id: int
    characteristic_id: int
    studied_on: dt.date
    recorded_by: str
    pct_grr_study_var: float | None = Field(description="%GRR of the study's total variation.")
    pct_grr_tolerance: float | None = Field(description="%GRR of the tolerance; null without.")
    ndc: int | None = Field(description="Number of distinct categories.")
    repeatability: float = Field(description="Standard deviation (equipment variation).")
    reproducibility: float = Field(description="Standard deviation (appraiser variation).")
    gage_rr: float
    part_to_part: float
    n_parts: int
    n_operators: int
    n_trials: int
    tolerance: float | None
    study_multiplier: float
    notes: str
    verdict: cp.GageVerdict = Field(
        description="acceptable (%GRR < 10 %), conditional (10-30 %), unacceptable (> 30 % or "
        "ndc < 5); the worse of %GRR of study variation and of tolerance decides."
    )
    readings: list[ReadingOut]
    created_at: dt.datetime

    @classmethod
    def of(cls, study: Any) -> GageStudyOut:
        values = {name: getattr(study, name) for name in cls.model_fields if name != "verdict"}
        return cls.model_validate(values | {"verdict": cp.study_verdict(study)})


class PlanOut(BaseModel):
    id: int
    name: str
    plan_version: str
    status: str
    revision: str | None
    line: str | None
    version: int


class PlanRowOut(BaseModel):
    id: int
    version: int
    line: str
    station_id: int
    station: str
    station_sequence: int
    characteristic_id: int
    characteristic: str
    ctq: bool
    unit: str
    lsl: float | None
    usl: float | None
    method: str
    gauge_id: int | None
    gauge: str | None
    sample_size: int
    frequency: str
    frequency_every: int | None
    frequency_per: str | None
    chart_type: str | None
    reaction_plan: str


class PlanSheetOut(BaseModel):
    product: str
    plan: PlanOut
    items: list[PlanRowOut]


class StudySummaryOut(BaseModel):
    id: int
    gauge: str
    characteristic: str
    studied_on: dt.date
    pct_grr_study_var: float | None
    pct_grr_tolerance: float | None
    ndc: int | None
    n_parts: int
    n_operators: int
    n_trials: int
    verdict: cp.GageVerdict


class CoveringItemOut(BaseModel):
    item_id: int
    station: str
    gauge: str | None
    study: StudySummaryOut | None = Field(description="The gauge's latest study of the CTQ.")


class CtqCoverageOut(BaseModel):
    characteristic_id: int
    characteristic: str
    covered: bool = Field(description="At least one item of the plan checks the CTQ.")
    item_id: int | None = Field(description="The covering item with the best gage evidence.")
    station: str | None
    gauge: str | None
    study_id: int | None
    studied_on: dt.date | None
    pct_grr_study_var: float | None
    pct_grr_tolerance: float | None
    ndc: int | None
    verdict: cp.GageVerdict | None = Field(description="Null: no covering gauge has a study.")
    items: list[CoveringItemOut]


class CoveragePlanOut(BaseModel):
    id: int
    name: str
    plan_version: str
    status: str


class CoverageOut(BaseModel):
    product: str
    plan: CoveragePlanOut | None = Field(description="Null: the product has no control plan.")
    ctq_count: int
    covered_count: int
    acceptable_count: int
    complete: bool = Field(description="Every CTQ is covered with an acceptable gage R&R.")
    ctqs: list[CtqCoverageOut]


# --- routes ------------------------------------------------------------------------------------


@router.delete(
    "/control-plan-items/{id}",
    response_model=ITEMS.out,
    summary="Delete a control plan item",
    description="Remove the item from its plan; audited. With `If-Match`, only if the item is "
    "still at that version (412 otherwise). Answers the item as it was.",
    operation_id="delete_control_plan_item",
    responses=UPDATE_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.UPDATE, Kind.CONTROL_PLAN)},
)
def delete_control_plan_item(id: IdPath, uow: Uow, actor: Acting, if_match: IfMatch = None) -> Any:
    version = None
    if if_match is not None:
        version = expected_version(if_match, crud.get(uow, cp.CONTROL_PLAN_ITEMS, id, actor=actor))
    with stale_if_match():
        item = cp.delete_item(uow, id, actor=actor, expected_version=version)
    return ITEMS.out.from_record(item)


@router.get(
    "/products/{ref}/control-plan",
    response_model=PlanSheetOut,
    summary="Get a product's control plan",
    description="The product's current control plan (released before draft, newest first; "
    "never obsolete) or `plan_id`, with every item in flow order.",
    operation_id="get_product_control_plan",
    responses=READ_ERRORS,
    openapi_extra=READ,
)
def get_product_control_plan(
    ref: RefPath, uow: Uow, actor: Acting, plan_id: PlanQuery = None
) -> Any:
    return cp.plan_sheet(uow, ref, actor=actor, plan_id=plan_id).as_dict()


@router.get(
    "/products/{ref}/control-plan/coverage",
    response_model=CoverageOut,
    summary="Get the coverage of a product's CTQs",
    description="Per CTQ of the product: whether the control plan checks it, at which station, "
    "with which gauge, and that gauge's latest gage R&R study of the CTQ with its AIAG verdict.",
    operation_id="get_control_plan_coverage",
    responses=READ_ERRORS,
    openapi_extra=READ,
)
def get_control_plan_coverage(
    ref: RefPath, uow: Uow, actor: Acting, plan_id: PlanQuery = None
) -> Any:
    return cp.ctq_coverage(uow, ref, actor=actor, plan_id=plan_id).as_dict()


@router.get(
    "/gauges/{id}/studies",
    response_model=list[GageStudyOut],
    summary="List a gauge's gage studies",
    description="Every gage R&R study of the gauge, newest first, with its readings.",
    operation_id="list_gage_studies",
    responses=READ_ERRORS,
    openapi_extra=READ,
)
def list_gage_studies(id: IdPath, uow: Uow, actor: Acting) -> Any:
    crud.get(uow, cp.GAUGES, id, actor=actor)
    page = crud.list_page(uow, cp.GAGE_STUDIES, actor=actor, filters={"gauge_id": id}, limit=500)
    return [GageStudyOut.of(s) for s in reversed(page.items)]


@router.post(
    "/gauges/{id}/studies",
    status_code=201,
    response_model=GageStudyOut,
    summary="Record a gage study",
    description="Compute a crossed gage R&R study (ANOVA method, AIAG MSA 4th ed.) of the gauge "
    "on a characteristic from its raw readings and store it with them; audited.",
    operation_id="record_gage_study",
    responses=CREATE_UNDER_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.CREATE, Kind.CONTROL_PLAN)},
)
def record_gage_study(id: IdPath, body: GageStudyCreate, uow: Uow, actor: Acting) -> Any:
    study = cp.record_gage_study(
        uow,
        id,
        characteristic_id=body.characteristic_id,
        readings=[r.model_dump() for r in body.readings],
        studied_on=body.studied_on,
        tolerance=body.tolerance,
        study_multiplier=body.study_multiplier,
        notes=body.notes,
        actor=actor,
    )
    return GageStudyOut.of(study)


routers = [collection_router(PLANS), collection_router(ITEMS), collection_router(GAUGES), router]
