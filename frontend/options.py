"""Gathering a run's options: from flags first, then a replay file, then the questions.

A value given by a flag is never asked.  Without a terminal nothing is asked: a missing value is
a :class:`UsageError` that names every missing flag.  Files are loaded as soon as they are known,
so a bad file is refused before anything else is asked (given by a flag) or at its own question.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape

from generator import RunConfig, UsageError
from generator.csvtext import read_text
from generator.formats import DEFAULT_FORMAT, FORMATS, check_names
from generator.limits import MAX_SEED
from generator.loaders import parse_events, parse_flows, parse_lookup
from generator.output import FolderState, check_free, inspect
from generator.replay import RunRecord, read_run_record
from generator.spec import EventsSpec, FlowsSpec, LookupSpec, Product
from generator.streams import new_seed

from .values import (
    MAX_NUMBER,
    MAX_USERS,
    display_path,
    end_time,
    next_free_folder,
    size_mb,
    whole_number,
)

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
DEFAULT_DAYS = 90
MAX_DAYS = 3660  # ten years of backfill; more is a typo
MAX_WORKERS = 256
SIBLING_FLOWS = ("flows.csv",)
SIBLING_LOOKUPS = ("lookup_table.csv", "lookup.csv")


@dataclass(frozen=True)
class Plan:
    """A run ready to start: its config, its loaded product, and whether the seed was chosen.

    A continued run has no product yet: the core loads the files its run.json names (or the ones
    given again by flags) and checks them against the saved users.
    """

    config: RunConfig
    product: Product | None
    seed_chosen: bool


def load_events(path: str) -> tuple[EventsSpec, list[str]]:
    warnings: list[str] = []
    return parse_events(read_text(path), path, warnings), warnings


def load_flows(path: str, events: EventsSpec) -> FlowsSpec:
    return parse_flows(read_text(path), path, events)


def load_lookup(path: str, events: EventsSpec) -> tuple[LookupSpec, list[str]]:
    warnings: list[str] = []
    return parse_lookup(read_text(path), path, events, warnings), warnings


def default_input(answered: str | None, siblings: tuple[str, ...], example: str) -> str:
    """The default for a file question: a file of that name beside the events file if there is
    one (a sheet's three exports usually sit together), else the bundled example."""
    if answered is not None:
        folder = os.path.dirname(answered)
        for name in siblings:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate):
                return display_path(candidate)
    return display_path(os.path.join(EXAMPLES, example))


def _number(
    text: str | None, flag: str, fallback: int | None, minimum: int = 1, maximum: int = MAX_NUMBER
) -> int | None:
    return whole_number(text, flag, minimum, maximum) if text is not None else fallback


def gather(
    args: argparse.Namespace,
    now: datetime,
    *,
    interactive: bool,
    console: Console,
    **prompt_kwargs: Any,
) -> Plan:
    """Build the run from ``args`` (see ``build_parser``), a replay file and, when
    ``interactive``, the questions; ``prompt_kwargs`` go to every question (tests pass input and
    output)."""
    workers = _number(args.workers, "--workers", os.cpu_count() or 1, maximum=MAX_WORKERS)
    assert workers is not None
    max_file_mb = size_mb(args.max_file_mb) if args.max_file_mb is not None else None
    if args.continue_run:
        return _continue_plan(args, now, workers, max_file_mb)
    if interactive:
        # questionary and prompt_toolkit load only when something may be asked: a run given by
        # flags starts about 0.3 s sooner, and its forked workers carry less memory.
        from . import prompts
    record: RunRecord | None = read_run_record(args.replay) if args.replay else None
    source = f"from {display_path(record.source)}" if record else ""

    users = _number(args.users, "--users", record.users if record else None, maximum=MAX_USERS)
    events_path = args.events or (record.events_path if record else None)
    flows_path = args.flows or (record.flows_path if record else None)
    lookup_path = args.lookup or (record.lookup_path if record else None)
    output_dir: str | None = args.output
    seed = _number(
        args.seed, "--seed", record.seed if record else None, minimum=0, maximum=MAX_SEED
    )
    replayed_end = record.end_ms if record and args.end is None else None
    end_ms = replayed_end if replayed_end is not None else end_time(args.end, now)
    days = _number(args.days, "--days", record.days if record else DEFAULT_DAYS, maximum=MAX_DAYS)
    assert days is not None
    # Output settings: flags first, then the replayed run's.
    gzip = args.gzip if args.gzip is not None else (record.gzip if record else None)
    if max_file_mb is None and record is not None:
        max_file_mb = record.max_file_mb

    missing = [
        flag
        for flag, value in (
            ("--users", users),
            ("--events", events_path),
            ("--flows", flows_path),
            ("--lookup", lookup_path),
            ("--output", output_dir),
        )
        if value is None
    ]
    if missing and not interactive:
        raise UsageError(
            f"missing {', '.join(missing)}: standard input is not a terminal, so nothing can be "
            f"asked; give {'it' if len(missing) == 1 else 'them'} as flags (see --help)"
        )

    def given(label: str, value: object, flag: str) -> None:
        if interactive:
            origin = f"from {flag}" if getattr(args, flag.lstrip("-")) is not None else source
            console.print(
                f"[green]✓[/] [bold]{label}[/] {escape(str(value))} [dim]({escape(origin)})[/]",
                highlight=False,
            )

    def report(message: str) -> None:
        console.print(f"[red]✗ {escape(message)}[/]", highlight=False)

    # Files given by flags (or the replay file) are loaded first: a bad one ends the run before
    # anything is asked.  The flows and lookup files need the events file to be checked.
    events = events_warnings = flows = lookup = lookup_warnings = None
    output_format = args.format or (record.format if record else None)
    fmt = FORMATS[output_format or DEFAULT_FORMAT]
    if events_path is not None:
        events, events_warnings = load_events(events_path)
        check_names(fmt, events)  # a column the chosen format sets itself: refused now, not later
        if flows_path is not None:
            flows = load_flows(flows_path, events)
        if lookup_path is not None:
            lookup, lookup_warnings = load_lookup(lookup_path, events)

    if interactive and missing:
        console.print(
            "[dim]Enter accepts the answer shown; Tab completes paths; Ctrl-C cancels.[/]",
            highlight=False,
        )
    if users is None:
        users = prompts.ask_users(prompts.DEFAULT_USERS, **prompt_kwargs)
    else:
        given("Users", f"{users:,}", "--users")

    if events is None:
        # Files given by flags must fit the events file answered here.
        def check_events(path: str) -> tuple[EventsSpec, list[str], Any, Any]:
            spec, warnings = load_events(path)
            check_names(fmt, spec)
            flows_spec = load_flows(flows_path, spec) if flows_path is not None else None
            lookup_loaded = load_lookup(lookup_path, spec) if lookup_path is not None else None
            return spec, warnings, flows_spec, lookup_loaded

        events_path, (events, events_warnings, flows, lookup_loaded) = prompts.ask_file(
            "Events CSV file:",
            default_input(None, (), "events.csv"),
            check_events,
            report,
            **prompt_kwargs,
        )
        if lookup_loaded is not None:
            lookup, lookup_warnings = lookup_loaded
    else:
        given("Events CSV file", events_path, "--events")
    assert events is not None and events_warnings is not None and events_path is not None

    if flows is None:
        known = events
        flows_path, flows = prompts.ask_file(
            "Flows CSV file:",
            default_input(events_path, SIBLING_FLOWS, "flows.csv"),
            lambda path: load_flows(path, known),
            report,
            **prompt_kwargs,
        )
    else:
        given("Flows CSV file", flows_path, "--flows")
    assert flows_path is not None

    if lookup is None:
        known = events
        lookup_path, (lookup, lookup_warnings) = prompts.ask_file(
            "Lookup-table CSV file:",
            default_input(events_path, SIBLING_LOOKUPS, "lookup_table.csv"),
            lambda path: load_lookup(path, known),
            report,
            **prompt_kwargs,
        )
    else:
        given("Lookup-table CSV file", lookup_path, "--lookup")
    assert lookup_path is not None and lookup_warnings is not None

    if output_dir is None:
        output_dir = prompts.ask_output_folder(next_free_folder(), **prompt_kwargs)
    else:
        given("Output folder", output_dir, "--output")
    replace = bool(args.force)
    if not interactive:
        check_free(output_dir, replace)  # refused now, before the run is announced
    while interactive and not replace:
        seen = inspect(output_dir)
        if seen.state is FolderState.FREE:
            break
        action = prompts.ask_existing_folder(output_dir, seen, **prompt_kwargs)
        if action is prompts.FolderAction.REPLACE:
            replace = True
        elif action is prompts.FolderAction.CONTINUE:
            # As --continue: the run there decides its files, users, seed and format; answers
            # given at the questions are not used (flags are, and must agree with the run).
            console.print(
                "[dim]Continuing: the run's own files, users and seed are used; the answers "
                "above are not.[/]",
                highlight=False,
            )
            config = continue_config(args, output_dir, end_ms, workers, max_file_mb)
            return Plan(config, None, False)
        else:
            output_dir = prompts.ask_output_folder(next_free_folder(output_dir), **prompt_kwargs)

    seed_chosen = seed is None
    config = RunConfig(
        events_path=events_path,
        flows_path=flows_path,
        lookup_path=lookup_path,
        users=users,
        output_dir=output_dir,
        seed=new_seed() if seed is None else seed,
        end_ms=end_ms,
        days=days,
        workers=workers,
        replace=replace,
        format=output_format,
        gzip=gzip,
        max_file_mb=max_file_mb,
        dask=args.dask,
    )
    assert flows is not None and lookup is not None
    product = Product(events, flows, lookup, (*events_warnings, *lookup_warnings))
    return Plan(config, product, seed_chosen)


def _continue_plan(
    args: argparse.Namespace, now: datetime, workers: int, max_file_mb: float | None
) -> Plan:
    """--continue: only --output is needed; what is left out is taken from the run (run.json)."""
    if args.output is None:
        raise UsageError("--continue needs --output, the folder holding the run to continue")
    if args.force:
        raise UsageError("--continue and --force do not go together: continue or replace the run")
    if args.replay:
        raise UsageError("--continue and --replay do not go together: a continue repeats no run")
    config = continue_config(args, args.output, end_time(args.end, now), workers, max_file_mb)
    return Plan(config, None, False)


def continue_config(
    args: argparse.Namespace,
    output_dir: str,
    end_ms: int,
    workers: int,
    max_file_mb: float | None,
) -> RunConfig:
    """A continue of the run in ``output_dir``: what the flags say, the rest as the run recorded it
    (empty paths, users 0, seed -1 and None mean "as recorded"; a flag that differs from the run is
    refused by the core)."""
    return RunConfig(
        events_path=args.events or "",
        flows_path=args.flows or "",
        lookup_path=args.lookup or "",
        users=whole_number(args.users, "--users") if args.users is not None else 0,
        output_dir=output_dir,
        seed=whole_number(args.seed, "--seed", 0, MAX_SEED) if args.seed is not None else -1,
        end_ms=end_ms,
        workers=workers,
        format=args.format,
        gzip=args.gzip,
        max_file_mb=max_file_mb,
        continue_run=True,
        dask=args.dask,
    )
