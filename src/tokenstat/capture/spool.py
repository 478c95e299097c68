"""The write-ahead spool: what the receiver and the proxy accepted, durable before it is
acknowledged, until the loader has moved it into the ledger.

Layout
    A directory of segment files ``seg-<start>.spool``, where ``<start>`` (20 digits) is
    the spool position of the segment's first byte. A position is a byte offset in the
    spool as a whole: it only grows, across segments and restarts. Each record is a header
    (``<IIB``: payload length in bytes, CRC-32 of the payload, kind) and the payload.

Durability
    `Spool.append` writes a record to the current segment (the page cache) and returns
    its end position; `Spool.wait_durable` (or `Spool.append_durable`, for asyncio) returns
    once an ``fsync`` covering that position has finished. One thread does the fsyncs:
    while one runs, the records written meanwhile wait for the next, which covers all of
    them (group commit: concurrent requests share one fsync).

Recovery
    Opening a spool checks the records of the last segment and cuts it after the last
    whole one (a record half written when the process died was never acknowledged).

Space
    The bytes not yet loaded (`Spool.pending_bytes`) may not exceed ``limit``: `append`
    raises `SpoolFull` instead (the receiver answers 429 with Retry-After).
"""

from __future__ import annotations

import asyncio
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tokenstat.errors import TokenstatError

HEADER = struct.Struct("<IIB")
SEGMENT_BYTES = 64 << 20  # a new segment starts once the current one is this large
DEFAULT_LIMIT = 1 << 30  # bytes accepted but not yet loaded
MAX_RECORD = 1 << 30
_PREFIX, _SUFFIX = "seg-", ".spool"


class SpoolFull(TokenstatError, RuntimeError):
    """The spool holds as many bytes not yet loaded as its limit allows."""


class SpoolError(TokenstatError, RuntimeError):
    """The spool directory cannot be used (another process holds it, or it is unreadable)."""


@dataclass(frozen=True)
class Record:
    """One spooled record: its kind, its payload and the positions around it."""

    kind: int
    payload: bytes
    start: int
    end: int


def _segment_name(start: int) -> str:
    return f"{_PREFIX}{start:020d}{_SUFFIX}"


def segments(directory: Path) -> list[tuple[int, Path]]:
    """(start position, path) of the segments in ``directory``, in order."""
    found = []
    for path in directory.glob(f"{_PREFIX}*{_SUFFIX}"):
        digits = path.name[len(_PREFIX) : -len(_SUFFIX)]
        if digits.isdigit():
            found.append((int(digits), path))
    return sorted(found)


def _valid_length(path: Path) -> int:
    """Bytes of ``path`` up to the end of its last whole, intact record."""
    good = 0
    with open(path, "rb") as handle:
        while True:
            head = handle.read(HEADER.size)
            if len(head) < HEADER.size:
                return good
            length, crc, _ = HEADER.unpack(head)
            payload = handle.read(length)
            if len(payload) < length or zlib.crc32(payload) != crc:
                return good
            good += HEADER.size + length


class Spool:
    """A spool directory opened for appending (one process at a time: a lock file says so).

    ``limit``: bytes accepted but not yet loaded beyond which `append` refuses (`SpoolFull`).
    """

    def __init__(self, directory: Path, *, limit: int = DEFAULT_LIMIT):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.limit = limit
        self._lock_file = _lock_directory(self.directory)
        self._lock = threading.Lock()
        self._synced = threading.Condition(self._lock)
        found = segments(self.directory)
        if found:
            start, path = found[-1]
            length = _valid_length(path)
            with open(path, "r+b") as handle:
                handle.truncate(length)
                os.fsync(handle.fileno())
            self._segment_start = start
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            self.written = start + length
        else:
            self._segment_start = 0
            self._fd = self._create_segment(0)
            self.written = 0
        self.durable = self.written
        self.loaded = found[0][0] if found else 0  # raised by the loader (`mark_loaded`)
        self._waiters: list[tuple[int, Future[int]]] = []
        self._closed = False
        self._error: BaseException | None = None
        self._syncer = threading.Thread(target=self._sync_loop, name="spool-fsync", daemon=True)
        self._syncer.start()

    def _create_segment(self, start: int) -> int:
        fd = os.open(
            self.directory / _segment_name(start), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
        )
        _fsync_directory(self.directory)
        return fd

    # ---- writing -------------------------------------------------------------------------
    def pending_bytes(self) -> int:
        """Bytes written but not yet loaded into the ledger."""
        return self.written - self.loaded

    def append(self, kind: int, payload: bytes) -> int:
        """Write one record (not yet durable); returns its end position. Raises `SpoolFull`
        when the bytes not yet loaded would exceed the limit."""
        if len(payload) > MAX_RECORD:
            raise SpoolFull(f"a record of {len(payload)} bytes is larger than the spool takes")
        record = HEADER.pack(len(payload), zlib.crc32(payload), kind) + payload
        with self._lock:
            if self._closed:
                raise SpoolError("the spool is closed")
            if self.written - self.loaded + len(record) > self.limit and self.written > self.loaded:
                raise SpoolFull(
                    f"the spool holds {self.written - self.loaded} bytes not yet loaded "
                    f"(limit {self.limit})"
                )
            if self.written - self._segment_start >= SEGMENT_BYTES:
                os.fsync(self._fd)  # the old segment is whole and durable before the next
                os.close(self._fd)
                self._segment_start = self.written
                self._fd = self._create_segment(self.written)
            os.write(self._fd, record)
            self.written += len(record)
            self._synced.notify_all()
            return self.written

    def durable_future(self, position: int) -> Future[int]:
        """A future done (with the durable position) once ``position`` is fsynced."""
        future: Future[int] = Future()
        with self._lock:
            if self._error is not None:
                future.set_exception(self._error)
            elif self.durable >= position:
                future.set_result(self.durable)
            else:
                self._waiters.append((position, future))
                self._synced.notify_all()
        return future

    def wait_durable(self, position: int, timeout: float | None = None) -> None:
        """Block until ``position`` is fsynced."""
        self.durable_future(position).result(timeout)

    async def append_durable(self, kind: int, payload: bytes) -> int:
        """Append a record and return its end position once it is durable (for asyncio)."""
        position = self.append(kind, payload)
        await asyncio.wrap_future(self.durable_future(position))
        return position

    def _sync_loop(self) -> None:
        while True:
            with self._lock:
                while not self._closed and self.durable >= self.written:
                    self._synced.wait()
                if self._closed and self.durable >= self.written:
                    return
                target, fd = self.written, self._fd
            try:
                os.fsync(fd)  # outside the lock: appends go on meanwhile (group commit)
            except OSError as exc:
                with self._lock:
                    if fd != self._fd:  # rotated meanwhile: that fsync ran at rotation
                        pass
                    else:
                        self._error = exc
                        for _, future in self._waiters:
                            future.set_exception(exc)
                        self._waiters = []
                        return
            with self._lock:
                self.durable = max(self.durable, target)
                ready = [w for w in self._waiters if w[0] <= self.durable]
                self._waiters = [w for w in self._waiters if w[0] > self.durable]
            for _, future in ready:
                future.set_result(target)

    # ---- reading (the loader) ------------------------------------------------------------
    def read(self, start: int, end: int, max_bytes: int) -> Iterator[Record]:
        """The records from position ``start`` (a record start) up to ``end`` (at most
        about ``max_bytes`` of them; at least one when there is one)."""
        taken = 0
        for seg_start, path in segments(self.directory):
            if start >= end:
                return
            size = path.stat().st_size
            if seg_start + size <= start:
                continue
            with open(path, "rb") as handle:
                handle.seek(start - seg_start)
                while start < end and start < seg_start + size:
                    head = handle.read(HEADER.size)
                    if len(head) < HEADER.size:
                        break
                    length, crc, kind = HEADER.unpack(head)
                    payload = handle.read(length)
                    if len(payload) < length or zlib.crc32(payload) != crc:
                        raise SpoolError(f"{path.name}: damaged record at position {start}")
                    stop = start + HEADER.size + length
                    yield Record(kind, payload, start, stop)
                    start = stop
                    taken += HEADER.size + length
                    if taken >= max_bytes:
                        return

    def mark_loaded(self, position: int) -> None:
        """The ledger holds everything before ``position``: delete the segments wholly
        before it, and free their room."""
        with self._lock:
            self.loaded = max(self.loaded, position)
            current = self._segment_start
        for start, path in segments(self.directory):
            if start >= current:
                break
            following = [s for s, _ in segments(self.directory) if s > start]
            if following and following[0] <= position:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        """Fsync what was written, stop the fsync thread and release the directory."""
        with self._lock:
            self._closed = True
            self._synced.notify_all()
        self._syncer.join()
        with self._lock:
            os.fsync(self._fd)
            os.close(self._fd)
            self.durable = self.written
        self._lock_file.close()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock_directory(directory: Path) -> IO[bytes]:
    """Hold an exclusive lock on ``directory/lock`` for as long as the spool is open."""
    import fcntl

    handle = open(directory / "lock", "a+b")  # noqa: SIM115 (held until close)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise SpoolError(
            f"spool {directory} is in use by another process",
            hint="stop the other tokenstat collect/proxy, or pass another --spool",
        ) from None
    return handle
