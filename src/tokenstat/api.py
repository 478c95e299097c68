"""The Python API: the operations of the CLI as functions.

from tokenstat import api
with api.open_ledger("ledger.duckdb") as ledger:
    api.import_path(ledger, "market", ["weekly.csv"])
    print(api.summary(ledger, by="origin", grain="week"))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenstat.catalog import Catalog, load_catalog
from tokenstat.errors import ImportFormatError
from tokenstat.importing import Progress, import_files
from tokenstat.ledger import ImportResult, Ledger
from tokenstat.metrics import reports
from tokenstat.metrics.facts import attribution
from tokenstat.metrics.reports import Dataset, Selection
from tokenstat.prices.points import import_price_files, stores_prices
from tokenstat.sources.registry import detect_source, get_source

if TYPE_CHECKING:
    from tokenstat.prices.book import PriceBook
    from tokenstat.prices.cost import CostInputs


def open_ledger(path: Path | str | None = None, *, read_only: bool = False) -> Ledger:
    return Ledger.open(path, read_only=read_only)


def dataset(ledger: Ledger, catalog: Catalog | None = None) -> Dataset:
    """Reports' view of a ledger, with attribution from ``catalog`` (default: shipped +
    the user's catalog file)."""
    catalog = catalog or load_catalog()
    attributed = attribution(catalog, ledger.models_in_use(), ledger.model_overrides())
    return Dataset(
        daily=ledger.daily(),
        usage=ledger.usage(),
        attributed=attributed,
        sources=ledger.sources(),
        dims=ledger.dims(),
    )


def import_path(
    ledger: Ledger,
    source: str,
    paths: Sequence[Path | str],
    *,
    catalog: Catalog | None = None,
    strict: bool = False,
    options: dict | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import files with the importer named ``source`` (``auto``: detect per file)."""
    files = [Path(p) for p in paths]
    catalog = catalog or load_catalog()
    if source == "auto":
        if not files:
            raise ImportFormatError("import auto needs a PATH to detect the format from")
        importer = detect_source(files[0])
    else:
        importer = get_source(source)
    if not files:
        files = importer.discover()
        if not files:
            raise ImportFormatError(
                f"no PATH given and {importer.name} has no default location; "
                f"usage: tokenstat import {importer.name} PATH"
            )
    if stores_prices(importer):
        return import_price_files(
            ledger, importer, files, catalog=catalog, strict=strict, options=options
        )
    return import_files(
        ledger, importer, files, catalog=catalog, strict=strict, options=options, progress=progress
    )


def price_book(
    ledger: Ledger | None = None,
    catalog: Catalog | None = None,
    price_file: Path | str | None = None,
) -> PriceBook:
    """The prices in force: genai-prices, the ledger's snapshot points and the user price
    file (the given one, else ``$TOKENSTAT_PRICES`` or the default file when present)."""
    from tokenstat.prices.book import PriceBook

    return PriceBook.load(
        catalog or load_catalog(), ledger, Path(price_file) if price_file else None
    )


def cost_dataset(
    ledger: Ledger,
    catalog: Catalog | None = None,
    mode: str = "auto",
    price_file: Path | str | None = None,
) -> Dataset:
    """`dataset` with every usage row priced in ``mode``, for reports with metric "cost"."""
    from tokenstat.prices.cost import costed

    catalog = catalog or load_catalog()
    ds = dataset(ledger, catalog)
    inputs = cost_inputs(ledger, catalog, price_file)
    schedule = inputs.schedule() if mode != "reported" else None
    ds.costed = costed(inputs.usage, schedule, mode)
    ds.cost_mode = mode
    return ds


def cost_inputs(
    ledger: Ledger, catalog: Catalog | None = None, price_file: Path | str | None = None
) -> CostInputs:
    """What the cost reports read from a ledger (usage rows, attribution, the price book)."""
    from tokenstat.prices.cost import CostInputs

    catalog = catalog or load_catalog()
    rows = ledger.db.execute("SELECT DISTINCT provider, model FROM usage_daily").fetchall()
    return CostInputs(
        usage=ledger.usage(),
        attributed=attribution(catalog, ledger.models_in_use(), ledger.model_overrides()),
        book=price_book(ledger, catalog, price_file),
        pairs=[(provider, model) for provider, model in rows],
        sources=ledger.sources(),
    )


def restricted_dataset(
    ledger: Ledger,
    catalog: Catalog | None = None,
    *,
    since: date | None = None,
    until: date | None = None,
    where: Mapping[str, str] | Sequence[tuple[str, str]] = (),
) -> Dataset:
    """`dataset` holding only the rows of the days ``since`` to ``until`` (UTC, inclusive)
    where each dimension has its value (``{"origin": "CN"}``; values as the rows hold them:
    canonical model ids, upper-case origins), as the CLI's ``--since/--until/--where``."""
    pairs = tuple(where.items()) if isinstance(where, Mapping) else tuple(where)
    return dataset(ledger, catalog).restricted(since, until, pairs)


def _report_dataset(ledger: Ledger, kwargs: dict[str, Any]) -> Dataset:
    """The dataset a report reads, restricted by the ``since``/``until``/``where`` keywords
    (taken out of ``kwargs``)."""
    rows = {k: kwargs.pop(k) for k in ("since", "until", "where") if k in kwargs}
    return restricted_dataset(ledger, **rows) if rows else dataset(ledger)


def summary(ledger: Ledger, **kwargs: Any) -> dict[str, Any]:
    """`tokenstat.metrics.reports.summary`; also takes ``since``, ``until``, ``where``."""
    return reports.summary(_report_dataset(ledger, kwargs), **kwargs)


def top(ledger: Ledger, **kwargs: Any) -> dict[str, Any]:
    """`tokenstat.metrics.reports.top`; also takes ``since``, ``until``, ``where``."""
    return reports.top(_report_dataset(ledger, kwargs), **kwargs)


def trend(ledger: Ledger, **kwargs: Any) -> dict[str, Any]:
    """`tokenstat.metrics.reports.trend`; also takes ``since``, ``until``, ``where``."""
    return reports.trend(_report_dataset(ledger, kwargs), **kwargs)


def lead(ledger: Ledger, a: str, b: str, **kwargs: Any) -> dict[str, Any]:
    """`tokenstat.metrics.reports.lead`; also takes ``since``, ``until``, ``where``."""
    return reports.lead(_report_dataset(ledger, kwargs), a, b, **kwargs)


def forecast(ledger: Ledger, **kwargs: Any) -> dict[str, Any]:
    """`tokenstat.forecast.forecast` on a ledger (cost inputs added for ``metric="cost"``)."""
    from tokenstat.forecast import forecast as run_forecast

    if kwargs.get("metric") == "cost" and "cost" not in kwargs:
        kwargs["cost"] = cost_inputs(ledger)
    return run_forecast(dataset(ledger), **kwargs)


__all__ = [
    "Dataset",
    "Selection",
    "cost_dataset",
    "cost_inputs",
    "dataset",
    "date",
    "forecast",
    "import_path",
    "lead",
    "open_ledger",
    "price_book",
    "restricted_dataset",
    "summary",
    "top",
    "trend",
]
