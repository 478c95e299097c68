"""Generic importers for any table of usage: ``csv``, ``jsonl`` and ``parquet``.

A *column mapping* says which column holds which canonical field::

    tokenstat import csv usage.csv --map ts=created,model=engine,input_tokens=prompt_tokens
    tokenstat import jsonl calls.jsonl --map input_tokens=usage.prompt_tokens
    tokenstat import parquet usage.parquet --map-file mapping.yaml

The mapping comes in ``ctx.options["mapping"]`` as ``{target: column}``. A target not
mapped is read from a column of the same name when there is one (``ts`` also from
``timestamp``, ``time`` or ``date``). In JSON Lines a column is a key, and a dotted name
reaches into nested objects (``usage.prompt_tokens``).

Targets (see `MAPPING_TARGETS`): ``ts`` and ``model`` are required, and at least one token
count. Token semantics are the ledger's: ``input_tokens`` counts ALL input, cache reads and
writes included, ``output_tokens`` all output, reasoning included. For a table that
counts input WITHOUT cache (Anthropic-shaped), map that column to
``input_uncached_tokens`` instead: input is then uncached + cache reads + cache writes.
A row whose cache counts exceed its input, or whose reasoning exceeds its output, is
reported as bad (it would be priced wrong).

Rows
    ``grain`` is ``request`` unless mapped (``day``, ``week`` and ``month`` rows hold
    aggregates); ``requests`` is 1 for a request row and empty for an aggregate unless
    mapped. ``event_id`` is a hash of the source name and the mapped ``event_id`` column;
    without one, of the row's values (time, grain, model, dimensions, counts, cost), so
    re-importing the same rows adds nothing; two rows identical in every mapped value
    count once (map an id column when a table can hold such rows).

Errors
    A mapped column that the file does not have, an unknown target, or a missing required
    target is an `ImportOptionError`: the import stops and nothing is written. Bad values
    are reported per row (``<path>:<line>`` for CSV and JSON Lines, ``<path>:record N``
    for Parquet) with the column's name as the field.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from tokenstat.errors import ImportFormatError, ImportOptionError
from tokenstat.schema import GRAINS_STORED
from tokenstat.sources.base import ReadContext, Source, make_event_id, read_head
from tokenstat.sources.columns import parse_costs, parse_timestamps
from tokenstat.sources.jsonio import JsonLayout, JsonRecord, iter_json_records
from tokenstat.sources.records import (
    count,
    lookup,
    model_name,
    money,
    optional_count,
    rows_from_records,
    text,
    timestamp,
)
from tokenstat.sources.tabular import (
    Chunk,
    as_strings,
    as_token_counts,
    header_of,
    read_chunks,
    row_values,
)

MAPPING_TARGETS: dict[str, str] = {
    "ts": "time of the request, or start of the aggregated period (required)",
    "model": "model string as the source wrote it (required)",
    "event_id": "a unique id of the row (else the row's values are its identity)",
    "grain": "request, day, week or month (default: request)",
    "provider": "who served the request",
    "app": "application",
    "user": "user",
    "project": "project",
    "session": "session or conversation",
    "input_tokens": "ALL input tokens, cache reads and writes included",
    "input_uncached_tokens": "input tokens WITHOUT cache (Anthropic-shaped); cache is added",
    "cache_read_tokens": "input tokens read from a cache",
    "cache_write_tokens": "input tokens written to a cache",
    "output_tokens": "ALL output tokens, reasoning included",
    "reasoning_tokens": "reasoning tokens (part of output)",
    "requests": "number of requests the row stands for",
    "cost_reported": "cost the source reported, USD",
}
TOKEN_TARGETS = (
    "input_tokens",
    "input_uncached_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)
TEXT_TARGETS = ("provider", "app", "user", "project", "session")
TS_ALIASES = ("ts", "timestamp", "time", "date")
MAPPING_HELP = "map columns with --map TARGET=COLUMN (see: tokenstat sources)"


# ---- the mapping ----------------------------------------------------------------------


def parse_mapping(items: list[str] | None) -> dict[str, str]:
    """``["a=b", "c=d,e=f"]`` as ``{"a": "b", "c": "d", "e": "f"}`` (targets checked)."""
    mapping: dict[str, str] = {}
    for item in items or []:
        for part in item.split(","):
            if not part.strip():
                continue
            target, sep, column = part.partition("=")
            if not sep or not target.strip() or not column.strip():
                raise ImportOptionError(
                    f"--map {part.strip()!r}: expected TARGET=COLUMN, e.g. input_tokens=prompt"
                )
            mapping[target.strip()] = column.strip()
    check_targets(mapping)
    return mapping


def load_mapping_file(path: Path) -> dict[str, str]:
    """A mapping from a YAML or JSON file: ``{target: column}``, or under a ``mapping`` key."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImportOptionError(f"{path}: cannot read the mapping file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ImportOptionError(f"{path}: not YAML or JSON: {exc}".splitlines()[0]) from None
    if isinstance(document, dict) and isinstance(document.get("mapping"), dict):
        document = document["mapping"]
    if not isinstance(document, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in document.items()
    ):
        raise ImportOptionError(
            f"{path}: a mapping file holds TARGET: COLUMN pairs, e.g. 'input_tokens: prompt'"
        )
    check_targets(document)
    return dict(document)


def check_targets(mapping: dict[str, str]) -> None:
    unknown = sorted(set(mapping) - set(MAPPING_TARGETS))
    if unknown:
        raise ImportOptionError(
            f"unknown mapping target(s): {', '.join(unknown)}; "
            f"targets are: {', '.join(MAPPING_TARGETS)}"
        )
    if "input_tokens" in mapping and "input_uncached_tokens" in mapping:
        raise ImportOptionError(
            "map input_tokens (input with cache) or input_uncached_tokens (without), not both"
        )


def resolve_columns(names: list[str], mapping: dict[str, str], where: str) -> dict[str, str]:
    """``{target: column}`` for a file with columns ``names``: the mapping, checked, plus
    same-named columns for targets not mapped. Raises ImportOptionError."""
    check_targets(mapping)
    lowered: dict[str, list[str]] = {}
    for name in names:
        lowered.setdefault(name.lower(), []).append(name)

    def find(column: str) -> str | None:
        if column in names:
            return column
        candidates = lowered.get(column.lower(), [])
        return candidates[0] if len(candidates) == 1 else None

    columns: dict[str, str] = {}
    for target, column in mapping.items():
        found = find(column)
        if found is None:
            shown = ", ".join(names[:40]) + (", ..." if len(names) > 40 else "")
            raise ImportOptionError(
                f"{where}: column {column!r} (mapped to {target}) is not in the file; "
                f"its columns are: {shown}"
            )
        columns[target] = found
    for target in MAPPING_TARGETS:
        if target in columns or (target == "input_tokens" and "input_uncached_tokens" in columns):
            continue
        if target == "input_uncached_tokens" and "input_tokens" in columns:
            continue
        for alias in TS_ALIASES if target == "ts" else (target,):
            found = find(alias)
            if found is not None:
                columns[target] = found
                break
    missing = [t for t in ("ts", "model") if t not in columns]
    if not any(t in columns for t in ("input_tokens", "input_uncached_tokens", "output_tokens")):
        missing.append("input_tokens or output_tokens")
    if missing:
        raise ImportOptionError(
            f"{where}: no column for {', '.join(missing)}; {MAPPING_HELP}; "
            f"the file's columns are: {', '.join(names[:40])}"
        )
    return columns


# ---- CSV and Parquet ------------------------------------------------------------------


class TableSource(Source):
    """CSV or Parquet with a column mapping, converted a batch at a time (vectorized)."""

    accepts_mapping: ClassVar[bool] = True

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        mapping = dict(ctx.options.get("mapping") or {})
        with _seekable(path) as readable:
            try:
                header = header_of(readable)
            except (pa.ArrowInvalid, OSError) as exc:
                raise ImportFormatError(
                    f"not a readable Parquet file (truncated or damaged?): {exc}".splitlines()[0],
                    location=f"{path}:1",
                ) from None
            names = [n.strip() for n in header]
            columns = resolve_columns(names, mapping, str(path))
            original = dict(zip(names, header, strict=True))
            wanted = sorted({original[c] for c in columns.values()})
            rows = 0
            try:
                for chunk in read_chunks(readable, ctx, wanted):
                    chunk.table = chunk.table.rename_columns(
                        [c.strip() for c in chunk.table.column_names]
                    )
                    rows = chunk.first_row + chunk.table.num_rows
                    batch = convert_chunk(self.name, path, chunk, columns, ctx)
                    if batch is not None and batch.num_rows:
                        yield batch
            except (pa.ArrowInvalid, OSError) as exc:
                ctx.bad(
                    f"{path}:record {rows + 1}",
                    None,
                    f"unreadable from here on: {exc}".splitlines()[0],
                )


@contextmanager
def _seekable(path: Path) -> Iterator[Path]:
    """The path itself, or for gzip-compressed Parquet a decompressed temporary copy
    (Parquet is read from its footer, so it needs a seekable file)."""
    if read_head(path, 4) == b"PAR1" and _is_gzip(path):
        with tempfile.TemporaryDirectory(prefix="tokenstat-") as tmp:
            target = Path(tmp) / path.with_suffix("").name
            with gzip.open(path, "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            yield target
    else:
        yield path


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _table_detect(names: list[str]) -> bool:
    lowered = {n.strip().strip('"').lower() for n in names}
    return (
        "ts" in lowered
        and "model" in lowered
        and ("input_tokens" in lowered or "output_tokens" in lowered)
    )


class CsvSource(TableSource):
    """Any CSV table of usage, through a column mapping."""

    name: ClassVar[str] = "csv"
    description: ClassVar[str] = "any CSV table of usage, through a column mapping (--map)"
    reads: ClassVar[str] = (
        "CSV with a header; --map TARGET=COLUMN,... or --map-file (ts, model and token "
        "columns needed; same-named columns map themselves)"
    )

    def detect(self, path: Path, head: bytes) -> bool:
        if head.startswith(b"PAR1"):
            return False
        first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].decode("utf-8", "replace")
        return _table_detect(first.split(","))


class ParquetSource(TableSource):
    """Any Parquet table of usage, through a column mapping."""

    name: ClassVar[str] = "parquet"
    description: ClassVar[str] = "any Parquet table of usage, through a column mapping (--map)"
    reads: ClassVar[str] = "Parquet; --map TARGET=COLUMN,... or --map-file, as for csv"

    def detect(self, path: Path, head: bytes) -> bool:
        if not head.startswith(b"PAR1"):
            return False
        try:
            with _seekable(path) as readable:
                return _table_detect(pq.ParquetFile(readable).schema_arrow.names)
        except (OSError, pa.ArrowException):
            return False


def _integral_text(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """String counts like ``12.0`` (as spreadsheets and pandas write them) as ``12``."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return pc.replace_substring_regex(array, r"^\s*([+-]?\d+)\.0*\s*$", r"\1")
    return array


def convert_chunk(
    source: str, path: Path, chunk: Chunk, columns: dict[str, str], ctx: ReadContext
) -> pa.RecordBatch | None:
    """Canonical rows of one chunk; bad rows are reported with their column and dropped."""
    table = chunk.table
    n = table.num_rows
    if n == 0:
        return None
    problems: list[tuple[int, str, str]] = []

    def column(target: str) -> pa.ChunkedArray | None:
        return table[columns[target]] if target in columns else None

    ts, bad = parse_timestamps(column("ts"), columns["ts"])
    problems += [(i, columns["ts"], r) for i, r in bad]
    model_raw = as_strings(column("model"), n)
    problems += [
        (i, columns["model"], "missing model")
        for i in pc.indices_nonzero(pc.is_null(model_raw)).to_pylist()
    ]
    zeros = pa.array([0] * n, pa.int64())
    counts: dict[str, pa.Array] = {}
    for target in TOKEN_TARGETS:
        if target not in columns:
            counts[target] = zeros
            continue
        try:
            values, bad = as_token_counts(_integral_text(column(target)), required=False)
        except ImportFormatError as exc:
            values, bad = zeros, [(i, exc.reason) for i in range(n)]
        counts[target] = values
        problems += [(i, columns[target], r) for i, r in bad]
    cache = pc.add(counts["cache_read_tokens"], counts["cache_write_tokens"])
    if "input_uncached_tokens" in columns:
        input_tokens = pc.add(counts["input_uncached_tokens"], cache)
        input_field = columns["input_uncached_tokens"]
    else:
        input_tokens = counts["input_tokens"]
        input_field = columns.get("input_tokens", "input_tokens")
    for i in pc.indices_nonzero(pc.greater(cache, input_tokens)).to_pylist():
        problems.append(
            (
                i,
                input_field,
                f"cache tokens ({cache[i].as_py()}) exceed input tokens "
                f"({input_tokens[i].as_py()}); input must include cache (map "
                "input_uncached_tokens for input counted without cache)",
            )
        )
    output = counts["output_tokens"]
    reasoning = counts["reasoning_tokens"]
    for i in pc.indices_nonzero(pc.greater(reasoning, output)).to_pylist():
        problems.append(
            (
                i,
                columns.get("reasoning_tokens", "reasoning_tokens"),
                f"reasoning tokens ({reasoning[i].as_py()}) exceed output tokens "
                f"({output[i].as_py()})",
            )
        )

    grain = pc.fill_null(pc.utf8_lower(as_strings(column("grain"), n)), "request")
    for i in pc.indices_nonzero(pc.invert(pc.is_in(grain, pa.array(GRAINS_STORED)))).to_pylist():
        problems.append((i, columns["grain"], f"grain must be one of {', '.join(GRAINS_STORED)}"))
    if "requests" in columns:
        requests, bad = as_token_counts(_integral_text(column("requests")), required=False)
        problems += [(i, columns["requests"], r) for i, r in bad]
        requests = pc.if_else(pc.is_null(column("requests").combine_chunks()), None, requests)
    else:
        requests = pc.if_else(pc.equal(grain, "request"), 1, pa.scalar(None, pa.int64()))
    if "cost_reported" in columns:
        cost, bad = parse_costs(column("cost_reported"), columns["cost_reported"])
        problems += [(i, columns["cost_reported"], r) for i, r in bad]
    else:
        cost = pa.nulls(n, pa.float64())
    dims = {t: as_strings(column(t), n) for t in TEXT_TARGETS}

    if "event_id" in columns:
        key_parts = [as_strings(column("event_id"), n)]
    else:
        key_parts = [
            pc.cast(ts, pa.string()),
            grain,
            model_raw,
            *dims.values(),
            *(pc.cast(a, pa.string()) for a in (input_tokens, *_rest(counts), requests, cost)),
        ]
    event_id = _hash_ids(source, key_parts)

    batch = pa.RecordBatch.from_pydict(
        {
            "event_id": event_id,
            "ts": ts,
            "grain": grain,
            "source": pa.repeat(pa.scalar(source), n),
            "model": pa.nulls(n, pa.string()),
            "model_raw": model_raw,
            **dims,
            "input_tokens": input_tokens,
            "cache_read_tokens": counts["cache_read_tokens"],
            "cache_write_tokens": counts["cache_write_tokens"],
            "output_tokens": output,
            "reasoning_tokens": reasoning,
            "requests": pc.cast(requests, pa.int64()),
            "cost_reported": cost,
        }
    )
    if not problems:
        return batch
    keep = [True] * n
    for i, field_name, reason in sorted(problems, key=lambda p: p[0]):
        if keep[i]:
            ctx.bad(chunk.location(path, i), field_name, reason, row_values(table, i))
        keep[i] = False
    return batch.filter(pa.array(keep))


def _rest(counts: dict[str, pa.Array]) -> list[pa.Array]:
    return [counts[t] for t in ("cache_read_tokens", "cache_write_tokens", "output_tokens")] + [
        counts["reasoning_tokens"]
    ]


def _hash_ids(source: str, parts: list[pa.Array]) -> pa.Array:
    """``make_event_id(source, *parts)`` for every row, joined in Arrow, hashed in C."""
    joined = pc.binary_join_element_wise(
        source, *parts, "\x1f", null_handling="replace", null_replacement=""
    )
    blake2b = hashlib.blake2b
    return pa.array(
        [blake2b(s.encode(), digest_size=16).hexdigest() for s in joined.to_pylist()],
        pa.string(),
    )


# ---- JSON Lines -----------------------------------------------------------------------


def _is_record(value: Any) -> bool:
    return isinstance(value, dict)


LAYOUT = JsonLayout(unit_path="item", is_record=_is_record, body_name="a JSON object")


class JsonlSource(Source):
    """Any JSON Lines (or JSON array) of usage records, through a key mapping."""

    name: ClassVar[str] = "jsonl"
    accepts_mapping: ClassVar[bool] = True
    description: ClassVar[str] = "any JSON Lines of usage records, through a key mapping (--map)"
    reads: ClassVar[str] = (
        "JSON Lines (or a JSON array) of objects; --map TARGET=KEY,... where KEY may be "
        "dotted (usage.prompt_tokens)"
    )

    def detect(self, path: Path, head: bytes) -> bool:
        first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
        return (
            first.lstrip().startswith(b"{")
            and b'"ts"' in first
            and b'"model"' in first
            and (b'"input_tokens"' in first or b'"output_tokens"' in first)
        )

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        mapping = dict(ctx.options.get("mapping") or {})
        converter = _RecordConverter(self.name, mapping, str(path))
        records = iter_json_records(path, ctx, LAYOUT)
        yield from rows_from_records(self.name, _resolving(records, converter), converter, ctx)


def _resolving(records: Iterator[JsonRecord], converter: _RecordConverter) -> Iterator[JsonRecord]:
    """Records, resolving the mapping against the keys of the first one."""
    for record in records:
        if converter.keys is None and isinstance(record.value, dict):
            converter.resolve(record.value)
        yield record


class _RecordConverter:
    def __init__(self, source: str, mapping: dict[str, str], where: str):
        check_targets(mapping)
        self.source, self.mapping, self.where = source, mapping, where
        self.keys: dict[str, str] | None = None

    def resolve(self, first: dict[str, Any]) -> None:
        """Check the mapping against the first record's keys; fill in same-named keys."""
        missing = object()
        for target, key in self.mapping.items():
            if lookup(first, key, missing) is missing:
                raise ImportOptionError(
                    f"{self.where}: key {key!r} (mapped to {target}) is not in the first "
                    f"record; its keys are: {', '.join(_flat_keys(first)[:40])}"
                )
        self.keys = resolve_columns(_flat_keys(first), self.mapping, self.where)

    def __call__(self, record: Any) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise ImportFormatError("a record should be a JSON object")
        keys = self.keys or {}

        def value(target: str) -> Any:
            return lookup(record, keys[target]) if target in keys else None

        ts = timestamp(value("ts"), keys["ts"])
        model_raw = model_name(value("model"), keys["model"])
        tokens = {t: count(value(t), keys.get(t, t)) for t in TOKEN_TARGETS}
        cache = tokens["cache_read_tokens"] + tokens["cache_write_tokens"]
        if "input_uncached_tokens" in keys:
            tokens["input_tokens"] = tokens["input_uncached_tokens"] + cache
        del tokens["input_uncached_tokens"]
        grain = (text(value("grain"), keys.get("grain", "grain")) or "request").lower()
        if grain not in GRAINS_STORED:
            raise ImportFormatError(
                f"grain must be one of {', '.join(GRAINS_STORED)}", field=keys["grain"]
            )
        if "requests" in keys:
            requests = optional_count(value("requests"), keys["requests"])
        else:
            requests = 1 if grain == "request" else None
        cost = money(value("cost_reported"), keys.get("cost_reported", "cost_reported"))
        dims = {t: text(value(t), keys.get(t, t)) for t in TEXT_TARGETS}
        if "event_id" in keys:
            event_id = make_event_id(self.source, text(value("event_id"), keys["event_id"]))
        else:
            event_id = make_event_id(
                self.source, ts.isoformat(), grain, model_raw, *dims.values(),
                *tokens.values(), requests, cost,
            )  # fmt: skip
        return {
            "event_id": event_id,
            "ts": ts,
            "grain": grain,
            "model_raw": model_raw,
            **dims,
            **tokens,
            "requests": requests,
            "cost_reported": cost,
        }


def _flat_keys(record: dict[str, Any], prefix: str = "") -> list[str]:
    """Keys of a record, nested ones dotted (``usage.prompt_tokens``)."""
    keys = []
    for key, value in record.items():
        name = f"{prefix}{key}"
        keys.append(name)
        if isinstance(value, dict):
            keys += _flat_keys(value, f"{name}.")
    return keys
