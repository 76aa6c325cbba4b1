"""How one event becomes one line of output.

The walker keeps a *prefix* (everything that stays the same for a run of events: the user, the
session, the secondary keys, the flow's properties) and asks the encoder for a line per event.
Building the prefix once per flow entry instead of serialising a dict per event is the largest
single saving on the hot path (see README, Performance).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import orjson

from .clock import IsoFormatter, formatter
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
    """

    def __init__(self, events: EventsSpec) -> None:
        self._primary = "{" + json_text(events.primary_key) + ":"
        self._session = "," + json_text(events.session_key) + ":"
        self._secondary = ["," + json_text(k) + ":" for k in events.secondary_keys]
        self._props = [
            ["," + json_text(c.name) + ":" + json_value(v) for v in c.values]
            for c in events.properties
        ]
        self._events = ['"event":' + json_text(e) + ',"ts":"' for e in events.events]
        self._fmt: IsoFormatter = formatter()

    def prefix(
        self, user: UserState, session_id: str, session_start_ms: int, props: Sequence[int]
    ) -> str:
        """Everything before the event name, for ``user`` in a session, with a flow's properties.

        ``props`` holds, per property column, the index of the drawn value.  Encoders for other
        destinations use ``session_start_ms`` and ``user.lookup``; this one needs neither.
        """
        parts = [self._primary, json_text(user.user_id), self._session, json_text(session_id)]
        for key, value in zip(self._secondary, user.secondary):
            parts.append(key)
            parts.append(json_text(value))
        for frags, index in zip(self._props, props):
            parts.append(frags[index])
        parts.append(",")
        return "".join(parts)

    def line(self, prefix: str, event: int, ms: int) -> str:
        """One event: ``prefix`` (from :meth:`prefix`), the event's index and its time."""
        return prefix + self._events[event] + self._fmt.format(ms) + '"}'
