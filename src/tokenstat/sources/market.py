"""Generic market data: per-model token counts by day, week or month (CSV or Parquet).

Columns (by header name, any order):

- required: ``date``, ``model``, and either ``tokens`` or ``input_tokens`` + ``output_tokens``;
- optional: ``grain`` (``day`` default, ``week``, ``month``), ``requests``, ``provider``,
  ``app``, ``author``, ``country`` (an author/country given here overrides the catalog for
  that row's model), ``cache_read_tokens``, ``cache_write_tokens``, ``reasoning_tokens``.

A file that gives only ``tokens`` carries totals: they are stored as input tokens, so
reports on total tokens are exact while input/output splits and computed cost are not
available for such rows. Unknown columns are ignored with a warning.

Identity of a row (for idempotent re-imports): date, grain, model, provider and app as
written; a later file repeating a key does not change the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext, Source
from tokenstat.sources.tabular import (
    Chunk,
    as_strings,
    as_timestamps,
    as_token_counts,
    header_of,
    read_chunks,
    row_values,
)

REQUIRED = ("date", "model")
TOKEN_COLUMNS = (
    "tokens",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
OPTIONAL = ("grain", "requests", "provider", "app", "author", "country")
MARKET_GRAINS = ("day", "week", "month")
# columns read as text (`as_strings`)
TEXT_COLUMNS = ("model", "grain", "provider", "app", "author", "country")


class MarketSource(Source):
    name = "market"
    description = "Per-model token counts by day/week/month (market data)"
    reads = "CSV or Parquet: date, model, tokens | input_tokens+output_tokens [, grain, ...]"

    def detect(self, path: Path, head: bytes) -> bool:
        if head.startswith(b"PAR1"):
            return False  # Parquet could be anything; name the source explicitly
        first = head.split(b"\n", 1)[0].decode("utf-8", errors="replace").lower()
        names = {c.strip().strip('"') for c in first.split(",")}
        return {"date", "model"} <= names and ("tokens" in names or "input_tokens" in names)

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        header = [h.strip().lower() for h in header_of(path)]
        missing = [c for c in REQUIRED if c not in header]
        if "tokens" not in header and not {"input_tokens", "output_tokens"} <= set(header):
            missing.append("tokens (or input_tokens and output_tokens)")
        if missing:
            raise ImportFormatError(
                f"missing column(s): {', '.join(missing)}", location=f"{path}:1"
            )
        known = set(REQUIRED) | set(TOKEN_COLUMNS) | set(OPTIONAL)
        unknown = [h for h in header if h not in known]
        if unknown:
            ctx.warn(f"{path}: ignoring unknown column(s): {', '.join(unknown)}")
        original = dict(zip(header, header_of(path), strict=True))
        wanted = [original[h] for h in header if h in known]
        text = [original[h] for h in TEXT_COLUMNS if h in original]
        for chunk in read_chunks(path, ctx, wanted, dictionary=text):
            chunk.table = chunk.table.rename_columns(
                [c.strip().lower() for c in chunk.table.column_names]
            )
            batch = self._convert(path, chunk, ctx)
            if batch is not None:
                yield batch

    def _convert(self, path: Path, chunk: Chunk, ctx: ReadContext) -> pa.RecordBatch | None:
        table = chunk.table
        n = table.num_rows
        if n == 0:
            return None
        problems: list[tuple[int, str, str]] = []  # (row, field, reason)

        ts, bad = as_timestamps(table["date"])
        problems += [(i, "date", r) for i, r in bad]
        model_raw = as_strings(table["model"], n)
        problems += [
            (i, "model", "missing model")
            for i in pc.indices_nonzero(pc.is_null(model_raw)).to_pylist()
        ]
        counts: dict[str, pa.Array] = {}
        for name in TOKEN_COLUMNS:
            if name in table.column_names:
                values, bad = as_token_counts(
                    table[name], required=name in ("tokens", "input_tokens", "output_tokens")
                )
                counts[name] = values
                problems += [(i, name, r) for i, r in bad]
        if "tokens" in counts and "input_tokens" not in counts:
            counts["input_tokens"] = counts["tokens"]
        zeros = pa.repeat(pa.scalar(0, pa.int64()), n)
        for name in (
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
        ):
            counts.setdefault(name, zeros)

        if "grain" in table.column_names:
            grain = pc.fill_null(pc.utf8_lower(as_strings(table["grain"], n)), "day")
            bad_grain = pc.invert(pc.is_in(grain, pa.array(MARKET_GRAINS)))
            problems += [
                (
                    i,
                    "grain",
                    f"grain must be one of {', '.join(MARKET_GRAINS)}, not {grain[i].as_py()!r}",
                )
                for i in pc.indices_nonzero(bad_grain).to_pylist()
            ]
        else:
            grain = pa.repeat(pa.scalar("day"), n)
        requests = None
        if "requests" in table.column_names:
            requests, bad = as_token_counts(table["requests"], required=False)
            problems += [(i, "requests", r) for i, r in bad]
            requests = pc.if_else(pc.is_null(table["requests"].combine_chunks()), None, requests)
        provider = as_strings(table["provider"] if "provider" in table.column_names else None, n)
        app = as_strings(table["app"] if "app" in table.column_names else None, n)
        self._note_attributions(table, model_raw, ctx, n)

        keep = None
        if problems:
            flags = [True] * n
            for i, field_name, reason in sorted(problems):
                if flags[i]:
                    raw = json.dumps(row_values(table, i), default=str)
                    ctx.bad(chunk.location(path, i), field_name, reason, raw)
                flags[i] = False
            keep = pa.array(flags)
        # YYYY-MM-DD of the UTC day: the few distinct days of a batch are formatted once
        days = pc.dictionary_encode(pc.cast(ts, pa.date32()))
        day_text = pc.take(pc.cast(days.dictionary, pa.string()), days.indices)
        event_id = pc.binary_join_element_wise(
            "market", day_text, grain, model_raw, provider, app, "|", null_handling="replace"
        )
        batch = pa.RecordBatch.from_pydict(
            {
                "event_id": event_id,
                "ts": ts,
                "grain": grain,
                "source": pa.repeat(pa.scalar("market"), n),
                "model": pa.nulls(n, pa.string()),
                "model_raw": model_raw,
                "provider": provider,
                "app": app,
                "input_tokens": counts["input_tokens"],
                "cache_read_tokens": counts["cache_read_tokens"],
                "cache_write_tokens": counts["cache_write_tokens"],
                "output_tokens": counts["output_tokens"],
                "reasoning_tokens": counts["reasoning_tokens"],
                "requests": requests if requests is not None else pa.nulls(n, pa.int64()),
            }
        )
        return batch.filter(keep) if problems else batch

    @staticmethod
    def _note_attributions(table: pa.Table, model_raw: pa.Array, ctx: ReadContext, n: int) -> None:
        if "author" not in table.column_names and "country" not in table.column_names:
            return
        author = as_strings(table["author"] if "author" in table.column_names else None, n)
        country = as_strings(table["country"] if "country" in table.column_names else None, n)
        given = pc.or_(pc.is_valid(author), pc.is_valid(country))
        pairs = pa.table({"m": model_raw, "a": author, "c": country}).filter(given)
        for m, a, c in zip(*(pairs[k].to_pylist() for k in ("m", "a", "c")), strict=True):
            if m:
                ctx.model_overrides[m] = (a, c)
