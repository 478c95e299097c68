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

import os
import re
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from tokenstat.catalog import Author, Catalog, Model
from tokenstat.metrics import reports
from tokenstat.metrics.facts import attribution
from tokenstat.metrics.reports import Dataset, Selection

# set to a zone name when this file runs again under that local time zone (see the last tests)
ZONE_ENV = "TOKENSTAT_TEST_TZ"


@pytest.fixture(autouse=True)
def local_zone(isolated_env, monkeypatch: pytest.MonkeyPatch):
    """Under ``TOKENSTAT_TEST_TZ``, undo the UTC of the shared test environment."""
    zone = os.environ.get(ZONE_ENV)
    if zone:
        monkeypatch.setenv("TZ", zone)
        time.tzset()
    yield zone


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


# ---- ties, the ISO-year boundary, other time zones ---------------------------------------


def weekly_dataset(weekly: dict[str, list[int]], mondays: list[date]) -> Dataset:
    """A dataset of ``weekly`` tokens per model (models ``cn/*`` from CN, ``us/*`` from US),
    each figure split over the Monday and the Sunday of its week, as `daily_rows` does."""
    cat = Catalog()
    cat.add_author(Author("cn", "CN Lab", "CN", "yes"))
    cat.add_author(Author("us", "US Lab", "US", "no"))
    for model in weekly:
        cat.add_model(Model(model, model.split("/")[0]))
    days, models, inputs = [], [], []
    for model, values in weekly.items():
        for monday, value in zip(mondays, values, strict=True):
            for day, part in (
                (monday, value // 2),
                (monday + timedelta(days=6), value - value // 2),
            ):
                days.append(day)
                models.append(model)
                inputs.append(part)
    n = len(days)
    table = pa.table(
        {
            "day": pa.array(days, pa.date32()),
            "source": pa.array(["market"] * n),
            "model": pa.array(models),
            "provider": pa.array([None] * n, pa.string()),
            "input_tokens": pa.array(inputs, pa.int64()),
            **{
                c: pa.array([0] * n, pa.int64())
                for c in (
                    "output_tokens",
                    "cache_read_tokens",
                    "cache_write_tokens",
                    "reasoning_tokens",
                )
            },
        }
    )
    daily = ibis.duckdb.connect().create_table("daily", table)
    return Dataset(daily=daily, usage=daily, attributed=attribution(cat, weekly, {}), sources=[])


# ranks per week, by hand: W10 a 1, b 2, c 2, d 4 ("1224"); W11 a 1, b 1, c 3, d 4;
# W12 a 1, b 1, c 3, d 3; W13 a 1, b 2, c 2, d 4
TIES = {
    "cn/a": [40, 50, 50, 60],
    "us/b": [30, 50, 50, 20],
    "cn/c": [30, 20, 10, 20],
    "us/d": [10, 5, 10, 10],
}


@pytest.fixture(scope="module")
def ties() -> Dataset:
    return weekly_dataset(TIES, WEEKS[:4])


def ranks(report: dict) -> dict[str, int | None]:
    return {g["key"]: g["rank"] for g in report["groups"]}


def test_ties_share_a_rank_and_the_next_rank_is_skipped(ties):
    expected = {
        date(2026, 3, 2): {"cn/a": 1, "us/b": 2, "cn/c": 2, "us/d": 4},
        date(2026, 3, 9): {"cn/a": 1, "us/b": 1, "cn/c": 3, "us/d": 4},
        date(2026, 3, 16): {"cn/a": 1, "us/b": 1, "cn/c": 3, "us/d": 3},
        date(2026, 3, 23): {"cn/a": 1, "us/b": 2, "cn/c": 2, "us/d": 4},
    }
    for monday, want in expected.items():
        assert ranks(reports.summary(ties, by="model", grain="week", at=monday)) == want


def test_rank_change_across_a_tie(ties):
    rows = reports.top(ties, by="model", grain="week", at=date(2026, 3, 9), limit=4)["rows"]
    # previous ranks 1, 2, 2, 4; now 1, 1, 3, 4; change = previous - now
    assert {r["key"]: r["rank_change"] for r in rows} == {
        "cn/a": 0,
        "us/b": 1,
        "cn/c": -1,
        "us/d": 0,
    }


def test_leader_streak_under_ties_counts_every_holder_of_rank_1(ties):
    streaks = {
        date(2026, 3, 2): {"cn/a": 1, "us/b": 0},
        date(2026, 3, 9): {"cn/a": 2, "us/b": 1},
        date(2026, 3, 16): {"cn/a": 3, "us/b": 2},
        date(2026, 3, 23): {"cn/a": 4, "us/b": 0},
    }
    for monday, want in streaks.items():
        g = by_key(reports.summary(ties, by="model", grain="week", at=monday))
        assert {k: g[k]["leader_streak"] for k in want} == want


def test_a_tie_is_not_a_lead(ties):
    # a > b strictly in W10 and W13 only; the ties of W11 and W12 break the streak
    report = reports.lead(ties, "cn/a", "us/b", by="model", grain="week")
    assert [p["a_leads"] for p in report["periods"]] == [True, False, False, True]
    assert report["streak"] == 1
    assert report["first_crossover"] == "2026-03-23"
    at_w12 = reports.lead(ties, "cn/a", "us/b", by="model", grain="week", at=date(2026, 3, 16))
    assert at_w12["streak"] == 0


# 2020 has 53 ISO weeks: 2020-W53 is Mon 2020-12-28 .. Sun 2021-01-03
MONDAYS_2020 = [date(2020, 12, 21), date(2020, 12, 28), date(2021, 1, 4), date(2021, 1, 11)]
# 2025 has 52: 2026-W01 is Mon 2025-12-29 .. Sun 2026-01-04
MONDAYS_2025 = [date(2025, 12, 15), date(2025, 12, 22), date(2025, 12, 29), date(2026, 1, 5)]


@pytest.fixture(scope="module")
def year_2020() -> Dataset:
    return weekly_dataset({"cn/x": [10, 20, 50, 40], "us/y": [30, 25, 30, 60]}, MONDAYS_2020)


@pytest.fixture(scope="module")
def year_2025() -> Dataset:
    return weekly_dataset({"cn/x": [90, 100, 150, 120], "us/y": [80, 120, 100, 130]}, MONDAYS_2025)


def test_week_53_is_one_week_across_new_year(year_2020):
    report = reports.summary(year_2020, by="origin", grain="week", at=date(2021, 1, 2))
    assert (report["period"]["start"], report["period"]["end"]) == ("2020-12-28", "2021-01-03")
    assert report["total"]["tokens"] == 20 + 25
    assert report["total"]["previous"] == 10 + 30


def test_growth_and_leader_streak_from_2020_w53_into_2021_w01(year_2020):
    report = reports.summary(year_2020, by="origin", grain="week", at=date(2021, 1, 4))
    g = by_key(report)
    assert report["period"]["start"] == "2021-01-04"
    assert g["CN"]["growth"] == pytest.approx(50 / 20 - 1)
    assert g["US"]["growth"] == pytest.approx(30 / 25 - 1)
    assert g["CN"]["share_shift_pp"] == pytest.approx((50 / 80 - 20 / 45) * 100)
    assert (g["CN"]["leader_streak"], g["US"]["leader_streak"]) == (1, 0)
    w53 = by_key(reports.summary(year_2020, by="origin", grain="week", at=date(2020, 12, 28)))
    assert w53["US"]["leader_streak"] == 2  # W52 and W53


def test_lead_and_trend_across_2020_w53(year_2020):
    report = reports.lead(year_2020, "CN", "US", by="origin", grain="week")
    assert [p["a_leads"] for p in report["periods"]] == [False, False, True, False]
    assert report["first_crossover"] == "2021-01-04"
    trend = reports.trend(year_2020, by="origin", grain="week", last=3, at=date(2021, 1, 4))
    cells = {(r["start"], r["key"]): r["tokens"] for r in trend["rows"]}
    assert cells == {
        ("2020-12-21", "CN"): 10,
        ("2020-12-21", "US"): 30,
        ("2020-12-28", "CN"): 20,
        ("2020-12-28", "US"): 25,
        ("2021-01-04", "CN"): 50,
        ("2021-01-04", "US"): 30,
    }


def test_growth_streaks_and_trend_from_2025_w52_into_2026_w01(year_2025):
    report = reports.summary(year_2025, by="origin", grain="week", at=date(2026, 1, 1))
    g = by_key(report)
    assert (report["period"]["start"], report["period"]["end"]) == ("2025-12-29", "2026-01-04")
    assert g["CN"]["growth"] == pytest.approx(150 / 100 - 1)
    assert g["US"]["growth"] == pytest.approx(100 / 120 - 1)
    assert (g["CN"]["leader_streak"], g["US"]["leader_streak"]) == (1, 0)
    w52 = by_key(reports.summary(year_2025, by="origin", grain="week", at=date(2025, 12, 28)))
    assert w52["US"]["leader_streak"] == 1 and w52["CN"]["leader_streak"] == 0
    lead = reports.lead(year_2025, "CN", "US", by="origin", grain="week")
    assert [p["a_leads"] for p in lead["periods"]] == [True, False, True, False]
    assert lead["first_crossover"] == "2025-12-29" and lead["streak"] == 0
    trend = reports.trend(year_2025, by="origin", grain="week", last=2, at=date(2026, 1, 5))
    cells = {(r["start"], r["key"]): r["tokens"] for r in trend["rows"]}
    assert cells == {
        ("2025-12-29", "CN"): 150,
        ("2025-12-29", "US"): 100,
        ("2026-01-05", "CN"): 120,
        ("2026-01-05", "US"): 130,
    }


def test_the_local_time_zone_is_in_effect(local_zone):
    offset = datetime(2026, 1, 15, 12).astimezone().utcoffset()
    # Los Angeles is UTC-8 and Shanghai UTC+8 in January; the shared environment is UTC
    expected = {"America/Los_Angeles": -8, "Asia/Shanghai": 8}.get(local_zone, 0)
    assert offset == timedelta(hours=expected)


# the tests whose answers hang on where a day or a period starts
ZONE_SENSITIVE = (
    "summary_week_12 or default_period or month_grain or week_53 or 2020_w53 or 2025_w52 "
    "or lead_streak_and_crossovers or local_time_zone_is_in_effect"
)


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Shanghai"])
def test_metrics_do_not_change_with_the_local_time_zone(zone: str):
    """The period-sensitive tests of this file, run again in a fresh process whose local
    zone is ``zone``, give the same (hand-computed) answers."""
    if os.environ.get(ZONE_ENV):
        pytest.skip("this run is already under another zone")
    env = {**os.environ, "TZ": zone, ZONE_ENV: zone}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__]
    done = subprocess.run(
        [*command, "-k", ZONE_SENSITIVE],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed and int(passed.group(1)) == 9, done.stdout[-500:]
