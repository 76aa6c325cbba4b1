"""How one event becomes one line of output.

The walker keeps a *prefix* (everything that stays the same for a run of events: the user, the
session, the secondary keys, the flow's properties) and asks the encoder for a line per event.
Building the prefix once per flow entry instead of serialising a dict per event is the largest
single saving on the hot path (see README, Performance).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import getitem
from typing import Any, Protocol

import orjson

from .clock import IsoFormatter, formatter
from .params import DAY_MS
from .spec import EventsSpec, is_number_text
from .users import UserState


def json_text(value: str) -> str:
    """A JSON string literal for ``value`` (quotes, escapes, unicode kept as UTF-8)."""
    return orjson.dumps(value).decode()


def json_value(text: str) -> str:
    """A sheet cell as a JSON value: numbers as written become JSON numbers, the rest strings."""
    return text if is_number_text(text) else json_text(text)


class EventEncoder(Protocol):
    """What the walker needs from an encoder: a prefix per flow entry, a line per event.

    The prefix is opaque to the walker (a string here; other formats keep a tuple of pieces).
    """

    def prefix(
        self, user: UserState, session_id: str, session_start_ms: int, props: Sequence[int]
    ) -> Any: ...

    def line(self, prefix: Any, event: int, ms: int) -> str: ...


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
        self._props = [
            ["," + json_text(c.name) + ":" + json_value(v) for v in c.values]
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
        # The day of the last line (its first ms) and the event fragments ending in its date; the
        # fragments of every day seen so far (a run spans a few hundred days at most).
        self._day_first = -2 * DAY_MS
        self._day_events: list[str] = []
        self._by_day: dict[int, list[str]] = {}

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
            self._new_day(ms)
            rest = ms - self._day_first
        return (
            f"{prefix}{self._day_events[event]}"
            f"{self._seconds[rest // 1000]}{self._millis_end[rest % 1000]}"
        )

    def day_parts(self, day: int) -> tuple[list[str], list[str], list[str]] | None:
        """How :meth:`line` builds the lines of epoch day ``day``, for a walker that builds them
        itself: ``(heads, seconds, millis)`` such that, for every ``ms`` of that day,
        ``line(prefix, event, ms) == prefix + heads[event] + seconds[(ms - day * DAY_MS) // 1000]
        + millis[ms % 1000]``.  None when a subclass builds its lines another way.
        """
        if type(self).line is not FlatJsonEncoder.line:
            return None
        self._new_day(day * DAY_MS)
        return self._day_events, self._seconds, self._millis_end

    def _new_day(self, ms: int) -> None:
        day = ms // DAY_MS
        self._day_first = day * DAY_MS
        events = self._by_day.get(day)
        if events is None:
            date = self._fmt.day_prefix(day)
            events = self._by_day[day] = [fragment + date for fragment in self._events]
        self._day_events = events
