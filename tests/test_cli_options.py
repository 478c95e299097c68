"""One option vocabulary for every report command, declared once (cli/options.py).

The first tests walk the click parameters of every report command: each declares the
shared options with the same flags, help, metavar and default, so a command that drifts
fails here. The rest run the commands on a small market file whose figures are worked
out by hand in the comments.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.main import get_command

from tokenstat import api
from tokenstat.cli import app
from tokenstat.cli import options as o

REPORTS = ("summary", "top", "trend", "lead", "cost", "whatif", "forecast", "chart", "report")
FILE_OUTPUTS = ("chart", "report")  # they write a file (--out): no --json/--csv
# the defaults, written out here rather than read from the code under test
DEFAULTS = {
    "by": "model",
    "period": "week",
    "at": None,
    "since": None,
    "until": None,
    "last": 12,
    "where": None,
    "source": None,
    "tokens": "total",
    "metric": "tokens",
    "cost_mode": "auto",
    "limit": 10,
    "as_json": False,
    "as_csv": False,
}
FLAGS = {name: "--" + name.replace("_", "-") for name in DEFAULTS}
FLAGS |= {"as_json": "--json", "as_csv": "--csv"}
METAVARS = {
    "by": "DIM",
    "at": "DAY",
    "since": "DAY",
    "until": "DAY",
    "last": "N",
    "limit": "N",
    "where": "DIM=VALUE",
}


def _params(name: str) -> dict:
    command = get_command(app).commands[name]
    return {p.name: p for p in command.params}


def _shared(name: str) -> list[str]:
    names = list(DEFAULTS)
    if name in FILE_OUTPUTS:
        names = [n for n in names if n not in ("as_json", "as_csv")]
    return names


@pytest.mark.parametrize("name", REPORTS)
def test_every_report_declares_the_shared_options(name):
    params = _params(name)
    for option in _shared(name):
        assert option in params, f"{name} lacks {FLAGS[option]}"
        param = params[option]
        assert list(param.opts) == [FLAGS[option]], (name, option, param.opts)
        if not (name == "lead" and option == "by"):
            assert param.default == DEFAULTS[option], (name, option, param.default)
        if option in METAVARS:
            assert param.metavar == METAVARS[option], (name, option)


@pytest.mark.parametrize("option", list(DEFAULTS))
def test_the_help_of_each_option_is_the_same_everywhere(option):
    helps = {
        name: _params(name)[option].help
        for name in REPORTS
        if option in _shared(name) and not (name == "lead" and option == "by")
    }
    assert len(set(helps.values())) == 1, helps


def test_lead_infers_by_and_says_so():
    by = _params("lead")["by"]
    assert by.default is None
    assert by.help.startswith(o.BY_HELP) and "Default: from A and B" in by.help


def test_query_defaults_match_the_commands():
    query = o.ReportQuery()
    for option, default in DEFAULTS.items():
        field = "sources" if option == "source" else option
        expected = () if default is None and option in ("where", "source") else default
        assert getattr(query, field) == expected, option


def test_at_help_says_latest_complete_period():
    assert "default: the latest complete period" in _params("summary")["at"].help


def test_unsupported_options_are_declared_but_not_shown():
    assert set(o.UNSUPPORTED) == set(REPORTS)
    for name, options in o.UNSUPPORTED.items():
        assert set(options) <= set(o.SHARED), name
        params = _params(name)
        for option in _shared(name):
            assert params[option].hidden == (option in options), (name, option)


def test_relative_days_with_a_fixed_today():
    # 2026-01-02 is a Friday: last week is 2025-12-22 to 12-28; this week ends 2026-01-04,
    # after today, so --until is clipped to today; --at takes the span's last day
    command = get_command(app).commands["trend"]
    args = ["--since", "last-week", "--until", "this-week", "--at", "yesterday", "--by", "Country"]
    ctx = command.make_context("trend", args)
    query = o.report_query(ctx, "trend", today=date(2026, 1, 2))
    assert (query.since, query.until, query.at) == (
        date(2025, 12, 22),
        date(2026, 1, 2),
        date(2026, 1, 1),
    )
    assert query.by == "origin"
    assert query.given == {"since", "until", "at", "by"}


# ---- the commands on a small ledger -------------------------------------------------------
# week 2026-03-23 (W13): deepseek-chat 80+20=100, gpt-4o 150+50=200
# week 2026-03-30 (W14, complete: a row on Sunday 04-05): deepseek-chat 200+100=300,
#   gpt-4o 150+50 + 60+40 = 300, deepseek-r1 40+10=50, mistral-large 5+5=10; all 660
ROWS = """date,model,input_tokens,output_tokens
2026-03-23,deepseek/deepseek-chat,80,20
2026-03-23,openai/gpt-4o,150,50
2026-03-30,deepseek/deepseek-chat,200,100
2026-03-30,openai/gpt-4o,150,50
2026-03-30,deepseek/deepseek-r1,40,10
2026-03-30,mistralai/mistral-large-2411,5,5
2026-04-05,openai/gpt-4o,60,40
"""


@pytest.fixture(scope="module")
def small_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small ledger, imported once for the module."""
    base = tmp_path_factory.mktemp("small")
    (base / "small.csv").write_text(ROWS)
    with api.open_ledger(base / "small.duckdb") as ledger:
        api.import_path(ledger, "market", [base / "small.csv"])
    return base / "small.duckdb"


@pytest.fixture
def small(small_ledger: Path, isolated_env: Path) -> None:
    """A copy of the small ledger where the CLI looks ($TOKENSTAT_DB)."""
    shutil.copyfile(small_ledger, isolated_env / "ledger.duckdb")


def _json(invoke, *args: str) -> dict:
    result = invoke(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _fails(invoke, *args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 1, result.stdout
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    return result.stderr


def test_country_is_origin_and_names_take_any_case(invoke, small):
    report = _json(invoke, "summary", "--by", "Country", "--period", "WEEK", "--tokens", "Total")
    assert report["by"] == "origin"
    assert report["period"]["start"] == "2026-03-30"
    assert [(g["key"], g["tokens"]) for g in report["groups"]] == [
        ("CN", 350),
        ("US", 300),
        ("FR", 10),
    ]


def test_summary_limit_cuts_the_table(invoke, small):
    table = invoke("summary", "--by", "origin", "--limit", "1").stdout
    assert "│ CN " in table and "│ US " not in table and "│ FR " not in table
    assert "660" in table  # the total covers every group
    # US 300 + FR 10 of 660 = 47.0%
    assert "2 more groups (47.0% of tokens) not listed; --limit 0 for all" in table
    everything = invoke("summary", "--by", "origin", "--limit", "0").stdout
    assert "│ FR " in everything and "not listed" not in everything
    # the JSON holds every group whatever --limit says (the contract)
    report = _json(invoke, "summary", "--by", "origin", "--limit", "1")
    assert [g["key"] for g in report["groups"]] == ["CN", "US", "FR"]
    assert "others" not in report


def test_since_until_restrict_the_rows(invoke, small):
    # from 03-30 on: one period, no earlier one to compare with
    later = _json(invoke, "summary", "--by", "none", "--since", "2026-03-30")
    assert later["groups"][0]["key"] == "all" and later["total"]["tokens"] == 660
    assert later["total"]["previous"] is None
    # up to 03-29: the latest complete period is W13
    earlier = _json(invoke, "summary", "--by", "origin", "--until", "2026-03-29")
    assert earlier["period"]["start"] == "2026-03-23"
    assert [(g["key"], g["tokens"]) for g in earlier["groups"]] == [("US", 200), ("CN", 100)]
    # up to Saturday 04-04: W14 is not complete within the rows, so W13 again
    saturday = _json(invoke, "summary", "--by", "origin", "--until", "2026-04-04")
    assert saturday["period"]["start"] == "2026-03-23"


def test_where_filters_by_any_dimension(invoke, small):
    chat = _json(invoke, "top", "--where", "model=deepseek-chat")
    assert [(r["key"], r["tokens"]) for r in chat["rows"]] == [("deepseek/deepseek-chat", 300)]
    cn = _json(invoke, "top", "--where", "Country=cn")
    assert [(r["key"], r["tokens"]) for r in cn["rows"]] == [
        ("deepseek/deepseek-chat", 300),
        ("deepseek/deepseek-r1", 50),
    ]
    assert "did you mean" in _fails(invoke, "top", "--where", "modle=gpt-4o")
    ambiguous = _fails(invoke, "top", "--where", "model=deepseek")
    assert "deepseek matches" in ambiguous


def test_nothing_left_is_a_clear_error(invoke, small):
    message = _fails(invoke, "summary", "--since", "2027-01-01")
    assert "no rows match --since 2027-01-01; the ledger holds 2026-03-23 to 2026-04-05" in message
    assert "unknown source 'nope'" in _fails(invoke, "summary", "--source", "nope")


def test_lead_infers_origin_in_any_case(invoke, small):
    # W13: CN 100 < US 200; W14: CN 350 > US 300: a streak of 1 from W14
    report = _json(invoke, "lead", "cn", "us")
    assert (report["by"], report["a"], report["b"]) == ("origin", "CN", "US")
    assert report["streak"] == 1 and report["first_crossover"] == "2026-03-30"
    models = _json(invoke, "lead", "deepseek-chat", "gpt-4o")
    assert (models["by"], models["a"]) == ("model", "deepseek/deepseek-chat")
    assert models["streak"] == 0  # W14: 300 is not more than 300


def test_trend_limit_folds_others(invoke, small):
    # totals over both weeks: gpt-4o 500, deepseek-chat 400, r1 50, mistral 10
    table = invoke("trend", "--limit", "2").stdout
    assert "others" in table and "deepseek/deepseek-r1" not in table
    assert "others: the 2 smaller model groups, summed" in table
    report = _json(invoke, "trend", "--limit", "2")
    assert {r["key"] for r in report["rows"]} == {
        "openai/gpt-4o",
        "deepseek/deepseek-chat",
        "deepseek/deepseek-r1",
        "mistralai/mistral-large-2411",
    }


def test_trend_api_folds_others(small):
    from tokenstat.metrics import reports

    with api.open_ledger() as ledger:
        report = reports.trend(api.dataset(ledger), by="model", limit=2)
    # W14: r1 50 + mistral 10 = 60 of 660, no earlier tokens, so no growth
    others = [r for r in report["rows"] if r["key"] == "others"]
    assert [(r["start"], r["tokens"], r["growth"]) for r in others] == [("2026-03-30", 60, None)]
    assert others[0]["share"] == pytest.approx(60 / 660)
    assert report["others"] == ["deepseek/deepseek-r1", "mistralai/mistral-large-2411"]
    w14 = [r for r in report["rows"] if r["start"] == "2026-03-30"]
    assert sum(r["tokens"] for r in w14) == 660


def test_trend_metric_cost_matches_summary(invoke, small):
    trend = _json(invoke, "trend", "--metric", "cost", "--by", "origin")
    assert trend["measure"] == "cost" and all("cost" in r for r in trend["rows"])
    summary = _json(invoke, "summary", "--metric", "cost", "--by", "origin")
    w14 = sum(r["cost"] or 0 for r in trend["rows"] if r["start"] == "2026-03-30")
    assert w14 == pytest.approx(summary["total"]["cost"]) and w14 > 0


def test_cost_takes_source_and_none(invoke, small):
    report = _json(invoke, "cost", "--source", "market", "--by", "none", "--cost-mode", "computed")
    assert report["slice"]["sources"] == ["market"]
    assert {r["key"] for r in report["rows"]} == {"all"}
    assert report["total"]["tokens"] == 960  # 300 in W13 + 660 in W14
    assert report["grain"] == "week"


def test_old_mode_still_works(invoke, small):
    result = invoke("cost", "--mode", "computed", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["mode"] == "computed"
    assert "--mode is now --cost-mode" in result.stderr
    assert "only --cost-mode" in _fails(invoke, "cost", "--mode", "computed", "--cost-mode", "auto")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["summary", "--last", "3"], "summary does not take --last"),
        (["top", "--last", "3"], "top does not take --last"),
        (["cost", "--at", "2026-03-30"], "cost does not take --at"),
        (["cost", "--tokens", "input"], "cost does not take --tokens"),
        (["whatif", "--on", "gpt-4o", "--by", "origin"], "whatif does not take --by"),
        (["lead", "CN", "US", "--limit", "3"], "lead does not take --limit"),
        (["forecast", "--last", "3"], "forecast does not take --last"),
        (["summary", "--json", "--csv"], "choose one of --json and --csv"),
        (["summary", "--since", "fortnight"], "--since: not a date: 'fortnight'"),
        (["summary", "--by", "colour"], "--by: unknown dimension 'colour'"),
        (["summary", "--metric", "usd"], "--metric: unknown metric 'usd'"),
    ],
)
def test_options_a_command_cannot_honour_are_errors(invoke, small, args, message):
    assert message in _fails(invoke, *args)


def test_whatif_on_an_ambiguous_name_fails(invoke, small):
    message = _fails(invoke, "whatif", "--on", "deepseek")
    assert "deepseek matches" in message and "deepseek/deepseek-chat" in message
    unknown = _fails(invoke, "whatif", "--on", "gpt-4x")
    assert "unknown model 'gpt-4x'" in unknown and "did you mean" in unknown


def test_prices_names(invoke):
    report = _json(invoke, "prices", "--models", "GPT-4o", "--baseline", "gpt-4")
    assert report["baseline"] == "openai/gpt-4"
    assert [r["model"] for r in report["rows"]] == ["openai/gpt-4o"]
    assert "deepseek matches" in _fails(invoke, "prices", "--models", "deepseek")


def test_where_on_a_row_dimension_and_a_source(invoke, small, isolated_env):
    from tests.prices.conftest import import_rows, request

    when = datetime(2026, 3, 31, 12, tzinfo=UTC)
    import_rows(
        isolated_env / "ledger.duckdb",
        [
            request("a", when, "openai/gpt-4o", input_tokens=700, output=300, app="Bot"),
            request("b", when, "openai/gpt-4o", input_tokens=40, output=10, app="batch"),
            request("c", when, "deepseek/deepseek-chat", input_tokens=5, output=5, app="Bot"),
        ],
    )
    # app=Bot: gpt-4o 1,000 and deepseek-chat 10 of the request rows; the market rows
    # have no app; the period is W14, complete through the market's Sunday row
    bot = _json(invoke, "summary", "--where", "app=Bot")
    assert bot["period"]["start"] == "2026-03-30"
    assert [(g["key"], g["tokens"]) for g in bot["groups"]] == [
        ("openai/gpt-4o", 1000),
        ("deepseek/deepseek-chat", 10),
    ]
    # the request rows alone, by app: Bot 1,010, batch 50
    apps = _json(invoke, "summary", "--by", "app", "--source", "test-rows", "--at", "2026-03-31")
    assert [(g["key"], g["tokens"]) for g in apps["groups"]] == [("Bot", 1010), ("batch", 50)]
    # the same through the Python API
    with api.open_ledger() as ledger:
        report = api.summary(ledger, by="origin", where={"app": "Bot"}, at=date(2026, 3, 31))
    assert [(g["key"], g["tokens"]) for g in report["groups"]] == [("US", 1000), ("CN", 10)]


def test_api_restricts_by_day_and_origin(small):
    # from 03-30 on, CN only: deepseek-chat 300 + r1 50
    with api.open_ledger() as ledger:
        report = api.summary(ledger, by="model", since=date(2026, 3, 30), where={"origin": "CN"})
    assert report["total"]["tokens"] == 350
    assert report["period"]["complete"] is True  # the rows reach Sunday 04-05
