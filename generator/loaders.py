"""Loaders for the three Sheets exports (SPEC section 1).

Each ``parse_*`` function takes text (so tests can pass a string) and the name to show in messages;
:func:`load_product` reads the three files from disk and cross-checks them.  Every refusal is an
:class:`InputError` that names file, row and column; nothing is written before all three load.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import replace

from .csvtext import (
    RawColumn,
    column_lists,
    first_duplicate,
    normalise_header,
    parse_rows,
    read_text,
    separator_hint,
    shown,
)
from .errors import InputError
from .headers import apply_items, resolve_partners, split_header
from .spec import Column, EventsSpec, Flow, FlowsSpec, LookupSpec, Product

SHARDKEYS_HEADERS = ("shardkeys", "shardkey")
EVENT_HEADERS = ("event", "events", "eventname", "eventnames")
SESSION_KEY_SPELLINGS = ("sessionid",)  # "session id", "session_id", "sessionId" after normalising
DEFAULT_SESSION_KEY = "session_id"
RESERVED_FIELDS = ("event", "ts")  # every event carries these two; a property may not take them


def _short(text: str, limit: int = 200) -> str:
    """Keep a message readable when it quotes a whole header row."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _find(columns: list[RawColumn], accepted: tuple[str, ...]) -> RawColumn | None:
    for column in columns:
        if normalise_header(column.header) in accepted:
            return column
    return None


def _to_column(raw: RawColumn, name: str, what: str) -> Column:
    if not raw.values:
        raise InputError(
            f"{what} {shown(raw.header)} has a header but no values; add values below it or delete "
            f"the column",
            file=name,
            row=1,
            column=raw.column,
        )
    return Column(raw.header, raw.values, raw.column)


def _refuse_duplicate_columns(columns: list[Column], name: str, what: str) -> None:
    """Two property (or attribute) columns of one name, ignoring case, would write one field."""
    dup = first_duplicate([c.name for c in columns])
    if dup is not None:
        raise InputError(
            f"{what} {shown(columns[dup[1]].name)} appears twice (also column "
            f"{columns[dup[0]].column}); rename one of them",
            file=name,
            row=1,
            column=columns[dup[1]].column,
        )


def parse_events(text: str, name: str, warnings: list[str] | None = None) -> EventsSpec:
    """Parse the events file: a ``shardkeys`` column, an ``event`` column, and property columns."""
    warnings = warnings if warnings is not None else []
    columns = column_lists(parse_rows(text, name), name)
    found = ", ".join(repr(c.header) for c in columns) or "none"
    shard = _find(columns, SHARDKEYS_HEADERS)
    if shard is None:
        raise InputError(
            f"no 'shardkeys' column (headers found: {_short(found)}); the events file needs a "
            f"'shardkeys' column listing the id fields, the first being the user's id"
            f"{separator_hint(c.header for c in columns)}",
            file=name,
            row=1,
        )
    event = _find(columns, EVENT_HEADERS)
    if event is None:
        raise InputError(
            f"no 'event' column (headers found: {_short(found)}); the events file needs an "
            f"'event' column listing every event name{separator_hint(c.header for c in columns)}",
            file=name,
            row=1,
        )
    if not shard.values:
        raise InputError(
            "no primary shard key: the first value under 'shardkeys' names the user's id "
            "field (for example 'userId')",
            file=name,
            row=2,
            column=shard.column,
        )
    dup = first_duplicate(shard.values)
    if dup is not None:
        raise InputError(
            f"shard key {shown(shard.values[dup[1]])} is listed twice (also at row "
            f"{shard.rows[dup[0]]}); each id field may appear once",
            file=name,
            row=shard.rows[dup[1]],
            column=shard.column,
        )
    primary = shard.values[0]
    session_key = DEFAULT_SESSION_KEY
    secondary: list[str] = []
    for key, row in zip(shard.values[1:], shard.rows[1:]):
        if normalise_header(key) in SESSION_KEY_SPELLINGS:
            if session_key != DEFAULT_SESSION_KEY:
                raise InputError(
                    f"session key {shown(key)} is listed twice (as {shown(session_key)} too)",
                    file=name,
                    row=row,
                    column=shard.column,
                )
            session_key = key  # the same field as the generated session id, never a second one
        else:
            secondary.append(key)
    for key, row in zip(shard.values, shard.rows):
        # The event name and its time are written beside the keys: a key of their name would be
        # a second "event" or "ts" in every event, as a property of that name would.
        clash = [f for f in RESERVED_FIELDS if f.casefold() == key.casefold()]
        if clash:
            raise InputError(
                f"shard key {shown(key)} has the name of the field {shown(clash[0])} that every "
                f"event carries; rename the shard key",
                file=name,
                row=row,
                column=shard.column,
            )
    if normalise_header(primary) in SESSION_KEY_SPELLINGS:
        raise InputError(
            f"the primary shard key {shown(primary)} is the session id; the first shard key "
            f"must name the actor (for example 'userId')",
            file=name,
            row=shard.rows[0],
            column=shard.column,
        )
    if not event.values:
        raise InputError(
            "the 'event' column has no event names",
            file=name,
            row=2,
            column=event.column,
        )
    events: list[str] = []
    seen: dict[str, int] = {}
    for value, row in zip(event.values, event.rows):
        if value in seen:
            warnings.append(
                f"{name}, row {row}, column {event.column}: event {shown(value)} is listed twice "
                f"(first at row {seen[value]}); the second is ignored"
            )
            continue
        seen[value] = row
        events.append(value)
    for other in columns:
        for kind, accepted, chosen in (
            ("shardkeys", SHARDKEYS_HEADERS, shard),
            ("event", EVENT_HEADERS, event),
        ):
            if other is not chosen and normalise_header(other.header) in accepted:
                raise InputError(
                    f"a second {kind!r} column ({shown(other.header)}; the first is column "
                    f"{chosen.column}); keep one and delete or rename the other",
                    file=name,
                    row=1,
                    column=other.column,
                )
    raw_properties = [c for c in columns if c is not shard and c is not event]
    headers = [split_header(c.header, name, c.column) for c in raw_properties]
    properties = [
        replace(_to_column(c, name, "property"), name=h.name, header=c.header)
        for c, h in zip(raw_properties, headers)
    ]
    taken = [primary, session_key, *secondary, *RESERVED_FIELDS]
    _refuse_duplicate_columns(properties, name, "property")
    bare = tuple(p.name for p in properties)
    properties = [
        apply_items(p, h, name, primary, session_key, tuple(secondary), tuple(events), bare)
        for p, h in zip(properties, headers)
    ]
    properties = resolve_partners(properties, name)
    for prop in properties:
        clash = [t for t in taken if t.casefold() == prop.name.casefold()]
        if clash:
            raise InputError(
                f"property {shown(prop.name)} has the same name as the field "
                f"{shown(clash[0])} that every event already carries; rename the column",
                file=name,
                row=1,
                column=prop.column,
            )
    return EventsSpec(
        source=name,
        primary_key=primary,
        session_key=session_key,
        secondary_keys=tuple(secondary),
        events=tuple(events),
        properties=tuple(properties),
    )


def _suggest(step: str, events: tuple[str, ...]) -> str:
    folded = {e.casefold(): e for e in events}
    if step.casefold() in folded:
        return f" (did you mean {shown(folded[step.casefold()])}?)"
    close = difflib.get_close_matches(step, events, n=1, cutoff=0.6)
    if not close:
        close = [
            folded[c]
            for c in difflib.get_close_matches(step.casefold(), list(folded), n=1, cutoff=0.6)
        ]
    return f" (did you mean {shown(close[0])}?)" if close else ""


def parse_flows(text: str, name: str, events: EventsSpec) -> FlowsSpec:
    """Parse the flows file: a header row, then one flow per row (name, then steps in order)."""
    rows = parse_rows(text, name)
    known = set(events.events)
    flows: list[Flow] = []
    names: dict[str, int] = {}
    for row_number, row in enumerate(rows[1:], start=2):
        if not any(row):
            continue
        flow_name = row[0]
        if not flow_name:
            raise InputError(
                "this flow has steps but no name; put the flow's name in the first cell",
                file=name,
                row=row_number,
                column=1,
            )
        if flow_name.casefold() in names:
            raise InputError(
                f"flow {shown(flow_name)} is defined twice (also at row "
                f"{names[flow_name.casefold()]}); give each flow its own name",
                file=name,
                row=row_number,
                column=1,
            )
        names[flow_name.casefold()] = row_number
        steps: list[str] = []
        for col, step in enumerate(row[1:], start=2):
            if not step:
                continue
            if step not in known:
                raise InputError(
                    f"unknown event {shown(step)} in flow {shown(flow_name)}"
                    f"{_suggest(step, events.events)}; every step must be an event of "
                    f"{os.path.basename(events.source)}",
                    file=name,
                    row=row_number,
                    column=col,
                )
            steps.append(step)
        if not steps:
            raise InputError(
                f"flow {shown(flow_name)} has no steps; list its events after its name",
                file=name,
                row=row_number,
                column=2,
            )
        flows.append(Flow(flow_name, tuple(steps), row_number))
    if not flows:
        raise InputError(
            "no flows: below the header row, each row is a flow (its name, then its steps)",
            file=name,
            row=2,
        )
    return FlowsSpec(source=name, flows=tuple(flows))


def parse_lookup(
    text: str, name: str, events: EventsSpec, warnings: list[str] | None = None
) -> LookupSpec:
    """Parse the lookup table: each column is a user attribute with its candidate values."""
    warnings = warnings if warnings is not None else []
    columns = column_lists(parse_rows(text, name), name)
    attributes = [
        _to_column(c, name, "attribute")
        for c in columns
        if normalise_header(c.header) not in SHARDKEYS_HEADERS
    ]
    _refuse_duplicate_columns(attributes, name, "attribute")
    for attr in attributes:
        if attr.name.casefold() == events.primary_key.casefold():
            raise InputError(
                f"attribute {shown(attr.name)} has the name of the primary shard key, which "
                f"keys the lookup table; rename the column",
                file=name,
                row=1,
                column=attr.column,
            )
    if not attributes:
        warnings.append(f"{name}: the lookup table has no attributes; users get none")
    stem = os.path.splitext(os.path.basename(name))[0] or "lookup"
    return LookupSpec(source=name, name=stem, attributes=tuple(attributes))


def load_events(path: str) -> tuple[EventsSpec, tuple[str, ...]]:
    """The events file at ``path`` and its warnings (the first step of loading a product)."""
    warnings: list[str] = []
    return parse_events(read_text(path), path, warnings), tuple(warnings)


def load_flows(path: str, events: EventsSpec) -> FlowsSpec:
    """The flows file at ``path``, every step checked against ``events``."""
    return parse_flows(read_text(path), path, events)


def load_lookup(path: str, events: EventsSpec) -> tuple[LookupSpec, tuple[str, ...]]:
    """The lookup table at ``path``, checked against ``events``, and its warnings."""
    warnings: list[str] = []
    return parse_lookup(read_text(path), path, events, warnings), tuple(warnings)


def load_product(events_path: str, flows_path: str, lookup_path: str) -> Product:
    """Read and check the three files; raise :class:`InputError` on the first problem found."""
    events, event_warnings = load_events(events_path)
    flows = load_flows(flows_path, events)
    lookup, lookup_warnings = load_lookup(lookup_path, events)
    return Product(events, flows, lookup, (*event_warnings, *lookup_warnings))
