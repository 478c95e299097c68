"""Incremental reading of append-only log files: what to read of each file again.

Sources that set ``incremental = True`` (log files that tools only append to, like Claude
Code's and Codex's JSONL) are not skipped by content hash. Instead the ledger keeps, per
(source, file path), where the last import stopped (`FileOffset`, table ``file_offsets``)
and the next import decides per file (`plan_read`):

- same size and modification time as last time: **skip** without opening the file;
- larger, and the bytes up to the stored offset still start and end as they did (hash of
  the first and of the last 16 KiB before the offset): **resume** at the offset, which is
  the end of the last complete line read, with the importer's saved per-file state;
- anything else (shrunk, rewritten, compressed): **read in full** from the start; the
  ledger's de-duplication keeps that idempotent.

A file that changes without changing size or modification time is not noticed; log
writers append, which changes both.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FINGERPRINT_BYTES = 16 * 1024


@dataclass
class FileOffset:
    """How far one file was read: its size and mtime then, the byte offset after the last
    complete line, the number of lines before it, fingerprints of the bytes before it and
    the importer's state at that point."""

    path: str
    size: int
    mtime_ns: int
    offset: int = 0
    lines: int = 0
    head_hash: str = ""
    tail_hash: str = ""
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadPlan:
    action: str  # "skip", "resume" or "full"
    offset: int = 0
    lines: int = 0
    state: dict[str, Any] = field(default_factory=dict)


def file_key(path: Path) -> str:
    """The path under which a file's offset is stored (absolute, symlinks resolved)."""
    return str(path.resolve())


def is_compressed(path: Path) -> bool:
    if path.suffix == ".gz":
        return True
    with open(path, "rb") as probe:
        return probe.read(2) == b"\x1f\x8b"


def fingerprints(path: Path, offset: int) -> tuple[str, str]:
    """Hashes of the first and of the last ``FINGERPRINT_BYTES`` bytes before ``offset``."""
    if offset <= 0:
        return "", ""
    with open(path, "rb") as handle:
        head = handle.read(min(offset, FINGERPRINT_BYTES))
        start = max(0, offset - FINGERPRINT_BYTES)
        handle.seek(start)
        tail = handle.read(offset - start)
    if len(tail) != offset - start:
        return "", "?"  # the file is shorter than the offset now
    return _digest(head), _digest(tail)


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def plan_read(path: Path, stat: os.stat_result, known: FileOffset | None) -> ReadPlan:
    """Whether to skip a file, resume it at the stored offset, or read it in full."""
    if known is None:
        return ReadPlan("full")
    if stat.st_size == known.size and stat.st_mtime_ns == known.mtime_ns:
        return ReadPlan("skip")
    if (
        known.offset > 0
        and stat.st_size >= known.offset
        and not is_compressed(path)
        and fingerprints(path, known.offset) == (known.head_hash, known.tail_hash)
    ):
        return ReadPlan("resume", known.offset, known.lines, dict(known.state))
    return ReadPlan("full")


def record_read(
    path: Path, stat: os.stat_result, end_offset: int, end_line: int, state: dict[str, Any]
) -> FileOffset:
    """The offset to store after reading ``path`` up to ``end_offset``."""
    if is_compressed(path):
        # offsets count decompressed bytes: never resumed, only skipped when unchanged
        end_offset, end_line = 0, 0
    head, tail = fingerprints(path, end_offset)
    return FileOffset(
        path=file_key(path),
        size=stat.st_size,
        mtime_ns=stat.st_mtime_ns,
        offset=end_offset,
        lines=end_line,
        head_hash=head,
        tail_hash=tail,
        state=state,
    )
