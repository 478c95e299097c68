"""Command-line interface: one module per command group, all thin.

Errors tokenstat raises on purpose become one line on stderr (see `cli.app.friendly`).
Command modules import the engine (Ibis, DuckDB, Arrow, prices, charts) inside the
commands that use it, so that every command starts with only what it needs
(tests/test_cli_startup.py holds the start-up light).
"""

from __future__ import annotations

from tokenstat.cli import (  # noqa: F401 (registers the commands)
    capture,
    catalog,
    demo,
    forecast,
    imports,
    ledger,
    prices,
    reports,
    sync,
    usage,
    verify,
    visual,
)
from tokenstat.cli.app import app


def main() -> None:
    app()
