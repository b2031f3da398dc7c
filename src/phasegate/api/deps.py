"""Dependencies every route shares: the unit of work and who is acting."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from phasegate.api.types import StorableText
from phasegate.store.uow import UnitOfWork

ACTOR_HEADER = "X-Phasegate-Actor"


def get_uow(request: Request) -> UnitOfWork:
    """A new unit of work from the factory the composition root put on the app."""
    uow: UnitOfWork = request.app.state.uow_factory()
    return uow


def get_actor(
    request: Request,
    actor: Annotated[
        str | None,
        Header(
            alias=ACTOR_HEADER,
            max_length=120,
            description="Who makes the change, for the audit trail.",
        ),
        StorableText(),
    ] = None,
) -> str:
    """The actor named by the request header, else the configured default."""
    if actor is not None and actor.strip():
        return actor.strip()
    return str(request.app.state.settings.actor)


Uow = Annotated[UnitOfWork, Depends(get_uow)]
Actor = Annotated[str, Depends(get_actor)]
