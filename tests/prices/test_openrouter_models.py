"""`tokenstat import openrouter-models`: snapshots of /api/v1/models become price points that
overlay genai-prices from the snapshot day on."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime

import pytest
from tests.prices.conftest import SNAPSHOT, SNAPSHOT_LATER, import_rows, request

from tokenstat import api
from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext
from tokenstat.sources.openrouter_models import OpenRouterModelsSource, snapshot_date
from tokenstat.sources.registry import detect_source


def points(db) -> dict[tuple[str, str], dict]:
    with api.open_ledger(db, read_only=True) as ledger:
        rows = ledger.db.execute(
            "SELECT * FROM price_points ORDER BY model, valid_from"
        ).fetch_arrow_table()
    return {(r["model"], r["valid_from"].date().isoformat()): r for r in rows.to_pylist()}


def test_import_stores_price_points(invoke, db):
    result = invoke("import", "openrouter-models", str(SNAPSHOT), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # 6 entries: 3 kept, a :free variant and a variable-price router skipped, 1 bad price
    assert (report["rows_read"], report["rows_new"], report["rows_bad"]) == (3, 3, 1)
    assert report["first_day"] == report["last_day"] == "2026-04-01"
    assert "2 model(s) skipped" in report["warnings"][0]
    assert report["bad_examples"] == [
        f"{SNAPSHOT}:record 6: field 'pricing.prompt': not a price: 'cheap'"
    ]
    stored = points(db)
    ds = stored[("deepseek/deepseek-v3.2", "2026-04-01")]
    assert ds["provider"] == "openrouter" and ds["source"] == "openrouter-models"
    assert ds["input"] == pytest.approx(0.26e-6)
    assert ds["output"] == pytest.approx(0.38e-6)
    assert ds["cache_read"] == pytest.approx(0.13e-6)
    # internal_reasoning "0" on a paid model: reasoning is charged as output, not free
    assert ds["reasoning"] is None
    assert ds["context_length"] == 163_840
    assert ds["valid_from"] == datetime(2026, 4, 1, tzinfo=UTC)
    kimi = stored[("moonshotai/kimi-k2.5", "2026-04-01")]
    # discount 0.2: every price times 0.8
    assert kimi["discount"] == 0.2
    assert kimi["input"] == pytest.approx(0.6e-6 * 0.8)
    assert kimi["output"] == pytest.approx(3e-6 * 0.8)
    assert kimi["cache_read"] == pytest.approx(0.1e-6 * 0.8)
    with api.open_ledger(db, read_only=True) as ledger:
        assert ledger.quarantine()[0]["field"] == "pricing.prompt"
        assert ledger.row_count() == 0  # no usage rows


def test_import_is_idempotent_and_detected(invoke, db, tmp_path):
    invoke("import", "openrouter-models", str(SNAPSHOT))
    again = json.loads(invoke("import", "openrouter-models", str(SNAPSHOT), "--json").stdout)
    assert again["rows_new"] == 0 and again["files_skipped"] == 1
    # the same snapshot in other bytes replaces that day's points, adding none
    copy = tmp_path / "copy-2026-04-01.json"
    copy.write_text(json.dumps(json.loads(SNAPSHOT.read_text()), indent=1))
    third = json.loads(invoke("import", "auto", str(copy), "--json").stdout)
    assert third["source"] == "openrouter-models"
    assert third["rows_new"] == 0 and third["rows_duplicate"] == 3
    assert len(points(db)) == 3
    assert detect_source(SNAPSHOT).name == "openrouter-models"


def test_strict_import_writes_nothing(invoke, db):
    result = invoke("import", "openrouter-models", str(SNAPSHOT), "--strict")
    assert result.exit_code == 3
    assert f"{SNAPSHOT}:record 6: field 'pricing.prompt'" in result.stderr
    with api.open_ledger(db) as ledger:
        assert ledger.db.execute("SELECT count(*) FROM price_points").fetchone() == (0,)


def test_snapshot_date_rules(tmp_path):
    body = {"data": []}
    assert snapshot_date(tmp_path / "models-20260405.json", body, {}).isoformat() == "2026-04-05"
    dated = {"data": [], "as_of": "2026-03-02T10:00:00Z"}
    assert snapshot_date(tmp_path / "m.json", dated, {}).isoformat() == "2026-03-02"
    option = {"as_of": "2026-01-09"}
    assert (
        snapshot_date(tmp_path / "models-2026-04-05.json", dated, option).isoformat()
        == "2026-01-09"
    )
    with pytest.raises(ImportFormatError, match="not a date: 'soon'"):
        snapshot_date(tmp_path / "m.json", {"as_of": "soon"}, {})


def test_undated_file_takes_its_modification_day_with_a_warning(invoke, db, tmp_path):
    path = tmp_path / "models.json"
    shutil.copy(SNAPSHOT, path)
    noon = datetime(2026, 3, 20, 12, tzinfo=UTC).timestamp()
    os.utime(path, (noon, noon))
    report = json.loads(invoke("import", "openrouter-models", str(path), "--json").stdout)
    assert report["rows_new"] == 3 and report["first_day"] == "2026-03-20"
    assert "modification day, 2026-03-20" in report["warnings"][0]


def test_read_yields_no_usage_rows():
    assert list(OpenRouterModelsSource().read(SNAPSHOT, ReadContext())) == []


def test_snapshot_prices_apply_from_their_day(invoke, db):
    invoke("import", "openrouter-models", str(SNAPSHOT), str(SNAPSHOT_LATER))
    base = ["prices", "--models", "xiaomi/mimo-v2-pro", "--json"]
    # a model genai-prices lacks: no price before the first snapshot
    before = json.loads(invoke(*base, "--as-of", "2026-03-31").stdout)
    assert before["unpriced"] == ["xiaomi/mimo-v2-pro"]
    first = json.loads(invoke(*base, "--as-of", "2026-04-01").stdout)["rows"][0]
    assert first["input_per_mtok"] == pytest.approx(1.0)
    assert first["priced_as"] == "openrouter/xiaomi/mimo-v2-pro (openrouter-models)"
    assert first["context_length"] == 1_048_576
    later = json.loads(invoke(*base, "--as-of", "2026-04-25").stdout)["rows"][0]
    assert later["input_per_mtok"] == pytest.approx(0.8)
    assert later["cache_read_per_mtok"] == pytest.approx(0.16)
    assert json.loads(invoke(*base, "--as-of", "2026-04-25").stdout)["prices"]["snapshots"] == [
        {"source": "openrouter-models", "as_of": "2026-04-01", "models": 3},
        {"source": "openrouter-models", "as_of": "2026-04-20", "models": 1},
    ]


def test_snapshot_is_openrouters_price_not_the_labs(invoke, db):
    invoke("import", "openrouter-models", str(SNAPSHOT))
    base = ["prices", "--models", "deepseek/deepseek-v3.2", "--as-of", "2026-04-05", "--json"]
    lab = json.loads(invoke(*base).stdout)["rows"][0]
    assert lab["input_per_mtok"] == pytest.approx(0.2288)  # DeepSeek's own (genai-prices)
    via = json.loads(invoke(*base, "--provider", "openrouter").stdout)["rows"][0]
    assert via["input_per_mtok"] == pytest.approx(0.26)  # the snapshot, for provider openrouter
    older = ["prices", "--models", "deepseek/deepseek-v3.2", "--provider", "openrouter"]
    older_row = json.loads(invoke(*older, "--as-of", "2026-03-01", "--json").stdout)["rows"][0]
    assert older_row["input_per_mtok"] == pytest.approx(0.2288)  # genai-prices' openrouter row


def test_ledger_rows_of_a_snapshot_only_model(invoke, db):
    invoke("import", "openrouter-models", str(SNAPSHOT))
    import_rows(
        db,
        [
            request(
                "early",
                datetime(2026, 3, 30, 12, tzinfo=UTC),
                "xiaomi/mimo-v2-pro",
                input_tokens=1_000_000,
                output=100_000,
            ),
            request(
                "late",
                datetime(2026, 4, 2, 12, tzinfo=UTC),
                "xiaomi/mimo-v2-pro",
                input_tokens=1_000_000,
                output=100_000,
            ),
        ],
    )
    report = json.loads(invoke("cost", "--mode", "computed", "--period", "day", "--json").stdout)
    assert report["total"]["cost"] == pytest.approx(1.0 + 0.3)
    assert report["unpriced"][0]["reason"] == "no price at that time"
    assert report["unpriced"][0]["rows"] == 1
