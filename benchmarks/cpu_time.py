"""The one timing rule of the micro-benchmarks (keyed_draws.py, line_bytes.py): CPU time, not wall
time, and the best of several runs, so that other work on a shared machine disturbs them less."""

from __future__ import annotations

import time
from collections.abc import Callable


def cpu_seconds(work: Callable[[], object], repeat: int) -> float:
    """The least CPU time ``work`` took over ``repeat`` runs (after one run to warm up)."""
    work()
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best
