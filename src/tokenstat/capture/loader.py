"""Moving spooled records into the ledger, exactly once.

Each flush opens the ledger, appends the rows of the durable records from the loaded
position on (an import of source ``capture``, through the same steps as a file import:
rows streamed in, then duplicates dropped, rollups and bookkeeping, published in one
transaction), and records in THAT transaction the spool position it loaded up to and the
telemetry state (cumulative series, sessions with events) as the import's file offset.
Then it closes the ledger, so that reports in other processes can open it in between
(the write lock is held only while flushing), and deletes spool segments it has passed.

A process killed at any moment leaves either the import published with its position, or
neither (an unfinished import is discarded when the ledger is next opened): the next
loader starts from the position recorded, and duplicates (an exporter's retry) are
dropped by event id.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from tokenstat.capture import kinds
from tokenstat.capture.decode import PROTOBUF, BodyError, decode, iter_spans
from tokenstat.capture.spool import Spool
from tokenstat.capture.telemetry import CLAUDE_SOURCE, TelemetryState, log_rows, metric_rows
from tokenstat.errors import ImportFormatError, LedgerError, TokenstatError
from tokenstat.incremental import FileOffset
from tokenstat.sources.base import BadRecord, RowBuilder
from tokenstat.sources.otlp import SOURCE_NAME as OTLP_SOURCE
from tokenstat.sources.otlp import genai_span_row
from tokenstat.sources.records import check_limits, check_subsets

CAPTURE_SOURCE = "capture"
PROXY_SOURCE = "proxy"
FLUSH_SECONDS = 1.0
FLUSH_BYTES = 32 << 20  # spooled bytes one flush takes at most

_PROXY_TABLE_SQL = """CREATE TABLE IF NOT EXISTS proxy_calls (
    event_id VARCHAR, ts TIMESTAMPTZ, provider VARCHAR, endpoint VARCHAR, model_raw VARCHAR,
    status INTEGER, latency_ms DOUBLE, first_byte_ms DOUBLE, streamed BOOLEAN,
    caller VARCHAR, app VARCHAR, "user" VARCHAR, project VARCHAR, outcome VARCHAR,
    import_id INTEGER)"""
_PROXY_COLUMNS = (
    "event_id",
    "ts",
    "provider",
    "endpoint",
    "model_raw",
    "status",
    "latency_ms",
    "first_byte_ms",
    "streamed",
    "caller",
    "app",
    "user",
    "project",
    "outcome",
)


def spool_key(spool: Spool) -> str:
    """The ``file_offsets`` path under which a spool's loaded position is kept."""
    return f"spool:{spool.directory.resolve()}"


@dataclass
class Converted:
    """The rows of some spooled records: batches, bad records, proxy call facts."""

    batches: list[pa.RecordBatch] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0


def convert_records(records: list, state: TelemetryState) -> Converted:
    """Rows of spooled records (`tokenstat.capture.spool.Record`), updating ``state``."""
    out = Converted()
    builders = {s: RowBuilder(s) for s in (OTLP_SOURCE, CLAUDE_SOURCE, PROXY_SOURCE)}

    def add(source: str, location: str, row: dict[str, Any] | Exception | None) -> None:
        if row is None:
            return
        try:
            if isinstance(row, Exception):
                raise row
            check_limits(row)
            check_subsets(row)
        except (ImportFormatError, ValueError) as exc:
            reason = getattr(exc, "reason", str(exc))
            out.bad.append(BadRecord(location, getattr(exc, "field", None), reason))
            return
        builders[source].add(**row)
        out.rows += 1

    for record in records:
        location = f"spool position {record.start}"
        if record.kind == kinds.PROXY_CALL:
            call = json.loads(record.payload)
            out.calls.append(call)
            if call.get("row"):
                row = dict(call["row"])
                row["ts"] = _utc(row["ts"])
                add(PROXY_SOURCE, location, row)
            continue
        signal, encoding = kinds.SIGNAL_OF_KIND[record.kind]
        try:
            request = decode(signal, encoding, record.payload)
        except BodyError as exc:  # checked when received: only a damaged spool gets here
            out.bad.append(BadRecord(location, None, str(exc)))
            continue
        if signal == "traces":
            for span in iter_spans(request):
                if isinstance(span, Exception):
                    add(OTLP_SOURCE, location, span)
                    continue
                try:
                    row = genai_span_row(
                        span.attrs,
                        span.resource,
                        span.scope,
                        trace_id=span.trace_id or None,
                        span_id=span.span_id or None,
                        start=span.start if encoding != PROTOBUF or span.start else None,
                    )
                except ImportFormatError as exc:
                    row = exc
                add(OTLP_SOURCE, location, row)
        elif signal == "metrics":
            for row in metric_rows(request, state):
                add(CLAUDE_SOURCE, location, row)
        else:
            for row in log_rows(request, state):
                add(CLAUDE_SOURCE, location, row)
    for builder in builders.values():
        out.batches += list(builder.flush())
    return out


def _utc(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value)


class Loader:
    """Moves a spool's durable records into the ledger at ``ledger_path``, one flush every
    ``interval`` seconds (in a thread: `start`, `stop`), or on demand (`flush`)."""

    def __init__(
        self,
        spool: Spool,
        ledger_path: Path,
        catalog: Any,
        *,
        interval: float = FLUSH_SECONDS,
        note: Callable[[str], None] | None = None,
    ):
        from tokenstat.importing import ModelResolver

        self.spool = spool
        self.ledger_path = Path(ledger_path)
        self.resolver = ModelResolver(catalog)
        self.interval = interval
        self.note = note or (lambda message: print(message, file=sys.stderr, flush=True))
        self.key = spool_key(spool)
        self.rows_loaded = 0
        self.flushes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._flush_lock = threading.Lock()
        self.position, self.state = self._recorded()
        spool.mark_loaded(self.position)

    def _open(self) -> Any:
        from tokenstat.ledger import Ledger

        return Ledger.open(self.ledger_path, on_busy=self.note)

    def _recorded(self) -> tuple[int, TelemetryState]:
        """The position (and telemetry state) the ledger says was loaded; a spool whose
        first segments were deleted starts at its first segment."""
        with self._open() as ledger:
            offset = ledger.file_offsets(CAPTURE_SOURCE).get(self.key)
        first = self.spool.loaded
        if offset is None:
            return first, TelemetryState()
        return max(offset.offset, first), TelemetryState(offset.state)

    def flush(self) -> int:
        """Load the durable records not yet loaded (at most `FLUSH_BYTES` of them); returns
        the number of records taken (0: nothing to do)."""
        with self._flush_lock:
            target = self.spool.written
            if target <= self.position:
                return 0
            self.spool.wait_durable(target)
            records = list(self.spool.read(self.position, target, FLUSH_BYTES))
            if not records:
                return 0
            state = TelemetryState(json.loads(json.dumps(self.state.as_dict())))
            converted = convert_records(records, state)
            end = records[-1].end
            self._publish(converted, end, state)
            self.position, self.state = end, state
            self.rows_loaded += converted.rows
            self.flushes += 1
        self.spool.mark_loaded(end)
        return len(records)

    def _publish(self, converted: Converted, end: int, state: TelemetryState) -> None:
        offset = FileOffset(self.key, size=end, mtime_ns=0, offset=end, state=state.as_dict())
        with self._open() as ledger, ledger.importing(CAPTURE_SOURCE) as import_id:
            rows = ledger.append_batches(
                (self.resolver.fill(b) for b in converted.batches), import_id
            )
            with ledger.transaction():
                ledger.save_file_offsets(CAPTURE_SOURCE, import_id, [offset])
                if converted.calls:
                    _save_calls(ledger, converted.calls, import_id)
                ledger.finish_import(
                    import_id,
                    rows_read=rows,
                    bad=converted.bad,
                    files=[],
                    source=CAPTURE_SOURCE,
                    meta={},
                    model_overrides={},
                )
                ledger.record_files_read(import_id, 0)

    def drain(self, timeout: float | None = None) -> None:
        """Flush until everything durable is loaded (or ``timeout`` seconds pass)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.position < self.spool.durable:
            try:
                self.flush()
            except (LedgerError, OSError) as exc:
                self.note(f"tokenstat collect: loading into the ledger failed, retrying: {exc}")
                time.sleep(0.5)
            if deadline is not None and time.monotonic() > deadline:
                return

    # ---- the thread ------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="capture-loader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except TokenstatError as exc:
                self.note(f"tokenstat collect: loading into the ledger failed, retrying: {exc}")
            except Exception as exc:  # the loader must outlive any one bad flush
                self.note(f"tokenstat collect: loading failed ({type(exc).__name__}: {exc})")

    def stop(self, drain: bool = True) -> None:
        """Stop the thread; with ``drain``, first load everything durable."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if drain:
            self.drain()


def _save_calls(ledger: Any, calls: list[dict[str, Any]], import_id: int) -> None:
    ledger.db.execute(_PROXY_TABLE_SQL)
    table = pa.table(
        {
            **{c: [call.get(c) for call in calls] for c in _PROXY_COLUMNS if c != "ts"},
            "ts": pa.array([_utc(call["ts"]) for call in calls], pa.timestamp("us", tz="UTC")),
        }
    ).select(list(_PROXY_COLUMNS))
    ledger.db.register("_calls", table)
    try:
        columns = ", ".join(f'"{c}"' for c in _PROXY_COLUMNS)
        ledger.db.execute(
            f"INSERT INTO proxy_calls ({columns}, import_id) "
            f"SELECT {columns}, {int(import_id)} FROM _calls"
        )
    finally:
        ledger.db.unregister("_calls")
