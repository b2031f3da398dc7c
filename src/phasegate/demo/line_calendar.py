"""The demo lines' working calendars, from ``demo/data/line_calendar.toml``.

Stored through the audited lines resource after the lines are in, so each line's takt time
follows from its calendar and the target annual volume of the product made on it.
"""

from __future__ import annotations

from sqlalchemy import func, select

from phasegate.demo.datafiles import DemoDataError, entries, read, where
from phasegate.domain.policy import SYSTEM
from phasegate.services import builds, crud
from phasegate.store.models import Line
from phasegate.store.uow import UnitOfWork

FILE = "line_calendar.toml"
FIELDS = ("shifts_per_day", "hours_per_shift", "days_per_year")


def load_line_calendars(uow: UnitOfWork) -> int:
    """Set the calendar of each line the file names; returns the lines changed."""
    document = read(FILE, keys=("lines",))
    changed = 0
    for entry, at in entries(document, "lines", where(FILE)):
        unknown = sorted(set(entry) - {"name", *FIELDS})
        if unknown or "name" not in entry:
            raise DemoDataError(f"{at}: expected keys name, {', '.join(FIELDS)}")
        with uow:
            line_id = uow.session.scalar(
                select(Line.id).where(func.lower(Line.name) == str(entry["name"]).lower())
            )
        if line_id is None:
            raise DemoDataError(f"{at}: no line {entry['name']!r} in the demo")
        values = {k: entry[k] for k in FIELDS if k in entry}
        crud.update(uow, builds.LINES, line_id, values, actor=SYSTEM)
        changed += 1
    return changed
