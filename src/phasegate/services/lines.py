"""Production and pilot lines: the stations of one line, in flow order."""

from __future__ import annotations

from phasegate.domain.policy import Principal
from phasegate.services import crud
from phasegate.services.builds import LINES, STATIONS
from phasegate.services.paging import Page
from phasegate.store.models import Station
from phasegate.store.uow import UnitOfWork


def list_stations(
    uow: UnitOfWork, line_id: int, *, actor: Principal, limit: int = 50, offset: int = 0
) -> Page[Station]:
    """One page of the stations of line ``line_id`` by sequence; ``NotFound`` for no such line."""
    with uow:
        crud.get(uow, LINES, line_id, actor=actor)
        return crud.list_page(
            uow, STATIONS, actor=actor, filters={"line_id": line_id}, limit=limit, offset=offset
        )
