"""The own-usage reports' query and JSON shape, shared by the two ways of computing them:
`tokenstat.usage.reference` (Ibis, over raw rows) and `tokenstat.usage.fast` (SQL
over the priced quarter-hour rollup). This module imports neither Ibis nor Arrow.

Both ways produce *cells* (dicts with a key per label, the token kinds, ``cost``, ``rows``
and ``unpriced_rows``) and fold them here into the reports, so the shape is written once.

5-hour blocks follow Anthropic's billing windows: a block starts at its first request,
floored to the hour (UTC), and lasts 5 hours; a request at or after the block's end, or 5
hours or more after the previous request, starts the next block.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tokenstat.errors import QueryError

USAGE_GRAINS = ("day", "week", "month")
# --by names of the usage reports and the ledger column each reads
USAGE_BY = {
    "model": "model",
    "project": "project",
    "agent": "app",
    "user": "user",
    "provider": "provider",
    "source": "source",
    "machine": "machine",
}
COST_MODES = ("reported", "computed", "auto")
KINDS = (
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "reasoning_tokens",
)
COUNTS = (*KINDS, "total_tokens")
BLOCK_HOURS = 5
UTC_NAMES = ("UTC", "Etc/UTC", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "Etc/UCT", "UCT")
NO_VALUE = "(none)"
# the columns a usage report may filter on (--where) and the rollup keeps
ROW_KEYS = ("source", "model", "provider", "app", "project", "user", "session", "machine")
# importers of market data, which the usage reports leave out
MARKET_SOURCES = ("market", "openrouter-rankings")
_TAIL = ("models", "breakdown")


@dataclass(frozen=True)
class UsageQuery:
    """Which rows of own usage, grouped how: the options every usage report shares.

    ``since``/``until`` are local days (inclusive) in ``tz``; ``where`` pairs of (ledger
    column, value); ``order`` ``asc`` (oldest first) or ``desc``.
    """

    grain: str = "day"
    since: date | None = None
    until: date | None = None
    tz: str = "UTC"
    by: str | None = None
    breakdown: bool = False
    mode: str = "auto"
    sources: tuple[str, ...] = ()
    where: tuple[tuple[str, str], ...] = ()
    order: str = "asc"

    def check(self) -> UsageQuery:
        if self.grain not in USAGE_GRAINS:
            raise QueryError(f"unknown usage period {self.grain!r}; choose day, week or month")
        if self.by is not None and self.by not in USAGE_BY:
            raise QueryError(f"unknown --by {self.by!r}; choose one of: {', '.join(USAGE_BY)}")
        if self.order not in ("asc", "desc"):
            raise QueryError(f"unknown order {self.order!r}; choose asc or desc")
        if self.mode not in COST_MODES:
            raise QueryError(
                f"unknown cost mode {self.mode!r}; choose one of: {', '.join(COST_MODES)}"
            )
        zone(self.tz)
        for value in (*self.sources, *(v for _, v in self.where)):
            if any(ord(c) < 32 for c in value):
                raise QueryError(f"control characters in {value!r}")
        return self

    def describe(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "tz": self.tz,
            "where": dict(self.where),
            "sources": list(self.sources),
        }


def local_zone_name() -> str:
    """The IANA name of this machine's time zone: ``$TZ`` when it names one, else the
    target of /etc/localtime, else ``UTC``."""
    env = os.environ.get("TZ", "").lstrip(":")
    candidates = [env] if env else []
    link = Path("/etc/localtime")
    if link.is_symlink():
        target = str(link.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    for name in candidates:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return "UTC" if name in UTC_NAMES else name
    return "UTC"


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``UTC``, ``Europe/Berlin``), or a QueryError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise QueryError(
            f"unknown time zone {name!r}", hint="use an IANA name such as Europe/Berlin"
        ) from None


def cell(labels: dict[str, Any], sums: dict[str, Any], cost: Any, rows: Any, unpriced: Any):
    """A cell from engine results: ``labels``, the token kinds of ``sums`` (ints), cost
    (USD or None), rows and unpriced rows."""
    out = dict(labels)
    out.update({k: int(sums.get(k) or 0) for k in KINDS})
    out["total_tokens"] = out["input_tokens"] + out["output_tokens"]
    out["cost"] = None if cost is None else float(cost)
    out["rows"] = int(rows or 0)
    out["unpriced_rows"] = int(unpriced or 0)
    return out


def _add(into: dict[str, Any], part: dict[str, Any]) -> None:
    for k in (*COUNTS, "rows", "unpriced_rows"):
        into[k] = into.get(k, 0) + part.get(k, 0)
    if part.get("cost") is not None:
        into["cost"] = (into.get("cost") or 0.0) + part["cost"]


def _empty() -> dict[str, Any]:
    return {**{k: 0 for k in (*COUNTS, "rows", "unpriced_rows")}, "cost": None}


def public(row: dict[str, Any]) -> dict[str, Any]:
    """A row in the contract's key order: its labels, the token counts, cost, models."""
    skip = (*COUNTS, *_TAIL, "cost", "rows", "unpriced_rows")
    out = {k: v for k, v in row.items() if k not in skip and not k.startswith("_")}
    out.update({k: row.get(k, 0) for k in COUNTS})
    out["cost"] = row["cost"]
    if row.get("unpriced_rows"):
        out["unpriced_rows"] = row["unpriced_rows"]
    out.update({k: row[k] for k in _TAIL if k in row})
    return out


def _with_models(row: dict[str, Any], parts: list[dict[str, Any]], breakdown: bool) -> None:
    by_model = sorted(parts, key=lambda c: (-c["total_tokens"], c["model"]))
    row["models"] = [c["model"] for c in by_model]
    if breakdown:
        row["breakdown"] = [
            {"model": c["model"], **{k: c[k] for k in (*COUNTS, "cost")}} for c in by_model
        ]


def _report(period: str, q: UsageQuery, rows: list, totals: dict, sources: list) -> dict:
    return {
        "period": period,
        **({"by": q.by} if period in USAGE_GRAINS else {}),
        "rows": rows,
        "totals": public(totals),
        "cost_mode": q.mode,
        "query": q.describe(),
        "sources": [s for s in sources if s["source"] not in MARKET_SOURCES],
    }


def fold_periods(cells: Iterable[dict[str, Any]], q: UsageQuery, sources: list) -> dict:
    """The period report from cells labelled ``start`` (a date), ``model`` and, with
    ``q.by`` other than model, ``group``."""
    grouped: dict[tuple, dict[str, Any]] = {}
    parts: dict[tuple, list[dict[str, Any]]] = {}
    totals = _empty()
    for c in cells:
        label = c["model"] if q.by == "model" else c.get("group")
        key = (c["start"], label) if q.by else (c["start"],)
        row = grouped.setdefault(key, {"start": c["start"].isoformat(), **_empty()})
        if q.by:
            row[q.by] = label
        _add(row, c)
        _add(totals, c)
        parts.setdefault(key, []).append(c)
    out = []
    for key in sorted(grouped, key=lambda k: tuple("" if v is None else v for v in k)):
        _with_models(grouped[key], parts[key], q.breakdown)
        out.append(public(grouped[key]))
    if q.order == "desc":
        out.reverse()
    return _report(q.grain, q, out, totals, sources)


def fold_sessions(
    cells: Iterable[dict[str, Any]],
    spans: dict[tuple, tuple[datetime, datetime]],
    q: UsageQuery,
    sources: list,
) -> dict:
    """The session report from cells labelled ``session``, ``project``, ``agent``,
    ``model``; ``spans`` gives each (session, project, agent) its first and last time."""
    grouped: dict[tuple, dict[str, Any]] = {}
    parts: dict[tuple, list[dict[str, Any]]] = {}
    totals = _empty()
    for c in cells:
        key = (c["session"], c["project"], c["agent"])
        first, last = spans[key]
        row = grouped.setdefault(
            key,
            {
                "session": key[0],
                "project": key[1],
                "agent": key[2],
                "first": utc_iso(first),
                "last": utc_iso(last),
                **_empty(),
            },
        )
        _add(row, c)
        _add(totals, c)
        parts.setdefault(key, []).append(c)
    ordered = sorted(grouped, key=lambda k: (grouped[k]["last"], k))
    if q.order == "desc":
        ordered.reverse()
    out = []
    for key in ordered:
        _with_models(grouped[key], parts[key], q.breakdown)
        out.append(public(grouped[key]))
    return _report("session", q, out, totals, sources)


def utc_iso(value: datetime) -> str:
    """``2026-03-02T23:30:00Z``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def fold_blocks(
    entries: Iterable[dict[str, Any]],
    q: UsageQuery,
    sources: list,
    *,
    now: datetime,
    active_only: bool = False,
    token_limit: int | None = None,
) -> dict:
    """5-hour blocks from entries in time order: cells with ``first`` and ``last``
    (datetimes: one request, or a rollup bucket that never straddles a block) and
    ``model``."""
    window = timedelta(hours=BLOCK_HOURS)
    blocks: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for e in entries:
        first, last = _utc(e["first"]), _utc(e["last"])
        if current is None or first >= current["_end"] or first - current["_last"] >= window:
            start = first.replace(minute=0, second=0, microsecond=0)
            current = {"_start": start, "_end": start + window, "_first": first, "_models": {}}
            current.update(_empty())
            blocks.append(current)
        current["_last"] = max(current.get("_last", last), last)
        _add(current, e)
        models = current["_models"]
        models[e["model"]] = models.get(e["model"], 0) + e["total_tokens"]
    rows = [_block(b, now, token_limit) for b in blocks]
    if active_only:
        blocks = [b for b, row in zip(blocks, rows, strict=True) if row["active"]]
        rows = [row for row in rows if row["active"]]
    totals = _empty()
    for b in blocks:
        _add(totals, b)
    if q.order == "desc":
        rows.reverse()
    report = _report("block", q, rows, totals, sources)
    return {
        "period": "block",
        "block_hours": BLOCK_HOURS,
        "now": utc_iso(now),
        "token_limit": token_limit,
        **{k: v for k, v in report.items() if k != "period"},
    }


def _block(b: dict[str, Any], now: datetime, token_limit: int | None) -> dict[str, Any]:
    window = timedelta(hours=BLOCK_HOURS)
    active = b["_start"] <= now < b["_end"] and now - b["_last"] < window
    row: dict[str, Any] = {
        "start": utc_iso(b["_start"]),
        "end": utc_iso(b["_end"]),
        "first": utc_iso(b["_first"]),
        "last": utc_iso(b["_last"]),
        "active": active,
        **{k: b[k] for k in (*COUNTS, "cost")},
        "requests": b["rows"],
        "models": sorted(b["_models"], key=lambda m: (-b["_models"][m], m)),
    }
    if b["unpriced_rows"]:
        row["unpriced_rows"] = b["unpriced_rows"]
    if active:
        minutes = max((now - b["_first"]).total_seconds() / 60.0, 1.0)
        remaining = (b["_end"] - now).total_seconds() / 60.0
        per_minute = row["total_tokens"] / minutes
        cost_per_minute = (row["cost"] or 0.0) / minutes
        row["burn_rate"] = {
            "tokens_per_minute": per_minute,
            "cost_per_hour": cost_per_minute * 60.0,
        }
        row["projection"] = {
            "total_tokens": round(row["total_tokens"] + per_minute * remaining),
            "cost": (row["cost"] or 0.0) + cost_per_minute * remaining,
            "remaining_minutes": remaining,
        }
    if token_limit:
        row["limit_share"] = row["total_tokens"] / token_limit
        if active:
            row["projection"]["limit_share"] = row["projection"]["total_tokens"] / token_limit
    return row
