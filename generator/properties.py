"""What value each property takes on each event: its scope, its presence and its partner (SPEC
sections 1 and 2, second edition).

A property is drawn by rank (``ranks``) once per its scope: ``[user]`` once for the user's life,
``[deviceId]`` once per value of that key (whoever uses the device, whenever), ``[session]`` at the
start of each session, ``[flow]`` (the default, and every first-edition sheet) at each flow entry,
``[event]`` for every event.  A ``with OTHER`` column takes the row of OTHER's draw.  A property
that lists events is written on those events only.

:class:`PropertyPlan` holds what the sheet says, precomputed; the walker calls it at each scope's
moment, and the encoders get, per line, the value index of every column (-1: not on this line).
Each column that is not a ``with`` column draws one word per its scope's moment, addressed by the
column (``sites``: the column's block and lane), and picks its value by rank from it
(``distributions.Ranked``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from .distributions import Ranked
from .spec import EVENT, FLOW, KEY, SESSION, USER, EventsSpec
from .streams import keyed_word, keyed_words

ABSENT = -1  # a column not written on a line


class PropertyPlan:
    """The property columns of a sheet, grouped by when their values are drawn."""

    def __init__(self, events: EventsSpec, seed: int) -> None:
        columns = events.properties
        self.seed = seed
        self.count = len(columns)
        self.ranked = [Ranked.by_rank(len(c.values)) for c in columns]
        names = [c.name for c in columns]
        # Columns that draw (not `with` another): their indices, per scope, in column order.
        self.drawn = {
            scope: [i for i, c in enumerate(columns) if c.scope == scope and not c.partner]
            for scope in (USER, KEY, SESSION, FLOW, EVENT)
        }
        self.key_of = [
            events.secondary_keys.index(c.key) if c.scope == KEY else -1 for c in columns
        ]
        self.key_purpose = [f"property:{c.name}" for c in columns]
        # A `with` column's root partner (chains followed): the column whose draw it takes.
        self.root = list(range(self.count))
        for i, column in enumerate(columns):
            other = column
            while other.partner:
                other = columns[names.index(other.partner)]
            self.root[i] = names.index(other.name)
        self.scope = [c.scope for c in columns]
        # Per event, per column: written on it?  Whole-sheet shortcut when nothing varies.
        self.present = [
            [not c.events or event in c.events for c in columns] for event in events.events
        ]
        self.per_event = any(c.events or c.scope == EVENT for c in columns)
        self.user_columns = [i for i, c in enumerate(columns) if c.scope == USER]

    # -- the draws of each scope ------------------------------------------------------------------

    def draw_user(self, word_of: Callable[[int], int]) -> tuple[int, ...]:
        """A user's `[user]` values (``word_of(column)`` is the column's word); -1 for the other
        columns."""
        values = [ABSENT] * self.count
        for i in self.drawn[USER]:
            values[i] = self.ranked[i].index(word_of(i))
        return tuple(values[self.root[i]] if self.scope[i] == USER else ABSENT
                     for i in range(self.count))  # fmt: skip

    def draw(self, scope: str, word_of: Callable[[int], int]) -> list[int]:
        """The values of the drawing columns of ``scope`` (``session``, ``flow`` or ``event``), in
        column order, each from its own word ``word_of(column)``."""
        ranked = self.ranked
        return [ranked[i].index(word_of(i)) for i in self.drawn[scope]]

    def key_value(self, column: int, key_value: str) -> int:
        """The value of key-bound ``column`` for one value of its key: the same device has the
        same value for good (a word that depends only on the seed, the column and the key)."""
        word = keyed_word(self.seed, self.key_purpose[column], key_value)
        return self.ranked[column].index(word)

    def key_values(self, column: int, key_values: Sequence[str]) -> npt.NDArray[np.intp]:
        """:meth:`key_value` for many values of the key at once (the batch engine's form)."""
        words = keyed_words(self.seed, self.key_purpose[column], key_values)
        return self.ranked[column].indices(np.array(words, dtype=np.uint64))

    def keyed(self, secondary: Sequence[str]) -> dict[int, int]:
        """The values of the key-bound columns for the current keys."""
        return {i: self.key_value(i, secondary[self.key_of[i]]) for i in self.drawn[KEY]}

    # -- a line's values --------------------------------------------------------------------------

    def values(
        self,
        user: Sequence[int],
        keyed: dict[int, int],
        session: Sequence[int],
        flow: Sequence[int],
        event: Sequence[int] = (),
    ) -> list[int]:
        """Every column's value index, from the draws of each scope (partners follow roots)."""
        own: dict[int, int] = dict(keyed)
        for scope, drawn in ((SESSION, session), (FLOW, flow), (EVENT, event)):
            own.update(zip(self.drawn[scope], drawn))
        out = []
        for i in range(self.count):
            root = self.root[i]
            out.append(user[root] if self.scope[i] == USER else own.get(root, ABSENT))
        return out

    def on_event(self, values: Sequence[int], event: int) -> list[int]:
        """``values`` with the columns not written on ``event`` made absent."""
        present = self.present[event]
        return [v if present[i] else ABSENT for i, v in enumerate(values)]
