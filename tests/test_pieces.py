"""Lines from pre-encoded pieces are the bytes FlatJsonEncoder writes, for any sheet and any time
from 1900 to 9999, and a batch says where each of its lines ends."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.encoders import FlatJsonEncoder
from generator.isotime import FIRST_MS, LAST_MS
from generator.pieces import FlatJsonLines, Pieces
from generator.spec import Column, EventsSpec
from generator.users import UserState

# Names and values as sheets have them: quotes, backslashes, control characters, non-ASCII, and
# numbers that become JSON numbers.
TEXT = st.one_of(
    st.text(min_size=1, max_size=12),
    st.sampled_from(['Say "hi"', "a\\b", "tab\there", "Größe", "日本", "4.99", "12", "007", "-3"]),
)


@st.composite
def specs(draw: st.DrawFn) -> EventsSpec:
    names = draw(st.lists(TEXT, min_size=2, max_size=8, unique=True))
    secondary = tuple(names[2 : 2 + draw(st.integers(0, 2))])
    columns = tuple(
        Column(name, tuple(draw(st.lists(TEXT, min_size=1, max_size=6))), i + 3)
        for i, name in enumerate(names[2 + len(secondary) :])
    )
    return EventsSpec(
        source="events.csv",
        primary_key=names[0],
        session_key=names[1],
        secondary_keys=secondary,
        events=tuple(draw(st.lists(TEXT, min_size=1, max_size=6))),
        properties=columns,
    )


def user(user_id: str, secondary: list[str]) -> UserState:
    return UserState(0, user_id, 0.5, 0.5, 0, (), secondary)


@st.composite
def batches(draw: st.DrawFn) -> tuple[EventsSpec, list[dict[str, Any]]]:
    """A sheet and a batch of events, each with its user, session, keys, values, event, time."""
    spec = draw(specs())
    heads = draw(
        st.lists(
            st.tuples(TEXT, TEXT, st.lists(TEXT, min_size=len(spec.secondary_keys),
                                           max_size=len(spec.secondary_keys)).map(tuple)),
            min_size=1, max_size=4,
        )
    )  # fmt: skip
    ms = st.one_of(
        st.integers(FIRST_MS, LAST_MS),
        st.integers(1_796_000_000_000, 1_797_000_000_000),
        st.sampled_from([FIRST_MS, LAST_MS, 0, -1]),
    )
    events = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "head": st.sampled_from(heads),
                    "props": st.tuples(*(st.integers(-1, len(c.values) - 1)
                                         for c in spec.properties)),
                    "event": st.integers(0, len(spec.events) - 1),
                    "ms": ms,
                }
            ),
            min_size=1,
            max_size=30,
        )
    )  # fmt: skip
    return spec, events


def encoder_lines(spec: EventsSpec, events: list[dict[str, Any]], separator: str) -> bytes:
    """What FlatJsonEncoder writes; a value index of -1 leaves its column out of the line (the
    encoder of the same sheet without that column)."""
    lines = []
    for event in events:
        props: tuple[int, ...] = event["props"]
        kept = tuple(c for c, i in zip(spec.properties, props) if i >= 0)
        encoder = FlatJsonEncoder(
            EventsSpec(spec.source, spec.primary_key, spec.session_key, spec.secondary_keys,
                       spec.events, kept)
        )  # fmt: skip
        user_id, session_id, secondary = event["head"]
        prefix = encoder.prefix(
            user(user_id, list(secondary)), session_id, 0, [i for i in props if i >= 0]
        )
        lines.append(encoder.line(prefix, event["event"], event["ms"]) + separator)
    return "".join(lines).encode()


@settings(max_examples=80, deadline=None)
@given(batches(), st.sampled_from(["\n", ",\n"]), st.integers(1, 4))
def test_lines_from_pieces_are_the_encoders_bytes(
    batch: tuple[EventsSpec, list[dict[str, Any]]], separator: str, calls: int
) -> None:
    spec, events = batch
    lines = FlatJsonLines(spec, separator.encode())
    data = b""
    ends: list[int] = []
    step = -(-len(events) // calls)
    for start in range(0, len(events), step):  # several calls on one instance, like a run
        part = events[start : start + step]
        heads = sorted({e["head"] for e in part}, key=repr)
        made = lines.lines(
            [lines.head(u, s, k) for u, s, k in heads],
            [heads.index(e["head"]) for e in part],
            [e["event"] for e in part],
            [e["ms"] for e in part],
            [e["props"] for e in part],
        )
        ends += [len(data) + int(end) for end in made.ends]
        data += made.data
    assert data == encoder_lines(spec, events, separator)
    expected = encoder_lines(spec, events, separator).decode().split(separator)[:-1]
    starts = [0, *ends[:-1]]
    assert [data[a:b].decode() for a, b in zip(starts, ends)] == [
        line + separator for line in expected
    ]


@settings(max_examples=30, deadline=None)
@given(batches())
def test_heads_may_hold_the_properties_themselves(
    batch: tuple[EventsSpec, list[dict[str, Any]]],
) -> None:
    """A head per flow entry (the encoder's prefix, properties included) and no property ids."""
    spec, events = batch
    events = [dict(e, props=tuple(max(i, 0) for i in e["props"])) for e in events]
    encoder = FlatJsonEncoder(spec)
    prefixes = [
        encoder.prefix(user(e["head"][0], list(e["head"][2])), e["head"][1], 0, e["props"]).encode()
        for e in events
    ]
    made = FlatJsonLines(spec).lines(
        prefixes, range(len(events)), [e["event"] for e in events], [e["ms"] for e in events]
    )
    assert made.data == encoder_lines(spec, events, "\n")


def test_a_batch_reaching_from_1900_to_9999_and_back_keeps_every_date() -> None:
    spec = EventsSpec("events.csv", "userId", "session_id", (), ("Login",), ())
    lines = FlatJsonLines(spec)
    head = [lines.head("u", "s", [])]
    times = [FIRST_MS, LAST_MS, 1_796_031_330_123, -1, FIRST_MS + 86_400_000 * 40_000]
    for ms in [*times, *reversed(times)]:
        made = lines.lines(head, [0], [0], [ms])
        assert made.data == encoder_lines(
            spec, [{"head": ("u", "s", ()), "props": (), "event": 0, "ms": ms}], "\n"
        )


def test_an_index_outside_the_sheet_is_refused() -> None:
    spec = EventsSpec("events.csv", "userId", "session_id", ("deviceId",), ("A", "B"),
                      (Column("plan", ("Free", "Pro"), 3),))  # fmt: skip
    lines = FlatJsonLines(spec)
    head = [lines.head("u", "s", ["d"])]
    with pytest.raises(ValueError, match="event"):
        lines.lines(head, [0], [2], [0], [[0]])
    with pytest.raises(ValueError, match="head"):
        lines.lines(head, [1], [0], [0], [[0]])
    with pytest.raises(ValueError, match="property"):
        lines.lines(head, [0], [0], [0], [[2]])
    with pytest.raises(ValueError, match="1900"):
        lines.lines(head, [0], [0], [LAST_MS + 1], [[0]])
    with pytest.raises(ValueError, match="secondary"):
        lines.head("u", "s", [])
    with pytest.raises(ValueError, match="one value per line"):
        lines.lines(head, [0, 0], [0], [0], [[0]])
    assert lines.lines(head, [0], [1], [0], [[1]]).data.count(b"\n") == 1  # still usable


def test_a_piece_table_joins_rows_and_forgets_a_batch() -> None:
    pieces = Pieces()
    first = pieces.add([b"ab", b"", b"cde"])
    more = pieces.add(b"x" * n for n in range(1, 2000))  # grows past its first capacity
    made = pieces.lines(np.array([[first, first + 2], [first + 1, more + 1999 - 1]]))
    assert made.data == b"abcde" + b"x" * 1999
    assert made.ends.tolist() == [5, 5 + 1999]
    pieces.truncate(more)
    assert len(pieces) == 3
    with pytest.raises(ValueError, match="outside the table"):
        pieces.lines(np.array([[more]]))
    with pytest.raises(ValueError, match="2-d"):
        pieces.lines(np.array([first]))


def test_rows_of_bytes_become_pieces_of_their_width() -> None:
    pieces = Pieces()
    rows = np.frombuffer(b"ab\x00c" + b"defg" + b"\x00\x00\x01z", dtype=np.uint8).reshape(3, 4)
    first = pieces.add_rows(rows)  # zero bytes inside a row are kept
    made = pieces.lines(np.array([[first + 2], [first], [first + 1]]))
    assert made.data == b"\x00\x00\x01z" + b"ab\x00c" + b"defg"
    assert made.ends.tolist() == [4, 8, 12]
    with pytest.raises(ValueError, match="zero byte"):
        pieces.add_rows(np.array([[65, 0]], dtype=np.uint8))
    with pytest.raises(ValueError, match="wide"):
        pieces.add_rows(np.zeros((2, 0), dtype=np.uint8))
