"""The bundled synthetic sample market data: reproducible, and calibrated as documented.

Expected figures are computed here with plain pyarrow and Python, not with tokenstat's
metric code, so the sample can be used to test that code.
"""

from __future__ import annotations

import csv
import gzip
from collections import Counter, defaultdict
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from tokenstat.sample.generate import generate, to_csv_bytes, write

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src" / "tokenstat" / "sample" / "data" / "sample_market.csv.gz"
CATALOG = ROOT / "src" / "tokenstat" / "catalog" / "data"

FIRST_DAY = date(2025, 1, 27)
LAST_WEEK = date(2026, 3, 30)
N_WEEKS = 62


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def shipped() -> pa.Table:
    return pacsv.read_csv(
        SAMPLE,
        convert_options=pacsv.ConvertOptions(
            column_types={
                "date": pa.date32(),
                "model": pa.string(),
                "input_tokens": pa.int64(),
                "output_tokens": pa.int64(),
            }
        ),
    )


@pytest.fixture(scope="module")
def models() -> dict[str, dict[str, str]]:
    return {row["model"]: row for row in _read_csv(CATALOG / "models.csv")}


@pytest.fixture(scope="module")
def country(models: dict[str, dict[str, str]]) -> dict[str, str]:
    """model id -> origin country ('' when the author has none; absent for ``other``)."""
    countries = {row["author"]: row["country"] for row in _read_csv(CATALOG / "authors.csv")}
    return {model: countries[row["author"]] for model, row in models.items()}


@pytest.fixture(scope="module")
def rows(shipped: pa.Table) -> list[dict]:
    return shipped.to_pylist()


@pytest.fixture(scope="module")
def weekly(rows: list[dict], country: dict[str, str]) -> dict[date, Counter]:
    """ISO week start -> tokens (input + output) by origin country, plus 'ALL'."""
    out: dict[date, Counter] = defaultdict(Counter)
    for r in rows:
        week = r["date"] - timedelta(days=r["date"].weekday())
        tokens = r["input_tokens"] + r["output_tokens"]
        out[week][country.get(r["model"], "")] += tokens
        out[week]["ALL"] += tokens
    return dict(out)


def test_shipped_file_is_the_generator_output(shipped: pa.Table, tmp_path: Path) -> None:
    fresh = generate()
    assert fresh.column_names == ["date", "model", "input_tokens", "output_tokens"]
    assert fresh.equals(shipped)
    write(tmp_path / "again.csv.gz")
    assert (tmp_path / "again.csv.gz").read_bytes() == SAMPLE.read_bytes()
    assert to_csv_bytes(generate()) == SAMPLE.read_bytes()


def test_file_is_a_plain_csv_of_modest_size() -> None:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        first = f.readline()
    assert first == "date,model,input_tokens,output_tokens\n"
    assert SAMPLE.stat().st_size < 1_500_000


def test_period_and_coverage(rows: list[dict], country: dict[str, str]) -> None:
    days = sorted({r["date"] for r in rows})
    assert days[0] == FIRST_DAY and days[0].weekday() == 0
    assert days[-1] == date(2026, 4, 5) and days[-1].weekday() == 6
    assert len(days) == N_WEEKS * 7 == (days[-1] - days[0]).days + 1
    assert len({d - timedelta(days=d.weekday()) for d in days}) == N_WEEKS
    assert len({(r["date"], r["model"]) for r in rows}) == len(rows)

    named = {r["model"] for r in rows} - {"other"}
    assert "other" in {r["model"] for r in rows}
    assert len(named) >= 60
    assert len({m.split("/")[0] for m in named}) >= 20
    countries = {country[m] for m in named} - {""}
    assert len(countries) >= 6
    assert {"CN", "US"} <= countries


def test_models_and_authors_are_in_the_catalog(
    rows: list[dict], models: dict[str, dict[str, str]], country: dict[str, str]
) -> None:
    names = {r["model"] for r in rows} - {"other"}
    assert names <= set(models), sorted(names - set(models))
    authors = {models[m]["author"] for m in names}
    assert len(authors) >= 20
    assert all(m in country for m in names)


def test_counts_are_non_negative_with_plausible_ratios(rows: list[dict]) -> None:
    assert all(r["input_tokens"] >= 0 and r["output_tokens"] >= 0 for r in rows)
    assert all(r["input_tokens"] + r["output_tokens"] > 0 for r in rows)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        totals[r["model"]][0] += r["input_tokens"]
        totals[r["model"]][1] += r["output_tokens"]
    for model, (inp, out) in totals.items():
        assert 3.0 <= inp / out <= 10.0, model


def test_no_rows_before_release(rows: list[dict], models: dict[str, dict[str, str]]) -> None:
    first: dict[str, date] = {}
    for r in rows:
        first.setdefault(r["model"], r["date"])
    for model, day in first.items():
        if model == "other":
            continue
        released = date.fromisoformat(models[model]["released"])
        assert day == max(released, FIRST_DAY), model


def test_weekends_are_lower(rows: list[dict]) -> None:
    by_weekday: Counter = Counter()
    for r in rows:
        by_weekday[r["date"].weekday()] += r["input_tokens"] + r["output_tokens"]
    weekday = sum(by_weekday[d] for d in range(5)) / 5
    weekend = sum(by_weekday[d] for d in (5, 6)) / 2
    assert 0.70 <= weekend / weekday <= 0.90


def test_final_two_weeks_are_calibrated(weekly: dict[date, Counter]) -> None:
    last, prev = weekly[LAST_WEEK], weekly[LAST_WEEK - timedelta(days=7)]
    assert last["CN"] == 12_960_000_000_000
    assert last["US"] == 3_030_000_000_000
    assert last["ALL"] == 27_000_000_000_000
    assert prev["CN"] == round(Fraction(12_960_000_000_000) / Fraction("1.3148"))
    assert prev["US"] == round(Fraction(3_030_000_000_000) / Fraction("1.0076"))
    assert prev["ALL"] == round(Fraction(27_000_000_000_000) / Fraction("1.189"))
    assert round(last["CN"] / prev["CN"] - 1, 4) == 0.3148
    assert round(last["US"] / prev["US"] - 1, 4) == 0.0076
    assert round(last["ALL"] / prev["ALL"] - 1, 4) == 0.1890
    assert round(last["CN"] / last["ALL"], 2) == 0.48


def test_china_leads_for_exactly_five_weeks(weekly: dict[date, Counter]) -> None:
    weeks = sorted(weekly)
    assert len(weeks) == N_WEEKS and weeks[-1] == LAST_WEEK
    streak = 0
    for week in reversed(weeks):
        if weekly[week]["CN"] > weekly[week]["US"]:
            streak += 1
        else:
            break
    assert streak == 5
    assert weeks[-5] == date(2026, 3, 2)
    assert weekly[date(2026, 2, 23)]["CN"] <= weekly[date(2026, 2, 23)]["US"]


def test_history_is_plausible(weekly: dict[date, Counter], rows: list[dict]) -> None:
    weeks = sorted(weekly)
    first, last = weekly[weeks[0]], weekly[weeks[-1]]
    assert last["ALL"] > 5 * first["ALL"]
    assert first["CN"] < 0.5 * first["US"]
    other_last = sum(
        r["input_tokens"] + r["output_tokens"]
        for r in rows
        if r["model"] == "other" and r["date"] >= LAST_WEEK
    )
    assert other_last >= 0.15 * last["ALL"]
