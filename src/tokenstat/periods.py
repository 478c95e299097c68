"""Time in one place: grains, period boundaries and labels (UTC throughout).

A period is identified by its first day. Weeks are ISO weeks, Monday to Sunday.
The same definitions exist twice, as Ibis expressions (computed in the engine) and as
Python functions (to pick the period a report is "at"); tests hold them equal.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from tokenstat.errors import QueryError

if TYPE_CHECKING:
    import ibis.expr.types as ir

GRAINS = ("day", "week", "month", "quarter", "half", "year")
_MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}


def check_grain(grain: str) -> str:
    if grain not in GRAINS:
        raise QueryError(f"unknown period {grain!r}; choose one of: {', '.join(GRAINS)}")
    return grain


def period_start_expr(day: ir.DateValue, grain: str) -> ir.DateValue:
    """Ibis expression: the first day of the period containing ``day``."""
    import ibis  # here, not above: the CLI parses dates before it needs the engine

    check_grain(grain)
    if grain == "day":
        return day
    if grain == "week":
        # Monday of the ISO week; day_of_week.index() is 0 for Monday on every backend
        return (day - day.day_of_week.index().as_interval("D")).cast("date")
    month = day.month()
    first_month = ((month - 1) // _MONTHS[grain]) * _MONTHS[grain] + 1
    return ibis.date(day.year(), first_month, 1)


def period_start(day: date | datetime, grain: str) -> date:
    """The first day of the period containing ``day``."""
    check_grain(grain)
    if isinstance(day, datetime):
        day = day.date()
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    step = _MONTHS[grain]
    return date(day.year, ((day.month - 1) // step) * step + 1, 1)


class OutsideCalendar(QueryError, OverflowError):
    """A period before 0001-01-01 or after 9999-12-31 (the calendar dates can hold)."""


def shift_period(start: date, grain: str, n: int) -> date:
    """The start of the period ``n`` periods after the one starting at ``start``;
    `OutsideCalendar` when that is before year 1 or after year 9999."""
    check_grain(grain)
    try:
        if grain == "day":
            return start + timedelta(days=n)
        if grain == "week":
            return start + timedelta(weeks=n)
        months = start.year * 12 + (start.month - 1) + n * _MONTHS[grain]
        return date(months // 12, months % 12 + 1, 1)
    except (OverflowError, ValueError):
        raise OutsideCalendar(
            f"{n:+d} {grain}(s) from {start.isoformat()} is outside the calendar (years 1 to 9999)"
        ) from None


def period_end(start: date, grain: str) -> date:
    """The last day (inclusive) of the period starting at ``start`` (9999-12-31 for the
    calendar's last period)."""
    try:
        return shift_period(start, grain, 1) - timedelta(days=1)
    except OutsideCalendar:
        return date.max


def period_label(start: date, grain: str) -> str:
    """Human label: 2026-04-05, 2026-W14, 2026-04, 2026-Q2, 2026-H1, 2026."""
    if grain == "week":
        iso = start.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if grain == "month":
        return f"{start.year}-{start.month:02d}"
    if grain == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if grain == "half":
        return f"{start.year}-H{(start.month - 1) // 6 + 1}"
    if grain == "year":
        return str(start.year)
    return start.isoformat()


def as_date(value: date | datetime | None) -> date | None:
    """A date from what an engine returns for a date column (a date or a datetime)."""
    if isinstance(value, datetime):
        return value.date()
    return value


def parse_day(text: str) -> date:
    """A day given as ``YYYY-MM-DD`` (strict; see `parse_date_span` for relative forms)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise QueryError(f"not a date (YYYY-MM-DD): {text!r}") from None


DATE_FORMS = (
    "YYYY-MM-DD, today, yesterday, Nd, Nw, Nm (N days, weeks or months ending today), "
    "this-week, last-week, this-month, last-month"
)
_RELATIVE = re.compile(r"(\d+)([dwm])")


def utc_today() -> date:
    """Today's date in UTC (days are UTC throughout)."""
    return datetime.now(UTC).date()


def parse_date_span(text: str, today: date | None = None) -> tuple[date, date]:
    """The days (first, last; both inclusive) a date expression names.

    ``YYYY-MM-DD`` is one day; ``today``/``yesterday`` one day; ``Nd``, ``Nw``, ``Nm`` the
    N days, weeks (7N days) or calendar months (same day N months back, plus one) ending
    today; ``this-week``/``last-week`` ISO weeks (Monday to Sunday); ``this-month``/
    ``last-month`` calendar months. ``today`` defaults to the UTC date. A span may end
    after today (``this-week`` on a Wednesday ends on Sunday); callers clip where needed.
    """
    today = today or utc_today()
    word = text.strip().lower()
    if word == "today":
        return today, today
    if word == "yesterday":
        day = today - timedelta(days=1)
        return day, day
    if word in ("this-week", "last-week"):
        start = period_start(today, "week")
        if word == "last-week":
            start = shift_period(start, "week", -1)
        return start, period_end(start, "week")
    if word in ("this-month", "last-month"):
        start = period_start(today, "month")
        if word == "last-month":
            start = shift_period(start, "month", -1)
        return start, period_end(start, "month")
    relative = _RELATIVE.fullmatch(word)
    if relative:
        n, unit = int(relative.group(1)), relative.group(2)
        if n < 1:
            raise QueryError(f"{text!r}: N must be at least 1; accepted forms: {DATE_FORMS}")
        if unit == "d":
            return today - timedelta(days=n - 1), today
        if unit == "w":
            return today - timedelta(days=7 * n - 1), today
        return _months_back(today, n) + timedelta(days=1), today
    try:
        day = date.fromisoformat(word)
    except ValueError:
        raise QueryError(f"not a date: {text!r}; accepted forms: {DATE_FORMS}") from None
    return day, day


def _months_back(day: date, n: int) -> date:
    """The same day of the month ``n`` months earlier (the month's last day when shorter)."""
    months = day.year * 12 + (day.month - 1) - n
    year, month = months // 12, months % 12 + 1
    last = period_end(date(year, month, 1), "month").day
    return date(year, month, min(day.day, last))
