"""Query parameters of the dashboard's API, validated into the arguments of the reports.

Names match the CLI's options (``by``, ``period``, ``at``, ``tokens``, ``source``,
``limit``, ``last``, ``a``, ``b``, ``since``, ``baseline``). Anything malformed raises
`BadParameter`, which the app answers with 400 and the message.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from tokenstat.errors import TokenstatError
from tokenstat.metrics.facts import DIMENSIONS
from tokenstat.metrics.reports import Selection
from tokenstat.periods import GRAINS
from tokenstat.schema import TOKEN_KINDS

LIMIT_MAX = 200
LAST_MAX = 520
MAX_TEXT = 200
KNOWN = (
    "by",
    "period",
    "at",
    "tokens",
    "source",
    "limit",
    "last",
    "a",
    "b",
    "since",
    "baseline",
)


class BadParameter(TokenstatError, ValueError):
    """A query parameter the API cannot accept."""


@dataclass(frozen=True)
class Params:
    by: str = "origin"
    period: str = "week"
    at: date | None = None
    tokens: str = "total"
    source: tuple[str, ...] = ()
    limit: int = 10
    last: int = 12
    a: str | None = None
    b: str | None = None
    since: date | None = None
    baseline: str | None = None

    @property
    def sel(self) -> Selection:
        return Selection(kind=self.tokens, sources=self.source)

    def key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in KNOWN)


def _text(value: str, name: str) -> str:
    """``value`` stripped, if it is short and holds no control character (NUL, newlines:
    no report name or key has one); else `BadParameter`."""
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise BadParameter(f"{name!r} is too long (at most {MAX_TEXT} characters)")
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        raise BadParameter(f"{name!r} holds a control character ({bad!r}); give plain text")
    return value


def _one(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name) or []
    if len(values) > 1:
        raise BadParameter(f"{name!r} given {len(values)} times; give it once")
    if not values:
        return None
    return _text(values[0], name) or None


def _choice(value: str | None, name: str, choices: Iterable[str], default: str) -> str:
    if value is None:
        return default
    allowed = tuple(choices)
    if value not in allowed:
        raise BadParameter(f"{name}={value!r} is not valid; choose one of: {', '.join(allowed)}")
    return value


def _int(value: str | None, name: str, default: int, lo: int, hi: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadParameter(f"{name}={value!r} is not a whole number") from None
    if not lo <= number <= hi:
        raise BadParameter(f"{name} must be from {lo} to {hi}, not {number}")
    return number


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadParameter(f"{name}={value!r} is not a date (YYYY-MM-DD)") from None


def parse(query: Mapping[str, list[str]], *, by_default: str = "origin") -> Params:
    """Validate a query string (as ``{name: [values]}``) into `Params`."""
    unknown = sorted(set(query) - set(KNOWN))
    if unknown:
        raise BadParameter(f"unknown parameter {unknown[0]!r}; the API takes: {', '.join(KNOWN)}")
    sources = tuple(t for t in (_text(v, "source") for v in query.get("source") or []) if t)
    return Params(
        by=_choice(_one(query, "by"), "by", DIMENSIONS, by_default),
        period=_choice(_one(query, "period"), "period", GRAINS, "week"),
        at=_day(_one(query, "at"), "at"),
        tokens=_choice(_one(query, "tokens"), "tokens", TOKEN_KINDS, "total"),
        source=sources,
        limit=_int(_one(query, "limit"), "limit", 10, 1, LIMIT_MAX),
        last=_int(_one(query, "last"), "last", 12, 1, LAST_MAX),
        a=_one(query, "a"),
        b=_one(query, "b"),
        since=_day(_one(query, "since"), "since"),
        baseline=_one(query, "baseline"),
    )
