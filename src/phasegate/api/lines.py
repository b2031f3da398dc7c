"""The stations of one line, in flow order."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import READ_ERRORS
from phasegate.api.resources import IdPath, page_of
from phasegate.api.schemas import Page, record_schemas
from phasegate.api.types import MAX_OFFSET
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, permission
from phasegate.services import lines
from phasegate.services.builds import STATIONS
from phasegate.services.paging import MAX_PAGE

router = APIRouter(prefix="/lines/{id}/stations", tags=["Lines"], route_class=GuardedRoute)
StationOut = record_schemas(STATIONS).out


@router.get(
    "",
    response_model=Page[StationOut],  # type: ignore[valid-type]
    summary="List a line's stations",
    description="The stations of the line by sequence. Add stations with `POST /stations`.",
    operation_id="list_line_stations",
    responses=READ_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.READ, Kind.STATION)},
)
def list_line_stations(
    id: IdPath,
    uow: Uow,
    actor: Acting,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Any:
    return page_of(
        StationOut, lines.list_stations(uow, id, actor=actor, limit=limit, offset=offset)
    )
