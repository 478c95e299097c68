"""Running the capture servers: several ASGI apps on their ports, in one event loop.

SIGTERM or SIGINT stops them all gracefully (no new connections, requests in flight are
answered), then the caller drains the spool (`run_capture`); the process exits 0.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from tokenstat.capture.loader import Loader
from tokenstat.capture.spool import Spool


@dataclass(frozen=True)
class Endpoint:
    """One app to serve, and where."""

    app: Any
    host: str
    port: int
    name: str


class _Server(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        # one handler for all servers is installed by `serve_all`; no signal is raised
        # again after the shutdown, so the process can drain and exit 0
        yield


def serve_all(endpoints: list[Endpoint], on_started: Callable[[], None] | None = None) -> None:
    """Serve ``endpoints`` until SIGTERM/SIGINT; returns after a graceful stop."""
    servers = [
        _Server(
            uvicorn.Config(
                e.app,
                host=e.host,
                port=e.port,
                log_level="warning",
                lifespan="off",
                access_log=False,
                timeout_graceful_shutdown=10,
            )
        )
        for e in endpoints
    ]

    def stop(signum: int, frame: Any) -> None:
        for server in servers:
            server.should_exit = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}

    async def main() -> None:
        tasks = [asyncio.create_task(server.serve()) for server in servers]
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.01)
        if on_started is not None and all(s.started for s in servers):
            on_started()
        await asyncio.gather(*tasks)

    try:
        asyncio.run(main())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not all(s.started for s in servers):
        raise OSError("a capture server could not start (is the port in use?)")


def run_capture(
    spool: Spool,
    loader: Loader,
    endpoints: list[Endpoint],
    *,
    note: Callable[[str], None] | None = None,
) -> None:
    """Start the loader, serve until told to stop, then drain the spool into the ledger."""
    say = note or (lambda message: print(message, file=sys.stderr, flush=True))
    loader.start()
    try:
        serve_all(
            endpoints,
            on_started=lambda: say(
                "; ".join(f"{e.name} on http://{e.host}:{e.port}/" for e in endpoints)
                + " (Ctrl+C to stop)"
            ),
        )
    finally:
        say("tokenstat: stopping; loading what the spool holds into the ledger")
        loader.stop(drain=True)
        spool.close()
        say(f"tokenstat: stopped ({loader.rows_loaded} rows loaded)")
