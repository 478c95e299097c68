"""`tokenstat whatif`: the same tokens priced on other models, savings by hand; and reports
with ``--metric cost``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from tests.prices.conftest import import_rows, request

WHEN = datetime(2026, 4, 2, 12, tzinfo=UTC)
EARLY = datetime(2026, 2, 10, 9, tzinfo=UTC)

# claude-opus-4-6 on 2026-04-02 (USD per million): input 5, cache read 0.5, output 25
OPUS_R1 = (100_000 - 20_000) * 5e-6 + 20_000 * 0.5e-6 + 10_000 * 25e-6  # 0.66
OPUS_R2 = 40_000 * 5e-6 + 2_000 * 25e-6  # 0.25
# on candidates: deepseek-v3.2 (input 0.2288, output 0.3432, no cache price: cache reads at
# the input price) and qwen3-235b-a22b at OpenRouter (input 0.13, output 0.6)
DEEPSEEK = (100_000 * 0.2288 + 10_000 * 0.3432 + 40_000 * 0.2288 + 2_000 * 0.3432) / 1e6
QWEN = (100_000 * 0.13 + 10_000 * 0.6 + 40_000 * 0.13 + 2_000 * 0.6) / 1e6


@pytest.fixture
def workload(db, invoke, tmp_path):
    import_rows(
        db,
        [
            request(
                "r1",
                WHEN,
                "anthropic/claude-opus-4.6",
                provider="anthropic",
                input_tokens=100_000,
                cache_read=20_000,
                output=10_000,
                app="support-bot",
            ),
            request(
                "r2",
                WHEN,
                "anthropic/claude-opus-4.6",
                provider="anthropic",
                input_tokens=40_000,
                output=2_000,
                cost=0.30,  # reported: auto mode takes it
                app="support-bot",
            ),
            request(
                "r3",
                EARLY,
                "openai/gpt-4o",
                provider="openai",
                input_tokens=1_000_000,
                output=100_000,
                app="batch",
            ),
        ],
    )
    market = tmp_path / "totals.csv"
    market.write_text("date,model,tokens\n2026-04-02,openai/gpt-4o,9000000\n")
    assert invoke("import", "market", str(market)).exit_code == 0
    return db


def whatif(invoke, *args: str) -> dict:
    result = invoke("whatif", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_savings_by_hand(invoke, workload):
    report = whatif(
        invoke,
        "--on",
        "deepseek/deepseek-v3.2,qwen/qwen3-235b-a22b",
        "--since",
        "2026-03-01",
        "--where",
        "app=support-bot",
        "--mode",
        "computed",
    )
    assert report["actual_cost"] == pytest.approx(OPUS_R1 + OPUS_R2)
    rows = {r["model"]: r for r in report["rows"]}
    assert rows["deepseek/deepseek-v3.2"]["cost"] == pytest.approx(DEEPSEEK)
    assert rows["qwen/qwen3-235b-a22b"]["cost"] == pytest.approx(QWEN)
    saving = OPUS_R1 + OPUS_R2 - DEEPSEEK
    assert rows["deepseek/deepseek-v3.2"]["saving"] == pytest.approx(saving)
    assert rows["deepseek/deepseek-v3.2"]["saving_pct"] == pytest.approx(
        saving / (OPUS_R1 + OPUS_R2)
    )
    # cheapest first
    assert [r["model"] for r in report["rows"]] == [
        "qwen/qwen3-235b-a22b",
        "deepseek/deepseek-v3.2",
    ]
    workload_ = report["workload"]
    assert (workload_["rows"], workload_["input_tokens"], workload_["output_tokens"]) == (
        2,
        140_000,
        12_000,
    )
    assert workload_["cache_read_tokens"] == 20_000
    assert "tokenizers differ" in report["caveat"]


def test_json_contract_and_auto_mode(invoke, workload):
    report = whatif(invoke, "--on", "deepseek/deepseek-v3.2", "--where", "app=support-bot")
    assert "actual_cost" in report
    assert {"model", "cost", "saving", "saving_pct"} <= set(report["rows"][0])
    # auto: r2's reported 0.30 replaces its computed 0.25
    assert report["actual_cost"] == pytest.approx(OPUS_R1 + 0.30)
    assert report["rows"][0]["saving"] == pytest.approx(OPUS_R1 + 0.30 - DEEPSEEK)


def test_each_candidate_at_the_rows_own_time_and_totals_only_rows_left_out(invoke, workload):
    report = whatif(invoke, "--on", "deepseek/deepseek-v3.2", "--where", "model=openai/gpt-4o")
    # the market row (totals only) is not part of the workload
    assert report["workload"]["rows"] == 1 and report["workload"]["excluded_rows"] == 1
    gpt4o = 1_000_000 * 2.5e-6 + 100_000 * 10e-6
    assert report["actual_cost"] == pytest.approx(gpt4o)
    assert report["rows"][0]["cost"] == pytest.approx((1_000_000 * 0.2288 + 100_000 * 0.3432) / 1e6)
    assert report["workload"]["first_day"] == "2026-02-10"


def test_cheapest_candidates_by_selection(invoke, workload):
    report = whatif(
        invoke,
        "--cheapest",
        "3",
        "--origin",
        "CN",
        "--min-context",
        "128000",
        "--where",
        "app=support-bot",
    )
    assert len(report["rows"]) == 3
    prices = json.loads(
        invoke(
            "prices",
            "--author-country",
            "CN",
            "--min-context",
            "128000",
            "--as-of",
            "2026-04-02",
            "--mix",
            "140000:12000",
            "--json",
        ).stdout
    )
    expected = [r["model"] for r in prices["rows"] if r["blended_per_mtok"]][:3]
    assert sorted(r["model"] for r in report["rows"]) == sorted(expected)
    assert all(r["saving_pct"] > 0.9 for r in report["rows"])


def test_whatif_table_and_errors(invoke, workload):
    result = invoke("whatif", "--on", "deepseek/deepseek-v3.2", "--where", "app=support-bot")
    assert result.exit_code == 0, result.output
    assert "What if: 2 rows" in result.stdout and "tokenizers differ" in result.stdout
    none = invoke("whatif")
    assert none.exit_code == 1 and "--on" in none.stderr
    empty = invoke("whatif", "--on", "deepseek/deepseek-v3.2", "--since", "2030-01-01")
    assert empty.exit_code == 1 and "no ledger rows in this slice" in empty.stderr


# ---- reports with --metric cost ----------------------------------------------------------


def test_summary_and_top_by_cost(invoke, workload):
    report = json.loads(
        invoke(
            "summary",
            "--metric",
            "cost",
            "--by",
            "model",
            "--period",
            "month",
            "--at",
            "2026-04-02",
            "--json",
        ).stdout
    )
    assert report["measure"] == "cost" and report["cost_mode"] == "auto"
    groups = {g["key"]: g for g in report["groups"]}
    assert groups["anthropic/claude-opus-4.6"]["cost"] == pytest.approx(OPUS_R1 + 0.30)
    # the April market row of gpt-4o has no split: unpriced, and said so
    assert report["unpriced_share"] == pytest.approx(9_000_000 / (9_000_000 + 110_000 + 42_000))
    assert set(report["total"]) == {"cost", "previous", "growth"}
    top = json.loads(
        invoke(
            "top", "--metric", "cost", "--period", "month", "--at", "2026-02-10", "--json"
        ).stdout
    )
    assert top["rows"][0]["key"] == "openai/gpt-4o"
    assert top["rows"][0]["cost"] == pytest.approx(1_000_000 * 2.5e-6 + 100_000 * 10e-6)
    text = invoke("top", "--metric", "cost", "--period", "month", "--at", "2026-04-02").stdout
    assert "Cost mode auto" in text and "cost" in text
    tokens = json.loads(invoke("top", "--period", "month", "--at", "2026-04-02", "--json").stdout)
    assert "tokens" in tokens["rows"][0] and "cost_mode" not in tokens
