"""A fake LLM API (OpenAI- and Anthropic-shaped) serving the fixture files, as an ASGI app.

The request's ``model`` picks the behaviour: ``rate-limited`` answers 429, ``slow``
waits 3 s before answering, ``long`` streams 50 events 40 ms apart. Streams are sent
one event per chunk. `FakeUpstream.seen` keeps the JSON bodies it received."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def events(data: bytes) -> list[bytes]:
    """The events of an SSE text, each with its blank line."""
    return [part + b"\n\n" for part in data.split(b"\n\n") if part]


class FakeUpstream:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        doc = json.loads(body) if body else {}
        self.seen.append(doc)
        self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        path, model = scope["path"], doc.get("model")
        if model == "rate-limited":
            await self._json(send, 429, fixture("rate_limited.json"))
            return
        if model == "slow":
            await asyncio.sleep(3)
        if path.endswith("/models"):
            await self._json(send, 200, b'{"object": "list", "data": []}')
        elif path.endswith("/chat/completions") and doc.get("stream"):
            parts = events(fixture("chat_stream.sse"))
            if model == "long":
                parts = parts[:1] * 50
            if (doc.get("stream_options") or {}).get("include_usage"):
                parts += events(fixture("chat_stream_usage.sse"))
            await self._stream(send, parts + events(fixture("chat_stream_done.sse")), model)
        elif path.endswith("/chat/completions"):
            await self._json(send, 200, fixture("chat_completion.json"))
        elif path.endswith("/messages") and doc.get("stream"):
            await self._stream(send, events(fixture("messages_stream.sse")), model)
        elif path.endswith("/messages"):
            await self._json(send, 200, fixture("messages.json"))
        elif path.endswith("/responses"):
            await self._json(send, 200, fixture("responses.json"))
        else:
            await self._json(send, 404, b'{"error": "not found"}')

    async def _json(self, send: Any, status: int, body: bytes) -> None:
        headers = [(b"content-type", b"application/json"), (b"x-request-id", b"req_123")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _stream(self, send: Any, parts: list[bytes], model: str | None) -> None:
        headers = [(b"content-type", b"text/event-stream; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for part in parts:
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.04 if model == "long" else 0)
        await send({"type": "http.response.body", "body": b""})
