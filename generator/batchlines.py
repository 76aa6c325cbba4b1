"""Every format's lines for a batch of events at once, from pre-encoded pieces (``pieces``).

The batch engine (``batch``) keeps, per written event, its user, session, event, time and each
column's value; this module makes the bytes the plain model's encoders (``encoders``) write, byte
for byte, without a Python step per event.  A line is a row of piece ids joined by one
``bytes.join`` (``pieces.Pieces``):

=========  ===============================================================================
user       what names the user: ``{"userId":"…"`` (flat JSON), ``{"user_id":"…","session_id":``
           (Amplitude), ... and, after the properties, the user's own closing part
session    the session id field (and Amplitude's session start, PostHog's ``$session_id``)
device     the secondary keys
columns    one piece per property column (its value, or nothing when not on the line)
event      the event's name with the field names around it
per event  made by numpy for a whole slice as rows of bytes: the timestamp (ISO 8601 or ms),
           and the tool formats' dedup id (a UUIDv7 whose time is the event's)
=========  ===============================================================================

User, session and device pieces are made once per batch; column and event pieces once per run.
Each line ends with the format's separator, as ``writers.EventFiles.write_lines`` expects.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt
import orjson

from .batch import Events, Slice
from .encoders import (
    AmplitudeEncoder,
    MixpanelEncoder,
    PosthogEncoder,
    SegmentEncoder,
    _ToolEncoder,
    json_text,
    json_value,
    uuid7,
    uuid7_tail,
)
from .isotime import iso_bytes
from .pieces import Lines, Pieces
from .spec import KEY, SESSION, USER, Product
from .users import UserState

Ints = npt.NDArray[np.int64]
Rows = npt.NDArray[np.uint8]

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)
_ZERO = ord("0")


def hex_rows(words: npt.NDArray[np.uint64], digits: int) -> Rows:
    """The last ``digits`` hex digits of each word, as rows of ASCII bytes."""
    out = np.empty((words.size, digits), dtype=np.uint8)
    for place in range(digits):
        shift = np.uint64(4 * (digits - 1 - place))
        out[:, place] = _HEX[((words >> shift) & np.uint64(15)).astype(np.intp)]
    return out


def time_hex_rows(ms: Ints) -> Rows:
    """``t[:8] + "-" + t[8:]`` of ``t = f"{ms:012x}"`` for each time: the first part of the tool
    formats' dedup ids (``encoders.uuid7``), 13 bytes."""
    out = np.empty((ms.size, 13), dtype=np.uint8)
    digits = hex_rows(ms.astype(np.uint64), 12)
    out[:, :8] = digits[:, :8]
    out[:, 8] = ord("-")
    out[:, 9:] = digits[:, 8:]
    negative = np.nonzero(ms < 0)[0]  # before 1970: Python's own formatting of a negative number
    for row in negative.tolist():
        t = f"{int(ms[row]):012x}"
        out[row] = np.frombuffer((t[:8] + "-" + t[8:]).encode(), dtype=np.uint8)
    return out


def decimal_rows(values: Ints, head: bytes, tail: bytes) -> Rows:
    """``head + str(value) + tail`` for each value, as rows filled up with zero bytes."""
    negative = values < 0
    magnitude = np.abs(values)
    width = 1
    while width < 19 and (magnitude >= 10**width).any():
        width += 1
    size = len(head) + 1 + width + len(tail)
    out = np.zeros((values.size, size), dtype=np.uint8)
    if head:
        out[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    length = np.ones(values.size, dtype=np.int64)
    for place in range(1, width):
        length += magnitude >= 10**place
    length += negative
    rows = np.arange(values.size)
    column = len(head) + length - 1
    rest = magnitude.copy()
    for place in range(width):
        here = place < length - negative
        out[rows[here], column[here] - place] = _DIGITS[rest[here] % 10]
        rest //= 10
    out[rows[negative], len(head)] = ord("-")
    if tail:
        tail_bytes = np.frombuffer(tail, dtype=np.uint8)
        for offset, byte in enumerate(tail_bytes.tolist()):
            out[rows, len(head) + length + offset] = byte
    return out


class BatchLines:
    """One format's lines for batches of events (see the module's docstring).  ``slots`` says the
    order of a line's pieces: "head", "columns", "user tail", "id", "tail" (the session's dedup id
    tail), "event", "time".  The head is one piece per session: the user's piece, the session's,
    the device's, and the leading columns whose value is the same on every event of a session
    (`[user]`, key-bound and `[session]` columns written on every event): the fewer the pieces of
    a line, the cheaper the join."""

    slots: tuple[str, ...] = ()

    def __init__(self, product: Product, seed: int, separator: bytes) -> None:
        self.product = product
        self.seed = seed
        self.separator = separator
        self.pieces = Pieces()
        self.empty = self.pieces.add([b""])
        events = product.events
        self.column_sizes = np.array([len(c.values) for c in events.properties], dtype=np.int64)
        self.columns = self.pieces.add(
            (b"," + self.column_text(c.name, v).encode())
            for c in events.properties
            for v in c.values
        )
        self.column_bases = self.columns + firsts_of(self.column_sizes)
        self.events = self.pieces.add(self.event_text(name) for name in events.events)
        self.folded = 0  # the leading columns in the heads
        for column in events.properties:
            if column.scope not in (USER, KEY, SESSION) or column.events:
                break
            self.folded += 1
        self._users: tuple[int, int, int] | None = None  # (mark, heads, tails)
        self._device_texts: dict[int, bytes] = {}  # the batch's devices' pieces, made once each
        # (mark, session pieces, their tails, the piece of each device)
        self._part: tuple[int, int, int, Ints] | None = None

    # -- what each format writes ------------------------------------------------------------------

    def column_text(self, name: str, value: str) -> str:
        return json_text(name) + ":" + json_value(value)

    def event_text(self, name: str) -> bytes:
        raise NotImplementedError

    def user_texts(self, user: UserState) -> tuple[bytes, bytes]:
        """The user's piece, and its closing piece after the properties."""
        raise NotImplementedError

    def session_texts(self, session_id: str, start_ms: int) -> tuple[bytes, bytes]:
        """The session's piece, and its dedup id tail."""
        raise NotImplementedError

    first_key_comma = True  # a comma before the first secondary key too

    def device_text(self, keys: tuple[str, ...]) -> bytes:
        """The device's secondary keys, each after its field name (``,"name":``, made once)."""
        return b"".join([name + orjson.dumps(v) for name, v in zip(self.key_names, keys)])

    @functools.cached_property
    def key_names(self) -> tuple[bytes, ...]:
        keys = self.product.events.secondary_keys
        names = [("," + json_text(k) + ":").encode() for k in keys]
        if names and not self.first_key_comma:
            names[0] = names[0][1:]
        return tuple(names)

    def time_rows(self, ms: Ints) -> Rows:
        """Each event's own text after its event piece (or before it), with the separator if it
        ends the line; rows filled up with zero bytes."""
        raise NotImplementedError

    # -- a batch ----------------------------------------------------------------------------------

    def begin_users(self, users: list[UserState]) -> None:
        """Make the pieces of a batch's users (its rows' ``UserState``)."""
        self.end_users()
        mark = len(self.pieces)
        self._device_texts = {}
        user_parts = [self.user_texts(user) for user in users]
        heads = self.pieces.add(part[0] for part in user_parts)
        self._users = (mark, heads, self.pieces.add(part[1] for part in user_parts))

    def end_users(self) -> None:
        """Forget the batch's pieces."""
        self.end()
        if self._users is not None:
            self.pieces.truncate(self._users[0])
            self._users = None

    def begin(self, events: Events) -> None:
        """Make the session and device pieces of a part of the batch's events."""
        self.end()
        mark = len(self.pieces)
        assert self._users is not None
        sessions, tails = self.session_pieces(events)
        used = np.unique(events.session_device)
        texts = self._device_texts
        for number in used.tolist():
            if number not in texts:
                texts[number] = self.device_text(events.devices[number])
        first = self.pieces.add(texts[number] for number in used.tolist())
        devices = np.zeros(len(events.devices), dtype=np.int64)
        devices[used] = first + np.arange(used.size)
        self._part = (mark, sessions, tails, devices)

    def heads(self, events: Events, sessions: Ints) -> int:
        """The heads of ``sessions`` (distinct), one piece each, in that order; returns the id of
        the first (made per slice of lines: a part's heads would hold a few dozen MB)."""
        assert self._users is not None and self._part is not None
        _, session_pieces, _, devices = self._part
        user = events.session_user[sessions]
        ids = [self._users[1] + user, session_pieces + sessions,
               devices[events.session_device[sessions]]]  # fmt: skip
        nothing = np.zeros(0, dtype=np.int64)
        for column in range(self.folded):
            value = events.values_of(column, user, sessions, nothing, nothing)
            ids.append(self.column_base(column) + value)
        joined = self.pieces.lines(np.stack(ids, axis=1))
        data, ends = joined.data, joined.ends.tolist()
        return self.pieces.add(data[a:b] for a, b in zip([0, *ends[:-1]], ends))

    def session_pieces(self, events: Events) -> tuple[int, int]:
        parts = [
            self.session_texts(f"{word:016x}", start)
            for word, start in zip(events.session_id.tolist(), events.session_start.tolist())
        ]
        return self.pieces.add(p[0] for p in parts), self.pieces.add(p[1] for p in parts)

    def end(self) -> None:
        """Forget the part's pieces."""
        if self._part is not None:
            self.pieces.truncate(self._part[0])
            self._part = None

    def lines(self, events: Events, start: int, stop: int) -> Lines:
        """Lines ``start`` to ``stop`` (by user) of the batch begun with :meth:`begin`."""
        assert self._users is not None and self._part is not None
        _, _user_heads, user_tails = self._users
        tails = self._part[2]
        mark = len(self.pieces)
        taken: Slice = events.take(start, stop, self.folded)
        user, session = taken.user, taken.session
        count = stop - start
        ids: list[Ints] = []
        for slot in self.slots:
            if slot == "head":  # (a session's events are consecutive: a user's, in time order)
                change = np.ones(count, dtype=np.bool_)
                change[1:] = session[1:] != session[:-1]
                ids.append(self.heads(events, session[change]) + np.cumsum(change) - 1)
            elif slot == "user tail":
                ids.append(user_tails + user)
            elif slot == "tail":
                ids.append(tails + session)
            elif slot == "columns":
                ids.extend(self.column_ids(taken.props))
            elif slot == "event":
                ids.append(self.events + taken.event)
            elif slot == "id":
                ids.append(self.pieces.add_rows(time_hex_rows(taken.ms)) + np.arange(count))
            elif slot == "time":
                rows = self.time_rows(taken.ms)
                ids.append(self.pieces.add_rows(rows, padded=True) + np.arange(count))
        try:
            return self.pieces.lines(np.stack(ids, axis=1) if ids else np.zeros((count, 0)))
        finally:
            self.pieces.truncate(mark)

    def column_base(self, column: int) -> int:
        """The piece of value 0 of ``column`` (the others follow), with a leading comma."""
        return int(self.column_bases[column])

    def column_ids(self, values: Ints) -> list[Ints]:
        """Per column after the folded ones, each line's piece: its value (with a leading
        comma), or nothing."""
        found = []
        for number in range(values.shape[1]):
            value = values[:, number]
            base = self.column_base(self.folded + number)
            found.append(np.where(value < 0, self.empty, value + base))
        return found


def firsts_of(sizes: Ints) -> Ints:
    found: Ints = np.cumsum(sizes) - sizes
    return found


class FlatLines(BatchLines):
    """SPEC section 4's flat objects, as ``encoders.FlatJsonEncoder`` writes them."""

    slots = ("head", "columns", "event", "time")

    def __init__(self, product: Product, seed: int, separator: bytes) -> None:
        events = product.events
        self.primary = "{" + json_text(events.primary_key) + ":"
        self.session_field = ("," + json_text(events.session_key) + ':"').encode()
        super().__init__(product, seed, separator)
        self.tail = b'"}' + separator

    def event_text(self, name: str) -> bytes:
        return (',"event":' + json_text(name) + ',"ts":"').encode()

    def user_texts(self, user: UserState) -> tuple[bytes, bytes]:
        return (self.primary + json_text(user.user_id)).encode(), b""

    def session_pieces(self, events: Events) -> tuple[int, int]:
        """Session ids are 16 hex digits: made by numpy, no Python step per session."""
        head = np.frombuffer(self.session_field, dtype=np.uint8)
        rows = np.empty((events.session_id.size, head.size + 17), dtype=np.uint8)
        rows[:, : head.size] = head
        rows[:, head.size : head.size + 16] = hex_rows(events.session_id, 16)
        rows[:, -1] = ord('"')
        if not rows.shape[0]:
            return self.empty, self.empty
        return self.pieces.add_rows(rows), self.empty

    def time_rows(self, ms: Ints) -> Rows:
        return iso_bytes(ms, self.tail)


class _ToolLines(BatchLines):
    """What the tool formats share (``encoders._ToolEncoder``)."""

    def __init__(self, product: Product, seed: int, separator: bytes) -> None:
        self.tool = self.encoder(product, seed)
        super().__init__(product, seed, separator)

    def encoder(self, product: Product, seed: int) -> _ToolEncoder:
        raise NotImplementedError

    def session_field(self, session_id: str) -> str:
        return json_text(self.product.events.session_key) + ":" + json_text(session_id)


class AmplitudeLines(_ToolLines):
    slots = ("head", "columns", "user tail", "id", "tail", "event", "time")
    first_key_comma = False  # the first secondary key opens the event's properties

    def encoder(self, product: Product, seed: int) -> _ToolEncoder:
        return AmplitudeEncoder(product, seed)

    def event_text(self, name: str) -> bytes:
        return (',"event_type":' + json_text(name) + ',"time":').encode()

    def user_texts(self, user: UserState) -> tuple[bytes, bytes]:
        traits = self.tool.traits(user)
        tail = "}" + (',"user_properties":{' + traits + "}" if traits else "") + ',"insert_id":"'
        return ('{"user_id":' + json_text(user.user_id) + ',"session_id":').encode(), tail.encode()

    def session_texts(self, session_id: str, start_ms: int) -> tuple[bytes, bytes]:
        return (str(start_ms) + ',"event_properties":{').encode(), uuid7_tail(
            self.seed, session_id
        ).encode()

    def column_base(self, column: int) -> int:
        """Without secondary keys the first property written opens the object: no comma (a
        folded column 0 is always written, so it always is that first one)."""
        if self.product.events.secondary_keys or column > 0 or not self.folded:
            return int(self.column_bases[column])
        return int(self.bare_bases[column])

    def column_ids(self, values: Ints) -> list[Ints]:
        """Without secondary keys the first property written opens the object: no comma."""
        found = super().column_ids(values)
        if self.product.events.secondary_keys or not found or self.folded:
            return found
        present = values >= 0
        first = np.where(present.any(axis=1), present.argmax(axis=1), -1)
        for column, ids in enumerate(found):
            here = first == column
            ids[here] = self.bare_bases[column] + values[here, column]
        return found

    def __init__(self, product: Product, seed: int, separator: bytes) -> None:
        super().__init__(product, seed, separator)
        self.bare_bases = self.pieces.add(
            self.column_text(c.name, v).encode()
            for c in product.events.properties
            for v in c.values
        ) + firsts_of(self.column_sizes)
        self.end_of_line = b"}" + separator

    def time_rows(self, ms: Ints) -> Rows:
        return decimal_rows(ms, b"", self.end_of_line)


class MixpanelLines(_ToolLines):
    slots = ("head", "columns", "user tail", "id", "tail", "time", "event")

    def encoder(self, product: Product, seed: int) -> _ToolEncoder:
        return MixpanelEncoder(product, seed)

    def event_text(self, name: str) -> bytes:
        return ('},"event":' + json_text(name) + "}").encode() + self.separator

    def user_texts(self, user: UserState) -> tuple[bytes, bytes]:
        head = '{"properties":{"distinct_id":' + json_text(user.user_id) + ","
        return head.encode(), b',"$insert_id":"'

    def session_texts(self, session_id: str, start_ms: int) -> tuple[bytes, bytes]:
        return self.session_field(session_id).encode(), uuid7_tail(self.seed, session_id).encode()

    def time_rows(self, ms: Ints) -> Rows:
        return decimal_rows(ms, b',"time":', b"")


class _IsoLines(_ToolLines):
    def event_text(self, name: str) -> bytes:
        return (',"event":' + json_text(name) + ',"timestamp":"').encode()

    def time_rows(self, ms: Ints) -> Rows:
        return iso_bytes(ms, b'"}' + self.separator)


class SegmentLines(_IsoLines):
    slots = ("head", "columns", "user tail", "id", "tail", "event", "time")

    def encoder(self, product: Product, seed: int) -> _ToolEncoder:
        return SegmentEncoder(product, seed)

    def user_texts(self, user: UserState) -> tuple[bytes, bytes]:
        head = '{"type":"track","userId":' + json_text(user.user_id) + ',"properties":{'
        return head.encode(), b'},"messageId":"'

    def session_texts(self, session_id: str, start_ms: int) -> tuple[bytes, bytes]:
        return self.session_field(session_id).encode(), uuid7_tail(self.seed, session_id).encode()


class PosthogLines(_IsoLines):
    slots = ("head", "columns", "user tail", "id", "tail", "event", "time")

    def encoder(self, product: Product, seed: int) -> _ToolEncoder:
        return PosthogEncoder(product, seed)

    def user_texts(self, user: UserState) -> tuple[bytes, bytes]:
        traits = self.tool.traits(user)
        tail = (',"$set":{' + traits + "}" if traits else "") + '},"uuid":"'
        return ('{"distinct_id":' + json_text(user.user_id) + ',"properties":{').encode(), (
            tail.encode()
        )

    def session_texts(self, session_id: str, start_ms: int) -> tuple[bytes, bytes]:
        own = uuid7(start_ms, uuid7_tail(self.seed, "session:" + session_id))
        head = '"$session_id":"' + own + '",' + self.session_field(session_id)
        return head.encode(), uuid7_tail(self.seed, session_id).encode()
