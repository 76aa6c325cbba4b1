"""Sending a finished run to an analytics tool: check everything, then batches, in order, each
acknowledged before the next, recorded in the journal as it is acknowledged.

One batch is in flight at a time, so a send that stops (Ctrl-C, SIGKILL, a refusal, a tool that
keeps failing) has recorded every acknowledged batch, and sending again continues with the
first one that was not: nothing is lost, and nothing reaches the tool twice except, at most, the
one batch that was on the wire when it stopped.

Waits (rate limits, back-off) go through ``sleep`` and ``clock``, which the caller passes, as it
passes ``draw`` (uniform in [0, 1), for jitter): tests run the whole retry schedule in no time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import orjson

from ..errors import DeliveryError, UsageError
from ..output import locked
from .http import HttpxPoster, Poster, RateLimiter, Reply, TransportFailure, compress
from .journal import Journal, journal_path
from .runfiles import CheckedFile, CheckedRun, check_run, parse, read_lines, run_files, run_format
from .tools import EVENTS, PROFILES, TOOLS, Answer, Limits, Tool, Verdict, tool_for

MAX_ATTEMPTS = 10  # tries of one batch before the send stops (about 5 minutes of back-off)
MAX_WAIT_S = 3600.0  # a Retry-After longer than this stops the send instead (run it later)
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class SendConfig:
    output_dir: str
    tool: str
    api_key: str = field(repr=False)  # never shown, logged or written
    region: str | None = None  # None: the tool's default ("us")
    endpoint: str | None = None  # a base URL instead of the region's host (self-hosted, proxy)
    resend: bool = False  # send everything again, even what the journal records as sent
    now_ms: int = 0  # when the send starts: future events, PostHog's historical flag


@dataclass(frozen=True)
class SendProgress:
    """What a send has done so far; ``items_done`` counts what earlier sends delivered too."""

    phase: str  # "checking" (reading every file first) or "sending"
    files_done: int
    files_total: int
    items_done: int
    items_total: int
    batches: int = 0
    retries: int = 0
    waiting_s: float = 0.0  # the wait just starting (rate limit or back-off), if any
    note: str = ""  # why (the tool's answer), for the person


SendCallback = Callable[[SendProgress], None]


@dataclass(frozen=True)
class SendResult:
    tool: str
    title: str
    destination: str
    journal: str
    events_total: int
    profiles_total: int
    events_sent: int  # by this send
    profiles_sent: int
    events_before: int  # acknowledged by earlier sends (skipped)
    profiles_before: int
    batches: int
    retries: int
    splits: int  # batches the tool found too large (413), sent in halves
    first_ms: int
    last_ms: int
    already_complete: bool  # everything was sent before: nothing was sent now


def destination(tool: Tool, region: str | None, endpoint: str | None) -> str:
    """The base URL a send goes to; refuses a region the tool does not have, or a bad URL."""
    if endpoint is not None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--endpoint {endpoint!r} is not an http:// or https:// URL")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise UsageError(
                f"--endpoint {endpoint!r} is plain http to another machine: the key would "
                f"travel unencrypted; use https (plain http is kept for this machine only)"
            )
        if parts.query or parts.fragment or parts.username:
            raise UsageError(f"--endpoint {endpoint!r}: give a base URL, without ?, # or user")
        return endpoint.rstrip("/")
    name = region or "us"
    if name not in tool.hosts:
        raise UsageError(
            f"{tool.title} has no region {name!r}; choose {' or '.join(tool.hosts)} (or --endpoint)"
        )
    return tool.hosts[name]


class _Sender:
    def __init__(
        self,
        config: SendConfig,
        tool: Tool,
        base: str,
        poster: Poster,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        draw: Callable[[], float],
        progress: SendCallback | None,
    ) -> None:
        self.config = config
        self.tool = tool
        self.base = base
        self.poster = poster
        self.sleep = sleep
        self.draw = draw
        self.report = progress
        self.key_limiters: dict[str, RateLimiter] = {}
        self.global_limiters: dict[str, RateLimiter] = {}
        for kind in tool.kinds:
            limits = tool.limits(kind)
            if limits.per_key_per_second:
                self.key_limiters[kind] = RateLimiter(limits.per_key_per_second, 1.0, clock)
            if limits.per_second:
                self.global_limiters[kind] = RateLimiter(limits.per_second, 1.0, clock)
        self.batches = 0
        self.retries = 0
        self.splits = 0
        self.sent = {EVENTS: 0, PROFILES: 0}
        self.done = 0
        self.total = 0
        self.files_done = 0
        self.files_total = 0

    def _progress(self, waiting_s: float = 0.0, note: str = "") -> None:
        if self.report is not None:
            self.report(
                SendProgress(
                    "sending",
                    self.files_done,
                    self.files_total,
                    self.done,
                    self.total,
                    self.batches,
                    self.retries,
                    waiting_s,
                    note,
                )
            )

    def _scrub(self, text: str) -> str:
        key = self.config.api_key
        return text.replace(key, "***") if len(key) >= 4 else text

    def _units(
        self, checked: CheckedFile, skip: int
    ) -> Iterator[tuple[int, bytes, tuple[str, ...], int]]:
        """(line, item as sent, rate-limit keys, time) for the items after the first ``skip``."""
        folder = self.config.output_dir
        index = 0
        for number, line in read_lines(folder, checked.path):
            index += 1
            if index <= skip:
                continue
            item = parse(line, folder, checked.path, number)
            ms = self.tool.check(item, checked.kind, self.config.now_ms)
            keys = self.tool.prepare(item, checked.kind)
            yield number, orjson.dumps(item), keys, ms

    def _batches(
        self, checked: CheckedFile, skip: int
    ) -> Iterator[tuple[list[int], list[bytes], list[tuple[str, ...]], list[int]]]:
        kind = checked.kind
        limits: Limits = self.tool.limits(kind)
        key = self.config.api_key
        overhead = self.tool.overhead(kind, key)
        extra = self.tool.item_overhead(kind, key)
        lines: list[int] = []
        items: list[bytes] = []
        keys: list[tuple[str, ...]] = []
        times: list[int] = []
        per_key: Counter[str] = Counter()
        size = overhead
        for number, body, item_keys, ms in self._units(checked, skip):
            grow = len(body) + extra + (1 if items else 0)
            full = (
                len(items) >= limits.max_items
                or size + grow > limits.max_body_bytes
                or (
                    limits.per_key_per_second is not None
                    and any(per_key[k] >= limits.per_key_per_second for k in item_keys)
                )
            )
            if full and items:
                yield lines, items, keys, times
                lines, items, keys, times, per_key = [], [], [], [], Counter()
                size = overhead
                grow = len(body) + extra
            lines.append(number)
            items.append(body)
            keys.append(item_keys)
            times.append(ms)
            per_key.update(item_keys)
            size += grow
        if items:
            yield lines, items, keys, times

    def _wait_for_rate(self, kind: str, keys: Sequence[tuple[str, ...]]) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for item_keys in keys:
            counts.update(item_keys)
        overall = {"*": len(keys)}
        while True:
            wait = 0.0
            if kind in self.key_limiters:
                wait = self.key_limiters[kind].wait(counts)
            if kind in self.global_limiters:
                wait = max(wait, self.global_limiters[kind].wait(overall))
            if wait <= 0:
                break
            self._progress(wait, f"keeping to {self.tool.title}'s rate limit")
            self.sleep(wait)
        for limiter in (self.key_limiters.get(kind), self.global_limiters.get(kind)):
            if limiter is not None:
                limiter.add(counts if limiter is self.key_limiters.get(kind) else overall)
        return counts

    def _where(self, rel: str, lines: Sequence[int]) -> str:
        return f"{rel}, lines {lines[0]:,} to {lines[-1]:,}"

    def deliver(
        self,
        checked: CheckedFile,
        lines: list[int],
        items: list[bytes],
        keys: list[tuple[str, ...]],
        times: list[int],
        acknowledged: Callable[[int], None],
    ) -> None:
        """Send one batch until the tool acknowledges it; split it on 413; stop on a refusal."""
        kind = checked.kind
        attempt = 0
        while True:
            self._wait_for_rate(kind, keys)
            request = self.tool.request(
                self.base, kind, items, self.config.api_key, times, self.config.now_ms
            )
            headers = dict(request.headers)
            body = request.body
            if request.gzip:
                body = compress(body)
                headers["Content-Encoding"] = "gzip"
            status: int | None = None
            try:
                reply = self.poster.post(request.url, headers, body)
            except TransportFailure as failure:
                answer = Answer(Verdict.RETRY, str(failure))
            else:
                status = reply.status
                answer = self.tool.judge(kind, reply.status, reply.headers, reply.body)
            if answer.verdict is Verdict.OK:
                self.batches += 1
                acknowledged(len(items))
                return
            said = self._scrub(answer.message)
            code = f"HTTP {status}" if status is not None else "no answer"
            if answer.verdict is Verdict.SPLIT:
                if len(items) == 1:
                    raise DeliveryError(
                        f"{self.tool.title} refused one event as too large ({code}: {said}) at "
                        f"{self._where(checked.path, lines)}; nothing after it was sent"
                    )
                self.splits += 1
                half = len(items) // 2
                for part in (slice(0, half), slice(half, None)):
                    self.deliver(
                        checked, lines[part], items[part], keys[part], times[part], acknowledged
                    )
                return
            if answer.verdict is Verdict.FATAL:
                bad = ""
                if answer.bad_items:
                    named = [lines[i] for i in answer.bad_items if 0 <= i < len(lines)][:5]
                    if named:
                        bad = f" (the tool named line(s) {', '.join(f'{n:,}' for n in named)})"
                raise DeliveryError(
                    f"{self.tool.title} refused the batch at {self._where(checked.path, lines)} "
                    f"({code}: {said}){bad}; the send stopped there, {self.done:,} of "
                    f"{self.total:,} items are delivered. Fix the cause and send again: it "
                    f"continues with this batch"
                )
            attempt += 1
            if attempt >= MAX_ATTEMPTS:
                raise DeliveryError(
                    f"{self.tool.title} did not accept the batch at "
                    f"{self._where(checked.path, lines)} after {attempt} tries (last: {code}: "
                    f"{said}); the send stopped there, {self.done:,} of {self.total:,} items are "
                    f"delivered. Send again later: it continues with this batch"
                )
            if answer.wait_s is not None:
                wait = answer.wait_s + self.draw()  # as asked, plus up to 1 s of jitter
                why = f"{code}, the tool asked to wait {answer.wait_s:g} s"
            else:
                wait = self.tool.backoff(attempt, status, self.draw())
                why = f"{code}, try {attempt + 1} of {MAX_ATTEMPTS} after a back-off"
            if wait > MAX_WAIT_S:
                raise DeliveryError(
                    f"{self.tool.title} asked to wait {wait:,.0f} s before the batch at "
                    f"{self._where(checked.path, lines)}; the send stopped there, "
                    f"{self.done:,} of {self.total:,} items are delivered. Send again later: it "
                    f"continues with this batch"
                )
            self.retries += 1
            self._progress(wait, f"{why}: {said}"[:200])
            self.sleep(wait)

    def send(self, checked: CheckedRun, journal: Journal) -> None:
        self.files_total = len(checked.files)
        self.total = sum(f.items for f in checked.files)
        self.done = sum(min(journal.sent(f.path, f.digest), f.items) for f in checked.files)
        for run_file in checked.files:
            sent = min(journal.sent(run_file.path, run_file.digest), run_file.items)
            if sent < run_file.items:
                acknowledged = _Position(self, journal, run_file, sent)
                self._progress()
                for lines, items, keys, times in self._batches(run_file, sent):
                    self.deliver(run_file, lines, items, keys, times, acknowledged)
            self.files_done += 1
        self._progress()


class _Position:
    """Where a file stands: called with the size of each acknowledged batch, it records the new
    position in the journal (before the next batch goes) and reports progress."""

    def __init__(self, sender: _Sender, journal: Journal, run_file: CheckedFile, sent: int) -> None:
        self.sender = sender
        self.journal = journal
        self.run_file = run_file
        self.sent = sent

    def __call__(self, count: int) -> None:
        self.sent += count
        done = self.run_file
        self.journal.record(done.path, done.digest, done.items, self.sent)
        self.sender.sent[self.run_file.kind] += count
        self.sender.done += count
        self.sender._progress()


def check_send(config: SendConfig) -> tuple[Tool, str]:
    """The tool and the base URL of a send, checked without reading the run's files: a tool,
    region or endpoint that cannot be, no key, a folder that holds no finished run, or a run made
    in another format.  :func:`send_run` calls it first; the front, before it announces the send."""
    if config.tool not in TOOLS:
        raise UsageError(f"unknown tool {config.tool!r}; choose one of {', '.join(TOOLS)}")
    tool = tool_for(config.tool)
    base = destination(tool, config.region, config.endpoint)
    if not config.api_key or not config.api_key.strip():
        raise UsageError(
            f"no {tool.title} {tool.key_name}: give --api-key or set {tool.env} (see --help)"
        )
    folder = config.output_dir
    fmt = run_format(folder)
    if fmt != tool.name:
        raise UsageError(
            f"the run in {folder} was made in the {fmt!r} format; {tool.title} takes a run made "
            f"with --format {tool.name} (generate it again with that format, into another folder)"
        )
    return tool, base


def send_run(
    config: SendConfig,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    draw: Callable[[], float],
    wall_clock: Callable[[], float] | None = None,
    progress: SendCallback | None = None,
    poster: Poster | None = None,
) -> SendResult:
    """Send the run in ``config.output_dir`` to ``config.tool``; see the module's docstring.

    ``clock`` (monotonic seconds) and ``sleep`` pace the requests, ``draw`` gives the jitter,
    ``wall_clock`` (epoch seconds) reads a ``Retry-After`` given as a date.
    """
    tool, base = check_send(config)
    folder = config.output_dir
    # The folder is held for the whole send: a run that replaced or continued it meanwhile would
    # change the files under the journal's feet.
    with locked(folder):
        return _send_locked(config, tool, base, clock, sleep, draw, wall_clock, progress, poster)


def _send_locked(
    config: SendConfig,
    tool: Tool,
    base: str,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    draw: Callable[[], float],
    wall_clock: Callable[[], float] | None,
    progress: SendCallback | None,
    poster: Poster | None,
) -> SendResult:
    folder = config.output_dir
    files = run_files(folder, tool)
    journal = Journal(journal_path(folder, tool.name), tool.name, base)

    def checking(files_done: int, _items: int) -> None:
        if progress is not None:
            progress(SendProgress("checking", files_done, len(files), 0, 0))

    checked = check_run(folder, tool, files, config.now_ms, checking)
    if config.resend:
        journal.forget()
    before = {
        kind: sum(
            min(journal.sent(f.path, f.digest), f.items) for f in checked.files if f.kind == kind
        )
        for kind in (EVENTS, PROFILES)
    }
    complete = all(journal.sent(f.path, f.digest) >= f.items for f in checked.files)
    own = poster is None and not complete
    sender = _Sender(
        config,
        tool,
        base,
        HttpxPoster(wall_clock or clock) if own else poster or _NoPoster(),
        clock,
        sleep,
        draw,
        progress,
    )
    try:
        if not complete:
            sender.send(checked, journal)
    finally:
        if own:
            sender.poster.close()
    return SendResult(
        tool=tool.name,
        title=tool.title,
        destination=base,
        journal=journal.path,
        events_total=checked.total(EVENTS),
        profiles_total=checked.total(PROFILES),
        events_sent=sender.sent[EVENTS],
        profiles_sent=sender.sent[PROFILES],
        events_before=before[EVENTS],
        profiles_before=before[PROFILES],
        batches=sender.batches,
        retries=sender.retries,
        splits=sender.splits,
        first_ms=checked.first_ms,
        last_ms=checked.last_ms,
        already_complete=complete,
    )


class _NoPoster:
    """Stands in while nothing is to be sent (a complete send): never called."""

    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Reply:
        raise AssertionError("a complete send sends nothing")

    def close(self) -> None:
        pass
