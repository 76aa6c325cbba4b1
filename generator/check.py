"""``--check``: what the three files hold, as the generator will use it, without generating.

:func:`check_inputs` loads and validates the files exactly as a run does (so it refuses the same
things with the same messages) and returns a :class:`CheckReport`: frozen data the front prints as
it likes.  :func:`report_lines` renders it as plain text for a front that has nothing better.
"""

from __future__ import annotations

from dataclasses import dataclass

from .csvtext import printable, shown
from .funnels import background_events
from .loaders import load_product
from .localtime import local_time_source
from .output import check_lookup_name
from .ranks import rank_weights
from .spec import EVENT, FLOW, KEY, REPEAT, SESSION, USER, Column, Product, is_number_text


@dataclass(frozen=True)
class ColumnReport:
    """A property or lookup attribute: its values, most frequent first, with their shares."""

    name: str
    column: int
    values: tuple[str, ...]
    shares: tuple[float, ...]  # 0..1, one per value; the rank decides it
    numbers: tuple[bool, ...]  # per value, written to JSON as a number (properties only; else ())
    drawn: str = ""  # properties: when the value is drawn (its scope), as a sentence piece
    carried_by: tuple[str, ...] = ()  # properties: the events that carry it; () every event
    partner: str = ""  # properties: "with OTHER": the column whose row it takes

    @property
    def count(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class FlowReport:
    name: str
    row: int
    steps: tuple[str, ...]
    kind: str = "repeat"  # spec.FLOW_KINDS
    conversion: float | None = None  # the share of first steps that reach the last, or None

    def label(self) -> str:
        """``'weekly order'``, ``'onboarding' (first, conversion 60%)``."""
        notes = [] if self.kind == REPEAT else [self.kind]
        if self.conversion is not None:
            notes.append(f"conversion {_percent(self.conversion)}")
        return shown(self.name) + (f" ({', '.join(notes)})" if notes else "")


@dataclass(frozen=True)
class CheckReport:
    """Everything ``--check`` shows; a run with these files would use exactly this."""

    events_file: str
    flows_file: str
    lookup_file: str
    primary_key: str
    session_key: str  # generated for every event; the file's own spelling when it lists one
    secondary_keys: tuple[str, ...]
    events: tuple[str, ...]
    # per event, its share of background events (drawn by rank among the events that may be one;
    # 0 for a step of a lifecycle flow or the first step of a flow with a conversion)
    event_shares: tuple[float, ...]
    events_in_no_flow: tuple[str, ...]  # they occur only as background events
    properties: tuple[ColumnReport, ...]
    flows: tuple[FlowReport, ...]
    lookup_name: str  # the run writes lookup_table/<lookup_name>.csv
    attributes: tuple[ColumnReport, ...]
    warnings: tuple[str, ...]
    local_time: str = ""  # where users' local time comes from (localtime.LocalTimeSource)


_DRAWN = {
    USER: "once per user, for life (shares are of users)",
    KEY: "one per {key} value (shares are of {key} values)",
    SESSION: "at the start of each session",
    FLOW: "each time a flow is entered",
    EVENT: "for every event",
}


def _column(column: Column, numbers: bool) -> ColumnReport:
    flags = tuple(is_number_text(v) for v in column.values) if numbers else ()
    drawn = _DRAWN[column.scope].format(key=column.key) if numbers else ""
    return ColumnReport(
        column.name,
        column.column,
        column.values,
        rank_weights(len(column.values)),
        flags,
        drawn,
        column.events,
        column.partner,
    )


def _background_shares(product: Product) -> tuple[float, ...]:
    background = background_events(product)
    shares = [0.0] * len(product.events.events)
    for event, share in zip(background, rank_weights(len(background)) if background else ()):
        shares[event] = share
    return tuple(shares)


def report_from_product(product: Product) -> CheckReport:
    """The report of an already loaded product."""
    spec = product.events
    in_flows = {step for flow in product.flows.flows for step in flow.steps}
    return CheckReport(
        events_file=spec.source,
        flows_file=product.flows.source,
        lookup_file=product.lookup.source,
        primary_key=spec.primary_key,
        session_key=spec.session_key,
        secondary_keys=spec.secondary_keys,
        events=spec.events,
        event_shares=_background_shares(product),
        events_in_no_flow=tuple(e for e in spec.events if e not in in_flows),
        properties=tuple(_column(c, numbers=True) for c in spec.properties),
        flows=tuple(
            FlowReport(f.name, f.row, f.steps, f.kind, f.conversion) for f in product.flows.flows
        ),
        lookup_name=product.lookup.name,
        attributes=tuple(_column(c, numbers=False) for c in product.lookup.attributes),
        warnings=product.warnings,
        local_time=local_time_source(product.lookup).describe(),
    )


def check_inputs(events_path: str, flows_path: str, lookup_path: str) -> CheckReport:
    """Load and validate the three files as a run would; ``InputError`` on the first problem."""
    product = load_product(events_path, flows_path, lookup_path)
    check_lookup_name(product.lookup)
    return report_from_product(product)


def _percent(share: float) -> str:
    text = f"{share * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _column_lines(report: ColumnReport, limit: int) -> list[str]:
    kind = "value" if report.count == 1 else "values"
    lines = [f"  {report.name} (column {report.column}, {report.count} {kind})"]
    if report.drawn:
        partner = f"with {shown(report.partner)} (its row), " if report.partner else ""
        lines.append(f"      drawn: {partner}{report.drawn}")
        carried = ", ".join(shown(e) for e in report.carried_by) or "every event"
        lines.append(f"      written on: {carried}")
    for rank in range(min(limit, report.count)):
        number = "  (number)" if report.numbers and report.numbers[rank] else ""
        value, share = shown(report.values[rank]), _percent(report.shares[rank])
        lines.append(f"    {rank + 1:>3}. {value:<30} {share:>7}{number}")
    if report.count > limit:
        rest = sum(report.shares[limit:])
        lines.append(f"         … {report.count - limit} more, {_percent(rest)} together")
    return lines


def report_lines(report: CheckReport, limit: int = 20) -> list[str]:
    """The report as plain text lines; columns longer than ``limit`` values are shortened.

    Values are quoted with :func:`shown`; names that are not (keys, headers, files) have their
    control characters escaped, so no line can drive the terminal it is printed on.
    """
    secondary = ", ".join(report.secondary_keys) or "none"
    session = f"{report.session_key} (generated: a new one after 30 minutes idle)"
    lines = [
        f"Events file: {report.events_file}",
        f"  primary shard key: {report.primary_key}",
        f"  session key: {session}",
        f"  secondary shard keys: {secondary}",
        f"  events: {len(report.events)}",
    ]
    for rank, (event, share) in enumerate(zip(report.events[:limit], report.event_shares), 1):
        if share:
            lines.append(f"    {rank:>3}. {shown(event):<30} {_percent(share):>7} of background")
        else:
            lines.append(f"    {rank:>3}. {shown(event):<30}  never a background event")
    if len(report.events) > limit:
        lines.append(f"         … {len(report.events) - limit} more")
    if report.events_in_no_flow:
        names = ", ".join(shown(e) for e in report.events_in_no_flow[:limit])
        more = len(report.events_in_no_flow) - limit
        lines.append(
            f"  in no flow (background events only): {names}"
            + (f" … {more} more" if more > 0 else "")
        )
    lines.append(f"  properties: {len(report.properties)}")
    for column in report.properties:
        lines.extend(_column_lines(column, limit))
    lines.append(f"Flows file: {report.flows_file}")
    lines.append(
        f"  flows: {len(report.flows)} (entered by rank, the first row most; a 'first' flow "
        f"opens a user's life, a 'once' flow closes when completed, a 'final' one ends it)"
    )
    for flow in report.flows[: limit * 5]:
        lines.append(
            f"    row {flow.row}: {flow.label()}: " + " > ".join(shown(s) for s in flow.steps)
        )
    if len(report.flows) > limit * 5:
        lines.append(f"    … {len(report.flows) - limit * 5} more")
    lines.append(
        f"Lookup table: {report.lookup_file} (written as lookup_table/{report.lookup_name}.csv)"
    )
    lines.append(f"  attributes: {len(report.attributes)}")
    for column in report.attributes:
        lines.extend(_column_lines(column, limit))
    if report.local_time:
        lines.append(f"  local time: {report.local_time}")
    if report.warnings:
        lines.append(f"Warnings: {len(report.warnings)}")
        lines.extend(f"  {warning}" for warning in report.warnings)
    else:
        lines.append("Warnings: none")
    lines.append("The files are valid: nothing was generated.")
    return [printable(line) for line in lines]  # keys, column and file names are shown raw above
