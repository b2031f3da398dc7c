"""A build's defects (the list, the Pareto, the quality rates) and the allocation of its units.

The build is named by its code (whatever its case); ``product`` names its product when the code
is used in several. The answers are those of ``services.read.defects`` and
``services.allocation``, which the pages and ``phasegate defects|allocate`` show too.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field, model_validator

from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import READ_ERRORS, UPDATE_ERRORS
from phasegate.api.schemas import Input
from phasegate.api.types import MAX_SEARCH, text
from phasegate.domain.enums import Allocation, Disposition, Severity, UnitStatus
from phasegate.domain.errors import FieldError, InvalidInput
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, permission
from phasegate.services.allocation import (
    MAX_UNITS_PER_CHANGE,
    AllocationChange,
    AllocationCounts,
    allocate_units,
    allocation_counts,
)
from phasegate.services.paging import MAX_PAGE
from phasegate.services.read.defects import (
    DefectFilters,
    build_defects,
    defect_pareto,
    find_build,
    quality_rates,
)

router = APIRouter(
    prefix="/builds/{code}", tags=["Defects and allocation"], route_class=GuardedRoute
)

Code = Annotated[str, Path(min_length=1, max_length=40, description="The build's code.")]
Text = Annotated[str | None, Query(min_length=1, max_length=MAX_SEARCH)]
Product = Annotated[
    str | None,
    Query(
        min_length=1, max_length=40, description="The product's key, when the code is in several."
    ),
]
READ_TEST_DATA = {PERMISSION_KEY: permission(Action.READ, Kind.TEST_DATA)}


def _build_id(uow: Uow, code: str, product: str | None, actor: Acting) -> int:
    return find_build(uow, code, product=product, actor=actor).id


# --- the defect list -------------------------------------------------------------------------


class DefectOut(BaseModel):
    """One defect of the build, with its unit, code and station."""

    id: int
    serial: str = Field(description="The unit's serial.")
    unit_status: UnitStatus
    code: str
    description: str = Field(description="The defect code's description.")
    category: str
    station: str | None = Field(description="Where it was found; null when not recorded.")
    severity: Severity
    disposition: Disposition
    cost: float
    found_at: dt.datetime
    notes: str


class DefectListOut(BaseModel):
    """One page of a build's defects (newest first) and what the filters match in all."""

    build: str
    product: str
    total: int = Field(description="Defects matching the filters.")
    total_cost: float = Field(description="Their summed cost.")
    units: int = Field(description="Units with a matching defect.")
    by_severity: dict[Severity, int]
    by_disposition: dict[Disposition, int]
    items: list[DefectOut]
    limit: int
    next_key: str | None = Field(description="Send as `after` for the next page; null at the end.")


@router.get(
    "/defects",
    response_model=DefectListOut,
    summary="List a build's defects",
    description="The build's defects, newest first, filtered by `defect_code`, `station` (name; "
    "`(none)` for defects recorded at no station), `severity` and `disposition`, with the "
    "number, cost and units of every defect matching and their counts by severity and "
    "disposition. Pages are keyed: send the answer's `next_key` as `after` for the next page.",
    operation_id="list_build_defects",
    responses=READ_ERRORS,
    openapi_extra=READ_TEST_DATA,
)
def list_build_defects(
    code: Code,
    uow: Uow,
    actor: Acting,
    product: Product = None,
    defect_code: Text = None,
    station: Text = None,
    severity: Severity | None = None,
    disposition: Disposition | None = None,
    after: Annotated[
        str | None, Query(min_length=3, max_length=60, pattern=r"^-?\d+\.\d+$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> Any:
    build_id = _build_id(uow, code, product, actor)
    filters = DefectFilters.parse(
        code=defect_code, station=station, severity=severity, disposition=disposition
    )
    try:
        page = build_defects(uow, build_id, filters, actor=actor, after=after, limit=limit)
    except InvalidInput as error:  # the filter the service calls ``code`` is ``defect_code`` here
        fields = [
            FieldError("defect_code" if f.loc == "code" else f.loc, f.message) for f in error.fields
        ]
        message = error.message
        if message.startswith("code:"):
            message = "defect_" + message
        raise InvalidInput(message, fields) from error
    return DefectListOut(
        build=page.build.code,
        product=page.build.product_key,
        total=page.total,
        total_cost=page.total_cost,
        units=page.units,
        by_severity={c.value: c.count for c in page.by_severity},
        by_disposition={c.value: c.count for c in page.by_disposition},
        items=[DefectOut.model_validate(row, from_attributes=True) for row in page.items],
        limit=page.limit,
        next_key=page.next_key,
    )


# --- the Pareto and the rates ----------------------------------------------------------------


class ParetoBarOut(BaseModel):
    """One group of defects: a code or a station."""

    key: str = Field(description="The code, the station's name, or `(none)` for no station.")
    label: str = Field(description="The code's description, or the station's name.")
    count: int
    cost: float
    share: float = Field(description="Of the measure ordered by.")
    cumulative_share: float
    vital: bool = Field(description="Among the groups up to 80 % of the measure (the vital few).")


class ParetoOut(BaseModel):
    """A build's defects by code or by station, ordered by count or by cost."""

    build: str
    product: str
    by: Literal["code", "station"]
    measure: Literal["count", "cost"]
    n: int = Field(description="Defects the Pareto is of.")
    total_cost: float
    insufficient: bool = Field(description="Fewer defects than a Pareto needs to rank groups.")
    min_defects: int
    bars: list[ParetoBarOut]


@router.get(
    "/defects/pareto",
    response_model=ParetoOut,
    summary="Pareto of a build's defects",
    description="The build's defects grouped `by` code or station and ordered by `measure` "
    "(count or cost), each group with its share and the cumulative share. With fewer than "
    "`min_defects` defects `insufficient` is true (the groups are still listed).",
    operation_id="build_defect_pareto",
    responses=READ_ERRORS,
    openapi_extra=READ_TEST_DATA,
)
def build_defect_pareto(
    code: Code,
    uow: Uow,
    actor: Acting,
    product: Product = None,
    by: Literal["code", "station"] = "code",
    measure: Literal["count", "cost"] = "count",
) -> Any:
    build_id = _build_id(uow, code, product, actor)
    result = defect_pareto(uow, build_id, actor=actor, by=by, measure=measure)
    return ParetoOut(
        build=result.build.code,
        product=result.build.product_key,
        by=result.by,
        measure=result.measure,
        n=result.n,
        total_cost=result.total_cost,
        insufficient=result.insufficient,
        min_defects=result.min_defects,
        bars=[ParetoBarOut.model_validate(b, from_attributes=True) for b in result.bars],
    )


class RateOut(BaseModel):
    """A rate with its two-sided 95 % interval."""

    value: float
    count: int = Field(description="Defects, or units scrapped or reworked.")
    units: int
    ci: list[float] = Field(description="[low, high]")


class QualityRatesOut(BaseModel):
    """DPU, DPMO, scrap and rework rates of a build; null below `min_units` units."""

    build: str
    product: str
    units: int
    defects: int
    opportunities_per_unit: int = Field(
        description="The product's characteristics plus the line's stations (at least 1)."
    )
    insufficient: bool
    min_units: int
    dpu: RateOut | None
    dpmo: RateOut | None = Field(description="Exact Poisson interval, per million opportunities.")
    scrap_rate: RateOut | None = Field(description="Units scrapped / units (Wilson interval).")
    rework_rate: RateOut | None = Field(
        description="Units that went through a station again, have a defect dispositioned "
        "rework or are in rework / units (Wilson interval)."
    )


def _rate(value: Any, count: int) -> RateOut | None:
    if value is None:
        return None
    return RateOut(value=value.value, count=count, units=value.units, ci=value.ci.as_list())


@router.get(
    "/defects/rates",
    response_model=QualityRatesOut,
    summary="Quality rates of a build",
    description="DPU and DPMO with exact Poisson intervals, scrap and rework rates with Wilson "
    "intervals (95 %), of every unit of the build. docs/defects.md defines each.",
    operation_id="build_quality_rates",
    responses=READ_ERRORS,
    openapi_extra=READ_TEST_DATA,
)
def build_quality_rates(code: Code, uow: Uow, actor: Acting, product: Product = None) -> Any:
    build_id = _build_id(uow, code, product, actor)
    r = quality_rates(uow, build_id, actor=actor)
    return QualityRatesOut(
        build=r.build.code,
        product=r.build.product_key,
        units=r.units,
        defects=r.defects,
        opportunities_per_unit=r.opportunities_per_unit,
        insufficient=r.insufficient,
        min_units=r.min_units,
        dpu=_rate(r.dpu, r.defects),
        dpmo=_rate(r.dpmo, r.defects),
        scrap_rate=_rate(r.scrap, r.scrapped),
        rework_rate=_rate(r.rework, r.reworked),
    )


# --- allocation ------------------------------------------------------------------------------


class AllocationsOut(BaseModel):
    """A build's units per purpose (every purpose, zeros too)."""

    build: str
    product: str
    units: int
    counts: dict[Allocation, int]


def _counts_out(counts: AllocationCounts) -> AllocationsOut:
    return AllocationsOut(
        build=counts.build.code,
        product=counts.build.product_key,
        units=counts.units,
        counts={c.value: c.count for c in counts.counts},
    )


@router.get(
    "/allocations",
    response_model=AllocationsOut,
    summary="Count a build's units per purpose",
    description="How many of the build's units are allocated to testing, marketing samples, "
    "regulatory approval, engineering and customers, and how many are unallocated.",
    operation_id="build_allocations",
    responses=READ_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.READ, Kind.UNIT)},
)
def build_allocations(code: Code, uow: Uow, actor: Acting, product: Product = None) -> Any:
    build_id = _build_id(uow, code, product, actor)
    return _counts_out(allocation_counts(uow, build_id, actor=actor))


Serial = text(80, not_blank=True)


class AllocateIn(Input):
    """Units to give a purpose: named by serial, or a count of unallocated ones."""

    purpose: Allocation
    serials: list[Serial] | None = Field(  # type: ignore[valid-type]
        None, min_length=1, max_length=MAX_UNITS_PER_CHANGE, description="Units of the build."
    )
    count: int | None = Field(
        None, ge=1, le=MAX_UNITS_PER_CHANGE, description="Unallocated units, the first by serial."
    )
    versions: dict[Serial, int] | None = Field(  # type: ignore[valid-type]
        None,
        description='Serial -> the version the unit was read at (its ETag `"id.version"`): '
        "a unit at another version is 412 and nothing changes.",
    )

    @model_validator(mode="after")
    def _one_way(self) -> AllocateIn:
        if (self.serials is None) == (self.count is None):
            raise ValueError("give either serials or count")
        return self


class AllocatedUnitOut(BaseModel):
    serial: str
    before: Allocation
    after: Allocation
    version: int
    etag: str = Field(description='The unit\'s new ETag, `"id.version"`.')


class AllocationChangeOut(BaseModel):
    """What a change did and the counts after it."""

    purpose: Allocation
    changed: list[AllocatedUnitOut]
    unchanged: list[str] = Field(description="Serials already at the purpose, left as they were.")
    allocations: AllocationsOut


def _change_out(change: AllocationChange) -> AllocationChangeOut:
    return AllocationChangeOut(
        purpose=change.purpose,
        changed=[
            AllocatedUnitOut(
                serial=u.serial,
                before=u.before,
                after=u.after,
                version=u.version,
                etag=f'"{u.id}.{u.version}"',
            )
            for u in change.changed
        ],
        unchanged=list(change.unchanged),
        allocations=_counts_out(change.counts),
    )


@router.post(
    "/allocations",
    response_model=AllocationChangeOut,
    summary="Allocate a build's units",
    description="Give units of the build a purpose: those named in `serials` (each with the "
    "version read, in `versions`, to change only that version), or `count` unallocated units "
    "(the first by serial). All change or none; each unit changed gets a new version and an "
    "audit event. A unit already at the purpose is left as it is.",
    operation_id="allocate_build_units",
    responses=UPDATE_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.UPDATE, Kind.UNIT)},
)
def allocate_build_units(
    code: Code, body: AllocateIn, uow: Uow, actor: Acting, product: Product = None
) -> Any:
    build_id = _build_id(uow, code, product, actor)
    change = allocate_units(
        uow,
        build_id,
        body.purpose,
        actor=actor,
        serials=body.serials,
        count=body.count,
        versions=body.versions,
    )
    return _change_out(change)
