"""What one whole run costs: events, wall time, CPU time (the process tree, and the kernel's share),
peak memory of its largest process and bytes written, for any number of users and format.

The README's million-user line (``json`` at a million users, about 80 GB, does not fit the
machine's disk, so that run is ``jsonl --gzip``; a 10,000-user run the same way is its
comparison)::

    python3 benchmarks/run_cost.py --users 1000000 --format jsonl --gzip
    python3 benchmarks/run_cost.py --users 10000 --format jsonl --gzip
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--format", default="json")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--scratch", help="folder for the output (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.scratch) as scratch:
        out = os.path.join(scratch, "out")
        examples = os.path.join(ROOT, "examples")
        command = [
            sys.executable, os.path.join(ROOT, "event_generator.py"),
            "--events", os.path.join(examples, "events.csv"),
            "--flows", os.path.join(examples, "flows.csv"),
            "--lookup", os.path.join(examples, "lookup_table.csv"),
            "--users", str(args.users), "--seed", "1", "--end", "2026-11-29T00:00:00Z",
            "--workers", str(args.workers), "--format", args.format, "--output", out,
            *(["--gzip"] if args.gzip else []),
        ]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        if done.returncode:
            sys.exit(done.stderr)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        written = sum(
            os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(out) for f in files
        )
    found = re.search(r"Wrote ([0-9,]+) events", done.stdout)
    events = int(found.group(1).replace(",", "")) if found else 0
    cpu = usage.ru_utime + usage.ru_stime
    shape = args.format + (" --gzip" if args.gzip else "")
    print(
        f"{args.users:,} users, {args.workers} workers, {shape}: "
        f"{events:,} events in {wall:.1f} s ({events / wall:,.0f} events/s), {cpu:.1f} CPU s "
        f"({usage.ru_stime:.1f} system; {events / cpu:,.0f} events per CPU-second), largest "
        f"process {usage.ru_maxrss // 1024} MB, {written / 1e9:.2f} GB written"
    )


if __name__ == "__main__":
    main()
