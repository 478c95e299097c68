"""The sync command: several machines' own usage in one ledger each."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import typer

from tokenstat.cli.app import JSON_OPTION, command, out, state


@command("sync")
def sync(
    folder: Path = typer.Argument(..., metavar="DIR", help="A folder every machine shares."),
    machine: str | None = typer.Option(
        None,
        "--machine",
        metavar="NAME",
        help="This machine's name (default: $TOKENSTAT_MACHINE, else the host name).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write this machine's new rows to DIR/<machine>/ and import every other machine's.

    Rows are counted once however many machines hold them (by event id), so a session
    whose log is on two machines counts once. Run it on each machine, any time.

    \b
    Examples:
      tokenstat sync ~/Sync/tokenstat
      tokenstat sync /mnt/team/tokenstat --machine laptop
      tokenstat daily --by machine
    """
    from tokenstat.render.formats import to_json
    from tokenstat.sync import sync as run_sync

    with state.ledger() as ledger:
        result = run_sync(ledger, folder, machine=machine, catalog=state.catalog())
    if as_json:
        sys.stdout.write(to_json(asdict(result)) + "\n")
        return
    wrote = (
        f"wrote {result.exported_rows:,} rows to {result.exported_file}"
        if result.exported_file
        else "nothing new to write"
    )
    machines = ", ".join(result.machines) or "none yet"
    out.print(
        f"{result.machine}: {wrote}; read {result.imported_rows:,} new rows from other "
        f"machines ({machines})"
        + (f", {result.duplicate_rows:,} already here" if result.duplicate_rows else ""),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
