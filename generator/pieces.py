"""Event lines from pre-encoded byte pieces: a batch of events in one call, not a call per event.

Most of an event line is text that a run writes over and over: field names, property values, event
names, dates, the time of day.  Each is encoded once into a :class:`Pieces` table; a batch engine
then describes each event by a row of piece ids (computed with numpy, for thousands of events at a
time) and :meth:`Pieces.lines` joins every row into one ``bytes`` buffer with a single C-level
``bytes.join``.  That join was measured against a pure numpy byte gather (every output byte
indexed, ``np.repeat`` of offsets): the join makes about 2.8 times as many events per second
(``benchmarks/line_bytes.py``), because it copies whole pieces with ``memcpy`` instead of indexing
each byte.

:class:`FlatJsonLines` holds the pieces of SPEC section 4's flat JSON objects, the bytes
``generator.encoders.FlatJsonEncoder`` writes, timestamps included (dates from
``generator.isotime``, time of day from a table of 86,400 seconds and one of 1,000 milliseconds).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from .encoders import json_text, json_value
from .isotime import FIRST_DAY, LAST_DAY, date_bytes, iso_bytes
from .params import DAY_MS
from .spec import EventsSpec

Ids = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Lines:
    """A batch of lines: ``data`` holds them back to back, each followed by its separator, and
    ``ends[i]`` is the offset just past line ``i`` (so a writer can cut files between lines)."""

    data: bytes
    ends: Ids

    def __len__(self) -> int:
        return len(self.ends)


class Pieces:
    """A table of byte pieces addressed by id; a row of ids stands for their concatenation."""

    __slots__ = ("_items", "_lengths")

    def __init__(self) -> None:
        self._items: list[bytes] = []
        self._lengths = np.zeros(1024, dtype=np.int64)  # grown by doubling; first len() valid

    def __len__(self) -> int:
        return len(self._items)

    def add(self, items: Iterable[bytes]) -> int:
        """Append pieces; returns the id of the first (the others follow in order)."""
        first = len(self._items)
        self._items.extend(items)
        size = len(self._items)
        if size > len(self._lengths):
            grown = np.zeros(max(size, 2 * len(self._lengths)), dtype=np.int64)
            grown[:first] = self._lengths[:first]
            self._lengths = grown
        self._lengths[first:size] = [len(item) for item in self._items[first:]]
        return first

    def truncate(self, size: int) -> None:
        """Forget every piece from id ``size`` on (the pieces of one batch, say)."""
        del self._items[size:]

    def join(self, ids: npt.ArrayLike) -> bytes:
        """The pieces of ``ids``, in row-major order, as one ``bytes``."""
        order = np.asarray(ids, dtype=np.int64).ravel().tolist()
        return b"".join(map(self._items.__getitem__, order))

    def lines(self, ids: npt.ArrayLike) -> Lines:
        """One line per row of the ``(n, k)`` array ``ids`` (a row's pieces include its
        separator), with the offsets where lines end."""
        rows = np.asarray(ids, dtype=np.int64)
        if rows.ndim != 2:
            raise ValueError("piece ids come as a 2-d array: one row per line")
        if rows.size and (int(rows.min()) < 0 or int(rows.max()) >= len(self._items)):
            raise ValueError("a piece id outside the table")
        ends = np.cumsum(self._lengths[rows].sum(axis=1))
        return Lines(self.join(rows), ends)


class FlatJsonLines:
    """The lines ``FlatJsonEncoder`` writes for a product, built a batch at a time from pieces::

        {"userId":"…","session_id":"…","deviceId":"…","platform":"ios",…,"event":"…","ts":"…"}

    A line is a *head* (``{`` and the primary key, the session id and the secondary keys: see
    :meth:`head`), the properties in column order, the event and its time.  The property, event
    and time pieces are made once; dates are added for the days a batch needs.
    """

    def __init__(self, events: EventsSpec, separator: bytes = b"\n") -> None:
        self._spec = events
        self._primary = "{" + json_text(events.primary_key) + ":"
        self._session = "," + json_text(events.session_key) + ":"
        self._secondary = ["," + json_text(key) + ":" for key in events.secondary_keys]
        pieces = self._pieces = Pieces()
        self._empty = pieces.add([b""])
        self._column_sizes = np.array([len(c.values) for c in events.properties], dtype=np.int64)
        self._column_bases = np.array(
            [
                pieces.add(
                    ("," + json_text(column.name) + ":" + json_value(value)).encode()
                    for value in column.values
                )
                for column in events.properties
            ],
            dtype=np.int64,
        )
        self._events = pieces.add(
            (',"event":' + json_text(e) + ',"ts":"').encode() for e in events.events
        )
        self._seconds = pieces.add(_seconds_of_day())
        self._millis = pieces.add(f'{m:03d}Z"}}'.encode() + separator for m in range(1000))
        self._first_day = 0
        self._dates = np.zeros(0, dtype=np.int64)  # see _date_ids

    def head(self, user_id: str, session_id: str, secondary: Sequence[str]) -> bytes:
        """The start of every line of one user in one session with one set of secondary keys."""
        if len(secondary) != len(self._secondary):
            raise ValueError(f"{len(self._secondary)} secondary key values, not {len(secondary)}")
        text = self._primary + json_text(user_id) + self._session + json_text(session_id)
        return (
            text + "".join(k + json_text(v) for k, v in zip(self._secondary, secondary))
        ).encode()

    def lines(
        self,
        heads: Sequence[bytes],
        head: npt.ArrayLike,
        event: npt.ArrayLike,
        ms: npt.ArrayLike,
        props: npt.ArrayLike | None = None,
    ) -> Lines:
        """``n`` lines: line ``i`` is ``heads[head[i]]``, then per property column the value of
        index ``props[i, column]`` (-1: the column is left out of that line), then event
        ``event[i]`` at time ``ms[i]`` (epoch milliseconds).  ``props=None`` when the heads
        already hold the properties (a head per flow entry rather than per session)."""
        heads_of = np.asarray(head, dtype=np.int64)
        events_of = np.asarray(event, dtype=np.int64)
        times = np.asarray(ms, dtype=np.int64)
        n = len(events_of)
        if heads_of.shape != (n,) or times.shape != (n,):
            raise ValueError("head, event and ms need one value per line")
        _within(heads_of, len(heads), "head")
        _within(events_of, len(self._spec.events), "event")
        columns = 0 if props is None else len(self._column_sizes)
        ids = np.empty((n, columns + 5), dtype=np.int64)
        if props is not None:
            values = np.asarray(props, dtype=np.int64).reshape(n, columns)
            if values.size and ((values < -1) | (values >= self._column_sizes)).any():
                raise ValueError("a property value index outside its column")
            ids[:, 1 : columns + 1] = np.where(values < 0, self._empty, values + self._column_bases)
        days = times // DAY_MS
        rest = times - days * DAY_MS
        ids[:, columns + 1] = events_of + self._events
        ids[:, columns + 2] = self._date_ids(days)
        ids[:, columns + 3] = rest // 1000 + self._seconds
        ids[:, columns + 4] = rest % 1000 + self._millis
        batch = self._pieces.add(heads)  # this call's heads, forgotten once its lines are joined
        ids[:, 0] = heads_of + batch
        try:
            return self._pieces.lines(ids)
        finally:
            self._pieces.truncate(batch)

    def _date_ids(self, days: Ids) -> Ids:
        """The piece ids of ``YYYY-MM-DDT`` for each day, adding the dates a batch is missing.

        ``self._dates[d - self._first_day]`` is day ``d``'s piece, -1 until a batch needs it: a
        run's batches look up their days with one gather (8 bytes per day of the run's span).
        """
        if not days.size:
            return days
        low = int(days.min())
        high = int(days.max())
        if low < FIRST_DAY or high > LAST_DAY:
            raise ValueError("a timestamp must fall between 1900-01-01 and 9999-12-31 (UTC)")
        known = self._dates
        first = self._first_day
        if not known.size:
            self._dates = np.full(high - low + 1, -1, dtype=np.int64)
            self._first_day = first = low
        elif low < first or high >= first + known.size:
            start = min(low, first)
            grown = np.full(max(high, first + known.size - 1) - start + 1, -1, dtype=np.int64)
            grown[first - start : first - start + known.size] = known
            self._dates = grown
            self._first_day = first = start
        ids = self._dates[days - first]
        missing = ids < 0
        if missing.any():
            new = np.unique(days[missing])
            text = date_bytes(new).view("S11").ravel().tolist()
            self._dates[new - first] = self._pieces.add(text) + np.arange(len(new))
            ids = self._dates[days - first]
        return ids


@cache
def _seconds_of_day() -> list[bytes]:
    """``HH:MM:SS.`` for each second of a day (86,400 pieces, shared by every instance)."""
    text = np.ascontiguousarray(iso_bytes(np.arange(0, DAY_MS, 1000))[:, 11:20])
    pieces: list[bytes] = text.view("S9").ravel().tolist()
    return pieces


def _within(values: Ids, size: int, name: str) -> None:
    if values.size and (int(values.min()) < 0 or int(values.max()) >= size):
        raise ValueError(f"a {name} index outside 0 .. {size - 1}")
