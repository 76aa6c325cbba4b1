"""The run record (``config/run.json``) and the saved user states (``config/user_id_list.json``).

One schema, one set of defaults, written after every run and read back by ``--replay`` (repeat a
run) and ``--continue`` (carry it on).  Both files may have been edited, damaged or replaced by
something else since: every field is checked on the way in, type and bounds (the same bounds as the
flags, ``limits``), and a bad one is refused with the file and the field, exit status 2.

The saved states are one JSON array with one user per line.  A continue never holds them all: it
streams the file into one part per chunk (:func:`split_saved_users`), so each worker reads only its
own users (:func:`read_saved_chunk`) and memory stays flat whatever the number of users.
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import orjson

from . import layout, limits
from .clock import DAY_MS, iso, parse_iso
from .csvtext import read_file
from .errors import GeneratorError, InputError, UsageError
from .formats import DEFAULT_FORMAT, FORMATS
from .params import MODEL_VERSION
from .spec import USER, Product
from .users import UserState


def _version() -> str:
    """This package's version, as installed (pyproject.toml says it, once)."""
    try:
        return metadata.version("event-generator")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


VERSION = _version()
MAX_EVENTS_WRITTEN = 2**62  # a count of events larger than any run can write
GENERATOR = f"event-generator {VERSION}"
MAX_RECORD_BYTES = 16 * 1024 * 1024  # a record is a few hundred bytes; a continue adds ~200 each
MAX_COUNTER = 1_000_000  # the day counters reset at a handful; a larger one was not written by us
INPUTS = ("events", "flows", "lookup")  # the input files, as run.json names them
DIGEST = "sha256:"  # how a digest is written: the algorithm, then the hex digits


def file_digest(path: str) -> str:
    """The digest of a file's bytes (``sha256:<hex>``), recorded for each input file, so that a
    replay can tell whether a file changed since the run; empty when the file cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    except OSError:
        return ""
    return DIGEST + digest.hexdigest()


@dataclass(frozen=True)
class Continued:
    """One continue of a run: its number, the time it covered and what it added."""

    run: int
    from_ms: int
    to_ms: int
    new_users: int
    users_total: int
    events_written: int


@dataclass(frozen=True)
class RunRecord:
    """``config/run.json``: the answers, seed and end time that repeat a run exactly.

    It holds nothing that depends on the machine or the number of workers, so two runs with the
    same inputs, seed and end time write the same bytes.  Fields at their default are left out of
    the file (``gzip``, ``max_file_mb``, ``chunk_users``), so a default run's record stays short.
    """

    events_path: str
    flows_path: str
    lookup_path: str
    users: int
    seed: int
    end_ms: int
    days: int = limits.DEFAULT_DAYS
    format: str = DEFAULT_FORMAT
    events_written: int = 0
    gzip: bool = False
    max_file_mb: float = limits.DEFAULT_MAX_FILE_MB
    chunk_users: int = limits.DEFAULT_CHUNK_USERS
    continued: tuple[Continued, ...] = ()
    generator: str = GENERATOR
    model: int = MODEL_VERSION  # the user model that made it (SPEC section 2's edition)
    # The input files' digests (file_digest), in INPUTS order; written since digests were added,
    # so a record without them (an older one) is still read, and a replay cannot check it.
    digests: tuple[str, ...] = ()
    source: str = field(default="", compare=False)  # the file it was read from, for messages

    @property
    def users_total(self) -> int:
        """Users in the run, the first run's and every continue's."""
        return self.continued[-1].users_total if self.continued else self.users

    @property
    def first_end_ms(self) -> int:
        return self.continued[0].from_ms if self.continued else self.end_ms

    @property
    def new_users_so_far(self) -> int:
        return sum(c.new_users for c in self.continued)

    def changed_inputs(self, events: str, flows: str, lookup: str) -> tuple[str, ...]:
        """Which of the input files (``events``, ``flows``, ``lookup``) hold other bytes than the
        run used: a replay of them does not write the same output.  Nothing for a record without
        digests."""
        if not self.digests:
            return ()
        paths = (events, flows, lookup)
        return tuple(
            name
            for name, path, recorded in zip(INPUTS, paths, self.digests)
            if file_digest(path) != recorded
        )

    def to_bytes(self) -> bytes:
        data: dict[str, Any] = {
            "generator": self.generator,
            "model": self.model,
            "events": self.events_path,
            "flows": self.flows_path,
            "lookup": self.lookup_path,
            "users": self.users,
            "seed": self.seed,
            "end": iso(self.end_ms),
            "days": self.days,
            "format": self.format,
            "events_written": self.events_written,
        }
        if self.gzip:
            data["gzip"] = True
        if self.max_file_mb != limits.DEFAULT_MAX_FILE_MB:
            data["max_file_mb"] = self.max_file_mb
        if self.chunk_users != limits.DEFAULT_CHUNK_USERS:
            data["chunk_users"] = self.chunk_users
        if self.digests:
            data["digests"] = dict(zip(INPUTS, self.digests))
        if self.continued:
            data["continued"] = [
                {
                    "run": c.run,
                    "from": iso(c.from_ms),
                    "to": iso(c.to_ms),
                    "new_users": c.new_users,
                    "users_total": c.users_total,
                    "events_written": c.events_written,
                }
                for c in self.continued
            ]
        return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


# -- reading the record ----------------------------------------------------------------------------


def record_path(path: str) -> str:
    """The run.json that ``path`` names: the file itself, or the one inside an output folder."""
    if os.path.isdir(path):
        inside = os.path.basename(layout.RUN_FILE)  # given the config folder itself
        for candidate in (os.path.join(path, layout.RUN_FILE), os.path.join(path, inside)):
            if os.path.isfile(candidate):
                return candidate
        raise UsageError(
            f"no {layout.RUN_FILE} in this folder; give a run's output folder or its "
            f"config/run.json",
            file=path,
        )
    if not os.path.lexists(path):
        raise UsageError("run record not found", file=path)
    return path


class _Fields:
    """Typed access to a decoded JSON object; every refusal names the file and the field."""

    def __init__(self, data: dict[str, Any], source: str, where: str = "") -> None:
        self.data = data
        self.source = source
        self.where = where

    def refuse(self, key: str, allowed: str) -> GeneratorError:
        value = self.data.get(key, None)
        shown = "missing" if key not in self.data else f"{_shown(value)}"
        return InputError(
            f"{self.where}field {key!r} is {shown}; it must be {allowed}", file=self.source
        )

    def whole(self, key: str, minimum: int, maximum: int, default: int | None = None) -> int:
        if key not in self.data and default is not None:
            return default
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise self.refuse(key, f"a whole number from {minimum:,} to {maximum:,}")
        return value

    def number(self, key: str, minimum: float, maximum: float, below_max: bool = False) -> float:
        value = self.data.get(key)
        ok = (
            not isinstance(value, bool)
            and isinstance(value, int | float)
            and math.isfinite(value)
            and minimum <= value
            and (value < maximum if below_max else value <= maximum)
        )
        if not ok:
            bound = "below" if below_max else "at most"
            raise self.refuse(key, f"a number from {minimum:g}, {bound} {maximum:g}")
        return float(value)  # type: ignore[arg-type]

    def text(self, key: str, default: str | None = None) -> str:
        if key not in self.data and default is not None:
            return default
        value = self.data.get(key)
        if not isinstance(value, str) or not value or "\x00" in value:
            raise self.refuse(key, "text")
        return value

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise self.refuse(key, "true or false")
        return value

    def time(self, key: str, nullable: bool = False) -> int | None:
        value = self.data.get(key)
        if value is None and nullable and key in self.data:
            return None
        try:
            if not isinstance(value, str):
                raise ValueError
            return limits.check_end(parse_iso(value))
        except (ValueError, OverflowError, GeneratorError):
            raise self.refuse(key, "an ISO 8601 time between 1900 and 9999") from None

    def day(self, key: str) -> int:
        return int(self.time(key) or 0) // DAY_MS

    def object(self, key: str) -> dict[str, Any]:
        value = self.data.get(key)
        if not isinstance(value, dict):
            raise self.refuse(key, "an object")
        return value


def _shown(value: object) -> str:
    text = orjson.dumps(value).decode() if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _decode(data: bytes, source: str, what: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise InputError(
            f"this is not a {what} (not JSON); it was not written by this tool, or was damaged",
            file=source,
        ) from None


def read_record(path: str) -> RunRecord:
    """Read and check a run record: ``config/run.json``, or the output folder holding it."""
    source = record_path(path)
    data = _decode(
        read_file(source, MAX_RECORD_BYTES, "run record", "a run record"), source, "run record"
    )
    if not isinstance(data, dict) or "seed" not in data:
        raise InputError(
            "this is not a run record; give the config/run.json of a finished run", file=source
        )
    fields = _Fields(data, source)
    end_ms = fields.time("end")
    assert end_ms is not None
    days = fields.whole("days", *limits.BOUNDS["days"], limits.DEFAULT_DAYS)
    try:
        limits.check_window(days, end_ms)
    except UsageError as error:
        raise InputError(f"fields 'days' and 'end': {error.message}", file=source) from None
    format_name = fields.text("format", DEFAULT_FORMAT)
    if format_name not in FORMATS:
        raise fields.refuse("format", f"one of {', '.join(FORMATS)}")
    max_file_mb = limits.DEFAULT_MAX_FILE_MB
    if "max_file_mb" in data:  # the flag's own bounds
        max_file_mb = fields.number("max_file_mb", limits.MIN_FILE_MB, limits.MAX_FILE_MB)
    users = fields.whole("users", *limits.BOUNDS["users"])
    return RunRecord(
        generator=fields.text("generator", GENERATOR),
        model=fields.whole("model", 1, MODEL_VERSION, 1),  # absent: the first edition's
        events_path=fields.text("events"),
        flows_path=fields.text("flows"),
        lookup_path=fields.text("lookup"),
        users=users,
        seed=fields.whole("seed", *limits.BOUNDS["seed"]),
        end_ms=end_ms,
        days=days,
        format=format_name,
        events_written=fields.whole("events_written", 0, MAX_EVENTS_WRITTEN, 0),
        gzip=fields.flag("gzip"),
        max_file_mb=max_file_mb,
        chunk_users=fields.whole(
            "chunk_users", *limits.BOUNDS["chunk_users"], limits.DEFAULT_CHUNK_USERS
        ),
        continued=_continued(data, source, users, end_ms),
        digests=_digests(data, source),
        source=source,
    )


def _digests(data: dict[str, Any], source: str) -> tuple[str, ...]:
    """The ``digests`` field: absent in records written before it existed (nothing to check)."""
    if "digests" not in data:
        return ()
    fields = _Fields(_Fields(data, source).object("digests"), source, "digests: ")
    digests = tuple(fields.text(name) for name in INPUTS)
    for name, digest in zip(INPUTS, digests):
        if not digest.startswith(DIGEST):
            raise fields.refuse(name, f"{DIGEST} and hex digits")
    return digests


def _continued(data: dict[str, Any], source: str, users: int, end_ms: int) -> tuple[Continued, ...]:
    raw = data.get("continued", [])
    if not isinstance(raw, list):
        raise _Fields(data, source).refuse("continued", "a list of continues")
    entries: list[Continued] = []
    previous_end, previous_total = None, users
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            raise _Fields(data, source).refuse("continued", "a list of continues")
        fields = _Fields(item, source, f"continue {number}: ")
        entry = Continued(
            run=fields.whole("run", number, number),
            from_ms=fields.time("from") or 0,
            to_ms=fields.time("to") or 0,
            new_users=fields.whole("new_users", 0, limits.MAX_USERS),
            users_total=fields.whole("users_total", 1, limits.MAX_USERS),
            events_written=fields.whole("events_written", 0, MAX_EVENTS_WRITTEN),
        )
        if entry.users_total != previous_total + entry.new_users:
            raise fields.refuse("users_total", f"{previous_total + entry.new_users:,}")
        if entry.to_ms < entry.from_ms or (
            previous_end is not None and entry.from_ms != previous_end
        ):
            raise fields.refuse("from", "the end of the run before it")
        previous_end, previous_total = entry.to_ms, entry.users_total
        entries.append(entry)
    if previous_end is not None and previous_end != end_ms:
        raise _Fields(data, source).refuse("end", "the end of the last continue")
    return tuple(entries)


# -- the saved user states -------------------------------------------------------------------------


@dataclass(frozen=True)
class UserNames:
    """The sheet's names that a saved user is written and read with."""

    lookup: tuple[str, ...]
    secondary: tuple[str, ...]
    flows: tuple[str, ...]  # every flow, in file order: completed `once` flows are named
    # The `[user]` properties: (column, name, values), written for reference (never read back:
    # a continue draws them again from the seed, as the first run did).
    user_properties: tuple[tuple[int, str, tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, product: Product) -> UserNames:
        return cls(
            tuple(a.name for a in product.lookup.attributes),
            product.events.secondary_keys,
            tuple(f.name for f in product.flows.flows),
            tuple(
                (i, c.name, c.values)
                for i, c in enumerate(product.events.properties)
                if c.scope == USER
            ),
        )


# config/user_id_list.json is one JSON array with one user per line: ``[``, the entries joined
# by ``,`` and a line end, ``]``.  Chunks write their entries joined; the run joins the chunks.
USERS_HEAD, USERS_SEPARATOR, USERS_TAIL = b"[\n", b",\n", b"\n]\n"


def user_bytes(user: UserState, names: UserNames) -> bytes:
    """The user's entry in ``config/user_id_list.json``, on one line."""
    entry: dict[str, Any] = {
        "index": user.index,
        "id": user.user_id,
        "user_probability": user.p,
        "churn_probability": user.churn_probability,
        "churned": user.churned,
        "skip_days_counter": user.skip_days_counter,
        "churn_prob_reset_counter": user.churn_prob_reset_counter,
        "created_time": iso(user.created_ms),
        "before_window": user.before_window,
        "last_event_time": None if user.last_event_ms is None else iso(user.last_event_ms),
        "lookup": dict(zip(names.lookup, user.lookup)),
        **(
            {"user_properties": {n: v[user.user_props[i]] for i, n, v in names.user_properties}}
            if names.user_properties
            else {}
        ),
        "secondary_keys": dict(zip(names.secondary, user.secondary)),
        "key_pool": [dict(zip(names.secondary, keys)) for keys in user.key_pool],
        "completed_once": _flow_list(user.once_done, names.flows),
        "next_day": iso(user.next_day * DAY_MS)[:10],
    }
    if user.day_start is not None:
        start = user.day_start
        entry["resume"] = {
            "user_probability": start.p,
            "skip_days_counter": start.skip_days_counter,
            "churn_prob_reset_counter": start.churn_prob_reset_counter,
            "completed_once": _flow_list(start.once_done, names.flows),
            "secondary_keys": dict(zip(names.secondary, start.secondary)),
            "key_pool": [dict(zip(names.secondary, keys)) for keys in start.key_pool],
            "last_event_time": None if start.last_event_ms is None else iso(start.last_event_ms),
        }
    return orjson.dumps(entry)


def _names(fields: _Fields, key: str, names: tuple[str, ...], what: str) -> list[str]:
    value = fields.object(key)
    missing = [name for name in names if name not in value]
    if missing or len(value) != len(names):
        raise InputError(
            f"{fields.where}field {key!r} names {', '.join(map(repr, value)) or 'nothing'}, but "
            f"the {what} now has {', '.join(map(repr, names)) or 'none'}: a continued run needs "
            f"the same names as the run",
            file=fields.source,
        )
    out = []
    for name in names:
        item = value[name]
        if not isinstance(item, str):
            raise InputError(
                f"{fields.where}field {key!r}: {name!r} is not text", file=fields.source
            )
        out.append(item)
    return out


def read_user(entry: Any, names: UserNames, position: int, end_ms: int, source: str) -> UserState:
    """A saved user, checked field by field, ready to be walked on from where the run ended.

    A user whose last day the end time cut comes back as it was at the start of that day
    (``resume``): the walker replays the day and keeps only what comes after the old end.
    """
    if not isinstance(entry, dict):
        raise InputError(f"user {position}: not an object", file=source)
    fields = _Fields(entry, source, f"user {position}: ")
    fields.whole("index", position, position)
    user_id = fields.text("id")
    created_ms = fields.time("created_time")
    assert created_ms is not None
    if created_ms > end_ms:
        raise fields.refuse("created_time", f"at or before the run's end, {iso(end_ms)}")
    next_day = fields.day("next_day")  # a day of the user's own (local) calendar
    if not created_ms // DAY_MS - 1 <= next_day <= end_ms // DAY_MS + 400:
        raise fields.refuse("next_day", "a day from the user's creation to a year after the run")
    resumed = "resume" in entry
    where = f"user {position}, resume: "
    state = _Fields(fields.object("resume"), source, where) if resumed else fields
    last = state.time("last_event_time", nullable=True)
    if last is not None and not created_ms <= last <= end_ms:
        raise state.refuse("last_event_time", "between the user's creation and the run's end")
    return UserState(
        index=position,
        user_id=user_id,
        p=state.number("user_probability", 0.0, 1.0, below_max=True),
        churn_probability=fields.number("churn_probability", 0.0, 1.0),
        created_ms=created_ms,
        lookup=tuple(_names(fields, "lookup", names.lookup, "lookup table")),
        secondary=(secondary := _names(state, "secondary_keys", names.secondary, KEYS_WHAT)),
        key_pool=_key_pool(state, names.secondary, secondary),
        churned=fields.flag("churned"),
        skip_days_counter=state.whole("skip_days_counter", 0, MAX_COUNTER),
        churn_prob_reset_counter=state.whole("churn_prob_reset_counter", 0, MAX_COUNTER),
        once_done=_flow_bits(state, names.flows),
        next_day=next_day,
        last_event_ms=last,
        before_window=fields.flag("before_window"),
    )


KEYS_WHAT = "events file's shard keys"


def _key_pool(fields: _Fields, names: tuple[str, ...], current: list[str]) -> list[list[str]]:
    """``key_pool``: the user's devices, each one value per secondary key; the current keys are
    one of them (none without secondary keys)."""
    value = fields.data.get("key_pool")
    if not isinstance(value, list) or len(value) > 1000:
        raise fields.refuse("key_pool", "a list of the user's secondary keys")
    pool = []
    for item in value:
        if not isinstance(item, dict):
            raise fields.refuse("key_pool", "a list of the user's secondary keys")
        pool.append(_names(_Fields({"key_pool": item}, fields.source, fields.where), "key_pool",
                           names, KEYS_WHAT))  # fmt: skip
    if names and current not in pool:
        raise fields.refuse("key_pool", "a list holding the user's current secondary keys")
    return pool


def _flow_list(bits: int, flows: tuple[str, ...]) -> list[str]:
    return [name for i, name in enumerate(flows) if bits >> i & 1]


def _flow_bits(fields: _Fields, flows: tuple[str, ...]) -> int:
    """``completed_once``: the names of the `once` flows the user completed, as bits by flow."""
    value = fields.data.get("completed_once")
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise fields.refuse("completed_once", "a list of flow names")
    bits = 0
    for name in value:
        if name not in flows:
            raise InputError(
                f"{fields.where}field 'completed_once' names the flow {name!r}, which the flows "
                f"file no longer has: a continued run needs the same flows",
                file=fields.source,
            )
        bits |= 1 << flows.index(name)
    return bits


def _lines(path: str) -> Iterator[tuple[int, bytes]]:
    """The lines of the saved-users file, numbered from 1, read in blocks (never all at once)."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise InputError("this is not a regular file", file=path)
        with open(path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                yield number, line.rstrip(b"\r\n")
    except FileNotFoundError:
        raise InputError(
            "not found: the folder holds no finished run to continue", file=path
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=path) from None


def split_saved_users(
    folder: str,
    record: RunRecord,
    names: UserNames,
    chunk_users: int,
    open_part: Callable[[int], Callable[[bytes], None]],
    close_part: Callable[[int], None],
) -> int:
    """Check every saved user of the run in ``folder`` and write them into one part per chunk.

    ``open_part(chunk)`` returns a writer for that chunk's part, ``close_part(chunk)`` finishes
    it; parts hold one checked entry per line.  The file is streamed: a continue of millions of
    users holds one user at a time.  Returns the number of users.
    """
    path = os.path.join(folder, layout.USERS_FILE)
    expected = record.users_total
    count = 0
    writer: Callable[[bytes], None] | None = None
    closed = False
    for number, line in _lines(path):
        if number == 1:
            if line.strip() != b"[":
                raise InputError("not a list of users as this tool writes them", file=path, row=1)
            continue
        if closed:
            if line.strip():
                raise InputError("text after the end of the list of users", file=path, row=number)
            continue
        if line.strip() == b"]":
            closed = True
            continue
        body = line[:-1] if line.endswith(b",") else line
        entry = _decode(body, f"{path}, row {number}", "user entry")
        if count >= expected:
            raise InputError(
                f"the file holds more users than the run record's {expected:,}",
                file=path,
                row=number,
            )
        read_user(entry, names, count, record.end_ms, path)
        chunk = count // chunk_users
        if count % chunk_users == 0:
            if writer is not None:
                close_part(chunk - 1)
            writer = open_part(chunk)
        assert writer is not None
        writer(body + b"\n")
        count += 1
    if not closed:
        what = "the list of users is cut short (no closing ']')" if count else "not a list of users"
        raise InputError(what, file=path)
    if count != expected:
        raise InputError(
            f"the file holds {count:,} users, but the run record says {expected:,}", file=path
        )
    if writer is not None:
        close_part((count - 1) // chunk_users)
    return count


def read_saved_chunk(path: str, names: UserNames, first: int, end_ms: int) -> list[UserState]:
    """The saved users of one chunk, from the part :func:`split_saved_users` wrote."""
    users = []
    with open(path, "rb") as handle:
        for offset, line in enumerate(handle):
            users.append(read_user(orjson.loads(line), names, first + offset, end_ms, path))
    return users
