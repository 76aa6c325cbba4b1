"""Output formats: the flat events of SPEC section 4, and the shapes analytics tools import.

Each format is an encoder with the walker's interface (``prefix`` once per flow entry, ``line`` per
event) plus how its files are laid out.  The tool formats follow each tool's documented bulk import
(README, "Output formats" and "Data dictionary"):

- ``amplitude``: Batch Event Upload / HTTP V2 events: ``user_id``, ``event_type``, ``time`` (ms),
  ``session_id`` (the session's start in ms), ``insert_id``, ``event_properties``,
  ``user_properties`` (the lookup attributes);
- ``mixpanel``: Import API events: ``event`` and ``properties`` holding ``time`` (ms),
  ``distinct_id`` and ``$insert_id``; the lookup attributes go to a profiles file (``$set``);
- ``segment``: HTTP Tracking API ``track`` messages (``userId``, ISO 8601 ``timestamp``,
  ``messageId``, ``properties``); the lookup attributes go to ``identify`` messages;
- ``posthog``: capture/batch events (``event``, ``distinct_id``, ISO 8601 ``timestamp``, ``uuid``,
  ``properties`` with ``$session_id`` and ``$set``).

Dedup ids are UUIDv7 strings whose 48-bit time is the event's time and whose other 74 bits come
from a hash of the seed and the session id; a user never has two events in the same millisecond
(gaps are at least 1 s), so ids are unique, and the same run always gives the same ids: loading it
twice creates no duplicates.  36 characters of hex digits and dashes: within Mixpanel's limit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .clock import IsoFormatter, formatter
from .encoders import EventEncoder, FlatJsonEncoder, json_text, json_value
from .errors import InputError
from .spec import EventsSpec, Product
from .users import UserState


@dataclass(frozen=True)
class Format:
    """How one format lays out its files."""

    name: str
    extension: str  # of an events file, without ".gz"
    array: bool  # True: each file is one JSON array; False: one JSON object per line
    profiles: str | None  # kind of the user-properties file in lookup_table/, if the tool needs one
    reserved: tuple[str, ...] = ()  # names the tool uses beside the sheet's properties


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("json", "json", True, None),
        Format("jsonl", "jsonl", False, None),
        Format("amplitude", "jsonl", False, None),
        Format(
            "mixpanel",
            "jsonl",
            False,
            "mixpanel",
            ("time", "distinct_id", "$insert_id", "token", "$distinct_id"),
        ),
        Format("segment", "jsonl", False, "segment"),
        Format("posthog", "jsonl", False, None, ("$session_id", "$set")),
    )
}
DEFAULT_FORMAT = "json"


def _hash_hex(material: str, digits: int) -> str:
    size = (digits + 1) // 2
    return hashlib.blake2b(material.encode(), digest_size=size).hexdigest()[:digits]


def uuid7_tail(seed: int, key: str) -> str:
    """The part of a UUIDv7 after its time: version 7, 74 bits from (seed, key), RFC variant.

    ``uuid7(ms, tail)`` joins it to a time; the tail ends with the closing quote of a JSON string.
    """
    h = _hash_hex(f"{seed}:{key}", 18)
    return f"-7{h[0:3]}-{'89ab'[int(h[3], 16) & 3]}{h[4:7]}-{h[7:18]}{h[3]}" + '"'


def uuid7(ms: int, tail: str) -> str:
    """A UUIDv7 string (no quotes) for time ``ms`` and a tail from :func:`uuid7_tail`."""
    t = f"{ms:012x}"
    return t[:8] + "-" + t[8:] + tail[:-1]


class _ToolEncoder:
    """Shared parts of the tool encoders: property fragments, user properties, dedup ids."""

    def __init__(self, product: Product, seed: int) -> None:
        events = product.events
        self.seed = seed
        self._session_key = json_text(events.session_key) + ":"
        self._secondary = [json_text(k) + ":" for k in events.secondary_keys]
        self._props = [
            [json_text(c.name) + ":" + json_value(v) for v in c.values] for c in events.properties
        ]
        self._lookup_names = [json_text(a.name) + ":" for a in product.lookup.attributes]
        self._names = [json_text(e) for e in events.events]
        self._fmt: IsoFormatter = formatter()
        # Caches: a prefix is built per flow entry, but the user, the session and the secondary
        # keys change far less often.
        self._user: tuple[str, str, str] = ("", "", "")  # user id, as JSON, user properties
        self._session: tuple[str, str, str] = ("", "", "")  # session id, its field, id tail
        self._keys: tuple[list[str] | None, str] = (None, "")  # secondary values, their fields

    def _user_parts(self, user: UserState) -> tuple[str, str]:
        """The user's id as JSON and its lookup values as a JSON object body (cached per user)."""
        if self._user[0] != user.user_id:
            pairs = [n + json_value(v) for n, v in zip(self._lookup_names, user.lookup)]
            self._user = (user.user_id, json_text(user.user_id), ",".join(pairs))
        return self._user[1], self._user[2]

    def _session_parts(self, session_id: str) -> tuple[str, str]:
        """The session id as a field, and the dedup id tail of its events (cached per session)."""
        if self._session[0] != session_id:
            field = self._session_key + json_text(session_id)
            self._session = (session_id, field, uuid7_tail(self.seed, session_id))
        return self._session[1], self._session[2]

    def _fields(self, user: UserState, session: str | None, props: Sequence[int]) -> str:
        """``"key":value,...``: the session field (unless None), secondary keys, properties."""
        if self._keys[0] != user.secondary:
            pairs = [k + json_text(v) for k, v in zip(self._secondary, user.secondary)]
            self._keys = (list(user.secondary), ",".join(pairs))
        parts = [] if session is None else [session]
        if self._keys[1]:
            parts.append(self._keys[1])
        for frags, index in zip(self._props, props):
            parts.append(frags[index])
        return ",".join(parts)


class AmplitudeEncoder(_ToolEncoder):
    """One Amplitude event per line (the ``events`` items of Batch Event Upload and HTTP V2)."""

    def __init__(self, product: Product, seed: int) -> None:
        super().__init__(product, seed)
        self._after = [',"event_type":' + n + ',"time":' for n in self._names]

    def prefix(
        self, user: UserState, session_id: str, session_start_ms: int, props: Sequence[int]
    ) -> tuple[str, str]:
        uid, traits = self._user_parts(user)
        _field, tail = self._session_parts(session_id)
        head = (
            '{"user_id":'
            + uid
            + ',"session_id":'
            + str(session_start_ms)
            + ',"event_properties":{'
            + self._fields(user, None, props)
            + "}"
            + (',"user_properties":{' + traits + "}" if traits else "")
            + ',"insert_id":"'
        )
        return head, tail

    def line(self, prefix: tuple[str, str], event: int, ms: int) -> str:
        head, tail = prefix
        t = f"{ms:012x}"
        return head + t[:8] + "-" + t[8:] + tail + self._after[event] + str(ms) + "}"


class MixpanelEncoder(_ToolEncoder):
    """One Mixpanel Import API event per line; user properties go to the profiles file."""

    def __init__(self, product: Product, seed: int) -> None:
        super().__init__(product, seed)
        self._after = ['},"event":' + n + "}" for n in self._names]

    def prefix(
        self, user: UserState, session_id: str, session_start_ms: int, props: Sequence[int]
    ) -> tuple[str, str]:
        uid, _traits = self._user_parts(user)
        field, tail = self._session_parts(session_id)
        fields = self._fields(user, field, props)
        head = '{"properties":{"distinct_id":' + uid + "," + fields + ',"$insert_id":"'
        return head, tail

    def line(self, prefix: tuple[str, str], event: int, ms: int) -> str:
        head, tail = prefix
        t = f"{ms:012x}"
        return head + t[:8] + "-" + t[8:] + tail + ',"time":' + str(ms) + self._after[event]


class _IsoEventEncoder(_ToolEncoder):
    """Segment and PostHog lines end alike: the dedup UUID, the event, an ISO 8601 timestamp."""

    def __init__(self, product: Product, seed: int) -> None:
        super().__init__(product, seed)
        self._after = [',"event":' + n + ',"timestamp":"' for n in self._names]

    def line(self, prefix: tuple[str, str], event: int, ms: int) -> str:
        head, tail = prefix
        t = f"{ms:012x}"
        return head + t[:8] + "-" + t[8:] + tail + self._after[event] + self._fmt.format(ms) + '"}'


class SegmentEncoder(_IsoEventEncoder):
    """One Segment ``track`` message per line; user properties go to ``identify`` messages."""

    def prefix(
        self, user: UserState, session_id: str, session_start_ms: int, props: Sequence[int]
    ) -> tuple[str, str]:
        uid, _traits = self._user_parts(user)
        field, tail = self._session_parts(session_id)
        head = (
            '{"type":"track","userId":'
            + uid
            + ',"properties":{'
            + self._fields(user, field, props)
            + '},"messageId":"'
        )
        return head, tail


class PosthogEncoder(_IsoEventEncoder):
    """One PostHog event per line (the ``batch`` items of ``/batch/``), with ``$set``."""

    def __init__(self, product: Product, seed: int) -> None:
        super().__init__(product, seed)
        self._posthog_session = ("", "")  # session id, its UUIDv7

    def prefix(
        self, user: UserState, session_id: str, session_start_ms: int, props: Sequence[int]
    ) -> tuple[str, str]:
        uid, traits = self._user_parts(user)
        field, tail = self._session_parts(session_id)
        if self._posthog_session[0] != session_id:
            # $session_id: a UUIDv7 whose time is the session's first event (PostHog's rule).
            session_tail = uuid7_tail(self.seed, "session:" + session_id)
            self._posthog_session = (session_id, uuid7(session_start_ms, session_tail))
        fields = '"$session_id":"' + self._posthog_session[1] + '",'
        fields += self._fields(user, field, props)
        if traits:
            fields += ',"$set":{' + traits + "}"
        head = '{"distinct_id":' + uid + ',"properties":{' + fields + '},"uuid":"'
        return head, tail


def check_names(fmt: Format, events: EventsSpec) -> None:
    """Refuse a sheet whose property or shard key names clash with the format's own fields."""
    named: list[tuple[str, str, int | None]] = [
        ("column", c.name, c.column) for c in events.properties
    ]
    named += [("shard key", k, None) for k in (events.session_key, *events.secondary_keys)]
    for what, name, column in named:
        if name in fmt.reserved:
            raise InputError(
                f"{what} '{name}' is a field {fmt.name} sets itself ({', '.join(fmt.reserved)}); "
                f"rename the {what}, or choose another --format",
                file=events.source,
                row=None if column is None else 1,
                column=column,
            )


def encoder_for(name: str, product: Product, seed: int) -> EventEncoder:
    """The encoder of format ``name`` for ``product`` (names checked by :func:`check_names`)."""
    tools: dict[str, Callable[[Product, int], EventEncoder]] = {
        "amplitude": AmplitudeEncoder,
        "mixpanel": MixpanelEncoder,
        "segment": SegmentEncoder,
        "posthog": PosthogEncoder,
    }
    if name in tools:
        return tools[name](product, seed)
    return FlatJsonEncoder(product.events)


def profile_lines(kind: str, product: Product, seed: int, users: Iterable[UserState]) -> list[str]:
    """The user-properties file of a tool that keeps them apart from events, one line per user.

    ``mixpanel``: Engage ``$set`` updates (add your ``$token`` when loading, see README);
    ``segment``: ``identify`` messages timed at the user's creation.
    """
    names = [json_text(a.name) + ":" for a in product.lookup.attributes]
    fmt = formatter()
    lines = []
    for user in users:
        uid = json_text(user.user_id)
        traits = ",".join(n + json_value(v) for n, v in zip(names, user.lookup))
        if kind == "mixpanel":
            lines.append('{"$distinct_id":' + uid + ',"$set":{' + traits + '},"$ignore_time":true}')
        else:
            message_id = uuid7(user.created_ms, uuid7_tail(seed, "identify:" + user.user_id))
            lines.append(
                '{"type":"identify","userId":'
                + uid
                + ',"traits":{'
                + traits
                + '},"timestamp":"'
                + fmt.format(user.created_ms)
                + '","messageId":"'
                + message_id
                + '"}'
            )
    return lines
