"""Nothing acknowledged is lost: a real `tokenstat collect` process, SIGKILLed twice while
exporters send protobuf batches, restarted on the same spool and ledger, then SIGTERMed.

The exporters behave as OTLP exporters do: a batch is sent again until it is answered
200 (a refused connection, a 429 or a 5xx is retried). Expected event ids are computed
here from the trace and span ids sent, with the documented formula (blake2b-128 of
``otlp``, trace id and span id in hex, joined by the unit separator)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import httpx

from tests.capture.conftest import free_port, genai_spans, span_request

BATCHES, PER_BATCH, THREADS = 64, 256, 4  # 16,384 spans


def expected_id(trace: int, span: int) -> str:
    text = "\x1f".join(["otlp", trace.to_bytes(16, "big").hex(), span.to_bytes(8, "big").hex()])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def start_collect(tmp: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "TOKENSTAT_DB": str(tmp / "ledger.duckdb"), "TOKENSTAT_LOCK_TIMEOUT": "30"}
    cli = [sys.executable, "-c", "from tokenstat.cli import main; main()"]
    process = subprocess.Popen(
        [*cli, "collect", "--port", str(port), "--spool", str(tmp / "spool")],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/status", timeout=0.5)
            return process
        except httpx.HTTPError:
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.05)
    raise AssertionError("collect did not start")


def test_sigkill_twice_then_sigterm_keeps_exactly_the_acknowledged_spans(tmp_path):
    port = free_port()
    bodies = [
        span_request(genai_spans(b * PER_BATCH, PER_BATCH, trace=7)).SerializeToString()
        for b in range(BATCHES)
    ]
    acked: list[int] = []
    lock = threading.Lock()
    retries = [0]

    def exporter(which: int) -> None:
        with httpx.Client(timeout=10) as client:
            for b in range(which, BATCHES, THREADS):
                while True:
                    try:
                        answer = client.post(
                            f"http://127.0.0.1:{port}/v1/traces",
                            content=bodies[b],
                            headers={"content-type": "application/x-protobuf"},
                        )
                        if answer.status_code == 200:
                            break
                        assert answer.status_code in (429, 502, 503, 504), answer.text
                    except httpx.HTTPError:
                        pass
                    with lock:
                        retries[0] += 1
                    time.sleep(0.05)
                with lock:
                    acked.append(b)
                time.sleep(0.02)

    process = start_collect(tmp_path, port)
    try:
        threads = [threading.Thread(target=exporter, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for fraction in (1 / 3, 2 / 3):  # two kills mid-stream, each followed by a restart
            while len(acked) < BATCHES * fraction:
                time.sleep(0.005)
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            process.stderr.close()
            process = start_collect(tmp_path, port)
        for t in threads:
            t.join(120)
        assert sorted(acked) == list(range(BATCHES))
        assert retries[0] > 0  # the kills did interrupt the stream

        # reports in another process answer while collect runs, and the captured rows appear
        # in them once the loader has moved them into the ledger
        env = {**os.environ, "TOKENSTAT_DB": str(tmp_path / "ledger.duckdb"), "COLUMNS": "200"}
        deadline = time.monotonic() + 60
        while True:
            report = subprocess.run(
                [sys.executable, "-c", "from tokenstat.cli import main; main()", "daily", "--json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert report.returncode == 0, report.stderr
            if json.loads(report.stdout)["totals"]["input_tokens"] > 0:
                break
            assert time.monotonic() < deadline, "the captured rows never reached the reports"
            time.sleep(0.5)

        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
        process.stderr.close()
    finally:  # a failed assertion must not leave a receiver running
        if process.poll() is None:
            process.kill()
            process.wait(10)

    con = duckdb.connect(str(tmp_path / "ledger.duckdb"), read_only=True)
    try:
        ids = [r[0] for r in con.execute("SELECT event_id FROM usage").fetchall()]
        tokens = con.execute("SELECT sum(input_tokens), sum(output_tokens) FROM usage").fetchone()
    finally:
        con.close()
    want = {expected_id(7, s) for s in range(BATCHES * PER_BATCH)}
    assert len(ids) == BATCHES * PER_BATCH  # exactly once: no span lost, none twice
    assert set(ids) == want
    assert tokens == (100 * BATCHES * PER_BATCH, 20 * BATCHES * PER_BATCH)
