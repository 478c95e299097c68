"""The user price file: negotiated rates and private models, which win over every other price.

Location: the file given with ``--prices-file`` (or ``--file`` on ``tokenstat prices``),
else ``$TOKENSTAT_PRICES``, else ``prices.yaml`` in the user config directory when present.

Format (YAML)::

    prices:
      - model: deepseek/deepseek-v3.2   # canonical id, or any string the catalog resolves
        provider: deepseek              # optional: only usage served by this provider
        valid_from: 2026-01-01          # optional: UTC date, inclusive
        valid_to: 2026-07-01            # optional: UTC date, exclusive
        input_per_mtok: 0.20            # USD per million tokens
        output_per_mtok: 0.30
        cache_read_per_mtok: 0.02       # optional
        cache_write_per_mtok: 0.25      # optional
        reasoning_per_mtok: 0.30        # optional (else reasoning is charged as output)
        per_request: 0.0                # optional: USD per request
        context_length: 131072          # optional: tokens, for whatif --min-context

or CSV with the same column names (one price per line, empty cells for absent values).

Rules: ``model`` and at least one of ``input_per_mtok`` / ``output_per_mtok`` are required;
prices are non-negative numbers; an entry without ``provider`` applies to the model
whoever serves it (a provider given compares with the ledger's ``provider`` exactly, case
aside). Validity bounds are UTC dates (prices change at midnight UTC, as in genai-prices).
Kinds left out follow genai-prices' rule: cache tokens are charged at the input price and
reasoning tokens at the output price. Tiers and time-of-day prices cannot be expressed.
Two entries for the same model and provider must not overlap in time.
"""

from __future__ import annotations

import csv
import itertools
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from tokenstat.catalog import Catalog
from tokenstat.errors import TokenstatError
from tokenstat.paths import default_price_file

USER_SOURCE = "user"

# file field -> (price point column, units per price: 1e6 tokens, or 1 request)
FIELDS: dict[str, tuple[str, float]] = {
    "input_per_mtok": ("input", 1e6),
    "cache_read_per_mtok": ("cache_read", 1e6),
    "cache_write_per_mtok": ("cache_write", 1e6),
    "output_per_mtok": ("output", 1e6),
    "reasoning_per_mtok": ("reasoning", 1e6),
    "per_request": ("per_request", 1.0),
}
KNOWN_FIELDS = ("model", "provider", "valid_from", "valid_to", "context_length", *FIELDS)

USER_POINTS_SCHEMA = pa.schema(
    [
        pa.field("provider", pa.string()),  # null: any provider
        pa.field("model", pa.string(), nullable=False),
        pa.field("valid_from", pa.timestamp("us", tz="UTC")),
        pa.field("valid_to", pa.timestamp("us", tz="UTC")),
        pa.field("input", pa.float64()),
        pa.field("cache_read", pa.float64()),
        pa.field("cache_write", pa.float64()),
        pa.field("output", pa.float64()),
        pa.field("reasoning", pa.float64()),
        pa.field("per_request", pa.float64()),
        pa.field("context_length", pa.int64()),
    ]
)


class PriceFileError(TokenstatError, ValueError):
    """The user price file cannot be read or has an invalid entry."""


def find_price_file(path: Path | None) -> Path | None:
    """The price file to use: the one given (must exist), else the default when present."""
    if path is not None:
        if not path.exists():
            raise PriceFileError(f"{path}: price file not found")
        return path
    default = default_price_file()
    return default if default.is_file() else None


def _entries(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(location, raw entry) pairs from a YAML or CSV price file."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceFileError(f"{path}: cannot read price file: {exc}") from None
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or "model" not in [f.strip() for f in reader.fieldnames]:
            raise PriceFileError(f"{path}:1: a CSV price file needs a 'model' column")
        return [
            (
                f"{path}:{n}",
                {k.strip(): (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k},
            )
            for n, row in enumerate(reader, 2)
        ]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PriceFileError(f"{path}: not YAML: {exc}".splitlines()[0]) from None
    if data is None:
        return []
    items = data.get("prices") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise PriceFileError(f"{path}: a price file is a mapping with a 'prices' list")
    return [(f"{path}: prices entry {n}", item) for n, item in enumerate(items, 1)]


def _number(location: str, name: str, value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise PriceFileError(f"{location}: field {name!r}: not a number: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PriceFileError(f"{location}: field {name!r}: not a number: {value!r}") from None
    if not number >= 0 or number == float("inf"):
        raise PriceFileError(f"{location}: field {name!r}: must be a non-negative number")
    return number


def _day(location: str, name: str, value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        raise PriceFileError(f"{location}: field {name!r}: give a date (YYYY-MM-DD), not a time")
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value).strip())
        except ValueError:
            raise PriceFileError(
                f"{location}: field {name!r}: not a date (YYYY-MM-DD): {value!r}"
            ) from None
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def load_price_file(path: Path, catalog: Catalog) -> pa.Table:
    """The user's price entries (``USER_POINTS_SCHEMA``), prices in USD per token.

    Raises PriceFileError naming the file, the entry and the field of the first problem.
    """
    rows: list[dict[str, Any]] = []
    for location, item in _entries(path):
        if not isinstance(item, dict):
            raise PriceFileError(f"{location}: an entry is a mapping of fields")
        unknown = sorted(k for k in item if k not in KNOWN_FIELDS)
        if unknown:
            raise PriceFileError(
                f"{location}: unknown field(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(KNOWN_FIELDS)}"
            )
        model_text = str(item.get("model") or "").strip()
        if not model_text:
            raise PriceFileError(f"{location}: field 'model' is required")
        row: dict[str, Any] = {
            "model": catalog.resolve(model_text),
            "provider": (str(item["provider"]).strip().lower() or None)
            if item.get("provider") not in (None, "")
            else None,
            "valid_from": _day(location, "valid_from", item.get("valid_from")),
            "valid_to": _day(location, "valid_to", item.get("valid_to")),
        }
        for name, (column, per) in FIELDS.items():
            value = _number(location, name, item.get(name))
            row[column] = None if value is None else value / per
        if row["input"] is None and row["output"] is None:
            raise PriceFileError(
                f"{location}: give at least one of 'input_per_mtok' and 'output_per_mtok'"
            )
        if row["valid_from"] and row["valid_to"] and row["valid_from"] >= row["valid_to"]:
            raise PriceFileError(f"{location}: 'valid_to' must be after 'valid_from'")
        context = _number(location, "context_length", item.get("context_length"))
        row["context_length"] = None if context is None else int(context)
        row["location"] = location
        rows.append(row)
    _check_overlaps(rows)
    for row in rows:
        del row["location"]
    return pa.Table.from_pylist(rows, schema=USER_POINTS_SCHEMA)


_MIN = datetime(1, 1, 1, tzinfo=UTC)
_MAX = datetime(9999, 12, 31, tzinfo=UTC)


def _check_overlaps(rows: list[dict[str, Any]]) -> None:
    by_key: dict[tuple[str | None, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_key.setdefault((row["provider"], row["model"]), []).append(row)
    for entries in by_key.values():
        entries.sort(key=lambda r: r["valid_from"] or _MIN)
        for earlier, later in itertools.pairwise(entries):
            if (later["valid_from"] or _MIN) < (earlier["valid_to"] or _MAX):
                raise PriceFileError(
                    f"{later['location']}: overlaps {earlier['location']} "
                    f"(same model and provider); give valid_from/valid_to"
                )


def load_user_prices(path: Path | None, catalog: Catalog) -> tuple[pa.Table, Path | None]:
    """(entries, the file read) for ``path`` or the default file; empty when there is none."""
    found = find_price_file(path)
    if found is None:
        return USER_POINTS_SCHEMA.empty_table(), None
    return load_price_file(found, catalog), found
