"""The wire: posting one request (httpx, imported only when a send starts) and keeping to a rate.

``httpx`` is a dependency of the project but is imported here lazily, so a run that sends nothing
never pays for it (about 60 ms of start-up).  A :class:`Poster` is anything with ``post``; tests
may give their own, the front gives :class:`HttpxPoster`.  Proxies are taken from the usual
``HTTPS_PROXY`` / ``HTTP_PROXY`` environment variables (httpx's default).
"""

from __future__ import annotations

import gzip
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

CONNECT_TIMEOUT_S = 15.0
READ_TIMEOUT_S = 120.0  # a 20 MB batch on a slow line


class TransportFailure(Exception):
    """The request got no answer (refused connection, name not found, time-out, cut off)."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class Poster(Protocol):
    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Reply: ...

    def close(self) -> None: ...


def _retry_after_date(headers: dict[str, str], now: Callable[[], float]) -> None:
    """Turn an HTTP-date ``Retry-After`` into seconds, so the tools' rules see a number."""
    value = headers.get("retry-after")
    if value is None:
        return
    try:
        float(value)
        return
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return
    headers["retry-after"] = str(max(0.0, moment.timestamp() - now()))


class HttpxPoster:
    """Posts with one ``httpx.Client`` (one connection kept alive), gzip when asked."""

    def __init__(self, wall_clock: Callable[[], float]) -> None:
        import httpx  # lazily: a plain run never loads it

        self._httpx: Any = httpx
        self._wall_clock = wall_clock  # only to read an HTTP-date Retry-After
        self._client = httpx.Client(
            timeout=httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            headers={"User-Agent": "event-generator"},
        )

    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Reply:
        try:
            response = self._client.post(url, headers=dict(headers), content=body)
        except self._httpx.TransportError as exc:
            raise TransportFailure(f"{type(exc).__name__}: {exc}") from None
        answer = {k.lower(): v for k, v in response.headers.items()}
        _retry_after_date(answer, self._wall_clock)
        return Reply(response.status_code, answer, response.content)

    def close(self) -> None:
        self._client.close()


def compress(body: bytes) -> bytes:
    """gzip without a name or time in the header (the same batch gives the same bytes)."""
    return gzip.compress(body, compresslevel=6, mtime=0)


class RateLimiter:
    """At most ``limit`` events per key in any ``window_s`` seconds (a sliding window).

    Amplitude counts each user's and each device's events per second; a global limit uses one
    key.  ``wait(counts)`` says how long to wait before sending a batch holding ``counts`` events
    per key; ``add(counts)`` records a batch as sent.
    """

    def __init__(self, limit: float, window_s: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._sent: dict[str, deque[tuple[float, int]]] = {}
        self._totals: dict[str, int] = {}

    def _trim(self, key: str, now: float) -> None:
        sent = self._sent.get(key)
        if sent is None:
            return
        while sent and sent[0][0] <= now - self.window_s:
            self._totals[key] -= sent.popleft()[1]
        if not sent:
            del self._sent[key]
            del self._totals[key]

    def wait(self, counts: Mapping[str, int]) -> float:
        now = self.clock()
        longest = 0.0
        for key, count in counts.items():
            self._trim(key, now)
            sent = self._sent.get(key)
            total = self._totals.get(key, 0)
            if sent is None or total + count <= self.limit:
                continue
            # Wait until enough of the oldest events leave the window.
            excess = total + count - self.limit
            for at, number in sent:
                excess -= number
                if excess <= 0:
                    # Still in the window by _trim's test, however the subtraction rounds: wait
                    # at least the clock's last digit, never 0 (a 0 here once let a batch through
                    # that a server counting the same way refused).
                    longest = max(longest, at + self.window_s - now, math.ulp(now))
                    break
        return longest

    def add(self, counts: Mapping[str, int]) -> None:
        now = self.clock()
        for key, count in counts.items():
            self._sent.setdefault(key, deque()).append((now, count))
            self._totals[key] = self._totals.get(key, 0) + count
