"""A whole run: users cut into chunks, chunks generated (here or in worker processes), the staged
output assembled and published.

Chunk boundaries depend only on the number of users (``CHUNK_USERS``), never on the number of
workers, and every user's draws come from streams keyed by the seed and the user's index, so the
output is byte-identical whatever ``workers`` is.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue as queue_module
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from . import continuation, distributed, formats, output
from .clock import formatter, iso
from .errors import UsageError
from .limits import check_window
from .loaders import load_product
from .params import MODEL_VERSION, Params
from .spec import Product
from .users import Population, UserState, flow_names
from .walker import WRITE_ALL_MS, Walker, WalkStats
from .writers import AtomicFile, EventFiles, csv_rows, output_error

CHUNK_USERS = (
    1000  # users per chunk: one events file each; fixed so output never depends on workers
)
FLUSH_LINES = 4_000  # events buffered before a write (~1.3 MB); bounds memory per worker
PROGRESS_USERS = 100  # a worker reports progress after this many users
VERSION = "0.1.0"
DEFAULT_MAX_FILE_MB = 256.0  # an events file is rotated before its content passes this
MB = 1_000_000


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run's output (plus ``workers``, which never changes it)."""

    events_path: str
    flows_path: str
    lookup_path: str
    users: int
    output_dir: str
    seed: int
    end_ms: int
    days: int = 90
    workers: int = 1
    replace: bool = False
    format: str | None = None  # one of formats.FORMATS; None: json (or, continuing, as recorded)
    gzip: bool | None = None  # compress events files; None: off (or, continuing, as recorded)
    max_file_mb: float | None = None  # rotate events files at this size; None: 256
    continue_run: bool = False  # continue the run in output_dir to end_ms (see continuation)
    dask: str | None = None  # a Dask scheduler's address: generate the chunks on its workers

    def check(self) -> None:
        if self.format is not None and self.format not in formats.FORMATS:
            raise UsageError(
                f"unknown format {self.format!r}; choose one of {', '.join(formats.FORMATS)}"
            )
        if self.max_file_mb is not None and not self.max_file_mb > 0:
            raise UsageError(f"the file size limit must be above 0 MB, not {self.max_file_mb}")
        if self.workers < 1:
            raise UsageError(f"the number of workers must be at least 1, not {self.workers}")
        if self.continue_run:
            return  # the rest comes from the run being continued
        if self.users < 1:
            raise UsageError(
                f"the number of users must be a whole number of at least 1, not {self.users}"
            )
        if self.days < 1:
            raise UsageError(f"the backfill window must be at least 1 day, not {self.days}")
        if self.seed < 0:
            raise UsageError(f"the seed must be a whole number of 0 or more, not {self.seed}")
        check_window(self.seed, self.days, self.end_ms)


@dataclass(frozen=True)
class ProgressUpdate:
    users_done: int
    users_total: int
    events: int


ProgressCallback = Callable[[ProgressUpdate], None]


@dataclass
class RunResult:
    config: RunConfig
    product: Product
    stats: WalkStats
    files: list[tuple[str, int]] = field(default_factory=list)  # (path relative to output, bytes)


@dataclass(frozen=True)
class _Job:
    """What a worker needs to generate any chunk; sent once per worker."""

    product: Product
    params: Params
    seed: int
    end_ms: int
    users: int
    staging: str
    format: str = formats.DEFAULT_FORMAT
    compress: bool = False
    max_bytes: int = int(DEFAULT_MAX_FILE_MB * MB)
    run_number: int = 0  # 0 for a first run; continuations count from 1
    previous: Sequence[dict[str, Any]] = ()  # saved states of the users a continue walks on
    since_ms: int = WRITE_ALL_MS  # a continue writes only events after this (its end, less 1 ms)
    new_window_ms: int | None = None  # a continue creates its new users over this window


def run_prefix(run_number: int) -> str:
    """File name prefix of a run: none for the first, ``run-NNN-`` for continuations."""
    return f"run-{run_number:03d}-" if run_number else ""


# glibc's mallopt parameters: keep freed memory in the heap instead of returning it at once.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_KEEP_FREED_BYTES = 32 << 20


def keep_freed_memory() -> None:
    """Let this process reuse the memory of each written batch instead of faulting it in anew.

    Every batch of lines is joined and encoded into a few MB that are freed right after the write.
    glibc gives such blocks back to the system at once and the next batch faults them in again,
    page by page: about 200,000 page faults and 15% of a run's time.  Keeping up to 32 MB of freed
    memory in the heap removes nearly all of them (README, Performance).  Elsewhere than on glibc
    this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt(_M_MMAP_THRESHOLD, _KEEP_FREED_BYTES // 2)
    mallopt(_M_TRIM_THRESHOLD, _KEEP_FREED_BYTES)


def chunk_count(users: int) -> int:
    return (users + CHUNK_USERS - 1) // CHUNK_USERS


def _generate_chunk(
    job: _Job, chunk: int, report: Callable[[int, int], None]
) -> tuple[WalkStats, list[tuple[str, int]]]:
    """Generate users of one chunk into the staging folder; return their stats and event files."""
    product = job.product
    population = Population(product, job.params, job.seed, job.end_ms, job.new_window_ms)
    fmt = formats.FORMATS[job.format]
    encoder = formats.encoder_for(job.format, product, job.seed)
    walker = Walker(product, job.params, job.seed, job.end_ms, encoder)
    stats = WalkStats.for_product(product)
    events = EventFiles(
        os.path.join(job.staging, "events"),
        f"{run_prefix(job.run_number)}part-{chunk:05d}",
        fmt.extension,
        fmt.array,
        job.compress,
        job.max_bytes,
    )
    profiles: list[UserState] = []
    users_file = AtomicFile(os.path.join(job.staging, "parts", f"users-{chunk:05d}.json"))
    lookup_file = AtomicFile(os.path.join(job.staging, "parts", f"lookup-{chunk:05d}.csv"))
    lookup_names = tuple(a.name for a in product.lookup.attributes)
    secondary_names = product.events.secondary_keys
    names = (lookup_names, secondary_names, flow_names(product))
    lines: list[str] = []
    user_entries: list[bytes] = []
    lookup_rows: list[list[str]] = []
    first = chunk * CHUNK_USERS
    last = min(job.users, first + CHUNK_USERS)
    reported_users = reported_events = 0
    try:
        for index in range(first, last):
            if index < len(job.previous):
                user = UserState.from_json(job.previous[index], *names)
            else:
                user = population.create(index)
                profiles.append(user)
            walker.simulate(user, lines, stats, job.since_ms)
            if len(lines) >= FLUSH_LINES:
                events.write(lines)
                lines.clear()
            user_entries.append(orjson.dumps(user.to_json(*names)))
            lookup_rows.append([user.user_id, *user.lookup])
            done = index + 1 - first
            if done % PROGRESS_USERS == 0:
                report(done - reported_users, stats.events - reported_events)
                reported_users, reported_events = done, stats.events
        events.write(lines)
        users_file.write(b",\n".join(user_entries))
        users_file.commit()
        lookup_file.write(csv_rows(lookup_rows))
        lookup_file.commit()
        if fmt.profiles is not None:
            profiles_file = AtomicFile(os.path.join(job.staging, "parts", f"profiles-{chunk:05d}"))
            entries = formats.profile_lines(fmt.profiles, product, job.seed, profiles)
            profiles_file.write("".join(entry + "\n" for entry in entries).encode())
            profiles_file.commit()
        written = events.close()
    except BaseException:
        events.abort()
        users_file.abort()
        lookup_file.abort()
        raise
    report(last - first - reported_users, stats.events - reported_events)
    return stats, [(os.path.join("events", name), size) for name, size in written]


# -- worker processes ------------------------------------------------------------------------------

_worker_job: _Job | None = None
_worker_queue: Any = None


def _die_with_parent(parent: int) -> None:
    """Make a worker die when the run's process dies, even by SIGKILL (Linux ``PR_SET_PDEATHSIG``).

    Without it, workers of a killed run live on, blocked forever or still writing into a staging
    folder that the next run has replaced.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: workers of a killed run end when they next find the pool gone
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _init_worker(job: _Job, progress_queue: Any, parent: int) -> None:
    global _worker_job, _worker_queue
    _die_with_parent(parent)
    # Ctrl-C is the parent's to handle: it stops the pool and cleans up; workers just stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The front turns SIGTERM into an interrupt; a worker must simply die when the pool ends it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    keep_freed_memory()
    _worker_job, _worker_queue = job, progress_queue


def _worker_report(users: int, events: int) -> None:
    _worker_queue.put((users, events))


def _worker_chunk(chunk: int) -> tuple[int, WalkStats, list[tuple[str, int]]]:
    assert _worker_job is not None
    try:
        stats, files = _generate_chunk(_worker_job, chunk, _worker_report)
    except OSError as exc:
        raise output_error(_worker_job.staging, exc) from None
    return chunk, stats, files


def _run_chunks(
    job: _Job, workers: int, on_progress: Callable[[int, int], None]
) -> tuple[WalkStats, list[tuple[str, int]]]:
    chunks = range(chunk_count(job.users))
    results: dict[int, tuple[WalkStats, list[tuple[str, int]]]] = {}
    if workers == 1 or len(chunks) == 1:
        keep_freed_memory()
        for chunk in chunks:
            results[chunk] = _generate_chunk(job, chunk, on_progress)
    else:
        formatter()  # built once here, shared by the forked workers instead of built by each
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        progress_queue = context.Queue()
        with context.Pool(
            min(workers, len(chunks)), _init_worker, (job, progress_queue, os.getpid())
        ) as pool:
            pending = [pool.apply_async(_worker_chunk, (chunk,)) for chunk in chunks]
            while pending:
                try:
                    users, events = progress_queue.get(timeout=0.1)
                    on_progress(users, events)
                except queue_module.Empty:
                    pass
                still = []
                for result in pending:
                    if result.ready():
                        chunk, chunk_stats, chunk_files = result.get()
                        results[chunk] = (chunk_stats, chunk_files)
                    else:
                        still.append(result)
                pending = still
            pool.close()
            pool.join()
            while True:
                try:
                    users, events = progress_queue.get_nowait()
                except queue_module.Empty:
                    break
                on_progress(users, events)
    return merge_chunks(job, results)


def merge_chunks(
    job: _Job, results: dict[int, tuple[WalkStats, list[tuple[str, int]]]]
) -> tuple[WalkStats, list[tuple[str, int]]]:
    """The chunks' stats added up and their files listed, in chunk order (not finishing order)."""
    total = WalkStats.for_product(job.product)
    written: list[tuple[str, int]] = []
    for chunk in range(chunk_count(job.users)):
        total.merge(results[chunk][0])
        written.extend(results[chunk][1])
    return total, written


# -- assembling the run ----------------------------------------------------------------------------


def _concatenate(parts: list[str], target: AtomicFile, separator: bytes) -> None:
    for number, part in enumerate(parts):
        if number:
            target.write(separator)
        with open(part, "rb") as handle:
            while block := handle.read(1 << 20):
                target.write(block)


def _assemble(job: _Job, config: RunConfig, record: dict[str, Any]) -> list[tuple[str, int]]:
    """Join the chunks' user states and lookup rows; write run.json; return the files written."""
    parts = os.path.join(job.staging, "parts")
    chunks = range(chunk_count(job.users))
    written: list[tuple[str, int]] = []

    users_path = os.path.join("config", "user_id_list.json")
    users = AtomicFile(os.path.join(job.staging, users_path))
    users.write(b"[\n")
    _concatenate([os.path.join(parts, f"users-{c:05d}.json") for c in chunks], users, b",\n")
    users.write(b"\n]\n")
    users.commit()
    written.append((users_path, users.size))

    lookup = job.product.lookup
    lookup_path = os.path.join("lookup_table", f"{lookup.name}.csv")
    table = AtomicFile(os.path.join(job.staging, lookup_path))
    table.write(csv_rows([[job.product.events.primary_key, *(a.name for a in lookup.attributes)]]))
    _concatenate([os.path.join(parts, f"lookup-{c:05d}.csv") for c in chunks], table, b"")
    table.commit()
    written.append((lookup_path, table.size))

    kind = formats.FORMATS[job.format].profiles
    if kind is not None and job.users > len(job.previous):  # only users new in this run
        profiles_path = os.path.join(
            "lookup_table", f"{run_prefix(job.run_number)}profiles-{kind}.jsonl"
        )
        profiles = AtomicFile(os.path.join(job.staging, profiles_path))
        _concatenate([os.path.join(parts, f"profiles-{c:05d}") for c in chunks], profiles, b"")
        profiles.commit()
        written.append((profiles_path, profiles.size))

    run_path = output.RUN_FILE
    run = AtomicFile(os.path.join(job.staging, run_path))
    run.write(orjson.dumps(record, option=orjson.OPT_INDENT_2) + b"\n")
    run.commit()
    written.append((run_path, run.size))
    return written


def run_record(config: RunConfig, stats: WalkStats) -> dict[str, Any]:
    """``config/run.json``: the answers, seed and end time that repeat this run exactly.

    It holds nothing that depends on the machine or on the number of workers, so two runs with
    the same inputs, seed and end time write the same bytes.
    """
    record: dict[str, Any] = {
        "generator": f"event-generator {VERSION}",
        "model": MODEL_VERSION,
        "events": os.path.abspath(config.events_path),
        "flows": os.path.abspath(config.flows_path),
        "lookup": os.path.abspath(config.lookup_path),
        "users": config.users,
        "seed": config.seed,
        "end": iso(config.end_ms),
        "days": config.days,
        "format": config.format or formats.DEFAULT_FORMAT,
        "events_written": stats.events,
    }
    # Recorded only when not the default, so that a default run's run.json stays as it was.
    if config.gzip:
        record["gzip"] = True
    if config.max_file_mb is not None and config.max_file_mb != DEFAULT_MAX_FILE_MB:
        record["max_file_mb"] = config.max_file_mb
    return record


def generate(
    config: RunConfig,
    product: Product | None = None,
    progress: ProgressCallback | None = None,
    params: Params | None = None,
) -> RunResult:
    """Generate a run as ``config`` describes; the one call the front makes.

    Raises a :class:`GeneratorError` for anything the user can fix; on any failure or interrupt the
    output folder is left as it was (apart from a staging folder that is removed when possible).
    With ``config.continue_run`` the run in ``config.output_dir`` is continued to ``end_ms``
    instead (see ``continuation``).
    """
    config.check()
    previous: continuation.Previous | None = None
    if config.continue_run:
        previous = continuation.load_previous(config.output_dir)
        config = continuation.continued_config(config, previous, DEFAULT_MAX_FILE_MB)
        check_window(config.seed, config.days, config.end_ms)
    if product is None:
        product = load_product(config.events_path, config.flows_path, config.lookup_path)
    params = params or Params(backfill_days=config.days)
    fmt_name = config.format or formats.DEFAULT_FORMAT
    formats.check_names(formats.FORMATS[fmt_name], product.events)
    job = _Job(
        product,
        params,
        config.seed,
        config.end_ms,
        config.users,
        "",
        format=fmt_name,
        compress=bool(config.gzip),
        max_bytes=max(1, int((config.max_file_mb or DEFAULT_MAX_FILE_MB) * MB)),
    )
    new_users = 0
    if previous is not None:
        continuation.check_users(previous, product, config.output_dir)
        if config.end_ms == previous.end_ms:  # no time passed: nothing to write, nothing changes
            stats = WalkStats.for_product(product)
            stats.users = len(previous.entries)
            return RunResult(config, product, stats, [])
        new_users = continuation.new_user_count(previous, config.end_ms)
        job = replace(
            job,
            users=len(previous.entries) + new_users,
            run_number=previous.runs_done + 1,
            previous=previous.entries,
            since_ms=previous.end_ms - 1,
            new_window_ms=config.end_ms - previous.end_ms,
        )
    # Connect before anything is written: an unreachable scheduler is one message, nothing else.
    cluster = distributed.connect(config.dask) if config.dask else None
    try:
        if previous is not None:
            staging = output.prepare_continue(config.output_dir)
        else:
            staging = output.prepare(config.output_dir, config.replace)
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    # Absolute: Dask workers resolve the path in their own working folders.
    job = replace(job, staging=os.path.abspath(staging))
    done = [0, 0]

    def on_progress(users: int, events: int) -> None:
        done[0] += users
        done[1] += events
        if progress is not None:
            progress(ProgressUpdate(done[0], job.users, done[1]))

    committed = False
    try:
        if cluster is not None:
            stats, files = distributed.run_chunks(cluster, job, on_progress)
        else:
            stats, files = _run_chunks(job, config.workers, on_progress)
        record = run_record(config, stats)
        if previous is not None:
            record = continuation.continued_record(
                previous, record, config.end_ms, new_users, stats.events
            )
        files.extend(_assemble(job, config, record))
        # Ctrl-C waits for the moves into place; once they are done the run is complete, and an
        # interrupt that arrived meanwhile must not roll it back.
        with output.signals_held():
            if previous is not None:
                output.publish_continue(config.output_dir, staging)
            else:
                output.publish(config.output_dir, staging)
            committed = True
    except BaseException as exc:
        if committed and isinstance(exc, KeyboardInterrupt):
            output.discard(staging)
            return RunResult(config, product, stats, files)
        if previous is not None:
            output.recover(config.output_dir)
            output.drop_later_runs(config.output_dir, previous.runs_done)
        output.discard(staging)
        if isinstance(exc, OSError):
            raise output_error(config.output_dir, exc) from None
        raise
    finally:
        if cluster is not None:
            cluster.close()
    return RunResult(config, product, stats, files)
