"""Working days in mainland China: weekends, public holidays and the adjusted working days (调休).

Service-level deadlines ("answer within 3 working days") count working days. The calendar is the
State Council's, as published each year and carried by ``chinesecalendar``; for a year it does not know
yet (published each November for the next year) we fall back to Monday–Friday, which can only make a
deadline fall on a holiday, never skip a working day silently.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import chinese_calendar  # type: ignore[import-untyped]

from xinyidai.core.clock import SHANGHAI


def is_working_day(day: date) -> bool:
    """Is ``day`` a working day in mainland China?"""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # a year the calendar does not cover yet
        return day.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """The working day ``days`` working days after ``start`` (``start`` itself is not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    left = days
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def deadline_after(moment: datetime, days: int) -> datetime:
    """End of the ``days``-th working day after ``moment`` (Asia/Shanghai), as an aware datetime."""
    local = moment.astimezone(SHANGHAI).date()
    due = add_working_days(local, days)
    return datetime.combine(due, time(23, 59, 59), tzinfo=SHANGHAI)
