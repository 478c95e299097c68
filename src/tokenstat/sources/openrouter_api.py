"""A small client of OpenRouter's Data API, standard library only.

``fetch_rankings`` downloads ``GET /api/v1/datasets/rankings-daily`` for a date range and
returns the parsed response bodies, which `tokenstat.sources.openrouter_rankings` reads
(store them as a JSON array or as JSON Lines).

What OpenRouter documents for the endpoint, and what this client does about it:

- the date window is given by the query parameters ``start_date`` and ``end_date``
  (``YYYY-MM-DD``, UTC, both inclusive). A range longer than 366 days is split into
  windows of at most 366 days, one request each;
- the dataset begins at 2025-01-01 (an ``end_date`` before that is rejected with a 400),
  so a range starting earlier is clamped to that day;
- any valid OpenRouter API key is accepted, sent as ``Authorization: Bearer <key>``;
- 30 requests a minute per key and 500 a day per account: requests are spaced at least
  ``60 / requests_per_minute`` seconds apart; HTTP 429, 5xx and connection failures are
  retried with exponential backoff (``Retry-After`` in seconds is honoured), up to
  ``max_retries`` times.

The API key never appears in a message, log or exception this module produces, and is
never written anywhere. It is not forwarded on redirects.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from tokenstat import __version__
from tokenstat.errors import FetchError, ImportOptionError

PRODUCTION_BASE_URL = "https://openrouter.ai/api/v1"
BASE_URL_ENV = "TOKENSTAT_OPENROUTER_BASE_URL"
API_KEY_ENV = "OPENROUTER_API_KEY"
RANKINGS_DAILY_PATH = "/datasets/rankings-daily"

DATASET_START = date(2025, 1, 1)
MAX_WINDOW_DAYS = 366
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0
# A longer Retry-After (e.g. the daily request limit) ends the fetch instead of blocking.
MAX_RETRY_AFTER_SECONDS = 300.0
USER_AGENT = f"tokenstat/{__version__}"

_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}

ProgressCallback = Callable[[int, int], None]


def default_base_url() -> str:
    """The Data API base URL: ``TOKENSTAT_OPENROUTER_BASE_URL`` if set, else production."""
    return os.environ.get(BASE_URL_ENV, "").strip() or PRODUCTION_BASE_URL


DEFAULT_BASE_URL = default_base_url()


def api_key_from_env() -> str:
    """The OpenRouter API key from ``OPENROUTER_API_KEY``; FetchError when it is not set."""
    key = os.environ.get(API_KEY_ENV, "").strip()
    if not key:
        raise FetchError(
            f"set {API_KEY_ENV} to an OpenRouter API key (any key that can call the API "
            "works; create one at openrouter.ai/settings/keys)"
        )
    return key


def date_windows(
    start: date, end: date, max_days: int = MAX_WINDOW_DAYS
) -> list[tuple[date, date]]:
    """``[start, end]`` cut into consecutive inclusive windows of at most ``max_days`` days."""
    if max_days < 1:
        raise ValueError("max_days must be at least 1")
    windows = []
    current = start
    while current <= end:
        window_end = min(current + timedelta(days=max_days - 1), end)
        windows.append((current, window_end))
        current = window_end + timedelta(days=1)
    return windows


def fetch_rankings(
    start: date,
    end: date,
    *,
    api_key: str,
    base_url: str | None = None,
    requests_per_minute: float = 30,
    max_retries: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_progress: ProgressCallback | None = None,
    timeout: float = 60.0,
) -> list[dict[str, Any]]:
    """The rankings-daily response bodies covering ``[start, end]`` (dates are UTC days).

    One request per window of at most 366 days, in date order. ``base_url`` defaults to
    `default_base_url`. ``on_progress(done, total)`` is called with the number of windows
    fetched so far, first with ``done = 0``. ``sleep`` and ``clock`` are injectable for
    tests. Raises FetchError when a window cannot be fetched.
    """
    if not requests_per_minute > 0:  # NaN too
        raise ImportOptionError(
            f"the request rate must be a positive number per minute, not {requests_per_minute}",
            hint="e.g. --rate 30",
        )
    if max_retries < 0:
        raise ValueError("max_retries must not be negative")
    if start > end:
        raise FetchError(f"the start date {start} is after the end date {end}")
    if end < DATASET_START:
        raise FetchError(f"the OpenRouter rankings dataset begins at {DATASET_START}")
    _check_key(api_key)
    base = _check_base_url(base_url or default_base_url())

    windows = date_windows(max(start, DATASET_START), end)
    limiter = _RateLimiter(60.0 / requests_per_minute, clock=clock, sleep=sleep)
    if on_progress is not None:
        on_progress(0, len(windows))
    bodies = []
    for done, (window_start, window_end) in enumerate(windows, start=1):
        query = urllib.parse.urlencode(
            {"start_date": window_start.isoformat(), "end_date": window_end.isoformat()}
        )
        url = f"{base}{RANKINGS_DAILY_PATH}?{query}"
        body = _get_json(
            url,
            api_key=api_key,
            limiter=limiter,
            max_retries=max_retries,
            sleep=sleep,
            timeout=timeout,
        )
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise FetchError(f"unexpected response from {url}: no 'data' list")
        bodies.append(body)
        if on_progress is not None:
            on_progress(done, len(windows))
    return bodies


class _RateLimiter:
    """Spaces calls to ``wait`` at least ``interval`` seconds apart."""

    def __init__(self, interval: float, *, clock: Callable[[], float], sleep: Callable):
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self.last: float | None = None

    def wait(self) -> None:
        if self.last is not None:
            remaining = self.last + self.interval - self.clock()
            if remaining > 0:
                self.sleep(remaining)
        self.last = self.clock()


def _get_json(
    url: str,
    *,
    api_key: str,
    limiter: _RateLimiter,
    max_retries: int,
    sleep: Callable[[float], None],
    timeout: float,
) -> Any:
    attempts = 0
    while True:
        attempts += 1
        limiter.wait()
        try:
            status, headers, payload = _request(url, api_key, timeout)
        except (OSError, http.client.HTTPException) as exc:
            if attempts > max_retries:
                reason = _scrub(_one_line(_connection_reason(exc)), api_key)
                raise FetchError(
                    f"cannot reach {url}: {reason} (gave up after {attempts} attempts)"
                ) from None
            sleep(_backoff(attempts))
            continue

        if 200 <= status < 300:
            try:
                return json.loads(payload.decode("utf-8-sig"))
            except ValueError as exc:
                reason = _scrub(_one_line(str(exc)), api_key)
                raise FetchError(f"invalid JSON from {url}: {reason}") from None
        if status in (401, 403):
            raise FetchError(
                f"OpenRouter refused the API key (HTTP {status}) at {url}; check {API_KEY_ENV}"
            )
        detail = _scrub(_server_message(payload), api_key)
        suffix = f": {detail}" if detail else ""
        if status != 429 and status < 500:
            raise FetchError(f"HTTP {status} from {url}{suffix}")

        retry_after = _retry_after(headers)
        if retry_after is not None and retry_after > MAX_RETRY_AFTER_SECONDS:
            raise FetchError(
                f"HTTP {status} from {url}: the server asks to wait {retry_after:g} s "
                "(OpenRouter allows 30 requests a minute and 500 a day); try again later"
            )
        if attempts > max_retries:
            raise FetchError(
                f"HTTP {status} from {url}{suffix} (gave up after {attempts} attempts)"
            )
        sleep(retry_after if retry_after is not None else _backoff(attempts))


def _request(url: str, api_key: str, timeout: float) -> tuple[int, Mapping[str, str], bytes]:
    request = urllib.request.Request(url, method="GET")
    request.add_header("Accept", "application/json")
    request.add_header("User-Agent", USER_AGENT)
    # Unredirected: a redirect to another host must not carry the key along.
    request.add_unredirected_header("Authorization", f"Bearer {api_key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        try:
            payload = exc.read()
        except (OSError, http.client.HTTPException):
            payload = b""
        finally:
            exc.close()
        return exc.code, exc.headers, payload


def _backoff(attempt: int) -> float:
    return min(BACKOFF_BASE_SECONDS * 2 ** (attempt - 1), BACKOFF_CAP_SECONDS)


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """``Retry-After`` in seconds when the server gave it as a number of seconds."""
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _server_message(payload: bytes) -> str:
    """A short, single-line reason from an error body (OpenRouter: ``error.message``)."""
    text = payload.decode("utf-8", errors="replace").strip()
    if not text:
        return ""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            text = error["message"]
        elif isinstance(error, str):
            text = error
        elif isinstance(body.get("message"), str):
            text = body["message"]
    text = _one_line(text)
    return text if len(text) <= 200 else text[:197] + "..."


def _connection_reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and exc.reason is not None:
        reason = exc.reason
        return str(reason) or type(reason).__name__
    return str(exc) or type(exc).__name__


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _scrub(text: str, api_key: str) -> str:
    return text.replace(api_key, "***") if api_key else text


def _check_key(api_key: str) -> None:
    if not isinstance(api_key, str) or not api_key.strip():
        raise FetchError(f"no OpenRouter API key given; set {API_KEY_ENV}")
    if not all(33 <= ord(char) < 127 for char in api_key):
        # http.client would echo the value in its error; say what is wrong without it.
        raise FetchError("the OpenRouter API key contains spaces or characters not allowed")


def _check_base_url(base_url: str) -> str:
    parts = urllib.parse.urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) base URL: {base_url!r}")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise FetchError(
            f"refusing to send the API key over plain http to {parts.hostname}; use https"
        )
    return base_url.strip().rstrip("/")
