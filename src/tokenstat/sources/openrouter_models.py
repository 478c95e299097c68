"""Importer for snapshots of OpenRouter's model list (``GET /api/v1/models``): prices at a
point in time.

This importer stores *price points*, not usage rows: ``tokenstat import openrouter-models
models-2026-04-05.json`` adds one point per model to the ledger's ``price_points`` table
(see `tokenstat.prices.points`), which the price schedule overlays on genai-prices' data
(`tokenstat.prices.book`). ``read`` yields no usage rows.

Input
    The JSON response body, ``{"data": [{"id": "deepseek/deepseek-v3.2", "pricing":
    {"prompt": "0.00000028", "completion": "0.00000042", ...}, "context_length": 163840,
    ...}, ...]}``, gzip-compressed or not. A bare JSON array of model objects is read too.

Snapshot date (the points' ``valid_from``, 00:00 UTC of that day), the first found of:
    1. the ``as_of`` import option (Python API);
    2. a top-level ``as_of``, ``fetched_at`` or ``date`` field of the body;
    3. a date in the file name: ``models-2026-04-05.json`` or ``models-20260405.json``;
    4. else the file's modification day (UTC), with a warning: right for a file just
       downloaded, wrong for one copied later, hence the warning.

Prices
    OpenRouter quotes USD per token as decimal strings. ``prompt`` -> input,
    ``completion`` -> output, ``input_cache_read`` -> cache read, ``input_cache_write`` ->
    cache write, ``input_cache_write_1h`` -> one-hour cache write, ``internal_reasoning``
    -> reasoning, ``request`` -> per request (USD per request). ``discount`` (a fraction,
    0 = none) multiplies every price by ``1 - discount``; the raw discount is kept.
    A cache or reasoning price of ``"0"`` on a model whose prompt or completion price is
    not 0 means "not priced separately" (OpenRouter writes ``"0"`` rather than leaving
    the key out), so those tokens are charged at the input or output rate. Image, audio
    and web-search prices are not part of a usage row and are not kept; neither are
    conditional ``overrides``.

Skipped without complaint (counted in one warning): ids with a variant suffix
(``:free``, ``:thinking``, ...), whose prices are those of a different offering, and models
with a variable price (``"-1"``, e.g. ``openrouter/auto``).

Bad input
    A model without an ``id`` or with a price that is not a non-negative decimal is
    reported as ``<path>:record <N>`` (N counts from 1 within ``data``) and skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa

from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext, Source, open_binary, parse_timestamp

SOURCE_NAME = "openrouter-models"
PROVIDER = "openrouter"

# OpenRouter pricing key -> price point column (USD per token; per request for "request")
PRICING_KEYS: dict[str, str] = {
    "prompt": "input",
    "input_cache_read": "cache_read",
    "input_cache_write": "cache_write",
    "input_cache_write_1h": "cache_write_1h",
    "completion": "output",
    "internal_reasoning": "reasoning",
    "request": "per_request",
}
# kinds whose "0" means "not priced separately" on a paid model
_ZERO_IS_ABSENT = ("cache_read", "cache_write", "cache_write_1h", "reasoning")
PRICE_COLUMNS = tuple(PRICING_KEYS.values())

SNAPSHOT_SCHEMA = pa.schema(
    [
        pa.field("model_raw", pa.string(), nullable=False),
        pa.field("valid_from", pa.timestamp("us", tz="UTC"), nullable=False),
        *(pa.field(column, pa.float64()) for column in PRICE_COLUMNS),
        pa.field("discount", pa.float64()),
        pa.field("context_length", pa.int64()),
        pa.field("name", pa.string()),
    ]
)

_DATE_IN_NAME = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
_DECIMAL = re.compile(r"\d+(\.\d*)?([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?")


def snapshot_date(
    path: Path,
    body: Any,
    options: dict[str, Any],
    warn: Callable[[str], None] = lambda message: None,
) -> date:
    """The day the snapshot's prices were published (see the module docstring)."""
    candidates: list[Any] = [options.get("as_of")]
    if isinstance(body, dict):
        candidates += [body.get(key) for key in ("as_of", "fetched_at", "date")]
    for value in candidates:
        if value in (None, ""):
            continue
        try:
            return parse_timestamp(value).date()
        except ValueError:
            raise ImportFormatError(
                f"not a date: {value!r}", location=str(path), field="as_of"
            ) from None
    match = _DATE_IN_NAME.search(path.name)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    day = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).date()
    warn(
        f"{path}: no snapshot date in the file or its name; prices taken as of the file's "
        f"modification day, {day.isoformat()} (name it models-YYYY-MM-DD.json to say when)"
    )
    return day


def _price(value: Any) -> float | None:
    """USD per token from OpenRouter's decimal string; None when absent; -1.0 when variable.

    Raises ValueError for anything else.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a price: {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if text in ("-1", "-1.0"):
            return -1.0
        if not _DECIMAL.fullmatch(text):
            raise ValueError(f"not a price: {value!r}")
        number = float(text)
    else:
        raise ValueError(f"not a price: {value!r}")
    if number == -1:
        return -1.0
    if number < 0 or number != number or number == float("inf"):
        raise ValueError(f"not a price: {value!r}")
    return number


def _models_of(path: Path, body: Any) -> list[Any]:
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return body["data"]
    raise ImportFormatError(
        "expected an /api/v1/models response: an object with a 'data' list", location=str(path)
    )


class OpenRouterModelsSource(Source):
    name = SOURCE_NAME
    description = "OpenRouter model list snapshot: prices at a point in time (price points)"
    reads = "JSON body of GET /api/v1/models; the snapshot date from the file name or as_of"
    # what the import pipeline stores from this source: price points, not usage rows
    stores: ClassVar[str] = "prices"
    # who charges these prices
    provider: ClassVar[str] = PROVIDER

    def detect(self, path: Path, head: bytes) -> bool:
        text = head.decode("utf-8", errors="replace")
        if '"pricing"' in text and '"prompt"' in text and '"completion"' in text:
            return True
        # a first model with a long description pushes its pricing out of the head
        return '"canonical_slug"' in text and '"context_length"' in text

    def read(self, path: Path, ctx: ReadContext) -> Iterator[pa.RecordBatch]:
        """No usage rows: see `read_price_points`."""
        return iter(())

    def read_price_points(self, path: Path, ctx: ReadContext) -> pa.Table:
        """One row per model of the snapshot (``SNAPSHOT_SCHEMA``), prices in USD per token."""
        with open_binary(path) as handle:
            raw = handle.read()
        ctx.on_progress(len(raw))
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ImportFormatError(f"not JSON: {exc}", location=str(path)) from None
        models = _models_of(path, body)
        day = snapshot_date(path, body, ctx.options, ctx.warn)
        valid_from = datetime(day.year, day.month, day.day, tzinfo=UTC)
        columns: dict[str, list[Any]] = {name: [] for name in SNAPSHOT_SCHEMA.names}
        seen: set[str] = set()
        skipped = 0
        for index, item in enumerate(models, 1):
            location = f"{path}:record {index}"
            if not isinstance(item, dict):
                ctx.bad(location, None, "a model entry is a JSON object", item)
                continue
            model_id = item.get("id")
            if not isinstance(model_id, str) or not model_id.strip():
                ctx.bad(location, "id", "missing model id", item)
                continue
            model_id = model_id.strip()
            if ":" in model_id:
                skipped += 1
                continue
            pricing = item.get("pricing")
            if not isinstance(pricing, dict):
                ctx.bad(location, "pricing", "missing pricing object", item)
                continue
            prices: dict[str, float | None] = {}
            try:
                for key, column in PRICING_KEYS.items():
                    prices[column] = _price(pricing.get(key))
                discount = _price(pricing.get("discount"))
            except ValueError as exc:
                bad_key = next(
                    (k for k in [*PRICING_KEYS, "discount"] if _bad(pricing.get(k))), None
                )
                ctx.bad(location, f"pricing.{bad_key}" if bad_key else "pricing", str(exc), item)
                continue
            if any(value == -1.0 for value in prices.values()):
                skipped += 1
                continue
            if prices["input"] is None and prices["output"] is None:
                ctx.bad(location, "pricing.prompt", "no prompt or completion price", item)
                continue
            if discount is not None and not 0 <= discount <= 1:
                ctx.bad(location, "pricing.discount", f"discount {discount} not in 0..1", item)
                continue
            if model_id in seen:
                ctx.bad(location, "id", f"model {model_id!r} listed twice; first kept", None)
                continue
            seen.add(model_id)
            paid = bool(prices["input"]) or bool(prices["output"])
            factor = 1.0 - (discount or 0.0)
            for column in PRICE_COLUMNS:
                value = prices[column]
                if value == 0 and paid and column in _ZERO_IS_ABSENT:
                    value = None
                columns[column].append(None if value is None else value * factor)
            columns["model_raw"].append(model_id)
            columns["valid_from"].append(valid_from)
            columns["discount"].append(discount)
            columns["context_length"].append(_context_length(item))
            name = item.get("name")
            columns["name"].append(name if isinstance(name, str) else None)
        if skipped:
            ctx.warn(
                f"{path}: {skipped} model(s) skipped: variant ids (':free', ...) or a "
                "variable price"
            )
        return pa.Table.from_pydict(columns, schema=SNAPSHOT_SCHEMA)


def _bad(value: Any) -> bool:
    try:
        _price(value)
    except ValueError:
        return True
    return False


def _context_length(item: dict[str, Any]) -> int | None:
    for value in (
        item.get("context_length"),
        (item.get("top_provider") or {}).get("context_length"),
    ):
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        if isinstance(value, float) and value.is_integer() and value > 0:
            return int(value)
    return None
