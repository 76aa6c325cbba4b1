"""Property headers that say what a property belongs to (SPEC section 1, second edition).

``platform [deviceId]``, ``country [user]``, ``box price [Add To Cart, Place Order]``,
``plan price [user, with plan]``: a header may end with a bracketed list of items, and the field is
written under the name before the bracket.  Each item is a scope (``user``, a secondary shard key,
``session``, ``flow``, ``event``), ``with OTHER`` (take the value in the same row as OTHER's), or an
event name (the field is written only on the events listed).  A header without brackets is a
``flow`` property written on every event, as in the first edition.

Everything that can go wrong in a header is refused here, before anything is written, with the
file, row 1, the column and the closest name.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace

from .csvtext import shown
from .errors import InputError
from .spec import EVENT, FLOW, KEY, SESSION, USER, Column

SCOPE_WORDS = (USER, SESSION, FLOW, EVENT)
_BRACKETED = re.compile(r"(?P<name>[^\[\]]*?)\s*\[(?P<items>[^\[\]]*)\]", re.DOTALL)
_WITH = re.compile(r"with\s+(?P<other>.+)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Header:
    """A property header as written: its bare name and its bracketed items (none without)."""

    name: str
    items: tuple[str, ...]


def split_header(header: str, source: str, column: int) -> Header:
    """``"plan price [user, with plan]"`` -> ``Header("plan price", ("user", "with plan"))``."""
    if "[" not in header and "]" not in header:
        return Header(header, ())
    match = _BRACKETED.fullmatch(header.strip())
    if match is None or not match.group("name").strip():
        raise _refused(
            f"header {shown(header)} is not 'name [item, item, ...]': a bracketed list of items "
            f"comes after the property's name, at the end of the header",
            source,
            column,
        )
    items = tuple(item.strip() for item in match.group("items").split(","))
    if not any(items) or not all(items):
        raise _refused(
            f"header {shown(header)} has an empty item in its brackets; list items separated by "
            f"commas, such as [user] or [Add To Cart, Place Order]",
            source,
            column,
        )
    return Header(match.group("name").strip(), items)


def _refused(message: str, source: str, column: int) -> InputError:
    return InputError(message, file=source, row=1, column=column)


# How close an item must be to a scope word, a key or a 'with' item to be taken for a misspelt
# one ('usr', 'sesion', 'wiht plan'); anything further is taken for an event name.
_LIKE_A_WORD = 0.75


def _closest(item: str, choices: list[str], cutoff: float = 0.5) -> str:
    folded = {choice.casefold(): choice for choice in choices}
    found = difflib.get_close_matches(item.casefold(), list(folded), n=1, cutoff=cutoff)
    return f" (did you mean {shown(folded[found[0]])}?)" if found else ""


def apply_items(
    column: Column,
    header: Header,
    source: str,
    primary_key: str,
    session_key: str,
    secondary_keys: tuple[str, ...],
    events: tuple[str, ...],
    columns: tuple[str, ...],
) -> Column:
    """The property ``column`` with its header's items applied: scope, events, ``with`` partner.

    ``columns`` are the bare names of every property column, for ``with`` and for suggestions.
    """
    keys = {key.casefold(): key for key in secondary_keys}
    by_name = {name.casefold(): name for name in columns}
    known_events = set(events)
    scopes: list[tuple[str, str]] = []  # (scope, key), in the order written
    listed: list[str] = []
    partner = ""
    where = f"header {shown(column.header)}"
    for item in header.items:
        word = item.casefold()
        with_match = _WITH.fullmatch(item)
        if word in SCOPE_WORDS:
            scopes.append((word, ""))
        elif word in keys:
            scopes.append((KEY, keys[word]))
        elif with_match is not None:
            other = with_match.group("other").strip()
            if partner:
                raise _refused(
                    f"{where} has two 'with' items; a column follows one other",
                    source,
                    column.column,
                )
            if other.casefold() not in by_name:
                others = [name for name in columns if name != column.name]
                raise _refused(
                    f"{where}: no property column named {shown(other)} to go 'with'"
                    f"{_closest(other, others)}",
                    source,
                    column.column,
                )
            partner = by_name[other.casefold()]
            if partner == column.name:
                raise _refused(
                    f"{where} goes 'with' itself; name another column", source, column.column
                )
        elif item in known_events:
            listed.append(item)
        elif word in (primary_key.casefold(), session_key.casefold()):
            instead = USER if word == primary_key.casefold() else SESSION
            raise _refused(
                f"{where}: {shown(item)} is not a scope; a property drawn once per "
                f"{'user' if instead == USER else 'session'} is written [{instead}]",
                source,
                column.column,
            )
        else:
            # A misspelt scope, key or 'with' item is suggested as one; anything else is read as
            # an event name, and only event names are suggested for it.
            words = [*SCOPE_WORDS, *secondary_keys, *(f"with {c}" for c in columns)]
            keys_named = ", ".join(secondary_keys) or "none"
            like_a_word = _closest(item, words, _LIKE_A_WORD)
            what = (
                f"unknown item {shown(item)}{like_a_word}"
                if like_a_word
                else f"{shown(item)} is not in the event column{_closest(item, list(events))}"
            )
            raise _refused(
                f"{where}: {what}; an item is user, session, flow, event, a secondary shard key "
                f"({keys_named}), 'with' another column, or an event name",
                source,
                column.column,
            )
    if len(scopes) > 1:
        raise _refused(
            f"{where} has two scopes ({', '.join(key or scope for scope, key in scopes)}); a "
            f"property has at most one",
            source,
            column.column,
        )
    duplicate = next((e for i, e in enumerate(listed) if e in listed[:i]), None)
    if duplicate is not None:
        raise _refused(f"{where} lists the event {shown(duplicate)} twice", source, column.column)
    scope, key = scopes[0] if scopes else (FLOW, "")
    return replace(
        column,
        scope=scope,
        key=key,
        events=tuple(listed),
        partner=partner,
        scope_given=bool(scopes),
    )


def resolve_partners(properties: list[Column], source: str) -> list[Column]:
    """Every ``with`` column gets its partner's scope (following chains); a missing partner, one
    of another length, a circle, or a scope that disagrees with the partner's is refused."""
    by_name = {column.name: column for column in properties}
    resolved: list[Column] = []
    for column in properties:
        if not column.partner:
            resolved.append(column)
            continue
        chain = [column.name]
        other = by_name[column.partner]
        while other.partner:
            if other.name in chain:
                circle = " > ".join([*chain, other.name])
                raise _refused(
                    f"header {shown(column.header)}: 'with' columns go round in a circle "
                    f"({circle}); one of them must be drawn on its own",
                    source,
                    column.column,
                )
            chain.append(other.name)
            other = by_name[other.partner]
        if other.name == column.name:
            raise _refused(
                f"header {shown(column.header)}: 'with' columns go round in a circle",
                source,
                column.column,
            )
        partner = by_name[column.partner]
        if len(partner.values) != len(column.values):
            raise _refused(
                f"header {shown(column.header)}: it goes 'with' {shown(partner.name)}, which has "
                f"{len(partner.values)} values, but it has {len(column.values)}; a 'with' column "
                f"has one value per row of its partner",
                source,
                column.column,
            )
        if column.scope_given and (column.scope, column.key) != (other.scope, other.key):
            raise _refused(
                f"header {shown(column.header)}: its scope ({column.key or column.scope}) differs "
                f"from that of {shown(other.name)} ({other.key or other.scope}), whose draw it "
                f"follows; leave the scope out, or make them the same",
                source,
                column.column,
            )
        resolved.append(replace(column, scope=other.scope, key=other.key))
    return resolved
