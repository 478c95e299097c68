"""The CLI in process, on an isolated ledger: JSON contracts, CSV, errors, exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tokenstat.cli.demo import sample_path

SUMMARY_GROUP_KEYS = {
    "key",
    "tokens",
    "previous",
    "growth",
    "share",
    "share_previous",
    "share_shift_pp",
    "rank",
    "rank_previous",
    "leader_streak",
}


@pytest.fixture
def sample_ledger(invoke):
    result = invoke("import", "market", str(sample_path()))
    assert result.exit_code == 0, result.output
    return result


def test_import_reports_on_stderr_and_is_idempotent(invoke):
    first = invoke("import", "market", str(sample_path()), "--json")
    payload = json.loads(first.stdout)
    assert payload["rows_new"] == 29_939 and payload["rows_bad"] == 0
    second = invoke("import", "market", str(sample_path()))
    assert second.stdout == ""
    assert "0 new rows" in second.stderr and "1 file(s) already imported" in second.stderr


def test_summary_json_contract_and_headline_figures(invoke, sample_ledger):
    result = invoke("summary", "--by", "origin", "--period", "week", "--at", "2026-04-05", "--json")
    report = json.loads(result.stdout)
    assert report["period"] == {
        "grain": "week",
        "start": "2026-03-30",
        "end": "2026-04-05",
        "complete": True,
        "data_through": "2026-04-05",
    }
    assert report["by"] == "origin"
    assert set(report["total"]) == {"tokens", "previous", "growth"}
    assert all(set(g) == SUMMARY_GROUP_KEYS for g in report["groups"])
    groups = {g["key"]: g for g in report["groups"]}
    assert groups["CN"]["tokens"] == 12_960_000_000_000
    assert round(groups["CN"]["growth"], 4) == 0.3148
    assert groups["US"]["tokens"] == 3_030_000_000_000
    assert round(groups["US"]["growth"], 4) == 0.0076
    assert report["total"]["tokens"] == 27_000_000_000_000
    assert round(report["total"]["growth"], 3) == 0.189
    assert round(groups["CN"]["share"], 2) == 0.48
    assert 0 < report["attributed_share"] < 1


def test_lead_json(invoke, sample_ledger):
    report = json.loads(invoke("lead", "CN", "US", "--by", "origin", "--json").stdout)
    assert set(report) >= {"by", "a", "b", "streak", "first_crossover", "periods"}
    assert report["streak"] == 5
    assert set(report["periods"][0]) == {"start", "a_tokens", "b_tokens", "a_leads"}
    # the five weeks of the streak are the last five periods, and only those
    assert [p["a_leads"] for p in report["periods"][-6:]] == [False] + [True] * 5


def test_top_json_and_csv(invoke, sample_ledger):
    report = json.loads(
        invoke("top", "--by", "model", "--limit", "10", "--at", "2026-04-05", "--json").stdout
    )
    assert set(report) >= {"period", "by", "rows", "top_k_share", "hhi"}
    assert len(report["rows"]) == 10
    assert set(report["rows"][0]) == {
        "rank",
        "key",
        "author",
        "origin",
        "tokens",
        "growth",
        "share",
        "rank_change",
    }
    tokens = [r["tokens"] for r in report["rows"]]
    assert tokens == sorted(tokens, reverse=True)
    assert report["top_k_share"] == pytest.approx(sum(r["share"] for r in report["rows"]))
    text = invoke("top", "--by", "model", "--at", "2026-04-05", "--csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["key"] for r in rows] == [r["key"] for r in report["rows"]]


def test_trend_json(invoke, sample_ledger):
    report = json.loads(
        invoke("trend", "--by", "origin", "--period", "week", "--last", "12", "--json").stdout
    )
    assert report["by"] == "origin" and report["grain"] == "week"
    starts = sorted({r["start"] for r in report["rows"]})
    assert len(starts) == 12 and starts[-1] == "2026-03-30"
    assert set(report["rows"][0]) == {"start", "key", "tokens", "growth", "share"}


def test_tables_for_people(invoke, sample_ledger):
    out = invoke("summary", "--by", "origin", "--at", "2026-04-05").stdout
    assert "12.96T" in out and "+31.48%" in out and "48.0%" in out
    assert "Origin attributed for" in out and "Source: market" in out
    lead = invoke("lead", "CN", "US").stdout
    assert "for 5 consecutive weeks" in lead


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["summary", "--period", "fortnight"], "unknown period 'fortnight'"),
        (["summary", "--by", "colour"], "unknown dimension 'colour'"),
        (["summary", "--at", "2020-01-01"], "no data for the week containing 2020-01-01"),
        (["summary", "--at", "someday"], "--at: not a date: 'someday'; accepted forms: YYYY-MM-DD"),
        (["lead", "CN", "XX"], "no origin named 'XX'"),
        (["import", "nope", "x.csv"], "no importer named 'nope'"),
        (["import", "market", "missing.csv"], "missing.csv: no such file or directory"),
    ],
)
def test_errors_are_one_line(invoke, sample_ledger, args, message):
    result = invoke(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    # one line, and maybe a second with the next step
    assert len(lines) in (1, 2) and lines[0].startswith("error: ")
    assert len(lines) == 1 or lines[1].startswith("hint: ")
    assert message in lines[0]


def test_reports_on_an_empty_ledger_say_what_to_do(invoke, tmp_path):
    result = invoke("--db", str(tmp_path / "none.duckdb"), "summary")
    assert result.exit_code == 1
    assert "import data first" in result.stderr


def test_strict_exit_code_and_nothing_written(invoke, tmp_path: Path):
    f = tmp_path / "m.csv"
    f.write_text("date,model,tokens\n2026-03-30,glm-5,1\n2026-03-30,kimi-k2.5,x\n")
    result = invoke("import", "market", str(f), "--strict")
    assert result.exit_code == 3
    assert (
        "m.csv:3: field 'tokens': not an integer: 'x' (--strict: nothing imported)" in result.stderr
    )
    assert json.loads(invoke("ledger", "info", "--json").stdout)["rows"] == 0


def test_catalog_commands(invoke, sample_ledger, tmp_path):
    models = json.loads(invoke("catalog", "models", "--origin", "CN", "--json").stdout)["rows"]
    assert models and all(m["origin"] == "CN" for m in models)
    authors = json.loads(invoke("catalog", "authors", "--json").stdout)["rows"]
    assert {"author": "stepfun", "country": "CN"}.items() <= next(
        a for a in authors if a["author"] == "stepfun"
    ).items()
    unresolved = json.loads(invoke("catalog", "unresolved", "--json").stdout)["rows"]
    assert "other" in [u["model"] for u in unresolved]
    # after teaching the catalog a model, it is no longer unresolved
    f = tmp_path / "m.csv"
    f.write_text("date,model,tokens\n2026-03-30,rocket-1,5\n")
    invoke("import", "market", str(f))
    assert "rocket-1" in [
        u["model"] for u in json.loads(invoke("catalog", "unresolved", "--json").stdout)["rows"]
    ]
    user = tmp_path / "cat.yaml"
    user.write_text(
        "authors: [{author: acme, country: SE}]\n"
        "models: [{model: acme/rocket-1, author: acme, aliases: [rocket-1]}]\n"
    )
    resolved = json.loads(
        invoke("--catalog", str(user), "catalog", "resolve", "rocket-1", "--json").stdout
    )["rows"][0]
    assert resolved["model"] == "acme/rocket-1" and resolved["origin"] == "SE"
    # the correction applies to history already in the ledger
    later = json.loads(invoke("--catalog", str(user), "catalog", "unresolved", "--json").stdout)
    assert "rocket-1" not in [u["model"] for u in later["rows"]]
    by_model = json.loads(
        invoke(
            "--catalog",
            str(user),
            "summary",
            "--by",
            "origin",
            "--period",
            "day",
            "--at",
            "2026-03-30",
            "--json",
        ).stdout
    )
    assert {"key": "SE", "tokens": 5}.items() <= next(
        g for g in by_model["groups"] if g["key"] == "SE"
    ).items()


def test_demo_prints_the_headline_report(invoke):
    result = invoke("demo")
    assert result.exit_code == 0
    assert "12.96T" in result.stdout and "+31.48%" in result.stdout
    assert "for 5 consecutive weeks" in result.stdout
    assert "synthetic" in result.stderr


def test_sources_lists_every_importer(invoke):
    rows = json.loads(invoke("sources", "--json").stdout)
    names = {r["name"] for r in rows}
    assert {"market", "openrouter-rankings"} <= names
