"""Rules of the usage importers that the shared fixtures do not pin down one by one:
token normalization per format, which records count, and streaming of JSON input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from tokenstat.errors import ImportFormatError
from tokenstat.sources import jsonio, langfuse, litellm, openrouter_generations, otlp
from tokenstat.sources.base import BadRecord, ReadContext
from tokenstat.sources.registry import get_source


def read(name: str, path: Path, **options: Any) -> tuple[list[dict], list[BadRecord]]:
    bad: list[BadRecord] = []
    ctx = ReadContext(options=options, on_bad=bad.append)
    rows = [row for batch in get_source(name).read(path, ctx) for row in batch.to_pylist()]
    return rows, bad


# ---- otlp -------------------------------------------------------------------------------


def span(attrs: dict[str, Any], **fields: Any) -> dict:
    def value(v: Any) -> dict:
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        if isinstance(v, float):
            return {"doubleValue": v}
        return {"stringValue": v}

    return {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": fields.pop("spanId", "b7ad6b7169203331"),
        "startTimeUnixNano": "1772550000000000000",
        "attributes": [{"key": k, "value": value(v)} for k, v in attrs.items()],
        **fields,
    }


def convert_span(attrs: dict[str, Any], resource: dict | None = None, scope: str = "") -> Any:
    return otlp.convert((span(attrs), resource or {}, scope))


def test_otlp_input_includes_cache_by_the_conventions():
    row = convert_span(
        {
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "claude-sonnet-4-5-20250929",
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.cache_read.input_tokens": 800,
            "gen_ai.usage.cache_creation.input_tokens": 100,
            "gen_ai.usage.output_tokens": 20,
        }
    )
    assert (row["input_tokens"], row["cache_read_tokens"], row["cache_write_tokens"]) == (
        1000,
        800,
        100,
    )


def test_otlp_openlit_anthropic_input_is_normalized():
    attrs = {
        "gen_ai.system": "anthropic",
        "gen_ai.request.model": "claude-sonnet-4-5-20250929",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.cache_read_input_tokens": 800,
        "gen_ai.usage.output_tokens": 20,
    }
    from_openlit = convert_span(attrs, {"telemetry.sdk.name": "openlit"})
    by_scope = convert_span(attrs, {}, scope="openlit.otel.tracing")
    assert from_openlit["input_tokens"] == by_scope["input_tokens"] == 1800
    openai_by_openlit = convert_span(
        {**attrs, "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o"},
        {"telemetry.sdk.name": "openlit"},
    )
    assert openai_by_openlit["input_tokens"] == 1000


def test_otlp_cache_beyond_input_means_input_without_cache():
    row = convert_span(
        {
            "gen_ai.request.model": "claude-sonnet-4-5-20250929",
            "gen_ai.usage.input_tokens": 12,
            "gen_ai.usage.cache_read.input_tokens": 4000,
        }
    )
    assert row["input_tokens"] == 4012


def test_otlp_skips_spans_that_are_not_model_calls():
    assert convert_span({"http.request.method": "GET"}) is None
    agent = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 5,
    }
    assert convert_span(agent) is None


def test_otlp_int_values_as_numbers_or_strings_and_legacy_names():
    row = otlp.convert(
        (
            {
                "traceId": "t",
                "spanId": "s",
                "startTimeUnixNano": 1772550000123456789,
                "attributes": [
                    {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                    {"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": 7}},
                    {"key": "gen_ai.usage.completion_tokens", "value": {"intValue": "3"}},
                ],
            },
            {"service.name": "svc"},
            "",
        )
    )
    assert (row["input_tokens"], row["output_tokens"], row["app"]) == (7, 3, "svc")
    assert row["ts"].isoformat() == "2026-03-03T15:00:00.123456+00:00"


def test_otlp_missing_start_time_names_the_field():
    with pytest.raises(ImportFormatError) as info:
        otlp.convert((span({"gen_ai.request.model": "gpt-4o"}, startTimeUnixNano=None), {}, ""))
    assert info.value.field == "startTimeUnixNano"


# ---- litellm ------------------------------------------------------------------------------


def spend_row(prompt: int, usage: dict) -> dict:
    return {
        "request_id": "r1",
        "startTime": "2026-03-05T09:00:00Z",
        "model": "claude-sonnet-4-5-20250929",
        "prompt_tokens": prompt,
        "completion_tokens": 10,
        "metadata": {"usage_object": usage},
    }


@pytest.mark.parametrize(
    ("prompt", "expected_input"),
    [
        (1100, 1100),  # current LiteLLM: reads and writes already inside prompt_tokens
        (1000, 1100),  # older: reads inside, writes not
        (0, 1100),  # neither inside (Anthropic-shaped)
    ],
)
def test_litellm_prompt_tokens_of_every_version(prompt: int, expected_input: int):
    usage = {"cache_read_input_tokens": 1000, "cache_creation_input_tokens": 100}
    row = litellm.convert(spend_row(prompt, usage))
    assert row["input_tokens"] == expected_input
    assert (row["cache_read_tokens"], row["cache_write_tokens"]) == (1000, 100)


def test_litellm_dimensions():
    row = litellm.convert(
        {
            **spend_row(10, {}),
            "user": "u-1",
            "end_user": "",
            "team_id": "team-9",
            "request_tags": '["b", "a"]',
            "session_id": "s-1",
        }
    )
    assert (row["user"], row["project"], row["app"], row["session"]) == (
        "u-1",
        "team-9",
        "a,b",
        "s-1",
    )


# ---- langfuse -----------------------------------------------------------------------------


def observation(usage: dict) -> dict:
    return {
        "id": "o1",
        "type": "GENERATION",
        "startTime": "2026-03-07T08:00:00Z",
        "providedModelName": "gpt-4o",
        "usageDetails": usage,
    }


def test_langfuse_disjoint_keys_add_up():
    row = langfuse.convert(
        observation({"input": 100, "input_cached_tokens": 900, "output": 50, "total": 1050})
    )
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == (1000, 900, 50)


def test_langfuse_total_tells_when_cache_is_already_inside():
    row = langfuse.convert(
        observation({"input": 1000, "input_cached_tokens": 900, "output": 50, "total": 1050})
    )
    assert (row["input_tokens"], row["cache_read_tokens"]) == (1000, 900)


def test_langfuse_only_generations():
    assert langfuse.convert({**observation({}), "type": "SPAN"}) is None


# ---- openrouter-generations -------------------------------------------------------------


def test_openrouter_native_counts_and_byok_cost():
    row = openrouter_generations.convert(
        {
            "id": "gen-1",
            "created_at": "2026-03-04T10:30:00Z",
            "model": "openai/gpt-4.1",
            "tokens_prompt": 100,
            "native_tokens_prompt": 90,
            "tokens_completion": 10,
            "native_tokens_completion": 12,
            "total_cost": 0.0001,
            "upstream_inference_cost": 0.002,
            "is_byok": True,
        }
    )
    assert (row["input_tokens"], row["output_tokens"]) == (90, 12)
    assert row["cost_reported"] == pytest.approx(0.0021)


# ---- JSON streaming -----------------------------------------------------------------------


def test_single_document_is_streamed_not_read_whole(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(jsonio, "MAX_PROBE_LINE", 64)
    page = {
        "data": [
            {
                "date": f"2026-03-{day:02d}",
                "model": "openai/gpt-4.1",
                "endpoint_id": "e",
                "prompt_tokens": day,
                "completion_tokens": 1,
            }
            for day in range(1, 11)
        ]
    }
    path = tmp_path / "activity.json"
    path.write_text(json.dumps(page), encoding="utf-8")  # one long line
    rows, bad = read("openrouter-activity", path)
    assert not bad and [r["input_tokens"] for r in rows] == list(range(1, 11))


def test_json_records_locations_and_progress(tmp_path: Path):
    layout = jsonio.JsonLayout("data.item", is_record=lambda v: "n" in v)
    path = tmp_path / "pages.jsonl.gz"
    lines = [
        {"data": [{"n": 1}, {"n": 2}]},
        {"data": [{"n": 3}]},
        {"n": 4},
        {"items": []},
    ]
    raw = "\ufeff" + "".join(json.dumps(line) + "\n" for line in lines) + "not json\n"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(raw)
    read_bytes: list[int] = []
    bad: list[BadRecord] = []
    ctx = ReadContext(on_bad=bad.append, on_progress=read_bytes.append)
    found = [(r.value["n"], r.location) for r in jsonio.iter_json_records(path, ctx, layout)]
    assert found == [
        (1, f"{path}:1 record 1"),
        (2, f"{path}:1 record 2"),
        (3, f"{path}:2"),
        (4, f"{path}:3"),
    ]
    assert [(b.location, b.field) for b in bad] == [(f"{path}:4", "data"), (f"{path}:5", None)]
    assert sum(read_bytes) == len(raw.encode("utf-8"))
