"""Facts: the ledger's rows as (day, key, value) for one dimension and measure.

Dimensions derived from the model (author, origin, open_weights) come from the catalog at
query time, joined as a small table; the ledger stores only the canonical model.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from tokenstat.catalog import Catalog
from tokenstat.errors import QueryError
from tokenstat.schema import ROW_DIMENSIONS, TOKEN_KINDS

MODEL_DIMENSIONS = ("model", "author", "origin", "open_weights")
ROLLUP_DIMENSIONS = (*MODEL_DIMENSIONS, "provider", "source")
DIMENSIONS = (*ROLLUP_DIMENSIONS, *ROW_DIMENSIONS)
NO_VALUE = "(none)"


def check_dimension(by: str) -> str:
    if by not in DIMENSIONS:
        raise QueryError(f"unknown dimension {by!r}; choose one of: {', '.join(DIMENSIONS)}")
    return by


def token_value(t: ir.Table, kind: str) -> ir.IntegerValue:
    """Tokens of one kind; ``total`` is input + output (cache and reasoning are subsets)."""
    if kind not in TOKEN_KINDS:
        raise QueryError(f"unknown token kind {kind!r}; choose one of: {', '.join(TOKEN_KINDS)}")
    if kind == "total":
        return t.input_tokens + t.output_tokens
    return t[f"{kind}_tokens"]


def attribution(catalog: Catalog, models: Sequence[str], overrides: dict) -> ir.Table:
    """Memtable (stored, model, author, origin, open_weights) for model ids as stored."""
    table = catalog.attribution_table(models, overrides)
    return ibis.memtable(table.select(["stored", "model", "author", "origin", "open_weights"]))


def with_attribution(rows: ir.Table, attributed: ir.Table) -> ir.Table:
    """``rows`` with ``model`` re-resolved by the current catalog, plus author, origin and
    open_weights."""
    joined = rows.left_join(attributed, rows.model == attributed.stored)
    joined = joined.mutate(model=ibis.coalesce(joined.model_right, joined.model)).drop(
        "model_right", "stored"
    )
    return joined.mutate(
        author=ibis.coalesce(joined.author, "unknown"),
        origin=ibis.coalesce(joined.origin, "unknown"),
        open_weights=ibis.coalesce(joined.open_weights, "unknown"),
    )


def facts(
    rows: ir.Table,
    attributed: ir.Table,
    *,
    by: str,
    kind: str = "total",
    sources: Sequence[str] | None = None,
    value_column: str | None = None,
) -> ir.Table:
    """(day, key, value) from ledger rows (the daily rollup or raw usage rows).

    ``value_column`` sums that column instead of tokens (``cost``, USD, of rows priced by
    `tokenstat.prices.cost.costed`).
    """
    check_dimension(by)
    if sources:
        rows = rows.filter(rows.source.isin(list(sources)))
    if by in MODEL_DIMENSIONS:
        rows = with_attribution(rows, attributed)
    key = ibis.coalesce(rows[by].cast("string"), NO_VALUE)
    value = rows[value_column] if value_column else token_value(rows, kind)
    return rows.select(day=rows.day, key=key, value=value)
