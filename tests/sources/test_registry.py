"""The registry: built-ins, third-party importers through the ``tokenstat.sources`` entry
point group, and the importers' own mapping/format options."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from tokenstat import api
from tokenstat.errors import ImportOptionError, UnknownSourceError
from tokenstat.sources import registry
from tokenstat.sources.generic import load_mapping_file, parse_mapping

PLUGIN = '''
"""A third-party importer: one line per request, "time,model,input,output"."""

from tokenstat.sources.base import RowBuilder, Source, make_event_id, open_text, parse_timestamp


class TinyLogSource(Source):
    name = "tiny-log"
    description = "Tiny log lines"
    reads = "time,model,input,output lines"

    def detect(self, path, head):
        return head.startswith(b"#tiny-log")

    def read(self, path, ctx):
        builder = RowBuilder(self.name)
        with open_text(path) as handle:
            for lineno, line in enumerate(handle, start=1):
                if line.startswith("#"):
                    continue
                when, model, inp, out = line.strip().split(",")
                builder.add(
                    event_id=make_event_id(self.name, lineno, when, model),
                    ts=parse_timestamp(when),
                    model_raw=model,
                    input_tokens=int(inp),
                    output_tokens=int(out),
                )
        yield from builder.flush()
'''


@pytest.fixture
def plugin_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An installed distribution (dist-info with entry_points.txt) that registers an
    importer, on sys.path; the registry's cache is cleared before and after."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "tiny_log_plugin.py").write_text(PLUGIN, encoding="utf-8")
    dist = site / "tiny_log_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tiny-log-plugin\nVersion: 0.1\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [tokenstat.sources]
            tiny-log = tiny_log_plugin:TinyLogSource
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(site))
    registry._registry.cache_clear()
    yield site
    registry._registry.cache_clear()
    sys.modules.pop("tiny_log_plugin", None)


def test_entry_point_importer_is_registered(plugin_on_path: Path, tmp_path: Path):
    assert "tiny-log" in registry.source_names()
    source = registry.get_source("tiny-log")
    assert type(source).__name__ == "TinyLogSource"
    log = tmp_path / "calls.log"
    log.write_text("#tiny-log\n2026-03-01T10:00:00Z,gpt-4o,100,20\n", encoding="utf-8")
    assert registry.detect_source(log).name == "tiny-log"
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        result = api.import_path(ledger, "auto", [log])
        assert result.rows_new == 1
        model = ledger.db.execute("SELECT model FROM usage").fetchone()[0]
    assert model == "openai/gpt-4o"


def test_builtin_names_win_over_entry_points(plugin_on_path: Path):
    dist = next(plugin_on_path.glob("*.dist-info"))
    (dist / "entry_points.txt").write_text(
        "[tokenstat.sources]\ncsv = tiny_log_plugin:TinyLogSource\n", encoding="utf-8"
    )
    registry._registry.cache_clear()
    assert type(registry.get_source("csv")).__name__ == "CsvSource"


def test_unknown_importer_names_the_known_ones():
    with pytest.raises(UnknownSourceError, match=r"known: .*otlp"):
        registry.get_source("no-such-format")


def test_every_builtin_loads_and_says_what_it_reads():
    for name in registry.BUILTIN_SOURCES:
        source = registry.get_source(name)
        assert source.name == name
        assert source.description and source.reads


# ---- column mappings (csv, jsonl, parquet) ------------------------------------------------


def test_parse_mapping_accepts_repeats_and_comma_lists():
    assert parse_mapping(["ts=created", "input_tokens=prompt,output_tokens=completion"]) == {
        "ts": "created",
        "input_tokens": "prompt",
        "output_tokens": "completion",
    }


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["tokens"], "expected TARGET=COLUMN"),
        (["prompt_tokens=input"], "unknown mapping target"),
        (["input_tokens=a,input_uncached_tokens=b"], "not both"),
    ],
)
def test_parse_mapping_errors(items: list[str], message: str):
    with pytest.raises(ImportOptionError, match=message):
        parse_mapping(items)


def test_mapping_file_yaml_or_json(tmp_path: Path):
    yaml_file = tmp_path / "m.yaml"
    yaml_file.write_text("mapping:\n  ts: created\n  model: engine\n", encoding="utf-8")
    json_file = tmp_path / "m.json"
    json_file.write_text('{"input_tokens": "prompt"}', encoding="utf-8")
    assert load_mapping_file(yaml_file) == {"ts": "created", "model": "engine"}
    assert load_mapping_file(json_file) == {"input_tokens": "prompt"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("- ts\n- model\n", encoding="utf-8")
    with pytest.raises(ImportOptionError, match="TARGET: COLUMN"):
        load_mapping_file(bad)


CSV = "when,engine,prompt,completion\n2026-03-01T10:00:00Z,gpt-4o,100,20\n"


def test_missing_mapped_column_stops_the_import(invoke, tmp_path: Path):
    data = tmp_path / "u.csv"
    data.write_text(CSV, encoding="utf-8")
    db = tmp_path / "l.duckdb"
    mapping = "ts=when,model=engine,input_tokens=prompt_tokens"
    result = invoke("--db", str(db), "import", "csv", str(data), "--map", mapping)
    assert result.exit_code == 1
    assert "column 'prompt_tokens' (mapped to input_tokens) is not in the file" in result.stderr
    assert "its columns are: when, engine, prompt, completion" in result.stderr
    with api.open_ledger(db) as ledger:
        assert ledger.row_count() == 0
    fixed = invoke(
        "--db", str(db), "import", "csv", str(data),
        "--map", "ts=when", "--map", "model=engine,input_tokens=prompt,output_tokens=completion",
    )  # fmt: skip
    assert fixed.exit_code == 0, fixed.stderr
    assert "1 new rows" in fixed.stderr


def test_unmapped_required_target_is_named(invoke, tmp_path: Path):
    data = tmp_path / "u.csv"
    data.write_text(CSV, encoding="utf-8")
    result = invoke("--db", str(tmp_path / "l.duckdb"), "import", "csv", str(data))
    assert result.exit_code == 1
    assert "no column for ts, model, input_tokens or output_tokens" in result.stderr
    assert "--map TARGET=COLUMN" in result.stderr


def test_map_file_option(invoke, tmp_path: Path):
    data = tmp_path / "u.csv"
    data.write_text(CSV, encoding="utf-8")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "ts: when\nmodel: engine\ninput_tokens: prompt\noutput_tokens: completion\n",
        encoding="utf-8",
    )
    result = invoke(
        "--db", str(tmp_path / "l.duckdb"), "import", "csv", str(data), "--map-file", str(mapping)
    )
    assert result.exit_code == 0, result.stderr


def test_map_is_refused_by_importers_that_know_their_columns(invoke, tmp_path: Path):
    data = tmp_path / "u.csv"
    data.write_text(CSV, encoding="utf-8")
    result = invoke(
        "--db", str(tmp_path / "l.duckdb"), "import", "litellm", str(data), "--map", "ts=when"
    )
    assert result.exit_code == 1
    assert "--map and --map-file are for the importers of any table" in result.stderr


def test_anthropic_shaped_table_is_normalized(tmp_path: Path):
    data = tmp_path / "u.csv"
    data.write_text(
        "ts,model,uncached,cache_read,cache_write,output\n"
        "2026-03-01T10:00:00Z,claude-sonnet-4-5-20250929,10,900,90,50\n",
        encoding="utf-8",
    )
    mapping = {
        "input_uncached_tokens": "uncached",
        "cache_read_tokens": "cache_read",
        "cache_write_tokens": "cache_write",
        "output_tokens": "output",
    }
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        api.import_path(ledger, "csv", [data], options={"mapping": mapping})
        row = ledger.db.execute(
            "SELECT input_tokens, cache_read_tokens, cache_write_tokens FROM usage"
        ).fetchone()
    assert row == (1000, 900, 90)


def test_cache_outside_input_is_a_bad_row(tmp_path: Path):
    data = tmp_path / "u.csv"
    data.write_text(
        "ts,model,input_tokens,cache_read_tokens,output_tokens\n"
        "2026-03-01T10:00:00Z,claude-sonnet-4-5-20250929,10,900,50\n"
        "2026-03-01T10:01:00Z,gpt-4o,1000,900,50\n",
        encoding="utf-8",
    )
    with api.open_ledger(tmp_path / "l.duckdb") as ledger:
        result = api.import_path(ledger, "csv", [data])
    assert result.rows_new == 1
    (bad,) = result.bad_examples
    assert bad.location == f"{data}:2" and bad.field == "input_tokens"
    assert "map input_uncached_tokens" in bad.reason
