"""Shared fixtures: an isolated environment per test, and one local Spark session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the ledger and the user catalog at a temporary directory; fix the terminal."""
    monkeypatch.setenv("TOKENSTAT_DB", str(tmp_path / "ledger.duckdb"))
    monkeypatch.setenv("TOKENSTAT_CATALOG", str(tmp_path / "no-user-catalog.yaml"))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    return tmp_path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner: CliRunner):
    """Run the CLI in process; returns the click Result."""
    from tokenstat.cli import app

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return run


@pytest.fixture(scope="session")
def spark_con(tmp_path_factory: pytest.TempPathFactory):
    """An Ibis connection to one local Spark session shared by the whole run."""
    pytest.importorskip("pyspark")
    import ibis
    from pyspark.sql import SparkSession

    base = tmp_path_factory.mktemp("spark")
    os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("tokenstat-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(base / "warehouse"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={base}")
        .getOrCreate()
    )
    yield ibis.pyspark.connect(session)
    session.stop()
