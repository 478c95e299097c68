"""What a slice of the ledger would have cost on other models.

The workload is a slice of ledger rows (a day range and ``--where`` filters). Each
candidate model is priced on the SAME token counts (input, cache read, cache write,
output, reasoning, requests) at the SAME timestamps, with the candidate's own schedule
(its first-party price unless a provider is given; see `tokenstat.prices.book`). All of it
is one query: the workload rows cross-joined with the candidates, joined to the composite
schedule, summed per candidate.

Comparisons are like for like: a candidate's ``cost`` and the ``compared_actual_cost`` it
is set against sum the same rows, those priced both ways (the actual cost in the chosen
mode, and the candidate). ``saving = compared_actual_cost - cost`` (USD) and
``saving_pct = saving / compared_actual_cost``. Rows the candidate cannot price (no price
at that time) are counted in ``unpriced_rows``. Totals-only market rows have no
input/output split and are left out of the workload (``excluded_rows``).

Caveat: token counts differ across tokenizers (the same text can be 10-30% more or fewer
tokens on another model), and a different model may answer with more or less output;
the comparison holds the counts fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import pyarrow as pa

from tokenstat.errors import QueryError
from tokenstat.metrics.facts import WIDE
from tokenstat.prices.cost import (
    CostInputs,
    Slice,
    check_mode,
    costed,
    no_split,
    price_sources,
    pricing_basis,
    tokens_of,
)
from tokenstat.prices.schedule import price_rows

CAVEAT = (
    "Token counts are held fixed, but tokenizers differ: the same text may be 10-30% more "
    "or fewer tokens on another model, and another model may write more or less output."
)
_TOKEN_SUMS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)
_CARRIED = ("ts", "day", "grain", *_TOKEN_SUMS, "requests", "cost_reported", "model", "provider")


def whatif_report(
    inputs: CostInputs,
    candidates: Sequence[str],
    *,
    part: Slice = Slice(),
    mode: str = "auto",
    provider: str | None = None,
) -> dict[str, Any]:
    """Actual cost of the slice and its cost on each candidate (USD), in one query."""
    check_mode(mode)
    models = list(dict.fromkeys(candidates))
    if not models:
        raise QueryError("name candidate models (--on a,b) or ask for the cheapest (--cheapest N)")
    rows = part.apply(inputs.usage, inputs.attributed)
    flagged = rows.mutate(_excluded=no_split(rows))
    stats = flagged.aggregate(
        rows=flagged.count(),
        excluded=flagged._excluded.cast("int64").sum(),
        first_day=flagged.day.min(),
        last_day=flagged.day.max(),
    )
    head = stats.to_pyarrow().to_pylist()[0]
    if not head["rows"]:
        raise QueryError("no ledger rows in this slice; check --since/--until/--where")
    workload = flagged.filter(~flagged._excluded).select(*_CARRIED)
    candidate_pairs = [(provider, model) for model in models]
    schedule = inputs.schedule(candidate_pairs)
    actual = costed(workload, schedule, mode)
    actual = actual.select(*_CARRIED, actual_cost="cost")
    totals = actual.aggregate(
        rows=actual.count(),
        actual_cost=actual.actual_cost.sum(),
        actual_unpriced=actual.actual_cost.isnull().cast("int64").sum(),
        # `WIDE` sums: each count fits int64, their sum may not
        **{name: actual[name].cast(WIDE).sum() for name in _TOKEN_SUMS},
        requests=actual.requests.cast(WIDE).sum(),
        tokens=tokens_of(actual).sum(),
    )
    total = totals.to_pyarrow().to_pylist()[0]

    chosen = ibis.memtable(
        pa.table(
            {
                "candidate": pa.array(models, pa.string()),
                "price_provider": pa.array([provider] * len(models), pa.string()),
            }
        )
    )
    crossed = actual.cross_join(chosen).mutate(price_model=ibis._.candidate)
    priced = price_rows(crossed, schedule)
    both = priced.cost_computed.notnull() & priced.actual_cost.notnull()
    per_candidate = priced.group_by("candidate").aggregate(
        cost=ibis.ifelse(both, priced.cost_computed, 0.0).sum(),
        compared=ibis.ifelse(both, priced.actual_cost, 0.0).sum(),
        compared_rows=both.cast("int64").sum(),
        unpriced_rows=priced.cost_computed.isnull().cast("int64").sum(),
    )
    by_model = {r["candidate"]: r for r in per_candidate.to_pyarrow().to_pylist()}
    basis = {r["model"]: r for r in pricing_basis(inputs.book, candidate_pairs)}
    out = []
    for model in models:
        r = by_model.get(model, {})
        compared_rows = int(r.get("compared_rows") or 0)
        cost = float(r.get("cost") or 0.0) if compared_rows else None
        compared = float(r.get("compared") or 0.0) if compared_rows else None
        saving = compared - cost if cost is not None and compared is not None else None
        out.append(
            {
                "model": model,
                "cost": cost,
                "saving": saving,
                "saving_pct": saving / compared if saving is not None and compared else None,
                "compared_actual_cost": compared,
                "compared_rows": compared_rows,
                "unpriced_rows": int(r.get("unpriced_rows") or 0),
                "priced_as": basis[model]["priced_as"],
            }
        )
    out.sort(key=lambda r: (r["cost"] is None, r["cost"] or 0.0, r["model"]))
    return {
        "mode": mode,
        "provider": provider,
        "slice": part.describe(),
        "workload": {
            "rows": int(total["rows"] or 0),
            "excluded_rows": int(head["excluded"] or 0),
            "first_day": _iso(head["first_day"]),
            "last_day": _iso(head["last_day"]),
            "tokens": int(total["tokens"] or 0),
            **{name: int(total[name] or 0) for name in _TOKEN_SUMS},
            "requests": int(total["requests"] or 0),
        },
        "actual_cost": float(total["actual_cost"] or 0.0),
        "actual_unpriced_rows": int(total["actual_unpriced"] or 0),
        "rows": out,
        "caveat": CAVEAT,
        "prices": price_sources(inputs.book),
        "sources": inputs.sources,
    }


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "date") and callable(value.date):
        value = value.date()
    return value.isoformat()
