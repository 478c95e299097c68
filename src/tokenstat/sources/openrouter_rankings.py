"""Importer for OpenRouter's rankings dataset (``GET /api/v1/datasets/rankings-daily``).

OpenRouter publishes, per UTC day, the top 50 public models by total tokens plus one
aggregated row with the reserved permaslug ``other`` that sums every model outside the
top 50. The data is licensed CC BY 4.0 and must be cited as
"Source: OpenRouter (openrouter.ai/rankings), as of <as_of>".

Input
    The JSON response body, ``{"data": [{"date": "2026-04-05", "model_permaslug": "...",
    "total_tokens": "123456789"}, ...], "meta": {"as_of": "...", ...}}``, or several
    bodies in one file (as ``tokenstat fetch`` stores them): a JSON array of bodies, or
    JSON Lines with one body per line. Gzip-compressed files are read transparently.

Rows
    One canonical row per ``(date, model_permaslug)``: grain ``day``, ``ts`` the date at
    00:00 UTC, ``model_raw`` the permaslug exactly as written, ``model`` null (the import
    pipeline resolves it through the catalog) except for the ``other`` row, whose model is
    ``other``. ``provider`` and ``requests`` are null (the dataset has neither).
    ``event_id`` hashes the source name, the date and the permaslug, so importing the same
    file twice, or overlapping fetches, yield the same ids. When one file holds the same
    ``(date, permaslug)`` more than once (overlapping pages), the row from the page with
    the latest ``meta.as_of`` is kept (the later page on a tie).

Token kinds
    The rankings carry only a total (``prompt_tokens + completion_tokens``); there is no
    input/output split. The whole total is stored in ``input_tokens`` and
    ``output_tokens`` is 0, so reports on ``total`` tokens (the default) are exact, while
    reports on input or output tokens, and computed costs, are not meaningful for this
    source. Token counts come from each upstream provider's own tokenizer.

Source facts
    ``ctx.meta["as_of"]`` is the latest ``meta.as_of`` seen and ``ctx.meta["attribution"]``
    the citation line built from it.

Bad input
    A record that cannot be used is reported through ``ctx.bad`` with the location
    ``<path>:record <N>`` (N counts from 1 within ``data``) or, in a file of several bodies,
    ``<path>:record <page>.<N>`` (page counts from 1; in JSON Lines it is the line number),
    and skipped. A file that is not JSON is reported once and yields nothing; in JSON Lines
    a bad line is reported and the other lines are read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import (
    ReadContext,
    RowBuilder,
    Source,
    make_event_id,
    open_binary,
    parse_timestamp,
    parse_token_count,
)
from tokenstat.sources.limits import BOM, NestingTooDeep, check_depth, check_time, has_undecodable

SOURCE_NAME = "openrouter-rankings"
OTHER_PERMASLUG = "other"
ATTRIBUTION = "Source: OpenRouter (openrouter.ai/rankings)"
KNOWN_VERSIONS = ("v1",)

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INTEGER_RE = re.compile(r"[+-]?\d+")
_INT64_MAX = 2**63 - 1


@dataclass
class _Page:
    """One response body found in a file, with where it came from."""

    body: Any
    label: str | None  # None for a file that holds a single body
    location: str  # where to point at the body itself


@dataclass
class _Row:
    day: date
    permaslug: str
    total: int
    as_of: datetime | None


def attribution(as_of: str | None) -> str:
    """The citation line OpenRouter asks for, for data as of ``as_of``."""
    return f"{ATTRIBUTION}, as of {as_of}" if as_of else ATTRIBUTION


class OpenRouterRankingsSource(Source):
    """Daily token totals per model from OpenRouter's rankings dataset."""

    name: ClassVar[str] = SOURCE_NAME
    description: ClassVar[str] = (
        "OpenRouter rankings dataset: daily tokens of the top 50 models plus 'other' (CC BY 4.0)"
    )
    reads: ClassVar[str] = (
        "JSON bodies of GET /api/v1/datasets/rankings-daily: one body, a JSON array of "
        "bodies, or JSON Lines (.gz accepted)"
    )

    def detect(self, path: Path, head: bytes) -> bool:
        text = head.lstrip(b"\xef\xbb\xbf").lstrip()
        return text[:1] in (b"{", b"[") and b'"model_permaslug"' in head

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        with open_binary(path) as handle:
            raw = handle.read()
        ctx.on_progress(len(raw))
        try:
            check_depth(raw)
        except NestingTooDeep as exc:
            raise ImportFormatError(exc.reason, location=f"{path}:1") from None
        # bytes that are not UTF-8 are kept apart (surrogates) and their record named bad
        text = raw.removeprefix(BOM).decode("utf-8", errors="surrogateescape")

        pages = _split_pages(path, text, ctx)
        rows: dict[tuple[date, str], _Row] = {}
        latest_as_of: tuple[datetime, str] | None = None
        for page in pages:
            as_of_text, as_of = _page_meta(page, ctx)
            if as_of is not None and (latest_as_of is None or as_of > latest_as_of[0]):
                latest_as_of = (as_of, as_of_text or "")
            for row in _page_rows(path, page, as_of, ctx):
                key = (row.day, row.permaslug)
                kept = rows.get(key)
                if kept is None or _newer_or_same(row.as_of, kept.as_of):
                    rows[key] = row

        _record_meta(ctx, latest_as_of)

        builder = RowBuilder(SOURCE_NAME)
        for row in rows.values():
            iso = row.day.isoformat()
            builder.add(
                event_id=make_event_id(SOURCE_NAME, iso, row.permaslug),
                ts=datetime(row.day.year, row.day.month, row.day.day, tzinfo=UTC),
                grain="day",
                model_raw=row.permaslug,
                model=OTHER_PERMASLUG if row.permaslug == OTHER_PERMASLUG else None,
                provider=None,
                input_tokens=row.total,
                output_tokens=0,
                requests=None,
            )
            yield from builder.flush_full()
        yield from builder.flush()


def _split_pages(path: Path, text: str, ctx: ReadContext) -> list[_Page]:
    """The response bodies in a file: one body, an array of bodies, or JSON Lines."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        lines = _json_lines(path, text)
        if lines is None:
            ctx.bad(f"{path}:1", None, f"not JSON: {_json_error(exc)}", text[:200] or None)
            return []
        pages = []
        for lineno, line, parsed, error in lines:
            if error is not None:
                ctx.bad(f"{path}:{lineno}", None, f"not JSON: {error}", line)
            else:
                pages.append(_Page(parsed, str(lineno), f"{path}:{lineno}"))
        return pages
    if isinstance(document, list):
        return [
            _Page(body, str(index), f"{path}:page {index}")
            for index, body in enumerate(document, start=1)
        ]
    return [_Page(document, None, f"{path}:1")]


def _json_lines(path: Path, text: str) -> list[tuple[int, str, Any, str | None]] | None:
    """Each non-blank line parsed, or None when the text does not look like JSON Lines.

    Text counts as JSON Lines when at least one line on its own is a response body (an
    object with ``data``); a truncated or broken single document never has such a line.
    """
    lines: list[tuple[int, str, Any, str | None]] = []
    has_body = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed = json.loads(line)
        except ValueError as exc:
            lines.append((lineno, line, None, _json_error(exc)))
            continue
        has_body = has_body or (isinstance(parsed, dict) and "data" in parsed)
        lines.append((lineno, line, parsed, None))
    return lines if has_body else None


def _json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return str(exc)


def _page_meta(page: _Page, ctx: ReadContext) -> tuple[str | None, datetime | None]:
    """``meta.as_of`` of a body, as written and parsed (None when absent or unusable)."""
    body = page.body
    meta = body.get("meta") if isinstance(body, dict) else None
    if not isinstance(meta, dict):
        return None, None
    version = meta.get("version")
    if version is not None and version not in KNOWN_VERSIONS:
        ctx.warn(f"{page.location}: unknown dataset version {version!r}; read as v1")
    as_of_text = meta.get("as_of")
    if as_of_text is None:
        return None, None
    try:
        return str(as_of_text), parse_timestamp(as_of_text, window=False)
    except ValueError:
        ctx.warn(f"{page.location}: meta.as_of {as_of_text!r} is not a timestamp; ignored")
        return None, None


def _page_rows(path: Path, page: _Page, as_of: datetime | None, ctx: ReadContext) -> Iterator[_Row]:
    body = page.body
    if not isinstance(body, dict):
        ctx.bad(page.location, None, "not a response body (expected a JSON object)", _dump(body))
        return
    data = body.get("data")
    if not isinstance(data, list):
        reason = "missing" if data is None else f"not a list but {type(data).__name__}"
        ctx.bad(page.location, "data", f"response body has no rows: 'data' is {reason}")
        return
    prefix = f"{page.label}." if page.label is not None else ""
    for index, record in enumerate(data, start=1):
        location = f"{path}:record {prefix}{index}"
        row = _parse_record(record, location, ctx)
        if row is not None:
            row.as_of = as_of
            yield row


def _parse_record(record: Any, location: str, ctx: ReadContext) -> _Row | None:
    if not isinstance(record, dict):
        ctx.bad(location, None, "record is not a JSON object", _dump(record))
        return None

    raw_date = record.get("date")
    if raw_date is None or raw_date == "":
        ctx.bad(location, "date", "missing date", _dump(record))
        return None
    day = _parse_day(raw_date)
    if day is None:
        ctx.bad(location, "date", f"not a YYYY-MM-DD date: {raw_date!r}", _dump(record))
        return None
    try:
        check_time(datetime(day.year, day.month, day.day, tzinfo=UTC))
    except ValueError as exc:
        ctx.bad(location, "date", str(exc), _dump(record))
        return None

    permaslug = record.get("model_permaslug")
    if permaslug is None or (isinstance(permaslug, str) and not permaslug.strip()):
        ctx.bad(location, "model_permaslug", "missing model_permaslug", _dump(record))
        return None
    if not isinstance(permaslug, str):
        reason = f"model_permaslug is not a string: {permaslug!r}"
        ctx.bad(location, "model_permaslug", reason, _dump(record))
        return None
    if has_undecodable(permaslug):
        ctx.bad(location, "model_permaslug", "not UTF-8 text", _dump(record))
        return None

    if "total_tokens" not in record or record["total_tokens"] is None:
        ctx.bad(location, "total_tokens", "missing total_tokens", _dump(record))
        return None
    try:
        total = _parse_total(record["total_tokens"])
    except ValueError as exc:
        ctx.bad(location, "total_tokens", str(exc), _dump(record))
        return None

    return _Row(day=day, permaslug=permaslug, total=total, as_of=None)


def _parse_day(value: Any) -> date | None:
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _parse_total(value: Any) -> int:
    """``total_tokens`` as a non-negative int: a decimal integer string, or a JSON integer."""
    if isinstance(value, str):
        if not _INTEGER_RE.fullmatch(value.strip()):
            raise ValueError(f"not a decimal integer: {value!r}")
    elif isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not a decimal integer: {value!r}")
    number = parse_token_count(value)
    if number > _INT64_MAX:
        raise ValueError(f"token count too large: {number}")
    return number


def _newer_or_same(candidate: datetime | None, kept: datetime | None) -> bool:
    """Whether a duplicate row from a later page replaces the one kept so far."""
    if kept is None:
        return True
    return candidate is not None and candidate >= kept


def _record_meta(ctx: ReadContext, latest: tuple[datetime, str] | None) -> None:
    previous = ctx.meta.get("as_of")
    if latest is not None and previous:
        try:
            if parse_timestamp(previous, window=False) >= latest[0]:
                latest = None
        except ValueError:
            pass
    if latest is not None:
        ctx.meta["as_of"] = latest[1]
    as_of = ctx.meta.get("as_of")
    if not as_of:
        ctx.warn("no meta.as_of in the rankings data; cite it with the date you fetched it")
    ctx.meta["attribution"] = attribution(as_of)


def _dump(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text.encode("utf-8", "replace").decode("utf-8")  # bytes that were not UTF-8: "?"
