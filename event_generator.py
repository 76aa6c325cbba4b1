#!/usr/bin/env python3
"""Generate months of realistic product-analytics events from three Google Sheets CSV exports.

This is the terminal front: it gathers the options (flags, then a replay file, then questions),
builds one frozen ``RunConfig``, makes one call into ``generator``, and turns a ``GeneratorError``
or Ctrl-C into one message and an exit status.  The questions, the progress display and the
summary live in ``frontend/``.  Run with ``--help`` for the flags.
"""

from __future__ import annotations

import signal
import sys

if __name__ == "__main__":
    # SIGTERM as Python treats Ctrl-C (a KeyboardInterrupt) from the first line on: loading the
    # libraries takes about 0.3 s, and until main() installs its own handlers the default action
    # would end the process with status 143 and no word.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

try:
    import argparse
    import os
    import time
    from collections.abc import Sequence
    from datetime import UTC, datetime
    from typing import Any

    from rich.console import Console

    from frontend.options import Plan, cost_line, gather
    from frontend.progress import progress_shown
    from frontend.summary import as_markup, print_summary
    from frontend.words import plural
    from generator import (
        EXIT_CANCELLED,
        EXIT_OK,
        FORMAT_NAMES,
        FORMATS,
        TOOLS,
        ContinueConfig,
        FolderState,
        GeneratorError,
        RunResult,
        UsageError,
        carry_on,
        check_inputs,
        check_names,
        generate,
        inspect,
        iso,
        load_events,
        report_lines,
    )
except KeyboardInterrupt:  # Ctrl-C while the libraries load: the same word, no traceback
    sys.stderr.write("Cancelled\n")
    sys.exit(130)

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is a UsageError (one message, exit 2) instead of its own exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=COMMAND if os.path.basename(sys.argv[0] if sys.argv else "") == COMMAND else SCRIPT,
        description="Turn events, flows and lookup-table CSVs into realistic analytics events. "
        "In a terminal, every value not given by a flag is asked (Enter accepts the default); "
        "without one, missing flags are an error (exit status 2).",
    )
    parser.add_argument(
        "--events", metavar="PATH", help="events CSV (shardkeys, event, properties)"
    )
    parser.add_argument("--flows", metavar="PATH", help="flows CSV (one flow per row)")
    parser.add_argument("--lookup", metavar="PATH", help="lookup-table CSV (user attributes)")
    parser.add_argument(
        "--users", metavar="N", help="how many primary shard keys (users) to generate"
    )
    parser.add_argument("--output", metavar="DIR", help="output folder")
    parser.add_argument("--seed", metavar="N", help="random seed (default: chosen and shown)")
    parser.add_argument(
        "--end", metavar="TIMESTAMP", help="end time, ISO 8601 (default: now); no event is after it"
    )
    parser.add_argument(
        "--allow-future",
        action="store_true",
        help="accept an --end in the future (refused by default: the tools reject or hide "
        "events from the future)",
    )
    parser.add_argument("--days", metavar="N", help="backfill window in days (default: 90)")
    parser.add_argument(
        "--workers", metavar="N", default=None, help="worker processes (default: number of cores)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace a previous run (or the remains of an incomplete one) in the output folder; "
        "also run when the estimate says the run will not fit on the disk",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only load and check --events, --flows and --lookup, show what they hold, and exit",
    )
    parser.add_argument(
        "--replay",
        metavar="PATH",
        help="repeat a run: its config/run.json (or its output folder); flags given override it",
    )
    parser.add_argument(
        "--format",
        choices=list(FORMAT_NAMES),
        default=None,
        help="events file format (default: json; continuing: as the run was written)",
    )
    parser.add_argument(
        "--gzip", action="store_true", default=None, help="gzip-compress every events file"
    )
    parser.add_argument(
        "--max-file-mb",
        metavar="MB",
        default=None,
        help="start a new events file before one passes this size (default: 256)",
    )
    parser.add_argument(
        "--continue",
        dest="continue_run",
        action="store_true",
        help="continue the run in --output from its end to --end (default: now)",
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="generate on a Dask cluster (scheduler address; the output folder must be shared)",
    )
    # --send: upload a finished run to an analytics tool (frontend/send.py, generator/delivery).
    # The keys' variables and the regions are each tool's own (delivery.tools), named once there.
    keys = ", ".join(f"${tool.env}" for tool in TOOLS.values())
    regions = sorted({region for tool in TOOLS.values() for region in tool.hosts})
    only = {
        region: [tool.title for tool in TOOLS.values() if region in tool.hosts]
        for region in regions
    }
    partial = "; ".join(
        f"{region}: {', '.join(names)} only"
        for region, names in only.items()
        if len(names) < len(TOOLS)
    )
    parser.add_argument(
        "--send",
        choices=list(TOOLS),
        help="upload the run to this tool: after making it, or the run already in --output when "
        "no other run flag is given (see README, Sending a run to a tool)",
    )
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"the tool's key for --send (default: the tool's variable, {keys}, which keeps it "
        "out of your shell history); never written to a file",
    )
    parser.add_argument(
        "--region",
        choices=regions,
        help=f"the tool's data region for --send (default: us; {partial})",
    )
    parser.add_argument(
        "--endpoint", metavar="URL", help="--send to this base URL (self-hosted PostHog, a proxy)"
    )
    parser.add_argument(
        "--resend", action="store_true", help="--send everything again, even what was delivered"
    )
    return parser


def check_files(args: argparse.Namespace) -> int:
    """``--check``: show what the three files hold, or refuse them (exit status 0 or 2)."""
    missing = [f"--{name}" for name in ("events", "flows", "lookup") if getattr(args, name) is None]
    if missing:
        raise UsageError(f"--check needs {', '.join(missing)}: give the three files (see --help)")
    report = check_inputs(args.events, args.flows, args.lookup)
    if args.format:  # a column the chosen format sets itself would be refused by the run
        check_names(FORMATS[args.format], load_events(args.events)[0])
    lines = report_lines(report)
    try:
        print("\n".join(lines), flush=True)
    except BrokenPipeError:  # piped into `head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def _interrupt(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM: interrupt once, then ignore both, so that a second Ctrl-C cannot cut
    short the clean-up of the first (the staging folder is being removed)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


COMMAND = "event-generator"  # the installed command ([project.scripts])
SCRIPT = "event_generator.py"


def _program() -> tuple[str, ...]:
    """The words that start this program again, for the commands the summary prints: the
    installed command, or ``python3`` and this script as it was started
    (``../tool/event_generator.py``)."""
    name = sys.argv[0] if sys.argv else ""
    if os.path.basename(name) == COMMAND:
        return (COMMAND,)
    if os.path.basename(name) != SCRIPT:
        return ("python3", SCRIPT)  # called as a function (tests)
    relative = os.path.relpath(name)
    return ("python3", name if relative.startswith("..") else relative)


def _is_terminal(stream: object) -> bool:
    """True when ``stream`` is an open terminal (a closed or missing one is not)."""
    try:
        return bool(stream is not None and stream.isatty())  # type: ignore[attr-defined]
    except (ValueError, OSError):
        return False


class _Console(Console):
    """A console whose reader may go away (``| head``): the run goes on, its lines go nowhere.

    rich's default exits with status 1 on a broken pipe, which would throw away a run that was
    generating data; the data matters more than the log.
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self.file.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        finally:
            os.close(devnull)


def _announcement(plan: Plan) -> str:
    """The line printed before generating: what, where, with which seed."""
    config = plan.config
    if isinstance(config, ContinueConfig):
        where = as_markup(config.output_dir)
        return f"Continuing the run in [bold]{where}[/] up to {iso(config.end_ms)}"
    chosen = " (chosen; give --seed to fix it)" if plan.seed_chosen else ""
    replacing = ""
    if config.replace:  # said only when there is something there to replace
        there = inspect(config.output_dir).state
        if there is FolderState.HOLDS_RUN:
            replacing = " (replacing the run there)"
        elif there is FolderState.INCOMPLETE:
            replacing = " (replacing the remains of an incomplete run there)"
    return (
        f"Generating [bold]{plural(config.users, 'user')}[/] into "
        f"[bold]{as_markup(config.output_dir)}[/]{replacing}: seed {config.seed}{chosen}, "
        f"{plural(config.days, 'day')} up to {iso(config.end_ms)}"
    )


def _run(plan: Plan, progress: Any) -> RunResult:
    """The one call into the core: a new run, or a continue."""
    if isinstance(plan.config, ContinueConfig):
        return carry_on(plan.config, progress=progress)
    return generate(plan.config, product=plan.product, progress=progress)


def main(argv: Sequence[str] | None = None) -> int:
    """Gather the options, run, report; return the exit status."""
    handlers = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _main(argv)
    finally:
        # Put the handlers back (main is called from tests too), unless an interrupt came: then a
        # Ctrl-C pressed again while the process exits stays ignored.
        if signal.getsignal(signal.SIGINT) is _interrupt:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)


def _main(argv: Sequence[str] | None) -> int:
    # Started with standard output or error closed (``1>&-``): write those lines nowhere.
    console = _Console(file=sys.stdout or open(os.devnull, "w"), highlight=False)
    errors = _Console(file=sys.stderr or open(os.devnull, "w"), highlight=False)
    # Questions need a terminal to read from and one to draw on; with standard output sent to a
    # file, they are drawn on standard error, which then also shows the answers' messages.
    asked_on = console if _is_terminal(sys.stdout) else errors
    interactive = _is_terminal(sys.stdin) and _is_terminal(asked_on.file)
    prompt_kwargs: dict[str, Any] = {}
    if interactive and asked_on is not console:
        from prompt_toolkit.output import create_output

        prompt_kwargs["output"] = create_output(stdout=sys.stderr)
    try:
        args = build_parser().parse_args(argv)
        if args.check:
            return check_files(args)
        if args.send is not None:  # checked before any question; no run flag: send --output
            from frontend.send import prepare_send, send_shown

            if prepare_send(args):
                return send_shown(args, console, errors, program=_program())
        plan = gather(
            args,
            lambda: datetime.now(UTC),
            interactive=interactive,
            console=asked_on,
            timer=time.perf_counter,
            **prompt_kwargs,
        )
        for warning in plan.warnings:
            errors.print(f"[yellow]warning:[/] {as_markup(warning)}", soft_wrap=True)
        cost = cost_line(plan)
        if cost is not None:
            console.print(as_markup(cost), soft_wrap=True, highlight=False)
        console.print(_announcement(plan), soft_wrap=True)
        started = time.monotonic()
        with progress_shown(console, plan.users) as progress:
            result = _run(plan, progress)
        if isinstance(plan.config, ContinueConfig):  # a continue loaded its files in the core
            for warning in result.product.warnings:
                errors.print(f"[yellow]warning:[/] {as_markup(warning)}", soft_wrap=True)
    except GeneratorError as error:
        errors.print(f"[bold red]error:[/] {as_markup(str(error))}", soft_wrap=True)
        return error.exit_status
    except (KeyboardInterrupt, EOFError):
        errors.print("[bold]Cancelled[/]")
        return EXIT_CANCELLED
    try:
        print_summary(console, result, plan.seed_chosen, time.monotonic() - started, _program())
    except KeyboardInterrupt:
        where = as_markup(result.config.output_dir)
        errors.print(f"[bold]Cancelled[/] (the run in {where} is complete)", soft_wrap=True)
        if args.send is not None:  # this command again would refuse the folder: the send alone
            from frontend.send import say_send_command

            say_send_command(errors, args, result.config.output_dir, _program(), "To send it")
        return EXIT_CANCELLED
    if args.send is not None:  # the run is complete: send it (frontend/send.py)
        return send_shown(args, console, errors, result.config.output_dir, _program())
    return EXIT_OK


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # in the instant before main() handles it itself
        sys.stderr.write("Cancelled\n")
        sys.exit(130)
