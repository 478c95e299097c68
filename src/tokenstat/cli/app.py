"""The Typer application, its global options and the helpers every command shares."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.text import Text

from tokenstat.errors import StrictImportError, TokenstatError
from tokenstat.render.formats import CSV_ROWS, to_csv, to_json

if TYPE_CHECKING:
    from tokenstat.catalog import Catalog
    from tokenstat.ledger import Ledger

app = typer.Typer(
    name="tokenstat",
    help="Measure the LLM token economy: import usage, attribute it, report on it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)


@dataclass
class State:
    db: Path | None = None
    catalog_file: Path | None = None
    _catalog: Catalog | None = None

    def catalog(self) -> Catalog:
        if self._catalog is None:
            from tokenstat.catalog import load_catalog

            self._catalog = load_catalog(self.catalog_file)
        return self._catalog

    @contextmanager
    def ledger(self, *, read_only: bool = False) -> Iterator[Ledger]:
        from tokenstat.ledger import Ledger

        ledger = Ledger.open(self.db, read_only=read_only)
        try:
            yield ledger
        finally:
            ledger.close()


state = State()
fetch_app = typer.Typer(help="Fetch data from public APIs, then import it.", no_args_is_help=True)
catalog_app = typer.Typer(
    help="What the catalog knows: models, authors, unresolved.", no_args_is_help=True
)
ledger_app = typer.Typer(help="Look after the ledger: info, quarantine.", no_args_is_help=True)
app.add_typer(fetch_app, name="fetch")
app.add_typer(catalog_app, name="catalog")
app.add_typer(ledger_app, name="ledger")

EXIT_ERROR = 1
EXIT_STRICT = 3


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn tokenstat's own errors into one line on stderr and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TokenstatError as exc:
            err.print(Text.assemble(("error: ", "red"), str(exc)), soft_wrap=True)
            raise typer.Exit(
                EXIT_STRICT if isinstance(exc, StrictImportError) else EXIT_ERROR
            ) from None

    return wrapper


def command(*args: Any, parent: typer.Typer | None = None, **kwargs: Any) -> Callable[..., Any]:
    """Register a command (on ``parent`` or the main app) with friendly errors."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        (parent or app).command(*args, **kwargs)(friendly(func))
        return func

    return register


@app.callback()
def main_options(
    db: Path | None = typer.Option(
        None, "--db", help="Ledger file (default: $TOKENSTAT_DB, else the user data dir)."
    ),
    catalog: Path | None = typer.Option(
        None,
        "--catalog",
        help="User catalog file (default: $TOKENSTAT_CATALOG, else catalog.yaml in the "
        "user config dir, when present).",
    ),
) -> None:
    state.db = db
    state.catalog_file = catalog
    state._catalog = None


def emit(
    report: dict[str, Any],
    kind: str,
    *,
    as_json: bool,
    as_csv: bool,
    table: Callable[[dict[str, Any]], Any],
) -> None:
    """Print a report: JSON or CSV on stdout alone, or a table for people."""
    if as_json:
        sys.stdout.write(to_json(report) + "\n")
    elif as_csv:
        sys.stdout.write(to_csv(report[CSV_ROWS[kind]]))
    else:
        out.print(table(report))


JSON_OPTION = typer.Option(False, "--json", help="Print JSON (the stable contract) on stdout.")
CSV_OPTION = typer.Option(False, "--csv", help="Print the report's rows as CSV on stdout.")
