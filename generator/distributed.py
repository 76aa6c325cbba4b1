"""Chunks generated on a Dask distributed cluster (``--dask ADDRESS``; the ``dask`` extra).

The scheduler gets exactly the chunks a local run makes (``CHUNK_USERS`` users each, boundaries
fixed by the number of users alone), and every user draws from streams keyed by the seed and its
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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import GeneratorError, OutputError, UsageError

if TYPE_CHECKING:
    from .runner import _Job
    from .walker import WalkStats

CONNECT_TIMEOUT = "20s"  # how long to wait for the scheduler before giving up


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


def connect(address: str) -> Cluster:
    """Connect to the scheduler at ``address``, or say why not (exit status 2: nothing written)."""
    try:
        dask_distributed = _module()
    except ImportError:
        raise UsageError(
            "--dask needs Dask distributed, which is not installed: "
            "python3 -m pip install 'event-generator[dask]'"
        ) from None
    try:
        client = dask_distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise UsageError(
            f"--dask: cannot reach a Dask scheduler at {address!r} ({exc}); give its address, "
            f"for example tcp://10.0.0.5:8786"
        ) from None
    return Cluster(client, address)


def _module() -> Any:
    """``distributed``, imported only when a run asks for a cluster (as Any: it has no types)."""
    return importlib.import_module("distributed")


def _chunk_task(job: _Job, chunk: int) -> tuple[int, WalkStats, list[tuple[str, int]]]:
    """Runs on a Dask worker: one chunk into the shared staging folder."""
    from .runner import _generate_chunk, keep_freed_memory
    from .writers import output_error

    keep_freed_memory()
    try:
        stats, files = _generate_chunk(job, chunk, _no_report)
    except OSError as exc:
        raise output_error(job.staging, exc) from None
    return chunk, stats, files


def _no_report(users: int, events: int) -> None:
    """Workers on a cluster report when their chunk is done, not during it."""


def run_chunks(
    cluster: Cluster, job: _Job, on_progress: Callable[[int, int], None]
) -> tuple[WalkStats, list[tuple[str, int]]]:
    """Generate every chunk of ``job`` on the cluster; return the merged stats and event files."""
    from .runner import CHUNK_USERS, chunk_count, merge_chunks

    client = cluster.client
    chunks = range(chunk_count(job.users))
    shared = client.scatter(job, broadcast=True)
    futures = [client.submit(_chunk_task, shared, chunk, pure=False) for chunk in chunks]
    results: dict[int, tuple[WalkStats, list[tuple[str, int]]]] = {}
    try:
        for future in _module().as_completed(futures, loop=client.loop):
            chunk, stats, files = future.result()
            results[chunk] = (stats, files)
            first = chunk * CHUNK_USERS
            on_progress(min(job.users, first + CHUNK_USERS) - first, stats.events)
    except (GeneratorError, KeyboardInterrupt):
        client.cancel(futures, force=True)
        raise
    except Exception as exc:  # a worker lost, the scheduler gone: the cluster's own errors
        client.cancel(futures, force=True)
        raise OutputError(
            f"the Dask cluster at {cluster.address} failed the run ({type(exc).__name__}: {exc})"
        ) from None
    return merge_chunks(job, results)
