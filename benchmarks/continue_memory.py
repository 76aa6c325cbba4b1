"""Peak memory of a new run and of a continue of it, main process and largest worker apart.

A continue once sent every saved user to every worker (103 MB in the main process at 20,000
users); now the saved users are streamed into one part per chunk and each worker reads its own.

    python3 benchmarks/continue_memory.py [--users 20000] [--workers 2]

Each step runs in a fresh process, which prints its own peaks (``getrusage``: the main process,
and the largest of its workers).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEP = """
import resource, sys, time
sys.path.insert(0, {root!r})
import event_generator
started = time.monotonic()
status = event_generator.main({argv!r})
main = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
print(f"{{time.monotonic() - started:.1f}} s, main process peak {{main}} MB, "
      f"largest worker peak {{child}} MB, exit {{status}}")
"""


def step(argv: list[str]) -> str:
    code = STEP.format(root=ROOT, argv=argv)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    examples = os.path.join(ROOT, "examples")
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "run")
        files = ["--events", os.path.join(examples, "events.csv"), "--flows",
                 os.path.join(examples, "flows.csv"), "--lookup",
                 os.path.join(examples, "lookup_table.csv")]  # fmt: skip
        first = [*files, "--users", str(args.users), "--output", out, "--seed", "3",
                 "--end", "2026-11-20", "--workers", str(args.workers)]  # fmt: skip
        print(f"new run, {args.users:,} users:", step(first))
        later = ["--continue", "--output", out, "--end", "2026-11-27", "--workers",
                 str(args.workers)]  # fmt: skip
        print("continue of it, 7 days:", step(later))


if __name__ == "__main__":
    main()
