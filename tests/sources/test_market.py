"""The market importer: columns, overrides, and every bad-input case."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenstat import api
from tokenstat.errors import ImportFormatError
from tokenstat.sources.base import ReadContext
from tokenstat.sources.market import MarketSource


def read(path: Path):
    bad, warnings = [], []
    ctx = ReadContext(on_bad=bad.append, on_warning=warnings.append)
    rows = []
    for batch in MarketSource().read(path, ctx):
        rows += batch.to_pylist()
    return rows, bad, warnings, ctx


def test_columns_by_name_in_any_order(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text(
        "model,requests,date,output_tokens,input_tokens,provider,app,grain\n"
        "glm-5,3,2026-03-30,10,100,deepinfra,my-app,week\n",
        encoding="utf-8",
    )
    rows, bad, warnings, _ = read(f)
    assert not bad and not warnings
    (row,) = rows
    assert (row["model_raw"], row["input_tokens"], row["output_tokens"]) == ("glm-5", 100, 10)
    assert (row["grain"], row["requests"], row["provider"], row["app"]) == (
        "week",
        3,
        "deepinfra",
        "my-app",
    )
    assert row["ts"].isoformat() == "2026-03-30T00:00:00+00:00"


def test_each_bad_record_is_named_and_skipped(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text(
        "date,model,input_tokens,output_tokens,grain\n"
        "2026-03-30,glm-5,1,2,day\n"  # line 2: good
        "2026-13-01,glm-5,1,2,day\n"  # line 3: bad date
        "2026-03-30,,1,2,day\n"  # line 4: missing model
        "2026-03-30,glm-5,-1,2,day\n"  # line 5: negative
        "2026-03-30,glm-5,1.5,2,day\n"  # line 6: not an integer
        "2026-03-30,glm-5,1,two,day\n"  # line 7: wrong type
        "2026-03-30,glm-5,1,2,fortnight\n"  # line 8: bad grain
        "2026-03-31,glm-5,1,2\n"  # line 9: truncated row
        "2026-03-31,kimi-k2.5,4,4,day\n",  # line 10: good
        encoding="utf-8",
    )
    rows, bad, _, _ = read(f)
    assert [r["model_raw"] for r in rows] == ["glm-5", "kimi-k2.5"]
    got = {(b.location.rsplit(":", 1)[1], b.field) for b in bad}
    assert got == {
        ("3", "date"),
        ("4", "model"),
        ("5", "input_tokens"),
        ("6", "input_tokens"),
        ("7", "output_tokens"),
        ("8", "grain"),
        ("9", None),
    }
    assert all(b.location.startswith(str(f)) for b in bad)
    messages = {b.location.rsplit(":", 1)[1]: b.message() for b in bad}
    assert messages["5"].endswith("field 'input_tokens': negative token count: -1")
    assert messages["9"].endswith("expected 5 columns, got 4")


def test_missing_required_column_is_a_file_error(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("date,model\n2026-03-30,glm-5\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"m\.csv:1: missing column\(s\): tokens"):
        read(f)


def test_unknown_columns_are_ignored_with_a_warning(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("date,model,tokens,colour\n2026-03-30,glm-5,5,blue\n", encoding="utf-8")
    rows, bad, warnings, _ = read(f)
    assert len(rows) == 1 and not bad
    assert warnings == [f"{f}: ignoring unknown column(s): colour"]


def test_author_and_country_override_the_catalog_for_that_model(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text(
        "date,model,tokens,author,country\n"
        "2026-03-30,acme/rocket-1,50,acme,SE\n"
        "2026-03-30,deepseek/deepseek-v3.2,50,,SG\n"
        "2026-03-30,glm-5,50,,\n",
        encoding="utf-8",
    )
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        api.import_path(ledger, "market", [f])
        report = api.summary(ledger, by="origin", grain="day")
        keys = {g["key"]: g["tokens"] for g in report["groups"]}
        authors = {g["key"] for g in api.summary(ledger, by="author", grain="day")["groups"]}
    assert keys == {"SE": 50, "SG": 50, "CN": 50}
    assert "acme" in authors and "deepseek" in authors


def test_empty_file(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="empty file"):
        read(f)
