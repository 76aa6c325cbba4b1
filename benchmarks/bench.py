#!/usr/bin/env python3
"""Time the generator against the shared naive baseline, whole processes, in one run.

For each number of users, runs ``../shared/bench/naive_baseline.py N out --orjson`` (the yardstick
beside this repository) and then ``event_generator.py`` once per worker count, each as a separate
process timed from start to exit (the last byte written and published), and prints, per run:
events, seconds, events per second, the CPU time of the whole process tree (user and system, every
worker included) and how many cores that is on average (CPU time over wall time: what the run
actually got), events per CPU-second, MB per second, peak memory, and two ratios to the baseline at
the same number of users: of events per second (wall clock) and of events per CPU-second.  The
machine is shared, so speed is only compared within one benchmark run (``--repeat`` keeps the best
of several runs of each), and the ratio per CPU-second is the one that drifts least with the load.

Peak memory counts the whole process tree.  "largest" is the peak resident set of the biggest
single process (``ru_maxrss`` of the children, read by a small wrapper process per run); "tree" is
the sum of every process's own peak (``VmHWM`` of the main process and of each worker, sampled
from /proc while the run goes; it counts pages that forked workers share with the main process
once per process, so it is an upper bound).

    python3 benchmarks/bench.py                          # 1,000, 10,000 and 100,000 users
    python3 benchmarks/bench.py --users 10000 --workers 1,2 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATOR = os.path.join(ROOT, "event_generator.py")
END = "2026-11-29T00:00:00Z"
SEED = 1

# Runs the command given as arguments and prints the largest ru_maxrss (KiB) of its process tree
# and the CPU time (user and system seconds) of the whole tree (every process waited for).
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:], stdout=sys.stdout, stderr=sys.stderr)\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print('MAXRSS', usage.ru_maxrss, file=sys.stderr)\n"
    "print('CPU', usage.ru_utime + usage.ru_stime, usage.ru_stime, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@dataclass
class Result:
    name: str
    users: int
    workers: int | None
    events: int
    seconds: float
    bytes: int
    largest_kib: int
    tree_kib: int
    cpu: float  # user and system seconds of the whole process tree
    system: float  # of which system (the kernel: above all, copying the output into files)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds

    @property
    def events_per_cpu_second(self) -> float:
        return self.events / self.cpu

    @property
    def cores(self) -> float:
        """The cores the run got, on average: CPU time over wall time."""
        return self.cpu / self.seconds

    @property
    def mb_per_second(self) -> float:
        return self.bytes / 1e6 / self.seconds


def find_baseline(explicit: str | None) -> str:
    """``<repo>/../shared/bench/naive_baseline.py``, or the path given; a clear error if absent."""
    candidates = [explicit] if explicit else []
    candidates.append(os.path.join(os.path.dirname(ROOT), "shared", "bench", "naive_baseline.py"))
    for path in candidates:
        if path and os.path.isfile(path):
            return os.path.abspath(path)
    sys.exit(
        "bench: cannot find the baseline naive_baseline.py (looked for "
        + ", ".join(repr(c) for c in candidates if c)
        + "); the shared folder must sit beside this repository, or pass --baseline PATH"
    )


class TreeSampler(threading.Thread):
    """Samples VmHWM (peak resident set) of a process and all its descendants from /proc."""

    def __init__(self, root_pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root = root_pid
        self.interval = interval
        self.peaks: dict[int, int] = {}
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.sample()
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()

    def sample(self) -> None:
        children: dict[int, list[int]] = {}
        try:
            names = os.listdir("/proc")
        except OSError:
            return
        for name in names:
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as handle:
                    stat = handle.read()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(name))
        todo = [self.root]
        while todo:
            pid = todo.pop()
            todo.extend(children.get(pid, ()))
            peak = _vm_hwm(pid)
            if peak:
                self.peaks[pid] = max(self.peaks.get(pid, 0), peak)


def _vm_hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(command: list[str]) -> tuple[float, str, int, int, float, float]:
    """Run ``command`` through the wrapper; return (seconds, its stdout, largest KiB, tree KiB,
    CPU seconds of the tree, of which system seconds)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", _WRAPPER, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = TreeSampler(process.pid)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    sampler.stop()
    if process.returncode != 0:
        sys.exit(f"bench: {' '.join(command)} failed ({process.returncode}):\n{stderr}")
    largest, cpu, system = 0, 0.0, 0.0
    for line in stderr.splitlines():
        if line.startswith("MAXRSS "):
            largest = int(line.split()[1])
        elif line.startswith("CPU "):
            cpu, system = (float(part) for part in line.split()[1:3])
    peaks = [kib for pid, kib in sampler.peaks.items() if pid != process.pid]
    return seconds, stdout, max(largest, *peaks, 0), sum(peaks), cpu, system


def folder_bytes(folder: str) -> int:
    total = 0
    for base, _dirs, names in os.walk(folder):
        total += sum(os.path.getsize(os.path.join(base, n)) for n in names)
    return total


def run_baseline(baseline: str, users: int, scratch: str) -> Result:
    out = os.path.join(scratch, "naive.ndjson")
    seconds, stdout, largest, tree, cpu, system = timed(
        [sys.executable, baseline, str(users), out, "--orjson"]
    )
    events = int(stdout.split()[0])
    size = os.path.getsize(out)
    os.unlink(out)
    return Result("baseline", users, None, events, seconds, size, largest, tree, cpu, system)


def run_generator(
    sheets: str, users: int, workers: int, scratch: str, program: str = GENERATOR
) -> Result:
    out = os.path.join(scratch, "run")
    command = [
        sys.executable,
        program,
        "--events",
        os.path.join(sheets, "events.csv"),
        "--flows",
        os.path.join(sheets, "flows.csv"),
        "--lookup",
        os.path.join(sheets, "lookup_table.csv"),
        "--users",
        str(users),
        "--output",
        out,
        "--seed",
        str(SEED),
        "--end",
        END,
        "--workers",
        str(workers),
    ]
    seconds, _stdout, largest, tree, cpu, system = timed(command)
    with open(os.path.join(out, "config", "run.json"), "rb") as handle:
        events = int(json.load(handle)["events_written"])
    size = folder_bytes(out)
    shutil.rmtree(out)
    name = "generator" if program == GENERATOR else "reference"
    return Result(name, users, workers, events, seconds, size, largest, tree, cpu, system)


def best(results: list[Result]) -> Result:
    return min(results, key=lambda r: r.seconds)


def print_row(result: Result, baseline: Result) -> None:
    workers = "-" if result.workers is None else str(result.workers)
    ratio = result.events_per_second / baseline.events_per_second
    cpu_ratio = result.events_per_cpu_second / baseline.events_per_cpu_second
    print(
        f"| {result.name} | {result.users:,} | {workers} | {result.events:,} | "
        f"{result.seconds:.2f} | {result.events_per_second:,.0f} | {result.cpu:.2f} | "
        f"{result.system:.2f} | "
        f"{result.cores:.2f} | {result.events_per_cpu_second:,.0f} | {result.mb_per_second:.1f} | "
        f"{result.largest_kib / 1024:.0f} | {result.tree_kib / 1024:.0f} | {ratio:.2f} | "
        f"{cpu_ratio:.2f} |",
        flush=True,
    )


def number_list(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def main() -> int:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", default="1000,10000,100000", help="comma-separated user counts")
    parser.add_argument(
        "--workers",
        default=",".join(str(w) for w in sorted({1, cores})),
        help=f"comma-separated worker counts (default: 1 and the number of cores, {cores})",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, the best is kept")
    parser.add_argument(
        "--sheets", default=os.path.join(ROOT, "examples"), help="folder of the three CSVs"
    )
    parser.add_argument("--baseline", help="path of naive_baseline.py (default: ../shared/bench)")
    parser.add_argument(
        "--reference",
        metavar="DIR",
        help="also time the event_generator.py of another checkout (e.g. main), 1 worker",
    )
    parser.add_argument("--scratch", help="folder for the outputs (default: a temporary folder)")
    args = parser.parse_args()
    baseline_path = find_baseline(args.baseline)
    try:
        import orjson  # noqa: F401  (the baseline runs with --orjson)
    except ImportError:
        sys.exit("bench: the baseline needs orjson: python3 -m pip install orjson")
    sizes, worker_counts = number_list(args.users), number_list(args.workers)
    reference = None
    if args.reference:
        reference = os.path.join(os.path.abspath(args.reference), "event_generator.py")
        if not os.path.isfile(reference):
            sys.exit(f"bench: no event_generator.py in {args.reference}")
    scratch = tempfile.mkdtemp(prefix="event-generator-bench-", dir=args.scratch)
    load = " ".join(f"{figure:.2f}" for figure in os.getloadavg())
    print(f"# {cores} cores, load average {load} at the start; {args.sheets}; best of "
          f"{args.repeat}; peak memory in MB; cores: CPU time over wall time")  # fmt: skip
    print(
        "| program | users | workers | events | seconds | events/s | CPU s | of which system "
        "| cores | events/CPU-s | MB/s | peak MB (largest) | peak MB (tree) | ratio "
        "| ratio per CPU-s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    table: dict[tuple[int, int], Result] = {}
    try:
        for users in sizes:
            runs: dict[int | None, list[Result]] = {}
            for _ in range(args.repeat):  # interleaved, so drift in machine load hits all alike
                runs.setdefault(None, []).append(run_baseline(baseline_path, users, scratch))
                if reference:
                    runs.setdefault(0, []).append(
                        run_generator(args.sheets, users, 1, scratch, reference)
                    )
                for workers in worker_counts:
                    runs.setdefault(workers, []).append(
                        run_generator(args.sheets, users, workers, scratch)
                    )
            base = best(runs[None])
            print_row(base, base)
            if reference:
                print_row(best(runs[0]), base)
            for workers in worker_counts:
                table[(users, workers)] = result = best(runs[workers])
                print_row(result, base)
                table[(users, -1)] = base
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    load = " ".join(f"{figure:.2f}" for figure in os.getloadavg())
    print(f"# load average {load} at the end")
    print_targets(table, worker_counts)
    return 0


TARGET_CPU_RATIO = 12.0  # one worker: events per CPU-second over the baseline's
TARGET_EVENTS_PER_SECOND = 1_000_000  # two workers on two free cores, wall clock
TARGET_PEAK_MB = 150  # per process
TARGET_FLAT = 0.10  # events/s at the most users no more than this much below 10,000 users'


def print_targets(table: dict[tuple[int, int], Result], worker_counts: list[int]) -> None:
    """Issue 15's targets, where this run measured what they need."""
    lines = []
    sizes = sorted({users for users, _ in table})
    for users in sizes:
        base = table.get((users, -1))
        one = table.get((users, 1))
        if base is not None and one is not None:
            ratio = one.events_per_cpu_second / base.events_per_cpu_second
            verdict = "ok" if ratio >= TARGET_CPU_RATIO else "MISSED"
            lines.append(
                f"{users:,} users, 1 worker: {ratio:.2f}x the baseline's events per CPU-second "
                f"({one.events_per_cpu_second:,.0f} against {base.events_per_cpu_second:,.0f}), "
                f"target {TARGET_CPU_RATIO:g}x: {verdict}"
            )
        two = table.get((users, 2))
        if two is not None and users >= 10_000:
            verdict = "ok" if two.events_per_second >= TARGET_EVENTS_PER_SECOND else "MISSED"
            lines.append(
                f"{users:,} users, 2 workers: {two.events_per_second:,.0f} events/s on "
                f"{two.cores:.2f} cores (CPU time over wall time), target "
                f"{TARGET_EVENTS_PER_SECOND:,}: {verdict}"
            )
    for (users, workers), run in sorted(table.items()):
        if workers > 0:
            verdict = "ok" if run.largest_kib < TARGET_PEAK_MB * 1024 else "MISSED"
            lines.append(
                f"{users:,} users, {workers} worker(s): peak {run.largest_kib / 1024:.0f} MB in "
                f"the largest process ({run.tree_kib / 1024:.0f} MB the tree), target < "
                f"{TARGET_PEAK_MB} MB per process: {verdict}"
            )
    largest = max(sizes, default=0)
    for workers in worker_counts:
        if largest > 10_000 and (10_000, workers) in table and (largest, workers) in table:
            small, big = table[(10_000, workers)], table[(largest, workers)]
            for what, before, after in (
                ("events/s", small.events_per_second, big.events_per_second),
                ("events/CPU-s", small.events_per_cpu_second, big.events_per_cpu_second),
            ):
                change = after / before - 1
                verdict = "ok" if change >= -TARGET_FLAT else "MISSED"
                lines.append(
                    f"{largest:,} vs 10,000 users, {workers} worker(s): {what} {change:+.1%}, "
                    f"target no more than {TARGET_FLAT:.0%} lower: {verdict}"
                )
            user_small = small.events / (small.cpu - small.system)
            user_big = big.events / (big.cpu - big.system)
            lines.append(
                f"{largest:,} vs 10,000 users, {workers} worker(s): events per user-mode "
                f"CPU-second {user_big / user_small - 1:+.1%} (system time "
                f"{small.system:.1f} s and {big.system:.1f} s: the kernel writing "
                f"{big.bytes / 1e9:.1f} GB)"
            )
    for line in lines:
        print(line)


if __name__ == "__main__":
    sys.exit(main())
