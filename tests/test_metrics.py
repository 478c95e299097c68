"""Metric definitions checked against values worked out by hand.

Five ISO weeks (Mondays 2026-03-02 .. 2026-03-30), three models whose origins are CN, US
and unknown. Weekly tokens (input + output) per origin, as written into the ledger:

    week   CN    US   unknown   all
    W10    10    20      0       30
    W11    30    25      5       60
    W12    66    50     10      126
    W13    90   100     10      200
    W14   150   100      0      250
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import pyarrow as pa
import pytest

from tokenstat.catalog import Author, Catalog, Model
from tokenstat.metrics import reports
from tokenstat.metrics.facts import attribution
from tokenstat.metrics.reports import Dataset, Selection

WEEKS = [date(2026, 3, 2) + timedelta(weeks=i) for i in range(5)]
WEEKLY = {
    "lab-cn/m1": [10, 30, 66, 90, 150],
    "lab-us/m2": [20, 25, 50, 100, 100],
    "mystery": [0, 5, 10, 10, 0],
}


def _catalog() -> Catalog:
    cat = Catalog()
    cat.add_author(Author("lab-cn", "CN Lab", "CN", "yes"))
    cat.add_author(Author("lab-us", "US Lab", "US", "no"))
    cat.add_model(Model("lab-cn/m1", "lab-cn"))
    cat.add_model(Model("lab-us/m2", "lab-us"))
    return cat


def daily_rows() -> pa.Table:
    """Each weekly figure split over two days of the week (Monday and Sunday) and into
    input and output tokens, so week truncation and the total are both exercised."""
    rows = {
        k: []
        for k in (
            "day",
            "source",
            "model",
            "provider",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
        )
    }
    for model, values in WEEKLY.items():
        for monday, value in zip(WEEKS, values, strict=True):
            if value == 0:
                continue
            for day, part in (
                (monday, value // 2),
                (monday + timedelta(days=6), value - value // 2),
            ):
                rows["day"].append(day)
                rows["source"].append("market")
                rows["model"].append(model)
                rows["provider"].append(None)
                rows["input_tokens"].append(part - 1)
                rows["output_tokens"].append(1)
                rows["cache_read_tokens"].append(0)
                rows["cache_write_tokens"].append(0)
                rows["reasoning_tokens"].append(0)
    return pa.table(rows).cast(
        pa.schema(
            [
                ("day", pa.date32()),
                ("source", pa.string()),
                ("model", pa.string()),
                ("provider", pa.string()),
            ]
            + [(c, pa.int64()) for c in list(rows)[4:]]
        )
    )


def make_dataset(con: ibis.BaseBackend) -> Dataset:
    table = daily_rows()
    name = "daily_" + con.name
    daily = con.create_table(name, table, overwrite=True)
    cat = _catalog()
    attributed = attribution(cat, WEEKLY, {})
    return Dataset(daily=daily, usage=daily, attributed=attributed, sources=[])


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return make_dataset(ibis.duckdb.connect())


def by_key(report: dict) -> dict:
    return {g["key"]: g for g in report["groups"]}


def test_summary_week_12(ds):
    report = reports.summary(ds, by="origin", grain="week", at=date(2026, 3, 19))
    assert report["period"] == {
        "grain": "week",
        "start": "2026-03-16",
        "end": "2026-03-22",
        "complete": True,
        "data_through": "2026-04-05",
    }
    assert report["total"] == {"tokens": 126, "previous": 60, "growth": 126 / 60 - 1}
    g = by_key(report)
    assert [x["key"] for x in report["groups"]] == ["CN", "US", "unknown"]
    assert g["CN"]["tokens"] == 66 and g["CN"]["previous"] == 30
    assert g["CN"]["growth"] == pytest.approx(66 / 30 - 1)
    assert g["CN"]["share"] == pytest.approx(66 / 126)
    assert g["CN"]["share_previous"] == pytest.approx(30 / 60)
    assert g["CN"]["share_shift_pp"] == pytest.approx((66 / 126 - 30 / 60) * 100)
    assert (g["CN"]["rank"], g["CN"]["rank_previous"]) == (1, 1)
    assert g["CN"]["leader_streak"] == 2  # led W11 and W12, not W10
    assert (g["US"]["rank"], g["US"]["leader_streak"]) == (2, 0)
    assert g["unknown"]["growth"] == pytest.approx(10 / 5 - 1)
    # share denominator includes unknown; attributed share excludes it
    assert report["attributed_share"] == pytest.approx(116 / 126)


def test_growth_undefined_when_previous_is_zero_or_missing(ds):
    first = reports.summary(ds, by="origin", grain="week", at=date(2026, 3, 2))
    assert first["total"]["previous"] is None and first["total"]["growth"] is None
    assert all(g["growth"] is None for g in first["groups"])
    w11 = by_key(reports.summary(ds, by="origin", grain="week", at=date(2026, 3, 9)))
    assert w11["unknown"]["previous"] == 0 and w11["unknown"]["growth"] is None


def test_group_that_drops_to_zero_is_listed_with_minus_100_percent(ds):
    w14 = by_key(reports.summary(ds, by="origin", grain="week", at=date(2026, 3, 30)))
    assert w14["unknown"]["tokens"] == 0 and w14["unknown"]["growth"] == -1.0
    assert w14["unknown"]["rank"] is None


def test_leader_streak_resets_and_ties_share_rank(ds):
    w13 = by_key(reports.summary(ds, by="origin", grain="week", at=date(2026, 3, 23)))
    assert (w13["US"]["rank"], w13["US"]["leader_streak"]) == (1, 1)
    assert w13["CN"]["leader_streak"] == 0
    # W14: CN 150 leads; US 100, previous 100 -> growth exactly 0
    w14 = by_key(reports.summary(ds, by="origin", grain="week", at=date(2026, 3, 30)))
    assert w14["US"]["growth"] == 0.0
    assert w14["US"]["rank"] == 2 and w14["US"]["rank_previous"] == 1


def test_lead_streak_and_crossovers(ds):
    report = reports.lead(ds, "CN", "US", by="origin", grain="week")
    assert [p["a_leads"] for p in report["periods"]] == [False, True, True, False, True]
    assert report["streak"] == 1
    assert report["first_crossover"] == "2026-03-09"
    assert report["latest_crossover"] == "2026-03-30"
    at_w12 = reports.lead(ds, "CN", "US", by="origin", grain="week", at=date(2026, 3, 16))
    assert at_w12["streak"] == 2 and len(at_w12["periods"]) == 3


def test_top_with_rank_change_top_k_share_and_hhi(ds):
    report = reports.top(ds, by="model", grain="week", at=date(2026, 3, 23), limit=2)
    rows = report["rows"]
    assert [r["key"] for r in rows] == ["lab-us/m2", "lab-cn/m1"]
    assert rows[0]["rank_change"] == 2 - 1  # was 2nd in W12, 1st now
    assert rows[1]["rank_change"] == 1 - 2
    assert (rows[0]["author"], rows[0]["origin"]) == ("lab-us", "US")
    assert report["top_k_share"] == pytest.approx(190 / 200)
    shares = [100 / 200, 90 / 200, 10 / 200]
    assert report["hhi"] == pytest.approx(sum(s * s for s in shares) * 10_000)


def test_trend_rows_and_month_grain(ds):
    report = reports.trend(ds, by="origin", grain="week", last=2, at=date(2026, 3, 23))
    starts = sorted({r["start"] for r in report["rows"]})
    assert starts == ["2026-03-16", "2026-03-23"]
    month = reports.summary(ds, by="origin", grain="month", at=date(2026, 4, 1))
    # all five weeks' Mondays and Sundays fall in March 2026 except W14's Sunday (Apr 5)
    assert month["period"]["start"] == "2026-04-01"
    assert month["period"]["complete"] is False
    assert month["total"]["tokens"] == 150 - 75 + 100 - 50


def test_default_period_is_the_latest_complete_one(ds):
    # data runs to Sunday 2026-04-05: the week is complete, April is not
    assert reports.summary(ds, grain="week")["period"]["start"] == "2026-03-30"
    march = reports.summary(ds, grain="month")["period"]
    assert (march["start"], march["complete"]) == ("2026-03-01", True)
    # with no complete period at all, the only one is reported
    assert reports.summary(ds, grain="year")["period"]["start"] == "2026-01-01"


def test_token_kinds(ds):
    report = reports.summary(
        ds, by="origin", grain="week", at=date(2026, 3, 2), sel=Selection(kind="output")
    )
    # one output token per row, two rows per model-week with tokens
    assert report["total"]["tokens"] == 4


def test_open_weights_and_author_dimensions(ds):
    ow = by_key(reports.summary(ds, by="open_weights", grain="week", at=date(2026, 3, 2)))
    assert ow["open"]["tokens"] == 10 and ow["closed"]["tokens"] == 20
    authors = by_key(reports.summary(ds, by="author", grain="week", at=date(2026, 3, 9)))
    assert set(authors) == {"lab-cn", "lab-us", "unknown"}
