"""The Typer application, its global options and the helpers every command shares.

Exit statuses: 0 done, 1 a tokenstat error (one line on stderr, maybe a hint), 3 a bad
record under ``import --strict``, 70 an internal error (a bug: one line, the traceback with
``--debug`` or ``TOKENSTAT_DEBUG=1``), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
import typer.core
from rich.console import Console
from rich.text import Text

from tokenstat.errors import StrictImportError, TokenstatError
from tokenstat.render.formats import CSV_ROWS, to_csv, to_json

if TYPE_CHECKING:
    from tokenstat.catalog import Catalog
    from tokenstat.ledger import Ledger


class _PlainFlags:
    """Show flags (``--json``, ``--help``) in help without a value type such as ``<bool>``."""

    def get_params(self, ctx: typer.Context) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            is_flag = getattr(param, "is_flag", False) and not getattr(param, "count", False)
            if is_flag and param.metavar is None:
                param.metavar = ""
        return params

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        """The usage line names required arguments plainly (``lead A B``, not ``{A} {B}``)."""
        pieces = super().collect_usage_pieces(ctx)  # type: ignore[misc]
        return [p.replace("{", "").replace("}", "") for p in pieces]


class Command(_PlainFlags, typer.core.TyperCommand):
    """Every tokenstat command: flags shown plainly in help."""


class Group(_PlainFlags, typer.core.TyperGroup):
    """The tokenstat app and its command groups: flags shown plainly in help, commands in
    the order of `PANELS` (then as registered)."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        names = super().list_commands(ctx)
        order = {name: i for i, name in enumerate(n for ns in PANELS.values() for n in ns)}
        return sorted(names, key=lambda n: order.get(n, len(order)))


app = typer.Typer(
    name="tokenstat",
    help="Measure the LLM token economy: import usage, attribute it, report on it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help (Click's formatter): it starts in half the time of Rich's panels, and
    # reads the same in a terminal, a pipe and docs/cli.md; up to 120 columns wide
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},
    cls=Group,
)

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)


@dataclass
class State:
    db: Path | None = None
    catalog_file: Path | None = None
    debug: bool = False
    _catalog: Catalog | None = None

    def catalog(self) -> Catalog:
        if self._catalog is None:
            from tokenstat.catalog import load_catalog

            self._catalog = load_catalog(self.catalog_file)
        return self._catalog

    @contextmanager
    def ledger(self, *, read_only: bool = False) -> Iterator[Ledger]:
        from tokenstat.ledger import Ledger

        # a busy ledger is waited for with one line on stderr (stdout stays pure JSON)
        ledger = Ledger.open(
            self.db,
            read_only=read_only,
            on_busy=lambda line: err.print(Text(line, style="yellow"), soft_wrap=True),
        )
        try:
            yield ledger
        finally:
            ledger.close()


state = State()
fetch_app = typer.Typer(
    help="Fetch data from public APIs, then import it.", no_args_is_help=True, cls=Group
)
catalog_app = typer.Typer(
    help="What the catalog knows: models, authors, unresolved.", no_args_is_help=True, cls=Group
)
ledger_app = typer.Typer(
    help="Look after the ledger: info, imports, forget, quarantine.",
    no_args_is_help=True,
    cls=Group,
)

# The panels of ``tokenstat --help``, in order, and the commands each holds (a command
# not listed goes under "Other").
PANELS: dict[str, tuple[str, ...]] = {
    "Market reports": ("summary", "top", "trend", "lead", "forecast", "verify"),
    "Own usage": ("daily", "weekly", "monthly", "session", "blocks", "sync"),
    "Prices and cost": ("prices", "cost", "whatif"),
    "Charts, report and dashboard": ("chart", "report", "serve"),
    "Data in": ("import", "fetch", "sources", "demo"),
    "Live capture": ("collect", "proxy"),
    "Catalog and ledger": ("catalog", "ledger"),
}
PANEL_OF = {name: panel for panel, names in PANELS.items() for name in names}

app.add_typer(fetch_app, name="fetch", rich_help_panel=PANEL_OF["fetch"])
app.add_typer(catalog_app, name="catalog", rich_help_panel=PANEL_OF["catalog"])
app.add_typer(ledger_app, name="ledger", rich_help_panel=PANEL_OF["ledger"])

EXIT_ERROR = 1
EXIT_STRICT = 3
EXIT_INTERNAL = 70  # EX_SOFTWARE of sysexits.h
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
INTERNAL_MESSAGE_CHARS = 400


def debugging() -> bool:
    """True when ``--debug`` was given or ``TOKENSTAT_DEBUG`` is set to 1/true/yes."""
    env = os.environ.get("TOKENSTAT_DEBUG", "").strip().lower()
    return state.debug or env in {"1", "true", "yes", "on"}


def internal_message(exc: BaseException) -> str:
    """One line for an unexpected exception: its type and its message on one line, capped."""
    text = " ".join(str(exc).split())
    if len(text) > INTERNAL_MESSAGE_CHARS:
        text = text[: INTERNAL_MESSAGE_CHARS - 1] + "…"
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command so that no traceback reaches a user (the CLI edge).

    A `TokenstatError` becomes ``error: ...`` (and ``hint: ...`` when it has one), exit 1
    (3 for a strict import); any other exception ``internal error: ...``, exit 70, unless
    debugging (then it propagates with its traceback); Ctrl-C one line, exit 130. Click's own
    exits and usage errors pass through.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except TokenstatError as exc:
            err.print(Text.assemble(("error: ", "red"), str(exc)), soft_wrap=True)
            if exc.hint:
                err.print(Text(f"hint: {exc.hint}", style="dim"), soft_wrap=True)
            raise typer.Exit(
                EXIT_STRICT if isinstance(exc, StrictImportError) else EXIT_ERROR
            ) from None
        except KeyboardInterrupt:
            if debugging():
                raise
            err.print(Text("interrupted", style="red"), soft_wrap=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            if debugging():
                raise
            err.print(
                Text.assemble(
                    ("internal error: ", "red"),
                    internal_message(exc),
                    "; run again with --debug, and please report it",
                ),
                soft_wrap=True,
            )
            raise typer.Exit(EXIT_INTERNAL) from None

    return wrapper


def command(*args: Any, parent: typer.Typer | None = None, **kwargs: Any) -> Callable[..., Any]:
    """Register a command (on ``parent`` or the main app) behind the CLI edge (`friendly`)."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        kwargs.setdefault("cls", Command)
        if parent is None and args:
            kwargs.setdefault("rich_help_panel", PANEL_OF.get(args[0], "Other"))
        (parent or app).command(*args, **kwargs)(friendly(func))
        return func

    return register


def _print_version(value: bool) -> None:
    """Print ``tokenstat X.Y.Z`` and stop (eager: before any command or engine loads)."""
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("tokenstat")
    except PackageNotFoundError:
        number = "unknown"
    sys.stdout.write(f"tokenstat {number}\n")
    raise typer.Exit()


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
    debug: bool = typer.Option(
        False,
        "--debug",
        help="Show the traceback of an internal error (also: TOKENSTAT_DEBUG=1).",
    ),
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_print_version,
        help="Print the version and exit.",
    ),
) -> None:
    state.db = db
    state.catalog_file = catalog
    state.debug = debug
    state._catalog = None


def emit(
    report: dict[str, Any],
    kind: str,
    *,
    as_json: bool,
    as_csv: bool,
    table: Callable[[dict[str, Any]], Any],
    note: str | None = None,
) -> None:
    """Print a report: JSON or CSV on stdout alone, or a table for people (then ``note``,
    e.g. what ``--limit`` left out, on a line of its own)."""
    if as_json:
        sys.stdout.write(to_json(report) + "\n")
    elif as_csv:
        sys.stdout.write(to_csv(report[CSV_ROWS[kind]]))
    else:
        out.print(table(report))
        if note:
            out.print(Text(note, style="dim"), soft_wrap=True)


JSON_OPTION = typer.Option(False, "--json", help="Print JSON (the stable contract) on stdout.")
CSV_OPTION = typer.Option(False, "--csv", help="Print the report's rows as CSV on stdout.")
