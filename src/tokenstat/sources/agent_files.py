"""Reading coding agents' logs record by record.

Shared by the importers of local agent logs (Gemini CLI, Qwen Code, Kimi CLI, OpenCode,
Amp, Copilot CLI, Droid): whole small JSON documents (one session per file) and JSON Lines
read from the incremental offset, each record handed on with its location for
`tokenstat.sources.records.rows_from_records`. Where the logs are is
`tokenstat.sources.locations`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext, iter_lines, open_binary
from tokenstat.sources.jsonio import JsonRecord
from tokenstat.sources.jsonlines import loads, short
from tokenstat.sources.records import count

# One session document is read whole; larger files are not a session of these tools.
MAX_DOCUMENT_BYTES = 256 << 20


def plain_suffix(path: Path) -> str:
    """The file's suffix without a trailing ``.gz`` (``a.jsonl.gz`` -> ``.jsonl``)."""
    return Path(path.stem).suffix if path.suffix == ".gz" else path.suffix


def plain_name(path: Path) -> str:
    """The file name without a trailing ``.gz``."""
    return path.name[:-3] if path.name.endswith(".gz") else path.name


def read_document(path: Path, ctx: ReadContext) -> Any:
    """A whole JSON document (``.gz`` accepted); a file that is not one raises
    ImportFormatError located at ``<path>:1``."""
    with open_binary(path) as handle:
        data = handle.read(MAX_DOCUMENT_BYTES + 1)
    ctx.on_progress(len(data))
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ImportFormatError("file too large for one session document", location=f"{path}:1")
    try:
        return loads(data.lstrip(b"\xef\xbb\xbf"))
    except ValueError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "invalid JSON"
        raise ImportFormatError(
            f"invalid or truncated JSON: {reason}", location=f"{path}:1"
        ) from None


def json_lines(path: Path, ctx: ReadContext, marker: bytes | None = None) -> Iterator[JsonRecord]:
    """The JSON objects of a JSON Lines file from ``ctx.start_offset`` on, located as
    ``<path>:<line>``; a line that is not a JSON object is reported and skipped. With a
    ``marker``, lines that do not contain it are passed over unparsed (when they look
    like objects)."""
    for lineno, line in iter_lines(path, ctx):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        if marker is not None and marker not in line:
            stripped = line.strip()
            if stripped[:1] == b"{" and stripped[-1:] == b"}":
                continue
        try:
            value = loads(line)
        except ValueError:
            ctx.bad(where, None, "invalid JSON (truncated or garbage line)", short(line))
            continue
        if type(value) is not dict:
            ctx.bad(where, None, "not a JSON object", short(line))
            continue
        yield JsonRecord(value, where)


def obj(value: Any, field: str) -> dict[str, Any]:
    """A nested object; None and absent are empty, another type is a bad record."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ImportFormatError("expected an object", field=field)
    return value


def tokens(container: dict[str, Any], key: str, prefix: str) -> int:
    """The token count ``container[key]`` (0 when absent), the field named
    ``<prefix>.<key>`` in errors."""
    return count(container.get(key), f"{prefix}.{key}" if prefix else key)
