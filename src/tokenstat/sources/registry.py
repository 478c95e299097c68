"""The importer registry.

Built-in importers are listed in ``BUILTIN_SOURCES`` and registered through the same path
as third-party ones, which declare an entry point in the ``tokenstat.sources`` group::

    [project.entry-points."tokenstat.sources"]
    my-format = "my_package.my_module:MyFormatSource"

The entry point names a `tokenstat.sources.base.Source` subclass.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

from tokenstat.errors import UnknownSourceError
from tokenstat.sources import ENTRY_POINT_GROUP
from tokenstat.sources.base import Source, read_head

BUILTIN_SOURCES: dict[str, str] = {
    "amp": "tokenstat.sources.amp:AmpSource",
    "anthropic-usage": "tokenstat.sources.anthropic_usage:AnthropicUsageSource",
    "claude-code": "tokenstat.sources.claude_code:ClaudeCodeSource",
    "codex": "tokenstat.sources.codex:CodexSource",
    "copilot-cli": "tokenstat.sources.copilot_cli:CopilotCliSource",
    "csv": "tokenstat.sources.generic:CsvSource",
    "droid": "tokenstat.sources.droid:DroidSource",
    "gemini-cli": "tokenstat.sources.gemini_cli:GeminiCliSource",
    "goose": "tokenstat.sources.goose:GooseSource",
    "jsonl": "tokenstat.sources.generic:JsonlSource",
    "kimi-cli": "tokenstat.sources.kimi_cli:KimiCliSource",
    "langfuse": "tokenstat.sources.langfuse:LangfuseSource",
    "litellm": "tokenstat.sources.litellm:LiteLLMSource",
    "market": "tokenstat.sources.market:MarketSource",
    "openai-usage": "tokenstat.sources.openai_usage:OpenAIUsageSource",
    "opencode": "tokenstat.sources.opencode:OpenCodeSource",
    "openrouter-activity": "tokenstat.sources.openrouter_activity:OpenRouterActivitySource",
    "openrouter-generations": (
        "tokenstat.sources.openrouter_generations:OpenRouterGenerationsSource"
    ),
    "openrouter-models": "tokenstat.sources.openrouter_models:OpenRouterModelsSource",
    "openrouter-rankings": "tokenstat.sources.openrouter_rankings:OpenRouterRankingsSource",
    "otlp": "tokenstat.sources.otlp:OtlpSource",
    "parquet": "tokenstat.sources.generic:ParquetSource",
    "qwen-code": "tokenstat.sources.qwen_code:QwenCodeSource",
}


def _load(target: str) -> type[Source]:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


@cache
def _registry() -> dict[str, str]:
    targets = dict(BUILTIN_SOURCES)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        targets.setdefault(ep.name, ep.value)
    return targets


def reads_local_logs(source: Source) -> bool:
    """True for importers that find logs on this machine by themselves (they override
    `Source.discover`): the own-usage commands refresh them, and their rows name the
    machine."""
    return type(source).discover is not Source.discover


def local_log_sources() -> list[Source]:
    """The registered importers that read local logs (`reads_local_logs`)."""
    return [s for s in all_sources() if reads_local_logs(s)]


def source_names() -> list[str]:
    return sorted(_registry())


def get_source(name: str) -> Source:
    """The importer registered as ``name``; raises UnknownSourceError otherwise."""
    targets = _registry()
    if name not in targets:
        known = ", ".join(sorted(targets))
        raise UnknownSourceError(f"no importer named {name!r}; known: {known}")
    source_cls = _load(targets[name])
    if source_cls.name != name:
        source_cls.name = name
    return source_cls()


def all_sources() -> list[Source]:
    return [get_source(name) for name in source_names()]


def detect_source(path: Path) -> Source:
    """The first importer whose ``detect`` accepts the file's first bytes (for a directory:
    the first bytes of its first file, in name order, hidden files left out)."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not files:
            raise UnknownSourceError(
                f"{path}: no files to detect a format from",
                hint="name the importer: tokenstat import SOURCE PATH",
            )
        path = files[0]
    head = read_head(path)
    for source in all_sources():
        if source.detect(path, head):
            return source
    raise UnknownSourceError(
        f"{path}: no importer recognises this file; name one: tokenstat import SOURCE {path} "
        "(tokenstat sources lists them; any table: csv, jsonl or parquet with --map)"
    )
