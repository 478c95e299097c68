"""Generate the bundled SYNTHETIC sample market dataset.

Nothing in this dataset is a measurement. It is made up, from a fixed random seed, so that
the tools, tests and demos have a realistic-looking daily per-model token series to work
on without downloading anything. It imitates the shape of OpenRouter's public rankings
data (one row per model per day, canonical model ids, an ``other`` bucket for everything
outside the top list) but none of its numbers are real.

Output: ``sample/data/sample_market.csv.gz``, a gzip CSV with the header
``date,model,input_tokens,output_tokens``. Daily rows run from Monday 2025-01-27 to
Sunday 2026-04-05 (62 ISO weeks). Model ids are canonical ids of the shipped catalog
(``catalog/data/models.csv``), plus ``other``, which has no author.

How it is made:

1. Every origin group (China-origin models, US-origin models, everything else including
   ``other``) gets a designed, smooth weekly token total. The designed curves are
   calibrated so that the last week (2026-03-30 to 2026-04-05) reproduces the figures a
   typical market report quotes:

   - China-origin models: exactly 12,960,000,000,000 tokens, +31.48% week over week;
   - US-origin models: exactly 3,030,000,000,000 tokens, +0.76% week over week;
   - all rows: exactly 27,000,000,000,000 tokens, +18.9% week over week;
   - China-origin ahead of US-origin for exactly five consecutive weeks, the first being
     the week starting 2026-03-02.

   The previous week's totals are the final ones divided by the growth factor, rounded to
   an integer. Earlier history grows smoothly (China-origin rising from well below US).
2. A group's weekly total is spread over the days of the week with a weekday/weekend
   pattern (weekends about 20% lower) and a little noise.
3. Within a group, each model's daily share follows its popularity: no rows before its
   release date, a ramp-up over days to weeks (sometimes a launch spike), a decay when its
   successor launches, and autocorrelated noise. A few models dominate.
4. Each model splits its tokens into input and output with its own ratio (3:1 to 10:1).
5. Counts are rounded to integers; the rounding residual of every group and week is put
   on the largest model's Sunday row, so weekly group totals are exact integers.

The result is deterministic: the same seed gives byte-for-byte the same file (the gzip
header carries no timestamp or file name). Rebuild the shipped file with::

    python -m tokenstat.sample.generate
"""

from __future__ import annotations

import gzip
import io
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa

DEFAULT_SEED = 20260405
START = date(2025, 1, 27)  # a Monday
N_WEEKS = 62
N_DAYS = N_WEEKS * 7  # through Sunday 2026-04-05
OTHER = "other"

SAMPLE_PATH = Path(__file__).resolve().parent / "data" / "sample_market.csv.gz"
HEADER = ("date", "model", "input_tokens", "output_tokens")

# Calibration of the final two weeks (tokens, input + output).
FINAL_CN = 12_960_000_000_000
FINAL_US = 3_030_000_000_000
FINAL_TOTAL = 27_000_000_000_000
GROWTH_CN = Fraction("0.3148")
GROWTH_US = Fraction("0.0076")
GROWTH_TOTAL = Fraction("0.189")
STREAK_WEEKS = 5  # China-origin ahead of US-origin for exactly this many weeks

# Origin groups: CN, US and XX (every other origin, no origin, and ``other``).
GROUPS = ("CN", "US", "XX")

# Designed weekly totals in trillions of tokens at anchor weeks (0 = week of 2025-01-27);
# weeks in between are interpolated in log space. Weeks 60 and 61 are set exactly from
# the calibration figures above.
# fmt: off
_ANCHORS: dict[str, dict[int, float]] = {
    "CN": {
        0: 0.45, 4: 0.62, 8: 0.80, 13: 0.95, 17: 1.05, 22: 1.25, 26: 1.70, 30: 2.10,
        35: 2.45, 39: 2.80, 44: 3.10, 48: 3.35, 52: 3.70, 54: 3.92, 55: 4.05, 56: 4.20,
        57: 5.40, 58: 6.70, 59: 8.20,
    },
    "US": {
        0: 1.90, 4: 2.00, 9: 2.30, 13: 2.50, 17: 2.75, 22: 2.90, 26: 3.15, 30: 3.40,
        35: 3.65, 39: 3.90, 44: 4.10, 48: 4.25, 52: 4.40, 54: 4.44, 55: 4.42, 56: 4.36,
        57: 4.00, 58: 3.62, 59: 3.25,
    },
    "XX": {
        0: 0.90, 4: 1.00, 9: 1.15, 13: 1.30, 17: 1.50, 22: 1.75, 26: 2.10, 30: 2.50,
        35: 3.00, 39: 3.60, 44: 4.40, 48: 5.30, 52: 6.30, 54: 6.90, 55: 7.20, 56: 7.50,
        57: 8.05, 58: 8.65, 59: 9.25,
    },
}
# fmt: on

# Weekly noise on the designed curves: larger before this week, small after it (the
# calibrated final two weeks get none).
_CALM_FROM = 54

# Day-of-week factors (Monday first), per group: weekends about 20% lower.
_DOW = {
    "CN": (1.02, 1.05, 1.05, 1.03, 0.99, 0.83, 0.81),
    "US": (1.03, 1.06, 1.06, 1.04, 0.98, 0.78, 0.76),
    "XX": (1.02, 1.04, 1.04, 1.03, 0.99, 0.82, 0.80),
}

# Input:output ratio range by kind of workload.
_RATIO = {"code": (6.5, 10.0), "general": (4.0, 7.0), "chat": (3.0, 5.0), "reason": (3.0, 4.5)}


class _Spec(NamedTuple):
    model: str
    group: str
    released: date | None  # None: present from the first day (the ``other`` bucket)
    peak: float  # relative popularity within its group
    kind: str
    ramp: float  # ramp-up time constant, days
    hype: float  # launch spike height (decays over about two weeks)


def _m(
    model: str,
    group: str,
    released: str | None,
    peak: float,
    kind: str = "general",
    *,
    ramp: float = 7.0,
    hype: float = 0.0,
) -> _Spec:
    day = date.fromisoformat(released) if released else None
    return _Spec(model, group, day, peak, kind, ramp, hype)


_MODELS: tuple[_Spec, ...] = (
    # ---- China-origin models
    _m("deepseek/deepseek-chat", "CN", "2024-12-26", 10),
    _m("deepseek/deepseek-r1", "CN", "2025-01-20", 12, "reason", ramp=4, hype=0.8),
    _m("deepseek/deepseek-r1-distill-llama-70b", "CN", "2025-01-23", 1.5, "reason"),
    _m("qwen/qwen-2.5-72b-instruct", "CN", "2024-09-19", 2.5, "chat"),
    _m("qwen/qwen-turbo", "CN", "2025-02-01", 1.2, "chat"),
    _m("qwen/qwen-max", "CN", "2025-02-01", 1.0),
    _m("minimax/minimax-01", "CN", "2025-01-15", 1.0),
    _m("qwen/qwq-32b", "CN", "2025-03-05", 2.0, "reason"),
    _m("deepseek/deepseek-chat-v3-0324", "CN", "2025-03-24", 16, ramp=5, hype=0.5),
    _m("qwen/qwen3-30b-a3b", "CN", "2025-04-28", 3),
    _m("qwen/qwen3-235b-a22b", "CN", "2025-04-28", 5),
    _m("deepseek/deepseek-r1-0528", "CN", "2025-05-28", 9, "reason", ramp=5),
    _m("minimax/minimax-m1", "CN", "2025-06-17", 1.5, "reason"),
    _m("baidu/ernie-4.5-300b-a47b", "CN", "2025-06-30", 0.8),
    _m("tencent/hunyuan-a13b-instruct", "CN", "2025-07-08", 0.5),
    _m("moonshotai/kimi-k2", "CN", "2025-07-11", 9, ramp=5, hype=1.0),
    _m("qwen/qwen3-235b-a22b-2507", "CN", "2025-07-21", 5),
    _m("qwen/qwen3-coder", "CN", "2025-07-23", 12, "code", ramp=5, hype=1.0),
    _m("z-ai/glm-4.5", "CN", "2025-07-25", 6, "code"),
    _m("z-ai/glm-4.5-air", "CN", "2025-07-25", 5),
    _m("qwen/qwen3-coder-30b-a3b-instruct", "CN", "2025-07-31", 2, "code"),
    _m("stepfun-ai/step3", "CN", "2025-08-01", 0.8),
    _m("deepseek/deepseek-chat-v3.1", "CN", "2025-08-21", 12),
    _m("moonshotai/kimi-k2-0905", "CN", "2025-09-04", 8),
    _m("qwen/qwen3-max", "CN", "2025-09-05", 3),
    _m("meituan/longcat-flash-chat", "CN", "2025-09-09", 2, "chat", hype=1.5),
    _m("qwen/qwen3-next-80b-a3b-instruct", "CN", "2025-09-11", 3),
    _m("alibaba/tongyi-deepresearch-30b-a3b", "CN", "2025-09-18", 1.0, "reason"),
    _m("deepseek/deepseek-v3.1-terminus", "CN", "2025-09-22", 8),
    _m("deepseek/deepseek-v3.2-exp", "CN", "2025-09-29", 9),
    _m("z-ai/glm-4.6", "CN", "2025-09-30", 12, "code", ramp=5),
    _m("inclusionai/ling-1t", "CN", "2025-10-09", 0.8),
    _m("minimax/minimax-m2", "CN", "2025-10-23", 14, "code", ramp=4, hype=1.5),
    _m("moonshotai/kimi-k2-thinking", "CN", "2025-11-06", 5, "reason"),
    _m("kwaipilot/kat-coder-pro", "CN", "2025-11-10", 4, "code", hype=1.5),
    _m("deepseek/deepseek-v3.2", "CN", "2025-12-01", 22, ramp=6),
    _m("xiaomi/mimo-v2-flash", "CN", "2025-12-14", 8, "code", hype=1.5),
    _m("z-ai/glm-4.7", "CN", "2025-12-22", 14, "code"),
    _m("minimax/minimax-m2.1", "CN", "2025-12-23", 14, "code"),
    _m("bytedance-seed/seed-1.6", "CN", "2025-12-23", 1.2),
    _m("z-ai/glm-4.7-flash", "CN", "2026-01-19", 4, "code"),
    _m("moonshotai/kimi-k2.5", "CN", "2026-01-27", 20, ramp=4, hype=1.0),
    _m("stepfun/step-3.5-flash", "CN", "2026-01-29", 10, hype=2.0),
    _m("qwen/qwen3-coder-next", "CN", "2026-02-04", 5, "code"),
    _m("z-ai/glm-5", "CN", "2026-02-11", 18, "code", ramp=5, hype=0.5),
    _m("minimax/minimax-m2.5", "CN", "2026-02-12", 20, "code", hype=1.0),
    _m("qwen/qwen3.5-397b-a17b", "CN", "2026-02-16", 8),
    _m("qwen/qwen3.5-plus-02-15", "CN", "2026-02-16", 6),
    _m("qwen/qwen3.5-flash-02-23", "CN", "2026-02-25", 5, "chat"),
    _m("bytedance-seed/seed-2.0-mini", "CN", "2026-02-26", 1.5, "chat"),
    _m("z-ai/glm-5-turbo", "CN", "2026-03-15", 8, "code"),
    _m("minimax/minimax-m2.7", "CN", "2026-03-18", 16, "code", ramp=4),
    _m("xiaomi/mimo-v2-pro", "CN", "2026-03-18", 14, ramp=4, hype=1.0),
    _m("kwaipilot/kat-coder-pro-v2", "CN", "2026-03-27", 5, "code"),
    _m("qwen/qwen3.6-plus", "CN", "2026-04-02", 25, ramp=2, hype=1.5),
    # ---- US-origin models
    _m("openai/gpt-4o", "US", "2024-05-13", 5, "chat"),
    _m("openai/gpt-4o-mini", "US", "2024-07-18", 8, "chat"),
    _m("anthropic/claude-3.5-sonnet", "US", "2024-06-20", 14, "code"),
    _m("meta-llama/llama-3.1-8b-instruct", "US", "2024-07-23", 2.5, "chat"),
    _m("nousresearch/hermes-3-llama-3.1-405b", "US", "2024-08-16", 0.5, "chat"),
    _m("amazon/nova-lite-v1", "US", "2024-12-05", 0.6),
    _m("meta-llama/llama-3.3-70b-instruct", "US", "2024-12-06", 4),
    _m("microsoft/phi-4", "US", "2025-01-10", 0.4),
    _m("perplexity/sonar", "US", "2025-01-27", 0.8, "chat"),
    _m("openai/o3-mini", "US", "2025-01-31", 3, "reason"),
    _m("google/gemini-2.0-flash-001", "US", "2025-02-05", 12),
    _m("anthropic/claude-3.7-sonnet", "US", "2025-02-24", 18, "code", ramp=4),
    _m("google/gemma-3-27b-it", "US", "2025-03-12", 1.5, "chat"),
    _m("google/gemini-2.5-pro", "US", "2025-03-25", 12),
    _m("meta-llama/llama-4-maverick", "US", "2025-04-05", 2.5),
    _m("x-ai/grok-3-mini", "US", "2025-04-09", 2, "reason"),
    _m("openai/gpt-4.1", "US", "2025-04-14", 5),
    _m("openai/gpt-4.1-mini", "US", "2025-04-14", 5),
    _m("openai/o4-mini", "US", "2025-04-16", 3, "reason"),
    _m("google/gemini-2.5-flash", "US", "2025-04-17", 16),
    _m("inception/mercury-coder", "US", "2025-05-01", 0.5, "code"),
    _m("anthropic/claude-sonnet-4", "US", "2025-05-22", 28, "code", ramp=4),
    _m("anthropic/claude-opus-4", "US", "2025-05-22", 4, "code"),
    _m("google/gemini-2.5-flash-lite", "US", "2025-06-17", 5, "chat"),
    _m("x-ai/grok-4", "US", "2025-07-09", 3, "reason"),
    _m("openai/gpt-oss-120b", "US", "2025-08-05", 6, ramp=5),
    _m("openai/gpt-oss-20b", "US", "2025-08-05", 2),
    _m("openai/gpt-5", "US", "2025-08-07", 8),
    _m("openai/gpt-5-mini", "US", "2025-08-07", 4),
    _m("x-ai/grok-code-fast-1", "US", "2025-08-26", 22, "code", ramp=3, hype=1.5),
    _m("nvidia/nemotron-nano-9b-v2", "US", "2025-09-05", 1.0),
    _m("x-ai/grok-4-fast", "US", "2025-09-19", 12, hype=2.0),
    _m("anthropic/claude-sonnet-4.5", "US", "2025-09-29", 32, "code", ramp=3),
    _m("anthropic/claude-haiku-4.5", "US", "2025-10-15", 5, "code"),
    _m("liquid/lfm2-8b-a1b", "US", "2025-10-20", 0.3, "chat"),
    _m("openai/gpt-5.1", "US", "2025-11-13", 7),
    _m("google/gemini-3-pro-preview", "US", "2025-11-18", 12),
    _m("x-ai/grok-4.1-fast", "US", "2025-11-19", 14, hype=1.5),
    _m("anthropic/claude-opus-4.5", "US", "2025-11-24", 16, "code"),
    _m("openai/gpt-5.2", "US", "2025-12-10", 8),
    _m("nvidia/nemotron-3-nano-30b-a3b", "US", "2025-12-14", 1.5),
    _m("google/gemini-3-flash-preview", "US", "2025-12-17", 18, ramp=4),
    _m("allenai/olmo-3.1-32b-instruct", "US", "2026-01-06", 0.3, "chat"),
    _m("arcee-ai/trinity-large-preview", "US", "2026-01-27", 3, hype=2.0),
    _m("anthropic/claude-opus-4.6", "US", "2026-02-05", 22, "code", ramp=3),
    _m("anthropic/claude-sonnet-4.6", "US", "2026-02-17", 26, "code", ramp=3),
    _m("google/gemini-3.1-pro-preview", "US", "2026-02-19", 12),
    _m("openai/gpt-5.3-codex", "US", "2026-02-24", 6, "code"),
    _m("openai/gpt-5.4", "US", "2026-03-05", 10),
    _m("nvidia/nemotron-3-super-120b-a12b", "US", "2026-03-11", 4, hype=1.5),
    _m("openai/gpt-5.4-mini", "US", "2026-03-17", 4),
    _m("x-ai/grok-4.20", "US", "2026-03-31", 6, ramp=3),
    # ---- Every other origin, no origin, and the ``other`` bucket
    _m(OTHER, "XX", None, 100),
    _m("openrouter/auto", "XX", "2023-11-08", 2),
    _m("mistralai/mistral-nemo", "XX", "2024-07-18", 3, "chat"),
    _m("tokyotech-llm/llama-3.1-swallow-70b-instruct-v0.3", "XX", "2025-01-15", 0.1, "chat"),
    _m("mistralai/mistral-small-24b-instruct-2501", "XX", "2025-01-30", 1.5),
    _m("cohere/command-a", "XX", "2025-03-13", 0.5),
    _m("mistralai/mistral-small-3.1-24b-instruct", "XX", "2025-03-17", 2),
    _m("scb10x/llama3.1-typhoon2-70b-instruct", "XX", "2025-03-28", 0.1, "chat"),
    _m("shisa-ai/shisa-v2-llama3.3-70b", "XX", "2025-04-17", 0.15, "chat"),
    _m("tngtech/deepseek-r1t-chimera", "XX", "2025-04-27", 2, "reason"),
    _m("sarvamai/sarvam-m", "XX", "2025-05-25", 0.2, "chat"),
    _m("mistralai/mistral-small-3.2-24b-instruct", "XX", "2025-06-20", 3),
    _m("tngtech/deepseek-r1t2-chimera", "XX", "2025-07-08", 4, "reason", hype=1.0),
    _m("mistralai/codestral-2508", "XX", "2025-08-01", 1.0, "code"),
    _m("ai21/jamba-large-1.7", "XX", "2025-08-08", 0.3),
    _m("mistralai/mistral-medium-3.1", "XX", "2025-08-13", 1.5),
    _m("mistralai/devstral-2512", "XX", "2025-12-09", 3, "code", hype=1.5),
)

# model -> (successor, fade time constant in days, fraction of popularity kept): a model
# fades once its successor launches.
_FADES: dict[str, tuple[str, float, float]] = {
    "deepseek/deepseek-chat": ("deepseek/deepseek-chat-v3-0324", 40.0, 0.25),
    "deepseek/deepseek-r1": ("deepseek/deepseek-r1-0528", 45.0, 0.2),
    "deepseek/deepseek-r1-distill-llama-70b": ("deepseek/deepseek-r1-0528", 60.0, 0.2),
    "qwen/qwen-2.5-72b-instruct": ("qwen/qwen3-235b-a22b", 60.0, 0.2),
    "qwen/qwen-turbo": ("qwen/qwen3.5-flash-02-23", 90.0, 0.3),
    "qwen/qwen-max": ("qwen/qwen3-max", 30.0, 0.2),
    "minimax/minimax-01": ("minimax/minimax-m1", 40.0, 0.15),
    "qwen/qwq-32b": ("qwen/qwen3-30b-a3b", 60.0, 0.2),
    "deepseek/deepseek-chat-v3-0324": ("deepseek/deepseek-chat-v3.1", 50.0, 0.3),
    "qwen/qwen3-235b-a22b": ("qwen/qwen3-235b-a22b-2507", 30.0, 0.15),
    "deepseek/deepseek-r1-0528": ("deepseek/deepseek-chat-v3.1", 45.0, 0.25),
    "minimax/minimax-m1": ("minimax/minimax-m2", 30.0, 0.1),
    "moonshotai/kimi-k2": ("moonshotai/kimi-k2-0905", 20.0, 0.15),
    "qwen/qwen3-235b-a22b-2507": ("qwen/qwen3.5-397b-a17b", 40.0, 0.2),
    "qwen/qwen3-coder": ("qwen/qwen3-coder-next", 45.0, 0.3),
    "z-ai/glm-4.5": ("z-ai/glm-4.6", 25.0, 0.15),
    "z-ai/glm-4.5-air": ("z-ai/glm-4.7-flash", 40.0, 0.3),
    "stepfun-ai/step3": ("stepfun/step-3.5-flash", 20.0, 0.1),
    "deepseek/deepseek-chat-v3.1": ("deepseek/deepseek-v3.1-terminus", 20.0, 0.2),
    "moonshotai/kimi-k2-0905": ("moonshotai/kimi-k2.5", 20.0, 0.15),
    "qwen/qwen3-max": ("qwen/qwen3.5-plus-02-15", 30.0, 0.3),
    "qwen/qwen3-next-80b-a3b-instruct": ("qwen/qwen3.5-flash-02-23", 40.0, 0.3),
    "deepseek/deepseek-v3.1-terminus": ("deepseek/deepseek-v3.2-exp", 15.0, 0.2),
    "deepseek/deepseek-v3.2-exp": ("deepseek/deepseek-v3.2", 15.0, 0.1),
    "z-ai/glm-4.6": ("z-ai/glm-4.7", 25.0, 0.2),
    "minimax/minimax-m2": ("minimax/minimax-m2.1", 20.0, 0.15),
    "moonshotai/kimi-k2-thinking": ("moonshotai/kimi-k2.5", 30.0, 0.25),
    "kwaipilot/kat-coder-pro": ("kwaipilot/kat-coder-pro-v2", 30.0, 0.2),
    "z-ai/glm-4.7": ("z-ai/glm-5", 25.0, 0.3),
    "minimax/minimax-m2.1": ("minimax/minimax-m2.5", 20.0, 0.15),
    "minimax/minimax-m2.5": ("minimax/minimax-m2.7", 30.0, 0.5),
    "openai/gpt-4o": ("openai/gpt-4.1", 90.0, 0.25),
    "openai/gpt-4o-mini": ("openai/gpt-4.1-mini", 90.0, 0.3),
    "anthropic/claude-3.5-sonnet": ("anthropic/claude-3.7-sonnet", 25.0, 0.08),
    "meta-llama/llama-3.3-70b-instruct": ("meta-llama/llama-4-maverick", 200.0, 0.5),
    "openai/o3-mini": ("openai/o4-mini", 30.0, 0.15),
    "google/gemini-2.0-flash-001": ("google/gemini-2.5-flash", 60.0, 0.25),
    "anthropic/claude-3.7-sonnet": ("anthropic/claude-sonnet-4", 30.0, 0.1),
    "google/gemini-2.5-pro": ("google/gemini-3-pro-preview", 60.0, 0.3),
    "x-ai/grok-3-mini": ("x-ai/grok-4-fast", 20.0, 0.1),
    "openai/gpt-4.1": ("openai/gpt-5", 90.0, 0.35),
    "openai/gpt-4.1-mini": ("openai/gpt-5-mini", 120.0, 0.4),
    "openai/o4-mini": ("openai/gpt-5-mini", 40.0, 0.2),
    "google/gemini-2.5-flash": ("google/gemini-3-flash-preview", 60.0, 0.4),
    "anthropic/claude-sonnet-4": ("anthropic/claude-sonnet-4.5", 30.0, 0.15),
    "anthropic/claude-opus-4": ("anthropic/claude-opus-4.5", 30.0, 0.05),
    "x-ai/grok-4": ("x-ai/grok-4.20", 60.0, 0.3),
    "openai/gpt-5": ("openai/gpt-5.1", 30.0, 0.2),
    "openai/gpt-5-mini": ("openai/gpt-5.4-mini", 30.0, 0.3),
    "x-ai/grok-4-fast": ("x-ai/grok-4.1-fast", 15.0, 0.1),
    "anthropic/claude-sonnet-4.5": ("anthropic/claude-sonnet-4.6", 25.0, 0.2),
    "openai/gpt-5.1": ("openai/gpt-5.2", 25.0, 0.2),
    "google/gemini-3-pro-preview": ("google/gemini-3.1-pro-preview", 20.0, 0.1),
    "anthropic/claude-opus-4.5": ("anthropic/claude-opus-4.6", 20.0, 0.15),
    "openai/gpt-5.2": ("openai/gpt-5.4", 25.0, 0.25),
    "mistralai/mistral-nemo": ("mistralai/mistral-small-3.2-24b-instruct", 150.0, 0.4),
    "mistralai/mistral-small-24b-instruct-2501": (
        "mistralai/mistral-small-3.1-24b-instruct",
        40.0,
        0.2,
    ),
    "mistralai/mistral-small-3.1-24b-instruct": (
        "mistralai/mistral-small-3.2-24b-instruct",
        40.0,
        0.3,
    ),
    "tngtech/deepseek-r1t-chimera": ("tngtech/deepseek-r1t2-chimera", 30.0, 0.2),
}


def _week_targets(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Designed weekly token totals per origin group (int64, one value per week)."""
    weeks = np.arange(N_WEEKS, dtype=np.float64)
    sigma = np.where(weeks < _CALM_FROM, 0.02, 0.008)
    noise = np.exp(rng.normal(0.0, 1.0, size=(len(GROUPS), N_WEEKS)) * sigma)
    targets: dict[str, np.ndarray] = {}
    for g, group in enumerate(GROUPS):
        anchors = _ANCHORS[group]
        xs = np.array(sorted(anchors), dtype=np.float64)
        ys = np.log(np.array([anchors[k] for k in sorted(anchors)], dtype=np.float64) * 1e12)
        curve = np.exp(np.interp(weeks, xs, ys)) * noise[g]
        targets[group] = np.rint(curve).astype(np.int64)

    # The calibrated final two weeks.
    def previous(final: int, growth: Fraction) -> int:
        return round(Fraction(final) / (1 + growth))

    cn_prev = previous(FINAL_CN, GROWTH_CN)
    us_prev = previous(FINAL_US, GROWTH_US)
    total_prev = previous(FINAL_TOTAL, GROWTH_TOTAL)
    targets["CN"][-2:] = (cn_prev, FINAL_CN)
    targets["US"][-2:] = (us_prev, FINAL_US)
    targets["XX"][-2:] = (total_prev - cn_prev - us_prev, FINAL_TOTAL - FINAL_CN - FINAL_US)

    ahead = targets["CN"] > targets["US"]
    streak = 0
    while streak < N_WEEKS and ahead[N_WEEKS - 1 - streak]:
        streak += 1
    if streak != STREAK_WEEKS:
        raise RuntimeError(f"designed curves give a {streak}-week streak, not {STREAK_WEEKS}")
    return targets


def _popularity(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """Unnormalized daily popularity of every model (rows) on every day (columns)."""
    released = {s.model: s.released for s in _MODELS}
    n_models = len(_MODELS)
    shocks = rng.normal(0.0, 0.06, size=(n_models, len(days)))
    noise = np.empty_like(shocks)
    noise[:, 0] = shocks[:, 0] / np.sqrt(1 - 0.85**2)
    for d in range(1, len(days)):
        noise[:, d] = 0.85 * noise[:, d - 1] + shocks[:, d]

    pop = np.zeros((n_models, len(days)), dtype=np.float64)
    for i, spec in enumerate(_MODELS):
        start = -10_000 if spec.released is None else (spec.released - START).days
        age = (days - start).astype(np.float64)
        active = age >= 0
        agep = np.where(active, age, 0.0)
        curve = spec.peak * (1.0 - np.exp(-(agep + 1.0) / spec.ramp))
        curve *= 1.0 + spec.hype * np.exp(-agep / 12.0)
        if spec.model in _FADES:
            successor, fade, floor = _FADES[spec.model]
            after = np.maximum(days - (released[successor] - START).days, 0).astype(np.float64)
            curve *= floor + (1.0 - floor) * np.exp(-after / fade)
        pop[i] = np.where(active, curve * np.exp(noise[i]), 0.0)
    return pop


def _daily_group_totals(
    rng: np.random.Generator, targets: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Each group's weekly total spread over its days (float, sums to the week exactly)."""
    out: dict[str, np.ndarray] = {}
    offset = np.arange(7, dtype=np.float64) - 3.0  # days from mid-week
    for group in GROUPS:
        # A within-week trend following the neighbouring weeks, so that days grow
        # smoothly instead of stepping at each Monday.
        level = np.log(targets[group].astype(np.float64))
        slope = np.gradient(level) / 7.0
        weights = np.tile(np.array(_DOW[group], dtype=np.float64), (N_WEEKS, 1))
        weights *= np.exp(slope[:, None] * offset[None, :])
        weights *= np.exp(rng.normal(0.0, 0.025, size=weights.shape))
        weights /= weights.sum(axis=1, keepdims=True)
        out[group] = (weights * targets[group][:, None].astype(np.float64)).reshape(-1)
    return out


def _build(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(input tokens, output tokens, active mask), each models x days."""
    rng = np.random.default_rng(seed)
    days = np.arange(N_DAYS)
    targets = _week_targets(rng)
    group_days = _daily_group_totals(rng, targets)
    pop = _popularity(rng, days)
    active = pop > 0

    lo = np.array([_RATIO[s.kind][0] for s in _MODELS])
    hi = np.array([_RATIO[s.kind][1] for s in _MODELS])
    base_ratio = lo + (hi - lo) * rng.random(len(_MODELS))
    ratio = base_ratio[:, None] * np.exp(rng.normal(0.0, 0.06, size=pop.shape))
    ratio = np.clip(ratio, 3.0, 10.0)

    total = np.zeros(pop.shape, dtype=np.int64)
    groups = np.array([s.group for s in _MODELS])
    for group in GROUPS:
        rows = np.flatnonzero(groups == group)
        share = pop[rows] / pop[rows].sum(axis=0, keepdims=True)
        total[rows] = np.rint(share * group_days[group][None, :]).astype(np.int64)

    inp = np.rint(total * (ratio / (ratio + 1.0))).astype(np.int64)
    inp = np.where(active, inp, 0)
    out = total - inp

    # Put every group-week's rounding residual on its largest model's Sunday row.
    for group in GROUPS:
        rows = np.flatnonzero(groups == group)
        weekly = total[rows].reshape(len(rows), N_WEEKS, 7).sum(axis=2)
        residual = targets[group] - weekly.sum(axis=0)
        largest = rows[np.argmax(weekly, axis=0)]
        sundays = np.arange(N_WEEKS) * 7 + 6
        inp[largest, sundays] += residual
    if (inp < 0).any() or (out < 0).any():
        raise RuntimeError("negative token count")
    return inp, out, active


def generate(seed: int = DEFAULT_SEED) -> pa.Table:
    """The synthetic sample market table: date, model, input_tokens, output_tokens.

    Rows are sorted by date, then model. Every call with the same seed returns the same
    table.
    """
    inp, out, active = _build(seed)
    order = sorted(range(len(_MODELS)), key=lambda i: _MODELS[i].model)
    dates: list[date] = []
    models: list[str] = []
    ins: list[int] = []
    outs: list[int] = []
    for d in range(N_DAYS):
        day = START + timedelta(days=d)
        for i in order:
            if active[i, d]:
                dates.append(day)
                models.append(_MODELS[i].model)
                ins.append(int(inp[i, d]))
                outs.append(int(out[i, d]))
    return pa.table(
        {
            "date": pa.array(dates, pa.date32()),
            "model": pa.array(models, pa.string()),
            "input_tokens": pa.array(ins, pa.int64()),
            "output_tokens": pa.array(outs, pa.int64()),
        }
    )


def to_csv_bytes(table: pa.Table) -> bytes:
    """The table as gzip-compressed CSV bytes, deterministic (no timestamp, no name)."""
    lines = [",".join(HEADER)]
    cols = [table.column(name).to_pylist() for name in HEADER]
    for day, model, i, o in zip(*cols, strict=True):
        lines.append(f"{day.isoformat()},{model},{i},{o}")
    text = ("\n".join(lines) + "\n").encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(text)
    return buf.getvalue()


def write(path: str | Path = SAMPLE_PATH, seed: int = DEFAULT_SEED) -> None:
    """Write the sample as a gzip CSV to ``path`` (default: the shipped file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_csv_bytes(generate(seed)))


if __name__ == "__main__":
    write(SAMPLE_PATH)
    print(f"wrote {SAMPLE_PATH}")
