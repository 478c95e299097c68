"""The price schedule: genai-prices flattened into one table, and cost computed in the engine.

``build_schedule()`` turns the data shipped with the installed ``genai_prices`` package into
one flat Arrow table (``SCHEDULE_SCHEMA``) with one row per

    (provider, model, variant, validity window, daily UTC time window, input-token tier)

so that pricing a ledger is a join plus one arithmetic expression, run inside the engine
(``price_rows`` and ``cost_expression``, written with Ibis: DuckDB and Spark alike).
``genai_prices.calc_price`` stays the oracle the tests compare against.

Rows
----
provider, model
    genai-prices ids. ``provider`` is the provider whose model list holds the model (the
    owner). A model reached through a provider's ``fallback_model_providers`` (Azure serving
    OpenAI models, Google serving Anthropic ones) is priced by its owner's rows; see
    ``resolve_models`` for the provider id genai-prices matched.
variant
    ``"default"``: prices with no request context. Every other variant is one genai-prices
    ``PriceVariant`` context (``{"processing": "batch"}``, ``{"service_tier": "flex"}``,
    ``{"speed": "fast"}``, ...), named by its value (``"batch"``, ``"flex"``, ``"fast"``);
    ``variant_context`` keeps the exact context as ``key=value`` (null for ``"default"``).
    A variant row holds the FULL resolved prices (the standard prices overridden key by key
    by the variant, as ``ModelInfo.get_prices`` does), for every date, so before a variant's
    start date its rows equal the default ones. Variants whose prices equal the default
    everywhere (``service_tier=default``) are left out; a request asking for a variant the
    model lacks is priced with ``"default"``, as calc_price does. Contexts combining several
    keys at once are not enumerated.
valid_from, valid_to
    UTC instants, ``valid_from <= ts < valid_to``; null means unbounded. genai-prices start
    dates are UTC dates, so boundaries fall on UTC midnight.
window_start, window_end
    Daily UTC window in seconds since midnight, ``window_start <= tod < window_end`` with
    ``tod = hour * 3600 + minute * 60 + second`` of ``ts`` in UTC; both null when the price
    applies all day. Windows never wrap: a window crossing midnight (DeepSeek's 16:30-00:30
    UTC off-peak) is split at midnight into two rows, so ``window_end`` may be 86400.
tier_min_input, tier_max_input
    The input-token tier. genai-prices uses a "cliff" model: a request whose TOTAL input
    tokens (``input_tokens``, cache reads and writes included) are strictly greater than a
    tier's ``start`` pays that tier's rate on ALL its tokens of every tiered kind (output
    included); the highest such tier wins; otherwise the base rate. One row per interval of
    the union of all thresholds of the row's prices: the row applies when
    ``tier_min_input < input_tokens <= tier_max_input`` (``tier_max_input`` null = no upper
    bound), and the base row has ``tier_min_input = 0`` and applies from 0 input tokens.
input, cache_read, cache_write, cache_write_1h, output, reasoning, per_request
    USD per token (per request for ``per_request``), float64, null when genai-prices has no
    price of that kind for the row (genai-prices ``input_mtok``, ``cache_read_mtok``,
    ``cache_write_mtok``, ``cache_write_1h_mtok``, ``output_mtok``, ``output_reasoning_mtok``
    divided by 1e6, and ``requests_kcount`` divided by 1000).
other_price_keys
    Comma-separated genai-prices price keys of the row that usage rows cannot carry (web
    searches, audio or image tokens, ...); those are not part of the computed cost.

Cost formula (mirrors ``ModelPrice.calc_price``)
------------------------------------------------
genai-prices charges each priced unit its "leaf" count: the unit's usage minus the usage of
its more specific priced units. With the schedule row picked as above (by provider, model,
variant, ``ts`` and tier) and ``[x]`` meaning 1 when price ``x`` is not null, else 0::

    cost = input          * (input_tokens - [cache_read] * cache_read_tokens
                                          - [cache_write] * cache_write_tokens)
         + cache_read     * cache_read_tokens
         + cache_write    * (cache_write_tokens - [cache_write_1h] * cache_write_1h_tokens)
         + cache_write_1h * cache_write_1h_tokens
         + output         * (output_tokens - [reasoning] * reasoning_tokens)
         + reasoning      * reasoning_tokens
         + per_request    * coalesce(requests, 1)

with null prices counted as 0. So cache tokens of a model without a cache price are charged
at the input rate, and reasoning tokens at the output rate unless a reasoning price exists.
``cache_write_1h_tokens`` is optional (0 when the usage table has no such column: canonical
rows count all cache writes as ``cache_write_tokens``). genai-prices charges
``requests_kcount`` once per call; an aggregated row pays it ``requests`` times.

For aggregated rows (``requests`` = N > 1) the tier is decided on the mean input per request,
``ceil(input_tokens / N) > tier_min_input`` (exact for one request; for N requests it is an
approximation, since the cliff applies per request). An aggregated row is priced at its
``ts`` (the period start): price changes and daily windows inside the period are not split.
A row whose model is not in the schedule gets a null ``cost_computed``.

Known differences from calc_price: usage kinds outside the canonical row (audio, image,
video, characters, web searches, Groq's ten-second minimum on Whisper audio) are not priced;
a model found through a fallback provider ignores request variants in calc_price, so pass
the default variant for those (``resolve_models`` says when).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
from genai_prices import data_snapshot
from genai_prices.data_units import unit_data
from genai_prices.types import (
    ModelInfo,
    ModelPrice,
    Provider,
    StartDateConstraint,
    TieredPrices,
    TimeOfDateConstraint,
)

__all__ = [
    "DEFAULT_VARIANT",
    "PRICE_COLUMNS",
    "RESOLVED_SCHEMA",
    "SCHEDULE_SCHEMA",
    "build_schedule",
    "cost_expression",
    "engine_safe",
    "match_model",
    "price_rows",
    "price_segments",
    "resolve_models",
    "schedule_memtable",
    "schedule_segments",
]

DEFAULT_VARIANT = "default"
SECONDS_PER_DAY = 86_400

# schedule price column -> genai-prices usage key (its unit gives the price key and `per`)
_COLUMN_USAGE_KEYS: dict[str, str] = {
    "input": "input_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write": "cache_write_tokens",
    "cache_write_1h": "cache_write_1h_tokens",
    "output": "output_tokens",
    "reasoning": "output_reasoning_tokens",
    "per_request": "requests",
}
PRICE_COLUMNS: tuple[str, ...] = tuple(_COLUMN_USAGE_KEYS)

# genai-prices price key -> (index into PRICE_COLUMNS, units the price is quoted per)
_PRICE_KEYS: dict[str, tuple[int, int]] = {
    unit_data[usage_key].get("price_key", usage_key): (index, int(unit_data[usage_key]["per"]))
    for index, usage_key in enumerate(_COLUMN_USAGE_KEYS.values())
}

_TS = pa.timestamp("us", tz="UTC")
SCHEDULE_SCHEMA = pa.schema(
    [
        pa.field("provider", pa.string(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("variant", pa.string(), nullable=False),
        pa.field("variant_context", pa.string()),
        pa.field("valid_from", _TS),
        pa.field("valid_to", _TS),
        pa.field("window_start", pa.int64()),
        pa.field("window_end", pa.int64()),
        pa.field("tier_min_input", pa.int64(), nullable=False),
        pa.field("tier_max_input", pa.int64()),
        *(pa.field(column, pa.float64()) for column in PRICE_COLUMNS),
        pa.field("other_price_keys", pa.string()),
    ]
)

# (tier_min_input, tier_max_input, prices aligned with PRICE_COLUMNS)
_TierRow = tuple[int, int | None, tuple[float | None, ...]]
# (tier rows, other price keys)
_PriceKey = tuple[tuple[_TierRow, ...], str | None]
# (window_start, window_end, prices)
_Cell = tuple[int | None, int | None, _PriceKey]


# --------------------------------------------------------------------------- building


def _price_key(model_price: ModelPrice) -> _PriceKey:
    """Tier rows and unsupported price keys of one resolved genai-prices ModelPrice."""
    values: dict[str, Decimal | TieredPrices] = {}
    others: list[str] = []
    for key, value in model_price.__dict__.items():
        if key.startswith("_") or value is None:
            continue
        if key in _PRICE_KEYS:
            values[key] = value
        else:
            others.append(key)

    thresholds = sorted(
        {
            tier.start
            for value in values.values()
            if isinstance(value, TieredPrices)
            for tier in value.tiers
        }
    )
    if thresholds and thresholds[0] <= 0:
        raise ValueError(f"tier starting at {thresholds[0]} input tokens cannot be represented")
    bounds = [0, *thresholds]

    rows: list[_TierRow] = []
    for position, low in enumerate(bounds):
        high = bounds[position + 1] if position + 1 < len(bounds) else None
        prices: list[float | None] = [None] * len(PRICE_COLUMNS)
        for key, value in values.items():
            index, per = _PRICE_KEYS[key]
            if isinstance(value, TieredPrices):
                # calc_unit_price: the highest tier with total input > start; in the
                # interval (low, high] that is the highest tier with start <= low.
                price = value.base
                for tier in reversed(value.tiers):
                    if tier.start <= low:
                        price = tier.price
                        break
            else:
                price = value
            prices[index] = float(Decimal(price) / per)
        rows.append((low, high, tuple(prices)))
    return tuple(rows), (",".join(sorted(others)) or None)


def _utc_seconds(value: time) -> int:
    """Seconds since UTC midnight of a constraint time (naive times are UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    else:
        value = datetime.combine(date(1970, 1, 1), value).astimezone(UTC).timetz()
    if value.microsecond:
        raise ValueError(f"time-of-day boundary {value} has sub-second precision")
    return value.hour * 3600 + value.minute * 60 + value.second


def _boundaries(model: ModelInfo) -> tuple[list[date], list[int]]:
    """UTC start dates and seconds-of-day where any of the model's prices may change."""
    constraints: list[Any] = []
    if isinstance(model.prices, list):
        constraints.extend(conditional.constraint for conditional in model.prices)
    constraints.extend(variant.constraint for variant in model.price_variants or ())
    dates: set[date] = set()
    seconds: set[int] = {0}
    for constraint in constraints:
        if isinstance(constraint, StartDateConstraint):
            dates.add(constraint.start_date)
        elif isinstance(constraint, TimeOfDateConstraint):
            seconds.add(_utc_seconds(constraint.start_time))
            seconds.add(_utc_seconds(constraint.end_time))
    return sorted(dates), sorted(seconds)


def _variant_contexts(model: ModelInfo) -> list[tuple[str, str, dict[str, str]]]:
    """(variant name, variant_context, price context) for each distinct variant condition."""
    contexts: list[dict[str, str]] = []
    for variant in model.price_variants or ():
        if dict(variant.when) not in contexts:
            contexts.append(dict(variant.when))
    values = [next(iter(context.values())) for context in contexts if len(context) == 1]
    out = []
    for context in contexts:
        label = "&".join(f"{key}={value}" for key, value in sorted(context.items()))
        value = next(iter(context.values()))
        unique = len(context) == 1 and values.count(value) == 1 and value != DEFAULT_VARIANT
        out.append((value if unique else label, label, context))
    return out


_Structure = list[tuple[date | None, date | None, tuple[_Cell, ...]]]


def _structure(
    model: ModelInfo,
    context: dict[str, str] | None,
    dates: list[date],
    seconds: list[int],
) -> _Structure:
    """Evaluate genai-prices' own price resolution once per (date interval, time segment)."""
    edges: list[date | None] = [None, *dates, None]
    segments = list(zip(seconds, [*seconds[1:], SECONDS_PER_DAY], strict=True))
    out: _Structure = []
    for low, high in itertools.pairwise(edges):
        if low is not None:
            day = low
        elif high is not None:
            day = high - timedelta(days=1)
        else:
            day = date(2000, 1, 1)
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        cells: list[_Cell] = []
        for start, end in segments:
            prices = _price_key(model.get_prices(midnight + timedelta(seconds=start), context))
            if cells and cells[-1][2] == prices:
                cells[-1] = (cells[-1][0], end, prices)
            else:
                cells.append((start, end, prices))
        if len(cells) == 1:
            cells = [(None, None, cells[0][2])]
        frozen = tuple(cells)
        if out and out[-1][2] == frozen:
            out[-1] = (out[-1][0], high, frozen)
        else:
            out.append((low, high, frozen))
    return out


_EPOCH = date(1970, 1, 1)
_MICROS_PER_DAY = SECONDS_PER_DAY * 1_000_000


def _micros(day: date | None) -> int | None:
    """UTC midnight of ``day`` in microseconds since the epoch (null when unbounded)."""
    return None if day is None else (day - _EPOCH).days * _MICROS_PER_DAY


def _build(providers: Sequence[Provider]) -> pa.Table:
    columns: dict[str, list[Any]] = {name: [] for name in SCHEDULE_SCHEMA.names}
    price_lists = [columns[name] for name in PRICE_COLUMNS]
    for provider in providers:
        for model in provider.models:
            dates, seconds = _boundaries(model)
            default = _structure(model, None, dates, seconds)
            variants = [(DEFAULT_VARIANT, None, default)]
            for name, label, context in _variant_contexts(model):
                structure = _structure(model, context, dates, seconds)
                if structure != default:
                    variants.append((name, label, structure))
            for name, label, structure in variants:
                for low, high, cells in structure:
                    valid_from, valid_to = _micros(low), _micros(high)
                    for window_start, window_end, (tiers, others) in cells:
                        for tier_min, tier_max, prices in tiers:
                            columns["provider"].append(provider.id)
                            columns["model"].append(model.id)
                            columns["variant"].append(name)
                            columns["variant_context"].append(label)
                            columns["valid_from"].append(valid_from)
                            columns["valid_to"].append(valid_to)
                            columns["window_start"].append(window_start)
                            columns["window_end"].append(window_end)
                            columns["tier_min_input"].append(tier_min)
                            columns["tier_max_input"].append(tier_max)
                            for target, price in zip(price_lists, prices, strict=True):
                                target.append(price)
                            columns["other_price_keys"].append(others)
    arrays = [
        pa.array(columns[field.name], pa.int64()).cast(field.type)
        if field.type == _TS
        else pa.array(columns[field.name], field.type)
        for field in SCHEDULE_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEDULE_SCHEMA)


_cache: tuple[Sequence[Provider], pa.Table] | None = None


def build_schedule(providers: Sequence[Provider] | None = None) -> pa.Table:
    """The price schedule (``SCHEDULE_SCHEMA``) of genai-prices' current data snapshot.

    Built once per snapshot and kept in memory (the bundled snapshot never changes within a
    process; a snapshot installed by ``genai_prices.UpdatePrices`` triggers a rebuild).
    """
    global _cache
    if providers is None:
        providers = data_snapshot.get_snapshot().providers
    cached = _cache
    if cached is not None and cached[0] is providers:
        return cached[1]
    table = one_hour_cache_writes(_build(providers))
    _cache = (providers, table)
    return table


# Anthropic's documented price of a one-hour cache write: twice the base input price
ANTHROPIC_ONE_HOUR_WRITE = 2.0


def one_hour_cache_writes(table: pa.Table) -> pa.Table:
    """``table`` with a one-hour cache-write price for the Anthropic rows that have a cache
    write price but no one-hour one (`ANTHROPIC_ONE_HOUR_WRITE` x input); genai-prices'
    own one-hour prices are kept as they are."""

    missing = pc.and_(
        pc.and_(pc.equal(table["provider"], "anthropic"), pc.is_valid(table["cache_write"])),
        pc.and_(pc.is_null(table["cache_write_1h"]), pc.is_valid(table["input"])),
    )
    filled = pc.if_else(
        missing, pc.multiply(table["input"], ANTHROPIC_ONE_HOUR_WRITE), table["cache_write_1h"]
    )
    index = table.schema.get_field_index("cache_write_1h")
    return table.set_column(index, table.field(index), filled)


def schedule_memtable(schedule: pa.Table | None = None) -> ibis.Table:
    """The schedule as an Ibis in-memory table, ready to pass to ``price_rows``."""
    return ibis.memtable(engine_safe(build_schedule() if schedule is None else schedule))


def engine_safe(table: pa.Table) -> pa.Table:
    """``table`` with integer columns that hold nulls as float64 (exact for the schedule's
    seconds of day and token thresholds, all below 2**53).

    Ibis' PySpark backend loads memtables through pandas and loses every value of an
    integer column holding a null; ``price_rows`` casts these columns back to int64.
    """
    for index, column in enumerate(table.columns):
        if pa.types.is_integer(column.type) and column.null_count:
            table = table.set_column(
                index, table.field(index).with_type(pa.float64()), column.cast(pa.float64())
            )
    return table


# --------------------------------------------------------------------------- matching


_owners: tuple[Sequence[Provider], dict[int, str]] | None = None


def _owner_ids(providers: Sequence[Provider]) -> dict[int, str]:
    global _owners
    cached = _owners
    if cached is not None and cached[0] is providers:
        return cached[1]
    owners = {id(model): provider.id for provider in providers for model in provider.models}
    _owners = (providers, owners)
    return owners


def _match(provider_id: str | None, model_ref: str) -> tuple[str, str, bool] | None:
    snapshot = data_snapshot.get_snapshot()
    try:
        provider, model = snapshot.find_provider_model(model_ref, None, provider_id or None, None)
    except LookupError:
        return None
    own = any(model is candidate for candidate in provider.models)
    owner = provider.id if own else _owner_ids(snapshot.providers)[id(model)]
    return owner, model.id, own


def match_model(provider_id: str | None, model_ref: str) -> tuple[str, str] | None:
    """The schedule's (provider, model) for a model string, by genai-prices' own matching.

    ``provider_id`` is matched like ``calc_price(provider_id=...)`` (ids and provider match
    rules, LiteLLM prefixes); when it is None or empty the provider is found from the model
    string. Returns None when genai-prices cannot match the pair.
    """
    found = _match(provider_id, model_ref)
    return None if found is None else found[:2]


RESOLVED_SCHEMA = pa.schema(
    [
        pa.field("provider", pa.string()),
        pa.field("model_ref", pa.string(), nullable=False),
        pa.field("price_provider", pa.string()),
        pa.field("price_model", pa.string()),
        pa.field("variants_apply", pa.bool_()),
    ]
)


def resolve_models(pairs: Iterable[tuple[str | None, str]]) -> pa.Table:
    """Resolve distinct (provider, model string) pairs to schedule keys, as an Arrow table.

    Meant for the distinct pairs of a ledger (small), to be joined back in the engine.
    ``variants_apply`` is False when genai-prices found the model through a fallback
    provider; calc_price then ignores request variants (batch, flex, ...), so use
    ``"default"`` for those rows. Unmatched pairs have null price columns.
    """
    columns: dict[str, list[Any]] = {name: [] for name in RESOLVED_SCHEMA.names}
    for provider_id, model_ref in dict.fromkeys(pairs):
        found = _match(provider_id, model_ref)
        columns["provider"].append(provider_id)
        columns["model_ref"].append(model_ref)
        columns["price_provider"].append(None if found is None else found[0])
        columns["price_model"].append(None if found is None else found[1])
        columns["variants_apply"].append(None if found is None else found[2])
    return pa.Table.from_pydict(columns, schema=RESOLVED_SCHEMA)


# --------------------------------------------------------------------------- engine


def _tokens(table: ibis.Table, name: str) -> ir.IntegerValue | None:
    """A token column with nulls as 0, or None when the table has no such column."""
    return table[name].coalesce(0) if name in table.columns else None


def cost_expression(table: ibis.Table, *, price_prefix: str = "") -> ir.FloatingValue:
    """Cost in USD of usage rows already joined to their schedule rows (see module docs).

    ``table`` has the usage token columns (``input_tokens``, ``cache_read_tokens``,
    ``cache_write_tokens``, ``output_tokens``, ``reasoning_tokens``, ``requests``; optional
    ``cache_write_1h_tokens``) and the schedule price columns, named ``price_prefix`` +
    column. Rows without a schedule row (all prices null) come out as 0.
    """

    def price(name: str) -> ir.FloatingValue:
        return table[price_prefix + name]

    def charged(name: str) -> ir.FloatingValue:
        return price(name).coalesce(0.0)

    def leaf(total: ir.IntegerValue | None, *parts: tuple[str, ir.IntegerValue | None]) -> Any:
        """``total`` minus each part whose price is not null (genai-prices' leaf count)."""
        if total is None:
            return ibis.literal(0, "int64")
        for name, tokens in parts:
            if tokens is not None:
                total = total - ibis.ifelse(price(name).notnull(), tokens, 0)
        return total

    cache_read = _tokens(table, "cache_read_tokens")
    cache_write = _tokens(table, "cache_write_tokens")
    cache_write_1h = _tokens(table, "cache_write_1h_tokens")
    reasoning = _tokens(table, "reasoning_tokens")
    requests = table["requests"].coalesce(1) if "requests" in table.columns else 1

    terms = [
        charged("input")
        * leaf(
            _tokens(table, "input_tokens"),
            ("cache_read", cache_read),
            ("cache_write", cache_write),
        ),
        charged("cache_write") * leaf(cache_write, ("cache_write_1h", cache_write_1h)),
        charged("output") * leaf(_tokens(table, "output_tokens"), ("reasoning", reasoning)),
        charged("per_request") * requests,
    ]
    for name, tokens in (
        ("cache_read", cache_read),
        ("cache_write_1h", cache_write_1h),
        ("reasoning", reasoning),
    ):
        if tokens is not None:
            terms.append(charged(name) * tokens)
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total.cast("float64")


_P = "_p_"
# Stand-ins for the schedule's open bounds, so that every join condition is a plain
# comparison between a usage expression and a schedule expression (engines then run a hash
# join on provider/model/variant instead of a nested loop, which outer joins with OR
# conditions would need).
_FAR_PAST = datetime(1900, 1, 1, tzinfo=UTC)  # Spark mishandles years before 1582
_FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
_NO_TIER_MAX = 2**62


def _time_of_day(ts: ir.TimestampValue, backend: str | None) -> tuple[ir.IntegerValue, int]:
    """(time since UTC midnight of a UTC timestamp, its units per second).

    On DuckDB in microseconds, from the epoch (timestamps after 1970): calendar functions
    on TIMESTAMPTZ go through ICU and cost about 40x more, which dominates pricing a large
    ledger. Elsewhere in whole seconds. Windows start and end on whole seconds, so both
    compare the same way.
    """
    if backend == "duckdb":
        return _epoch_us(ts) % _MICROS_PER_DAY, 1_000_000
    return (ts.hour() * 3600 + ts.minute() * 60 + ts.second()).cast("int64"), 1


@ibis.udf.scalar.builtin(
    name="epoch_us", signature=((ibis.dtype("timestamp('UTC')"),), ibis.dtype("int64"))
)
def _epoch_us(ts):  # type: ignore[no-untyped-def]
    """DuckDB's epoch_us: microseconds since 1970-01-01 UTC."""


def _backend_name(table: ibis.Table) -> str | None:
    try:
        return table._find_backend(use_default=True).name
    except Exception:  # an unbound expression: use the portable form
        return None


def coefficients(schedule: ibis.Table, prefix: str = "") -> dict[str, ir.FloatingValue]:
    """Per-token coefficients of a schedule row, so that for the row's usage

    ``cost = sum(coefficient[kind] * tokens[kind])``

    over input, cache_read, cache_write, cache_write_1h, output, reasoning tokens and
    requests. It is ``cost_expression`` rearranged: a kind with its own price pays that
    price minus the price of the kind it is a subset of (a cache read pays
    ``cache_read - input`` on top of the input price every input token pays), a kind
    without a price pays nothing extra. Computed once per schedule row, this leaves seven
    multiply-adds per usage row.
    """

    def price(name: str) -> ir.FloatingValue:
        return schedule[prefix + name]

    def charged(name: str) -> ir.FloatingValue:
        return _or(price(name), 0.0)

    def extra(name: str, parent: str) -> ir.FloatingValue:
        return ibis.ifelse(price(name).notnull(), price(name) - charged(parent), 0.0)

    return {
        "input": charged("input"),
        "cache_read": extra("cache_read", "input"),
        "cache_write": extra("cache_write", "input"),
        "cache_write_1h": extra("cache_write_1h", "cache_write"),
        "output": charged("output"),
        "reasoning": extra("reasoning", "output"),
        "per_request": charged("per_request"),
    }


def _or(value: ir.NumericValue, default: float) -> ir.NumericValue:
    """``value``, else ``default`` when it is null (or NaN: Spark reads a memtable's null
    floats as NaN, which ``coalesce`` keeps; Ibis' ``notnull`` tests both)."""
    return ibis.ifelse(value.notnull(), value, default)


_C = "_c_"
# usage column (with nulls as 0) per coefficient
_COEFFICIENT_TOKENS = {
    "input": "input_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write": "cache_write_tokens",
    "cache_write_1h": "cache_write_1h_tokens",
    "output": "output_tokens",
    "reasoning": "reasoning_tokens",
}


def _count(table: ibis.Table, name: str) -> ir.IntegerValue:
    """A count column, coalesced to 0 only when the column may hold nulls."""
    column = table[name]
    return column if not column.type().nullable else column.coalesce(0)


def _match_rows(
    usage: ibis.Table,
    schedule: ibis.Table,
    carried: dict[str, ir.Value],
    variant_column: str,
) -> ibis.Table:
    """Usage rows left-joined to the one schedule row that applies to each (see
    ``price_rows``), with ``carried`` schedule expressions (named) added."""
    tod, per_second = _time_of_day(usage["ts"], _backend_name(usage))
    tier_min = schedule["tier_min_input"]
    ts_type = schedule["valid_from"].type()
    s = schedule.select(
        **{
            _P + "provider": schedule["provider"],
            _P + "model": schedule["model"],
            _P + "variant": schedule["variant"],
            "_k_from": schedule["valid_from"].coalesce(ibis.literal(_FAR_PAST, type=ts_type)),
            "_k_to": schedule["valid_to"].coalesce(ibis.literal(_FAR_FUTURE, type=ts_type)),
            "_k_win_start": (_or(schedule["window_start"], 0) * per_second).cast("int64"),
            "_k_win_end": (_or(schedule["window_end"], SECONDS_PER_DAY) * per_second).cast("int64"),
            # the base tier also takes requests with 0 input tokens
            "_k_tier_lo": ibis.ifelse(tier_min == 0, -1, tier_min).cast("int64"),
            "_k_tier_hi": _or(schedule["tier_max_input"], _NO_TIER_MAX).cast("int64"),
            **carried,
        }
    )

    input_tokens = _count(usage, "input_tokens")
    # input tokens per request deciding the tier: exact for one request, else the mean
    # rounded up (mean > threshold <=> ceil(mean) > threshold for integer thresholds);
    # null or fewer than 2 requests count as one
    tier_input = input_tokens
    if "requests" in usage.columns:
        requests = usage["requests"]
        tier_input = ibis.ifelse(
            requests > 1, (input_tokens / requests).ceil().cast("int64"), input_tokens
        )
    u = usage.mutate(_tod=tod, _tier_input=tier_input.cast("int64"))

    if variant_column in usage.columns:
        wanted = u.mutate(_want=u[variant_column].coalesce(DEFAULT_VARIANT))
        available = s.select(
            _v_provider=s[_P + "provider"], _v_model=s[_P + "model"], _v_variant=s[_P + "variant"]
        ).distinct()
        joined = wanted.left_join(
            available,
            [
                wanted.price_provider.identical_to(available._v_provider),
                wanted.price_model == available._v_model,
                wanted._want == available._v_variant,
            ],
        )
        u = joined.select(
            *wanted.columns,
            _variant=ibis.ifelse(
                joined._v_variant.isnull(), ibis.literal(DEFAULT_VARIANT), joined._want
            ),
        ).drop("_want")
        variant_predicates = [u._variant == s[_P + "variant"]]
    else:
        s = s.filter(s[_P + "variant"] == DEFAULT_VARIANT)
        variant_predicates = []

    predicates = [
        u.price_provider.identical_to(s[_P + "provider"]),
        u.price_model == s[_P + "model"],
        *variant_predicates,
        s._k_from <= u.ts,
        u.ts < s._k_to,
        s._k_win_start <= u._tod,
        u._tod < s._k_win_end,
        s._k_tier_lo < u._tier_input,
        u._tier_input <= s._k_tier_hi,
    ]
    return u.left_join(s, predicates).select(*usage.columns, *carried)


def price_rows(
    usage: ibis.Table,
    schedule: ibis.Table,
    *,
    variant_column: str = "price_variant",
) -> ibis.Table:
    """Join usage rows to their schedule rows and add ``cost_computed`` (USD, float64).

    ``usage`` needs ``price_provider`` and ``price_model`` (schedule keys, e.g. from
    ``resolve_models``), ``ts`` (timestamp, UTC) and the token columns; ``requests`` and
    ``variant_column`` (e.g. ``"batch"``; null or a variant the model lacks means
    ``"default"``) are optional. ``price_provider`` matches null-safely (a schedule keyed
    by pairs with an unknown provider, `tokenstat.prices.book`). Every usage row is kept:
    those without a schedule row get a null ``cost_computed``. Returns the usage columns
    plus ``cost_computed``. The cost is ``cost_expression``'s, computed as
    ``coefficients`` times token counts.
    """
    carried = {_C + name: value for name, value in coefficients(schedule).items()}
    joined = _match_rows(usage, schedule, carried, variant_column)
    # coefficients are never null on a schedule row, so a row without one gets null here
    cost = joined[_C + "per_request"] * n_requests_of(joined)
    for name, column in _COEFFICIENT_TOKENS.items():
        if column in joined.columns:
            cost = cost + joined[_C + name] * _count(joined, column)
    return joined.select(*usage.columns, cost_computed=cost.cast("float64"))


SEGMENT = "segment"


def schedule_segments(
    usage: ibis.Table,
    schedule: ibis.Table,
    *,
    variant_column: str = "price_variant",
) -> ibis.Table:
    """``usage`` plus ``segment``: the id of the schedule row that prices each row (the
    schedule's own ``segment`` column, unique per row), null when none does.

    Cost is linear in the token counts on one schedule row, so summing tokens by segment
    and multiplying by the segment's ``coefficients`` afterwards (``segment_costs``) gives
    the cost of many rows with one small join instead of seven products per row.
    """
    return _match_rows(usage, schedule, {SEGMENT: schedule[SEGMENT]}, variant_column)


def price_segments(sums: ibis.Table, schedule: ibis.Table) -> ibis.Table:
    """``sums`` plus ``cost_computed`` (USD): rows of token sums per ``segment`` (from
    ``schedule_segments``), with the usage token column names and ``requests`` summed with
    null counted as 1; the cost is null where ``segment`` is null."""
    coefficient = schedule.select(
        _seg=schedule[SEGMENT],
        **{_C + name: value for name, value in coefficients(schedule).items()},
    )
    joined = sums.left_join(coefficient, sums[SEGMENT] == coefficient._seg)
    cost = joined[_C + "per_request"] * joined["requests"]
    for name, column in _COEFFICIENT_TOKENS.items():
        if column in sums.columns:
            cost = cost + joined[_C + name] * joined[column]
    return joined.select(*sums.columns, cost_computed=cost.cast("float64"))


def n_requests_of(table: ibis.Table) -> ir.IntegerValue:
    """Requests a usage row stands for in the per-request price (null counts as 1)."""
    if "requests" not in table.columns:
        return ibis.literal(1, "int64")
    return table["requests"].coalesce(1)
