"""Where tokenstat keeps its files, each from its environment variable, else the user's
data or config directory: the ledger, the user catalog, the user price file."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DB_ENV = "TOKENSTAT_DB"
CATALOG_ENV = "TOKENSTAT_CATALOG"
PRICES_ENV = "TOKENSTAT_PRICES"


def default_ledger_path() -> Path:
    """``$TOKENSTAT_DB``, else ``ledger.duckdb`` in the user data directory."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("tokenstat")) / "ledger.duckdb"


def default_user_catalog_path() -> Path:
    """``$TOKENSTAT_CATALOG``, else ``catalog.yaml`` in the user config directory."""
    env = os.environ.get(CATALOG_ENV)
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir("tokenstat")) / "catalog.yaml"


def default_price_file() -> Path:
    """``$TOKENSTAT_PRICES``, else ``prices.yaml`` in the user config directory."""
    env = os.environ.get(PRICES_ENV)
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir("tokenstat")) / "prices.yaml"
