"""The price table of the market: models' prices as of a date, against a baseline model.

Prices are read from the price book (`tokenstat.prices.book`) for the model with the given
provider, or with no provider (the lab's first-party price, else OpenRouter's; see the
resolution order there), at 12:00 UTC of the ``as_of`` day, base tier (requests below
every tier threshold). All prices are USD per million tokens.

Definitions (the design brief's):

- ratio = price(model) / price(baseline), per token kind; a fraction in JSON (0.0076 is
  0.76%); null when the baseline has no price of that kind or it is 0;
- saving = 1 - ratio;
- blended price for an input:output mix ``i:o`` = (i * input + o * output) / (i + o).

``cache_read_per_mtok`` is what a cache-read token costs: the cache-read price, else the
input price (genai-prices charges cache reads at the input rate when a model lists no
cache price); ``cache_read_listed`` says which.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from tokenstat.catalog import Catalog
from tokenstat.errors import QueryError
from tokenstat.prices.book import PriceBook, PricePoint, noon
from tokenstat.prices.cost import price_sources

DEFAULT_MIX = (3.0, 1.0)
OPEN_WEIGHTS = ("open", "closed", "unknown")
_MIX = re.compile(r"\s*(\d+(?:\.\d+)?)\s*:\s*(\d+(?:\.\d+)?)\s*")


def parse_mix(text: str | None) -> tuple[float, float]:
    """``"3:1"`` -> (3.0, 1.0): input and output weights of a blended price."""
    if not text:
        return DEFAULT_MIX
    match = _MIX.fullmatch(text)
    if not match or float(match[1]) + float(match[2]) <= 0:
        raise QueryError(f"--mix takes INPUT:OUTPUT weights such as 3:1, not {text!r}")
    return float(match[1]), float(match[2])


def mix_label(mix: tuple[float, float]) -> str:
    return ":".join(f"{w:g}" for w in mix)


def per_mtok(value: float | None) -> float | None:
    """USD per token -> USD per million tokens (rounded off float noise)."""
    return None if value is None else round(value * 1e6, 10)


def blended(prices: dict[str, float | None], mix: tuple[float, float]) -> float | None:
    """Blended USD per million tokens for an input:output mix (null if a kind is missing)."""
    if prices.get("input") is None or prices.get("output") is None:
        return None
    weight_in, weight_out = mix
    value = (weight_in * prices["input"] + weight_out * prices["output"]) / (weight_in + weight_out)
    return per_mtok(value)


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return value / base


def _per_mtok_prices(point: PricePoint) -> dict[str, Any]:
    prices = point.prices
    cache_read = prices["cache_read"] if prices["cache_read"] is not None else prices["input"]
    return {
        "input_per_mtok": per_mtok(prices["input"]),
        "output_per_mtok": per_mtok(prices["output"]),
        "cache_read_per_mtok": per_mtok(cache_read),
        "cache_read_listed": prices["cache_read"] is not None,
    }


def select_models(
    book: PriceBook,
    catalog: Catalog,
    *,
    models: Sequence[str] | None = None,
    author: str | None = None,
    country: str | None = None,
    open_weights: str | None = None,
) -> list[str]:
    """Canonical ids: the ``models`` named (resolved through the catalog, order kept),
    else every model the book knows (catalog, snapshots, user file), filtered by author,
    author country (ISO code) and open-weights class (open, closed, unknown)."""
    if open_weights is not None and open_weights not in OPEN_WEIGHTS:
        raise QueryError(
            f"--open-weights takes one of {', '.join(OPEN_WEIGHTS)}, not {open_weights!r}"
        )
    if models:
        chosen = list(dict.fromkeys(catalog.resolve(m.strip()) for m in models if m.strip()))
    else:
        chosen = [m for m in book.models() if m != "other"]
    wanted_author = None
    if author:
        wanted_author = catalog.canonical_author(author) or author.strip().lower()
    out = []
    for model in chosen:
        attribution = catalog.attribute(model)
        if wanted_author and attribution.author != wanted_author:
            continue
        if country and attribution.origin != country.strip().upper():
            continue
        if open_weights and attribution.open_weights != open_weights:
            continue
        out.append(model)
    return out


def split_models(text: str | None) -> list[str]:
    """``"a,b, c"`` -> ["a", "b", "c"] (a repeated option may also be passed)."""
    if not text:
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


def price_table(
    book: PriceBook,
    catalog: Catalog,
    *,
    models: Sequence[str] | None = None,
    author: str | None = None,
    country: str | None = None,
    open_weights: str | None = None,
    provider: str | None = None,
    baseline: str | None = None,
    as_of: date,
    mix: tuple[float, float] = DEFAULT_MIX,
    min_context: int | None = None,
    sort: str | None = None,
) -> dict[str, Any]:
    """Prices per model as of a day, with ratios to the baseline (see the module docstring).

    Rows keep the order of ``models`` when given, else are sorted by blended price (then
    model); ``sort="blended"`` forces the latter. Models with no price that day are listed
    in ``unpriced``.
    """
    when = noon(as_of)
    base_point = None
    base_model = None
    if baseline:
        base_model = catalog.resolve(baseline.strip())
        base_point = book.price_at(provider, base_model, when)
        if base_point is None:
            raise QueryError(
                f"no price for the baseline {base_model} as of {as_of.isoformat()}; "
                "pick another baseline or add it to a price file (--file)"
            )
    chosen = select_models(
        book, catalog, models=models, author=author, country=country, open_weights=open_weights
    )
    if not chosen:
        raise QueryError("no model matches this selection; see: tokenstat catalog models")
    base = base_point.prices if base_point else {}
    base_cache = base.get("cache_read") if base.get("cache_read") is not None else base.get("input")
    base_blended = blended(base, mix) if base_point else None
    rows: list[dict[str, Any]] = []
    unpriced: list[str] = []
    too_short: list[str] = []
    for model in chosen:
        point = book.price_at(provider, model, when)
        if point is None:
            unpriced.append(model)
            continue
        context = book.context_length(model)
        if min_context and (context is None or context < min_context):
            too_short.append(model)
            continue
        attribution = catalog.attribute(model)
        prices = point.prices
        cache_read = prices["cache_read"] if prices["cache_read"] is not None else prices["input"]
        value = blended(prices, mix)
        row = {
            "model": model,
            "author": attribution.author,
            "origin": attribution.origin,
            "open_weights": attribution.open_weights,
            "provider": point.key.provider,
            "priced_as": point.key.label(),
            "basis": point.basis,
            **_per_mtok_prices(point),
            "input_ratio": _ratio(prices["input"], base.get("input")),
            "output_ratio": _ratio(prices["output"], base.get("output")),
            "cache_read_ratio": _ratio(cache_read, base_cache),
            "blended_per_mtok": value,
            "blended_ratio": _ratio(value, base_blended),
            "context_length": context,
        }
        rows.append(row)
    if not models or sort == "blended":
        rows.sort(
            key=lambda r: (
                r["blended_per_mtok"] is None,
                r["blended_per_mtok"] or 0.0,
                r["model"],
            )
        )
    return {
        "baseline": base_model,
        "baseline_prices": (
            {
                "provider": base_point.key.provider,
                "priced_as": base_point.key.label(),
                **_per_mtok_prices(base_point),
                "blended_per_mtok": base_blended,
            }
            if base_point
            else None
        ),
        "as_of": as_of.isoformat(),
        "mix": mix_label(mix),
        "provider": provider,
        "rows": rows,
        "unpriced": unpriced,
        "below_min_context": too_short,
        "min_context": min_context,
        "prices": price_sources(book),
    }


def cheapest(
    book: PriceBook,
    catalog: Catalog,
    count: int,
    *,
    as_of: date,
    mix: tuple[float, float],
    author: str | None = None,
    country: str | None = None,
    open_weights: str | None = None,
    provider: str | None = None,
    min_context: int | None = None,
) -> list[str]:
    """The ``count`` models with the lowest blended price (above 0) as of a day, among those
    the selection allows; models of unknown context length are left out when ``min_context``
    is given."""
    if count < 1:
        raise QueryError("--cheapest must be at least 1")
    table = price_table(
        book,
        catalog,
        author=author,
        country=country,
        open_weights=open_weights,
        provider=provider,
        as_of=as_of,
        mix=mix,
        min_context=min_context,
        sort="blended",
    )
    paid = [r["model"] for r in table["rows"] if r["blended_per_mtok"]]
    return paid[:count]
