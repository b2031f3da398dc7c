"""The audit trail: every change and decision, newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from phasegate.api.deps import Acting, GuardedRoute, Uow
from phasegate.api.errors import READ_ERRORS
from phasegate.api.resources import ProductRef, page_of, product_filter
from phasegate.api.schemas import AuditEventOut, Page
from phasegate.api.types import MAX_OFFSET, RecordId, StorableText
from phasegate.domain.enums import AuditAction
from phasegate.domain.policy import PERMISSION_KEY, Action, Kind, permission
from phasegate.services import audit_trail
from phasegate.services.paging import MAX_PAGE

router = APIRouter(prefix="/audit-events", tags=["Audit trail"], route_class=GuardedRoute)

# As long as the columns they are compared with.
EntityType = Annotated[str, Field(max_length=60), StorableText()]
ActorName = Annotated[str, Field(max_length=120), StorableText()]


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity_type: EntityType | None = Field(None, description="Table of the record, e.g. builds.")
    entity_id: RecordId | None = Field(None, description="Id of the record.")
    product_id: RecordId | None = Field(None, description="Only events about this product.")
    product: ProductRef | None = Field(
        None, description="Only events about this product (key or id)."
    )
    action: AuditAction | None = None
    actor: ActorName | None = Field(None, description="Only events of this user's doing.")
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


@router.get(
    "",
    response_model=Page[AuditEventOut],
    summary="List audit events",
    description="Who changed what and when, newest first, with the changed fields before and "
    "after.",
    operation_id="list_audit_events",
    responses=READ_ERRORS,
    openapi_extra={PERMISSION_KEY: permission(Action.READ, Kind.AUDIT_EVENT)},
)
def list_audit_events(query: Annotated[AuditQuery, Query()], uow: Uow, actor: Acting) -> Any:
    product_id = query.product_id
    if query.product is not None:
        product_id = product_filter(uow, query.product, product_id, actor=actor)
    page = audit_trail.list_events(
        uow,
        actor=actor,
        entity_type=query.entity_type,
        entity_id=query.entity_id,
        product_id=product_id,
        action=query.action,
        by=query.actor,
        limit=query.limit,
        offset=query.offset,
    )
    return page_of(AuditEventOut, page)
