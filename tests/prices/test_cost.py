"""Cost of ledger rows in the engine: modes, unpriced rows, mismatches, genai-prices' own
calc_price as the oracle, and the same totals on Spark."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta

import genai_prices
import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from genai_prices import data_snapshot
from tests.prices.conftest import import_rows, request

from tokenstat import api
from tokenstat.catalog import shipped_catalog
from tokenstat.prices.book import GENAI_SOURCE, PriceBook
from tokenstat.prices.cost import CostInputs, Slice, cost_report, costed

WHEN = datetime(2026, 4, 2, 12, tzinfo=UTC)

# Costs by hand from genai-prices' prices (USD per million tokens) on 2026-04-02:
# claude-opus-4-6: input 5, cache read 0.5, cache write 6.25, output 25
OPUS = (100_000 - 20_000 - 10_000) * 5e-6 + 20_000 * 0.5e-6 + 10_000 * 6.25e-6 + 10_000 * 25e-6
# deepseek-v3.2: input 0.2288, output 0.3432
DEEPSEEK_BIG = 1_000_000 * 0.2288e-6 + 200_000 * 0.3432e-6
DEEPSEEK_SMALL = 10_000 * 0.2288e-6 + 1_000 * 0.3432e-6
# gpt-4o: input 2.5, output 10
GPT4O = 1_000 * 2.5e-6 + 1_000 * 10e-6


def rows() -> list[dict]:
    return [
        request(
            "r1",
            WHEN,
            "anthropic/claude-opus-4.6",
            provider="anthropic",
            input_tokens=100_000,
            cache_read=20_000,
            cache_write=10_000,
            output=10_000,
            cost=0.80,
            app="support-bot",
        ),
        request(
            "r2",
            WHEN,
            "deepseek/deepseek-v3.2",
            input_tokens=1_000_000,
            output=200_000,
            app="support-bot",
        ),
        request(
            "r3", WHEN, "acme/unknown-1", input_tokens=1_000, output=100, cost=0.5, app="batch"
        ),
        request(
            "r4",
            WHEN,
            "deepseek/deepseek-v3.2",
            provider="deepseek",
            input_tokens=10_000,
            output=1_000,
            cost=0.002,
        ),
        request(
            "r5",
            WHEN,
            "openai/gpt-4o",
            provider="openai",
            input_tokens=1_000,
            output=1_000,
            cost=GPT4O,
        ),
    ]


@pytest.fixture
def ledger_rows(db, invoke, tmp_path):
    import_rows(db, rows())
    # market data with totals only: all of it in input tokens, none in output
    market = tmp_path / "totals.csv"
    market.write_text("date,model,tokens\n2026-04-02,deepseek/deepseek-v3.2,5000000\n")
    assert invoke("import", "market", str(market)).exit_code == 0
    return db


def cost_json(invoke, *args: str) -> dict:
    result = invoke("cost", "--period", "day", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_hand_computed_costs_agree_with_calc_price():
    usage = genai_prices.Usage(
        input_tokens=100_000,
        cache_read_tokens=20_000,
        cache_write_tokens=10_000,
        output_tokens=10_000,
    )
    oracle = genai_prices.calc_price(
        usage, "claude-opus-4-6", provider_id="anthropic", genai_request_timestamp=WHEN
    )
    assert float(oracle.total_price) == pytest.approx(OPUS)


def test_computed_mode(invoke, ledger_rows):
    report = cost_json(invoke, "--mode", "computed", "--by", "model")
    assert report["mode"] == "computed"
    by_key = {r["key"]: r for r in report["rows"]}
    assert by_key["anthropic/claude-opus-4.6"]["cost"] == pytest.approx(OPUS)
    assert by_key["deepseek/deepseek-v3.2"]["cost"] == pytest.approx(DEEPSEEK_BIG + DEEPSEEK_SMALL)
    assert by_key["acme/unknown-1"]["cost"] is None  # never $0
    assert report["total"]["cost"] == pytest.approx(OPUS + DEEPSEEK_BIG + DEEPSEEK_SMALL + GPT4O)
    reasons = {(u["model"], u["reason"]): u for u in report["unpriced"]}
    assert set(reasons) == {
        ("acme/unknown-1", "model not in the price schedule"),
        ("deepseek/deepseek-v3.2", "no input/output split"),
    }
    assert reasons[("deepseek/deepseek-v3.2", "no input/output split")]["tokens"] == 5_000_000
    total_tokens = 100_000 + 10_000 + 1_200_000 + 1_100 + 11_000 + 2_000 + 5_000_000
    assert report["total"]["tokens"] == total_tokens
    assert report["total"]["unpriced_share"] == pytest.approx((1_100 + 5_000_000) / total_tokens)
    assert report["total"]["unpriced_rows"] == 2
    deepseek = by_key["deepseek/deepseek-v3.2"]
    assert deepseek["unpriced_share"] == pytest.approx(5_000_000 / (5_000_000 + 1_200_000 + 11_000))


def test_reported_mode(invoke, ledger_rows):
    report = cost_json(invoke, "--mode", "reported")
    assert report["total"]["cost"] == pytest.approx(0.80 + 0.5 + 0.002 + GPT4O)
    assert {u["reason"] for u in report["unpriced"]} == {"no reported cost"}
    assert report["total"]["unpriced_rows"] == 2  # r2 and the market row
    assert report["pricing"] == []


def test_auto_mode_by_app(invoke, ledger_rows):
    report = cost_json(invoke, "--by", "app")
    by_key = {r["key"]: r for r in report["rows"]}
    assert by_key["support-bot"]["cost"] == pytest.approx(0.80 + DEEPSEEK_BIG)
    assert by_key["batch"]["cost"] == pytest.approx(0.5)
    assert by_key["(none)"]["cost"] == pytest.approx(0.002 + GPT4O)  # the market row is unpriced
    assert report["total"]["reported_rows"] == 4
    assert [u["reason"] for u in report["unpriced"]] == ["no input/output split"]


def test_slices(invoke, ledger_rows):
    report = cost_json(invoke, "--where", "app=support-bot", "--mode", "computed")
    assert report["total"]["cost"] == pytest.approx(OPUS + DEEPSEEK_BIG)
    assert report["slice"]["where"] == {"app": "support-bot"}
    by_origin = cost_json(invoke, "--where", "origin=CN", "--by", "origin", "--mode", "computed")
    assert [r["key"] for r in by_origin["rows"]] == ["CN"]
    nothing = invoke("cost", "--since", "2026-05-01")
    assert nothing.exit_code == 1 and "no rows for this selection" in nothing.stderr
    bad = invoke("cost", "--where", "colour=red")
    assert bad.exit_code == 1 and "--where: unknown dimension 'colour'" in bad.stderr


def test_pricing_basis_is_listed(invoke, ledger_rows):
    report = cost_json(invoke, "--mode", "computed")
    basis = {(p["provider"], p["model"]): p for p in report["pricing"]}
    assert basis[(None, "deepseek/deepseek-v3.2")]["basis"] == "first-party"
    assert basis[("anthropic", "anthropic/claude-opus-4.6")]["basis"] == "provider"
    assert basis[(None, "acme/unknown-1")]["priced_as"] is None


def test_mismatch(invoke, ledger_rows):
    result = invoke("cost", "--mismatch", "--json")
    report = json.loads(result.stdout)
    rows = {(r["model"], r["provider"]): r for r in report["rows"]}
    opus = rows[("anthropic/claude-opus-4.6", "anthropic")]
    assert (opus["rows_compared"], opus["rows_mismatched"]) == (1, 1)
    assert opus["difference"] == pytest.approx(0.80 - OPUS)
    assert opus["difference_pct"] == pytest.approx((0.80 - OPUS) / OPUS)
    assert rows[("deepseek/deepseek-v3.2", "deepseek")]["rows_mismatched"] == 1
    assert rows[("openai/gpt-4o", "openai")]["rows_mismatched"] == 0
    assert report["total"]["unchecked_rows"] == 1  # acme/unknown-1 has no computed price
    assert report["total"]["rows_mismatched"] == 2
    text = invoke("cost", "--mismatch").stdout
    assert "2 of 3 rows with both costs differ by more than 1.0%" in text
    # a looser tolerance lets the deepseek row (24% off) through but not opus (19%)... both
    loose = json.loads(invoke("cost", "--mismatch", "--tolerance", "0.2", "--json").stdout)
    assert loose["total"]["rows_mismatched"] == 1


def test_cost_table_for_people(invoke, ledger_rows):
    result = invoke("cost", "--by", "model", "--period", "month")
    assert result.exit_code == 0, result.output
    assert "Cost by model per month (mode: auto)" in result.stdout
    assert "no input/output split" in result.stdout
    assert "not counted as $0" in result.stdout


# ---- oracle: a few hundred random own-usage rows through a real ledger ---------------------

ORACLE_PAIRS = [
    ("anthropic", "anthropic/claude-opus-4.6"),  # tiers before 2026-03-13, flat after
    (None, "anthropic/claude-sonnet-4.5"),  # tiers above 200K input
    ("google-vertex", "google/gemini-2.5-pro"),  # a provider name matched by rules
    (None, "deepseek/deepseek-v3.2"),
    ("openrouter", "deepseek/deepseek-v3.2"),  # OpenRouter's price changes in 2026-10
    ("deepseek", "deepseek/deepseek-chat"),
    ("openai", "openai/gpt-4o"),
    (None, "moonshotai/kimi-k2.5"),
    ("together", "qwen/qwen3-235b-a22b"),  # neither Together nor Qwen priced: OpenRouter's
]


def _models():
    return {
        (provider.id, model.id): (provider, model)
        for provider in data_snapshot.get_snapshot().providers
        for model in provider.models
    }


def test_ledger_cost_equals_calc_price(db):
    rng = random.Random(20260405)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    span = int(timedelta(days=640).total_seconds())
    generated = []
    for index in range(400):
        provider, model = rng.choice(ORACLE_PAIRS)
        size = int(rng.lognormvariate(9.5, 1.6)) % 400_000
        if rng.random() < 0.15:
            size = rng.choice([200_000, 200_001, 199_999, 272_000, 128_000, 128_001])
        cache_read = 0 if rng.random() < 0.4 else rng.randint(0, size)
        cache_write = 0 if rng.random() < 0.6 else rng.randint(0, size - cache_read)
        output = rng.randint(0, 30_000)
        reasoning = 0 if rng.random() < 0.5 else rng.randint(0, output)
        ts = start + timedelta(seconds=rng.randrange(span), microseconds=rng.randrange(10**6))
        generated.append(
            request(
                f"o{index}",
                ts,
                model,
                provider=provider,
                input_tokens=size,
                cache_read=cache_read,
                cache_write=cache_write,
                output=output,
                reasoning=reasoning,
            )
        )
    import_rows(db, generated)
    catalog = shipped_catalog()
    with api.open_ledger(db, read_only=True) as ledger:
        inputs = api.cost_inputs(ledger, catalog)
        priced = costed(inputs.usage, inputs.schedule(), "computed")
        got = {
            r["event_id"]: r["cost_computed"]
            for r in priced.select("event_id", "cost_computed").to_pyarrow().to_pylist()
        }
    book = PriceBook(catalog)
    models = _models()
    failures = []
    for row in generated:
        key, _ = book.chain(row["provider"], row["model"])[0]
        assert key.source == GENAI_SOURCE
        provider, model = models[(key.provider, key.model)]
        usage = genai_prices.Usage(
            input_tokens=row["input_tokens"],
            cache_read_tokens=row["cache_read_tokens"],
            cache_write_tokens=row["cache_write_tokens"],
            output_tokens=row["output_tokens"],
            output_reasoning_tokens=row["reasoning_tokens"],
        )
        expected = float(
            model.calc_price(usage, provider, genai_request_timestamp=row["ts"]).total_price
        )
        cost = got[row["event_id"]]
        if cost is None or not math.isclose(cost, expected, rel_tol=1e-9, abs_tol=1e-12):
            failures.append((row, cost, expected))
    assert not failures, f"{len(failures)} of {len(generated)} differ, e.g. {failures[:2]}"


# ---- Spark parity ---------------------------------------------------------------------------


def _usage_table(rows_: list[dict]) -> pa.Table:
    out = []
    for r in rows_:
        out.append(
            {
                "event_id": r["event_id"],
                "ts": r["ts"],
                "day": r["ts"].date(),
                "grain": "request",
                "source": "test",
                "model": r["model"],
                "provider": r["provider"],
                "app": r["app"],
                "input_tokens": r["input_tokens"],
                "cache_read_tokens": r["cache_read_tokens"],
                "cache_write_tokens": r["cache_write_tokens"],
                "output_tokens": r["output_tokens"],
                "reasoning_tokens": r["reasoning_tokens"],
                "requests": r["requests"],
                "cost_reported": r["cost_reported"],
            }
        )
    return pa.Table.from_pylist(out).cast(
        pa.schema(
            [
                ("event_id", pa.string()),
                ("ts", pa.timestamp("us", tz="UTC")),
                ("day", pa.date32()),
                ("grain", pa.string()),
                ("source", pa.string()),
                ("model", pa.string()),
                ("provider", pa.string()),
                ("app", pa.string()),
                ("input_tokens", pa.int64()),
                ("cache_read_tokens", pa.int64()),
                ("cache_write_tokens", pa.int64()),
                ("output_tokens", pa.int64()),
                ("reasoning_tokens", pa.int64()),
                ("requests", pa.int64()),
                ("cost_reported", pa.float64()),
            ]
        )
    )


@pytest.mark.spark
def test_same_cost_totals_on_spark(spark_con, tmp_path):
    rng = random.Random(11)
    generated = rows()
    for index in range(150):
        provider, model = rng.choice(ORACLE_PAIRS)
        size = rng.choice([1_000, 50_000, 199_999, 200_001, 300_000])
        generated.append(
            request(
                f"s{index}",
                datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(24 * 120)),
                model,
                provider=provider,
                input_tokens=size,
                cache_read=size // 4,
                output=rng.randint(0, 5_000),
                cost=None if rng.random() < 0.5 else 0.01,
                app=rng.choice(["a", "b", None]),
            )
        )
    table = _usage_table(generated)
    catalog = shipped_catalog()
    book = PriceBook(catalog)
    pairs = sorted({(r["provider"], r["model"]) for r in generated}, key=str)
    attributed = ibis.memtable(
        catalog.attribution_table([m for _, m in pairs]).select(
            ["stored", "model", "author", "origin", "open_weights"]
        )
    )
    # through Parquet, as a Spark ledger is stored: null costs stay null (a table made from
    # Arrow through pandas would hold NaN)
    parquet = tmp_path / "usage.parquet"
    pq.write_table(table, parquet)
    engines = {
        "duckdb": ibis.duckdb.connect().read_parquet(parquet, table_name="usage_parity"),
        "spark": spark_con.read_parquet(str(parquet), table_name="usage_parity_cost"),
    }
    results = {}
    for name, usage in engines.items():
        inputs = CostInputs(usage=usage, attributed=attributed, book=book, pairs=pairs)
        for mode in ("computed", "auto"):
            for by in ("model", "app", "origin"):
                report = cost_report(inputs, by=by, grain="month", mode=mode, part=Slice())
                results.setdefault(name, []).append(
                    [
                        (r["start"], r["key"], round(r["cost"] or 0.0, 9), r["tokens"], r["rows"])
                        for r in sorted(report["rows"], key=lambda r: (r["start"], r["key"]))
                    ]
                )
    assert results["duckdb"] == results["spark"]
    assert any(cell[2] for table_ in results["duckdb"] for cell in table_)
