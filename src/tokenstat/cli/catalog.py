"""Catalog commands: models, authors, unresolved, resolve."""

from __future__ import annotations

import sys

import typer

from tokenstat.cli.app import CSV_OPTION, JSON_OPTION, catalog_app, command, out, state
from tokenstat.render.formats import to_csv, to_json


def _emit_rows(rows: list[dict], title: str, as_json: bool, as_csv: bool) -> None:
    from tokenstat.render.listing import rows_table

    if as_json:
        sys.stdout.write(to_json({"rows": rows}) + "\n")
    elif as_csv:
        sys.stdout.write(to_csv(rows))
    else:
        out.print(rows_table(rows, title))


@command("models", parent=catalog_app)
def models(
    author: str | None = typer.Option(None, help="Only this author's models."),
    origin: str | None = typer.Option(None, help="Only models from this country (ISO code)."),
    as_json: bool = JSON_OPTION,
    as_csv: bool = CSV_OPTION,
) -> None:
    """Models the catalog knows, with author, origin and open weights."""
    catalog = state.catalog()
    rows = []
    for model in sorted(catalog.models):
        a = catalog.attribute(model)
        if author and a.author != author.lower():
            continue
        if origin and a.origin != origin.upper():
            continue
        entry = catalog.models[model]
        rows.append(
            {
                "model": model,
                "name": entry.name,
                "author": a.author,
                "origin": a.origin,
                "open_weights": a.open_weights,
                "released": entry.released,
            }
        )
    _emit_rows(rows, f"{len(rows)} models", as_json, as_csv)


@command("authors", parent=catalog_app)
def authors(as_json: bool = JSON_OPTION, as_csv: bool = CSV_OPTION) -> None:
    """Authors (labs), their country and open-weights policy."""
    catalog = state.catalog()
    rows = [
        {
            "author": a.slug,
            "lab": a.lab,
            "country": a.country or "unknown",
            "open_weights": a.open_weights or "unknown",
            "aliases": ", ".join(a.aliases),
        }
        for a in sorted(catalog.authors.values(), key=lambda a: a.slug)
    ]
    _emit_rows(rows, f"{len(rows)} authors", as_json, as_csv)


@command("unresolved", parent=catalog_app)
def unresolved(as_json: bool = JSON_OPTION, as_csv: bool = CSV_OPTION) -> None:
    """Models in the ledger whose origin is unknown, with their tokens (largest first)."""
    from tokenstat.metrics.unresolved import unresolved_models

    with state.ledger(read_only=True) as ledger:
        rows = unresolved_models(ledger, state.catalog())
    _emit_rows(rows, f"{len(rows)} models without a known origin", as_json, as_csv)


@command("resolve", parent=catalog_app)
def resolve(
    names: list[str] = typer.Argument(
        ..., metavar="MODEL", help="Model strings as a source writes them (any case)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show how model strings resolve: canonical id, author, origin; for a string the
    catalog does not know, the closest ids it does (did_you_mean).

    \b
    Examples:
      tokenstat catalog resolve claude-sonnet-4-20250514 deepseek-chat
      tokenstat catalog resolve GPT-4o --json
    """
    from tokenstat.catalog.names import suggestions

    catalog = state.catalog()
    rows = []
    for raw in names:
        model = catalog.resolve(raw)
        a = catalog.attribute(model)
        row = {"raw": raw, "model": model, "author": a.author, "origin": a.origin, "known": a.known}
        row["did_you_mean"] = "" if a.known else ", ".join(suggestions(raw, catalog.models))
        rows.append(row)
    _emit_rows(rows, "Resolution", as_json, False)
