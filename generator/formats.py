"""The output formats: one registry entry each, carrying everything that makes the format.

A :class:`Format` says how an event becomes a line (its encoder, in ``encoders``), how lines sit in
a file (its :class:`Framing`), which user-properties file it writes beside the events (its
:class:`Profiles`, for the tools that keep user properties apart) and which names it sets itself
(a sheet column of such a name would write a second, clashing field).  A new format is one more
entry in :data:`FORMATS`; nothing else names formats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .batchlines import (
    AmplitudeLines,
    BatchLines,
    FlatLines,
    MixpanelLines,
    PosthogLines,
    SegmentLines,
)
from .encoders import (
    AmplitudeEncoder,
    FlatJsonEncoder,
    MixpanelEncoder,
    PosthogEncoder,
    SegmentEncoder,
    mixpanel_profiles,
    segment_identifies,
)
from .errors import InputError, UsageError
from .spec import EventsSpec, Product
from .users import UserState
from .walker import EventEncoder


@dataclass(frozen=True)
class Framing:
    """How events sit in a file: ``head``, the events joined by ``separator``, then ``tail``
    (``empty_tail`` when the file holds no event).  Every file is complete and valid alone."""

    extension: str  # of an events file, without ".gz"
    head: bytes
    separator: bytes
    tail: bytes
    empty_tail: bytes


JSON_ARRAY = Framing("json", b"[\n", b",\n", b"\n]\n", b"]\n")  # one array, one event per line
JSON_LINES = Framing("jsonl", b"", b"\n", b"\n", b"")  # one event per line


@dataclass(frozen=True)
class Profiles:
    """A user-properties file written beside the events, one line per user new in the run."""

    kind: str  # names the file: lookup_table/[run-NNN-]profiles-<kind>.jsonl
    lines: Callable[[Product, int, Iterable[UserState]], list[str]]


@dataclass(frozen=True)
class Format:
    name: str
    framing: Framing
    encoder: Callable[[Product, int], EventEncoder]  # (product, seed) -> the plain model's
    lines: Callable[[Product, int, bytes], BatchLines]  # (product, seed, separator) -> batch's
    profiles: Profiles | None = None
    reserved: tuple[str, ...] = ()  # fields the format sets itself beside the sheet's columns


def _flat(product: Product, seed: int) -> EventEncoder:
    return FlatJsonEncoder(product.events)


DEFAULT_FORMAT = "json"
FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("json", JSON_ARRAY, _flat, FlatLines),
        Format("jsonl", JSON_LINES, _flat, FlatLines),
        Format("amplitude", JSON_LINES, AmplitudeEncoder, AmplitudeLines),
        Format(
            "mixpanel",
            JSON_LINES,
            MixpanelEncoder,
            MixpanelLines,
            Profiles("mixpanel", mixpanel_profiles),
            ("time", "distinct_id", "$insert_id", "token", "$distinct_id"),
        ),
        Format(
            "segment",
            JSON_LINES,
            SegmentEncoder,
            SegmentLines,
            Profiles("segment", segment_identifies),
        ),
        Format("posthog", JSON_LINES, PosthogEncoder, PosthogLines, None, ("$session_id", "$set")),
    )
}


def format_named(name: str) -> Format:
    """The registry entry of ``name``; a :class:`UsageError` names the formats there are."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UsageError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}") from None


def check_names(fmt: Format, events: EventsSpec) -> None:
    """Refuse a sheet whose property or shard key names clash with the format's own fields."""
    named: list[tuple[str, str, int | None]] = [
        ("column", c.name, c.column) for c in events.properties
    ]
    named += [("shard key", k, None) for k in (events.session_key, *events.secondary_keys)]
    for what, name, column in named:
        if name in fmt.reserved:
            raise InputError(
                f"{what} '{name}' is a field {fmt.name} sets itself ({', '.join(fmt.reserved)}); "
                f"rename the {what}, or choose another --format",
                file=events.source,
                row=None if column is None else 1,
                column=column,
            )
