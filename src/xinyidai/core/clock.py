"""Time: stored in UTC, shown in Asia/Shanghai."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def to_local(value: datetime) -> datetime:
    """A UTC timestamp as Asia/Shanghai wall-clock time for display."""
    return value.astimezone(SHANGHAI)


def format_local(value: datetime | None) -> str:
    """``2026-11-22 09:30`` in Asia/Shanghai, or an empty string."""
    return "" if value is None else to_local(value).strftime("%Y-%m-%d %H:%M")


def end_of_day(day: date) -> datetime:
    """The last instant of ``day`` in Asia/Shanghai: what "as of day D" sees is what arrived by then."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI) - timedelta(microseconds=1)


def today_local() -> date:
    """Today's date in Asia/Shanghai."""
    return utcnow().astimezone(SHANGHAI).date()


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    year, month0 = divmod(day.month - 1 + months, 12)
    year += day.year
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))
