"""Event lines from pre-encoded byte pieces: a batch of events in one call, not a call per event.

Most of an event line is text that a run writes over and over: field names, property values, event
names, the head naming the user and the session.  Each is encoded once into a :class:`Pieces`
table; a batch engine then describes each event by a row of piece ids (computed with numpy, for
thousands of events at a time) and :meth:`Pieces.lines` joins every row into one ``bytes`` buffer
with a single C-level ``bytes.join``.  The join copies whole pieces with ``memcpy``; a pure numpy
byte gather (``np.repeat`` of piece offsets, then one fancy index per output byte) was measured on
the same rows at about a tenth of its speed (``benchmarks/line_bytes.py``, docs/engine.md).

:class:`FlatJsonLines` holds the pieces of SPEC section 4's flat JSON objects, the bytes
``generator.encoders.FlatJsonEncoder`` writes.  Timestamps are the one part of a line that is new
for every event: ``generator.isotime`` writes a batch of them into a numpy array (a table of digit
pairs, integer calendar arithmetic), and each row becomes one piece.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import orjson

from .encoders import json_text, json_value
from .isotime import iso_bytes
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
    """A table of byte pieces addressed by id; a row of ids stands for their concatenation.

    The pieces are kept in a numpy array of objects, so that picking a batch's pieces is one fancy
    index in C (no Python integer per id): less than half the cost of mapping a list's
    ``__getitem__`` over ``ids.tolist()`` (135 against 316 ns per row of nine pieces, measured when
    it was written).
    """

    __slots__ = ("_items", "_lengths", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._items = np.empty(1024, dtype=object)  # grown by doubling; the first _size are used
        self._lengths = np.zeros(1024, dtype=np.int64)

    def __len__(self) -> int:
        return self._size

    def add(self, items: Iterable[bytes]) -> int:
        """Append pieces; returns the id of the first (the others follow in order)."""
        new = list(items)
        first = self._reserve(len(new))
        self._items[first : self._size] = new  # a list of bytes becomes one object per item
        self._lengths[first : self._size] = [len(item) for item in new]
        return first

    def add_rows(self, rows: npt.NDArray[np.uint8], padded: bool = False) -> int:
        """Append each row of a 2-d byte array as a piece (fixed-width text made by numpy, such as
        timestamps), without a Python step per row; returns the id of the first.  ``padded``:
        rows of different lengths, each filled up with zero bytes, which are dropped."""
        count, width = rows.shape
        if width == 0 or (count and not padded and (rows[:, -1] == 0).any()):
            raise ValueError("rows must be at least one byte wide and not end with a zero byte")
        # numpy's fixed-width bytes type: rows as bytes objects in one conversion (it drops
        # trailing zero bytes, which is why an unpadded row may not end with one).
        texts = np.ascontiguousarray(rows).view(f"S{width}").ravel().astype(object)
        first = self._reserve(count)
        self._items[first : self._size] = texts
        if padded:
            self._lengths[first : self._size] = width - (rows[:, ::-1] != 0).argmax(axis=1)
        else:
            self._lengths[first : self._size] = width
        return first

    def _reserve(self, count: int) -> int:
        """Make room for ``count`` more pieces; returns the id the first of them gets."""
        first = self._size
        size = first + count
        if size > len(self._items):
            capacity = max(size, 2 * len(self._items))
            items = np.empty(capacity, dtype=object)
            items[:first] = self._items[:first]
            lengths = np.zeros(capacity, dtype=np.int64)
            lengths[:first] = self._lengths[:first]
            self._items, self._lengths = items, lengths
        self._size = size
        return first

    def truncate(self, size: int) -> None:
        """Forget every piece from id ``size`` on (the pieces of one batch, say)."""
        if size < self._size:
            self._items[size : self._size] = None
            self._size = size

    def join(self, ids: npt.ArrayLike) -> bytes:
        """The pieces of ``ids``, in row-major order, as one ``bytes``."""
        order = np.asarray(ids, dtype=np.int64).ravel()
        if order.size and (int(order.min()) < 0 or int(order.max()) >= self._size):
            raise ValueError("a piece id outside the table")
        return b"".join(self._items[order].tolist())

    def lines(self, ids: npt.ArrayLike) -> Lines:
        """One line per row of the ``(n, k)`` array ``ids`` (a row's pieces include its
        separator), with the offsets where lines end."""
        rows = np.asarray(ids, dtype=np.int64)
        if rows.ndim != 2:
            raise ValueError("piece ids come as a 2-d array: one row per line")
        data = self.join(rows)
        return Lines(data, np.cumsum(self._lengths[rows].sum(axis=1)))


class FlatJsonLines:
    """The lines ``FlatJsonEncoder`` writes for a product, built a batch at a time from pieces::

        {"userId":"…","session_id":"…","deviceId":"…","platform":"ios",…,"event":"…","ts":"…"}

    A line is a *head* (``{`` and the primary key, the session id and the secondary keys: see
    :meth:`head`), the properties in column order, the event, and the event's own text: its
    timestamp and the end of the line.  Property and event pieces are made once per product; heads
    and timestamps once per batch.
    """

    def __init__(self, events: EventsSpec, separator: bytes = b"\n") -> None:
        self._spec = events
        self._primary = ("{" + json_text(events.primary_key) + ":").encode()
        self._session = ("," + json_text(events.session_key) + ":").encode()
        self._secondary = [("," + json_text(key) + ":").encode() for key in events.secondary_keys]
        self._tail = b'"}' + separator
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

    def head(self, user_id: str, session_id: str, secondary: Sequence[str]) -> bytes:
        """The start of every line of one user in one session with one set of secondary keys."""
        if len(secondary) != len(self._secondary):
            raise ValueError(f"{len(self._secondary)} secondary key values, not {len(secondary)}")
        # orjson.dumps is json_text without the decode: the same bytes, no str in between.
        dumps = orjson.dumps
        text = self._primary + dumps(user_id) + self._session + dumps(session_id)
        return text + b"".join(key + dumps(value) for key, value in zip(self._secondary, secondary))

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
        ``event[i]`` at time ``ms[i]`` (epoch milliseconds, 1900 to 9999).  ``props=None`` when
        the heads already hold the properties (a head per flow entry rather than per session)."""
        heads_of = np.asarray(head, dtype=np.int64)
        events_of = np.asarray(event, dtype=np.int64)
        times = np.asarray(ms, dtype=np.int64)
        n = len(events_of)
        if heads_of.shape != (n,) or times.shape != (n,):
            raise ValueError("head, event and ms need one value per line")
        _within(heads_of, len(heads), "head")
        _within(events_of, len(self._spec.events), "event")
        columns = 0 if props is None else len(self._column_sizes)
        ids = np.empty((n, columns + 3), dtype=np.int64)
        if props is not None:
            values = np.asarray(props, dtype=np.int64).reshape(n, columns)
            if values.size and ((values < -1) | (values >= self._column_sizes)).any():
                raise ValueError("a property value index outside its column")
            ids[:, 1 : columns + 1] = np.where(values < 0, self._empty, values + self._column_bases)
        ids[:, columns + 1] = events_of + self._events
        # Each event's own text (timestamp, end of line) is made by numpy for the whole batch as
        # fixed-width rows, which become pieces in one conversion.
        stamps = iso_bytes(times, self._tail)
        batch = self._pieces.add(heads)  # this call's pieces, forgotten once its lines are made
        ids[:, 0] = heads_of + batch
        ids[:, columns + 2] = np.arange(n) + self._pieces.add_rows(stamps)
        try:
            return self._pieces.lines(ids)
        finally:
            self._pieces.truncate(batch)


def _within(values: Ids, size: int, name: str) -> None:
    if values.size and (int(values.min()) < 0 or int(values.max()) >= size):
        raise ValueError(f"a {name} index outside 0 .. {size - 1}")
