"""Gathering a run's answers: flags first, then a replay record, then the questions.

Three steps, each plain: :func:`resolve` turns the flags and the replay record into answers (no
I/O: parsing and precedence only); the files given are loaded before anything is asked, so a bad
one ends the run at once; then the missing answers are asked in one loop over :data:`QUESTIONS`,
each answer checked at its own question.  The result is a :class:`Plan` holding the one call the
front makes into the core.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console

from generator import (
    DEFAULT_CHUNK_USERS,
    DEFAULT_DAYS,
    DEFAULT_FORMAT,
    DEFAULT_MAX_FILE_MB,
    DEFAULT_USERS,
    FORMATS,
    MODEL_VERSION,
    ContinueConfig,
    EventsSpec,
    FlowsSpec,
    FolderState,
    LookupSpec,
    Product,
    RunConfig,
    RunRecord,
    UsageError,
    check_free,
    check_names,
    inspect,
    load_events,
    load_flows,
    load_lookup,
    new_seed,
    read_record,
)

from .summary import as_markup
from .values import (
    NUMBER_FLAGS,
    display_path,
    end_time,
    example_path,
    next_free_folder,
    parse_flag,
    size_mb,
)

SIBLING_FLOWS = ("flows.csv",)
SIBLING_LOOKUPS = ("lookup_table.csv", "lookup.csv")


@dataclass(frozen=True)
class Plan:
    """A run ready to start: the one call into the core, with what it needs.

    ``config`` is a new run's :class:`RunConfig` (with its loaded ``product``), or a
    :class:`ContinueConfig` (the core loads the files the run's record names).
    """

    config: RunConfig | ContinueConfig
    product: Product | None
    seed_chosen: bool
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answers:
    """What the flags and the replay record say; None where the answer is still to be asked."""

    users: int | None
    events: str | None
    flows: str | None
    lookup: str | None
    output: str | None
    seed: int | None
    end_ms: int
    days: int
    workers: int
    format: str
    gzip: bool
    max_file_mb: float
    dask: str | None
    force: bool
    chunk_users: int  # not a flag: a replayed run keeps its own (it names the files)
    origins: tuple[tuple[str, str], ...] = ()  # (answer, where it came from) for answers given

    def origin(self, key: str) -> str:
        return dict(self.origins).get(key, "")


def resolve(args: argparse.Namespace, record: RunRecord | None, now: datetime) -> Answers:
    """Flags first, then the replay record; parsing and precedence only, no I/O."""
    numbers = {flag: parse_flag(flag, getattr(args, flag)) for flag in NUMBER_FLAGS}
    source = f"from {display_path(record.source)}" if record else ""
    origins: list[tuple[str, str]] = []

    def pick(key: str, flag_value: Any, recorded: Any) -> Any:
        if flag_value is not None:
            origins.append((key, f"from --{key}"))
            return flag_value
        if recorded is not None:
            origins.append((key, source))
        return recorded

    def recorded(name: str) -> Any:
        return getattr(record, name) if record is not None else None

    max_file_mb = size_mb(args.max_file_mb) if args.max_file_mb is not None else None
    return Answers(
        users=pick("users", numbers["users"], recorded("users")),
        events=pick("events", args.events, recorded("events_path")),
        flows=pick("flows", args.flows, recorded("flows_path")),
        lookup=pick("lookup", args.lookup, recorded("lookup_path")),
        output=pick("output", args.output, None),
        seed=numbers["seed"] if numbers["seed"] is not None else recorded("seed"),
        end_ms=end_time(args.end, now) if args.end is not None or record is None else record.end_ms,
        days=_first(numbers["days"], recorded("days"), DEFAULT_DAYS),
        workers=_first(numbers["workers"], os.cpu_count() or 1),
        format=_first(args.format, recorded("format"), DEFAULT_FORMAT),
        gzip=_first(args.gzip, recorded("gzip"), False),
        max_file_mb=_first(max_file_mb, recorded("max_file_mb"), DEFAULT_MAX_FILE_MB),
        dask=args.dask,
        force=bool(args.force),
        chunk_users=_first(recorded("chunk_users"), DEFAULT_CHUNK_USERS),
        origins=tuple(origins),
    )


def _first(*values: Any) -> Any:
    return next(value for value in values if value is not None)


# -- the questions ---------------------------------------------------------------------------------


@dataclass
class _Loaded:
    """The files loaded so far, each checked against the events file."""

    events: EventsSpec | None = None
    flows: FlowsSpec | None = None
    lookup: LookupSpec | None = None
    warnings: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Question:
    """One answer the run needs: its label, how to ask for it, and how to check what was given.

    ``check(value, answers, loaded)`` raises a :class:`GeneratorError` for an answer that cannot be
    used; ``default(answers)`` is what Enter accepts.
    """

    key: str
    label: str
    ask: Callable[..., Any]
    default: Callable[[dict[str, Any]], Any]
    check: Callable[[Any, dict[str, Any], _Loaded], None]


def _check_events(path: str, answers: dict[str, Any], loaded: _Loaded) -> None:
    """Load the events file, and the flows and lookup files already given, which must fit it."""
    events, warnings = load_events(path)
    check_names(FORMATS[answers["format"]], events)
    flows = load_flows(answers["flows"], events) if answers.get("flows") else None
    lookup = load_lookup(answers["lookup"], events) if answers.get("lookup") else None
    loaded.events = events
    loaded.warnings["events"] = warnings
    if flows is not None:
        loaded.flows, loaded.warnings["flows"] = flows
    if lookup is not None:
        loaded.lookup, loaded.warnings["lookup"] = lookup


def _check_flows(path: str, answers: dict[str, Any], loaded: _Loaded) -> None:
    assert loaded.events is not None
    loaded.flows, loaded.warnings["flows"] = load_flows(path, loaded.events)


def _check_lookup(path: str, answers: dict[str, Any], loaded: _Loaded) -> None:
    assert loaded.events is not None
    loaded.lookup, loaded.warnings["lookup"] = load_lookup(path, loaded.events)


def _check_output(folder: str, answers: dict[str, Any], loaded: _Loaded) -> None:
    check_free(folder, answers["force"])


def _sibling(answers: dict[str, Any], names: tuple[str, ...], example: str) -> str:
    """A file of that name beside the events file if there is one (a sheet's three exports
    usually sit together), else the bundled example."""
    folder = os.path.dirname(answers["events"])
    for name in names:
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return display_path(candidate)
    return display_path(example_path(example))


def _questions(prompts: Any) -> tuple[Question, ...]:
    """The questions, in the order they are asked (``prompts`` loads only when asking)."""

    def never(value: Any, answers: dict[str, Any], loaded: _Loaded) -> None:
        """Checked inside the prompt (a whole number in bounds), or by the flag's parser."""

    return (
        Question("users", "Users", prompts.ask_users, lambda a: DEFAULT_USERS, never),
        Question(
            "events",
            "Events CSV file",
            prompts.ask_file,
            lambda a: display_path(example_path("events.csv")),
            _check_events,
        ),
        Question(
            "flows",
            "Flows CSV file",
            prompts.ask_file,
            lambda a: _sibling(a, SIBLING_FLOWS, "flows.csv"),
            _check_flows,
        ),
        Question(
            "lookup",
            "Lookup-table CSV file",
            prompts.ask_file,
            lambda a: _sibling(a, SIBLING_LOOKUPS, "lookup_table.csv"),
            _check_lookup,
        ),
        Question(
            "output",
            "Output folder",
            prompts.ask_output_folder,
            lambda a: next_free_folder(),
            _check_output,
        ),
    )


def gather(
    args: argparse.Namespace,
    now: datetime,
    *,
    interactive: bool,
    console: Console,
    **prompt_kwargs: Any,
) -> Plan:
    """Build the run from ``args``, a replay record and, when ``interactive``, the questions;
    ``prompt_kwargs`` go to every question (tests pass input and output)."""
    if args.continue_run:
        return _continue_plan(args, now)
    record = read_record(args.replay) if args.replay else None
    if record is not None and record.continued:
        raise UsageError(
            "this run was continued, and --replay repeats a single run; replay the first run "
            "and continue it the same way, or copy the folder",
            file=record.source,
        )
    given = resolve(args, record, now)
    answers: dict[str, Any] = {
        "users": given.users,
        "events": given.events,
        "flows": given.flows,
        "lookup": given.lookup,
        "output": given.output,
        "format": given.format,
        "force": given.force,
    }
    missing = [key for key in ("users", "events", "flows", "lookup", "output") if not answers[key]]
    if missing and not interactive:
        flags = ", ".join(f"--{key}" for key in missing)
        raise UsageError(
            f"missing {flags}: standard input is not a terminal, so nothing can be asked; give "
            f"{'it' if len(missing) == 1 else 'them'} as flags (see --help)"
        )
    loaded = _Loaded()
    # Files given are loaded before anything is asked, so a bad one ends the run at once; the
    # events file's check loads the flows and lookup files given, which must fit it (when it is
    # to be asked, they are checked at its question).
    if answers["events"]:
        _check_events(answers["events"], answers, loaded)
    if not interactive:
        _check_output(answers["output"], answers, loaded)  # refused before the run is announced
    else:
        from . import prompts

        if missing:
            console.print(
                "[dim]Enter accepts the answer shown; Tab completes paths; Ctrl-C cancels.[/]",
                highlight=False,
            )
        for question in _questions(prompts):
            if answers[question.key]:
                value = answers[question.key]
                _given(console, question.label, value, given.origin(question.key))
            else:
                answers[question.key] = _ask(question, answers, loaded, console, prompt_kwargs)
        choice = _existing_folder(answers, given, prompts, console, prompt_kwargs)
        if choice is not None:
            return Plan(choice, None, False)
    assert loaded.events is not None and loaded.flows is not None and loaded.lookup is not None
    seed_chosen = given.seed is None
    config = RunConfig(
        events_path=answers["events"],
        flows_path=answers["flows"],
        lookup_path=answers["lookup"],
        users=answers["users"],
        output_dir=answers["output"],
        seed=new_seed() if given.seed is None else given.seed,
        end_ms=given.end_ms,
        days=given.days,
        workers=given.workers,
        replace=answers["force"],
        format=given.format,
        gzip=given.gzip,
        max_file_mb=given.max_file_mb,
        chunk_users=given.chunk_users,
        dask=given.dask,
    )
    warnings = tuple(
        w for key in ("events", "flows", "lookup") for w in loaded.warnings.get(key, ())
    )
    product = Product(loaded.events, loaded.flows, loaded.lookup, warnings)
    if record is not None and record.model != MODEL_VERSION:
        warnings += (
            f"{record.source}: that run was made by user model {record.model} and this version "
            f"has model {MODEL_VERSION}: the same inputs, seed and end time now give other data",
        )
    return Plan(config, product, seed_chosen, warnings)


def _given(console: Console, label: str, value: object, origin: str) -> None:
    shown = f"{value:,}" if isinstance(value, int) else str(value)
    console.print(
        f"[green]✓[/] [bold]{label}[/] {as_markup(shown)} [dim]({as_markup(origin)})[/]",
        highlight=False,
    )


def _ask(
    question: Question,
    answers: dict[str, Any],
    loaded: _Loaded,
    console: Console,
    prompt_kwargs: dict[str, Any],
) -> Any:
    """Ask ``question`` until its answer passes its check (a file that loads, say)."""

    def report(message: str) -> None:
        console.print(f"[red]✗ {as_markup(message)}[/]", highlight=False, soft_wrap=True)

    default = question.default(answers)
    if question.key in ("events", "flows", "lookup"):
        path, _ = question.ask(
            f"{question.label}:",
            default,
            lambda path: question.check(path, answers, loaded),
            report,
            **prompt_kwargs,
        )
        return path
    return question.ask(default, **prompt_kwargs)


def _existing_folder(
    answers: dict[str, Any],
    given: Answers,
    prompts: Any,
    console: Console,
    prompt_kwargs: dict[str, Any],
) -> ContinueConfig | None:
    """An output folder holding a run: choose another, replace it, or continue it (terminal)."""
    while not answers["force"]:
        seen = inspect(answers["output"])
        if seen.state is FolderState.FREE:
            return None
        action = prompts.ask_existing_folder(answers["output"], seen, **prompt_kwargs)
        if action is prompts.FolderAction.REPLACE:
            answers["force"] = True
        elif action is prompts.FolderAction.CONTINUE:
            # As --continue: the run there decides its files, users, seed and format; answers
            # given at the questions are not used.
            console.print(
                "[dim]Continuing: the run's own files, users and seed are used; the answers "
                "above are not.[/]",
                highlight=False,
            )
            return ContinueConfig(answers["output"], given.end_ms, workers=given.workers)
        else:
            answers["output"] = prompts.ask_output_folder(
                next_free_folder(answers["output"]), **prompt_kwargs
            )
    check_free(answers["output"], True)
    return None


def _continue_plan(args: argparse.Namespace, now: datetime) -> Plan:
    """--continue: only --output is needed; what is left out is taken from the run's record."""
    if args.output is None:
        raise UsageError("--continue needs --output, the folder holding the run to continue")
    if args.force:
        raise UsageError("--continue and --force do not go together: continue or replace the run")
    if args.replay:
        raise UsageError("--continue and --replay do not go together: a continue repeats no run")
    numbers = {flag: parse_flag(flag, getattr(args, flag)) for flag in NUMBER_FLAGS}
    request = ContinueConfig(
        output_dir=args.output,
        end_ms=end_time(args.end, now),
        workers=_first(numbers["workers"], os.cpu_count() or 1),
        events_path=args.events,
        flows_path=args.flows,
        lookup_path=args.lookup,
        users=numbers["users"],
        seed=numbers["seed"],
        format=args.format,
        gzip=args.gzip,
        max_file_mb=size_mb(args.max_file_mb) if args.max_file_mb is not None else None,
        dask=args.dask,
    )
    return Plan(request, None, False)
