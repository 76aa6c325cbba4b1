"""``--send TOOL``: the send's flags checked before anything runs, its progress, and its summary.

The core (:mod:`generator.delivery`) does the sending and reports through a callback; this module
turns that into a progress bar (or a few plain lines without a terminal) and, at the end, says
what was sent where and how to see it in the tool.  The key is taken from ``--api-key`` or the
tool's environment variable and never printed.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from generator import (
    EXIT_CANCELLED,
    EXIT_OK,
    DeliveryError,
    GeneratorError,
    OutputError,
    SendConfig,
    SendProgress,
    SendResult,
    UsageError,
    check_send,
    destination,
    iso,
    printable,
    read_record,
    run_format,
    send_run,
    to_ms,
)
from generator import send_tool as _tool_for

from .summary import SCRIPT_WORDS, as_markup, shell_join
from .words import plural

# Flags that make (or continue) a run; without any of them, --send sends the run in --output.
# Flags that do not make a run: the send's own, and the folder to send.  Any other flag given
# (from the parser, whatever it holds) makes, replays or continues a run before the send.
_NOT_RUN_FLAGS = frozenset(
    {"send", "api_key", "region", "endpoint", "resend", "output", "workers", "check"}
)

# Where to look once the events are there (the tools' own names for their screens).
_WHERE = {
    "amplitude": "In Amplitude, open User Look-Up, or an Event Segmentation chart from {first} "
    "to {last}; Amplitude makes a batch queryable within about 15 minutes.",
    "mixpanel": "In Mixpanel, open Events (or an Insights report) from {first} to {last}; the "
    "profiles are under Users.",
    "segment": "In Segment, the source's Debugger shows the latest messages; each connected "
    "destination receives them from there.",
    "posthog": "In PostHog, open Activity (or an insight) from {first} to {last}; a historical "
    "import can take a while to appear.",
}


def _given(args: argparse.Namespace, name: str) -> bool:
    value = getattr(args, name, None)
    return value not in (None, False)


def api_key(args: argparse.Namespace) -> str:
    """The key for ``--send``: ``--api-key``, else the tool's environment variable."""
    tool = _tool_for(args.send)
    key = args.api_key if args.api_key is not None else os.environ.get(tool.env, "")
    if not key.strip():
        raise UsageError(
            f"--send {tool.name} needs the {tool.title} {tool.key_name}: set {tool.env} (or give "
            f"--api-key)"
        )
    return key.strip()


def prepare_send(args: argparse.Namespace) -> bool:
    """Check the send's flags before anything runs; True when there is no run to make first
    (``--send`` with ``--output`` only: send the run already there).

    When a run is made first, it is made in the tool's format: ``--format`` defaults to the tool,
    and another format is refused here, before any question or file.
    """
    tool = _tool_for(args.send)
    destination(tool, args.region, args.endpoint)  # a region the tool lacks, a bad URL
    api_key(args)
    send_only = not any(_given(args, name) for name in vars(args) if name not in _NOT_RUN_FLAGS)
    if send_only:
        if not args.output:
            raise UsageError(
                f"--send {tool.name} needs --output: the folder of the run to send (or the "
                f"run's own flags, to make it first)"
            )
        return True
    if args.continue_run and args.output:
        made_in = run_format(args.output) if os.path.isdir(args.output) else tool.name
        if made_in != tool.name:
            raise UsageError(
                f"the run in {args.output} was made in the {made_in!r} format; --send "
                f"{tool.name} takes a run made with --format {tool.name}"
            )
    elif args.format is None and args.replay:
        # A replay makes the run its record says: in the record's format, which must be the tool's.
        made_in = read_record(args.replay).format
        if made_in != tool.name:
            raise UsageError(
                f"the run {args.replay} replays was made in the {made_in!r} format; --send "
                f"{tool.name} takes a run made with --format {tool.name} (give --format "
                f"{tool.name} to replay it in that format)"
            )
    elif args.format is None:
        args.format = tool.name
    elif args.format is not None and args.format != tool.name:
        raise UsageError(
            f"--send {tool.name} needs a run made with --format {tool.name}, not --format "
            f"{args.format}"
        )
    return False


class _Shown:
    """Keeps the last progress report, for the message of a send that is cancelled."""

    def __init__(self) -> None:
        self.last: SendProgress | None = None
        self.first_done: int | None = None


@contextmanager
def _progress_shown(
    console: Console, title: str, shown: _Shown, get_time: Callable[[], float] = time.monotonic
) -> Iterator[Callable[[SendProgress], None]]:
    started = get_time()
    if not console.is_terminal:
        steps = [0, 0]  # tenths shown, retries shown

        def plain(report: SendProgress) -> None:
            shown.last = report
            if report.phase == "checking":
                return
            if shown.first_done is None:
                shown.first_done = report.items_done
            if report.waiting_s > 0:
                # A retry's wait is news; the short pauses that keep to a rate limit are not.
                if report.retries > steps[1] or report.waiting_s >= 10:
                    steps[1] = report.retries
                    console.print(
                        f"waiting {report.waiting_s:,.1f} s: {report.note}", soft_wrap=True
                    )
                return
            tenth = report.items_done * 10 // max(1, report.items_total)
            if tenth <= steps[0]:
                return
            steps[0] = tenth
            rate = (report.items_done - shown.first_done) / max(get_time() - started, 1e-9)
            console.print(
                f"{report.items_done:,}/{plural(report.items_total, 'item')} sent to {title}, "
                f"{plural(report.batches, 'batch')}, {plural(report.retries, 'retry')}, "
                f"{rate:,.0f} items/s",
                soft_wrap=True,
            )

        yield plain
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        TextColumn("{task.fields[count]}"),
        TextColumn("{task.fields[batches]} {task.fields[retries]}"),
        TextColumn("[magenta]{task.fields[rate]}"),
        TextColumn("left"),
        TimeRemainingColumn(),
        TextColumn("[yellow]{task.fields[note]}"),
        console=console,
        get_time=get_time,
    )
    with bar:
        task = bar.add_task(
            "checking", total=None, count="", batches="", retries="", rate="", note=""
        )

        def update(report: SendProgress) -> None:
            shown.last = report
            if report.phase == "checking":
                bar.update(
                    task,
                    description=f"checking file {report.files_done}/{report.files_total}",
                )
                return
            if shown.first_done is None:
                shown.first_done = report.items_done
            elapsed = max(get_time() - started, 1e-9)
            rate = (report.items_done - shown.first_done) / elapsed
            note = f"waiting {report.waiting_s:,.0f} s: {report.note}" if report.waiting_s else ""
            bar.update(
                task,
                description=f"sending to {title}",
                total=report.items_total,
                completed=report.items_done,
                count=f"{report.items_done:,}/{plural(report.items_total, 'item')}",
                batches=plural(report.batches, "batch"),
                retries=plural(report.retries, "retry"),
                rate=f"{rate:,.0f} items/s",
                note=as_markup(note[:60]),
            )

        yield update


def _day(ms: int) -> str:
    return iso(ms)[:10] if ms else "?"


def print_send_summary(console: Console, result: SendResult, seconds: float, folder: str) -> None:
    """What was sent where, and how to see it in the tool."""
    journal = as_markup(result.journal)
    if result.already_complete:
        console.print(
            f"Everything in [bold]{as_markup(folder)}[/] was already sent to {result.title} "
            f"({as_markup(result.destination)}): {plural(result.events_total, 'event')}"
            + (f" and {plural(result.profiles_total, 'profile')}" if result.profiles_total else "")
            + f", recorded in {journal}. Nothing was sent; give --resend to send it all again.",
            soft_wrap=True,
        )
        return
    profiles = f" and {plural(result.profiles_sent, 'profile')}" if result.profiles_sent else ""
    split = f" ({result.splits:,} split in two)" if result.splits else ""
    console.print(
        f"Sent [bold]{plural(result.events_sent, 'event')}[/]{profiles} from "
        f"{as_markup(folder)} to {result.title} ({as_markup(result.destination)}) in "
        f"{seconds:,.1f} s: {plural(result.batches, 'batch')}{split}, "
        f"{plural(result.retries, 'retry')}.",
        soft_wrap=True,
    )
    before = result.events_before + result.profiles_before
    if before:
        console.print(
            f"{plural(before, 'item')} sent by an earlier --send "
            f"{'was' if before == 1 else 'were'} skipped (recorded in {journal}).",
            soft_wrap=True,
        )
    where = _WHERE[result.tool].format(first=_day(result.first_ms), last=_day(result.last_ms))
    console.print(where, soft_wrap=True)


def send_command(
    args: argparse.Namespace, folder: str, program: tuple[str, ...] = SCRIPT_WORDS
) -> str:
    """The command that sends the run in ``folder`` (again): ``--send`` with the output folder and
    the send's own flags, no run flag (a run flag would make the run again, into a folder that
    now holds it).  No ``--resend``: sent again, a stopped send continues where it stopped.  The
    key is never printed: a key given with ``--api-key`` is written ``KEY``."""
    words = [*program, "--send", args.send, "--output", folder]
    if args.region is not None:
        words += ["--region", args.region]
    if args.endpoint is not None:
        words += ["--endpoint", args.endpoint]
    if args.api_key is not None:
        words += ["--api-key", "KEY"]
    return shell_join(words)


def say_send_command(
    errors: Console, args: argparse.Namespace, folder: str, program: tuple[str, ...], lead: str
) -> None:
    """``lead``, then the send-only command on a line of its own (never wrapped, so it can be
    copied whole)."""
    if args.api_key is not None:
        lead += " (with your key for KEY)"
    errors.print(f"{printable(lead)}:", soft_wrap=True, highlight=False, markup=False)
    errors.print(
        "  " + send_command(args, folder, program), soft_wrap=True, highlight=False, markup=False
    )


def send_shown(
    args: argparse.Namespace,
    console: Console,
    errors: Console,
    folder: str | None = None,
    program: tuple[str, ...] = SCRIPT_WORDS,
) -> int:
    """Send the run in ``folder`` (given: the run this command just made; default ``--output``)
    as the flags say; show the progress and the summary; return the exit status (0, 1 the send
    stopped, 2 refused, 130 cancelled).  A send that stops says how to send the rest: the
    send-only command, since running a command that made the run again would refuse the folder
    that now holds it."""
    output = folder or args.output
    made_now = folder is not None
    tool = _tool_for(args.send)
    shown = _Shown()
    started = time.monotonic()
    try:
        config = SendConfig(
            output_dir=output,
            tool=tool.name,
            api_key=api_key(args),
            region=args.region,
            endpoint=args.endpoint,
            resend=bool(args.resend),
            now_ms=to_ms(datetime.now(UTC)),
        )
        check_send(config)  # refused before it is announced: a run in another format, say
        console.print(f"Sending [bold]{as_markup(output)}[/] to {tool.title}", soft_wrap=True)
        with _progress_shown(console, tool.title, shown) as progress:
            result = send_run(
                config,
                clock=time.monotonic,
                sleep=time.sleep,
                draw=random.Random().random,
                wall_clock=time.time,
                progress=progress,
            )
    except GeneratorError as error:
        errors.print(f"[bold red]error:[/] {as_markup(str(error))}", soft_wrap=True)
        if isinstance(error, (DeliveryError, OutputError)):
            say_send_command(errors, args, output, program, "To send the rest")
        elif made_now:
            say_send_command(
                errors, args, output, program, f"The run in {output} is complete; to send it"
            )
        return error.exit_status
    except (KeyboardInterrupt, EOFError):
        done = shown.last.items_done if shown.last and shown.last.phase == "sending" else 0
        total = shown.last.items_total if shown.last and shown.last.phase == "sending" else 0
        sent = f": {done:,} of {plural(total, 'item')} delivered" if total else ""
        errors.print(f"[bold]Cancelled[/]{as_markup(sent)}", soft_wrap=True)
        say_send_command(errors, args, output, program, "To send the rest")
        return EXIT_CANCELLED
    print_send_summary(console, result, time.monotonic() - started, output)
    return EXIT_OK
