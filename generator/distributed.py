"""Chunks generated on a Dask distributed cluster (``--dask ADDRESS``; the ``dask`` extra).

The scheduler gets exactly the chunks a local run makes (boundaries fixed by the number of users
and the run's chunk size alone), and every user draws from streams keyed by the seed and its
index, so a chunk is the same bytes on whichever machine generates it.  Workers write their chunk
files straight into the run's staging folder, so the output folder must be on a filesystem every
worker sees at the same path (NFS, a shared volume); this process then assembles and publishes the
run exactly as a local one.

Progress is reported per finished chunk.  On Ctrl-C the chunks not yet started are cancelled and
the staging folder removed; a chunk already running on a worker finishes or fails on its own, and
cannot publish anything, since only this process publishes.
"""

from __future__ import annotations

import importlib
import re
import threading
from typing import Any

from .chunks import ChunkResult, Job, Report
from .errors import GeneratorError, OutputError, UsageError
from .pool import generate_here, keep_freed_memory

CONNECT_TIMEOUT = "20s"  # how long to wait for the scheduler before giving up
WATCH_SECONDS = 0.5  # how often the cluster's workers are counted while chunks run


class Cluster:
    """A connection to a Dask scheduler (a ``distributed.Client``), closed by :meth:`close`."""

    def __init__(self, client: Any, address: str) -> None:
        self.client = client
        self.address = address

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # closing a client that lost its scheduler must not hide the real error
            pass


# A scheduler address as Dask writes it: an optional protocol, a host and a port.
ADDRESS = re.compile(
    r"(?:(?:tcp|tls|ucx|ws|wss)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}"
)


def check_address(address: str) -> None:
    """Refuse an address that cannot be a scheduler's (``nonsense``) at once, before any question
    or file: Dask itself would try to reach it for 40 seconds and then fail with a traceback."""
    if not ADDRESS.fullmatch(address.strip()):
        raise UsageError(
            f"--dask: {address!r} is not a scheduler address; give one as the scheduler prints "
            f"it, for example tcp://10.0.0.5:8786"
        )


def connect(address: str) -> Cluster:
    """Connect to the scheduler at ``address``, or say why not (exit status 2: nothing written)."""
    check_address(address)
    try:
        dask_distributed = _module()
    except ImportError:
        raise UsageError(
            "--dask needs Dask distributed, which is not installed: "
            "python3 -m pip install 'event-generator[dask]'"
        ) from None
    try:
        client = dask_distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as exc:  # any failure to connect is the same answer: not reachable
        raise UsageError(
            f"--dask: cannot reach a Dask scheduler at {address!r} ({exc}); give its address, "
            f"for example tcp://10.0.0.5:8786"
        ) from None
    return Cluster(client, address)


def _module() -> Any:
    """``distributed``, imported only when a run asks for a cluster (as Any: it has no types)."""
    return importlib.import_module("distributed")


def _chunk_task(job: Job, chunks: range) -> list[ChunkResult]:
    """Runs on a Dask worker: a task's chunks into the shared staging folder."""
    keep_freed_memory()
    return generate_here(job, chunks, _no_report)


def _no_report(users: int, events: int) -> None:
    """Workers on a cluster report when their chunk is done, not during it."""


def run_chunks(cluster: Cluster, job: Job, on_progress: Report) -> dict[int, ChunkResult]:
    """Generate every chunk of ``job`` on the cluster; return the results by chunk.

    A worker that leaves the cluster while the run is on ends the run (exit status 1, naming
    it), as a dead local worker does: Dask would retry its chunk elsewhere, or, with no worker
    left, wait for ever; either way the run would no longer be the one the user watches.
    """
    client = cluster.client
    workers = set(client.scheduler_info()["workers"])
    shared = client.scatter(job, broadcast=True)
    tasks = job.tasks(max(1, len(workers)))
    futures = [client.submit(_chunk_task, shared, task, pure=False) for task in tasks]
    pending = set(futures)
    finished = threading.Event()  # set whenever a chunk ends (or fails)
    for future in futures:
        future.add_done_callback(lambda _future: finished.set())
    results: dict[int, ChunkResult] = {}
    try:
        while pending:
            finished.wait(WATCH_SECONDS)
            finished.clear()
            done = {future for future in pending if future.done()}
            pending -= done
            for future in done:
                for result in future.result():
                    results[result.chunk] = result
                    on_progress(len(job.users_of(result.chunk)), result.stats.events)
            lost = sorted(workers - set(client.scheduler_info()["workers"]))
            if lost and pending:
                raise OutputError(
                    f"the Dask worker {lost[0]} left the cluster at {cluster.address} during the "
                    f"run; the run was stopped and no incomplete file was kept"
                )
    except (GeneratorError, KeyboardInterrupt):
        client.cancel(futures, force=True)
        raise
    except Exception as exc:  # the scheduler gone, a task's own failure: the cluster's errors
        client.cancel(futures, force=True)
        raise OutputError(
            f"the Dask cluster at {cluster.address} failed the run ({type(exc).__name__}: {exc})"
        ) from None
    return results
