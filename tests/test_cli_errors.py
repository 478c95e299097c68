"""The CLI edge: one line per error, its own exit status, a traceback only with --debug;
`demo` never touches a ledger that holds rows; --version; flags shown plainly in help."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tokenstat.cli import app
from tokenstat.cli.app import (
    EXIT_ERROR,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    command,
    state,
)
from tokenstat.errors import QueryError

# commands registered only for these tests, through the same `command` every command uses
probe = typer.Typer()


@command("boom", parent=probe)
def boom() -> None:
    """Fails with an exception tokenstat did not raise on purpose."""
    {}["missing"]  # the KeyError is the point


@command("refuse", parent=probe)
def refuse() -> None:
    """Fails with a tokenstat error that carries the next step."""
    raise QueryError("no such period: 2031-W01", hint="tokenstat summary --at 2026-03-02")


@command("interrupted", parent=probe)
def interrupted() -> None:
    """Stopped by Ctrl-C."""
    raise KeyboardInterrupt


@probe.callback()
def probe_options(debug: bool = typer.Option(False, "--debug")) -> None:
    state.debug = debug


def run(*args: str):
    return CliRunner().invoke(probe, list(args), catch_exceptions=True)


def test_an_internal_error_is_one_line_with_exit_70(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TOKENSTAT_DEBUG", raising=False)
    result = run("boom")
    assert result.exit_code == EXIT_INTERNAL == 70
    assert result.stdout == ""
    assert result.stderr == (
        "internal error: KeyError: 'missing'; run again with --debug, and please report it\n"
    )


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(how: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TOKENSTAT_DEBUG", raising=False)
    if how == "env":
        monkeypatch.setenv("TOKENSTAT_DEBUG", "1")
    result = run(*(["--debug"] if how == "flag" else []), "boom")
    # the exception itself leaves the command: a person (or the runner) sees it whole
    assert isinstance(result.exception, KeyError)
    assert "internal error" not in result.stderr


def test_a_tokenstat_error_prints_its_hint_on_a_second_line():
    result = run("refuse")
    assert result.exit_code == EXIT_ERROR == 1
    assert result.stderr.splitlines() == [
        "error: no such period: 2031-W01",
        "hint: tokenstat summary --at 2026-03-02",
    ]


def test_ctrl_c_is_one_line_and_exit_130():
    result = run("interrupted")
    assert result.exit_code == EXIT_INTERRUPTED == 130
    assert result.stderr == "interrupted\n"


def test_version_is_printed_without_loading_the_engine():
    probe_code = (
        "import sys\nfrom tokenstat.cli import app\n"
        "try:\n    app(['--version'])\nexcept SystemExit:\n    pass\n"
        "heavy = {'duckdb', 'ibis', 'pyarrow', 'pandas', 'genai_prices'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe_code], capture_output=True, text=True, check=True
    )
    first, loaded = done.stdout.splitlines()
    assert first == f"tokenstat {version('tokenstat')}"
    assert loaded == "[]"


def test_flags_show_no_value_type_in_help():
    result = CliRunner().invoke(app, ["summary", "--help"])
    assert result.exit_code == 0
    # the option rows of the two flags (the examples above them mention --json too)
    rows = [
        line
        for line in result.stdout.splitlines()
        if line.lstrip("│ ").startswith(("--json ", "--help "))
    ]
    assert len(rows) == 2
    assert all("<bool>" not in line for line in rows)
    assert "<bool>" not in CliRunner().invoke(app, ["--help"]).stdout


def _market_csv(path: Path, rows: int) -> Path:
    lines = ["date,model,input_tokens,output_tokens"]
    for i in range(rows):
        lines.append(f"2026-03-{1 + i % 28:02d},lab/model-{i // 28},{1000 + i},10")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_demo_refuses_a_ledger_that_holds_rows(tmp_path: Path):
    from tokenstat import api

    db = tmp_path / "mine.duckdb"
    with api.open_ledger(db) as ledger:
        api.import_path(ledger, "market", [_market_csv(tmp_path / "m.csv", 392)])
    before = db.stat().st_size
    result = CliRunner().invoke(app, ["--db", str(db), "demo"], catch_exceptions=True)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"error: {db} already holds 392 usage rows; demo loads the sample only into a new "
        "or empty ledger"
    )
    assert lines[1].startswith("hint: ") and f"tokenstat --db {db} summary" in lines[1]
    assert db.exists() and db.stat().st_size == before
    with api.open_ledger(db, read_only=True) as ledger:
        assert ledger.row_count() == 392


def test_demo_loads_into_an_empty_or_missing_ledger(tmp_path: Path):
    from tokenstat import api

    empty = tmp_path / "empty.duckdb"
    api.open_ledger(empty).close()  # created and migrated, 0 usage rows
    for db in (empty, tmp_path / "new" / "demo.duckdb"):
        result = CliRunner().invoke(app, ["--db", str(db), "demo"], catch_exceptions=True)
        assert result.exit_code == 0, result.stderr
        with api.open_ledger(db, read_only=True) as ledger:
            assert ledger.row_count() > 0
