"""The OTLP/HTTP receiver: an ASGI app for ``POST /v1/traces``, ``/v1/metrics``, ``/v1/logs``.

A request is answered 200 (an empty ``Export*ServiceResponse``, protobuf or JSON as the
request was) only once its body is in the spool and fsynced (`Spool.append_durable`).
Otherwise: 400 for a body that does not decode (with the reason), 401 without the bearer
token (when one is set), 404 for another path, 405 for another method, 413 for a body
over the size limit, 415 for another media type, 429 with ``Retry-After`` when the spool
is full (exporters retry those). ``GET /status`` answers JSON counters (spool positions).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from tokenstat.capture import kinds
from tokenstat.capture.decode import (
    JSON,
    MAX_BODY_BYTES,
    BodyError,
    decode,
    decompress,
    encoding_of,
)
from tokenstat.capture.spool import Spool, SpoolFull

RETRY_AFTER_SECONDS = 2
_PATHS = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Receiver:
    """The ASGI app. ``token``: the bearer token requests must carry (None: any request);
    ``max_body``: bytes a body may have, before and after decompression."""

    def __init__(
        self,
        spool: Spool,
        *,
        token: str | None = None,
        max_body: int = MAX_BODY_BYTES,
        status: Callable[[], dict[str, Any]] | None = None,
    ):
        self.spool = spool
        self.token = token
        self.max_body = max_body
        self.status = status or (lambda: {})
        self.accepted = {signal: 0 for signal in _PATHS.values()}

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        if scope["method"] == "GET" and path == "/status":
            body = {
                "written": self.spool.written,
                "durable": self.spool.durable,
                "loaded": self.spool.loaded,
                "accepted": self.accepted,
                **self.status(),
            }
            await _answer(send, 200, json.dumps(body).encode(), "application/json")
            return
        signal = _PATHS.get(path)
        if signal is None:
            await _error(send, 404, f"no such path {path!r}: use /v1/traces, /v1/metrics, /v1/logs")
            return
        if scope["method"] != "POST":
            await _error(send, 405, "use POST", extra=[(b"allow", b"POST")])
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.token is not None and not _token_ok(headers.get("authorization", ""), self.token):
            await _error(
                send, 401, "missing or wrong bearer token", extra=[(b"www-authenticate", b"Bearer")]
            )
            return
        try:
            encoding = encoding_of(headers.get("content-type", ""))
            declared = headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_body:
                raise BodyError(f"the body is larger than {self.max_body} bytes", 413)
            raw = await _read_body(receive, self.max_body)
            body = decompress(raw, headers.get("content-encoding", ""), self.max_body)
            decode(signal, encoding, body)
        except BodyError as exc:
            await _error(send, exc.status, str(exc))
            return
        try:
            await self.spool.append_durable(kinds.OTLP_KINDS[signal, encoding], body)
        except SpoolFull as exc:
            retry = str(RETRY_AFTER_SECONDS).encode()
            await _error(send, 429, f"{exc}; retry later", extra=[(b"retry-after", retry)])
            return
        self.accepted[signal] += 1
        if encoding == JSON:
            await _answer(send, 200, b"{}", "application/json")
        else:
            await _answer(send, 200, b"", "application/x-protobuf")


def _token_ok(header: str, token: str) -> bool:
    scheme, _, value = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BodyError("the client went away before sending the whole body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyError(f"the body is larger than {limit} bytes", 413)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _error(
    send: Send, status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"code": status, "message": message}).encode()
    await _answer(send, status, body, "application/json", extra)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
