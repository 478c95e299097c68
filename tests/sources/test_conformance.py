"""One conformance suite, run against EVERY registered importer.

The importers are taken from the registry, so a newly registered importer without
fixtures fails here. Fixtures follow tests/fixtures/sources/README.md: per importer a
folder with good files and ``expected.json`` (hand-computed totals), and ``bad/`` with one
file per bad-input case and ``bad/cases.json`` (where each error is and how many good
rows survive it).

Everything goes through the real pipeline (`tokenstat.api.import_path` into a ledger file)
and, for ``--strict``, through the CLI.
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tokenstat import api
from tokenstat.prices.points import stores_prices
from tokenstat.sources.base import ReadContext
from tokenstat.sources.registry import detect_source, get_source, source_names

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources"
CASES = (
    "truncated",
    "garbage-line",
    "negative-tokens",
    "non-integer-tokens",
    "missing-model",
    "wrong-type",
)
EXPECTED_KEYS = {
    "rows",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_reported",
    "models",
    "first_ts",
    "last_ts",
}
NOT_INPUT = {"expected.json", "README.md"}
# price sources (openrouter-models) store price points, not usage rows: their own
# idempotency and bad-input tests are in tests/prices/test_openrouter_models.py
IMPORTERS = [name for name in source_names() if not stores_prices(get_source(name))]


# ---- fixtures of one importer -----------------------------------------------------------


def folder(name: str) -> Path:
    path = FIXTURES / name
    if not (path / "expected.json").is_file():
        pytest.fail(
            f"importer {name!r} has no conformance fixtures: add tests/fixtures/sources/{name}/ "
            "with good files, expected.json and bad/ (see tests/fixtures/sources/README.md)"
        )
    return path


def expected(name: str) -> dict[str, Any]:
    return json.loads((folder(name) / "expected.json").read_text(encoding="utf-8"))


def good_files(name: str) -> list[Path]:
    files = sorted(
        p
        for p in folder(name).iterdir()
        if p.is_file() and p.name not in NOT_INPUT and not p.name.startswith(".")
    )
    assert files, f"{name}: no good input files next to expected.json"
    return files


def options(name: str) -> dict[str, Any]:
    return expected(name).get("options") or {}


def cases(name: str) -> dict[str, dict[str, Any]]:
    path = folder(name) / "bad" / "cases.json"
    assert path.is_file(), f"{name}: bad/cases.json is missing"
    return json.loads(path.read_text(encoding="utf-8"))


def case_file(name: str, case: str) -> tuple[Path, dict[str, Any]]:
    matches = [f for f in cases(name) if f.split(".", 1)[0] == case]
    assert len(matches) == 1, f"{name}: bad/cases.json needs exactly one file for case {case!r}"
    path = folder(name) / "bad" / matches[0]
    assert path.is_file(), f"{name}: bad/{matches[0]} is listed in cases.json but missing"
    return path, cases(name)[matches[0]]


def cli_options(name: str) -> list[str]:
    mapping = options(name).get("mapping")
    if not mapping:
        return []
    return ["--map", ",".join(f"{target}={column}" for target, column in mapping.items())]


def gzipped(files: list[Path], into: Path) -> list[Path]:
    into.mkdir(parents=True, exist_ok=True)
    out = []
    for path in files:
        target = into / f"{path.name}.gz"
        with open(path, "rb") as src, gzip.open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        out.append(target)
    return out


# ---- reading the ledger -----------------------------------------------------------------


def totals(ledger: Any) -> dict[str, Any]:
    row = ledger.db.execute(
        """SELECT count(*), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
                  sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_reported),
                  min(ts), max(ts)
           FROM usage"""
    ).fetchone()
    keys = (
        "rows",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
        "cost_reported",
        "first_ts",
        "last_ts",
    )
    out = dict(zip(keys, row, strict=True))
    out["models"] = sorted(
        r[0] for r in ledger.db.execute("SELECT DISTINCT model FROM usage").fetchall()
    )
    return out


def as_utc(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, f"expected.json times need a zone: {text!r}"
    return parsed.astimezone(UTC)


def assert_totals(got: dict[str, Any], want: dict[str, Any], name: str) -> None:
    for key in ("rows", *(k for k in EXPECTED_KEYS if k.endswith("_tokens"))):
        assert got[key] == want[key], f"{name}: {key} is {got[key]}, expected {want[key]}"
    if want["cost_reported"] is None:
        assert got["cost_reported"] is None, f"{name}: a cost was imported, none expected"
    else:
        assert got["cost_reported"] == pytest.approx(want["cost_reported"], rel=1e-9), name
    assert got["models"] == sorted(want["models"]), f"{name}: models"
    for key in ("first_ts", "last_ts"):
        wanted = as_utc(want[key]) if want[key] is not None else None
        assert got[key] == wanted, f"{name}: {key}"


def import_into(tmp_path: Path, name: str, files: list[Path], ledger_name: str = "l.duckdb"):
    with api.open_ledger(tmp_path / ledger_name) as ledger:
        result = api.import_path(ledger, name, files, options=options(name))
        return result, totals(ledger)


# ---- the suite ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", IMPORTERS)
def test_fixtures_are_complete(name: str):
    want = expected(name)
    missing = EXPECTED_KEYS - set(want)
    assert not missing, f"{name}: expected.json lacks {missing}"
    assert good_files(name)
    listed = {f.split(".", 1)[0] for f in cases(name)}
    assert listed == set(CASES), f"{name}: bad/cases.json must cover exactly {CASES}"
    for file_name, case in cases(name).items():
        assert {"location", "field", "good_rows"} <= set(case), f"{name}: bad/{file_name}"
        assert case["location"].startswith(f"{file_name}:"), f"{name}: bad/{file_name} location"


@pytest.mark.parametrize("name", IMPORTERS)
def test_good_files_give_the_hand_computed_totals(name: str, tmp_path: Path):
    result, got = import_into(tmp_path, name, good_files(name))
    assert result.rows_bad == 0, [b.message() for b in result.bad_examples]
    assert_totals(got, expected(name), name)


@pytest.mark.parametrize("name", IMPORTERS)
def test_importing_twice_adds_nothing(name: str, tmp_path: Path):
    files = good_files(name)
    _, first = import_into(tmp_path, name, files)
    again, second = import_into(tmp_path, name, files)
    assert again.rows_new == 0
    assert second == first
    # the same records in different bytes (compressed copies) are recognised by event_id
    copies, third = import_into(tmp_path, name, gzipped(files, tmp_path / "gz"))
    assert copies.rows_new == 0 and copies.rows_bad == 0
    assert third == first


@pytest.mark.parametrize("name", IMPORTERS)
def test_gzip_compressed_input(name: str, tmp_path: Path):
    files = gzipped(good_files(name), tmp_path / "gz")
    result, got = import_into(tmp_path, name, files)
    assert result.rows_bad == 0, [b.message() for b in result.bad_examples]
    assert_totals(got, expected(name), name)


@pytest.mark.parametrize("name", IMPORTERS)
def test_token_semantics_and_utc(name: str, tmp_path: Path):
    source = get_source(name)
    for path in good_files(name):
        ctx = ReadContext(options=options(name))
        for batch in source.read(path, ctx):
            assert batch.schema.field("ts").type == pa.timestamp("us", tz="UTC")
            rows = batch.to_pylist()
            for row in rows:
                cache = row["cache_read_tokens"] + row["cache_write_tokens"]
                assert cache <= row["input_tokens"], f"{name}: cache outside input in {row}"
                assert row["reasoning_tokens"] <= row["output_tokens"], f"{name}: {row}"
                assert row["ts"].utcoffset().total_seconds() == 0
                assert row["source"] == name


@pytest.mark.parametrize("name", IMPORTERS)
def test_detected_from_content(name: str):
    if not expected(name).get("detect", True):
        pytest.skip(f"{name}: its fixtures are not meant to be recognised by content")
    for path in good_files(name):
        assert detect_source(path).name == name, f"tokenstat import auto {path.name}"


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", IMPORTERS)
def test_bad_input_is_named_and_good_rows_survive(name: str, case: str, tmp_path: Path):
    path, want = case_file(name, case)
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        result = api.import_path(ledger, name, [path], options=options(name))
    location = f"{path.parent}/{want['location']}"
    found = [(b.location, b.field) for b in result.bad_examples]
    assert (location, want["field"]) in found, f"{name} {case}: got {found}"
    assert result.rows_bad == want.get("bad_records", 1), found
    assert result.rows_new == want["good_rows"]
    message = next(b.message() for b in result.bad_examples if b.location == location)
    assert message.startswith(location)
    if want["field"]:
        assert f"field {want['field']!r}" in message


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", IMPORTERS)
def test_strict_imports_nothing(name: str, case: str, tmp_path: Path, invoke):
    path, want = case_file(name, case)
    db = tmp_path / "strict.duckdb"
    result = invoke("--db", str(db), "import", name, str(path), "--strict", *cli_options(name))
    assert result.exit_code == 3, result.output
    assert f"{path.parent}/{want['location']}" in result.stderr
    assert "nothing imported" in result.stderr
    with api.open_ledger(db) as ledger:
        assert ledger.row_count() == 0


def test_sources_command_lists_every_importer(invoke):
    result = invoke("sources", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [s["name"] for s in listed] == source_names()
    for entry in listed:
        assert entry["description"] and entry["reads"], entry["name"]
