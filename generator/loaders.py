"""Loaders for the three Sheets exports (SPEC section 1).

Each ``parse_*`` function takes text (so tests can pass a string) and the name to show in messages;
:func:`load_product` reads the three files from disk and cross-checks them.  Every refusal is an
:class:`InputError` that names file, row and column; nothing is written before all three load.
"""

from __future__ import annotations

import difflib
import math
import os
import re
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
from .localtime import local_time_warnings
from .spec import (
    FLOW_KINDS,
    REPEAT,
    Column,
    EventsSpec,
    Flow,
    FlowsSpec,
    LookupSpec,
    Product,
    is_number_text,
)

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


# A cell that a spreadsheet shows as a number but is text here: a currency sign, a thousands or
# decimal comma, a percent sign, a unit ("$9.99", "9,99", "1,000", "10%", "5+").
_FORMATTED_NUMBER = re.compile(r"[^\d\s.,+-]{0,3}\s*[-+]?\d[\d.,\s]*\s*(%|[^\d\s.,]{0,3})")


def mixed_type_warnings(columns: list[Column], name: str, what: str) -> list[str]:
    """A column that holds plain numbers and text that looks like a number (Sheets exports a
    currency cell as "$9.99") is written with both types, which a tool's charts and sums split:
    said, not refused, since the sheet may mean it."""
    found = []
    for column in columns:
        number = next((v for v in column.values if is_number_text(v)), None)
        text = next(
            (
                v
                for v in column.values
                if not is_number_text(v) and _FORMATTED_NUMBER.fullmatch(v.strip())
            ),
            None,
        )
        if number is not None and text is not None:
            found.append(
                f"{name}, column {column.column}: {what} {shown(column.name)} has numbers "
                f"({shown(number)}) and text that looks like one ({shown(text)}): the field is "
                f"written with both types (a JSON number and a string); write every value as a "
                f"plain number (9.99) if it is one"
            )
    return found


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
    warnings.extend(mixed_type_warnings(properties, name, "property"))
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


KIND_HEADERS = ("kind",)
CONVERSION_HEADERS = ("conversion",)


def _flow_columns(header: list[str], name: str) -> tuple[int | None, int | None]:
    """0-based positions of the optional ``kind`` and ``conversion`` columns of the header row."""
    found: dict[str, int] = {}
    for position, cell in enumerate(header[1:], start=1):
        key = normalise_header(cell)
        for what, accepted in (("kind", KIND_HEADERS), ("conversion", CONVERSION_HEADERS)):
            if key in accepted:
                if what in found:
                    raise InputError(
                        f"a second {what!r} column ({shown(cell)}; the first is column "
                        f"{found[what] + 1}); keep one and delete the other",
                        file=name,
                        row=1,
                        column=position + 1,
                    )
                found[what] = position
    return found.get("kind"), found.get("conversion")


def parse_kind(text: str, name: str, row: int, column: int) -> str:
    """A cell of the ``kind`` column: blank is ``repeat``; case and spaces do not matter."""
    if not text:
        return REPEAT
    key = normalise_header(text)
    for kind in FLOW_KINDS:
        if key == kind:
            return kind
    close = difflib.get_close_matches(key, FLOW_KINDS, n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise InputError(
        f"unknown kind {shown(text)}{hint}; a flow's kind is blank, 'repeat', 'first', 'once' "
        f"or 'final'",
        file=name,
        row=row,
        column=column,
    )


def parse_conversion(text: str, name: str, row: int, column: int) -> float | None:
    """A cell of the ``conversion`` column: ``12%``, ``12.5 %`` or ``0.12``; blank is None."""
    if not text:
        return None
    body = text.replace(" ", "")
    percent = body.endswith("%")
    try:
        value = float(body[:-1] if percent else body)
    except ValueError:
        value = math.nan
    if percent:
        value /= 100
    if not 0 < value <= 1:  # also refuses nan and inf
        hint = f" (did you mean {body}%?)" if not percent and 1 < value <= 100 else ""
        raise InputError(
            f"conversion {shown(text)} is not a share above 0 and at most 100%{hint}; write it "
            f"as '12%' or '0.12'",
            file=name,
            row=row,
            column=column,
        )
    return value


def _is_headerless(header: list[str], known: set[str]) -> bool:
    """A first row whose cells after the first are all event names is a flow, not a header."""
    cells = [cell for cell in header[1:] if cell]
    return bool(cells) and all(cell in known for cell in cells)


def parse_flows(
    text: str, name: str, events: EventsSpec, warnings: list[str] | None = None
) -> FlowsSpec:
    """Parse the flows file: a header row, then one flow per row (name, then steps in order).

    The header may name a ``kind`` and a ``conversion`` column anywhere after the first; their
    cells are not steps.  A first row that holds only event names after its first cell is a flow
    of a file exported without its header row: it is kept, with a warning.
    """
    warnings = warnings if warnings is not None else []
    rows = parse_rows(text, name)
    known = set(events.events)
    header = rows[0]
    first_row = 2
    if _is_headerless(header, known):
        warnings.append(
            f"{name}, row 1: {shown(header[0] or '(no name)')} is read as a flow, not a header "
            f"(its cells are all event names); add a header row such as 'flow,step 1,step 2' "
            f"if this is wrong"
        )
        first_row = 1
        kind_at = conversion_at = None
    else:
        kind_at, conversion_at = _flow_columns(header, name)
    flows: list[Flow] = []
    names: dict[str, int] = {}
    for row_number, row in enumerate(rows[first_row - 1 :], start=first_row):
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
        kind, conversion = REPEAT, None
        steps: list[str] = []
        for col, step in enumerate(row[1:], start=2):
            if col - 1 == kind_at:
                kind = parse_kind(step, name, row_number, col)
                continue
            if col - 1 == conversion_at:
                conversion = parse_conversion(step, name, row_number, col)
                continue
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
        flows.append(Flow(flow_name, tuple(steps), row_number, kind, conversion))
    if not flows:
        raise InputError(
            "no flows: below the header row, each row is a flow (its name, then its steps)",
            file=name,
            row=2,
        )
    warnings.extend(_flow_warnings(flows, name))
    return FlowsSpec(source=name, flows=tuple(flows))


def _flow_warnings(flows: list[Flow], name: str) -> list[str]:
    """What loads but will not show as the sheet may expect."""
    found: list[str] = []
    for flow in flows:
        if flow.conversion is not None and len(flow.steps) == 1:
            found.append(
                f"{name}, row {flow.row}: flow {shown(flow.name)} has one step, so its conversion "
                f"is always 100%; the conversion given is not used"
            )
        if flow.kind == REPEAT:
            continue
        for other in flows:
            shared = [s for s in flow.steps if other is not flow and s in other.steps]
            if shared:
                found.append(
                    f"{name}, row {flow.row}: {shown(shared[0])}, a step of the {flow.kind!r} flow "
                    f"{shown(flow.name)}, is also a step of flow {shown(other.name)} (row "
                    f"{other.row}), so it will not happen only "
                    + {"first": "once, first", "once": "once", "final": "last"}[flow.kind]
                )
                break
    return found


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
    warnings.extend(mixed_type_warnings(attributes, name, "attribute"))
    stem = os.path.splitext(os.path.basename(name))[0] or "lookup"
    return LookupSpec(source=name, name=stem, attributes=tuple(attributes))


def load_events(path: str) -> tuple[EventsSpec, tuple[str, ...]]:
    """The events file at ``path`` and its warnings (the first step of loading a product)."""
    warnings: list[str] = []
    return parse_events(read_text(path), path, warnings), tuple(warnings)


def load_flows(path: str, events: EventsSpec) -> tuple[FlowsSpec, tuple[str, ...]]:
    """The flows file at ``path``, every step checked against ``events``, and its warnings."""
    warnings: list[str] = []
    return parse_flows(read_text(path), path, events, warnings), tuple(warnings)


def load_lookup(path: str, events: EventsSpec) -> tuple[LookupSpec, tuple[str, ...]]:
    """The lookup table at ``path``, checked against ``events``, and its warnings (among them,
    values of a time zone or country attribute that name no zone)."""
    warnings: list[str] = []
    lookup = parse_lookup(read_text(path), path, events, warnings)
    return lookup, (*warnings, *local_time_warnings(lookup))


def load_product(events_path: str, flows_path: str, lookup_path: str) -> Product:
    """Read and check the three files; raise :class:`InputError` on the first problem found."""
    events, event_warnings = load_events(events_path)
    flows, flow_warnings = load_flows(flows_path, events)
    lookup, lookup_warnings = load_lookup(lookup_path, events)
    return Product(events, flows, lookup, (*event_warnings, *flow_warnings, *lookup_warnings))
