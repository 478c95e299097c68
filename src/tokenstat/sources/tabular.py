"""Vectorized reading and checking of tabular sources (CSV and Parquet).

Columns are validated with Arrow compute over whole batches; only the few bad rows are
looked at in Python, to report them with their line (CSV) or record number (Parquet).
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext, open_binary, read_head
from tokenstat.sources.jsonio import CountingReader

# Arrow's CSV reader holds many times its block while parsing (16 MB blocks: ~450 MB,
# 4 MB: ~200 MB, 1 MB: ~60 MB) and reads small blocks no slower; the pipeline combines
# the small batches before they reach the ledger (benchmarks/bench_memory.py)
READ_BLOCK_BYTES = 1 << 20
# Parquet rows per batch: small enough that a batch and its conversion stay small in memory
PARQUET_BATCH_ROWS = 1 << 17

_INTEGER = r"^\s*[+-]?\d+\s*$"
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Chunk:
    """A batch of raw rows with the position of its first row, for error locations."""

    table: pa.Table
    first_row: int  # 0-based index of the first data row in the file
    is_csv: bool

    def location(self, path: Path, index: int) -> str:
        row = self.first_row + index
        # line 1 is the header; quoted fields with newlines would shift this
        return f"{path}:{row + 2}" if self.is_csv else f"{path}:record {row + 1}"


def is_parquet(path: Path) -> bool:
    return read_head(path, 4) == b"PAR1"


def header_of(path: Path) -> list[str]:
    """Column names of a CSV or Parquet file."""
    if is_parquet(path):
        return pq.ParquetFile(path).schema_arrow.names
    with open_binary(path) as handle:
        first = handle.readline().decode("utf-8-sig", errors="replace")
    if not first.strip():
        raise ImportFormatError("empty file, no header line", location=f"{path}:1")
    return next(csv.reader([first]))


def read_chunks(
    path: Path, ctx: ReadContext, columns: list[str], *, dictionary: Collection[str] = ()
) -> Iterator[Chunk]:
    """Batches of the named columns; CSV columns come as strings, Parquet as stored.

    ``dictionary``: columns that, when they are Parquet strings, come dictionary-encoded
    (as most writers store them: much faster to read than plain strings); for columns
    read with `as_strings`, which takes either.
    """
    if is_parquet(path):
        strings = None
        if dictionary:
            schema = pq.ParquetFile(path).schema_arrow
            strings = [
                f.name
                for f in schema
                if f.name in dictionary
                and f.name in columns
                and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
            ]
        parquet = pq.ParquetFile(path, read_dictionary=strings or None)
        offset = 0
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns):
            yield Chunk(pa.Table.from_batches([batch]), offset, is_csv=False)
            offset += batch.num_rows
            ctx.on_progress(0)
        return
    names = header_of(path)
    # malformed rows are reported outside Arrow's callback, where an exception (--strict)
    # would be swallowed
    malformed: list[tuple[str, str, str]] = []

    def skip_bad_row(row: pacsv.InvalidRow) -> str:
        line = row.number if row.number is not None else "?"
        reason = f"expected {row.expected_columns} columns, got {row.actual_columns}"
        malformed.append((f"{path}:{line}", reason, row.text))
        return "skip"

    def report_malformed() -> None:
        while malformed:
            location, reason, text = malformed.pop(0)
            ctx.bad(location, None, reason, text)

    reader = pacsv.open_csv(
        CountingReader(open_binary(path), ctx.on_progress),
        # single-threaded so that a malformed row is reported with its line number
        read_options=pacsv.ReadOptions(block_size=READ_BLOCK_BYTES, use_threads=False),
        parse_options=pacsv.ParseOptions(invalid_row_handler=skip_bad_row),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            include_columns=columns,
            strings_can_be_null=True,
        ),
    )
    offset = 0
    try:
        for batch in reader:
            report_malformed()
            yield Chunk(pa.Table.from_batches([batch]), offset, is_csv=True)
            offset += batch.num_rows
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        report_malformed()
        ctx.bad(f"{path}:{offset + 2}", None, f"unreadable from here on: {exc}".splitlines()[0])
    report_malformed()


def as_token_counts(
    column: pa.ChunkedArray, *, required: bool
) -> tuple[pa.Array, list[tuple[int, str]]]:
    """Non-negative int64 counts and [(row, reason)] for the values that are not.

    Nulls become 0 unless ``required``.
    """
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    problems: list[tuple[int, str]] = []
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        text = pc.utf8_trim_whitespace(array)
        good = pc.fill_null(pc.match_substring_regex(text, _INTEGER), True)
        values = pc.cast(pc.if_else(good, text, "0"), pa.int64())
        for i in pc.indices_nonzero(pc.invert(good)).to_pylist():
            problems.append((i, f"not an integer: {array[i].as_py()!r}"))
    elif pa.types.is_integer(array.type):
        values = pc.cast(array, pa.int64())
    elif pa.types.is_floating(array.type):
        integral = pc.fill_null(pc.equal(pc.floor(array), array), True)
        for i in pc.indices_nonzero(pc.invert(integral)).to_pylist():
            problems.append((i, f"not an integer: {array[i].as_py()!r}"))
        values = pc.cast(pc.if_else(integral, array, 0.0), pa.int64())
    else:
        raise ImportFormatError(f"token counts must be integers, column is {array.type}")
    negative = pc.fill_null(pc.less(values, 0), False)
    for i in pc.indices_nonzero(negative).to_pylist():
        problems.append((i, f"negative token count: {values[i].as_py()}"))
    if required:
        for i in pc.indices_nonzero(pc.is_null(array)).to_pylist():
            problems.append((i, "missing value"))
    values = pc.if_else(pc.fill_null(negative, False), 0, values)
    return pc.fill_null(values, 0), problems


def as_timestamps(column: pa.ChunkedArray) -> tuple[pa.Array, list[tuple[int, str]]]:
    """UTC microsecond timestamps and [(row, reason)] for values that are not dates."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    utc = pa.timestamp("us", tz="UTC")
    if pa.types.is_timestamp(array.type):
        # a cast takes naive values as UTC (as assume_timezone("UTC") would, much faster)
        values = pc.cast(array if array.type.tz else pc.cast(array, pa.timestamp("us")), utc)
    elif pa.types.is_date(array.type):
        values = pc.cast(pc.cast(pc.cast(array, pa.date32()), pa.timestamp("us")), utc)
    elif pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        text = pc.utf8_trim_whitespace(array)
        values = pa.nulls(len(text), pa.timestamp("us"))
        for fmt in _DATE_FORMATS:
            parsed = pc.strptime(text, format=fmt, unit="us", error_is_null=True)
            values = pc.coalesce(values, parsed)
        values = pc.cast(values, utc)
    else:
        raise ImportFormatError(f"dates must be dates or ISO strings, column is {array.type}")
    problems = [
        (i, "missing date" if array[i].as_py() is None else f"not a date: {array[i].as_py()!r}")
        for i in pc.indices_nonzero(pc.is_null(values)).to_pylist()
    ]
    return values, problems


def as_strings(column: pa.ChunkedArray | None, length: int) -> pa.Array:
    """Trimmed strings with empty strings as null (all null when the column is absent)."""
    if column is None:
        return pa.nulls(length, pa.string())
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(array.type):
        # clean the distinct values once, then expand
        values = as_strings(array.dictionary, len(array.dictionary))
        return pc.take(values, array.indices)
    text = pc.utf8_trim_whitespace(pc.cast(array, pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
