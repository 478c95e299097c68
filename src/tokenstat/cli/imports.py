"""Commands that bring data in: import, fetch, sources."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tokenstat.cli.app import JSON_OPTION, command, err, fetch_app, out, state
from tokenstat.errors import ImportOptionError
from tokenstat.periods import parse_date_span
from tokenstat.render.formats import to_json

if TYPE_CHECKING:
    from rich.progress import Progress

    from tokenstat.importing import Progress as ImportProgress
    from tokenstat.ledger import ImportResult


def _progress(quiet: bool) -> tuple[Progress | None, ImportProgress]:
    from rich.filesize import decimal
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from tokenstat.importing import Progress as ImportProgress

    if quiet or not err.is_terminal:
        return None, ImportProgress()
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TextColumn("{task.fields[size]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task("files", total=None, rows=0, nbytes=0, size="")

    def on_file(path: Path, index: int, total: int) -> None:
        bar.update(task, total=total, completed=index, description=path.name[:40])

    def on_rows(rows: int) -> None:
        bar.update(task, rows=bar.tasks[0].fields["rows"] + rows)

    def on_bytes(nbytes: int) -> None:
        total = bar.tasks[0].fields["nbytes"] + nbytes
        bar.update(task, nbytes=total, size=decimal(total) + " read")

    return bar, ImportProgress(on_file=on_file, on_rows=on_rows, on_bytes=on_bytes)


def report_import(result: ImportResult, as_json: bool) -> None:
    if as_json:
        payload = asdict(result)
        payload["bad_examples"] = [b.message() for b in result.bad_examples]
        sys.stdout.write(to_json(payload) + "\n")
        return
    for warning in result.warnings:
        err.print(f"warning: {warning}", highlight=False, markup=False)
    for bad in result.bad_examples:
        err.print(f"bad record: {bad.message()}", highlight=False, markup=False, soft_wrap=True)
    if result.rows_bad > len(result.bad_examples):
        err.print(f"... and {result.rows_bad - len(result.bad_examples)} more bad records")
    span = f", {result.first_day} to {result.last_day}" if result.first_day else ""
    parts = [f"{result.rows_new:,} new rows from {result.files_read} file(s){span}"]
    if result.files_skipped:
        parts.append(f"{result.files_skipped} file(s) already imported")
    if result.files_resumed:
        parts.append(f"{result.files_resumed} grown file(s) read from their last position")
    if result.rows_duplicate:
        parts.append(f"{result.rows_duplicate:,} duplicate rows skipped")
    if result.rows_replaced:
        parts.append(f"{result.rows_replaced:,} earlier rows replaced by a larger copy")
    if result.rows_bad:
        parts.append(f"{result.rows_bad:,} bad records kept aside (tokenstat ledger quarantine)")
    err.print(f"{result.source}: " + "; ".join(parts), highlight=False, markup=False)


@command("import")
def import_command(
    source: str = typer.Argument(..., help="Importer name (see: tokenstat sources), or auto."),
    paths: list[Path] | None = typer.Argument(None, help="Files or directories to read."),
    strict: bool = typer.Option(
        False, "--strict", help="Any bad record fails the whole import; nothing is written."
    ),
    maps: list[str] | None = typer.Option(
        None,
        "--map",
        help="For csv, jsonl, parquet: TARGET=COLUMN (repeat, or a comma list), e.g. "
        "--map ts=created,input_tokens=prompt_tokens. Targets: see tokenstat sources.",
    ),
    map_file: Path | None = typer.Option(
        None, "--map-file", help="A YAML or JSON file of TARGET: COLUMN pairs (--map wins)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import usage data into the ledger (idempotent: importing twice changes nothing).

    \b
    Examples:
      tokenstat import claude-code                 # its logs, found where Claude Code keeps them
      tokenstat import market weekly.csv --strict
      tokenstat import csv usage.csv --map ts=created,model=engine,input_tokens=prompt
    """
    from tokenstat import api

    files = list(paths or [])
    options = _import_options(source, maps, map_file)
    bar, progress = _progress(as_json)
    with state.ledger() as ledger:
        if bar:
            with bar:
                result = api.import_path(
                    ledger,
                    source,
                    files,
                    catalog=state.catalog(),
                    strict=strict,
                    options=options,
                    progress=progress,
                )
        else:
            result = api.import_path(
                ledger,
                source,
                files,
                catalog=state.catalog(),
                strict=strict,
                options=options,
                progress=progress,
            )
    report_import(result, as_json)


def _import_options(source: str, maps: list[str] | None, map_file: Path | None) -> dict:
    from tokenstat.sources.generic import load_mapping_file, parse_mapping
    from tokenstat.sources.registry import get_source

    mapping = load_mapping_file(map_file) if map_file else {}
    mapping.update(parse_mapping(maps))
    if not mapping:
        return {}
    if source != "auto" and not getattr(get_source(source), "accepts_mapping", False):
        raise ImportOptionError(
            f"--map and --map-file are for the importers of any table (csv, jsonl, parquet); "
            f"{source} knows its columns"
        )
    return {"mapping": mapping}


@command("sources")
def sources_command(as_json: bool = JSON_OPTION) -> None:
    """List the importers and what each reads.

    \b
    Examples:
      tokenstat sources
      tokenstat sources --json
    """
    from tokenstat.sources.generic import MAPPING_TARGETS
    from tokenstat.sources.registry import all_sources

    rows = [
        {
            "name": s.name,
            "description": s.description,
            "reads": s.reads,
            "default_paths": [str(p) for p in s.discover()],
        }
        for s in all_sources()
    ]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    from tokenstat.render.listing import importers_table

    out.print(importers_table(rows))
    out.print(
        "Import with: tokenstat import NAME PATH... (or: tokenstat import auto PATH).\n"
        "csv, jsonl and parquet take a column mapping, --map TARGET=COLUMN, with targets: "
        + ", ".join(MAPPING_TARGETS),
        highlight=False,
        markup=False,
    )


@command("openrouter-rankings", parent=fetch_app)
def fetch_openrouter_rankings(
    start: str = typer.Option(
        ..., metavar="DAY", help="First day (YYYY-MM-DD, or 7d, last-month, ...; UTC)."
    ),
    end: str = typer.Option(None, metavar="DAY", help="Last day (default: today, UTC)."),
    save: Path | None = typer.Option(
        None, help="Where to keep the responses (default: the user cache dir)."
    ),
    base_url: str | None = typer.Option(
        None, help="API base URL (default: $TOKENSTAT_OPENROUTER_BASE_URL, else OpenRouter's)."
    ),
    rate: float = typer.Option(30, help="Requests per minute at most."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Fetch OpenRouter's daily rankings (needs OPENROUTER_API_KEY) and import them."""
    from tokenstat import api
    from tokenstat.sources.openrouter_api import api_key_from_env, fetch_rankings

    today = datetime.now(UTC).date()
    first = parse_date_span(start, today)[0]
    last = min(parse_date_span(end, today)[1], today) if end else today
    bodies = fetch_rankings(
        first, last, api_key=api_key_from_env(), base_url=base_url, requests_per_minute=rate
    )
    from platformdirs import user_cache_dir

    target = save or (
        Path(user_cache_dir("tokenstat")) / f"openrouter-rankings-{first}-{last}.jsonl"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(json.dumps(b) + "\n" for b in bodies), encoding="utf-8")
    err.print(f"fetched {len(bodies)} response(s) into {target}", highlight=False, markup=False)
    with state.ledger() as ledger:
        result = api.import_path(ledger, "openrouter-rankings", [target], catalog=state.catalog())
    report_import(result, as_json)
