"""How one event becomes one line of output, in each shape a format writes.

The walker keeps a *prefix* (everything that stays the same for a run of events: the user, the
session, the secondary keys, the flow's properties) and asks the encoder for a line per event.
Building the prefix once per flow entry instead of serialising a dict per event is the largest
single saving on the hot path (see README, Performance).

- :class:`FlatJsonEncoder`: the flat events of SPEC section 4 (``json`` and ``jsonl``);
- the tool encoders follow each tool's documented bulk import (README, "Output formats" and
  "Data dictionary"): :class:`AmplitudeEncoder` (Batch Event Upload / HTTP V2 events: ``user_id``,
  ``event_type``, ``time`` in ms, ``session_id`` the session's start in ms, ``insert_id``,
  ``event_properties``, ``user_properties``), :class:`MixpanelEncoder` (Import API events:
  ``event`` and ``properties`` holding ``time``, ``distinct_id`` and ``$insert_id``),
  :class:`SegmentEncoder` (Tracking API ``track`` messages) and :class:`PosthogEncoder`
  (capture/batch events with ``$session_id`` and ``$set``);
- :func:`mixpanel_profiles` and :func:`segment_identifies`: the user-properties files of the tools
  that keep them apart from events.

Dedup ids are UUIDv7 strings whose 48-bit time is the event's time and whose other 74 bits come
from a hash of the seed and the session id; a user never has two events in the same millisecond
(gaps are at least 1 s), so ids are unique, and the same run always gives the same ids: loading it
twice creates no duplicates.  36 characters of hex digits and dashes: within Mixpanel's limit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from operator import getitem

import orjson

from .clock import DAY_MS, IsoFormatter, formatter
from .spec import USER, EventsSpec, Product, is_number_text
from .users import UserState


def json_text(value: str) -> str:
    """A JSON string literal for ``value`` (quotes, escapes, unicode kept as UTF-8)."""
    return orjson.dumps(value).decode()


def json_value(text: str) -> str:
    """A sheet cell as a JSON value: numbers as written become JSON numbers, the rest strings."""
    return text if is_number_text(text) else json_text(text)


class FlatJsonEncoder:
    """SPEC section 4: one flat object per event, fields in a fixed order::

    {"userId": ..., "session_id": ..., "deviceId": ..., "platform": ..., "event": ..., "ts": ...}

    Both methods are on the hot path (README, Performance).  :meth:`prefix` keeps the part that
    names the user, the session and the secondary keys until one of them changes, so a flow entry
    only joins its property fragments.  :meth:`line` keeps, for the UTC day of the last event, each
    event's ``"event":...,"ts":"YYYY-MM-DDT`` fragment, so an event costs one table look-up per
    part of its time and one string build.
    """

    def __init__(self, events: EventsSpec) -> None:
        self._primary = "{" + json_text(events.primary_key) + ":"
        self._session = "," + json_text(events.session_key) + ":"
        self._secondary = ["," + json_text(k) + ":" for k in events.secondary_keys]
        # Per column, a fragment per value; the last, "", is what index -1 (not on this line,
        # properties.ABSENT) picks.
        self._props = [
            ["," + json_text(c.name) + ":" + json_value(v) for v in c.values] + [""]
            for c in events.properties
        ]
        # The comma that ends the prefix starts each event's fragment instead: one join less.
        self._events = [',"event":' + json_text(e) + ',"ts":"' for e in events.events]
        self._fmt: IsoFormatter = formatter()
        self._seconds = self._fmt.seconds
        self._millis_end = [m + '"}' for m in self._fmt.millis]
        # The parts of the last prefix's head, each with the value it was built from: the user
        # changes once per user, the session once per session, secondary keys on a renewal.
        self._user = self._session_id = ""
        self._user_part = self._session_part = self._secondary_part = ""
        self._secondary_values: list[str] = []
        self._head = ""
        # The day of the last line (its first ms) and its date, "YYYY-MM-DDT".  Only the date
        # changes with the day, so memory stays the same whatever the sheet and the window (a
        # fragment per event and per day once took 1.9 GB: 10,000 events over ten years).
        self._day_first = -(2**62)  # no day yet: far before any day a run can have (1900 on)
        self._date = ""

    def prefix(
        self, user: UserState, session_id: str, session_start_ms: int, props: Sequence[int]
    ) -> str:
        """Everything before the event name, for ``user`` in a session, with a flow's properties.

        ``props`` holds, per property column, the index of the drawn value.  Encoders for other
        destinations use ``session_start_ms`` and ``user.lookup``; this one needs neither.
        """
        if (
            session_id != self._session_id
            or user.user_id != self._user
            or user.secondary != self._secondary_values
        ):
            self._new_head(user, session_id)
        return self._head + "".join(map(getitem, self._props, props))

    def _new_head(self, user: UserState, session_id: str) -> None:
        if user.user_id != self._user:
            self._user = user.user_id
            self._user_part = self._primary + json_text(user.user_id)
        if session_id != self._session_id:
            self._session_id = session_id
            self._session_part = self._session + json_text(session_id)
        if user.secondary != self._secondary_values:
            self._secondary_values = list(user.secondary)
            self._secondary_part = "".join(
                key + json_text(value) for key, value in zip(self._secondary, user.secondary)
            )
        self._head = self._user_part + self._session_part + self._secondary_part

    def line(self, prefix: str, event: int, ms: int) -> str:
        """One event: ``prefix`` (from :meth:`prefix`), the event's index and its time."""
        rest = ms - self._day_first
        if rest >= DAY_MS or rest < 0:
            self._new_day(ms // DAY_MS)
            rest = ms - self._day_first
        return (
            f"{prefix}{self._events[event]}{self._date}"
            f"{self._seconds[rest // 1000]}{self._millis_end[rest % 1000]}"
        )

    def day_parts(self, day: int) -> tuple[list[str], str, list[str], list[str]] | None:
        """How :meth:`line` builds the lines of epoch day ``day``, for a walker that builds them
        itself: ``(heads, date, seconds, millis)`` such that, for every ``ms`` of that day,
        ``line(prefix, event, ms) == prefix + heads[event] + date + seconds[(ms - day * DAY_MS)
        // 1000] + millis[ms % 1000]``.  None when a subclass builds its lines another way.
        """
        if type(self).line is not FlatJsonEncoder.line:
            return None
        self._new_day(day)
        return self._events, self._date, self._seconds, self._millis_end

    def _new_day(self, day: int) -> None:
        self._day_first = day * DAY_MS
        self._date = self._fmt.day_prefix(day)


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
        # Per column, a fragment per value; the last, "", is what index -1 (absent) picks.
        self._props = [
            [json_text(c.name) + ":" + json_value(v) for v in c.values] + [""]
            for c in events.properties
        ]
        self._lookup_names = [json_text(a.name) + ":" for a in product.lookup.attributes]
        self._user_columns = [i for i, c in enumerate(events.properties) if c.scope == USER]
        self._names = [json_text(e) for e in events.events]
        self._fmt: IsoFormatter = formatter()
        # Caches: a prefix is built per flow entry, but the user, the session and the secondary
        # keys change far less often.
        self._user: tuple[str, str, str] = ("", "", "")  # user id, as JSON, user properties
        self._session: tuple[str, str, str] = ("", "", "")  # session id, its field, id tail
        self._keys: tuple[list[str] | None, str] = (None, "")  # secondary values, their fields

    def _user_parts(self, user: UserState) -> tuple[str, str]:
        """The user's id as JSON and its user properties as a JSON object body: the lookup values
        and the sheet's `[user]` properties (cached per user)."""
        if self._user[0] != user.user_id:
            self._user = (user.user_id, json_text(user.user_id), self.traits(user))
        return self._user[1], self._user[2]

    def traits(self, user: UserState) -> str:
        """What the tools keep as user properties: lookup attributes, then `[user]` properties."""
        pairs = [n + json_value(v) for n, v in zip(self._lookup_names, user.lookup)]
        pairs += [self._props[i][user.user_props[i]] for i in self._user_columns]
        return ",".join(pairs)

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
            if index >= 0:
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


def mixpanel_profiles(product: Product, seed: int, users: Iterable[UserState]) -> list[str]:
    """Mixpanel Engage ``$set`` updates, one per user (add your ``$token`` when loading): the
    lookup attributes and the `[user]` properties."""
    traits = _ToolEncoder(product, seed).traits
    return [
        '{"$distinct_id":'
        + json_text(user.user_id)
        + ',"$set":{'
        + traits(user)
        + '},"$ignore_time":true}'
        for user in users
    ]


def segment_identifies(product: Product, seed: int, users: Iterable[UserState]) -> list[str]:
    """Segment ``identify`` messages, one per user, timed at the user's creation: the lookup
    attributes and the `[user]` properties as traits."""
    traits = _ToolEncoder(product, seed).traits
    fmt = formatter()
    return [
        '{"type":"identify","userId":'
        + json_text(user.user_id)
        + ',"traits":{'
        + traits(user)
        + '},"timestamp":"'
        + fmt.format(user.created_ms)
        + '","messageId":"'
        + uuid7(user.created_ms, uuid7_tail(seed, "identify:" + user.user_id))
        + '"}'
        for user in users
    ]
