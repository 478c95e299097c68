"""The importer contract.

An importer (a *source*) turns files of one format into batches of canonical usage rows
(`tokenstat.schema.USAGE_SCHEMA`). It knows nothing of the ledger or of reports:

- ``name``, ``description``, ``reads``: how ``tokenstat sources`` shows it;
- ``discover()``: default paths to read when the user names none (flag, then
  environment variable, then default directory); an empty list when there are none;
- ``detect(path, head)``: True when the first bytes of a file look like this format
  (used by ``tokenstat import auto``);
- ``read(path, ctx)``: yields ``pyarrow.RecordBatch`` es in the canonical schema. A record
  that cannot be used is reported with ``ctx.bad(...)`` and skipped; ``model`` may be left
  null (the import pipeline resolves ``model_raw`` through the catalog).

Built-in importers register through the same entry-point group third parties use
(``tokenstat.sources``), see `tokenstat.sources.registry`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, ClassVar

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.schema import USAGE_SCHEMA

BATCH_ROWS = 65_536


@dataclass(frozen=True)
class BadRecord:
    """A record that was not imported, and why."""

    location: str  # "file:line" or "file:record N"
    field: str | None
    reason: str
    raw: str | None = None

    def message(self) -> str:
        return str(ImportFormatError(self.reason, location=self.location, field=self.field))


@dataclass
class ReadContext:
    """What an importer may use while reading: options and places to report to."""

    options: dict[str, Any] = field(default_factory=dict)
    on_bad: Callable[[BadRecord], None] = lambda bad: None
    on_warning: Callable[[str], None] = lambda message: None
    # source-level facts to keep in the ledger, e.g. {"as_of": "..."}
    meta: dict[str, str] = field(default_factory=dict)
    # model -> (author, country) given by the data itself (market files)
    model_overrides: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    # bytes read so far, for progress bars
    on_progress: Callable[[int], None] = lambda nbytes: None

    def bad(self, location: str, field_name: str | None, reason: str, raw: Any = None) -> None:
        text = None if raw is None else str(raw)[:2000]
        self.on_bad(BadRecord(location, field_name, reason, text))

    def warn(self, message: str) -> None:
        self.on_warning(message)


class Source:
    """Base class of importers; subclasses set the class attributes and ``read``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    reads: ClassVar[str] = ""

    def discover(self) -> list[Path]:
        return []

    def detect(self, path: Path, head: bytes) -> bool:
        return False

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError


def open_binary(path: Path) -> IO[bytes]:
    """Open a file for reading, transparently decompressing ``.gz``."""
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")


def open_text(path: Path) -> IO[str]:
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="replace", newline="")


def read_head(path: Path, nbytes: int = 4096) -> bytes:
    """The first bytes of a file (decompressed), for format detection."""
    with open_binary(path) as handle:
        return handle.read(nbytes)


def make_event_id(source: str, *key: object) -> str:
    """A stable 128-bit id from a source name and a record's natural key."""
    text = "\x1f".join([source, *("" if k is None else str(k) for k in key)])
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def parse_token_count(value: Any) -> int:
    """A token count as a non-negative int; accepts ints, integral floats and digit strings.

    Raises ValueError with a short reason otherwise.
    """
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError(f"not an integer: {value!r}")
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = int(text)
        except ValueError:
            try:
                as_float = float(text)
            except ValueError:
                raise ValueError(f"not an integer: {value!r}") from None
            if not math.isfinite(as_float) or not as_float.is_integer():
                raise ValueError(f"not an integer: {value!r}") from None
            number = int(as_float)
    else:
        raise ValueError(f"not an integer: {value!r}")
    if number < 0:
        raise ValueError(f"negative token count: {number}")
    return number


def parse_timestamp(value: Any) -> datetime:
    """A UTC datetime from an ISO date/datetime string, epoch seconds/ms, or a date.

    Naive datetimes are taken as UTC. Raises ValueError otherwise.
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a date or time: {value!r}") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise ValueError(f"not a date or time: {value!r}")


class RowBuilder:
    """Accumulates canonical rows as columns and hands out RecordBatches.

    Importers that parse records one at a time call ``add(...)`` and ``yield from
    builder.flush_full()`` in their loop, then ``yield from builder.flush()`` at the end.
    """

    def __init__(self, source: str, batch_rows: int = BATCH_ROWS):
        self.source = source
        self.batch_rows = batch_rows
        self._columns: dict[str, list[Any]] = {name: [] for name in USAGE_SCHEMA.names}

    def __len__(self) -> int:
        return len(self._columns["event_id"])

    def add(
        self,
        *,
        event_id: str,
        ts: datetime,
        model_raw: str,
        grain: str = "request",
        model: str | None = None,
        provider: str | None = None,
        app: str | None = None,
        user: str | None = None,
        project: str | None = None,
        session: str | None = None,
        input_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        output_tokens: int = 0,
        reasoning_tokens: int = 0,
        requests: int | None = 1,
        cost_reported: float | None = None,
    ) -> None:
        row = locals()
        for name, values in self._columns.items():
            values.append(self.source if name == "source" else row[name])

    def flush_full(self) -> Iterator[pa.RecordBatch]:
        if len(self) >= self.batch_rows:
            yield from self.flush()

    def flush(self) -> Iterator[pa.RecordBatch]:
        if len(self):
            yield pa.RecordBatch.from_pydict(self._columns, schema=_BUILD_SCHEMA)
            self._columns = {name: [] for name in USAGE_SCHEMA.names}


# Importers may leave ``model`` null: the pipeline resolves it from ``model_raw``.
_BUILD_SCHEMA = pa.schema([f.with_nullable(True) if f.name == "model" else f for f in USAGE_SCHEMA])
