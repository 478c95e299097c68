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
# Token sums are computed in this type: exact, and no number of rows of counts up to
# 2^63 - 1 overflows it (at most 10^38 - 1); DuckDB's ``sum(BIGINT)`` is HUGEINT too.
WIDE = "decimal(38, 0)"
# ``by="none"``: no grouping, one group holding every row
NO_GROUPING = "none"
ALL_KEY = "all"


def check_dimension(by: str) -> str:
    if by not in DIMENSIONS and by != NO_GROUPING:
        raise QueryError(
            f"unknown dimension {by!r}; choose one of: {', '.join(DIMENSIONS)}, {NO_GROUPING}"
        )
    return by


def group_key(rows: ir.Table, by: str) -> ir.StringValue:
    """The group key of each row for ``by`` (``none``: the one key ``all``)."""
    if by == NO_GROUPING:
        return ibis.literal(ALL_KEY, "string")
    return ibis.coalesce(rows[by].cast("string"), NO_VALUE)


def token_value(t: ir.Table, kind: str) -> ir.DecimalValue:
    """Tokens of one kind as `WIDE` (whole numbers); ``total`` is input + output (cache and
    reasoning are subsets)."""
    if kind not in TOKEN_KINDS:
        raise QueryError(f"unknown token kind {kind!r}; choose one of: {', '.join(TOKEN_KINDS)}")
    if kind == "total":
        # widened first: two counts that each fit int64 may not fit it added
        return t.input_tokens.cast(WIDE) + t.output_tokens.cast(WIDE)
    return t[f"{kind}_tokens"].cast(WIDE)


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
    key = group_key(rows, by)
    value = rows[value_column] if value_column else token_value(rows, kind)
    return rows.select(day=rows.day, key=key, value=value)
