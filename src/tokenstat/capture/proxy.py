"""The metering reverse proxy: an ASGI app forwarding every request to an upstream API.

Forwarded
    Method, path, query, headers (but hop-by-hop ones and ``X-Tokenstat-*``) and body go
    to ``upstream + path``; the answer comes back as it arrives: server-sent events are
    passed on event by event, nothing is buffered. API keys pass through untouched.

Metered (POST to a path ending in)
    ``/chat/completions`` (OpenAI and compatible gateways such as OpenRouter),
    ``/responses`` (OpenAI Responses), ``/messages`` (Anthropic). Usage comes from the JSON
    answer or from the stream: OpenAI's final usage chunk (``stream_options.include_usage``
    is added when the client did not ask for it, and that extra chunk is then not passed
    on), the Responses ``response.completed`` event, Anthropic's ``message_start`` and
    ``message_delta``. For these paths the proxy asks upstream for an uncompressed answer
    (``Accept-Encoding: identity``) so that it can read it.

Recorded (through the spool; one usage row of source ``proxy`` per call with usage, and
one ``proxy_calls`` row per call)
    model, provider (from the upstream host), status, latency and time to first byte (ms),
    whether streamed, the outcome, and app/user/project/session from the request headers
    ``X-Tokenstat-App``, ``X-Tokenstat-User``, ``X-Tokenstat-Project``,
    ``X-Tokenstat-Session`` (removed before forwarding). Never a prompt, a completion or
    a key: the caller is named by a keyed fingerprint (HMAC-SHA256 of the API key with a
    secret kept in the spool directory), used as the user when no header names one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tokenstat.capture import kinds
from tokenstat.capture.spool import Spool, SpoolError, SpoolFull
from tokenstat.errors import QueryError
from tokenstat.schema import normalize_anthropic_input
from tokenstat.sources.base import make_event_id

HEADER_PREFIX = "x-tokenstat-"
DIMENSION_HEADERS = {
    "app": "x-tokenstat-app",
    "user": "x-tokenstat-user",
    "project": "x-tokenstat-project",
    "session": "x-tokenstat-session",
}
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
MAX_METERED_BODY = 32 << 20  # bytes of a JSON answer kept to read its usage
SECRET_FILE = "proxy-secret"
_PROVIDERS = {
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "openrouter.ai": "openrouter",
}


def check_upstream(url: str) -> str:
    """``url`` without a trailing slash, if it is an http(s) URL with a host."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise QueryError(f"--upstream must be an http(s) URL, not {url!r}")
    return url.strip().rstrip("/")


def provider_of(upstream: str) -> str:
    """The provider a base URL points at: ``openai``, ``anthropic``, ``openrouter``, else the
    host name."""
    host = (urlsplit(upstream).hostname or "").lower()
    return _PROVIDERS.get(host, host)


def endpoint_of(path: str) -> str | None:
    """``chat``, ``responses`` or ``messages`` for a metered path; None otherwise."""
    path = path.rstrip("/")
    if path.endswith("/chat/completions"):
        return "chat"
    if path.endswith("/responses"):
        return "responses"
    if path.endswith("/messages"):
        return "messages"
    return None


def install_secret(directory: Path) -> bytes:
    """The per-install secret of caller fingerprints (created once, mode 0600)."""
    path = Path(directory) / SECRET_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return path.read_bytes()


def caller_fingerprint(headers: dict[str, str], secret: bytes) -> str | None:
    """``key:<12 hex>``: an HMAC of the request's API key (``Authorization: Bearer`` or
    ``x-api-key``); None without a key."""
    key = headers.get("x-api-key") or ""
    auth = headers.get("authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    if not key:
        return None
    return "key:" + hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()[:12]


def usage_of(endpoint: str, doc: Any) -> dict[str, int] | None:
    """Canonical token counts from a usage object of ``endpoint``'s shape; None without."""
    usage = doc.get("usage") if isinstance(doc, dict) else None
    if not isinstance(usage, dict):
        return None

    def n(obj: Any, key: str) -> int:
        value = obj.get(key) if isinstance(obj, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    if endpoint == "messages":
        read, write = n(usage, "cache_read_input_tokens"), n(usage, "cache_creation_input_tokens")
        return {
            "input_tokens": normalize_anthropic_input(n(usage, "input_tokens"), read, write),
            "cache_read_tokens": read,
            "cache_write_tokens": write,
            "output_tokens": n(usage, "output_tokens"),
        }
    if endpoint == "responses":
        return {
            "input_tokens": n(usage, "input_tokens"),
            "cache_read_tokens": n(usage.get("input_tokens_details"), "cached_tokens"),
            "output_tokens": n(usage, "output_tokens"),
            "reasoning_tokens": n(usage.get("output_tokens_details"), "reasoning_tokens"),
        }
    return {
        "input_tokens": n(usage, "prompt_tokens"),
        "cache_read_tokens": n(usage.get("prompt_tokens_details"), "cached_tokens"),
        "output_tokens": n(usage, "completion_tokens"),
        "reasoning_tokens": n(usage.get("completion_tokens_details"), "reasoning_tokens"),
    }


def _cost_of(doc: Any) -> float | None:
    usage = doc.get("usage") if isinstance(doc, dict) else None
    cost = usage.get("cost") if isinstance(usage, dict) else None  # OpenRouter's, in USD
    return float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None


class StreamMeter:
    """Reads usage from a server-sent event stream while passing it on.

    Anthropic's ``message_delta`` carries the counts so far (output, and input fields when
    they changed): they replace those of ``message_start``.

    `feed` takes bytes from upstream and returns the bytes to send on: all of them at once,
    except when ``drop_usage_chunk`` (the proxy asked for OpenAI's usage chunk): then whole
    events are passed on as each one ends, and the usage-only chunk is left out.
    """

    def __init__(self, endpoint: str, drop_usage_chunk: bool = False):
        self.endpoint = endpoint
        self.drop = drop_usage_chunk
        self.buffer = b""
        self.usage: dict[str, int] | None = None
        self.cost: float | None = None
        self.model: str | None = None
        self.response_id: str | None = None
        self._anthropic: dict[str, Any] = {}

    def feed(self, chunk: bytes) -> bytes:
        self.buffer += chunk
        out: list[bytes] = [] if self.drop else [chunk]
        while True:
            cut = _event_end(self.buffer)
            if cut is None:
                break
            event, self.buffer = self.buffer[:cut], self.buffer[cut:]
            keep = self._read(event)
            if self.drop and keep:
                out.append(event)
        return b"".join(out)

    def tail(self) -> bytes:
        """What is left when the stream ends (an event without its blank line)."""
        rest, self.buffer = self.buffer, b""
        if rest.strip():
            keep = self._read(rest)
            return rest if self.drop and keep else b""
        return rest if self.drop else b""

    def _read(self, event: bytes) -> bool:
        """Take what the event says; False for the chunk to leave out."""
        data = b"\n".join(
            line[5:].lstrip(b" ")
            for line in event.replace(b"\r\n", b"\n").split(b"\n")
            if line.startswith(b"data:")
        )
        if not data or data.strip() == b"[DONE]":
            return True
        try:
            doc = json.loads(data)
        except ValueError:
            return True
        if not isinstance(doc, dict):
            return True
        if self.endpoint == "messages":
            kind = doc.get("type")
            if kind == "message_start" and isinstance(doc.get("message"), dict):
                message = doc["message"]
                self.model = message.get("model") or self.model
                self.response_id = message.get("id") or self.response_id
                if isinstance(message.get("usage"), dict):
                    self._anthropic.update(message["usage"])
            elif kind == "message_delta" and isinstance(doc.get("usage"), dict):
                self._anthropic.update(doc["usage"])  # counts so far, not increments
            if self._anthropic:
                self.usage = usage_of("messages", {"usage": self._anthropic})
            return True
        if self.endpoint == "responses":
            response = doc.get("response")
            if doc.get("type") in ("response.completed", "response.incomplete") and isinstance(
                response, dict
            ):
                self.model = response.get("model") or self.model
                self.response_id = response.get("id") or self.response_id
                self.usage = usage_of("responses", response) or self.usage
            return True
        self.model = doc.get("model") or self.model
        self.response_id = doc.get("id") or self.response_id
        if isinstance(doc.get("usage"), dict):
            self.usage = usage_of("chat", doc)
            self.cost = _cost_of(doc)
            if self.drop and not doc.get("choices"):
                return False
        return True


def _event_end(buffer: bytes) -> int | None:
    """The end (past its blank line) of the first complete event in ``buffer``."""
    ends = [i + len(sep) for sep in (b"\n\n", b"\r\n\r\n", b"\r\r") if (i := buffer.find(sep)) >= 0]
    return min(ends) if ends else None


class MeteringProxy:
    """The ASGI app. ``upstream``: base URL; ``spool``: where calls are recorded;
    ``timeout``: seconds to wait for upstream (connect and between bytes)."""

    def __init__(self, upstream: str, spool: Spool, *, timeout: float = 600.0):
        self.upstream = check_upstream(upstream)
        self.provider = provider_of(self.upstream)
        self.spool = spool
        self.secret = install_secret(spool.directory)
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 30.0)),
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
                follow_redirects=False,
            )
        return self._client

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            from tokenstat.capture.otlp_receiver import _lifespan

            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        when = datetime.now(UTC)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = await _read_all(receive)
        if body is None:
            return  # the client went away
        endpoint = endpoint_of(scope["path"]) if scope["method"] == "POST" else None
        request_doc: dict[str, Any] = {}
        drop_usage_chunk = False
        if endpoint is not None:
            with contextlib.suppress(ValueError):
                parsed = json.loads(body) if body else {}
                request_doc = parsed if isinstance(parsed, dict) else {}
            if endpoint == "chat" and request_doc.get("stream") is True:
                options = request_doc.get("stream_options")
                if not (isinstance(options, dict) and options.get("include_usage")):
                    options = dict(options) if isinstance(options, dict) else {}
                    options["include_usage"] = True
                    body = json.dumps({**request_doc, "stream_options": options}).encode()
                    drop_usage_chunk = True
        forward = [
            (k, v)
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in HOP_BY_HOP
            and not k.decode("latin-1").lower().startswith(HEADER_PREFIX)
            and not (endpoint and k.decode("latin-1").lower() == "accept-encoding")
        ]
        if endpoint:
            forward.append((b"accept-encoding", b"identity"))
        query = scope.get("query_string", b"").decode("latin-1")
        url = self.upstream + scope["path"] + (f"?{query}" if query else "")
        call: dict[str, Any] = {
            "ts": when.isoformat(),
            "provider": self.provider,
            "endpoint": endpoint or scope["path"],
            "model_raw": request_doc.get("model")
            if isinstance(request_doc.get("model"), str)
            else None,
            "streamed": request_doc.get("stream") is True,
            "caller": caller_fingerprint(headers, self.secret),
            **{dim: headers.get(h) for dim, h in DIMENSION_HEADERS.items()},
        }
        meter = StreamMeter(endpoint or "", drop_usage_chunk)
        status, outcome, first_byte = 502, "ok", None
        kept = bytearray()
        response: httpx.Response | None = None
        try:
            request = self.client().build_request(
                scope["method"], url, headers=forward, content=body
            )
            try:
                response = await self.client().send(request, stream=True)
            except httpx.TimeoutException:
                status, outcome = 504, "upstream timeout"
                await _plain(send, 504, "upstream did not answer in time")
                return
            except httpx.HTTPError as exc:
                status, outcome = 502, "upstream unreachable"
                await _plain(send, 502, f"upstream unreachable: {type(exc).__name__}")
                return
            status = response.status_code
            outcome = "ok" if status < 400 else "upstream error"
            is_stream = "text/event-stream" in response.headers.get("content-type", "")
            out_headers = [
                (k.encode("latin-1"), v.encode("latin-1"))
                for k, v in response.headers.multi_items()
                if k.lower() not in HOP_BY_HOP or (k.lower() == "content-length" and not is_stream)
            ]
            disconnected = asyncio.Event()
            watcher = asyncio.create_task(_watch_disconnect(receive, disconnected))
            try:
                await send(
                    {"type": "http.response.start", "status": status, "headers": out_headers}
                )
                async for chunk in response.aiter_raw():
                    if disconnected.is_set():
                        outcome = "client disconnected"
                        break
                    if first_byte is None:
                        first_byte = (time.perf_counter() - started) * 1000
                    if endpoint and is_stream:
                        chunk = meter.feed(chunk)
                    elif endpoint and len(kept) < MAX_METERED_BODY:
                        kept += chunk
                    if chunk:
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                else:
                    rest = meter.tail() if endpoint and is_stream else b""
                    await send({"type": "http.response.body", "body": rest, "more_body": False})
            except httpx.TimeoutException:
                outcome = "upstream timeout"
            except httpx.HTTPError:
                outcome = "upstream broke off"
            except OSError:
                outcome = "client disconnected"
            finally:
                watcher.cancel()
            if endpoint and not is_stream and kept and status < 400:
                with contextlib.suppress(ValueError):
                    doc = json.loads(bytes(kept))
                    meter.usage = usage_of(endpoint, doc)
                    meter.cost = _cost_of(doc)
                    if isinstance(doc, dict):
                        meter.model = (
                            doc.get("model") if isinstance(doc.get("model"), str) else None
                        )
                        meter.response_id = (
                            doc.get("id") if isinstance(doc.get("id"), str) else None
                        )
        finally:
            if response is not None:
                await response.aclose()
            if endpoint is not None:
                call.update(
                    status=status,
                    outcome=outcome,
                    latency_ms=(time.perf_counter() - started) * 1000,
                    first_byte_ms=first_byte,
                )
                self._record(call, meter)

    def _record(self, call: dict[str, Any], meter: StreamMeter) -> None:
        call["model_raw"] = meter.model or call["model_raw"]
        natural = meter.response_id or uuid.uuid4().hex
        call["event_id"] = make_event_id("proxy", self.provider, natural)
        if meter.usage is not None and call["model_raw"]:
            call["row"] = {
                "event_id": call["event_id"],
                "ts": call["ts"],
                "model_raw": call["model_raw"],
                "provider": self.provider,
                "app": call["app"],
                "user": call["user"] or call["caller"],
                "project": call["project"],
                "session": call["session"],
                **meter.usage,
                "requests": 1,
                "cost_reported": meter.cost,
            }
        try:
            self.spool.append(kinds.PROXY_CALL, json.dumps(call).encode())
        except (SpoolFull, SpoolError) as exc:
            print(
                f"tokenstat proxy: a call to {call['endpoint']} was not recorded: {exc}",
                file=sys.stderr,
                flush=True,
            )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


async def _read_all(receive: Any) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _watch_disconnect(receive: Any, disconnected: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            disconnected.set()
            return


async def _plain(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": {"type": "proxy_error", "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
