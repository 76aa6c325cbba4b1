"""Events per CPU-second when event lines are assembled from pre-encoded pieces, batch by batch.

    python3 benchmarks/line_bytes.py                      # examples/, batches of 8,192 events
    python3 benchmarks/line_bytes.py --sheets DIR --batch 8192 --repeat 20

A batch like a run's (about 45 users, 10 events per session, 3 per flow entry, 90 days, the sheet's
property columns and secondary keys) is turned into flat JSON lines in several ways, all checked to
give the same bytes, in one process and one run:

* ``FlatJsonEncoder``: one ``line()`` per event and a join, as the plain model writes today;
* ``FlatJsonLines.lines``: numpy computes a row of piece ids per event (head, one piece per property
  column, event, timestamp) and one ``bytes.join`` makes the batch; with the heads given, with the
  heads built per session in Python, and with one head per flow entry that holds its properties;
* a pure numpy byte gather of the same pieces (every output byte indexed: ``np.repeat`` of piece
  offsets, one fancy index), the alternative the join was chosen over.

Figures are CPU time (``time.process_time``), the best of ``--repeat`` runs of one batch.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cpu_time import cpu_seconds  # benchmarks/cpu_time.py, beside this script

from generator.encoders import FlatJsonEncoder, json_text, json_value
from generator.isotime import iso_bytes
from generator.loaders import load_product
from generator.pieces import FlatJsonLines, Pieces
from generator.spec import EventsSpec
from generator.users import UserState

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START_MS = 1_788_998_400_000  # 2026-09-10: a 90-day window ending in late November 2026
SEPARATOR = b",\n"  # a JSON array file's separator, the longer of the two


class Batch:
    """One batch of events with the structure of a run: users, sessions, flow entries."""

    def __init__(self, spec: EventsSpec, size: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.size = size
        users = max(1, size // 184)  # events per user over 90 days in the README's benchmark
        sessions = max(users, size // 10)
        entries = max(sessions, size // 3)
        # Each event belongs to an entry, each entry to a session, each session to a user, in order.
        self.entry = np.sort(rng.integers(0, entries, size))
        entry_session = np.sort(rng.integers(0, sessions, entries))
        session_user = np.sort(rng.integers(0, users, sessions))
        self.session = entry_session[self.entry]
        self.user_ids = [str(uuid.UUID(int=int(rng.integers(0, 2**63)), version=4))
                         for _ in range(users)]  # fmt: skip
        self.session_ids = [f"{int(rng.integers(0, 2**63)):016x}" for _ in range(sessions)]
        self.keys = [[str(uuid.UUID(int=int(rng.integers(0, 2**63)), version=4))
                      for _ in spec.secondary_keys] for _ in range(users)]  # fmt: skip
        self.session_user = session_user
        columns = [rng.integers(0, len(c.values), entries) for c in spec.properties]
        self.entry_props = np.stack(columns, axis=1) if columns else np.zeros((entries, 0), int)
        self.props = self.entry_props[self.entry]
        self.event = rng.integers(0, len(spec.events), size)
        days = rng.integers(0, 90, sessions) * 86_400_000 + rng.integers(0, 86_400_000, sessions)
        self.ms = START_MS + days[self.session] + np.arange(size) % 10 * 37_000

    def head_args(self, session: int) -> tuple[str, str, list[str]]:
        user = int(self.session_user[session])
        return self.user_ids[user], self.session_ids[session], self.keys[user]


def encoder_lines(spec: EventsSpec, batch: Batch) -> bytes:
    """The plain model's way: a prefix per flow entry (kept while it does not change), then one
    ``line()`` per event; the lines joined and encoded once per batch."""
    encoder = FlatJsonEncoder(spec)
    user = UserState(0, "", 0.5, 0.5, 0, (), [])
    lines = []
    last_entry = -1
    prefix = ""
    for i in range(batch.size):
        entry = int(batch.entry[i])
        if entry != last_entry:
            last_entry = entry
            user_id, session_id, keys = batch.head_args(int(batch.session[i]))
            user.user_id = user_id
            user.secondary = keys
            prefix = encoder.prefix(user, session_id, 0, batch.entry_props[entry].tolist())
        lines.append(encoder.line(prefix, int(batch.event[i]), int(batch.ms[i])))
    return (",\n".join(lines) + ",\n").encode()


class Gather:
    """The same rows of pieces joined by numpy alone: every output byte is indexed.  The table's
    buffer and offsets are built once, outside the timing (kinder to it than a run would be, where
    each batch brings new heads and timestamps)."""

    def __init__(self, items: list[bytes]) -> None:
        self.buffer = np.frombuffer(b"".join(items), dtype=np.uint8)
        self.lengths = np.array([len(item) for item in items], dtype=np.int64)
        self.offsets = np.concatenate(([0], np.cumsum(self.lengths)[:-1]))

    def __call__(self, ids: np.ndarray) -> bytes:
        flat = ids.ravel()
        size = self.lengths[flat]
        ends = np.cumsum(size)
        index = np.repeat(self.offsets[flat] - (ends - size), size) + np.arange(int(ends[-1]))
        return self.buffer[index].tobytes()


def run(spec: EventsSpec, batch_size: int, repeat: int) -> list[str]:
    batch = Batch(spec, batch_size, seed=1)
    lines = FlatJsonLines(spec, SEPARATOR)
    session_heads = [lines.head(*batch.head_args(s)) for s in range(len(batch.session_ids))]
    entry_session = np.zeros(len(batch.entry_props), dtype=np.int64)
    entry_session[batch.entry] = batch.session
    entry_heads = [
        session_heads[int(entry_session[e])] + b"".join(
            ("," + json_text(c.name) + ":" + json_value(c.values[int(v)])).encode()
            for c, v in zip(spec.properties, batch.entry_props[e])
        )
        for e in range(len(batch.entry_props))
    ]  # fmt: skip

    def with_heads() -> bytes:
        return lines.lines(session_heads, batch.session, batch.event, batch.ms, batch.props).data

    def building_heads() -> bytes:
        heads = [lines.head(*batch.head_args(s)) for s in range(len(batch.session_ids))]
        return lines.lines(heads, batch.session, batch.event, batch.ms, batch.props).data

    def entry_prefixes() -> bytes:
        return lines.lines(entry_heads, batch.entry, batch.event, batch.ms).data

    # The same pieces as with_heads(), in a table of their own, for the join and the gather.
    table = Pieces()
    head_base = table.add(session_heads)
    bases = [table.add(("," + json_text(c.name) + ":" + json_value(v)).encode() for v in c.values)
             for c in spec.properties]  # fmt: skip
    event_base = table.add((',"event":' + json_text(e) + ',"ts":"').encode() for e in spec.events)
    stamps = iso_bytes(batch.ms, b'"}' + SEPARATOR)
    stamp_base = table.add(stamps.view(f"S{stamps.shape[1]}").ravel().tolist())
    ids = np.column_stack(
        [batch.session + head_base]
        + [batch.props[:, c] + base for c, base in enumerate(bases)]
        + [batch.event + event_base, np.arange(batch.size) + stamp_base]
    )
    gather = Gather([table.join([[i]]) for i in range(len(table))])

    expected = encoder_lines(spec, batch)
    for make in (with_heads, building_heads, entry_prefixes):
        assert make() == expected, make.__name__
    assert table.lines(ids).data == expected
    assert gather(ids) == expected

    cases: list[tuple[str, Callable[[], object]]] = [
        ("`FlatJsonEncoder.line()` per event (plain model)", lambda: encoder_lines(spec, batch)),
        ("`FlatJsonLines.lines`, heads per session given", with_heads),
        ("the same, heads built per session (`head()`)", building_heads),
        ("`FlatJsonLines.lines`, a head per flow entry given", entry_prefixes),
        ("join only: `Pieces.lines` of the rows above", lambda: table.lines(ids)),
        ("numpy byte gather of the same rows", lambda: gather(ids)),
    ]
    pieces_per_event = ids.shape[1]
    out = [
        f"{os.path.relpath(spec.source)}: {len(spec.properties)} property columns, "
        f"{len(spec.secondary_keys)} secondary keys; batches of {batch.size:,} events, "
        f"{len(expected) / batch.size:,.0f} bytes and {pieces_per_event} pieces per event; "
        f"CPU time, best of {repeat}.",
        "",
        "| assembly | µs per batch | ns per event | million events per CPU-s | MB per CPU-s "
        "| vs encoder |",
        "|---|---|---|---|---|---|",
    ]
    baseline = 0.0
    for name, work in cases:
        seconds = cpu_seconds(work, repeat)
        baseline = baseline or seconds
        out.append(
            f"| {name} | {seconds * 1e6:,.0f} | {seconds / batch.size * 1e9:,.0f} | "
            f"{batch.size / seconds / 1e6:,.2f} | {len(expected) / seconds / 1e6:,.0f} | "
            f"{baseline / seconds:,.1f}x |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sheets", default=os.path.join(ROOT, "examples"),
                        help="folder with events.csv, flows.csv and lookup_table.csv")  # fmt: skip
    parser.add_argument("--batch", type=int, default=8192, help="events per batch")
    parser.add_argument("--repeat", type=int, default=20, help="runs per figure (best is kept)")
    args = parser.parse_args(argv)
    product = load_product(
        os.path.join(args.sheets, "events.csv"),
        os.path.join(args.sheets, "flows.csv"),
        os.path.join(args.sheets, "lookup_table.csv"),
    )
    print(f"numpy {np.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    print("\n".join(run(product.events, args.batch, args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
