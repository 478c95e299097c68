from datetime import date, timedelta

import ibis
import pyarrow as pa
import pytest

from tokenstat.errors import QueryError
from tokenstat.periods import (
    GRAINS,
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
