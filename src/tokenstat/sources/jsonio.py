"""Streaming reading of JSON sources: JSON Lines, one document, or an array of documents.

Most usage exports and API pages come in one of three shapes, and a file may hold any of
them (``.gz`` accepted):

- JSON Lines: one value per line (a record, or a response body holding records). Read line
  by line; a line that is not JSON is reported as ``<path>:<line>`` and skipped, the other
  lines are read. Records inside a body on line N are located as ``<path>:N`` when the line
  holds one record, else ``<path>:N record K``.
- One JSON document (a response body, pretty-printed or not): parsed incrementally with
  ``ijson``, one *unit* at a time (say each element of ``data``), so memory is bounded by
  the largest unit, not by the file. Records are located as ``<path>:record K``, K counting
  records from 1 through the document. A document that breaks off (truncated, or garbage
  in the middle) is reported once at the record where it broke; the records before are kept.
- A JSON array of records or of bodies: streamed element by element, located like a
  single document.

An importer describes its format with a `JsonLayout`: where units sit inside a body
(``unit_path``, an ``ijson`` prefix such as ``data.item``), which values are records
themselves, and the records inside a unit. `bare_record` tells records from bodies for
formats that write them either way; `bucket_layout` is the layout of the time-bucketed
pages of the provider usage APIs.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson

try:  # orjson parses lines several times faster; the standard library is the fallback
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    _loads = json.loads

from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext, open_binary, read_head
from tokenstat.sources.limits import (
    BOM,
    MAX_RECORD_BYTES,
    JsonGuard,
    NestingTooDeep,
    check_depth,
    split_at_delimiter,
)

# A first line longer than this is not taken as JSON Lines (a minified document is
# streamed instead of being read into memory as one line).
MAX_PROBE_LINE = 16 << 20
# A single document in which no unit was found is read whole to see whether it is one
# record, up to this size.
MAX_WHOLE_DOCUMENT = 64 << 20
PROGRESS_EVERY = 4 << 20


@dataclass(frozen=True)
class JsonLayout:
    """Where the records are in a format's JSON.

    ``unit_path``: the ``ijson`` prefix of units inside one body (``data.item``: each
    element of the ``data`` list; ``data``: the object under ``data``).
    ``is_record``: whether a value (a JSON Lines line, an array element, a document) is a
    record itself rather than a body.
    ``records_of``: the records inside one unit (default: the unit is the record).
    ``body_name``: how messages name a body, e.g. "an OTLP ExportTraceServiceRequest".
    """

    unit_path: str
    is_record: Callable[[Any], bool]
    records_of: Callable[[Any], Iterable[Any]] = lambda unit: (unit,)
    body_name: str = "a response body"


def bare_record(*keys: str) -> Callable[[Any], bool]:
    """An ``is_record`` for formats whose records come in ``{"data": ...}`` bodies or bare:
    a value is a record when it is an object that has one of ``keys`` and no ``data``
    key."""

    def is_record(value: Any) -> bool:
        return isinstance(value, dict) and "data" not in value and any(k in value for k in keys)

    return is_record


def bucket_layout(
    body_name: str, start: str, end: str, results: tuple[str, ...] = ("results",)
) -> JsonLayout:
    """The layout of usage report pages ``{"data": [bucket, ...]}`` (Anthropic's and
    OpenAI's organization usage APIs): a bucket holds its time bounds under ``start`` and
    ``end`` and a list of results under the first of the ``results`` keys it has (under
    none: no results). Each record is ``(result, bucket start, bucket end)``.
    """

    def results_of(bucket: Any) -> list[tuple[Any, Any, Any]]:
        if not isinstance(bucket, dict):
            raise ImportFormatError(f"a bucket should be an object, not {type_name(bucket)}")
        key = next((k for k in results if k in bucket), None)
        items = [] if key is None else bucket[key]
        if not isinstance(items, list):
            raise ImportFormatError(
                f"{results[0]} should be a list, not {type_name(items)}", field=results[0]
            )
        return [(r, bucket.get(start), bucket.get(end)) for r in items]

    return JsonLayout(
        unit_path="data.item",
        is_record=lambda value: False,
        records_of=results_of,
        body_name=body_name,
    )


@dataclass
class JsonRecord:
    """One record and where it was found."""

    value: Any
    location: str


class CountingReader:
    """A binary reader that reports the bytes read through ``on_progress`` (in steps)."""

    def __init__(self, raw: IO[bytes], on_progress: Callable[[int], None]):
        self._raw = raw
        self._on_progress = on_progress
        self._pending = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._count(len(data))
        return data

    def readline(self, size: int = -1) -> bytes:
        data = self._raw.readline(size)
        self._count(len(data))
        return data

    def _count(self, nbytes: int) -> None:
        self._pending += nbytes
        if self._pending >= PROGRESS_EVERY or nbytes == 0:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._on_progress(self._pending)
            self._pending = 0

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
        self.flush()
        self._raw.close()

    def __enter__(self) -> CountingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_json_records(path: Path, ctx: ReadContext, layout: JsonLayout) -> Iterator[JsonRecord]:
    """Every record of a JSON or JSON Lines file, with its location; bad input goes to
    ``ctx.bad`` and reading goes on where it can."""
    with CountingReader(open_binary(path), ctx.on_progress) as handle:
        first = handle.readline(MAX_PROBE_LINE)
        text = first.removeprefix(BOM).strip()
        if text.startswith(b"["):
            yield from _document(path, ctx, layout, first, handle)
        elif text.startswith(b"{") and not _is_json(text):
            # a document over several lines, or JSON Lines whose first line is damaged:
            # the next lines tell (a damaged first line must not cost the whole file)
            ahead = [first]
            while (line := handle.readline(MAX_PROBE_LINE)) and not line.strip():
                ahead.append(line)
            ahead.append(line)
            if _is_json_lines(text, line.strip()):
                yield from _lines(path, ctx, layout, ahead, handle)
            else:
                yield from _document(path, ctx, layout, b"".join(ahead), handle)
        else:
            yield from _lines(path, ctx, layout, [first], handle)


def _is_json_lines(first: bytes, second: bytes) -> bool:
    """Whether a file whose first line is not JSON by itself is JSON Lines: its second
    line is a JSON object by itself and the first does not open a document (``{``,
    ``{"data": [``)."""
    opens = first.endswith((b"{", b"[", b","))
    return not opens and second.startswith(b"{") and _is_json(second)


def starts_like_json(path: Path) -> bool:
    """Whether a file's first non-blank character opens a JSON object or array."""
    return read_head(path, 256).lstrip(b"\xef\xbb\xbf").lstrip()[:1] in (b"{", b"[")


def _is_json(text: bytes) -> bool:
    try:
        check_depth(text)
        _loads(text)
    except (ValueError, NestingTooDeep):
        return False
    return True


def _lines(
    path: Path, ctx: ReadContext, layout: JsonLayout, ahead: list[bytes], handle: CountingReader
) -> Iterator[JsonRecord]:
    """The records of JSON Lines: ``ahead`` are the lines read already, then ``handle``."""
    lineno = 0
    pending = list(ahead)
    line = pending.pop(0)
    while line:
        lineno += 1
        if len(line) > MAX_RECORD_BYTES:
            size = len(line) + _skip_rest_of_line(handle, line)
            ctx.bad(
                f"{path}:{lineno}",
                None,
                f"line of {size} bytes is longer than the limit of {MAX_RECORD_BYTES} bytes",
                line[:200].decode("utf-8", "replace"),
            )
        elif line.strip():
            yield from _line(path, ctx, layout, lineno, line)
        line = pending.pop(0) if pending else handle.readline(MAX_RECORD_BYTES + 1)


def _skip_rest_of_line(handle: CountingReader, start: bytes) -> int:
    """Read past the end of a line whose ``start`` was read; the bytes skipped."""
    skipped = 0
    piece = start
    while piece and not piece.endswith(b"\n"):
        piece = handle.readline(1 << 20)
        skipped += len(piece)
    return skipped


def _line(
    path: Path, ctx: ReadContext, layout: JsonLayout, lineno: int, line: bytes
) -> Iterator[JsonRecord]:
    where = f"{path}:{lineno}"
    try:
        check_depth(line)
        value = _loads(line.removeprefix(BOM) if lineno == 1 else line)
    except NestingTooDeep as exc:
        ctx.bad(where, None, exc.reason, line[:200].decode("utf-8", "replace"))
        return
    except UnicodeDecodeError:
        ctx.bad(where, None, "not UTF-8 text", line[:200].decode("utf-8", "replace"))
        return
    except ValueError as exc:
        ctx.bad(where, None, f"not JSON: {json_error(exc)}", line.decode("utf-8", "replace"))
        return
    if layout.is_record(value):
        yield JsonRecord(value, where)
        return
    try:
        records = [r for unit in units_in(value, layout) for r in layout.records_of(unit)]
    except ImportFormatError as exc:
        ctx.bad(where, exc.field, exc.reason, dump(value))
        return
    if len(records) == 1:
        yield JsonRecord(records[0], where)
        return
    for index, record in enumerate(records, start=1):
        yield JsonRecord(record, f"{where} record {index}")


def _document(
    path: Path, ctx: ReadContext, layout: JsonLayout, first: bytes, handle: CountingReader
) -> Iterator[JsonRecord]:
    first = first.removeprefix(BOM)
    stream = _Guarded(_Rejoined(first, handle))
    is_array = first.lstrip().startswith(b"[")
    prefix = "item" if is_array else layout.unit_path
    count = 0
    units = 0
    try:
        for value in ijson.items(stream, prefix, use_float=True, multiple_values=True):
            units += 1
            try:
                inner = _records_in(value, layout, is_array)
            except ImportFormatError as exc:
                count += 1
                ctx.bad(f"{path}:record {count}", exc.field, exc.reason, dump(value))
                continue
            for record in inner:
                count += 1
                yield JsonRecord(record, f"{path}:record {count}")
    except (ijson.JSONError, ImportFormatError, UnicodeDecodeError) as exc:
        reason = _first_line(exc)
        after = f"after record {count}" if count else "before the first record"
        ctx.bad(
            f"{path}:record {count + 1}",
            None,
            f"invalid or truncated JSON {after}: {reason}; the records before it were read",
        )
        return
    if units == 0:
        yield from _whole_document(path, ctx, layout)


def _records_in(value: Any, layout: JsonLayout, element: bool) -> list[Any]:
    """The records of one streamed value: an array element (a record or a body) or a unit."""
    if element and layout.is_record(value):
        return [value]
    if element:
        return [r for unit in units_in(value, layout) for r in layout.records_of(unit)]
    return list(layout.records_of(value))


def _whole_document(path: Path, ctx: ReadContext, layout: JsonLayout) -> Iterator[JsonRecord]:
    """A document with no unit at ``unit_path``: one record, or not this format."""
    if path.stat().st_size > MAX_WHOLE_DOCUMENT:
        ctx.bad(f"{path}:1", None, f"no records found at '{layout.unit_path}'")
        return
    with open_binary(path) as handle:
        data = handle.read().removeprefix(BOM)
    try:
        check_depth(data)
        value = json.loads(data)
    except (ValueError, NestingTooDeep) as exc:  # the streaming parser read it: rare
        ctx.bad(f"{path}:1", None, f"not JSON: {_first_line(exc)}")
        return
    if layout.is_record(value):
        yield JsonRecord(value, f"{path}:record 1")
        return
    try:
        units = list(units_in(value, layout))
    except ImportFormatError as exc:
        ctx.bad(f"{path}:1", exc.field, exc.reason, dump(value))
        return
    if not units:
        return  # an empty page: nothing to import
    for index, unit in enumerate(units, start=1):  # pragma: no cover - ijson found none
        for record in layout.records_of(unit):
            yield JsonRecord(record, f"{path}:record {index}")


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, ImportFormatError):
        return exc.reason
    text = str(exc)
    return text.splitlines()[0] if text.strip() else type(exc).__name__


class _Guarded:
    """A reader that checks the nesting of the JSON read through it before the parser
    builds anything (`tokenstat.sources.limits.JsonGuard`), and quotes bare NaN/Infinity.
    Raises NestingTooDeep from ``read``.

    Bytes that are not UTF-8 become U+FFFD, so that the parser reads on: the record whose
    text holds one is bad (`tokenstat.sources.records.text` refuses it), not the document.
    """

    def __init__(self, raw: _Rejoined):
        self._raw = _Utf8Repaired(raw)
        self._guard = JsonGuard()
        self._tail = b""

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes with read(0) whether the stream gives bytes
            return b""
        if self._guard.failed is not None:
            raise self._guard.failed
        while True:
            data = self._raw.read(size if size > 0 else 1 << 16)
            if not data:
                head, self._tail = self._tail, b""
                return self._guard.feed(head) if head else b""
            head, self._tail = split_at_delimiter(self._tail + data)
            if head:
                return self._guard.feed(head)
            if len(self._tail) > MAX_RECORD_BYTES:
                raise ImportFormatError(
                    f"a JSON value longer than the limit of {MAX_RECORD_BYTES} bytes"
                )


class _Utf8Repaired:
    """A reader of ``raw`` that gives valid UTF-8: each byte sequence that is not UTF-8
    becomes U+FFFD (decoded incrementally, so characters split between reads stay whole)."""

    def __init__(self, raw: _Rejoined):
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        return self._decoder.decode(data, final=not data).encode("utf-8")


class _Rejoined:
    """The probed first line followed by the rest of the stream, as one reader."""

    def __init__(self, first: bytes, rest: CountingReader):
        self._first = first
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._first:
            if size < 0 or size >= len(self._first):
                head, self._first = self._first, b""
                more = self._rest.read(-1 if size < 0 else size - len(head))
                return head + more
            head, self._first = self._first[:size], self._first[size:]
            return head
        return self._rest.read(size)


def units_in(body: Any, layout: JsonLayout) -> Iterator[Any]:
    """The units of an in-memory body, following ``layout.unit_path``.

    Raises ImportFormatError (naming the missing or mistyped key) when the body does not
    have that shape.
    """
    value = body
    parts = layout.unit_path.split(".")
    for depth, part in enumerate(parts):
        if part == "item":
            if not isinstance(value, list):
                where = ".".join(parts[:depth]) or "the value"
                raise ImportFormatError(
                    f"'{where}' should be a list, not {type_name(value)}", field=where
                )
            rest = JsonLayout(".".join(parts[depth + 1 :]), layout.is_record)
            for element in value:
                if rest.unit_path:
                    yield from units_in(element, rest)
                else:
                    yield element
            return
        if not isinstance(value, dict):
            raise ImportFormatError(
                f"expected {layout.body_name} (a JSON object), got {type_name(value)}"
            )
        if part not in value:
            raise ImportFormatError(
                f"not {layout.body_name}: no '{part}' key", field=".".join(parts[: depth + 1])
            )
        value = value[part]
    yield value


def json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    return str(exc)


def type_name(value: Any) -> str:
    """How a JSON value's type reads in a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def dump(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)[:2000]
    except (TypeError, ValueError):
        return repr(value)[:2000]
