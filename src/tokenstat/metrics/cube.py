"""Period x group cube and the window metrics on it, written once with Ibis.

Input: a *facts* table with columns ``day`` (date), ``key`` (string: the group) and
``value`` (numeric: tokens or USD). Output: a dense *grid*, one row per calendar period
between the first and last period with data and per group, with zeros where a group had
nothing, and these columns:

- ``start`` (date), ``idx`` (int: the period's position in the calendar), ``key``, ``value``;
- ``total``: value over all groups in the period (the share denominator, unknown included);
- ``share`` = value / total (null when total is 0);
- ``previous``: value of the same group in the period before (0 when it had none);
- ``growth`` = value / previous - 1, null when previous is 0 or there is no period before;
- ``share_previous``, ``share_shift_pp`` = (share - share_previous) * 100;
- ``rank``: 1 for the largest value in the period (ties share the rank, "1224" ranking),
  null for a group with 0 and for groups that are not real groups (``UNRANKED``: unknown
  origin or author, the ``other`` bucket of ranking sources, rows without a value);
  ``rank_previous``;
- ``leader_streak``: consecutive periods, ending at this one, in which the group held
  rank 1 (0 when it does not lead now).

A run of periods without any data at all keeps only its first `MAX_GAP` periods (see
`period_calendar`): every metric below is the same either way, as a period without data
has no rank, no lead and no share, so it ends every streak and makes the next growth
undefined whether it is one period or thousands; one stray row in year 9999 no longer
makes a grid of millions of days.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from tokenstat.periods import OutsideCalendar, as_date, period_start_expr, shift_period

# Keys that hold what could not be attributed or was aggregated away: they count in every
# total and share, but hold no rank (an "unknown" country does not lead a market).
UNRANKED = ("unknown", "other", "(none)")


def cube(facts: ir.Table, grain: str) -> ir.Table:
    """Sum ``value`` by (period start, key)."""
    start = period_start_expr(facts.day, grain).name("start")
    return facts.group_by([start, facts.key]).aggregate(value=facts.value.sum())


# Periods without any data kept of one run of them in a grid (the rest are left out:
# they change no metric; see the module docstring). 1,000 days is 2.7 years, 1,000 weeks
# 19 years: longer silences come from stray dates, not from real data.
MAX_GAP = 1000


def period_calendar(
    first: date, last: date, grain: str, with_data: Iterable[date] | None = None
) -> pa.Table:
    """Period starts from ``first`` to ``last`` (both period starts), numbered (``idx``).

    ``with_data``: the starts of the periods that hold data (None: every period counts as
    holding data, the calendar is dense). Between two of them (or ``first``/``last``), at
    most `MAX_GAP` periods without data are kept, the first ones of the run.
    """
    if with_data is None:
        anchors = None
    else:
        anchors = sorted({first, last, *(d for d in with_data if first <= d <= last)})
    starts: list[date] = []
    current: date | None = first
    run = 0  # periods without data since the last anchor
    upcoming = iter(anchors or ())
    target = next(upcoming, None)
    while current is not None and current <= last:
        while target is not None and target < current:  # (not a period start)
            target = next(upcoming, None)
        if anchors is None or current == target:
            starts.append(current)
            run = 0
            target = next(upcoming, None) if anchors is not None else None
        elif run < MAX_GAP:
            starts.append(current)
            run += 1
        elif target is not None:
            current = target  # skip the rest of the run
            continue
        try:
            current = shift_period(current, grain, 1)
        except OutsideCalendar:  # the last period of year 9999
            current = None
    return pa.table(
        {"start": pa.array(starts, pa.date32()), "idx": pa.array(range(len(starts)), pa.int64())}
    )


def calendar_of(cubed: ir.Table, grain: str, first: date, last: date) -> pa.Table:
    """The calendar of a grid of ``cubed`` (`period_calendar`): dense when ``first`` to
    ``last`` spans at most `MAX_GAP` periods, else with the runs without data cut (one
    small query for the periods with data)."""
    try:
        short = shift_period(first, grain, MAX_GAP) > last
    except OutsideCalendar:
        short = True
    if short:
        return period_calendar(first, last, grain)
    held = cubed.select(start=cubed.start.cast("date")).distinct().to_pyarrow()
    return period_calendar(first, last, grain, [as_date(d) for d in held["start"].to_pylist()])


def start_range(cubed: ir.Table) -> tuple[date | None, date | None]:
    row = cubed.aggregate(lo=cubed.start.min(), hi=cubed.start.max()).to_pyarrow().to_pylist()[0]
    return as_date(row["lo"]), as_date(row["hi"])


def grid(
    cubed: ir.Table, grain: str, first: date, last: date, unranked: tuple[str, ...] = UNRANKED
) -> ir.Table:
    """The dense grid with every metric column (see the module docstring)."""
    calendar = ibis.memtable(calendar_of(cubed, grain, first, last))
    keys = cubed.select("key").distinct()
    cells = calendar.cross_join(keys)
    joined = cells.left_join(cubed.mutate(start=cubed.start.cast("date")), ["start", "key"]).select(
        start=cells.start,
        idx=cells.idx,
        key=cells.key,
        value=ibis.coalesce(cubed.value, 0),
    )
    in_period = ibis.window(group_by="start")
    by_key = ibis.window(group_by="key", order_by="idx")
    with_total = joined.mutate(
        total=joined.value.sum().over(in_period),
        ranked=~joined.key.isin(list(unranked)) & (joined.value > 0),
    )
    # ranked rows first, so unranked ones never push a real group down
    rank = ibis.rank().over(group_by="start", order_by=[ibis.desc("ranked"), ibis.desc("value")])
    shared = with_total.mutate(
        # ratios in float64 on every engine (sums may be wide decimals: Spark divides those
        # exactly, DuckDB in doubles, and the parity suite wants one answer)
        share=ibis.ifelse(
            with_total.total == 0,
            ibis.null(),
            with_total.value.cast("float64") / with_total.total.cast("float64"),
        ),
        rank=ibis.ifelse(with_total.ranked, (rank + 1).cast("int64"), ibis.null()),
    )
    prev = shared.mutate(
        previous=ibis.coalesce(shared.value.lag().over(by_key), 0),
        has_previous=shared.idx > 0,
        share_previous=shared.share.lag().over(by_key),
        rank_previous=shared.rank.lag().over(by_key),
        lead_break=ibis.ifelse(shared.rank == 1, -1, shared.idx),
    )
    cumulative = ibis.window(group_by="key", order_by="idx", rows=(None, 0))
    return prev.mutate(
        growth=ibis.ifelse(
            prev.has_previous & (prev.previous != 0),
            prev.value.cast("float64") / prev.previous.cast("float64") - 1,
            ibis.null(),
        ),
        share_shift_pp=(prev.share - prev.share_previous) * 100,
        # periods since the last one it did not lead (-1: led since the first period)
        leader_streak=prev.idx - prev.lead_break.max().over(cumulative),
    ).drop("has_previous", "lead_break", "ranked")


def pairwise(cubed: ir.Table, grain: str, first: date, last: date, a: str, b: str) -> ir.Table:
    """Per period: a's and b's values, whether a leads (a > b), a's lead streak ending at
    the period, and whether the period is a crossover (a leads after a period it did not)."""
    calendar = ibis.memtable(calendar_of(cubed, grain, first, last))
    values = cubed.filter(cubed.key.isin([a, b])).mutate(start=cubed.start.cast("date"))
    side = values.group_by("start").aggregate(
        a_value=values.value.sum(where=values.key == a),
        b_value=values.value.sum(where=values.key == b),
    )
    joined = calendar.left_join(side, "start").select(
        start=calendar.start,
        idx=calendar.idx,
        a_value=ibis.coalesce(side.a_value, 0),
        b_value=ibis.coalesce(side.b_value, 0),
    )
    order = ibis.window(order_by="idx")
    flagged = joined.mutate(a_leads=joined.a_value > joined.b_value)
    marked = flagged.mutate(
        lead_break=ibis.ifelse(flagged.a_leads, -1, flagged.idx),
        was_leading=flagged.a_leads.lag().over(order),
    )
    cumulative = ibis.window(order_by="idx", rows=(None, 0))
    return marked.mutate(
        streak=marked.idx - marked.lead_break.max().over(cumulative),
        crossover=marked.a_leads & (marked.was_leading == False),  # noqa: E712
    ).drop("lead_break", "was_leading")
