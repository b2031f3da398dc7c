"""``GET /api/v1/builds/{code}/specs``: specs met on a build, as the pages and the CLI count
them (``phasegate.services.read.rows.specs_met``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import READ_ERRORS
from phasegate.api.line_performance import Code, ProductKey
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, permission
from phasegate.services.read.rows import SpecsMet, build_specs

router = APIRouter(prefix="/builds", tags=["Builds"], route_class=GuardedRoute)


class CharacteristicSpecOut(BaseModel):
    """One characteristic measured on the build, judged by its units' final results."""

    name: str
    met: bool = Field(description="Every unit's latest measurement is within limits.")
    first_pass_failures: int = Field(description="Units whose first measurement was out of limits.")
    final_failures: int = Field(description="Units whose latest measurement is out of limits.")


class SpecsMetOut(BaseModel):
    """Specs met on one build, over the characteristics measured on it."""

    build: str
    measured: int = Field(description="The denominator: characteristics measured on the build.")
    met: int = Field(description="Of those, the ones every unit finally meets.")
    first_pass_failures: int = Field(
        description="First measurements out of limits, one per unit and characteristic."
    )
    share: float | None = Field(description="met / measured; null when nothing was measured.")
    label: str = Field(description='As the pages say it, e.g. "9 of 11 characteristics ..."')
    characteristics: list[CharacteristicSpecOut] = Field(description="CTQs first, then by name.")

    @classmethod
    def of(cls, specs: SpecsMet) -> SpecsMetOut:
        return cls(
            build=specs.build_code,
            measured=specs.measured,
            met=specs.met,
            first_pass_failures=specs.first_pass_failures,
            share=specs.share,
            label=specs.label,
            characteristics=[
                CharacteristicSpecOut(
                    name=c.name,
                    met=c.met,
                    first_pass_failures=c.first_pass_failures,
                    final_failures=c.final_failures,
                )
                for c in specs.characteristics
            ],
        )


@router.get(
    "/{code}/specs",
    response_model=SpecsMetOut,
    summary="Get the specs met on a build",
    description="Each characteristic measured on the build is met when every unit's latest "
    "measurement of it (from its latest test run) is within limits, so a unit reworked and "
    "retested counts by its retest; first-pass failures are the units whose first measurement "
    "was out of limits. The denominator is the characteristics measured on the build. The "
    "product and build pages and `phasegate products list` show the same numbers.",
    operation_id="get_build_specs",
    responses=READ_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.READ, Kind.TEST_DATA)},
)
def get_build_specs(code: Code, uow: Uow, actor: Acting, product: ProductKey = None) -> Any:
    return SpecsMetOut.of(build_specs(uow, code, actor=actor, product=product))
