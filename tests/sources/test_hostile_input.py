"""One test per class of hostile input (docs/importers.md, "Limits and bad input").

Each test writes a small file by hand: good records whose totals are stated in the test,
and the one bad record of the class. It imports the file with the real importer through
`tokenstat.api.import_path` into a DuckDB ledger file and checks that exactly the good
rows were imported and that the bad one is named by location and field.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.conftest import FIXTURES

from tokenstat import api
from tokenstat.errors import ImportOptionError, StrictImportError, TokenstatError
from tokenstat.sources import limits

PARQUET_MAP = {
    "mapping": {"ts": "day", "model": "model", "input_tokens": "tin", "output_tokens": "tout"}
}


@pytest.fixture(scope="module")
def new_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, migrated ledger file, copied by each test (creating one costs ~0.4 s)."""
    path = tmp_path_factory.mktemp("template") / "ledger.duckdb"
    with api.open_ledger(path):
        pass
    return path


@pytest.fixture(autouse=True)
def _ledger_file(tmp_path: Path, new_ledger: Path) -> None:
    shutil.copy(new_ledger, tmp_path / "ledger.duckdb")


def run(tmp_path: Path, source: str, path: Path, **kwargs: Any) -> tuple[Any, list[tuple]]:
    """Import ``path``; (result, [(model_raw, input, output)] of the ledger, sorted)."""
    with api.open_ledger(tmp_path / "ledger.duckdb") as ledger:
        result = api.import_path(ledger, source, [path], **kwargs)
        rows = ledger.db.execute(
            "SELECT model_raw, input_tokens, output_tokens FROM usage ORDER BY 1, 2"
        ).fetchall()
    return result, rows


def the_bad(result: Any) -> tuple[str, str | None]:
    assert result.rows_bad == 1, [b.message() for b in result.bad_examples]
    bad = result.bad_examples[0]
    return bad.location, bad.field


# ---- formats the tests write ------------------------------------------------------------


def activity(path: Path, records: list[dict], raw: bytes | None = None) -> Path:
    """An OpenRouter activity page (one JSON document); ``raw`` replaces the text."""
    text = json.dumps({"data": records}, indent=1)  # pretty-printed: records are "record K"
    path.write_bytes(raw if raw is not None else text.encode())
    return path


def act(model: str, prompt: Any = 100, completion: Any = 10, date: str = "2026-03-01") -> dict:
    return {
        "date": date,
        "model": model,
        "endpoint_id": f"e-{model}",
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "requests": 1,
    }


def gateway_line(ident: str, model: str, prompt: Any, completion: Any = 1, time: Any = None) -> str:
    """One line of the generic JSON Lines importer (mapping: see JSONL_MAP)."""
    record = {
        "id": ident,
        "time": time or "2026-03-11T07:00:00Z",
        "model": model,
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion},
    }
    return json.dumps(record)


JSONL_MAP = {
    "mapping": {
        "event_id": "id",
        "input_tokens": "usage.prompt_tokens",
        "output_tokens": "usage.completion_tokens",
    }
}

MARKET_HEADER = "date,grain,model,provider,input_tokens,output_tokens"


def market(path: Path, lines: list[str] | bytes) -> Path:
    if isinstance(lines, bytes):
        path.write_bytes(lines)
    else:
        path.write_text("\n".join([MARKET_HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def claude_line(ident: str, ts: str, uncached: int = 10, output: int = 5) -> str:
    return json.dumps(
        {
            "type": "assistant",
            "sessionId": "s-1",
            "requestId": f"req-{ident}",
            "uuid": f"u-{ident}",
            "timestamp": ts,
            "message": {
                "id": f"msg-{ident}",
                "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "usage": {"input_tokens": uncached, "output_tokens": output},
            },
        }
    )


# ---- token counts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [2**63, str(2**63), 2**63 - 1, 1e30, "1e30", limits.MAX_COUNT + 1],
    ids=["2^63", "2^63-text", "int64-max", "1e30", "1e30-text", "ceiling+1"],
)
def test_count_above_the_ceiling_is_one_bad_record(tmp_path: Path, value: Any):
    page = [act("a/one", 100, 10), act("a/two", value, 10), act("a/three", 300, 30)]
    path = activity(tmp_path / "activity.json", page)
    result, rows = run(tmp_path, "openrouter-activity", path)
    assert rows == [("a/one", 100, 10), ("a/three", 300, 30)]
    assert the_bad(result) == (f"{path}:record 2", "prompt_tokens")
    assert "too large" in result.bad_examples[0].reason


def test_count_at_the_ceiling_is_accepted(tmp_path: Path):
    path = activity(tmp_path / "activity.json", [act("a/one", limits.MAX_COUNT, 0)])
    result, rows = run(tmp_path, "openrouter-activity", path)
    assert result.rows_bad == 0 and rows == [("a/one", 10**15, 0)]


def test_plus_sign_is_accepted_and_fraction_is_not(tmp_path: Path):
    path = market(
        tmp_path / "m.csv",
        [
            "2026-03-02,day,a/one,p,+7,1",
            "2026-03-02,day,a/two,p,7.5,1",
            "2026-03-03,day,a/one,p,9,2",
        ],
    )
    result, rows = run(tmp_path, "market", path)
    assert rows == [("a/one", 7, 1), ("a/one", 9, 2)]
    assert the_bad(result) == (f"{path}:3", "input_tokens")


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_number_in_a_json_document_is_one_bad_record(tmp_path: Path, word: str):
    text = json.dumps(
        {"data": [act("a/one"), act("a/two", "@"), act("a/three", 300, 30)]}, indent=1
    )
    path = activity(tmp_path / "a.json", [], raw=text.replace('"@"', word).encode())
    result, rows = run(tmp_path, "openrouter-activity", path)
    assert rows == [("a/one", 100, 10), ("a/three", 300, 30)]
    assert the_bad(result) == (f"{path}:record 2", "prompt_tokens")


def test_nan_in_a_csv_count_is_bad_not_zero(tmp_path: Path):
    path = tmp_path / "u.csv"
    path.write_text(
        "ts,model,input_tokens,output_tokens\n"
        "2026-03-01T00:00:00Z,a/one,5,1\n"
        "2026-03-01T01:00:00Z,a/two,NaN,1\n"
        "2026-03-01T02:00:00Z,a/three,6,2\n",
        encoding="utf-8",
    )
    result, rows = run(tmp_path, "csv", path)
    assert rows == [("a/one", 5, 1), ("a/three", 6, 2)]
    assert the_bad(result) == (f"{path}:3", "input_tokens")


def test_uint64_parquet_column_above_the_ceiling(tmp_path: Path):
    path = tmp_path / "u.parquet"
    table = pa.table(
        {
            "day": pa.array(["2026-03-01"] * 3),
            "model": ["a/one", "a/two", "a/three"],
            "tin": pa.array([5, 2**64 - 1, 7], pa.uint64()),
            "tout": pa.array([1, 1, 2], pa.uint64()),
        }
    )
    pq.write_table(table, path)
    result, rows = run(tmp_path, "parquet", path, options=PARQUET_MAP)
    assert rows == [("a/one", 5, 1), ("a/three", 7, 2)]
    assert the_bad(result) == (f"{path}:record 2", "tin")  # the file's name of the column


def test_float_inf_in_a_parquet_count(tmp_path: Path):
    path = tmp_path / "u.parquet"
    table = pa.table(
        {
            "day": ["2026-03-01"] * 3,
            "model": ["a/one", "a/two", "a/three"],
            "tin": pa.array([5.0, float("inf"), 7.0]),
            "tout": pa.array([1.0, 1.0, 2.0]),
        }
    )
    pq.write_table(table, path)
    result, rows = run(tmp_path, "parquet", path, options=PARQUET_MAP)
    assert rows == [("a/one", 5, 1), ("a/three", 7, 2)]
    assert the_bad(result) == (f"{path}:record 2", "tin")  # the file's name of the column


# ---- timestamps -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ts",
    ["9999-12-31T23:59:59Z", "0001-01-01T00:30:00+05:00", "2014-12-31T23:59:59Z"],
    ids=["year-9999", "year-0001-offset", "before-2015"],
)
def test_time_outside_the_window_in_a_log(tmp_path: Path, ts: str):
    lines = [
        claude_line("1", "2026-02-03T09:00:00Z", 10, 5),
        claude_line("2", ts, 20, 6),
        claude_line("3", "2026-02-03T10:00:00Z", 30, 7),
    ]
    path = tmp_path / "session.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result, rows = run(tmp_path, "claude-code", path)
    assert [r[1:] for r in rows] == [(10, 5), (30, 7)]
    location, field = the_bad(result)
    assert location == f"{path}:2" and field == "timestamp"


def test_year_0000_and_epoch_1e20_are_bad(tmp_path: Path):
    lines = [
        gateway_line("r1", "a/one", 5),
        gateway_line("r2", "a/two", 6, time="0000-01-01T00:00:00Z"),
        gateway_line("r3", "a/three", 7, time=1e20),
        gateway_line("r4", "a/four", 8, time=1772000000),  # 2026-02-25, epoch seconds
    ]
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result, rows = run(tmp_path, "jsonl", path, options=JSONL_MAP)
    assert rows == [("a/four", 8, 1), ("a/one", 5, 1)]
    assert result.rows_bad == 2
    assert [(b.location, b.field) for b in result.bad_examples] == [
        (f"{path}:2", "time"),
        (f"{path}:3", "time"),
    ]


def test_impossible_calendar_date_is_bad_not_rolled_forward(tmp_path: Path):
    path = market(
        tmp_path / "m.csv",
        ["2026-02-28,day,a/one,p,5,1", "2026-02-30,day,a/two,p,6,1", "2026-03-01,day,a/one,p,7,2"],
    )
    result, rows = run(tmp_path, "market", path)
    assert rows == [("a/one", 5, 1), ("a/one", 7, 2)]
    assert the_bad(result) == (f"{path}:3", "date")
    with api.open_ledger(tmp_path / "ledger.duckdb") as ledger:
        days = ledger.db.execute("SELECT DISTINCT CAST(ts AS DATE)::TEXT FROM usage").fetchall()
    assert sorted(d[0] for d in days) == ["2026-02-28", "2026-03-01"]


def test_parquet_timestamps_far_out_of_range(tmp_path: Path):
    path = tmp_path / "u.parquet"
    seconds = [1772323200, 253402300799 * 1000, 1772409600]  # 2026-03-01, year 9999 (x1000)
    table = pa.table(
        {
            "day": pa.array(seconds, pa.timestamp("s")),
            "model": ["a/one", "a/two", "a/three"],
            "tin": [5, 6, 7],
            "tout": [1, 1, 2],
        }
    )
    pq.write_table(table, path, coerce_timestamps=None)
    result, rows = run(tmp_path, "parquet", path, options=PARQUET_MAP)
    assert rows == [("a/one", 5, 1), ("a/three", 7, 2)]
    assert the_bad(result) == (f"{path}:record 2", "day")


def test_time_window_is_configurable(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(limits.WINDOW_ENV, "2026-03-02..2026-03-31")
    page = [act("a/one", 1, 1, "2026-03-01"), act("a/two", 2, 2, "2026-03-02")]
    path = activity(tmp_path / "a.json", page)
    result, rows = run(tmp_path, "openrouter-activity", path)
    assert rows == [("a/two", 2, 2)]
    assert the_bad(result) == (f"{path}:record 1", "date")


def test_malformed_time_window_is_a_clear_error(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(limits.WINDOW_ENV, "last tuesday")
    path = activity(tmp_path / "a.json", [act("a/one")])
    with pytest.raises(ImportOptionError, match="TOKENSTAT_TIME_WINDOW"):
        run(tmp_path, "openrouter-activity", path)


# ---- encodings --------------------------------------------------------------------------


def test_bom_is_skipped_in_a_json_document(tmp_path: Path):
    text = json.dumps({"data": [act("a/one", 1, 1), act("a/two", 2, 2)]}, indent=1)
    path = activity(tmp_path / "a.json", [], raw=limits.BOM + text.encode())
    result, rows = run(tmp_path, "openrouter-activity", path)
    assert result.rows_bad == 0 and rows == [("a/one", 1, 1), ("a/two", 2, 2)]


def test_bom_is_skipped_in_a_log(tmp_path: Path):
    lines = [
        claude_line("1", "2026-02-03T09:00:00Z", 10, 5),
        claude_line("2", "2026-02-03T09:01:00Z"),
    ]
    path = tmp_path / "session.jsonl"
    path.write_bytes(limits.BOM + ("\n".join(lines) + "\n").encode())
    result, rows = run(tmp_path, "claude-code", path)
    assert result.rows_bad == 0 and [r[1:] for r in rows] == [(10, 5), (10, 5)]


def test_invalid_utf8_makes_one_line_bad(tmp_path: Path):
    bad = gateway_line("r2", "a/@", 6).encode().replace(b"@", b"\xff\xfe")
    data = b"\n".join(
        [gateway_line("r1", "a/one", 5).encode(), bad, gateway_line("r3", "a/three", 7).encode()]
    )
    path = tmp_path / "calls.jsonl"
    path.write_bytes(data + b"\n")
    result, rows = run(tmp_path, "jsonl", path, options=JSONL_MAP)
    assert rows == [("a/one", 5, 1), ("a/three", 7, 1)]
    assert the_bad(result) == (f"{path}:2", None)


def test_invalid_utf8_in_csv_makes_one_line_bad(tmp_path: Path):
    text = (
        "\n".join(
            [
                MARKET_HEADER,
                "2026-03-02,day,a/one,p,5,1",
                "2026-03-02,day,a/@,p,6,1",
                "2026-03-03,day,a/three,p,7,2",
            ]
        )
        + "\n"
    )
    path = market(tmp_path / "m.csv", text.encode().replace(b"@", b"\xc3\x28"))
    result, rows = run(tmp_path, "market", path)
    assert rows == [("a/one", 5, 1), ("a/three", 7, 2)]
    assert the_bad(result) == (f"{path}:3", None)


def test_invalid_utf8_inside_a_json_document_costs_only_its_record(tmp_path: Path):
    # the fixture's five generations; one model name gets a byte that is not UTF-8
    fixture = FIXTURES / "sources" / "langfuse" / "observations.json"
    raw = fixture.read_bytes().replace(b'"gemini-2.5-flash"', b'"gemini-2.5-fl\xffash"', 1)
    path = tmp_path / "observations.json"
    path.write_bytes(raw)
    with api.open_ledger(tmp_path / "ledger.duckdb") as ledger:
        result = api.import_path(ledger, "langfuse", [path])
        models = sorted(r[0] for r in ledger.db.execute("SELECT model_raw FROM usage").fetchall())
    assert models == ["claude-sonnet-4-5-20250929", "gpt-4.1-mini", "gpt-4o-2024-08-06", "o4-mini"]
    assert result.rows_bad == 1
    assert result.bad_examples[0].field == "model"


def test_invalid_utf8_in_a_model_name_is_never_stored_replaced(tmp_path: Path):
    body = {
        "data": [
            {"date": "2026-03-30", "model_permaslug": "a/one", "total_tokens": "10"},
            {"date": "2026-03-30", "model_permaslug": "a/@", "total_tokens": "20"},
        ]
    }
    path = tmp_path / "rankings.json"
    path.write_bytes(json.dumps(body).encode().replace(b"@", b"\xff"))
    with api.open_ledger(tmp_path / "ledger.duckdb") as ledger:
        try:
            api.import_path(ledger, "openrouter-rankings", [path])
        except TokenstatError as exc:
            assert str(path) in str(exc)
        models = [r[0] for r in ledger.db.execute("SELECT model_raw FROM usage").fetchall()]
    assert not any("\ufffd" in m for m in models)


# ---- sizes ------------------------------------------------------------------------------


def test_line_over_the_record_limit_is_bad_and_the_rest_is_read(tmp_path: Path):
    huge = gateway_line("r2", "a/" + "x" * (limits.MAX_RECORD_BYTES + 10), 6)
    lines = [gateway_line("r1", "a/one", 5), huge, gateway_line("r3", "a/three", 7)]
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result, rows = run(tmp_path, "jsonl", path, options=JSONL_MAP)
    assert rows == [("a/one", 5, 1), ("a/three", 7, 1)]
    assert the_bad(result) == (f"{path}:2", None)
    assert "longer than the limit" in result.bad_examples[0].reason


def test_log_line_over_the_record_limit(tmp_path: Path):
    lines = [
        claude_line("1", "2026-02-03T09:00:00Z", 10, 5),
        '{"type": "user", "pad": "' + "y" * (limits.MAX_RECORD_BYTES + 5) + '"}',
        claude_line("3", "2026-02-03T10:00:00Z", 30, 7),
    ]
    path = tmp_path / "session.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result, rows = run(tmp_path, "claude-code", path)
    assert [r[1:] for r in rows] == [(10, 5), (30, 7)]
    assert the_bad(result) == (f"{path}:2", None)


def test_csv_field_over_1_mb_costs_one_row(tmp_path: Path):
    path = market(
        tmp_path / "m.csv",
        [
            "2026-03-02,day,a/one,p,5,1",
            "2026-03-02,day,a/" + "z" * (1 << 20) + ",p,6,1",
            "2026-03-03,day,a/three,p,7,2",
            "2026-03-04,day,a/four,p,8,nope",
        ],
    )
    result, rows = run(tmp_path, "market", path)
    assert rows == [("a/one", 5, 1), ("a/three", 7, 2)]
    assert result.rows_bad == 2
    assert sorted((b.location, b.field) for b in result.bad_examples) == [
        (f"{path}:3", None),
        (f"{path}:5", "output_tokens"),  # located right although a line before was left out
    ]


def test_csv_header_over_128_kb_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "u.csv"
    header = ",".join(f"column_{i}" for i in range(20000))
    path.write_text(header + "\n" + ",".join("1" for _ in range(20000)) + "\n", encoding="utf-8")
    assert len(header) > 128 << 10
    for source, options in (("market", None), ("csv", {"mapping": {"ts": "column_0"}})):
        result, rows = run(tmp_path, source, path, options=options)
        assert rows == [] and the_bad(result) == (f"{path}:1", None)
        assert "header line longer than the limit" in result.bad_examples[0].reason


# ---- nesting ----------------------------------------------------------------------------


def test_deep_nesting_in_a_json_document_is_stopped_before_parsing(tmp_path: Path):
    deep = "[" * 30000 + "]" * 30000
    text = f'{{"data": [\n{json.dumps(act("a/one", 1, 1))},\n{json.dumps(act("a/two", 2, 2))},\n'
    path = activity(tmp_path / "a.json", [], raw=(text + deep + "\n]}").encode())
    result, rows = run(tmp_path, "openrouter-activity", path)
    assert rows == [("a/one", 1, 1), ("a/two", 2, 2)]
    assert the_bad(result) == (f"{path}:record 3", None)
    assert "nested deeper than 64" in result.bad_examples[0].reason


def test_deep_nesting_in_a_csv_named_file_that_is_json(tmp_path: Path):
    path = tmp_path / "spend-logs.csv"
    path.write_text("[" * 30000 + "]" * 30000, encoding="utf-8")
    result, rows = run(tmp_path, "litellm", path)
    assert rows == []
    assert the_bad(result) == (f"{path}:record 1", None)


def test_deep_nesting_on_one_json_line(tmp_path: Path):
    deep = '{"id": "r2", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    lines = [gateway_line("r1", "a/one", 5), deep, gateway_line("r3", "a/three", 7)]
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result, rows = run(tmp_path, "jsonl", path, options=JSONL_MAP)
    assert rows == [("a/one", 5, 1), ("a/three", 7, 1)]
    assert the_bad(result) == (f"{path}:2", None)


# ---- whole files that are not the format ------------------------------------------------


@pytest.mark.parametrize("document", ["null", "42", '"x"', "[]", "{}", ""])
@pytest.mark.parametrize("source", ["openrouter-activity", "langfuse", "openrouter-rankings"])
def test_a_document_that_holds_no_records(tmp_path: Path, source: str, document: str):
    path = tmp_path / "doc.json"
    path.write_text(document, encoding="utf-8")
    with api.open_ledger(tmp_path / "ledger.duckdb") as ledger:
        try:
            result = api.import_path(ledger, source, [path])
        except TokenstatError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)
        else:
            assert all(str(path) in b.location for b in result.bad_examples)
        assert ledger.db.execute("SELECT count(*) FROM usage").fetchone() == (0,)


def test_truncated_parquet_is_a_one_line_error(tmp_path: Path):
    whole = tmp_path / "whole.parquet"
    pq.write_table(
        pa.table({"day": ["2026-03-01"], "model": ["a"], "tin": [1], "tout": [1]}), whole
    )
    path = tmp_path / "cut.parquet"
    path.write_bytes(whole.read_bytes()[:-20])
    with api.open_ledger(tmp_path / "ledger.duckdb") as ledger:
        try:
            result = api.import_path(ledger, "parquet", [path], options=PARQUET_MAP)
        except TokenstatError as exc:
            message = str(exc)
        else:
            message = result.bad_examples[0].message()
    assert str(path) in message and "\n" not in message


def test_empty_file(tmp_path: Path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    result, rows = run(tmp_path, "market", path)
    assert rows == [] and the_bad(result) == (f"{path}:1", None)
    assert "empty file" in result.bad_examples[0].reason


def test_import_auto_of_a_directory(tmp_path: Path):
    folder = tmp_path / "logs"
    folder.mkdir()
    activity(folder / "a.json", [act("a/one", 1, 1)])
    result, rows = run(tmp_path, "auto", folder)
    assert rows == [("a/one", 1, 1)] and result.rows_bad == 0


def test_import_auto_of_an_empty_directory(tmp_path: Path):
    folder = tmp_path / "nothing"
    folder.mkdir()
    with (
        api.open_ledger(tmp_path / "ledger.duckdb") as ledger,
        pytest.raises(TokenstatError, match="no files to detect"),
    ):
        api.import_path(ledger, "auto", [folder])


# ---- strict -----------------------------------------------------------------------------


def test_strict_imports_nothing(tmp_path: Path):
    page = [act("a/one", 100, 10), act("a/two", 2**63, 10)]
    path = activity(tmp_path / "activity.json", page)
    with api.open_ledger(tmp_path / "ledger.duckdb") as ledger:
        with pytest.raises(StrictImportError) as caught:
            api.import_path(ledger, "openrouter-activity", [path], strict=True)
        assert caught.value.location == f"{path}:record 2"
        assert ledger.db.execute("SELECT count(*) FROM usage").fetchone() == (0,)


# ---- the command line -------------------------------------------------------------------


def test_cli_import_auto_of_a_directory(tmp_path: Path, invoke):
    folder = tmp_path / "exports"
    folder.mkdir()
    activity(folder / "a.json", [act("a/one", 1, 1), act("a/two", 2, 2)])
    done = invoke("import", "auto", str(folder), "--json")
    assert done.exit_code == 0, done.output
    with api.open_ledger(tmp_path / "ledger.duckdb") as ledger:
        assert ledger.db.execute("SELECT count(*) FROM usage").fetchone() == (2,)


def test_cli_strict_exits_3_and_imports_nothing(tmp_path: Path, invoke):
    path = activity(tmp_path / "a.json", [act("a/one"), act("a/two", "1e30")])
    done = invoke("import", "openrouter-activity", str(path), "--strict")
    assert done.exit_code == 3
    assert f"{path}:record 2" in done.output and "Traceback" not in done.output
    with api.open_ledger(tmp_path / "ledger.duckdb") as ledger:
        assert ledger.db.execute("SELECT count(*) FROM usage").fetchone() == (0,)


@pytest.mark.parametrize("rate", ["0", "-5", "nan"])
def test_cli_fetch_with_a_rate_that_is_not_positive(monkeypatch, invoke, rate: str):
    monkeypatch.setenv("OPENROUTER_API_KEY", "test-key")
    done = invoke(
        "fetch", "openrouter-rankings", "--start", "2026-03-01", "--end", "2026-03-02",
        "--base-url", "http://127.0.0.1:9", "--rate", rate,
    )  # fmt: skip
    assert done.exit_code != 0
    assert "request rate must be a positive number" in done.output
    assert "Traceback" not in done.output
