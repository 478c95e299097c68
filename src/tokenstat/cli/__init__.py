"""Command-line interface: one module per command group, all thin.

Errors tokenstat raises on purpose become one line on stderr (see `cli.app.friendly`).
"""

from __future__ import annotations

from tokenstat.cli import (  # noqa: F401 (registers the commands)
    catalog,
    demo,
    forecast,
    imports,
    ledger,
    prices,
    reports,
    verify,
    visual,
)
from tokenstat.cli.app import app


def main() -> None:
    app()
