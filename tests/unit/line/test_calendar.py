"""Working calendar and takt time against hand-computed values."""

from __future__ import annotations

import pytest

from phasegate.domain.errors import InvalidInput
from phasegate.line import DEFAULT_CALENDAR, WorkingCalendar, calendar_problems, takt_time


def test_takt_is_available_time_over_demand():
    """Takt = days x shifts x hours x 3600 / annual demand (Rother and Shook, Learning to See,
    1999, p. 38): 250 d x 2 shifts x 8 h x 3600 s = 14 400 000 s over 100 000 units = 144 s."""
    result = takt_time(WorkingCalendar(2, 8.0, 250), 100_000)
    assert result.available_s == 14_400_000.0
    assert result.takt_s == pytest.approx(144.0, rel=1e-12)
    assert result.units_per_hour() == pytest.approx(25.0, rel=1e-12)


def test_default_calendar_is_one_eight_hour_shift_on_250_days():
    assert DEFAULT_CALENDAR.available_s_per_day() == 28_800.0
    assert DEFAULT_CALENDAR.available_s_per_year() == 7_200_000.0
    # 7 200 000 s / 12 000 units = 600 s per unit
    assert takt_time(DEFAULT_CALENDAR, 12_000).takt_s == pytest.approx(600.0, rel=1e-12)


def test_fractional_shift_hours():
    """Three shifts of 7.5 h on 220 days: 220 x 3 x 7.5 x 3600 = 17 820 000 s; / 50 000."""
    result = takt_time(WorkingCalendar(3, 7.5, 220), 50_000)
    assert result.takt_s == pytest.approx(356.4, rel=1e-12)


@pytest.mark.parametrize(
    ("shifts", "hours", "days", "field"),
    [
        (0, 8.0, 250, "shifts_per_day"),
        (1.5, 8.0, 250, "shifts_per_day"),
        (1, 0.0, 250, "hours_per_shift"),
        (1, float("nan"), 250, "hours_per_shift"),
        (3, 9.0, 250, "hours_per_shift"),
        (1, 8.0, 0, "days_per_year"),
        (1, 8.0, 367, "days_per_year"),
    ],
)
def test_bad_calendar_names_the_field(shifts, hours, days, field):
    problems = calendar_problems(shifts, hours, days)
    assert [p.loc for p in problems] == [field]
    with pytest.raises(InvalidInput) as caught:
        WorkingCalendar(shifts, hours, days)
    assert field in str(caught.value)


def test_partial_change_checks_only_the_given_fields():
    assert calendar_problems(None, 12.0, None) == []
    assert calendar_problems(3, None, None) == []


@pytest.mark.parametrize("demand", [0, -5, 2.5, float("nan")])
def test_bad_demand_is_refused(demand):
    with pytest.raises(InvalidInput, match="annual_demand"):
        takt_time(DEFAULT_CALENDAR, demand)
