"""Memory benchmark: import a ~2 GB file and check the peak RSS stays under 1 GiB.

Two representative importers, each on a file generated in a temporary directory:

- ``otlp``: OpenTelemetry collector file-exporter output (JSON Lines, one
  ExportTraceServiceRequest of 20 GenAI spans per line), read line by line;
- ``csv``: a generic usage table with a column mapping, read in blocks and converted with
  Arrow compute.

Each import runs through the CLI (``tokenstat --db ... import ...``) in its own process;
its peak resident set size is read from ``resource.getrusage(RUSAGE_CHILDREN)`` by a small
wrapper process that runs nothing else. The ledger is a fresh DuckDB file per case.
DuckDB keeps written blocks in memory up to its memory limit (the ledger's default,
512MB, unless ``TOKENSTAT_MEMORY_LIMIT`` or ``--ledger-memory`` says otherwise) and spills
beyond it.
The run fails (exit 1) when an import peaks at 1 GiB or more.

Usage::

    python benchmarks/bench_memory.py                 # ~2 GB per file
    python benchmarks/bench_memory.py --size-mb 200   # a quick run
    python benchmarks/bench_memory.py --keep DIR      # keep the generated files in DIR
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT_BYTES = 1 << 30
SPANS_PER_LINE = 20
MODELS = (
    ("openai", "gpt-4o-2024-08-06"),
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("gcp.gemini", "gemini-2.5-flash"),
    ("openai", "o4-mini-2025-04-16"),
    ("deepseek", "deepseek-chat"),
)
START_NANOS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
CSV_MAPPING = (
    "ts=request_ts,model=engine,project=team,input_tokens=prompt_tokens,"
    "cache_read_tokens=cached_tokens,output_tokens=completion_tokens,"
    "cost_reported=price_usd,event_id=call_id"
)


def _span(index: int) -> dict:
    provider, model = MODELS[index % len(MODELS)]
    start = START_NANOS + index * 1_700_000_000  # one call every 1.7 s
    prompt = 500 + (index * 37) % 9000
    cached = (prompt // 2) if index % 3 else 0

    def attr(key: str, value: object) -> dict:
        kind = "intValue" if isinstance(value, int) else "stringValue"
        return {"key": key, "value": {kind: str(value) if kind == "intValue" else value}}

    return {
        "traceId": f"{index // 4:032x}",
        "spanId": f"{index:016x}",
        "parentSpanId": "",
        "name": f"chat {model}",
        "kind": 3,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 900_000_000),
        "attributes": [
            attr("gen_ai.operation.name", "chat"),
            attr("gen_ai.provider.name", provider),
            attr("gen_ai.request.model", model),
            attr("gen_ai.response.model", model),
            attr("gen_ai.response.id", f"resp-{index:012d}"),
            attr("gen_ai.usage.input_tokens", prompt),
            attr("gen_ai.usage.output_tokens", 40 + index % 700),
            attr("gen_ai.usage.cache_read.input_tokens", cached),
            attr("gen_ai.conversation.id", f"conv-{index // 12}"),
            attr("server.address", "api.example.com"),
        ],
        "status": {},
    }


def write_otlp(path: Path, size: int) -> int:
    """JSON Lines of export requests, ``size`` bytes or a little more; returns the spans."""
    spans = 0
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        while written < size:
            batch = {
                "resourceSpans": [
                    {
                        "resource": {
                            "attributes": [
                                {"key": "service.name", "value": {"stringValue": "bench-app"}},
                                {
                                    "key": "telemetry.sdk.name",
                                    "value": {"stringValue": "opentelemetry"},
                                },
                            ]
                        },
                        "scopeSpans": [
                            {
                                "scope": {"name": "opentelemetry.instrumentation.openai_v2"},
                                "spans": [_span(spans + i) for i in range(SPANS_PER_LINE)],
                            }
                        ],
                    }
                ]
            }
            line = json.dumps(batch, separators=(",", ":")) + "\n"
            out.write(line)
            written += len(line)
            spans += SPANS_PER_LINE
    return spans


def write_csv(path: Path, size: int) -> int:
    """A generic usage table of ``size`` bytes or a little more; returns the rows."""
    teams = ("search", "billing", "support", "research")
    rows = 0
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        header = (
            "request_ts,engine,team,prompt_tokens,cached_tokens,completion_tokens,"
            "price_usd,call_id\n"
        )
        out.write(header)
        written += len(header)
        while written < size:
            lines = []
            for i in range(rows, rows + 10_000):
                seconds = 1_767_225_600 + i * 2
                prompt = 500 + (i * 37) % 9000
                lines.append(
                    f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(seconds))},"
                    f"{MODELS[i % len(MODELS)][1]},{teams[i % 4]},{prompt},"
                    f"{prompt // 2 if i % 3 else 0},{40 + i % 700},"
                    f"{prompt * 2.5e-6:.6f},call-{i:012d}\n"
                )
            chunk = "".join(lines)
            out.write(chunk)
            written += len(chunk)
            rows += 10_000
    return rows


def measure(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Run a command in a wrapper process; (seconds, peak RSS bytes of the command, stderr)."""
    wrapper = (
        "import resource, subprocess, sys, json\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'rc': p.returncode, 'peak_kib': peak, 'stderr': p.stderr[-4000:]}))\n"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *args], capture_output=True, text=True, env=env, check=True
    )
    elapsed = time.perf_counter() - started
    report = json.loads(done.stdout)
    if report["rc"] != 0:
        raise SystemExit(f"import failed ({report['rc']}):\n{report['stderr']}")
    peak = report["peak_kib"] * 1024 if platform.system() == "Linux" else report["peak_kib"]
    return elapsed, peak, report["stderr"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=2048, help="size of each input file")
    parser.add_argument("--keep", type=Path, help="generate into (and keep) this directory")
    parser.add_argument("--only", choices=("otlp", "csv"), help="run one case only")
    parser.add_argument(
        "--ledger-memory", help="the ledger's DuckDB memory limit (default: its own)"
    )
    opts = parser.parse_args()

    size = opts.size_mb << 20
    with tempfile.TemporaryDirectory(prefix="tokenstat-bench-") as tmp:
        work = opts.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "TOKENSTAT_DB"}
        env.setdefault("TOKENSTAT_CATALOG", str(work / "no-user-catalog.yaml"))
        env.pop("TOKENSTAT_MEMORY_LIMIT", None)
        if opts.ledger_memory:
            env["TOKENSTAT_MEMORY_LIMIT"] = opts.ledger_memory
        cases = []
        if opts.only in (None, "otlp"):
            cases.append(("otlp", work / "traces.jsonl", write_otlp, []))
        if opts.only in (None, "csv"):
            cases.append(("csv", work / "usage.csv", write_csv, ["--map", CSV_MAPPING]))
        results = []
        failed = False
        for name, path, writer, extra in cases:
            if not path.exists() or path.stat().st_size < size:
                started = time.perf_counter()
                records = writer(path, size)
                print(
                    f"generated {path.name}: {path.stat().st_size / 1e9:.2f} GB, {records:,} "
                    f"records in {time.perf_counter() - started:.0f} s",
                    file=sys.stderr,
                )
            ledger = work / f"{name}.duckdb"
            for stale in (ledger, Path(f"{ledger}.wal")):
                stale.unlink(missing_ok=True)
            command = [
                sys.executable, "-c", "from tokenstat.cli import main; main()", "--db", str(ledger),
                "import", name, str(path), *extra,
            ]  # fmt: skip
            seconds, peak, stderr = measure(command, env)
            summary = stderr.strip().splitlines()[-1] if stderr.strip() else ""
            ok = peak < LIMIT_BYTES
            failed = failed or not ok
            results.append((name, path.stat().st_size, seconds, peak, ok, summary))
            ledger.unlink(missing_ok=True)

    print(
        f"ledger memory limit {opts.ledger_memory or 'default'}; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    print(f"{'importer':<10}{'input':>10}{'time':>9}{'peak RSS':>11}  result")
    for name, nbytes, seconds, peak, ok, summary in results:
        verdict = "ok" if ok else "OVER 1 GiB"
        print(
            f"{name:<10}{nbytes / 1e9:>8.2f}GB{seconds:>8.0f}s{peak / 2**20:>8.0f} MiB  "
            f"{verdict}  ({summary})"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
