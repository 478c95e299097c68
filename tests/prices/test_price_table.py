"""`tokenstat prices`: ratios by hand from genai-prices' values, selections, the user price
file winning over everything, and the JSON contract."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tokenstat.catalog import shipped_catalog
from tokenstat.prices.book import PriceBook
from tokenstat.prices.overrides import PriceFileError, load_price_file
from tokenstat.prices.table import parse_mix, price_table

# genai-prices 0.2.x data, USD per million tokens, written out by hand:
GPT4 = {"input": 30.0, "output": 60.0}  # openai gpt-4: no cache price
DEEPSEEK_V32 = {"input": 0.2288, "output": 0.3432}  # deepseek deepseek-v3.2: no cache price
KIMI_K25 = {"input": 0.6, "output": 3.0, "cache_read": 0.1}  # moonshotai kimi-k2.5
OPUS_46 = {"input": 5.0, "output": 25.0, "cache_read": 0.5}  # anthropic claude-opus-4-6
QWEN3_235B = {"input": 0.13, "output": 0.6}  # openrouter qwen/qwen3-235b-a22b

JSON_ROW_KEYS = {
    "model",
    "author",
    "origin",
    "provider",
    "input_per_mtok",
    "output_per_mtok",
    "cache_read_per_mtok",
    "input_ratio",
    "output_ratio",
    "blended_per_mtok",
    "blended_ratio",
}

AS_OF = date(2026, 4, 5)


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook(shipped_catalog())


def rows_by_model(report: dict) -> dict[str, dict]:
    return {r["model"]: r for r in report["rows"]}


def test_ratios_by_hand(book):
    report = price_table(
        book,
        shipped_catalog(),
        models=["deepseek/deepseek-v3.2", "moonshotai/kimi-k2.5", "anthropic/claude-opus-4.6"],
        baseline="openai/gpt-4",
        as_of=AS_OF,
        mix=(3, 1),
    )
    rows = rows_by_model(report)
    ds = rows["deepseek/deepseek-v3.2"]
    assert ds["input_per_mtok"] == pytest.approx(0.2288)
    assert ds["input_ratio"] == pytest.approx(0.2288 / 30)  # 0.76% of GPT-4's input price
    assert ds["output_ratio"] == pytest.approx(0.3432 / 60)
    assert ds["blended_per_mtok"] == pytest.approx((3 * 0.2288 + 0.3432) / 4)
    assert ds["blended_ratio"] == pytest.approx(((3 * 0.2288 + 0.3432) / 4) / ((3 * 30 + 60) / 4))
    # no cache price on either side: cached input costs the input price
    assert ds["cache_read_per_mtok"] == pytest.approx(0.2288)
    assert ds["cache_read_listed"] is False
    kimi = rows["moonshotai/kimi-k2.5"]
    assert kimi["cache_read_per_mtok"] == pytest.approx(0.1) and kimi["cache_read_listed"]
    assert kimi["cache_read_ratio"] == pytest.approx(0.1 / 30)
    assert kimi["output_ratio"] == pytest.approx(3.0 / 60)
    opus = rows["anthropic/claude-opus-4.6"]
    assert (opus["input_per_mtok"], opus["output_per_mtok"]) == pytest.approx((5.0, 25.0))
    assert opus["provider"] == "anthropic" and opus["basis"] == "first-party"
    # --models keeps the order given
    assert [r["model"] for r in report["rows"]] == [
        "deepseek/deepseek-v3.2",
        "moonshotai/kimi-k2.5",
        "anthropic/claude-opus-4.6",
    ]
    assert report["baseline_prices"]["input_per_mtok"] == 30.0


def test_mix_changes_the_blend(book):
    report = price_table(
        book,
        shipped_catalog(),
        models=["qwen/qwen3-235b-a22b"],
        baseline="openai/gpt-4",
        as_of=AS_OF,
        mix=parse_mix("1:1"),
    )
    row = report["rows"][0]
    assert row["blended_per_mtok"] == pytest.approx((0.13 + 0.6) / 2)
    assert row["blended_ratio"] == pytest.approx(((0.13 + 0.6) / 2) / 45)
    # the lab has no API price in genai-prices: OpenRouter's stands in
    assert row["basis"] == "openrouter" and row["provider"] == "openrouter"
    assert report["mix"] == "1:1"


def test_selection_by_author_country_and_open_weights(book):
    report = price_table(book, shipped_catalog(), country="CN", as_of=AS_OF, open_weights="open")
    assert report["rows"]
    assert {r["origin"] for r in report["rows"]} == {"CN"}
    assert {r["open_weights"] for r in report["rows"]} == {"open"}
    blended = [r["blended_per_mtok"] for r in report["rows"]]
    assert blended == sorted(blended)  # a selection is sorted by blended price
    deepseek = rows_by_model(report)["deepseek/deepseek-v3.2"]
    assert deepseek["author"] == "deepseek"


def test_min_context_uses_genai_context_windows(book):
    report = price_table(
        book,
        shipped_catalog(),
        models=["openai/gpt-4", "deepseek/deepseek-v3.2"],
        as_of=AS_OF,
        min_context=100_000,
    )
    # gpt-4 has 8,192 tokens of context in genai-prices, deepseek-v3.2 128,000
    assert [r["model"] for r in report["rows"]] == ["deepseek/deepseek-v3.2"]
    assert report["below_min_context"] == ["openai/gpt-4"]


@pytest.mark.parametrize("text", ["3", "a:b", "0:0", "3:-1"])
def test_bad_mix(text):
    with pytest.raises(ValueError, match="--mix"):
        parse_mix(text)


def test_cli_json_contract(invoke):
    result = invoke(
        "prices",
        "--baseline",
        "openai/gpt-4",
        "--models",
        "deepseek/deepseek-v3.2,moonshotai/kimi-k2.5,anthropic/claude-opus-4.6",
        "--as-of",
        "2026-04-05",
        "--json",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {"baseline", "as_of", "mix"} <= set(report)
    assert (report["baseline"], report["as_of"], report["mix"]) == (
        "openai/gpt-4",
        "2026-04-05",
        "3:1",
    )
    assert all(set(row) >= JSON_ROW_KEYS for row in report["rows"])
    assert len(report["rows"]) == 3


def test_cli_author_country_table(invoke):
    result = invoke(
        "prices", "--baseline", "openai/gpt-4", "--author-country", "CN", "--as-of", "2026-04-05"
    )
    assert result.exit_code == 0, result.output
    assert "deepseek/deepseek-v3.2" in result.stdout
    assert "against openai/gpt-4" in result.stdout
    assert "saving" in result.stdout


def test_cli_csv(invoke):
    result = invoke(
        "prices", "--models", "deepseek/deepseek-v3.2", "--as-of", "2026-04-05", "--csv"
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("model,author,origin")
    assert lines[1].startswith("deepseek/deepseek-v3.2,deepseek,CN")


def test_cli_errors_are_one_line(invoke):
    result = invoke("prices", "--baseline", "acme/no-such-model", "--models", "openai/gpt-4")
    assert result.exit_code == 1
    # a full id the catalog, the ledger and the price book do not know
    assert result.stderr.startswith("error: unknown model 'acme/no-such-model'")
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: "))


# ---- the user price file -------------------------------------------------------------------


YAML = """\
prices:
  - model: deepseek/deepseek-v3.2
    input_per_mtok: 0.1
    output_per_mtok: 0.2
    cache_read_per_mtok: 0.01
    valid_from: 2026-04-01
  - model: openai/gpt-4
    provider: azure
    input_per_mtok: 20
    output_per_mtok: 40
  - model: acme/private-1
    input_per_mtok: 1
    output_per_mtok: 2
    context_length: 32000
"""


def test_user_file_wins_from_its_start_date(tmp_path, invoke):
    path = tmp_path / "my-prices.yaml"
    path.write_text(YAML)
    args = ["prices", "--file", str(path), "--models", "deepseek/deepseek-v3.2,acme/private-1"]
    after = json.loads(invoke(*args, "--as-of", "2026-04-05", "--json").stdout)
    rows = rows_by_model(after)
    assert rows["deepseek/deepseek-v3.2"]["input_per_mtok"] == pytest.approx(0.1)
    assert rows["deepseek/deepseek-v3.2"]["cache_read_per_mtok"] == pytest.approx(0.01)
    assert rows["deepseek/deepseek-v3.2"]["basis"] == "user file"
    assert rows["acme/private-1"]["blended_per_mtok"] == pytest.approx((3 * 1 + 2) / 4)
    before = json.loads(invoke(*args, "--as-of", "2026-03-31", "--json").stdout)
    rows = rows_by_model(before)
    assert rows["deepseek/deepseek-v3.2"]["input_per_mtok"] == pytest.approx(0.2288)
    assert rows["deepseek/deepseek-v3.2"]["basis"] == "first-party"
    assert after["prices"]["user_file"] == str(path)


def test_user_entry_with_a_provider_applies_to_that_provider_only(tmp_path, invoke):
    path = tmp_path / "prices.yaml"
    path.write_text(YAML)
    base = ["prices", "--file", str(path), "--models", "openai/gpt-4", "--json"]
    lab = json.loads(invoke(*base).stdout)["rows"][0]
    azure = json.loads(invoke(*base, "--provider", "azure").stdout)["rows"][0]
    assert lab["input_per_mtok"] == 30.0
    assert azure["input_per_mtok"] == 20.0 and azure["basis"] == "user file"


def test_user_file_from_the_environment_and_csv(tmp_path, invoke, monkeypatch):
    path = tmp_path / "prices.csv"
    path.write_text(
        "model,provider,input_per_mtok,output_per_mtok,valid_from\nmoonshotai/kimi-k2.5,,0.5,2.5,\n"
    )
    monkeypatch.setenv("TOKENSTAT_PRICES", str(path))
    result = invoke("prices", "--models", "moonshotai/kimi-k2.5", "--json")
    row = json.loads(result.stdout)["rows"][0]
    assert (row["input_per_mtok"], row["output_per_mtok"]) == (0.5, 2.5)
    # no cache price in the file: cached input costs the file's input price
    assert row["cache_read_per_mtok"] == 0.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prices:\n  - model: a/b\n", "prices entry 1: give at least one of 'input_per_mtok'"),
        ("prices:\n  - input_per_mtok: 1\n", "prices entry 1: field 'model' is required"),
        (
            "prices:\n  - {model: a/b, input_per_mtok: -1}\n",
            "prices entry 1: field 'input_per_mtok': must be a non-negative number",
        ),
        (
            "prices:\n  - {model: a/b, input_per_mtok: 1, valid_from: soon}\n",
            "field 'valid_from': not a date",
        ),
        ("prices:\n  - {model: a/b, input: 1}\n", "unknown field(s) 'input'"),
        (
            "prices:\n  - {model: a/b, input_per_mtok: 1}\n  - {model: a/b, input_per_mtok: 2}\n",
            "prices entry 2: overlaps",
        ),
        ("just text", "a price file is a mapping with a 'prices' list"),
    ],
)
def test_bad_price_file_names_the_entry_and_field(tmp_path, text, message):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(PriceFileError) as error:
        load_price_file(path, shipped_catalog())
    assert message in str(error.value)
    assert str(error.value).startswith(str(path))


def test_bad_price_file_on_the_cli_is_one_friendly_line(tmp_path, invoke):
    path = tmp_path / "p.yaml"
    path.write_text("prices:\n  - {model: a/b}\n")
    result = invoke("prices", "--file", str(path), "--models", "openai/gpt-4")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}: prices entry 1")
    missing = invoke("prices", "--file", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 1 and "price file not found" in missing.stderr
