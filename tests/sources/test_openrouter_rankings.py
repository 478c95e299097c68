"""The OpenRouter rankings importer, read through the importer contract."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from tokenstat.schema import USAGE_SCHEMA
from tokenstat.sources.base import BadRecord, ReadContext, make_event_id, read_head
from tokenstat.sources.openrouter_rankings import OpenRouterRankingsSource
from tokenstat.sources.registry import get_source

FIXTURE = Path(__file__).parent.parent / "fixtures" / "openrouter" / "rankings-daily-2026-03.json"
FIXTURE_TOTAL = 10_611_389_145_176
SOURCE = OpenRouterRankingsSource()


class Collected:
    def __init__(self) -> None:
        self.bad: list[BadRecord] = []
        self.warnings: list[str] = []
        self.ctx = ReadContext(on_bad=self.bad.append, on_warning=self.warnings.append)


def read(path: Path, collected: Collected | None = None) -> tuple[pa.Table, Collected]:
    collected = collected or Collected()
    batches = list(SOURCE.read(path, collected.ctx))
    for batch in batches:
        assert batch.schema.names == USAGE_SCHEMA.names
    table = pa.Table.from_batches(batches) if batches else None
    if table is None:
        table = USAGE_SCHEMA.empty_table()
    return table, collected


def body(rows: list, as_of: str | None = "2026-03-04T02:00:00Z") -> dict:
    meta = {"as_of": as_of, "version": "v1"} if as_of else {"version": "v1"}
    return {"data": rows, "meta": meta}


def row(day: str, slug: str, total: object) -> dict:
    return {"date": day, "model_permaslug": slug, "total_tokens": total}


def write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# -- the fixture ------------------------------------------------------------------------


def test_fixture_rows():
    table, collected = read(FIXTURE)
    assert collected.bad == []
    assert table.num_rows == 15
    rows = table.to_pylist()

    assert {r["grain"] for r in rows} == {"day"}
    assert {r["source"] for r in rows} == {"openrouter-rankings"}
    assert sum(r["input_tokens"] for r in rows) == FIXTURE_TOTAL
    assert {r["output_tokens"] for r in rows} == {0}
    assert {r["cache_read_tokens"] for r in rows} == {0}
    assert {r["reasoning_tokens"] for r in rows} == {0}
    assert {r["requests"] for r in rows} == {None}
    assert {r["provider"] for r in rows} == {None}
    assert {r["cost_reported"] for r in rows} == {None}
    assert table.schema.field("input_tokens").type == pa.int64()
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")

    first = rows[0]
    assert first["ts"] == datetime(2026, 3, 1, tzinfo=UTC)
    assert first["model_raw"] == "anthropic/claude-4.6-sonnet-20260217"
    assert first["model"] is None
    assert first["input_tokens"] == 612_000_450_123
    assert isinstance(first["input_tokens"], int)

    days = sorted({r["ts"] for r in rows})
    assert days == [datetime(2026, 3, d, tzinfo=UTC) for d in (1, 2, 3)]


def test_other_row_is_kept_with_model_other():
    table, _ = read(FIXTURE)
    others = [r for r in table.to_pylist() if r["model_raw"] == "other"]
    assert len(others) == 3
    assert {r["model"] for r in others} == {"other"}
    assert [r["input_tokens"] for r in others] == [
        1_904_227_310_458,
        1_987_650_441_203,
        2_011_398_720_555,
    ]
    named = [r for r in table.to_pylist() if r["model_raw"] != "other"]
    assert {r["model"] for r in named} == {None}


def test_event_ids_are_stable_and_unique():
    first, _ = read(FIXTURE)
    second, _ = read(FIXTURE)
    ids = first.column("event_id").to_pylist()
    assert ids == second.column("event_id").to_pylist()
    assert len(set(ids)) == len(ids)
    assert ids[0] == make_event_id(
        "openrouter-rankings", "2026-03-01", "anthropic/claude-4.6-sonnet-20260217"
    )


def test_meta_as_of_and_attribution():
    _, collected = read(FIXTURE)
    assert collected.ctx.meta["as_of"] == "2026-03-04T02:00:00Z"
    assert collected.ctx.meta["attribution"] == (
        "Source: OpenRouter (openrouter.ai/rankings), as of 2026-03-04T02:00:00Z"
    )
    assert collected.warnings == []


def test_registered_and_detected():
    assert isinstance(get_source("openrouter-rankings"), OpenRouterRankingsSource)
    assert SOURCE.detect(FIXTURE, read_head(FIXTURE))
    assert not SOURCE.detect(Path("x.json"), b'{"data": [{"model": "gpt-4o"}]}')
    assert not SOURCE.detect(Path("x.csv"), b"date,model_permaslug,total_tokens\n")


# -- bad records ------------------------------------------------------------------------

GOOD = row("2026-03-01", "deepseek/deepseek-v3.2-20251201", "1000")


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ({"model_permaslug": "a/b", "total_tokens": "1"}, "date", "missing date"),
        (row("", "a/b", "1"), "date", "missing date"),
        (row("2026-02-30", "a/b", "1"), "date", "not a YYYY-MM-DD date"),
        (row("03/01/2026", "a/b", "1"), "date", "not a YYYY-MM-DD date"),
        (row(20260301, "a/b", "1"), "date", "not a YYYY-MM-DD date"),
        ({"date": "2026-03-01", "total_tokens": "1"}, "model_permaslug", "missing"),
        (row("2026-03-01", "  ", "1"), "model_permaslug", "missing"),
        (row("2026-03-01", 42, "1"), "model_permaslug", "not a string"),
        ({"date": "2026-03-01", "model_permaslug": "a/b"}, "total_tokens", "missing"),
        (row("2026-03-01", "a/b", "-5"), "total_tokens", "negative"),
        (row("2026-03-01", "a/b", -5), "total_tokens", "negative"),
        (row("2026-03-01", "a/b", "12.5"), "total_tokens", "not a decimal integer"),
        (row("2026-03-01", "a/b", "1e9"), "total_tokens", "not a decimal integer"),
        (row("2026-03-01", "a/b", "12,345"), "total_tokens", "not a decimal integer"),
        (row("2026-03-01", "a/b", "lots"), "total_tokens", "not a decimal integer"),
        (row("2026-03-01", "a/b", 12.5), "total_tokens", "not a decimal integer"),
        (row("2026-03-01", "a/b", True), "total_tokens", "not a decimal integer"),
        (row("2026-03-01", "a/b", str(2**63)), "total_tokens", "too large"),
        (["2026-03-01", "a/b", "1"], None, "not a JSON object"),
        ("just text", None, "not a JSON object"),
    ],
)
def test_bad_record_is_reported_and_skipped(tmp_path, record, field, reason):
    path = write_json(
        tmp_path / "rankings.json", body([GOOD, record, GOOD | {"date": "2026-03-02"}])
    )
    table, collected = read(path)

    assert table.num_rows == 2
    assert table.column("input_tokens").to_pylist() == [1000, 1000]
    assert len(collected.bad) == 1
    bad = collected.bad[0]
    assert bad.location == f"{path}:record 2"
    assert bad.field == field
    assert reason in bad.reason
    assert bad.raw is not None
    assert str(path) in bad.message()


def test_integer_and_padded_totals_are_accepted(tmp_path):
    path = write_json(
        tmp_path / "rankings.json",
        body([row("2026-03-01", "a/b", 7), row("2026-03-01", "c/d", " 0012 ")]),
    )
    table, collected = read(path)
    assert collected.bad == []
    assert table.column("input_tokens").to_pylist() == [7, 12]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json at all",
        '{"data": [{"date": "2026-03-01", "model_permaslug": "a/b", "total_tokens": "1"}',
    ],
)
def test_not_json_is_reported_once(tmp_path, text):
    path = tmp_path / "rankings.json"
    path.write_text(text, encoding="utf-8")
    table, collected = read(path)
    assert table.num_rows == 0
    assert len(collected.bad) == 1
    assert collected.bad[0].location == f"{path}:1"
    assert collected.bad[0].field is None
    assert collected.bad[0].reason.startswith("not JSON: ")


def test_truncated_pretty_printed_fixture_is_not_json(tmp_path):
    text = FIXTURE.read_text(encoding="utf-8")
    path = tmp_path / "truncated.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    table, collected = read(path)
    assert table.num_rows == 0
    assert [b.location for b in collected.bad] == [f"{path}:1"]
    assert collected.bad[0].reason.startswith("not JSON: ")


def test_body_without_data_list(tmp_path):
    path = write_json(tmp_path / "rankings.json", {"error": {"message": "nope"}})
    table, collected = read(path)
    assert table.num_rows == 0
    assert len(collected.bad) == 1
    assert collected.bad[0].field == "data"


# -- compressed and multi-page files ---------------------------------------------------


def test_gzip_input(tmp_path):
    gz_path = tmp_path / "rankings-daily-2026-03.json.gz"
    with open(FIXTURE, "rb") as src, gzip.open(gz_path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    plain, _ = read(FIXTURE)
    table, collected = read(gz_path)
    assert collected.bad == []
    assert table.equals(plain)
    assert SOURCE.detect(gz_path, read_head(gz_path))


def test_gzip_without_suffix(tmp_path):
    path = tmp_path / "rankings.json"
    path.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    table, collected = read(path)
    assert collected.bad == []
    assert table.num_rows == 15


def test_multi_page_array(tmp_path):
    page1 = body(
        [
            row("2026-03-01", "a/one", "10"),
            row("2026-03-01", "other", "100"),
            row("2026-03-02", "a/one", "11"),
        ],
        as_of="2026-03-03T02:00:00Z",
    )
    page2 = body(
        [
            row("2026-03-02", "a/one", "12"),  # restated by a later snapshot
            row("2026-03-03", "a/one", "13"),
            row("2026-03-03", "a/one", "-1"),
        ],
        as_of="2026-03-04T02:00:00Z",
    )
    path = write_json(tmp_path / "pages.json", [page1, page2])
    table, collected = read(path)

    rows = table.to_pylist()
    assert [(r["ts"].day, r["model_raw"], r["input_tokens"]) for r in rows] == [
        (1, "a/one", 10),
        (1, "other", 100),
        (2, "a/one", 12),
        (3, "a/one", 13),
    ]
    assert len(set(table.column("event_id").to_pylist())) == 4
    assert [(b.location, b.field) for b in collected.bad] == [
        (f"{path}:record 2.3", "total_tokens")
    ]
    assert collected.ctx.meta["as_of"] == "2026-03-04T02:00:00Z"


def test_overlapping_page_with_older_snapshot_does_not_win(tmp_path):
    newer = body([row("2026-03-02", "a/one", "12")], as_of="2026-03-04T02:00:00Z")
    older = body([row("2026-03-02", "a/one", "11")], as_of="2026-03-03T02:00:00Z")
    path = write_json(tmp_path / "pages.json", [newer, older])
    table, _ = read(path)
    assert table.column("input_tokens").to_pylist() == [12]


def test_multi_page_with_a_page_that_is_not_a_body(tmp_path):
    path = write_json(tmp_path / "pages.json", [body([GOOD]), "oops", {"meta": {}}])
    table, collected = read(path)
    assert table.num_rows == 1
    assert [(b.location, b.field) for b in collected.bad] == [
        (f"{path}:page 2", None),
        (f"{path}:page 3", "data"),
    ]


def test_json_lines(tmp_path):
    lines = [
        json.dumps(body([row("2026-03-01", "a/one", "10")], as_of="2026-03-02T02:00:00Z")),
        "",
        '{"data": [{"date": "2026-03-02", "model_permaslug": "a/one"',
        json.dumps(
            body(
                [row("2026-03-03", "a/one", "13"), row("2026-03-03", None, "1")],
                as_of="2026-03-04T02:00:00Z",
            )
        ),
    ]
    path = tmp_path / "pages.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table, collected = read(path)

    assert table.column("input_tokens").to_pylist() == [10, 13]
    assert [(b.location, b.field) for b in collected.bad] == [
        (f"{path}:3", None),
        (f"{path}:record 4.2", "model_permaslug"),
    ]
    assert collected.bad[0].reason.startswith("not JSON: ")
    assert collected.ctx.meta["as_of"] == "2026-03-04T02:00:00Z"


def test_json_lines_gzip_and_same_ids_as_single_body(tmp_path):
    document = json.loads(FIXTURE.read_text(encoding="utf-8"))
    path = tmp_path / "pages.jsonl.gz"
    path.write_bytes(gzip.compress((json.dumps(document) + "\n" + json.dumps(document)).encode()))
    table, collected = read(path)
    plain, _ = read(FIXTURE)
    assert collected.bad == []
    assert table.column("event_id").to_pylist() == plain.column("event_id").to_pylist()


# -- meta across files ------------------------------------------------------------------


def test_as_of_is_the_latest_across_files(tmp_path):
    older = write_json(tmp_path / "older.json", body([GOOD], as_of="2026-02-01T02:00:00Z"))
    collected = Collected()
    read(FIXTURE, collected)
    read(older, collected)
    assert collected.ctx.meta["as_of"] == "2026-03-04T02:00:00Z"
    assert collected.ctx.meta["attribution"].endswith("as of 2026-03-04T02:00:00Z")


def test_missing_as_of_warns(tmp_path):
    path = write_json(tmp_path / "rankings.json", body([GOOD], as_of=None))
    table, collected = read(path)
    assert table.num_rows == 1
    assert "as_of" not in collected.ctx.meta
    assert collected.ctx.meta["attribution"] == "Source: OpenRouter (openrouter.ai/rankings)"
    assert any("as_of" in w for w in collected.warnings)
