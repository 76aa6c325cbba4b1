"""The product as the user designed it in their sheet: frozen dataclasses that cross module
boundaries.  The loaders build them; the walker and the writers only read them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A sheet value that is written as a plain decimal number becomes a JSON number.  Leading zeros
# ("02134", a zip code) and exponents stay strings: a person typed them as text.
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")


MAX_NUMBER_DIGITS = 15  # a double holds any 15 significant digits exactly; longer stays text


def is_number_text(text: str) -> bool:
    """True when ``text`` is a number as a spreadsheet would show it, and valid JSON as it is.

    A longer run of digits (a 20-digit account id, say) stays a string: as a JSON number a reader
    would round it, and the value would not survive the trip.
    """
    if _NUMBER.fullmatch(text) is None:
        return False
    digits = text.lstrip("-").replace(".", "").lstrip("0")
    return len(digits) <= MAX_NUMBER_DIGITS


# What a property belongs to (SPEC section 1, second edition): when its value is drawn.
USER = "user"  # once per user, at creation, for life
KEY = "key"  # once per value of a secondary shard key (a device has one platform)
SESSION = "session"  # at the start of each session
FLOW = "flow"  # each time the user enters a flow (the default, as in the first edition)
EVENT = "event"  # for every event


@dataclass(frozen=True)
class Column:
    """A named list of values, most frequent first (SPEC section 3: position is rank).

    A property column also says what it belongs to (``headers``): its scope, the events that carry
    it (none listed: every event) and the column whose draw it follows (``with``).  Lookup
    attributes keep the defaults.
    """

    name: str  # the field's name: the header without its bracketed items
    values: tuple[str, ...]
    column: int  # 1-based position in its file, for messages
    scope: str = FLOW
    key: str = ""  # scope KEY: the secondary shard key whose values bind it
    events: tuple[str, ...] = ()  # written only on these events; () on every event
    partner: str = ""  # "with OTHER": takes the value in the row of OTHER's draw
    header: str = ""  # the header as written, for messages
    scope_given: bool = False  # the header named a scope (it must agree with a partner's)


@dataclass(frozen=True)
class EventsSpec:
    """The events file: who acts (shard keys), what they do (events), and event properties."""

    source: str
    primary_key: str
    session_key: str  # "session_id", or the user's own spelling when listed as a shard key
    secondary_keys: tuple[str, ...]
    events: tuple[str, ...]
    properties: tuple[Column, ...]


# How a flow takes part in a user's life (SPEC section 1, the flows file's `kind` column).
REPEAT, FIRST, ONCE, FINAL = "repeat", "first", "once", "final"
FLOW_KINDS = (REPEAT, FIRST, ONCE, FINAL)
LIFECYCLE_KINDS = (FIRST, ONCE, FINAL)  # their steps are never background events


@dataclass(frozen=True)
class Flow:
    """One row of the flows file: an ordered funnel of event names.

    ``kind`` is one of :data:`FLOW_KINDS`: ``repeat`` flows are entered again and again by rank;
    a ``first`` flow opens the user's first session and is never entered again; a ``once`` flow is
    entered until it is completed once; completing a ``final`` flow churns the user.
    ``conversion`` is the share of first-step performers who reach the last step (0 < c <= 1), or
    None for the default step chance.
    """

    name: str
    steps: tuple[str, ...]
    row: int
    kind: str = REPEAT
    conversion: float | None = None


@dataclass(frozen=True)
class FlowsSpec:
    source: str
    flows: tuple[Flow, ...]


@dataclass(frozen=True)
class LookupSpec:
    """The lookup table: user attributes, one value each per primary shard key for life."""

    source: str
    name: str  # the lookup file's name without its extension; names lookup_table/<name>.csv
    attributes: tuple[Column, ...]


@dataclass(frozen=True)
class Product:
    """Everything loaded from the three files, plus the warnings found while loading them."""

    events: EventsSpec
    flows: FlowsSpec
    lookup: LookupSpec
    warnings: tuple[str, ...] = field(default=())
