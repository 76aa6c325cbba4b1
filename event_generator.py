#!/usr/bin/env python3
"""Generate months of realistic product-analytics events from three Google Sheets CSV exports.

This is the terminal front: it gathers the options (flags), makes one call into ``generator``,
and turns a ``GeneratorError`` into one message and an exit status.  Run with ``--help`` for flags.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from generator import (
    EXIT_CANCELLED,
    EXIT_OK,
    GeneratorError,
    ProgressUpdate,
    RunConfig,
    UsageError,
    generate,
)
from generator.clock import iso, parse_iso, to_ms
from generator.streams import new_seed

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "examples")


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is a UsageError (one message, exit 2) instead of its own exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="event_generator.py",
        description="Turn events, flows and lookup-table CSVs into realistic analytics events.",
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
        "--days", metavar="N", default="90", help="backfill window in days (default: 90)"
    )
    parser.add_argument(
        "--workers", metavar="N", default=None, help="worker processes (default: number of cores)"
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="generate on a Dask cluster (scheduler address; the output folder must be shared)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace a previous run in the output folder"
    )
    return parser


def whole_number(text: str, what: str, minimum: int = 1) -> int:
    """Parse a flag or an answer as a whole number of at least ``minimum``, or say why not."""
    cleaned = text.strip().replace("_", "").replace(",", "")
    if not cleaned.isdigit():
        raise UsageError(f"{what} must be a whole number of at least {minimum}, not {text!r}")
    value = int(cleaned)
    if value < minimum:
        raise UsageError(f"{what} must be a whole number of at least {minimum}, not {text!r}")
    return value


def end_time(text: str | None, now: datetime) -> int:
    if text is None:
        return to_ms(now)
    try:
        return parse_iso(text)
    except ValueError:
        raise UsageError(
            f"--end must be an ISO 8601 date or time such as 2026-11-29 or 2026-11-29T18:00:00Z, "
            f"not {text!r}"
        ) from None


def config_from_args(args: argparse.Namespace, now: datetime) -> RunConfig:
    missing = [
        flag
        for flag, value in (
            ("--users", args.users),
            ("--events", args.events),
            ("--flows", args.flows),
            ("--lookup", args.lookup),
            ("--output", args.output),
        )
        if value is None
    ]
    if missing:
        raise UsageError(f"missing {', '.join(missing)}: give every one of them (see --help)")
    return RunConfig(
        events_path=args.events,
        flows_path=args.flows,
        lookup_path=args.lookup,
        users=whole_number(args.users, "--users"),
        output_dir=args.output,
        seed=whole_number(args.seed, "--seed", 0) if args.seed is not None else new_seed(),
        end_ms=end_time(args.end, now),
        days=whole_number(args.days, "--days"),
        workers=whole_number(args.workers, "--workers") if args.workers else (os.cpu_count() or 1),
        replace=args.force,
        dask=args.dask,
    )


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        args = build_parser().parse_args(argv)
        config = config_from_args(args, datetime.now(UTC))
        last = [0]

        def progress(update: ProgressUpdate) -> None:
            step = max(1, update.users_total // 10)
            if update.users_done // step > last[0] or update.users_done == update.users_total:
                last[0] = update.users_done // step
                print(
                    f"{update.users_done}/{update.users_total} users, {update.events:,} events",
                    flush=True,
                )

        result = generate(config, progress=progress)
    except GeneratorError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        print("Cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    stats = result.stats
    print(
        f"Wrote {stats.events:,} events for {stats.users:,} users into {config.output_dir} "
        f"(seed {config.seed}, end {iso(config.end_ms)}); {stats.churned:,} users churned."
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
