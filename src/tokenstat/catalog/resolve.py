"""Rules that turn a raw model string, as any source writes it, into a canonical id.

Canonical ids are OpenRouter-style slugs: ``author/model-name`` in lower case. The rules,
in order (each step tries the catalog's ids and aliases before the next):

1. lower-case and trim; drop an OpenRouter variant suffix (``:free``, ``:thinking``, ...);
2. drop a trailing date (``-20250514``, ``-2024-08-06``, ``@20250514``);
3. for ``router/author/model`` strings (gateways), try the last two segments;
4. for a bare vendor name (``claude-sonnet-4``), guess the author from the name's prefix
   and try ``author/name``, also with version dashes as dots (``claude-3-5`` -> ``claude-3.5``).

A string no rule resolves is kept (normalized) as its own model with an unknown author.
"""

from __future__ import annotations

import re
from collections.abc import Callable

VARIANT_SUFFIXES = frozenset(
    {"free", "thinking", "beta", "extended", "nitro", "floor", "online", "exacto", "latest"}
)
_DATE_SUFFIX = re.compile(r"(?:[-@](?:20\d{6}|20\d{2}-\d{2}-\d{2}))$")
_VERSION_DASH = re.compile(r"(?<=\d)-(?=\d(?:\D|$))")

# Name prefix -> author slug, for bare vendor model names. Longest prefix wins.
AUTHOR_PREFIXES: dict[str, str] = {
    "claude": "anthropic",
    "gpt": "openai",
    "chatgpt": "openai",
    "o1": "openai",
    "o3": "openai",
    "o4": "openai",
    "codex": "openai",
    "text-embedding": "openai",
    "gemini": "google",
    "gemma": "google",
    "deepseek": "deepseek",
    "qwen": "qwen",
    "qwq": "qwen",
    "kimi": "moonshotai",
    "moonshot": "moonshotai",
    "glm": "z-ai",
    "chatglm": "z-ai",
    "minimax": "minimax",
    "abab": "minimax",
    "llama": "meta-llama",
    "meta-llama": "meta-llama",
    "mistral": "mistralai",
    "mixtral": "mistralai",
    "codestral": "mistralai",
    "devstral": "mistralai",
    "magistral": "mistralai",
    "ministral": "mistralai",
    "pixtral": "mistralai",
    "grok": "x-ai",
    "command": "cohere",
    "nova": "amazon",
    "amazon.nova": "amazon",
    "step": "stepfun",
    "mimo": "xiaomi",
    "ernie": "baidu",
    "hunyuan": "tencent",
    "doubao": "bytedance",
    "seed": "bytedance",
    "phi": "microsoft",
    "nemotron": "nvidia",
    "jamba": "ai21",
    "sonar": "perplexity",
    "ling": "inclusionai",
    "ring": "inclusionai",
    "longcat": "meituan",
    "yi-": "01-ai",
    "granite": "ibm-granite",
    "olmo": "allenai",
    "hermes": "nousresearch",
}


def strip_variant(name: str) -> str:
    head, sep, tail = name.rpartition(":")
    if sep and tail in VARIANT_SUFFIXES:
        return head
    return name


def strip_date(name: str) -> str:
    return _DATE_SUFFIX.sub("", name)


def guess_author(bare_name: str) -> str | None:
    """The author slug a bare vendor model name starts with, or None."""
    best = None
    for prefix, author in AUTHOR_PREFIXES.items():
        if bare_name.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, author)
    return best[1] if best else None


def _normal_form(raw: str) -> tuple[str, list[str]]:
    """(normalized id for an unknown string, candidate ids most specific first)."""
    base = strip_variant(raw.strip().lower())
    out = [base, strip_date(base)]
    normal = strip_date(base)
    parts = base.split("/")
    if len(parts) > 2:
        tail = "/".join(parts[-2:])
        out += [tail, strip_date(tail)]
        normal = strip_date(tail)
    if "/" not in base:
        bare = strip_date(base).removeprefix("models/")
        author = guess_author(bare)
        if author:
            normal = f"{author}/{bare}"
            out += [normal, f"{author}/{_VERSION_DASH.sub('.', bare)}"]
    return normal, list(dict.fromkeys(out))


def candidates(raw: str) -> list[str]:
    """Canonical-id candidates for a raw model string, most specific first."""
    return _normal_form(raw)[1]


def resolve_model(raw: str, lookup: Callable[[str], str | None]) -> tuple[str, bool]:
    """(canonical id, known) for a raw model string.

    ``lookup`` maps a candidate (id or alias, lower case) to a canonical id or None.
    Unknown strings come back normalized: variant and date suffixes dropped, and an
    author prefix added where the name's prefix names a lab.
    """
    normal, options = _normal_form(raw)
    for candidate in options:
        found = lookup(candidate)
        if found:
            return found, True
    return normal, False
