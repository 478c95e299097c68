"""Prices: the genai-prices data as a flat schedule table, and cost computed in the engine.

See :mod:`tokenstat.prices.schedule` for the schedule's layout and the exact cost formula.
"""

from tokenstat.prices.schedule import (
    DEFAULT_VARIANT,
    PRICE_COLUMNS,
    RESOLVED_SCHEMA,
    SCHEDULE_SCHEMA,
    build_schedule,
    cost_expression,
    match_model,
    price_rows,
    resolve_models,
    schedule_memtable,
)

__all__ = [
    "DEFAULT_VARIANT",
    "PRICE_COLUMNS",
    "RESOLVED_SCHEMA",
    "SCHEDULE_SCHEMA",
    "build_schedule",
    "cost_expression",
    "match_model",
    "price_rows",
    "resolve_models",
    "schedule_memtable",
]
