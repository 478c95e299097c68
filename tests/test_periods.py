from datetime import date, timedelta

import ibis
import pyarrow as pa
import pytest

from tokenstat.errors import QueryError
from tokenstat.periods import (
    GRAINS,
    parse_date_span,
    period_end,
    period_label,
    period_start,
    period_start_expr,
    shift_period,
)


def test_iso_week_starts_on_monday():
    # 2026-04-05 is a Sunday; its ISO week starts Monday 2026-03-30
    assert period_start(date(2026, 4, 5), "week") == date(2026, 3, 30)
    assert period_start(date(2026, 3, 30), "week") == date(2026, 3, 30)
    assert period_end(date(2026, 3, 30), "week") == date(2026, 4, 5)


@pytest.mark.parametrize(
    ("day", "grain", "start"),
    [
        (date(2026, 5, 17), "month", date(2026, 5, 1)),
        (date(2026, 5, 17), "quarter", date(2026, 4, 1)),
        (date(2026, 5, 17), "half", date(2026, 1, 1)),
        (date(2026, 7, 1), "half", date(2026, 7, 1)),
        (date(2026, 12, 31), "half", date(2026, 7, 1)),
        (date(2026, 12, 31), "year", date(2026, 1, 1)),
        (date(2026, 12, 31), "day", date(2026, 12, 31)),
    ],
)
def test_period_start(day, grain, start):
    assert period_start(day, grain) == start


def test_shift_and_labels():
    assert shift_period(date(2026, 11, 1), "quarter", 1) == date(2027, 2, 1)
    assert shift_period(date(2026, 1, 1), "month", -1) == date(2025, 12, 1)
    assert shift_period(date(2026, 7, 1), "half", 1) == date(2027, 1, 1)
    assert period_label(date(2026, 3, 30), "week") == "2026-W14"
    assert period_label(date(2025, 12, 29), "week") == "2026-W01"  # ISO year differs
    assert period_label(date(2026, 4, 1), "quarter") == "2026-Q2"
    assert period_label(date(2026, 7, 1), "half") == "2026-H2"


def test_unknown_grain_is_a_clear_error():
    with pytest.raises(QueryError, match="unknown period 'fortnight'"):
        period_start(date(2026, 1, 1), "fortnight")


def test_engine_and_python_agree_on_every_day_of_two_years():
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(731)]
    t = ibis.memtable(pa.table({"day": pa.array(days, pa.date32())}))
    con = ibis.duckdb.connect()
    exprs = {f"p_{g}": period_start_expr(t.day, g).cast("date") for g in GRAINS}
    result = con.to_pyarrow(t.select(t.day, **exprs)).to_pylist()
    for row in result:
        for grain in GRAINS:
            assert row[f"p_{grain}"] == period_start(row["day"], grain), (row["day"], grain)


# ---- relative dates (hand-computed; 2026-01-02 is a Friday, its ISO week 2025-12-29 to
# 2026-01-04; 2026-03-31 is a Tuesday, its week 2026-03-30 to 2026-04-05) ---------------
NEW_YEAR = date(2026, 1, 2)
MONTH_END = date(2026, 3, 31)


@pytest.mark.parametrize(
    ("text", "today", "first", "last"),
    [
        ("2026-04-05", NEW_YEAR, date(2026, 4, 5), date(2026, 4, 5)),
        ("today", NEW_YEAR, date(2026, 1, 2), date(2026, 1, 2)),
        ("Yesterday", NEW_YEAR, date(2026, 1, 1), date(2026, 1, 1)),
        ("7d", NEW_YEAR, date(2025, 12, 27), date(2026, 1, 2)),
        ("1d", NEW_YEAR, date(2026, 1, 2), date(2026, 1, 2)),
        ("1w", NEW_YEAR, date(2025, 12, 27), date(2026, 1, 2)),
        ("2w", NEW_YEAR, date(2025, 12, 20), date(2026, 1, 2)),
        ("1m", NEW_YEAR, date(2025, 12, 3), date(2026, 1, 2)),
        ("3m", NEW_YEAR, date(2025, 10, 3), date(2026, 1, 2)),
        ("this-week", NEW_YEAR, date(2025, 12, 29), date(2026, 1, 4)),
        ("last-week", NEW_YEAR, date(2025, 12, 22), date(2025, 12, 28)),
        ("this-month", NEW_YEAR, date(2026, 1, 1), date(2026, 1, 31)),
        ("last-month", NEW_YEAR, date(2025, 12, 1), date(2025, 12, 31)),
        # a month end: one month back from the 31st is February's last day
        ("1m", MONTH_END, date(2026, 3, 1), date(2026, 3, 31)),
        ("last-month", MONTH_END, date(2026, 2, 1), date(2026, 2, 28)),
        ("this-week", MONTH_END, date(2026, 3, 30), date(2026, 4, 5)),
        ("last-week", MONTH_END, date(2026, 3, 23), date(2026, 3, 29)),
        ("3m", date(2026, 5, 31), date(2026, 3, 1), date(2026, 5, 31)),
        ("1m", date(2028, 3, 30), date(2028, 3, 1), date(2028, 3, 30)),
    ],
)
def test_parse_date_span(text, today, first, last):
    assert parse_date_span(text, today) == (first, last)


@pytest.mark.parametrize("text", ["fortnight", "0d", "2026-13-01", "7 days", "-3d", ""])
def test_bad_date_lists_the_accepted_forms(text):
    with pytest.raises(QueryError) as caught:
        parse_date_span(text, NEW_YEAR)
    message = str(caught.value)
    assert "\n" not in message
    for form in ("YYYY-MM-DD", "yesterday", "Nd", "this-week", "last-month"):
        assert form in message
