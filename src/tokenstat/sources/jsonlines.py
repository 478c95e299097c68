"""Helpers shared by importers of JSON Lines logs (Claude Code, Codex, ...)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import msgspec

_decode: Callable[[bytes], Any] = msgspec.json.decode


def loads(data: bytes) -> Any:
    """One JSON value (msgspec: several times faster than the standard library).

    Raises ValueError for anything that is not JSON, nesting too deep included (msgspec
    stops there with a RecursionError, before it has built much)."""
    try:
        return _decode(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def looks_like_object(line: bytes) -> bool:
    """Whether a line could be one JSON object (cheap check for lines not parsed)."""
    stripped = line.strip()
    return stripped[:1] == b"{" and stripped[-1:] == b"}"


def nonempty_str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def reported_cost(value: Any) -> float | None:
    """A cost the log states (USD), if it is a finite non-negative number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    cost = float(value)
    return cost if math.isfinite(cost) and cost >= 0 else None


def short(line: bytes, limit: int = 2000) -> str:
    """A line as text for the quarantine (cut to ``limit`` characters)."""
    return line[:limit].decode("utf-8", errors="replace")
