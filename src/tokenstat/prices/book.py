"""The price book: which price applies to a (provider, model) of the ledger, at any time.

Three layers of prices, each a set of schedule rows (the layout of
`tokenstat.prices.schedule.SCHEDULE_SCHEMA`) under its own keys:

``user``
    The user price file (`tokenstat.prices.overrides`), keyed by (provider or any, model).
``openrouter-models`` (and any other price-point source)
    Points from imported price-list snapshots (`tokenstat.prices.points`): a point is
    valid from its snapshot day until the next snapshot listing the same model.
``genai-prices``
    The schedule built from the genai-prices package (standard prices, the ``default``
    variant: usage rows carry no batch/flex context).

Resolution order
----------------
For a ledger row with canonical model ``m`` (an OpenRouter slug, ``author/name``) and
provider ``p`` (null when the source does not say), the candidates are, in order:

1. the user file's entry for (``p``, ``m``), then its entry for ``m`` with no provider;
2. when ``p`` is known: ``p``'s own price, i.e. the snapshot points when ``p`` is
   ``openrouter``, then genai-prices matched with ``p`` as the provider (genai-prices'
   match rules, tried with ``m`` and with the name after the author, ``name``);
3. the author's first-party price: genai-prices' provider of the author (``FIRST_PARTY``:
   ``deepseek`` -> ``deepseek``, ``z-ai`` -> ``zai``, ...) matched with ``name``;
4. OpenRouter's price: the snapshot points for ``m``, then genai-prices' ``openrouter``
   provider, which lists models by the same slugs;
5. for a model string without an author (the catalog could not resolve it): genai-prices'
   own inference of the provider from the string. Never for a model with an author: a
   name match across labs prices a fine-tune (``tngtech/deepseek-r1t-chimera``) as the
   model it was derived from.

A row takes its price from the first candidate that has a price AT THE ROW'S TIME: a user
entry valid from March prices March onwards, and earlier rows fall through to the next
candidate. This is built once per distinct (provider, model) pair as a *composite*
schedule keyed by the pair itself (`PriceBook.schedule_for`), so pricing a ledger is a
single join (`tokenstat.prices.schedule.price_rows`). A pair without any candidate, or a
row at a time no candidate covers, is unpriced (never priced at 0).

Step 3 makes a provider-less row (most market data, many logs) cost what the lab charges
on its own API; when the lab has no API price in genai-prices (Qwen, StepFun, ...),
OpenRouter's price stands in. Step 2 falling through to 3 means a row served by a provider
genai-prices does not price (a private gateway, a small host) is priced at the lab's rate:
the cost report lists, per (provider, model), which candidate priced it (``basis``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
from genai_prices import data_snapshot

from tokenstat.catalog import Catalog
from tokenstat.prices.overrides import USER_POINTS_SCHEMA, USER_SOURCE, load_user_prices
from tokenstat.prices.points import load_points, snapshot_summary
from tokenstat.prices.schedule import (
    DEFAULT_VARIANT,
    PRICE_COLUMNS,
    SCHEDULE_SCHEMA,
    build_schedule,
    engine_safe,
    match_model,
)

GENAI_SOURCE = "genai-prices"
OPENROUTER = "openrouter"

# Catalog author slug -> the genai-prices provider that is the lab's own API.
FIRST_PARTY: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "google",
    "meta-llama": "meta",
    "mistralai": "mistral",
    "x-ai": "x-ai",
    "cohere": "cohere",
    "amazon": "aws",
    "deepseek": "deepseek",
    "moonshotai": "moonshotai",
    "z-ai": "zai",
    "minimax": "minimax",
    "perplexity": "perplexity",
    "arcee-ai": "arcee",
}

# How a candidate relates to the row it prices (shown by the cost report).
BASIS_USER = "user file"
BASIS_PROVIDER = "provider"
BASIS_FIRST_PARTY = "first-party"
BASIS_OPENROUTER = "openrouter"
BASIS_NAME = "name match"

COMPOSITE_SCHEMA = pa.schema(
    [
        pa.field("provider", pa.string()),
        *(f for f in SCHEDULE_SCHEMA if f.name != "provider"),
        pa.field("price_source", pa.string()),
        pa.field("price_provider_id", pa.string()),
        pa.field("price_model_id", pa.string()),
        pa.field("basis", pa.string()),
        pa.field("segment", pa.int64(), nullable=False),  # the row's id
    ]
)

_MIN = -(2**62)
_MAX = 2**62
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(value: datetime | None, default: int) -> int:
    if value is None:
        return default
    return (value - _EPOCH) // timedelta(microseconds=1)


def _instant(value: int) -> datetime | None:
    if value in (_MIN, _MAX):
        return None
    return _EPOCH + timedelta(microseconds=value)


@dataclass(frozen=True)
class PriceKey:
    """One set of schedule rows in one layer."""

    source: str  # "user", a price-point source name, or "genai-prices"
    provider: str | None  # the provider id within that source (user: null = any)
    model: str  # the model id within that source

    def label(self) -> str:
        """How a report names it: ``deepseek/deepseek-v3.2 (genai-prices)``."""
        who = f"{self.provider}/" if self.provider and self.source != USER_SOURCE else ""
        where = "user file" if self.source == USER_SOURCE else self.source
        if self.source == USER_SOURCE and self.provider:
            where += f", provider {self.provider}"
        return f"{who}{self.model} ({where})"


@dataclass
class PricePoint:
    """Prices of one model at one instant (base tier), USD per token / per request."""

    key: PriceKey
    basis: str
    prices: dict[str, float | None]


@dataclass
class PriceBook:
    """All price layers, and the resolution of (provider, model) pairs to composite rows."""

    catalog: Catalog
    schedule: pa.Table = field(default_factory=build_schedule)
    points: pa.Table | None = None  # tokenstat.prices.points.POINTS_SCHEMA
    user: pa.Table | None = None  # tokenstat.prices.overrides.USER_POINTS_SCHEMA
    user_file: Path | None = None

    def __post_init__(self) -> None:
        self._rows: dict[PriceKey, list[dict[str, Any]]] = {}
        self._context: dict[PriceKey, int] = {}
        self._index_genai()
        self._index_points()
        self._index_user()
        self._chains: dict[tuple[str | None, str], list[tuple[PriceKey, str]]] = {}

    # ---- loading -------------------------------------------------------------------------
    @classmethod
    def load(
        cls, catalog: Catalog, ledger: Any = None, price_file: Path | None = None
    ) -> PriceBook:
        """The book for a ledger (its price points) and the user price file (the given one,
        else the default file when present)."""
        user, found = load_user_prices(price_file, catalog)
        return cls(catalog=catalog, points=load_points(ledger), user=user, user_file=found)

    def _add(self, key: PriceKey, row: dict[str, Any]) -> None:
        self._rows.setdefault(key, []).append(row)

    def _index_genai(self) -> None:
        table = self.schedule
        names = [n for n in SCHEDULE_SCHEMA.names if n not in ("provider", "model")]
        providers = table["provider"].to_pylist()
        models = table["model"].to_pylist()
        variants = table["variant"].to_pylist()
        columns = {n: table[n].to_pylist() for n in names}
        for i, variant in enumerate(variants):
            if variant != DEFAULT_VARIANT:
                continue
            row = {n: columns[n][i] for n in names}
            self._add(PriceKey(GENAI_SOURCE, providers[i], models[i]), row)
        for provider, model, window in _genai_context_windows():
            self._context.setdefault(PriceKey(GENAI_SOURCE, provider, model), window)

    def _index_points(self) -> None:
        if self.points is None or self.points.num_rows == 0:
            return
        by_key: dict[PriceKey, list[dict[str, Any]]] = {}
        for point in self.points.to_pylist():
            key = PriceKey(point["source"], point["provider"], point["model"])
            by_key.setdefault(key, []).append(point)
        for key, points in by_key.items():
            points.sort(key=lambda p: p["valid_from"])
            for point, following in zip(points, [*points[1:], None], strict=True):
                self._add(
                    key,
                    _flat_row(point, point["valid_from"], following and following["valid_from"]),
                )
            if points[-1]["context_length"]:
                self._context[key] = points[-1]["context_length"]

    def _index_user(self) -> None:
        if self.user is None or self.user.num_rows == 0:
            return
        for entry in self.user.to_pylist():
            key = PriceKey(USER_SOURCE, entry["provider"], entry["model"])
            self._add(key, _flat_row(entry, entry["valid_from"], entry["valid_to"]))
            if entry["context_length"]:
                self._context[key] = entry["context_length"]

    # ---- resolution --------------------------------------------------------------------
    def has(self, key: PriceKey) -> bool:
        return key in self._rows

    def _genai(self, provider: str | None, *refs: str) -> PriceKey | None:
        for ref in refs:
            found = _match(provider, ref)
            if found is not None:
                key = PriceKey(GENAI_SOURCE, found[0], found[1])
                if key in self._rows:
                    return key
        return None

    def chain(self, provider: str | None, model: str) -> list[tuple[PriceKey, str]]:
        """Candidates for a (provider, model) pair, in order, each with its basis (see the
        module docstring)."""
        p = provider.strip().lower() if provider and provider.strip() else None
        cached = self._chains.get((p, model))
        if cached is not None:
            return cached
        stored = model
        # a model id as stored in an older ledger resolves to today's canonical id
        model = self.catalog.resolve(model)
        name = model.split("/", 1)[1] if "/" in model else model
        candidates: list[tuple[PriceKey | None, str]] = []
        if p:
            candidates.append((PriceKey(USER_SOURCE, p, model), BASIS_USER))
        candidates.append((PriceKey(USER_SOURCE, None, model), BASIS_USER))
        if p:
            candidates += [(key, BASIS_PROVIDER) for key in self._point_keys(p, model)]
            candidates.append((self._genai(p, model, name), BASIS_PROVIDER))
        author = self.catalog.attribute(model).author
        first_party = FIRST_PARTY.get(author)
        if first_party:
            candidates.append((self._genai(first_party, name, model), BASIS_FIRST_PARTY))
        candidates += [(key, BASIS_OPENROUTER) for key in self._point_keys(OPENROUTER, model)]
        candidates.append((self._genai(OPENROUTER, model), BASIS_OPENROUTER))
        if "/" not in model:
            candidates.append((self._genai(None, model), BASIS_NAME))
        out: list[tuple[PriceKey, str]] = []
        for key, basis in candidates:
            if key is not None and key in self._rows and all(key != k for k, _ in out):
                out.append((key, basis))
        self._chains[(p, stored)] = out
        return out

    def _point_keys(self, provider: str, model: str) -> list[PriceKey]:
        return sorted(
            (
                key
                for key in self._rows
                if key.source not in (USER_SOURCE, GENAI_SOURCE)
                and key.provider == provider
                and key.model == model
            ),
            key=lambda k: k.source,
        )

    def composite_rows(self, provider: str | None, model: str) -> list[dict[str, Any]]:
        """Schedule rows of the pair: each candidate's rows clipped to the times no earlier
        candidate covers (``COMPOSITE_SCHEMA`` as dicts)."""
        covered: list[tuple[int, int]] = []
        out: list[dict[str, Any]] = []
        for key, basis in self.chain(provider, model):
            rows = self._rows[key]
            spans = []
            for row in rows:
                lo = _micros(row["valid_from"], _MIN)
                hi = _micros(row["valid_to"], _MAX)
                spans.append((lo, hi))
                for piece_lo, piece_hi in _subtract((lo, hi), covered):
                    out.append(
                        {
                            **row,
                            "provider": provider,
                            "model": model,
                            "valid_from": _instant(piece_lo),
                            "valid_to": _instant(piece_hi),
                            "price_source": key.source,
                            "price_provider_id": key.provider,
                            "price_model_id": key.model,
                            "basis": basis,
                        }
                    )
            covered = _union(covered + spans)
            if covered == [(_MIN, _MAX)]:
                break
        return out

    def schedule_for(self, pairs: Iterable[tuple[str | None, str]]) -> pa.Table:
        """The composite schedule of the given (provider, model) pairs (``COMPOSITE_SCHEMA``),
        keyed by the pairs themselves: join usage rows on provider (null-safe) and model."""
        keys: dict[tuple[str | None, str], None] = {}
        for provider, model in pairs:
            if model is None:
                continue
            keys[(provider, model)] = None
            # reports re-resolve stored model ids: key the canonical id too
            keys[(provider, self.catalog.resolve(model))] = None
        rows: list[dict[str, Any]] = []
        for provider, model in keys:
            rows += self.composite_rows(provider, model)
        for index, row in enumerate(rows):
            row["segment"] = index
        return pa.Table.from_pylist(rows, schema=COMPOSITE_SCHEMA)

    def memtable_for(self, pairs: Iterable[tuple[str | None, str]]) -> ibis.Table:
        """`schedule_for` as an Ibis memtable, for `tokenstat.prices.schedule.price_rows`."""
        return ibis.memtable(engine_safe(self.schedule_for(pairs)))

    # ---- single prices ------------------------------------------------------------------
    def price_at(self, provider: str | None, model: str, when: datetime) -> PricePoint | None:
        """The base-tier prices of (provider, model) at ``when`` (UTC), or None."""
        at = _micros(when, 0)
        second = (at // 1_000_000) % 86_400
        for row in self.composite_rows(provider, model):
            if row["tier_min_input"] != 0:
                continue
            if not _micros(row["valid_from"], _MIN) <= at < _micros(row["valid_to"], _MAX):
                continue
            start = row["window_start"] if row["window_start"] is not None else 0
            end = row["window_end"] if row["window_end"] is not None else 86_400
            if not start <= second < end:
                continue
            key = PriceKey(row["price_source"], row["price_provider_id"], row["price_model_id"])
            return PricePoint(key, row["basis"], {c: row[c] for c in PRICE_COLUMNS})
        return None

    def context_length(self, model: str) -> int | None:
        """Context window in tokens: the user file, else the latest OpenRouter snapshot, else
        genai-prices' ``context_window`` of the model's first-party or OpenRouter entry."""
        for key, _ in self.chain(None, model):
            if key.source == USER_SOURCE and key in self._context:
                return self._context[key]
        for key in self._point_keys(OPENROUTER, model):
            if key in self._context:
                return self._context[key]
        for key, _ in self.chain(None, model):
            if key in self._context:
                return self._context[key]
        return None

    def models(self) -> list[str]:
        """Models a market selection chooses from: the catalog's, the snapshots' and the
        user file's (canonical ids)."""
        names = set(self.catalog.models)
        names |= {key.model for key in self._rows if key.source != GENAI_SOURCE}
        return sorted(names)

    def snapshot_days(self) -> list[dict[str, Any]]:
        """Per price-point source and snapshot day: how many models (report footers)."""
        return snapshot_summary(self.points) if self.points is not None else []


def _flat_row(point: dict[str, Any], valid_from: Any, valid_to: Any) -> dict[str, Any]:
    """A schedule row (no tiers, no windows) from a price point or a user entry."""
    return {
        "variant": DEFAULT_VARIANT,
        "variant_context": None,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "window_start": None,
        "window_end": None,
        "tier_min_input": 0,
        "tier_max_input": None,
        **{column: point.get(column) for column in PRICE_COLUMNS},
        "other_price_keys": None,
    }


def _union(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _subtract(span: tuple[int, int], covered: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Pieces of ``span`` outside the (sorted, disjoint) ``covered`` spans."""
    lo, hi = span
    pieces = []
    for c_lo, c_hi in covered:
        if c_hi <= lo or c_lo >= hi:
            continue
        if c_lo > lo:
            pieces.append((lo, c_lo))
        lo = max(lo, c_hi)
        if lo >= hi:
            break
    if lo < hi:
        pieces.append((lo, hi))
    return pieces


@cache
def _match(provider: str | None, model_ref: str) -> tuple[str, str] | None:
    return match_model(provider, model_ref)


@cache
def _genai_context_windows() -> tuple[tuple[str, str, int], ...]:
    return tuple(
        (provider.id, model.id, model.context_window)
        for provider in data_snapshot.get_snapshot().providers
        for model in provider.models
        if model.context_window
    )


def noon(day: date) -> datetime:
    """12:00 UTC of a day: the instant a day's list price is read at (clear of the
    off-peak windows some providers price at night)."""
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


__all__ = [
    "COMPOSITE_SCHEMA",
    "FIRST_PARTY",
    "GENAI_SOURCE",
    "USER_POINTS_SCHEMA",
    "PriceBook",
    "PriceKey",
    "PricePoint",
    "noon",
]
