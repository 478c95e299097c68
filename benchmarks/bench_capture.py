"""Live capture throughput and proxy overhead, with baselines measured in the same run.

Receiver: concurrent exporters send protobuf trace exports of 512 GenAI spans to a real
`tokenstat collect` process for ``--seconds``; reported: spans/s acknowledged (each 200
means spooled and fsynced) and p50/p99 export latency, against the same client and
server stack answering without spooling (``baseline``).

Proxy: sequential requests to a fake upstream on 127.0.0.1, directly and through
`tokenstat proxy`: added latency p50/p99 for JSON answers, and time to first byte of a
stream. Run: ``python benchmarks/bench_capture.py [--seconds 60]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

PYTHON = sys.executable
CLI = [PYTHON, "-c", "from tokenstat.cli import main; main()"]

NULL_APP = """
import uvicorn, sys
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""

UPSTREAM_APP = """
import asyncio, json, sys, uvicorn
CHAT = json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3}}).encode()
CHUNK = (b'data: {"id":"c","model":"gpt-4o-mini",'
         b'"choices":[{"index":0,"delta":{"content":"x"}}]}\\n\\n')
USAGE = (b'data: {"id":"c","model":"gpt-4o-mini","choices":[],'
         b'"usage":{"prompt_tokens":5,"completion_tokens":9}}\\n\\n')
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        m = await receive(); body += m.get("body", b"")
        if not m.get("more_body"):
            break
    doc = json.loads(body or b"{}")
    if doc.get("stream"):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        for _ in range(5):
            await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
            await asyncio.sleep(0.002)
        if (doc.get("stream_options") or {}).get("include_usage"):
            await send({"type": "http.response.body", "body": USAGE, "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\\n\\n"})
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": CHAT})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "server exited"
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def batches(count: int, per: int) -> list[bytes]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    attrs = [
        KeyValue(key="gen_ai.operation.name", value=AnyValue(string_value="chat")),
        KeyValue(key="gen_ai.request.model", value=AnyValue(string_value="gpt-4o-mini")),
        KeyValue(key="gen_ai.provider.name", value=AnyValue(string_value="openai")),
        KeyValue(key="gen_ai.usage.input_tokens", value=AnyValue(int_value=120)),
        KeyValue(key="gen_ai.usage.output_tokens", value=AnyValue(int_value=30)),
    ]
    now = time.time_ns()
    out = []
    for b in range(count):
        request = ExportTraceServiceRequest()
        rs = request.resource_spans.add()
        rs.resource.attributes.append(
            KeyValue(key="service.name", value=AnyValue(string_value="bench"))
        )
        ss = rs.scope_spans.add()
        for i in range(per):
            span = ss.spans.add()
            span.trace_id = b.to_bytes(8, "big") + i.to_bytes(8, "big")
            span.span_id = (b * per + i).to_bytes(8, "big")
            span.name = "chat gpt-4o-mini"
            span.start_time_unix_nano = now
            span.end_time_unix_nano = now + 10**9
            span.attributes.extend(attrs)
        out.append(request.SerializeToString())
    return out


def export_load(url: str, bodies: list[bytes], seconds: float, threads: int) -> dict:
    latencies: list[float] = []
    sent = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(k: int) -> None:
        with httpx.Client(timeout=30) as client:
            n = k
            while time.monotonic() < stop:
                t = time.perf_counter()
                r = client.post(
                    url,
                    content=bodies[n % len(bodies)],
                    headers={"content-type": "application/x-protobuf"},
                )
                dt = time.perf_counter() - t
                n += threads
                if r.status_code == 200:
                    with lock:
                        latencies.append(dt * 1000)
                        sent[0] += 1

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    return {
        "requests": sent[0],
        "seconds": elapsed,
        "p50": pct(latencies, 0.5),
        "p99": pct(latencies, 0.99),
    }


def timed(client: httpx.Client, url: str, doc: dict, n: int) -> tuple[list[float], list[float]]:
    total, first = [], []
    for _ in range(n):
        t = time.perf_counter()
        with client.stream("POST", url, json=doc) as r:
            it = r.iter_raw()
            next(it, None)
            first.append((time.perf_counter() - t) * 1000)
            for _ in it:
                pass
        total.append((time.perf_counter() - t) * 1000)
    return total, first


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-capture-"))
    env = {**os.environ, "TOKENSTAT_DB": str(tmp / "ledger.duckdb")}
    bodies = batches(64, args.batch)
    procs: list[subprocess.Popen] = []
    try:
        port = free_port()
        null = subprocess.Popen([PYTHON, "-c", NULL_APP, str(port)])
        procs.append(null)
        wait_up(f"http://127.0.0.1:{port}/", null)
        base = export_load(
            f"http://127.0.0.1:{port}/v1/traces", bodies, args.seconds / 4, args.threads
        )
        null.terminate()
        null.wait()

        port = free_port()
        collect = subprocess.Popen(
            [*CLI, "collect", "--port", str(port), "--spool", str(tmp / "spool")], env=env
        )
        procs.append(collect)
        wait_up(f"http://127.0.0.1:{port}/status", collect)
        run = export_load(f"http://127.0.0.1:{port}/v1/traces", bodies, args.seconds, args.threads)
        t = time.monotonic()
        collect.terminate()
        collect.wait(300)
        drain = time.monotonic() - t

        up_port, proxy_port = free_port(), free_port()
        upstream = subprocess.Popen([PYTHON, "-c", UPSTREAM_APP, str(up_port)])
        procs.append(upstream)
        wait_up(f"http://127.0.0.1:{up_port}/", upstream)
        proxy = subprocess.Popen(
            [
                *CLI,
                "proxy",
                "--upstream",
                f"http://127.0.0.1:{up_port}",
                "--port",
                str(proxy_port),
                "--spool",
                str(tmp / "spool2"),
            ],
            env=env,
        )
        procs.append(proxy)
        wait_up(f"http://127.0.0.1:{proxy_port}/", proxy)
        chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        stream = {**chat, "stream": True}
        with httpx.Client(timeout=30) as client:
            timed(client, f"http://127.0.0.1:{up_port}/v1/chat/completions", chat, 50)
            timed(client, f"http://127.0.0.1:{proxy_port}/v1/chat/completions", chat, 50)
            direct, _ = timed(
                client, f"http://127.0.0.1:{up_port}/v1/chat/completions", chat, args.calls
            )
            via, _ = timed(
                client, f"http://127.0.0.1:{proxy_port}/v1/chat/completions", chat, args.calls
            )
            _, direct_ttfb = timed(
                client, f"http://127.0.0.1:{up_port}/v1/chat/completions", stream, args.calls // 2
            )
            _, via_ttfb = timed(
                client,
                f"http://127.0.0.1:{proxy_port}/v1/chat/completions",
                stream,
                args.calls // 2,
            )
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(60)
    spans = run["requests"] * args.batch
    base_spans = base["requests"] * args.batch
    print("| measure | tokenstat | baseline | ratio |")
    print("|---|---|---|---|")
    print(
        f"| spans/s ({args.batch} a batch, {args.threads} exporters, {run['seconds']:.0f} s) "
        f"| {spans / run['seconds']:,.0f} | {base_spans / base['seconds']:,.0f} (no spool) "
        f"| {spans / run['seconds'] / (base_spans / base['seconds']):.2f} |"
    )
    for q in ("p50", "p99"):
        print(
            f"| export latency {q} (ms) | {run[q]:.1f} | {base[q]:.1f} | {run[q] / base[q]:.2f} |"
        )
    for q, f in (("p50", 0.5), ("p99", 0.99)):
        d, v = pct(direct, f), pct(via, f)
        print(f"| proxy JSON call {q} (ms) | {v:.2f} | {d:.2f} (direct) | +{v - d:.2f} ms |")
        d, v = pct(direct_ttfb, f), pct(via_ttfb, f)
        print(f"| proxy stream TTFB {q} (ms) | {v:.2f} | {d:.2f} (direct) | +{v - d:.2f} ms |")
    print(f"\ndrain after SIGTERM: {drain:.1f} s; spans acknowledged: {spans:,}")


if __name__ == "__main__":
    main()
