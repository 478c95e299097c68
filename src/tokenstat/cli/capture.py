"""Live capture commands: ``collect`` (OTLP/HTTP receiver) and ``proxy`` (metering proxy).

Both write through a spool directory into the ledger (docs/capture.md); the capture
machinery (uvicorn, protobuf, httpx) loads only when one of them runs.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tokenstat.cli.app import command, err, state
from tokenstat.errors import QueryError

if TYPE_CHECKING:
    import subprocess

SPOOL_ENV = "TOKENSTAT_SPOOL"
TOKEN_ENV = "TOKENSTAT_COLLECT_TOKEN"

SPOOL_HELP = (
    "Spool directory (write-ahead log of what was accepted); default $TOKENSTAT_SPOOL, else "
    "'spool' beside the ledger."
)


def default_spool(ledger_path: Path) -> Path:
    """``$TOKENSTAT_SPOOL``, else ``<ledger name>.spool`` beside the ledger."""
    env = os.environ.get(SPOOL_ENV)
    return Path(env) if env else ledger_path.with_name(ledger_path.stem + ".spool")


def _port(value: int, option: str) -> int:
    if not 0 < value < 65536:
        raise QueryError(f"{option} must be from 1 to 65535, not {value}")
    return value


def _warn_if_open(host: str, what: str) -> None:
    from tokenstat.web.hosts import is_loopback, is_wildcard

    if not is_loopback(host):
        where = "every address of this machine" if is_wildcard(host) else host
        err.print(
            f"warning: {what} listens on {where}: anyone who can reach it can send data "
            "into the ledger",
            style="yellow",
            markup=False,
            soft_wrap=True,
        )


def capture_parts(
    spool_dir: Path | None,
    *,
    collect: tuple[str, int, str | None] | None = None,
    proxy: tuple[str, int, str] | None = None,
    extra: list[Any] | None = None,
    spool_limit: int | None = None,
) -> None:
    """Open the spool and the loader, serve the receiver and/or the proxy (plus ``extra``
    endpoints), and drain on stop. ``collect``: (host, port, token); ``proxy``: (host,
    port, upstream)."""
    from tokenstat.capture.loader import Loader
    from tokenstat.capture.serving import Endpoint, run_capture
    from tokenstat.capture.spool import DEFAULT_LIMIT, Spool
    from tokenstat.ledger import default_ledger_path

    ledger_path = Path(state.db) if state.db else default_ledger_path()
    spool = Spool(spool_dir or default_spool(ledger_path), limit=spool_limit or DEFAULT_LIMIT)
    try:
        loader = Loader(spool, ledger_path, state.catalog(), note=_note)
    except BaseException:
        spool.close()
        raise
    endpoints = list(extra or [])
    if collect is not None:
        from tokenstat.capture.otlp_receiver import Receiver

        host, port, token = collect
        status = lambda: {"rows_loaded": loader.rows_loaded, "flushes": loader.flushes}  # noqa: E731
        endpoints.append(
            Endpoint(Receiver(spool, token=token, status=status), host, port, "OTLP receiver")
        )
    if proxy is not None:
        from tokenstat.capture.proxy import MeteringProxy

        host, port, upstream = proxy
        endpoints.append(
            Endpoint(MeteringProxy(upstream, spool), host, port, f"proxy to {upstream}")
        )
    run_capture(spool, loader, endpoints, note=_note)


def _note(message: str) -> None:
    err.print(message, markup=False, soft_wrap=True)


@command("collect")
def collect(
    host: str = typer.Option("127.0.0.1", help="Address to bind (default: this machine only)."),
    port: int = typer.Option(4318, help="Port (4318 is OTLP/HTTP's)."),
    token: str | None = typer.Option(
        None,
        envvar=TOKEN_ENV,
        help="Bearer token every request must carry (Authorization: Bearer TOKEN).",
    ),
    spool: Path | None = typer.Option(None, "--spool", help=SPOOL_HELP),
    spool_limit: int | None = typer.Option(
        None,
        "--spool-limit",
        help="Bytes accepted but not yet loaded beyond which senders get 429 (default 1 GiB).",
    ),
    proxy_upstream: str | None = typer.Option(
        None, "--proxy-upstream", metavar="URL", help="Also run the metering proxy to URL."
    ),
    proxy_port: int = typer.Option(8787, "--proxy-port", help="Port of the proxy."),
) -> None:
    """Receive OpenTelemetry (OTLP/HTTP: traces, metrics, logs) into the ledger, live.

    A batch is answered 200 only once it is on disk (docs/capture.md).

    \b
    Examples:
      tokenstat collect
      OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 my-agent
      tokenstat collect --port 4318 --token s3cret
    """
    _port(port, "--port")
    _warn_if_open(host, "the receiver")
    proxy = None
    if proxy_upstream:
        from tokenstat.capture.proxy import check_upstream

        proxy = (host, _port(proxy_port, "--proxy-port"), check_upstream(proxy_upstream))
    capture_parts(spool, collect=(host, port, token), proxy=proxy, spool_limit=spool_limit)


@command("proxy")
def proxy(
    upstream: str = typer.Option(..., help="Base URL requests go to, e.g. https://api.openai.com."),
    host: str = typer.Option("127.0.0.1", help="Address to bind (default: this machine only)."),
    port: int = typer.Option(8787, help="Port to listen on."),
    spool: Path | None = typer.Option(None, "--spool", help=SPOOL_HELP),
) -> None:
    """Meter LLM API calls: forward to --upstream, record model, tokens, status, latency.

    Prompts and completions are never stored; API keys pass through, never written.

    \b
    Examples:
      tokenstat proxy --upstream https://api.openai.com
      OPENAI_BASE_URL=http://127.0.0.1:8787/v1 my-app
      tokenstat proxy --upstream https://api.anthropic.com --port 8788
    """
    from tokenstat.capture.proxy import check_upstream

    _port(port, "--port")
    _warn_if_open(host, "the proxy")
    capture_parts(spool, proxy=(host, port, check_upstream(upstream)))


@contextmanager
def capture_child(collect: bool, upstream: str | None) -> Iterator[None]:
    """For ``serve --collect --proxy-upstream``: run ``collect`` (and/or ``proxy``) in a
    child process on the same ledger while the block runs, then stop it (SIGTERM: it
    drains its spool). A child, because DuckDB does not let one process hold a file
    read-only (the dashboard) and read-write (the loader) at once; across processes the
    ledger's lock waiting applies. Returns once the child answers."""
    if not collect and not upstream:
        yield
        return
    from tokenstat.capture.proxy import check_upstream

    args = ["collect"] if collect else ["proxy", "--upstream", check_upstream(upstream or "")]
    if collect and upstream:
        args += ["--proxy-upstream", check_upstream(upstream)]
    cli = [sys.executable, "-c", "from tokenstat.cli import main; main()"]
    if state.db:
        cli += ["--db", str(state.db)]
    import subprocess

    child = subprocess.Popen([*cli, *args], preexec_fn=_stop_with_parent)
    try:
        _wait_listening(child, 4318 if collect else 8787)
        yield
    finally:
        if child.poll() is None:
            child.terminate()
            child.wait(120)


def _wait_listening(child: subprocess.Popen, port: int, timeout: float = 60.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise QueryError(f"the capture process stopped (exit {child.returncode})")
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise QueryError(f"the capture process did not start listening on port {port}")


def _stop_with_parent() -> None:
    """In the child (Linux): get SIGTERM when the parent dies, so that no capture process
    outlives the dashboard that started it."""
    import contextlib
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
