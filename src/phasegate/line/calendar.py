"""The working calendar of a line and the takt time it gives against a demand. Pure.

A line works ``shifts_per_day`` shifts of ``hours_per_shift`` hours on ``days_per_year`` days;
the production time available in a year is their product in seconds, and the takt time is that
time divided by the units demanded in the year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from phasegate.domain.errors import FieldError, InvalidInput, invalid

__all__ = [
    "DEFAULT_CALENDAR",
    "TaktResult",
    "WorkingCalendar",
    "calendar_problems",
    "takt_time",
]

HOURS_PER_DAY = 24.0
DAYS_PER_YEAR_MAX = 366


def calendar_problems(
    shifts_per_day: float | None, hours_per_shift: float | None, days_per_year: float | None
) -> list[FieldError]:
    """What is wrong with a working calendar, field by field (empty when it is valid).

    A value of ``None`` is not checked (a partial change leaves the stored value). Shifts and
    days are whole numbers of at least 1, days at most 366; hours are positive and the shifts of
    one day fit in 24 hours.
    """
    errors: list[FieldError] = []
    for name, value in (("shifts_per_day", shifts_per_day), ("days_per_year", days_per_year)):
        if value is not None and (not math.isfinite(value) or value < 1 or value != int(value)):
            errors.append(FieldError(name, f"{value!r} must be a whole number of at least 1"))
    if days_per_year is not None and days_per_year > DAYS_PER_YEAR_MAX:
        errors.append(FieldError("days_per_year", f"{days_per_year!r} is more than 366"))
    if hours_per_shift is not None and not (math.isfinite(hours_per_shift) and hours_per_shift > 0):
        errors.append(FieldError("hours_per_shift", f"{hours_per_shift!r} must be positive"))
    elif (
        hours_per_shift is not None
        and shifts_per_day is not None
        and math.isfinite(shifts_per_day)
        and shifts_per_day * hours_per_shift > HOURS_PER_DAY
    ):
        errors.append(
            FieldError(
                "hours_per_shift",
                f"{shifts_per_day:g} shifts of {hours_per_shift:g} h are more than 24 h a day",
            )
        )
    return errors


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """When a line works: shifts per day, hours per shift, working days per year.

    Attributes
    ----------
    shifts_per_day : int
        Shifts worked on a working day, at least 1.
    hours_per_shift : float
        Production hours of one shift (breaks taken out), positive; all shifts fit in 24 h.
    days_per_year : int
        Working days in a year, 1 to 366.
    """

    shifts_per_day: int = 1
    hours_per_shift: float = 8.0
    days_per_year: int = 250

    def __post_init__(self) -> None:
        problems = calendar_problems(self.shifts_per_day, self.hours_per_shift, self.days_per_year)
        if problems:
            raise InvalidInput("; ".join(f"{p.loc}: {p.message}" for p in problems), problems)

    def available_s_per_day(self) -> float:
        """Production seconds of one working day: shifts x hours x 3600."""
        return self.shifts_per_day * self.hours_per_shift * 3600.0

    def available_s_per_year(self) -> float:
        """Production seconds of a year: days x shifts x hours x 3600."""
        return self.days_per_year * self.available_s_per_day()


DEFAULT_CALENDAR = WorkingCalendar()
"""One 8-hour shift on 250 days a year: the calendar of a line that names none."""


@dataclass(frozen=True, slots=True)
class TaktResult:
    """Takt time: the pace of production that meets the demand in the available time.

    Attributes
    ----------
    takt_s : float
        Seconds of available time per unit demanded.
    available_s : float
        Production seconds in the year.
    annual_demand : int
        Units demanded in the year.
    calendar : WorkingCalendar
        The calendar the available time comes from.
    """

    takt_s: float
    available_s: float
    annual_demand: int
    calendar: WorkingCalendar

    def units_per_hour(self) -> float:
        """The rate the demand needs while the line works: 3600 / takt."""
        return 3600.0 / self.takt_s


def takt_time(calendar: WorkingCalendar, annual_demand: int) -> TaktResult:
    r"""Takt time from the working calendar and the annual demand.

    Parameters
    ----------
    calendar : WorkingCalendar
        Shifts per day, hours per shift and working days per year.
    annual_demand : int
        Units to make in a year, at least 1.

    Returns
    -------
    TaktResult

    Notes
    -----
    .. math:: T_{takt} = \frac{\text{available time}}{\text{demand}}
              = \frac{d \cdot s \cdot h \cdot 3600}{D}

    with :math:`d` working days per year, :math:`s` shifts per day, :math:`h` hours per shift
    and :math:`D` the annual demand in units; the result is in seconds per unit.

    References
    ----------
    Rother, M. and Shook, J. (1999). *Learning to See*, Lean Enterprise Institute, p. 38
    ("takt time = available working time per shift / customer demand rate per shift").
    Groover, M. P. (2015). *Automation, Production Systems, and Computer-Integrated
    Manufacturing*, 4th ed., Pearson, Sec. 15.1.2.

    Examples
    --------
    >>> two_shifts = WorkingCalendar(shifts_per_day=2, hours_per_shift=8, days_per_year=250)
    >>> takt_time(two_shifts, 100_000).takt_s
    144.0
    """
    demand = float(annual_demand)
    if not math.isfinite(demand) or demand < 1 or demand != int(demand):
        raise invalid(
            "annual_demand", f"must be a whole number of at least 1, got {annual_demand!r}"
        )
    available = calendar.available_s_per_year()
    return TaktResult(available / demand, available, int(demand), calendar)
