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

    from frontend.options import gather
    from frontend.progress import progress_shown
    from frontend.summary import as_markup, print_summary
    from frontend.values import end_time, whole_number
    from generator import EXIT_CANCELLED, EXIT_OK, GeneratorError, UsageError, generate
    from generator.clock import iso
    from generator.formats import FORMATS
except KeyboardInterrupt:  # Ctrl-C while the libraries load: the same word, no traceback
    sys.stderr.write("Cancelled\n")
    sys.exit(130)

__all__ = ["build_parser", "end_time", "main", "whole_number"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is a UsageError (one message, exit 2) instead of its own exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="event_generator.py",
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
    parser.add_argument("--days", metavar="N", help="backfill window in days (default: 90)")
    parser.add_argument(
        "--workers", metavar="N", default=None, help="worker processes (default: number of cores)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace a previous run (or the remains of an incomplete one) in the output folder",
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
        choices=list(FORMATS),
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
    return parser


def check_files(args: argparse.Namespace) -> int:
    """``--check``: show what the three files hold, or refuse them (exit status 0 or 2)."""
    from generator.check import check_inputs, report_lines

    missing = [f"--{name}" for name in ("events", "flows", "lookup") if getattr(args, name) is None]
    if missing:
        raise UsageError(f"--check needs {', '.join(missing)}: give the three files (see --help)")
    report = check_inputs(args.events, args.flows, args.lookup)
    if args.format:  # a column the chosen format sets itself would be refused by the run
        from generator.csvtext import read_text
        from generator.formats import check_names
        from generator.loaders import parse_events

        check_names(FORMATS[args.format], parse_events(read_text(args.events), args.events))
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


def _program() -> str:
    """This script as it was started (``event_generator.py``, ``../tool/event_generator.py``), for
    the command that repeats a run."""
    name = sys.argv[0] if sys.argv else ""
    if os.path.basename(name) != "event_generator.py":
        return "event_generator.py"  # called as a function (tests)
    return os.path.relpath(name) if not os.path.relpath(name).startswith("..") else name


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


def _remove_if_empty(folder: str) -> None:
    """Remove a folder this run created and left empty (it failed or was cancelled)."""
    try:
        os.rmdir(folder)
    except OSError:
        pass  # not empty, or gone: leave it as it is


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
        plan = gather(
            args, datetime.now(UTC), interactive=interactive, console=asked_on, **prompt_kwargs
        )
        config = plan.config
        for warning in plan.product.warnings if plan.product else ():
            errors.print(f"[yellow]warning:[/] {as_markup(warning)}", soft_wrap=True)
        chosen = " (chosen; give --seed to fix it)" if plan.seed_chosen else ""
        replacing = " (replacing the run there)" if config.replace else ""
        if config.continue_run:
            console.print(
                f"Continuing the run in [bold]{as_markup(config.output_dir)}[/] up to "
                f"{iso(config.end_ms)}",
                soft_wrap=True,
            )
        else:
            console.print(
                f"Generating [bold]{config.users:,}[/] users into "
                f"[bold]{as_markup(config.output_dir)}[/]{replacing}: seed {config.seed}{chosen}, "
                f"{config.days} days up to {iso(config.end_ms)}",
                soft_wrap=True,
            )
        started = time.monotonic()
        new_folder = not os.path.lexists(config.output_dir)
        try:
            with progress_shown(console, config.users) as progress:
                result = generate(config, product=plan.product, progress=progress)
            if plan.product is None:  # a continue loaded its files in the core
                for warning in result.product.warnings:
                    errors.print(f"[yellow]warning:[/] {as_markup(warning)}", soft_wrap=True)
        except BaseException:
            if new_folder:
                _remove_if_empty(config.output_dir)  # the next run's default can be it again
            raise
    except GeneratorError as error:
        errors.print(f"[bold red]error:[/] {as_markup(str(error))}", soft_wrap=True)
        return error.exit_status
    except (KeyboardInterrupt, EOFError):
        errors.print("[bold]Cancelled[/]")
        return EXIT_CANCELLED
    try:
        print_summary(console, result, plan.seed_chosen, time.monotonic() - started, _program())
    except KeyboardInterrupt:
        errors.print(f"[bold]Cancelled[/] (the run in {as_markup(config.output_dir)} is complete)")
        return EXIT_CANCELLED
    return EXIT_OK


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # in the instant before main() handles it itself
        sys.stderr.write("Cancelled\n")
        sys.exit(130)
