"""Ledgers shared by the chart, report and dashboard tests (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.visual_data import build_hostile_ledger, build_sample_ledger


@pytest.fixture(scope="session")
def visual_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_ledger(tmp_path_factory.mktemp("visual"))


@pytest.fixture(scope="session")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hostile_ledger(tmp_path_factory.mktemp("hostile"))
