"""Gathering a run's answers: flags first, then a replay record, then the questions.

Three steps, each plain: :func:`resolve` turns the flags and the replay record into answers (no
I/O: parsing and precedence only); the files given are loaded before anything is asked, so a bad
one ends the run at once; then the missing answers are asked in one loop over the questions, each
answer checked at its own question, so that nothing is refused once the last one is answered.

The questions come in this order: the output folder first (a folder that holds a run offers to
continue it, and then nothing else is asked), the three files, the format, and the number of users
last, when the sheet and the format are known, so that its answer can be checked against an
estimate of the run's size and the free space of the output's disk.

The end time "now" is read when the questions are over (``clock``), right before the run starts.
The result is a :class:`Plan` holding the one call the front makes into the core.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from rich.console import Console

from generator import (
    CALIBRATION_USERS,
    DEFAULT_CHUNK_USERS,
    DEFAULT_DAYS,
    DEFAULT_FORMAT,
    DEFAULT_MAX_FILE_MB,
    DEFAULT_USERS,
    FORMAT_NAMES,
    FORMATS,
    MODEL_VERSION,
    RUN_FILE,
    Calibration,
    ContinueConfig,
    Estimate,
    EventsSpec,
    FlowsSpec,
    FolderState,
    GeneratorError,
    LookupSpec,
    NoRoomError,
    Product,
    RunConfig,
    RunRecord,
    UsageError,
    calibrate,
    check_address,
    check_continuable,
    check_continue,
    check_free,
    check_names,
    check_room,
    check_writable,
    default_workers,
    estimate_continue,
    estimate_run,
    free_space,
    inspect,
    iso,
    load_events,
    load_flows,
    load_lookup,
    new_seed,
    read_record,
    size_text,
    to_ms,
)

from .sheets import FLOWS_TABS, LOOKUP_TABS, exported_events, sibling
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
from .words import plural

Clock = Callable[[], datetime]
Timer = Callable[[], float]
OUTPUT_BASE = "output"  # the default output folder, then output-2, output-3, ...


@dataclass(frozen=True)
class Plan:
    """A run ready to start: the one call into the core, with what it needs.

    ``config`` is a new run's :class:`RunConfig` (with its loaded ``product``), or a
    :class:`ContinueConfig` (the core loads the files the run's record names).  ``estimate`` is
    what the run is expected to cost, and ``free`` the bytes free on the output's disk.
    ``users`` is the number of users the progress counts: a new run's, or the users a continue
    walks on (the core's first report adds those who join; None when its record was not read).
    """

    config: RunConfig | ContinueConfig
    product: Product | None
    seed_chosen: bool
    warnings: tuple[str, ...] = ()
    estimate: Estimate | None = None
    free: int | None = None
    users: int | None = None


@dataclass(frozen=True)
class Answers:
    """What the flags and the replay record say; None where the answer is still to be asked."""

    users: int | None
    events: str | None
    flows: str | None
    lookup: str | None
    output: str | None
    format: str | None
    seed: int | None
    end_ms: int | None  # None: the moment the run starts
    days: int
    workers: int
    gzip: bool
    max_file_mb: float
    dask: str | None
    force: bool
    chunk_users: int  # not a flag: a replayed run keeps its own (it names the files)
    origins: tuple[tuple[str, str], ...] = ()  # (answer, where it came from) for answers given
    replaying: bool = False  # --replay: a new run of a recorded one, never a continue

    def origin(self, key: str) -> str:
        return dict(self.origins).get(key, "")


def future_end(end_ms: int, now: datetime, what: str) -> UsageError:
    return UsageError(
        f"{what} {iso(end_ms)} is in the future (it is now {iso(to_ms(now))}); the analytics "
        f"tools reject or hide events from the future: give a time that has passed, or "
        f"--allow-future"
    )


def _end(args: argparse.Namespace, record: RunRecord | None, now: datetime) -> int | None:
    """The end time given (``--end``, else the replayed run's), or None for "now"; a time in the
    future is refused unless ``--allow-future``."""
    if args.end is not None:
        end_ms, what = end_time(args.end, now), "--end"
    elif record is not None:
        end_ms, what = record.end_ms, f"the end of the replayed run ({display_path(record.source)})"
    else:
        return None
    if end_ms > to_ms(now) and not args.allow_future:
        raise future_end(end_ms, now, what)
    return end_ms


def resolve(args: argparse.Namespace, record: RunRecord | None, now: datetime) -> Answers:
    """Flags first, then the replay record; parsing and precedence only, no I/O."""
    numbers = {flag: parse_flag(flag, getattr(args, flag)) for flag in NUMBER_FLAGS}
    source = f"from {display_path(record.source)}" if record else ""
    origins: list[tuple[str, str]] = []

    def pick(key: str, flag_value: Any, recorded: Any, flag: str = "") -> Any:
        if flag_value is not None:
            origins.append((key, f"from --{flag or key}"))
            return flag_value
        if recorded is not None:
            origins.append((key, source))
        return recorded

    def recorded(name: str) -> Any:
        return getattr(record, name) if record is not None else None

    max_file_mb = size_mb(args.max_file_mb) if args.max_file_mb is not None else None
    format_flag = "send" if args.format is not None and args.format == args.send else "format"
    return Answers(
        users=pick("users", numbers["users"], recorded("users")),
        events=pick("events", args.events, recorded("events_path")),
        flows=pick("flows", args.flows, recorded("flows_path")),
        lookup=pick("lookup", args.lookup, recorded("lookup_path")),
        output=pick("output", args.output, None),
        format=pick("format", args.format, recorded("format"), format_flag),
        seed=numbers["seed"] if numbers["seed"] is not None else recorded("seed"),
        end_ms=_end(args, record, now),
        days=_first(numbers["days"], recorded("days"), DEFAULT_DAYS),
        workers=_first(numbers["workers"], default_workers()),
        gzip=_first(args.gzip, recorded("gzip"), False),
        max_file_mb=_first(max_file_mb, recorded("max_file_mb"), DEFAULT_MAX_FILE_MB),
        dask=args.dask,
        force=bool(args.force),
        chunk_users=_first(recorded("chunk_users"), DEFAULT_CHUNK_USERS),
        origins=tuple(origins),
        replaying=record is not None,
    )


def _first(*values: Any) -> Any:
    return next(value for value in values if value is not None)


# -- what the questions share ----------------------------------------------------------------------


@dataclass
class _State:
    """The answers so far, the files they loaded, and what was worked out from them."""

    given: Answers
    answers: dict[str, Any]
    now: datetime
    timer: Timer | None
    events: EventsSpec | None = None
    flows: FlowsSpec | None = None
    lookup: LookupSpec | None = None
    warnings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)  # from a run being replaced
    calibration: tuple[tuple[Any, ...], Calibration] | None = None
    estimate: Estimate | None = None
    free: int | None = None
    walked: int | None = None  # the users a continue offered at the folder question walks on
    # The run's seed when none is given, chosen at once: the estimate calibrates on the run's own
    # first users (the same seed): a run of CALIBRATION_USERS, the default, is estimated exactly.
    chosen_seed: int = field(default_factory=new_seed)

    def config(self, users: int | None = None, end_ms: int | None = None) -> RunConfig:
        """The run the answers describe (the end time stands in until it is read)."""
        answers, given = self.answers, self.given
        return RunConfig(
            events_path=answers["events"],
            flows_path=answers["flows"],
            lookup_path=answers["lookup"],
            users=users if users is not None else answers["users"],
            output_dir=answers["output"],
            seed=given.seed if given.seed is not None else self.chosen_seed,
            end_ms=end_ms if end_ms is not None else _end_ms(given, self.now),
            days=given.days,
            workers=given.workers,
            replace=answers["force"],
            format=answers["format"] or DEFAULT_FORMAT,
            gzip=given.gzip,
            max_file_mb=given.max_file_mb,
            chunk_users=given.chunk_users,
            dask=given.dask,
        )

    @property
    def product(self) -> Product:
        assert self.events is not None and self.flows is not None and self.lookup is not None
        kinds = ("events", "flows", "lookup")
        warnings = tuple(w for kind in kinds for w in self.warnings.get(kind, ()))
        return Product(self.events, self.flows, self.lookup, warnings)

    def per_user(self) -> Calibration:
        """The calibration of this sheet, format and window (made once, reused for every number
        of users typed)."""
        users = self.answers["users"]
        config = self.config(users=users or CALIBRATION_USERS)
        key = (config.events_path, config.flows_path, config.lookup_path, config.format,
               config.gzip, config.days)  # fmt: skip
        if self.calibration is None or self.calibration[0] != key:
            config.check()  # the bounds (a window before 1900, say) before anything runs
            # Users still to be asked: the full calibration, while the person reads the question;
            # users given by a flag: a twentieth of them (the estimate must not cost the run much).
            sample = None if users else CALIBRATION_USERS
            self.calibration = (key, calibrate(config, self.product, None, self.timer, sample))
        return self.calibration[1]


def _end_ms(given: Answers, now: datetime) -> int:
    return given.end_ms if given.end_ms is not None else to_ms(now)


# -- each answer's check (a GeneratorError says why it cannot be used) ----------------------------


def _check_events(path: str, state: _State) -> None:
    """Load the events file, and the flows and lookup files already given, which must fit it."""
    answers = state.answers
    events, warnings = load_events(path)
    if answers["format"]:
        check_names(FORMATS[answers["format"]], events)
    flows = load_flows(answers["flows"], events) if answers.get("flows") else None
    lookup = load_lookup(answers["lookup"], events) if answers.get("lookup") else None
    state.events = events
    state.warnings["events"] = warnings
    if flows is not None:
        state.flows, state.warnings["flows"] = flows
    if lookup is not None:
        state.lookup, state.warnings["lookup"] = lookup


def _check_flows(path: str, state: _State) -> None:
    assert state.events is not None
    state.flows, state.warnings["flows"] = load_flows(path, state.events)


def _check_lookup(path: str, state: _State) -> None:
    assert state.events is not None
    state.lookup, state.warnings["lookup"] = load_lookup(path, state.events)


def _check_output(folder: str, state: _State) -> None:
    """A folder that can be written, holding nothing of someone else's (a run of ours is for
    :func:`_folder_in_use` to settle)."""
    check_writable(folder)
    inspect(folder)


def _check_format(name: str, state: _State) -> None:
    assert state.events is not None
    check_names(FORMATS[name], state.events)


def _check_users(users: int, state: _State) -> None:
    """The run must fit on the output's disk (unless --force): estimated from a calibration."""
    state.estimate = estimate_run(
        state.config(users=users), state.product, calibration=state.per_user()
    )
    if state.answers["force"]:
        state.free = free_space(state.answers["output"])
    else:
        state.free = check_room(state.estimate, state.answers["output"])


def _cost(estimate: Estimate, free: int | None) -> str:
    """``about 1,834,000 events, 672 MB on disk (82 GB free), about 5 s``."""
    events = _rounded(estimate.events)
    text = f"about {plural(events, 'event')}, {size_text(estimate.bytes)} on disk"
    if free is not None:
        text += f" ({size_text(free)} free)"
    if estimate.seconds is not None:
        text += f", about {_duration(estimate.seconds)}"
    return text


def _rounded(number: int) -> int:
    """Three significant digits: an estimate is not exact."""
    digits = len(str(abs(number)))
    return round(number, 3 - digits) if digits > 3 else number


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _confirm_cost(state: _State, prompts: Any, kwargs: dict[str, Any]) -> bool:
    """Over 10 GB or 10 minutes, in a terminal: go ahead only if the person says so."""
    estimate = state.estimate
    if estimate is None or not estimate.large:
        return True
    return bool(
        prompts.confirm_cost(
            f"This run is large: {_cost(estimate, state.free)}. Generate it?", **kwargs
        )
    )


# -- the questions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One answer the run needs: its label, how to ask for it, and how to check what was given.

    ``ask(default, state, **prompt_kwargs)`` asks it; ``default(state)`` is what Enter accepts;
    ``check(value, state)`` raises a :class:`GeneratorError` for an answer that cannot be used
    (its message is shown and the question asked again, with the answer ready to edit);
    ``intro(state)`` is a line shown before the question, if any.
    """

    key: str
    label: str
    ask: Callable[..., Any]
    default: Callable[[_State], Any]
    check: Callable[[Any, _State], None]
    intro: Callable[[_State], str | None] = lambda state: None


def _events_default(state: _State) -> str:
    """A previous run's file, else the newest Sheets export of an events tab here, else the
    bundled example."""
    remembered = state.defaults.get("events")
    # The example through its real path: examples/events.csv in a checkout, not the package's
    # link to it.
    found = remembered or exported_events(".") or os.path.realpath(example_path("events.csv"))
    return display_path(found)


def _beside_events(tabs: tuple[str, ...], key: str) -> Callable[[_State], str]:
    def default(state: _State) -> str:
        remembered = state.defaults.get(key)
        found = remembered or sibling(state.answers["events"], tabs)
        return display_path(found) if found else ""

    return default


def _output_default(state: _State) -> str:
    """The folder of the latest run here (``output``, ``output-2``, ...), so that running the
    tool again offers to continue it; else a folder that does not exist yet.  A replay makes a
    new run: its default is always a folder that does not exist yet (another run's folder would
    offer to continue or replace a run that has nothing to do with it)."""
    if state.given.replaying:
        return next_free_folder(OUTPUT_BASE)
    runs = []
    for name in [OUTPUT_BASE, *(f"{OUTPUT_BASE}-{n}" for n in range(2, 100))]:
        if not os.path.lexists(name):
            continue
        try:
            if inspect(name).state is FolderState.HOLDS_RUN:
                runs.append((os.path.getmtime(os.path.join(name, RUN_FILE)), name))
        except (GeneratorError, OSError):
            continue
    return max(runs)[1] if runs else next_free_folder(OUTPUT_BASE)


def _users_intro(state: _State) -> str:
    per_user = state.per_user()
    fmt = state.answers["format"] or DEFAULT_FORMAT
    text = (
        f"With this sheet, a user makes about {plural(round(per_user.events), 'event')} "
        f"({size_text(round(per_user.bytes))} in {fmt}{' gzipped' if state.given.gzip else ''})"
    )
    return f"{text}; {size_text(free_space(state.answers['output']))} free on the output's disk."


def _questions(prompts: Any) -> tuple[Question, ...]:
    """The questions, in the order they are asked (``prompts`` loads only when asking)."""

    def ask_file(label: str) -> Callable[..., str]:
        def ask(default: str, state: _State, **kwargs: Any) -> str:
            path: str = prompts.ask_file(f"{label}:", default, **kwargs)
            return path

        return ask

    def ask_format(default: str, state: _State, **kwargs: Any) -> str:
        """Only the formats the events file can be written in can be chosen."""
        refused = {}
        for name in FORMAT_NAMES:
            try:
                _check_format(name, state)
            except GeneratorError:
                refused[name] = f"the sheet has a column named like a field {name} sets itself"
        answer: str = prompts.ask_format(default, FORMAT_NAMES, refused, **kwargs)
        return answer

    def plain(ask: Callable[..., Any]) -> Callable[..., Any]:
        return lambda default, state, **kwargs: ask(default, **kwargs)

    return (
        Question("output", "Output folder", plain(prompts.ask_output_folder), _output_default,
                 _check_output),
        Question("events", "Events CSV file", ask_file("Events CSV file"), _events_default,
                 _check_events),
        Question("flows", "Flows CSV file", ask_file("Flows CSV file"),
                 _beside_events(FLOWS_TABS, "flows"), _check_flows),
        Question("lookup", "Lookup-table CSV file", ask_file("Lookup-table CSV file"),
                 _beside_events(LOOKUP_TABS, "lookup"), _check_lookup),
        Question("format", "Format", ask_format,
                 lambda state: state.defaults.get("format", DEFAULT_FORMAT), _check_format),
        Question("users", "Users", plain(prompts.ask_users),
                 lambda state: state.defaults.get("users", DEFAULT_USERS), _check_users,
                 _users_intro),
    )  # fmt: skip


def gather(
    args: argparse.Namespace,
    clock: Clock,
    *,
    interactive: bool,
    console: Console,
    timer: Timer | None = None,
    **prompt_kwargs: Any,
) -> Plan:
    """Build the run from ``args``, a replay record and, when ``interactive``, the questions;
    ``prompt_kwargs`` go to every question (tests pass input and output).

    ``clock`` gives the time: "now" for a run without ``--end`` is read when the questions are
    over.  ``timer`` (seconds) measures the estimate's calibration, which then includes a time.
    """
    now = clock()
    if args.dask is not None:
        check_address(args.dask)  # refused before any question or file
    if args.continue_run:
        return _continue_plan(args, clock, interactive, console, timer, prompt_kwargs)
    record = read_record(args.replay) if args.replay else None
    if record is not None and record.continued:
        raise UsageError(
            "this run was continued, and --replay repeats a single run; replay the first run "
            "and continue it the same way, or copy the folder",
            file=record.source,
        )
    given = resolve(args, record, now)
    answers: dict[str, Any] = {
        "output": given.output,
        "events": given.events,
        "flows": given.flows,
        "lookup": given.lookup,
        "format": given.format,
        "users": given.users,
        "force": given.force,
    }
    missing = [key for key in ("users", "events", "flows", "lookup", "output") if not answers[key]]
    if missing and not interactive:
        flags = ", ".join(f"--{key}" for key in missing)
        raise UsageError(
            f"missing {flags}: standard input is not a terminal, so nothing can be asked; give "
            f"{'it as a flag' if len(missing) == 1 else 'them as flags'} (see --help)"
        )
    state = _State(given, answers, now, timer)
    # Files given are loaded before anything is asked, so a bad one ends the run at once; the
    # events file's check loads the flows and lookup files given, which must fit it (when it is
    # to be asked, they are checked at its question).
    if answers["events"]:
        _check_events(answers["events"], state)
    if not interactive:
        answers["format"] = answers["format"] or DEFAULT_FORMAT
        _check_output(answers["output"], state)
        check_free(answers["output"], answers["force"])  # refused before the run is announced
        _check_users(answers["users"], state)
    else:
        from . import prompts

        continued = _ask_all(state, prompts, console, prompt_kwargs)
        if continued is not None:
            return _continue_at_question(continued, state, clock)
    return _new_plan(state, record, clock)


def _ask_all(
    state: _State, prompts: Any, console: Console, kwargs: dict[str, Any]
) -> ContinueConfig | None:
    """Ask every missing answer, in order; a continue chosen at the output folder ends it."""
    answers, given = state.answers, state.given
    if any(answers[q] is None for q in ("output", "events", "flows", "lookup", "users")):
        console.print(
            "[dim]Enter accepts the answer shown; typing replaces it; → edits it; Tab completes; "
            "Ctrl-C cancels.[/]",
            highlight=False,
            soft_wrap=True,
        )
    for question in _questions(prompts):
        key = question.key
        if key == "users":
            _settle_users(question, state, prompts, console, kwargs)
            continue
        if answers[key] is not None:
            _given(console, question.label, answers[key], given.origin(key))
        else:
            answers[key] = _ask(question, state, console, kwargs)
        if key == "output":
            continued = _folder_in_use(question, state, prompts, console, kwargs)
            if continued is not None:
                return continued
    return None


def _report(console: Console, message: str) -> None:
    console.print(f"[red]✗ {as_markup(message)}[/]", highlight=False, soft_wrap=True)


def _ask(
    question: Question,
    state: _State,
    console: Console,
    kwargs: dict[str, Any],
    default: Any = None,
) -> Any:
    """Ask ``question`` until its answer passes its check (a file that loads, say)."""
    intro = question.intro(state)
    if intro:
        console.print(f"[dim]{as_markup(intro)}[/]", highlight=False, soft_wrap=True)
    value = question.default(state) if default is None else default
    while True:
        value = question.ask(value, state, **kwargs)
        try:
            question.check(value, state)
        except GeneratorError as error:
            _report(console, str(error))
            continue
        return value


def _settle_users(
    question: Question, state: _State, prompts: Any, console: Console, kwargs: dict[str, Any]
) -> None:
    """The number of users: asked (last) unless given; either way it must fit on the disk and,
    when the run is large, be confirmed.  A number given by a flag that does not pass is asked
    again here, with the flag's value ready to edit, rather than refused after the questions."""
    answers = state.answers
    value = answers["users"]
    if value is not None:
        _given(console, question.label, value, state.given.origin("users"))
        try:
            question.check(value, state)
            if _confirm_cost(state, prompts, kwargs):
                return
        except NoRoomError as error:
            _report(console, f"{state.given.origin('users')}: {error}")
    while True:
        value = _ask(question, state, console, kwargs, default=value)
        answers["users"] = value
        if _confirm_cost(state, prompts, kwargs):
            return


def _folder_in_use(
    question: Question, state: _State, prompts: Any, console: Console, kwargs: dict[str, Any]
) -> ContinueConfig | None:
    """An output folder holding a run: continue it (the default), choose another, or replace it.

    A folder given by a flag is checked here too: one that cannot be used ends the run at once
    (exit status 2), before any other question.
    """
    answers = state.answers
    if answers["output"] is not None and state.given.output is not None:
        _check_output(answers["output"], state)
    while not answers["force"]:
        folder = answers["output"]
        seen = inspect(folder)
        if seen.state is FolderState.FREE:
            return None
        request, cannot, about = _continue_offer(state, folder, seen.state)
        if cannot is not None:  # said in full here; the choice itself stays short
            _report(console, f"this run cannot be continued: {cannot}")
        action = prompts.ask_existing_folder(
            folder,
            seen,
            "not possible (see above)" if cannot is not None else None,
            about,
            "now" if state.given.end_ms is None else iso(state.given.end_ms),
            **kwargs,
        )
        if action is prompts.FolderAction.CONTINUE:
            assert request is not None
            return request
        if action is prompts.FolderAction.REPLACE:
            answers["force"] = True
            state.defaults = _remembered(folder)
        else:
            answers["output"] = _ask(question, state, console, kwargs, next_free_folder(folder))
    check_free(answers["output"], True)
    return None


def _continue_request(state: _State, folder: str, end_ms: int) -> ContinueConfig:
    """A continue of the run in ``folder`` with the flags given (they must agree with the run)."""
    given = state.given

    def flag(key: str) -> Any:
        return getattr(given, key) if given.origin(key).startswith("from --") else None

    return ContinueConfig(
        output_dir=folder,
        end_ms=end_ms,
        workers=given.workers,
        events_path=flag("events"),
        flows_path=flag("flows"),
        lookup_path=flag("lookup"),
        users=flag("users"),
        seed=given.seed,
        format=flag("format"),
        gzip=True if given.gzip else None,
        max_file_mb=given.max_file_mb if given.max_file_mb != DEFAULT_MAX_FILE_MB else None,
        dask=given.dask,
    )


def _continue_offer(
    state: _State, folder: str, folder_state: FolderState
) -> tuple[ContinueConfig | None, str | None, str]:
    """The continue a folder holding a run would be, why it cannot be chosen (None if it can),
    and a few words about the run, all checked before the choice is shown."""
    if folder_state is not FolderState.HOLDS_RUN:
        return None, None, ""
    request = _continue_request(state, folder, _end_ms(state.given, state.now))
    try:
        config, record, product = check_continue(request)
        estimate = estimate_continue(folder, record, config, product, state.timer)
        state.estimate, state.free = estimate, check_room(estimate, folder)
        state.walked = record.users_total
    except GeneratorError as error:
        return request, str(error), ""
    up_to = iso(record.end_ms)[:16].replace("T", " ")
    about = f" ({plural(record.users_total, 'user')}, up to {up_to})"
    return request, None, about


def _remembered(folder: str) -> dict[str, Any]:
    """The answers of the run in ``folder``, as the defaults of a run that replaces it."""
    try:
        record = read_record(folder)
    except GeneratorError:
        return {}
    remembered: dict[str, Any] = {"users": record.users, "format": record.format}
    for key, path in (
        ("events", record.events_path),
        ("flows", record.flows_path),
        ("lookup", record.lookup_path),
    ):
        if os.path.isfile(path):
            remembered[key] = path
    return remembered


def _given(console: Console, label: str, value: object, origin: str) -> None:
    shown = f"{value:,}" if isinstance(value, int) else str(value)
    console.print(
        f"[green]✓[/] [bold]{label}[/] {as_markup(shown)} [dim]({as_markup(origin)})[/]",
        highlight=False,
        soft_wrap=True,
    )


def _new_plan(state: _State, record: RunRecord | None, clock: Clock) -> Plan:
    """The new run: the end time read now (after the questions)."""
    given, answers = state.given, state.answers
    config = state.config(end_ms=_end_ms(given, clock()))
    seed_chosen = given.seed is None
    warnings = list(state.product.warnings)
    if record is not None:
        for name in record.changed_inputs(answers["events"], answers["flows"], answers["lookup"]):
            path = display_path(answers[name])
            warnings.append(
                f"the {name} file {path} has changed since the run was made (its content is not "
                f"the one {display_path(record.source)} records): this replay will not write the "
                f"same events"
            )
        if record.model != MODEL_VERSION:
            warnings.append(
                f"{record.source}: that run was made by user model {record.model} and this "
                f"version has model {MODEL_VERSION}: the same inputs, seed and end time now give "
                f"other data"
            )
    estimate, free = state.estimate, state.free
    return Plan(config, state.product, seed_chosen, tuple(warnings), estimate, free, config.users)


def _continue_at_question(request: ContinueConfig, state: _State, clock: Clock) -> Plan:
    """A continue chosen at the output folder question: up to now (read here) or --end."""
    end_ms = _end_ms(state.given, clock())
    config = replace(request, end_ms=end_ms)
    return Plan(config, None, False, (), state.estimate, state.free, state.walked)


def _continue_plan(
    args: argparse.Namespace,
    clock: Clock,
    interactive: bool,
    console: Console,
    timer: Timer | None,
    prompt_kwargs: dict[str, Any],
) -> Plan:
    """--continue: only --output is needed; what is left out is taken from the run's record.

    Everything a continue would refuse (the record, the flags against it, the files, the end
    time, the room on the disk) is checked here, before anything is written.
    """
    if args.output is None:
        raise UsageError("--continue needs --output, the folder holding the run to continue")
    if args.force:
        raise UsageError("--continue and --force do not go together: continue or replace the run")
    if args.replay:
        raise UsageError("--continue and --replay do not go together: a continue repeats no run")
    now = clock()
    numbers = {flag: parse_flag(flag, getattr(args, flag)) for flag in NUMBER_FLAGS}
    end_ms = end_time(args.end, now)
    if args.end is not None and end_ms > to_ms(now) and not args.allow_future:
        raise future_end(end_ms, now, "--end")
    request = ContinueConfig(
        output_dir=args.output,
        end_ms=end_ms,
        workers=_first(numbers["workers"], default_workers()),
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
    estimate, free, walked = None, None, None
    # Refused here, before the continue is announced: a folder with no run to continue.  The
    # remains of an interrupted continue pass, for the core to repair first.
    if check_continuable(args.output).state is FolderState.HOLDS_RUN:
        config, record, product = check_continue(request)
        estimate = estimate_continue(args.output, record, config, product, timer)
        free = check_room(estimate, args.output)
        walked = record.users_total
    if interactive and estimate is not None and estimate.large:
        from . import prompts

        message = f"This continue is large: {_cost(estimate, free)}. Go on?"
        if not prompts.confirm_cost(message, **prompt_kwargs):
            raise KeyboardInterrupt
    if args.end is None:
        request = replace(request, end_ms=to_ms(clock()))
    return Plan(request, None, False, (), estimate, free, walked)


def cost_line(plan: Plan) -> str | None:
    """The estimate shown with the answers, before the run starts (None when there is none)."""
    if plan.estimate is None:
        return None
    return f"Estimate: {_cost(plan.estimate, plan.free)}"
