"""Share shift between two periods, in percentage points: share(p) - share(q).

Composed from two `summary` reports, so both shares use the same definition (denominator:
every row of the period, unknown included).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tokenstat.errors import QueryError
from tokenstat.metrics.reports import Dataset, Selection, summary


def share_shift(
    ds: Dataset,
    *,
    by: str = "origin",
    grain: str = "week",
    at: date | None = None,
    since: date,
    sel: Selection = Selection(),
) -> dict[str, Any]:
    """Each group's share in the period containing ``since`` and in the one containing
    ``at`` (default: the latest), and the shift between them in percentage points.

    Rows are ordered by the later share, largest first; a group absent from one period
    has share 0 there."""
    now = summary(ds, by=by, grain=grain, at=at, sel=sel)
    then = summary(ds, by=by, grain=grain, at=since, sel=sel)
    if then["period"]["start"] >= now["period"]["start"]:
        raise QueryError(
            f"the earlier period ({then['period']['start']}) must come before the later "
            f"one ({now['period']['start']})"
        )
    before = {g["key"]: g for g in then["groups"]}
    after = {g["key"]: g for g in now["groups"]}
    rows = []
    for key in {*before, *after}:
        b, a = before.get(key), after.get(key)
        share_from = (b["share"] or 0.0) if b else 0.0
        share_to = (a["share"] or 0.0) if a else 0.0
        rows.append(
            {
                "key": key,
                "tokens_from": b["tokens"] if b else 0,
                "tokens_to": a["tokens"] if a else 0,
                "share_from": share_from,
                "share_to": share_to,
                "shift_pp": (share_to - share_from) * 100,
                "rank_from": b["rank"] if b else None,
                "rank_to": a["rank"] if a else None,
            }
        )
    rows.sort(key=lambda r: (-r["share_to"], -r["share_from"], r["key"]))
    return {
        "by": by,
        "grain": grain,
        "measure": sel.kind,
        "from": then["period"],
        "to": now["period"],
        "rows": rows,
        "attributed_share": now["attributed_share"],
        "sources": now["sources"],
    }
