"""Line performance of a build, on SQLite and PostgreSQL, from station passes made by hand."""

from __future__ import annotations

import pytest

from phasegate.domain.errors import InvalidInput
from phasegate.services import builds, crud
from phasegate.store.uow import UnitOfWork
from tests.factories import ACTOR, make_line


def test_a_new_line_works_one_eight_hour_shift_on_250_days(uow: UnitOfWork) -> None:
    line = make_line(uow, stations=1)
    assert (line.shifts_per_day, line.hours_per_shift, line.days_per_year) == (1, 8.0, 250)


def test_the_working_calendar_is_edited_through_the_lines_resource(uow: UnitOfWork) -> None:
    line = make_line(uow, stations=1)
    changed = crud.update(
        uow,
        builds.LINES,
        line.id,
        {"shifts_per_day": 2, "hours_per_shift": 7.5, "days_per_year": 230},
        actor=ACTOR,
    )
    assert (changed.shifts_per_day, changed.hours_per_shift, changed.days_per_year) == (2, 7.5, 230)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"shifts_per_day": 0}, "shifts_per_day"),
        ({"days_per_year": 400}, "days_per_year"),
        ({"hours_per_shift": -1.0}, "hours_per_shift"),
        ({"shifts_per_day": 3, "hours_per_shift": 9.0}, "hours_per_shift"),
    ],
)
def test_a_bad_calendar_is_refused_naming_the_field(
    uow: UnitOfWork, change: dict[str, float], field: str
) -> None:
    line = make_line(uow, stations=1)
    with pytest.raises(InvalidInput) as caught:
        crud.update(uow, builds.LINES, line.id, change, actor=ACTOR)
    assert [f.loc for f in caught.value.fields] == [field]
