"""The CLI starts light: a command loads the engine only when it runs (cli/__init__.py)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("altair", "duckdb", "genai_prices", "ibis", "pandas", "pyarrow")


def loaded_after(code: str) -> set[str]:
    """Top-level packages of HEAVY that a fresh interpreter holds after running ``code``."""
    names = "sorted({m.split('.')[0] for m in sys.modules})"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({names}))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.splitlines()[-1])) & set(HEAVY)


def test_loading_the_cli_loads_no_engine():
    assert loaded_after("import tokenstat.cli") == set()


def test_help_runs_without_the_engine():
    code = (
        "import sys\nfrom tokenstat.cli import app\n"
        "try:\n    app(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass"
    )
    assert loaded_after(code) == set()


def test_the_api_loads_prices_only_when_pricing():
    loaded = loaded_after("import tokenstat.api")
    assert "genai_prices" not in loaded and "altair" not in loaded
    assert {"duckdb", "ibis", "pyarrow"} <= loaded


def test_a_command_still_finds_its_engine(tmp_path):
    # the imports moved into the command bodies: a real run through a fresh process
    db = tmp_path / "ledger.duckdb"
    csv = tmp_path / "m.csv"
    csv.write_text("date,model,tokens\n2026-03-02,deepseek/deepseek-v3.2,1000\n")
    cli = [sys.executable, "-c", "from tokenstat.cli import main; main()", "--db", str(db)]
    subprocess.run([*cli, "import", "market", str(csv)], check=True, capture_output=True)
    done = subprocess.run(
        [*cli, "summary", "--by", "origin", "--json"], check=True, capture_output=True, text=True
    )
    report = json.loads(done.stdout)
    assert report["total"]["tokens"] == 1000
    assert [g["key"] for g in report["groups"]] == ["CN"]
