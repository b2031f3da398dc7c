"""Is the service up: version, database backend and whether its schema is current."""

from __future__ import annotations

from fastapi import APIRouter, Response

from phasegate import __version__
from phasegate.api.deps import GuardedRoute, Uow
from phasegate.api.schemas import HealthOut
from phasegate.domain.policy import PERMISSION_KEY, PUBLIC
from phasegate.services.health import check_database

router = APIRouter(tags=["System"], route_class=GuardedRoute)


@router.get(
    "/health",
    response_model=HealthOut,
    summary="Check health",
    description="200 when the database is reachable (status `ok`, or `degraded` when its schema "
    "is not the newest); 503 with status `unavailable` when it cannot be reached.",
    operation_id="get_health",
    responses={503: {"model": HealthOut, "description": "The database cannot be reached"}},
    openapi_extra={PERMISSION_KEY: PUBLIC},  # monitors ask without a token
)
def get_health(uow: Uow, response: Response) -> HealthOut:
    database = check_database(uow)
    if not database.reachable:
        status = "unavailable"
        response.status_code = 503
    else:
        status = "ok" if database.schema_up_to_date else "degraded"
    return HealthOut(
        status=status,
        version=__version__,
        database=database.backend,
        schema_revision=database.schema_revision,
        schema_head=database.schema_head,
        schema_up_to_date=database.schema_up_to_date,
    )
