"""Reading fields of one parsed record (a JSON object or a CSV row as a dict).

Importers that convert records one at a time use these helpers: each raises
`ImportFormatError` naming the field, and `rows_from_records` turns records into
canonical batches, reporting a bad record with its location and skipping it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext, RowBuilder, parse_timestamp, parse_token_count
from tokenstat.sources.jsonio import (
    JsonLayout,
    JsonRecord,
    dump,
    iter_json_records,
    starts_like_json,
    type_name,
)
from tokenstat.sources.limits import MAX_COUNT, check_count, check_time, is_count_field
from tokenstat.sources.tabular import header_of, read_chunks

_MISSING = object()


def lookup(record: Any, key: str, default: Any = None) -> Any:
    """``record[key]``, following dots into nested objects (``usage.prompt_tokens``) when
    the record has no key with the dotted name itself."""
    if not isinstance(record, dict):
        return default
    if key in record:
        return record[key]
    value: Any = record
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


def first_present(record: Any, *keys: str) -> tuple[str, Any]:
    """The first of ``keys`` the record has a non-empty value for, and that value."""
    for key in keys:
        value = lookup(record, key, _MISSING)
        if value is not _MISSING and value is not None and value != "":
            return key, value
    return keys[0], None


def text(value: Any, field: str, *, required: bool = False) -> str | None:
    """A string field; numbers are taken as written (ids), other types are an error, and so
    is text with bytes that were not UTF-8 (read as U+FFFD)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ImportFormatError(f"missing {field}", field=field)
        return None
    if isinstance(value, str):
        return _utf8(value, field).strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ImportFormatError(f"{field} should be a string, not {type_name(value)}", field=field)


def model_name(value: Any, field: str) -> str:
    """A model string: required, and a string (a number or object here is a wrong type)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ImportFormatError("missing model", field=field)
    if not isinstance(value, str):
        raise ImportFormatError(f"{field} should be a string, not {type_name(value)}", field=field)
    return _utf8(value, field).strip()


def _utf8(value: str, field: str) -> str:
    if "\ufffd" in value:
        raise ImportFormatError("not UTF-8 text (a byte that is not UTF-8)", field=field)
    return value


def count(value: Any, field: str) -> int:
    """A token (or request) count: a non-negative integer, or a decimal integer string."""
    if isinstance(value, dict | list | bool):
        raise ImportFormatError(
            f"{field} should be an integer, not {type_name(value)}", field=field
        )
    try:
        return parse_token_count(value)
    except ValueError as exc:
        raise ImportFormatError(str(exc), field=field) from None


def optional_count(value: Any, field: str) -> int | None:
    return None if value is None or value == "" else count(value, field)


def money(value: Any, field: str) -> float | None:
    """A cost in USD (a number or a decimal string); None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool | dict | list):
        raise ImportFormatError(f"{field} should be a number, not {type_name(value)}", field=field)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ImportFormatError(f"{field} is not a number: {value!r}", field=field) from None
    if not math.isfinite(number):
        raise ImportFormatError(f"{field} is not a finite number: {value!r}", field=field)
    return number


def timestamp(value: Any, field: str) -> datetime:
    """A UTC time from an ISO string or epoch seconds/milliseconds; required."""
    if value is None or value == "":
        raise ImportFormatError(f"missing {field}", field=field)
    if isinstance(value, bool | dict | list):
        raise ImportFormatError(
            f"{field} should be a date/time, not {type_name(value)}", field=field
        )
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise ImportFormatError(str(exc), field=field) from None


def provider_slug(value: str | None) -> str | None:
    """A provider as a lower-case slug (``Google AI Studio`` -> ``google-ai-studio``), so the
    same provider written by different sources groups together."""
    if value is None:
        return None
    slug = "-".join(value.strip().lower().split())
    return slug or None


def check_limits(row: dict[str, Any]) -> None:
    """Counts and time of a converted row inside the limits (`tokenstat.sources.limits`);
    raises ImportFormatError naming the field otherwise. Holds for values a converter
    computed itself (sums, times built from parts), not only for those read by the helpers
    above."""
    for name, value in row.items():
        if is_count_field(name) and isinstance(value, int) and not 0 <= value <= MAX_COUNT:
            try:
                check_count(value)
            except ValueError as exc:
                raise ImportFormatError(str(exc), field=name) from None
    ts = row.get("ts")
    if isinstance(ts, datetime):
        try:
            check_time(ts if ts.tzinfo else ts.replace(tzinfo=UTC))
        except ValueError as exc:
            raise ImportFormatError(str(exc), field="ts") from None


def check_subsets(row: dict[str, Any]) -> None:
    """Cache tokens are part of input, reasoning part of output (raises otherwise)."""
    cache = row.get("cache_read_tokens", 0) + row.get("cache_write_tokens", 0)
    if cache > row.get("input_tokens", 0):
        raise ImportFormatError(
            f"cache tokens ({cache}) exceed input tokens ({row.get('input_tokens', 0)})",
            field="input_tokens",
        )
    if row.get("reasoning_tokens", 0) > row.get("output_tokens", 0):
        raise ImportFormatError(
            f"reasoning tokens ({row['reasoning_tokens']}) exceed output tokens "
            f"({row.get('output_tokens', 0)})",
            field="output_tokens",
        )


Converter = Callable[[Any], dict[str, Any] | None]


def rows_from_records(
    source: str, records: Iterable[JsonRecord], convert: Converter, ctx: ReadContext
) -> Iterator[pa.RecordBatch]:
    """Canonical batches from records; ``convert`` returns the keyword arguments of
    `RowBuilder.add`, None to skip a record that is not usage, or raises
    ImportFormatError for a bad record (reported with its location and skipped)."""
    builder = RowBuilder(source)
    for record in records:
        try:
            row = convert(record.value)
            if row is None:
                continue
            check_limits(row)
            check_subsets(row)
        except ImportFormatError as exc:
            ctx.bad(exc.location or record.location, exc.field, exc.reason, dump(record.value))
            continue
        builder.add(**row)
        yield from builder.flush_full()
    yield from builder.flush()


def csv_records(path: Path, ctx: ReadContext) -> Iterator[JsonRecord]:
    """The rows of a CSV file as dicts of strings (empty cells as None), located by line."""
    names = header_of(path)
    for chunk in read_chunks(path, ctx, names):
        for index, row in enumerate(chunk.table.to_pylist()):
            yield JsonRecord(row, chunk.location(path, index))


def json_or_csv_records(path: Path, ctx: ReadContext, layout: JsonLayout) -> Iterator[JsonRecord]:
    """The records of a file that is JSON (read through ``layout``) or else CSV."""
    if starts_like_json(path):
        return iter_json_records(path, ctx, layout)
    return csv_records(path, ctx)
