"""A local stand-in for each analytics tool's ingestion API, for the send tests.

It runs in a thread of the test process on 127.0.0.1 and checks every request as the tool's
documentation describes it (path, method, authentication, content type, gzip, batch and item
limits, the fields the send must add), answers a refusal (400) naming the rule when one is
broken, and otherwise accepts the batch and counts every item by its dedup id.  Tests script
faults at chosen request numbers (a 429 with ``Retry-After``, a 500, a 413, a 400), and may make
it call a function at a chosen request (the kill test kills the sender there).

Only accepted requests count: an item counted twice reached the tool twice.
"""

from __future__ import annotations

import base64
import gzip
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from generator.clock import parse_iso

MB = 1_000_000


@dataclass
class Fault:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"error":"scripted fault"}'


class Refusal(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class StandIn:
    """The stand-in for ``tool``, accepting ``key``; ``clock`` times its rate limits."""

    def __init__(
        self,
        tool: str,
        key: str,
        faults: dict[int, Fault] | None = None,
        clock: Callable[[], float] | None = None,
        on_request: Callable[[int, str], bool] | None = None,
    ) -> None:
        import time

        self.tool = tool
        self.key = key
        self.faults = dict(faults or {})
        self.clock = clock or time.monotonic
        # (request number, "before" | "after") -> True to drop a request "before" accepting it
        self.on_request = on_request
        self.lock = threading.Lock()
        self.requests = 0
        self.accepted = 0
        self.statuses: list[int] = []
        self.items: Counter[str] = Counter()  # dedup id -> times accepted
        self.profiles: Counter[str] = Counter()
        self.batch_sizes: list[int] = []
        self.refusals: list[str] = []
        self.historical: list[tuple[bool, int]] = []  # per batch: the flag, its latest event
        self._recent: dict[str, deque[tuple[float, int]]] = {}
        self._server: ThreadingHTTPServer | None = None

    # -- the server -------------------------------------------------------------------------
    def __enter__(self) -> StandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # the answer's head and body in one write (no delayed-ACK stall)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, headers, reply = standin.handle(self.path, dict(self.headers), body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a sender killed mid-request resets its connection: expected here

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- one request ------------------------------------------------------------------------
    def handle(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.requests += 1
            number = self.requests
        if self.on_request is not None and self.on_request(number, "before"):
            return 503, {}, b'{"error":"dropped"}'  # the test dropped it (its sender is gone)
        fault = self.faults.get(number)
        if fault is not None:
            with self.lock:
                self.statuses.append(fault.status)
            return fault.status, fault.headers, fault.body
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            if lower.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            accept = getattr(self, "_" + self.tool)(urlsplit(path), lower, body)
        except Refusal as refusal:
            with self.lock:
                self.statuses.append(refusal.status)
                self.refusals.append(refusal.message)
            return refusal.status, {}, orjson.dumps({"error": refusal.message})
        with self.lock:
            accept()
            self.accepted += 1
            self.statuses.append(200)
        if self.on_request is not None:
            self.on_request(number, "after")
        return 200, {}, self._ok_body(path)

    def _ok_body(self, path: str) -> bytes:
        if path.startswith("/engage"):
            return b'{"error":null,"status":1}'
        return {
            "amplitude": b'{"code":200,"events_ingested":1}',
            "mixpanel": b'{"code":200,"num_records_imported":1,"status":"OK"}',
            "segment": b'{"success":true}',
            "posthog": b'{"status":1}',
        }[self.tool]

    def _basic(self, headers: dict[str, str]) -> str:
        auth = headers.get("authorization", "")
        if not auth.startswith("Basic "):
            raise Refusal(401, "no Basic authorization")
        user, _, _password = base64.b64decode(auth[6:]).decode().partition(":")
        if user != self.key:
            raise Refusal(401, "unknown key")
        return user

    def _json_body(self, headers: dict[str, str], body: bytes) -> Any:
        if headers.get("content-type") != "application/json":
            raise Refusal(400, f"Content-Type is {headers.get('content-type')!r}")
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise Refusal(400, "invalid JSON") from None

    def _rate(self, key: str, count: int, limit: int) -> None:
        """Refuse with 429 when ``key`` passes ``limit`` events in the last second."""
        now = self.clock()
        recent = self._recent.setdefault(key, deque())
        while recent and recent[0][0] <= now - 1.0:
            recent.popleft()
        if sum(c for _, c in recent) + count > limit:
            raise Refusal(429, f"rate of {key} over {limit} per second")
        recent.append((now, count))

    # -- the tools --------------------------------------------------------------------------
    def _amplitude(self, url: Any, headers: dict[str, str], body: bytes) -> Callable[[], None]:
        if url.path != "/batch":
            raise Refusal(404, f"no {url.path}")
        if len(body) > 20 * MB:
            raise Refusal(413, "Payload too large")
        data = self._json_body(headers, body)
        if data.get("api_key") != self.key:
            raise Refusal(400, "Invalid API key")
        events = data["events"]
        if len(events) > 2000:
            raise Refusal(413, "over 2000 events")
        per_user = Counter(str(e["user_id"]) for e in events)
        with self.lock:
            for user, count in per_user.items():
                self._rate("u:" + user, count, 1000)
        for event in events:
            if "ip" in event:
                raise Refusal(400, "the send must not set ip")
        return lambda: self._count(e["insert_id"] for e in events)

    def _mixpanel(self, url: Any, headers: dict[str, str], body: bytes) -> Callable[[], None]:
        query = parse_qs(url.query)
        if url.path == "/engage":
            if query.get("ip") != ["0"] or query.get("verbose") != ["1"]:
                raise Refusal(400, "engage without ip=0&verbose=1")
            updates = self._json_body(headers, body)
            if len(updates) > 2000:
                raise Refusal(400, "over 2000 updates")
            for update in updates:
                if update.get("$token") != self.key:
                    raise Refusal(401, "bad $token")
                if update.get("$ip") != "0":
                    raise Refusal(400, "profile without $ip 0")
            return lambda: self._count((u["$distinct_id"] for u in updates), profiles=True)
        if url.path != "/import" or query.get("strict") != ["1"]:
            raise Refusal(404, f"no {url.path}?{url.query}")
        self._basic(headers)
        if headers.get("content-type") != "application/x-ndjson":
            raise Refusal(400, "not NDJSON")
        if len(body) > 10 * MB:
            raise Refusal(413, "request exceeds max limit")
        events = [orjson.loads(line) for line in body.split(b"\n") if line]
        if len(events) > 2000:
            raise Refusal(400, "over 2000 events")
        for event in events:
            if event["properties"].get("ip") != 0:
                raise Refusal(400, "event without ip 0: it would be placed at the sender")
        return lambda: self._count(e["properties"]["$insert_id"] for e in events)

    def _segment(self, url: Any, headers: dict[str, str], body: bytes) -> Callable[[], None]:
        if url.path != "/v1/batch":
            raise Refusal(404, f"no {url.path}")
        self._basic(headers)
        if len(body) > 500_000:
            raise Refusal(400, "batch over 500 KB")
        data = self._json_body(headers, body)
        batch = data["batch"]
        if len(batch) > 2500:
            raise Refusal(400, "over 2500 messages")
        for message in batch:
            if len(orjson.dumps(message)) > 32_000:
                raise Refusal(400, "message over 32 KB")
            if "context" in message:
                raise Refusal(400, "the send must not add a context")
        tracks = [m["messageId"] for m in batch if m["type"] == "track"]
        identifies = [m["userId"] for m in batch if m["type"] == "identify"]

        def accept() -> None:
            self._count(tracks)
            self._count(identifies, profiles=True)

        return accept

    def _posthog(self, url: Any, headers: dict[str, str], body: bytes) -> Callable[[], None]:
        if url.path != "/batch/":
            raise Refusal(404, f"no {url.path}")
        if len(body) > 20 * MB:
            raise Refusal(413, "request too large")
        data = self._json_body(headers, body)
        if data.get("api_key") != self.key:
            raise Refusal(401, "invalid project API key")
        if not isinstance(data.get("historical_migration"), bool):
            raise Refusal(400, "historical_migration missing")
        batch = data["batch"]
        for event in batch:
            if event["properties"].get("$geoip_disable") is not True:
                raise Refusal(400, "event without $geoip_disable: GeoIP would use the sender")
        latest = max(parse_iso(e["timestamp"]) for e in batch)
        self.historical.append((data["historical_migration"], latest))
        return lambda: self._count(e["uuid"] for e in batch)

    def _count(self, ids: Any, profiles: bool = False) -> None:
        target = self.profiles if profiles else self.items
        ids = list(ids)
        target.update(ids)
        if not profiles:
            self.batch_sizes.append(len(ids))
