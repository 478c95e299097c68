"""Vectorized reading and checking of tabular sources (CSV and Parquet).

Columns are validated with Arrow compute over whole batches; only the few bad rows are
looked at in Python, to report them with their line (CSV) or record number (Parquet).
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext, open_binary, read_head
from tokenstat.sources.jsonio import CountingReader
from tokenstat.sources.limits import (
    BOM,
    LIMIT_TEXT,
    MAX_COUNT,
    MAX_CSV_LINE_BYTES,
    MAX_HEADER_BYTES,
    timestamps_in_window,
)

# Arrow's CSV reader holds many times its block while parsing (16 MB blocks: ~450 MB,
# 4 MB: ~200 MB, 1 MB: ~60 MB) and reads small blocks no slower; the pipeline combines
# the small batches before they reach the ledger (benchmarks/bench_memory.py)
READ_BLOCK_BYTES = 1 << 20
# Parquet rows per batch: small enough that a batch and its conversion stay small in memory
PARQUET_BATCH_ROWS = 1 << 17

_INTEGER = r"^-?\d+$"
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Chunk:
    """A batch of raw rows with the position of its first row, for error locations."""

    table: pa.Table
    first_row: int  # 0-based index of the first data row in the file
    is_csv: bool
    # CSV lines left out before parsing (too long, not UTF-8), in order; shared while reading
    skipped_lines: list[int] = field(default_factory=list)

    def location(self, path: Path, index: int) -> str:
        row = self.first_row + index
        if not self.is_csv:
            return f"{path}:record {row + 1}"
        # line 1 is the header; quoted fields with newlines would shift this
        line = row + 2
        for skipped in self.skipped_lines:
            if skipped > line:
                break
            line += 1
        return f"{path}:{line}"


def is_parquet(path: Path) -> bool:
    return read_head(path, 4) == b"PAR1"


def parquet_file(path: Path, **options: Any) -> pq.ParquetFile:
    """A Parquet file opened for reading; one that cannot be read (truncated, corrupt) is
    an ImportFormatError with Arrow's reason on one line."""
    try:
        return pq.ParquetFile(path, **options)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ImportFormatError(
            f"not a readable Parquet file: {_one_line(exc)}", location=f"{path}:1"
        ) from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def header_of(path: Path) -> list[str]:
    """Column names of a CSV or Parquet file."""
    if is_parquet(path):
        return parquet_file(path).schema_arrow.names
    with open_binary(path) as handle:
        raw = handle.readline(MAX_HEADER_BYTES + 1)
    if len(raw) > MAX_HEADER_BYTES:
        raise ImportFormatError(
            f"header line longer than the limit of {MAX_HEADER_BYTES} bytes",
            location=f"{path}:1",
        )
    try:
        first = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            f"header line is not UTF-8 text (byte {exc.start + 1})", location=f"{path}:1"
        ) from None
    if not first.strip():
        raise ImportFormatError("empty file, no header line", location=f"{path}:1")
    try:
        return next(csv.reader([first]))
    except csv.Error as exc:
        raise ImportFormatError(f"unreadable header: {exc}", location=f"{path}:1") from None


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
            schema = parquet_file(path).schema_arrow
            strings = [
                f.name
                for f in schema
                if f.name in dictionary
                and f.name in columns
                and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
            ]
        parquet = parquet_file(path, read_dictionary=strings or None)
        offset = 0
        batches = parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=columns)
        try:
            for batch in batches:
                yield Chunk(pa.Table.from_batches([batch]), offset, is_csv=False)
                offset += batch.num_rows
                ctx.on_progress(0)
        except (pa.ArrowException, OSError) as exc:
            where = f"{path}:record {offset + 1}"
            ctx.bad(where, None, f"unreadable from here on: {_one_line(exc)}")
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

    lines = CsvLines(CountingReader(open_binary(path), ctx.on_progress))

    def report_malformed() -> None:
        while lines.left_out:
            line, reason, text = lines.left_out.pop(0)
            malformed.append((f"{path}:{line}", reason, text))
        while malformed:
            location, reason, text = malformed.pop(0)
            ctx.bad(location, None, reason, text)

    reader = _open_csv(
        path,
        lines,
        # single-threaded so that a malformed row is reported with its line number
        read_options=pacsv.ReadOptions(block_size=READ_BLOCK_BYTES, use_threads=False),
        parse_options=pacsv.ParseOptions(invalid_row_handler=skip_bad_row),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            include_columns=columns,
            strings_can_be_null=True,
            # only an empty cell is missing: "NaN" or "NA" in a count is a bad value, not 0
            null_values=[""],
        ),
    )
    offset = 0
    try:
        for batch in reader:
            report_malformed()
            yield Chunk(pa.Table.from_batches([batch]), offset, True, lines.skipped_lines)
            offset += batch.num_rows
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        report_malformed()
        ctx.bad(f"{path}:{offset + 2}", None, f"unreadable from here on: {_one_line(exc)}")
    report_malformed()


class CsvLines:
    """A binary reader of CSV text that leaves out, before the CSV parser sees them, the
    lines longer than `MAX_CSV_LINE_BYTES` and the lines that are not UTF-8 (each becomes an
    empty line, which the parser skips), so that one such line costs one record, not the
    rest of the file. A byte order mark at the start is skipped.

    ``left_out``: [(line number, reason, start of the line)] not yet reported;
    ``skipped_lines``: the line numbers left out, in order (for locating later rows).
    """

    def __init__(self, raw: CountingReader):
        self._raw = raw
        self._rest = b""
        self._line = 0  # lines completed so far
        self._overlong = 0  # bytes of the current line dropped so far
        self._start = True
        self.left_out: list[tuple[int, str, str]] = []
        self.skipped_lines: list[int] = []

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return self._raw.closed

    def close(self) -> None:
        self._raw.close()

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        while True:
            data = self._raw.read(size if size > 0 else READ_BLOCK_BYTES)
            if self._start:
                data, self._start = data.removeprefix(BOM), False
            if not data:
                rest, self._rest = self._rest, b""
                if self._overlong or rest:
                    return self._clean([rest], final=True)
                return b""
            pieces = (self._rest + data).split(b"\n")
            rest = pieces.pop()
            out = self._clean(pieces, final=False) if pieces else None
            if len(rest) > MAX_CSV_LINE_BYTES:  # a line this long is left out as it comes
                self._overlong += len(rest)
                rest = b""
            self._rest = rest
            if out is not None:
                return out

    def _clean(self, lines: list[bytes], *, final: bool) -> bytes:
        fine = not self._overlong and max(map(len, lines)) <= MAX_CSV_LINE_BYTES
        text = b"\n".join(lines) + (b"" if final else b"\n")
        if fine:
            try:
                text.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                self._line += len(lines)
                return text
        out = []
        for line in lines:
            self._line += 1
            size = self._overlong + len(line)
            self._overlong = 0
            if size > MAX_CSV_LINE_BYTES:
                reason = f"line of {size} bytes is longer than the limit of {MAX_CSV_LINE_BYTES}"
            else:
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    reason = f"not UTF-8 text (byte {exc.start + 1} of the line)"
                else:
                    out.append(line)
                    continue
            self.left_out.append((self._line, reason, line[:200].decode("utf-8", "replace")))
            self.skipped_lines.append(self._line)
            out.append(b"")
        return b"\n".join(out) + (b"" if final else b"\n")


def _open_csv(path: Path, lines: CsvLines, **options: Any) -> pacsv.CSVStreamingReader:
    """Arrow's streaming CSV reader; a header it cannot read is an ImportFormatError."""
    try:
        return pacsv.open_csv(lines, **options)
    except (pa.ArrowException, OSError, EOFError) as exc:
        raise ImportFormatError(f"unreadable CSV: {_one_line(exc)}", location=f"{path}:1") from None


def as_token_counts(
    column: pa.ChunkedArray, *, required: bool
) -> tuple[pa.Array, list[tuple[int, str]]]:
    """Int64 counts from 0 to `MAX_COUNT` and [(row, reason)] for the values that are not.

    Takes integer, float (integral values) and text columns (decimal integers, ``+7``
    included). Nulls become 0 unless ``required``; a bad value becomes 0 (the caller drops
    its row).
    """
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    problems: list[tuple[int, str]] = []
    limit = f"(limit {LIMIT_TEXT} per record)"
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        text = pc.replace_substring_regex(pc.utf8_trim_whitespace(array), r"^\+", "")
        integral = pc.fill_null(pc.match_substring_regex(text, _INTEGER), True)
        short = pc.fill_null(pc.less_equal(pc.utf8_length(text), 17), True)
        good = pc.and_(integral, short)
        values = pc.cast(pc.if_else(good, text, "0"), pa.int64())
        for i in pc.indices_nonzero(pc.invert(good)).to_pylist():
            raw = array[i].as_py().strip()
            if not integral[i].as_py():
                problems.append((i, f"not an integer: {array[i].as_py()!r}"))
            elif raw.startswith("-"):
                problems.append((i, f"negative token count: {raw}"))
            else:
                problems.append((i, f"token count too large: {raw} {limit}"))
    elif pa.types.is_integer(array.type):
        wide = pa.uint64() if array.type == pa.uint64() else pa.int64()
        array = pc.cast(array, wide)
        big = pc.fill_null(pc.greater(array, pa.scalar(MAX_COUNT, wide)), False)
        for i in pc.indices_nonzero(big).to_pylist():
            problems.append((i, f"token count too large: {array[i].as_py()} {limit}"))
        values = pc.cast(pc.if_else(big, pa.scalar(0, wide), array), pa.int64())
    elif pa.types.is_floating(array.type):
        array = pc.cast(array, pa.float64())
        finite = pc.fill_null(pc.is_finite(array), True)
        safe = pc.if_else(finite, array, 0.0)
        integral = pc.fill_null(pc.equal(pc.floor(safe), safe), True)
        big = pc.fill_null(pc.greater(pc.abs(safe), float(MAX_COUNT)), False)
        for i in pc.indices_nonzero(pc.invert(pc.and_(finite, integral))).to_pylist():
            problems.append((i, f"not an integer: {array[i].as_py()!r}"))
        for i in pc.indices_nonzero(pc.and_(pc.and_(finite, integral), big)).to_pylist():
            problems.append((i, f"token count too large: {array[i].as_py():.0f} {limit}"))
        ok = pc.and_(pc.and_(finite, integral), pc.invert(big))
        values = pc.cast(pc.if_else(ok, safe, 0.0), pa.int64())
    else:
        raise ImportFormatError(f"token counts must be integers, column is {array.type}")
    negative = pc.fill_null(pc.less(values, 0), False)
    for i in pc.indices_nonzero(negative).to_pylist():
        problems.append((i, f"negative token count: {values[i].as_py()}"))
    big = pc.fill_null(pc.greater(values, MAX_COUNT), False)
    for i in pc.indices_nonzero(big).to_pylist():
        problems.append((i, f"token count too large: {values[i].as_py()} {limit}"))
    negative = pc.or_(negative, big)
    if required:
        for i in pc.indices_nonzero(pc.is_null(array)).to_pylist():
            problems.append((i, "missing value"))
    values = pc.if_else(pc.fill_null(negative, False), 0, values)
    return pc.fill_null(values, 0), problems


def as_timestamps(column: pa.ChunkedArray) -> tuple[pa.Array, list[tuple[int, str]]]:
    """UTC microsecond timestamps and [(row, reason)] for values that are not dates, are
    not real calendar dates (2026-02-30), or lie outside the plausible window."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    utc = pa.timestamp("us", tz="UTC")
    if pa.types.is_timestamp(array.type) or pa.types.is_date(array.type):
        values, problems = timestamps_in_window(array)
        return values, problems
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        text = pc.utf8_trim_whitespace(array)
        values = pa.nulls(len(text), pa.timestamp("us"))
        for fmt in _DATE_FORMATS:
            parsed = pc.strptime(text, format=fmt, unit="us", error_is_null=True)
            values = pc.coalesce(values, parsed)
        # strptime rolls impossible days forward (02-30 to 03-02): the date must read back
        same_day = pc.equal(pc.strftime(values, "%Y-%m-%d"), pc.utf8_slice_codeunits(text, 0, 10))
        values = pc.cast(pc.if_else(pc.fill_null(same_day, False), values, None), utc)
    else:
        raise ImportFormatError(f"dates must be dates or ISO strings, column is {array.type}")
    problems = [
        (i, "missing date" if array[i].as_py() is None else f"not a date: {array[i].as_py()!r}")
        for i in pc.indices_nonzero(pc.is_null(values)).to_pylist()
    ]
    values, outside = timestamps_in_window(values)
    return values, problems + outside


def row_values(table: pa.Table, index: int) -> dict[str, object]:
    """One row as Python values, for the quarantine; a value Python cannot hold (a time in
    year 200000) is given as Arrow prints it."""
    values: dict[str, object] = {}
    for name in table.column_names:
        scalar = table[name][index]
        try:
            values[name] = scalar.as_py()
        except (ValueError, OverflowError):
            values[name] = f"{getattr(scalar, 'value', '?')} ({scalar.type})"
    return values


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
