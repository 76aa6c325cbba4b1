"""One chunk of users, generated into the staging folder: the unit of work of a worker process or
a Dask task.

Chunk boundaries depend only on the number of users and the run's chunk size, never on the number
of workers, and every user's draws are addressed by the seed and the user's index (``sites``), so
a chunk is the same bytes in whichever process, on whichever machine, generates it.

Two engines make a chunk's events, the same bytes (``tests/test_engine.py``): the batch engine
(``batch``, the default: users in batches, lines from pre-encoded pieces, written a slice of
events at a time) and the plain model (``walker``: one user, one event at a time, the reference).
Batches hold about :data:`BATCH_EVENTS` events, whatever the sheet, so memory stays flat.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from . import layout
from .batch import BatchWalker
from .formats import DEFAULT_FORMAT, FORMATS
from .limits import DEFAULT_CHUNK_USERS, DEFAULT_MAX_FILE_MB, MB
from .params import Params
from .population import Population
from .record import USERS_SEPARATOR, UserNames, read_saved_chunk, user_bytes
from .spec import Product
from .users import UserState
from .walker import WRITE_ALL_MS, Walker, WalkStats, gap_quantiles
from .writers import AtomicFile, EventFiles, csv_rows

FLUSH_LINES = 4_000  # events buffered before a write (~1.3 MB); bounds memory per worker
PROGRESS_USERS = 100  # a worker reports progress after this many users
FLUSH_USERS = 200  # users' saved states and lookup rows buffered before a write
TASK_USERS = 5_000  # users of a worker's task (several chunks): the batch engine's rounds
BATCH = "batch"  # the engines: the batch engine (the default) and the plain model
PLAIN = "plain"
ENGINES = (BATCH, PLAIN)
FIRST_BATCH_USERS = 1000  # the first part of a chunk; the next ones sized to about BATCH_EVENTS
BATCH_EVENTS = 250000  # events a part aims at (about 12 MB of arrays before they are lines)
MAX_BATCH_USERS = 5_000
SLICE_EVENTS = 8_192  # events made into lines and written at a time (a few MB of bytes)

Report = Callable[[int, int], None]  # (users done, events written) since the last report
Files = list[tuple[str, int]]  # (path relative to the output folder, size on disk)


@dataclass(frozen=True)
class Job:
    """What a worker needs to generate any chunk of a run; sent once per worker."""

    product: Product
    params: Params
    seed: int
    end_ms: int
    users: int  # every user of the run: a continue's saved users, then its new ones
    staging: str  # absolute: Dask workers resolve paths in their own working folders
    chunk_users: int = DEFAULT_CHUNK_USERS
    format: str = DEFAULT_FORMAT
    compress: bool = False
    max_bytes: int = int(DEFAULT_MAX_FILE_MB * MB)
    run_number: int = 0  # 0 for a first run; continues count from 1
    saved_users: int = 0  # a continue: users 0..saved_users-1 carry on from their saved state
    since_ms: int = WRITE_ALL_MS  # a continue writes only events after this (its end, less 1 ms)
    new_window_ms: int | None = None  # a continue creates its new users over this window
    engine: str = BATCH  # never changes the output

    @property
    def chunks(self) -> range:
        return range((self.users + self.chunk_users - 1) // self.chunk_users)

    def tasks(self, workers: int) -> list[range]:
        """The chunks in tasks of consecutive chunks, a worker's unit of work: at most about
        TASK_USERS users each (the batch engine walks a task's users together), as many tasks as
        a multiple of ``workers`` (when there are enough chunks), as even as can be and the larger
        first, so that workers finish together.  Never changes the output."""
        chunks = len(self.chunks)
        widest = max(1, TASK_USERS // self.chunk_users)
        workers = max(1, min(workers, chunks))
        count = -(-chunks // widest)  # at least this many tasks
        count = -(-count // workers) * workers  # a multiple of the workers
        count = min(count, chunks)
        edges = [chunks * number // count for number in range(count + 1)]
        tasks = [range(low, high) for low, high in zip(edges, edges[1:])]
        return sorted(tasks, key=len, reverse=True)  # the larger first: workers end together

    def users_of(self, chunk: int) -> range:
        first = chunk * self.chunk_users
        return range(first, min(self.users, first + self.chunk_users))

    def staged(self, relative: str) -> str:
        return os.path.join(self.staging, relative)


@dataclass
class ChunkResult:
    chunk: int
    stats: WalkStats  # a group of chunks' statistics are carried by its first chunk's result
    files: Files


class _ChunkFiles:
    """One chunk's files in the staging folder: its events, and the parts of the user states,
    the lookup table and the profiles that the run assembles at the end.  Users' states and
    lookup rows are written as they come, a few hundred at a time, so memory stays flat."""

    def __init__(self, job: Job, chunk: int) -> None:
        self.job = job
        self.chunk = chunk
        fmt = FORMATS[job.format]
        self.names = UserNames.of(job.product)
        self.events = EventFiles(
            job.staged(layout.EVENTS),
            layout.events_stem(job.run_number, chunk, len(job.chunks)),
            fmt.framing,
            job.compress,
            job.max_bytes,
        )
        self.users_file = AtomicFile(job.staged(layout.part_users(chunk)))
        self.lookup_file = AtomicFile(job.staged(layout.part_lookup(chunk)))
        self.entries: list[bytes] = []
        self.rows: list[list[str]] = []
        self.written = 0
        self.new_users: list[UserState] = []

    def add(self, user: UserState) -> None:
        if user.index >= self.job.saved_users:
            self.new_users.append(user)
        self.entries.append(user_bytes(user, self.names))
        self.rows.append([user.user_id, *user.lookup])
        if len(self.entries) == FLUSH_USERS:
            self._flush()

    def _flush(self) -> None:
        if self.entries:
            self.users_file.write(
                (USERS_SEPARATOR if self.written else b"") + USERS_SEPARATOR.join(self.entries)
            )
            self.lookup_file.write(csv_rows(self.rows))
            self.written += len(self.entries)
            self.entries.clear()
            self.rows.clear()

    def close(self) -> Files:
        self._flush()
        self.users_file.commit()
        self.lookup_file.commit()
        job = self.job
        profiles = FORMATS[job.format].profiles
        if profiles is not None:
            profiles_file = AtomicFile(job.staged(layout.part_profiles(self.chunk)))
            entries = profiles.lines(job.product, job.seed, self.new_users)
            profiles_file.write("".join(entry + "\n" for entry in entries).encode())
            profiles_file.commit()
        return [(os.path.join(layout.EVENTS, n), s) for n, s in self.events.close()]

    def abort(self) -> None:
        self.events.abort()
        self.users_file.abort()
        self.lookup_file.abort()


def generate_chunks(job: Job, chunks: range, report: Report) -> list[ChunkResult]:
    """Generate the users of consecutive ``chunks`` (a worker's task) into the staging folder.

    The batch engine walks them together, so that its rounds work on a few thousand users at
    once whatever the chunk size; each chunk still gets its own files, the same bytes as if it
    were generated alone."""
    product = job.product
    names = UserNames.of(product)
    users = range(job.users_of(chunks.start).start, job.users_of(chunks.stop - 1).stop)
    saved: list[UserState] = []
    for chunk in chunks:
        first = job.users_of(chunk).start
        if first < job.saved_users:
            saved += read_saved_chunk(
                job.staged(layout.part_saved(chunk)), names, first, job.since_ms + 1
            )
    population = Population(product, job.params, job.seed, job.end_ms, job.new_window_ms)
    stats = WalkStats.for_product(product)
    outputs: list[_ChunkFiles] = []
    progress = _Progress(report, stats)
    try:
        for chunk in chunks:
            outputs.append(_ChunkFiles(job, chunk))
        work = _Work(job, users, saved, population, stats, outputs, progress)
        for user in (_walk_batches if job.engine == BATCH else _walk_plain)(work):
            outputs[work.chunk_of(user.index)].add(user)
        results = [
            ChunkResult(out.chunk, stats if not n else WalkStats.for_product(product), out.close())
            for n, out in enumerate(outputs)
        ]
    except BaseException:
        for out in outputs:
            out.abort()
        raise
    progress.done(len(users))
    return results


def prepare(job: Job) -> None:
    """What every task of a run computes first and keeps for the process (the pilot users that
    size the population already there when the window opens, the gaps' quantile table): done
    once before worker processes are forked, they share it instead of each computing it."""
    Population(job.product, job.params, job.seed, job.end_ms, job.new_window_ms)
    gap_quantiles(job.params.gap_shape)


def generate_chunk(job: Job, chunk: int, report: Report) -> ChunkResult:
    """One chunk alone (:func:`generate_chunks`)."""
    return generate_chunks(job, range(chunk, chunk + 1), report)[0]


class _Progress:
    """Reports users and events done since the last report."""

    def __init__(self, report: Report, stats: WalkStats) -> None:
        self.report = report
        self.stats = stats
        self.users = self.events = 0

    def done(self, users: int, events: int | None = None) -> None:
        """``users`` of the chunk are done, and ``events`` (default: those in ``stats``)."""
        events = self.stats.events if events is None else events
        if users != self.users or events != self.events:
            self.report(users - self.users, events - self.events)
            self.users, self.events = users, events


@dataclass
class _Work:
    """A task's users to walk (its chunks'), and where their events and statistics go."""

    job: Job
    users: range
    saved: list[UserState]  # a continue's saved users of the task's chunks
    population: Population
    stats: WalkStats
    outputs: list[_ChunkFiles]  # per chunk of the task, in order
    progress: _Progress

    def chunk_of(self, user: int) -> int:
        """The position among the task's chunks of user ``user``'s chunk."""
        return (user - self.users.start) // self.job.chunk_users


def _walk_plain(work: _Work) -> Iterator[UserState]:
    """The plain model: one user after another (``walker``), lines flushed every FLUSH_LINES."""
    job, users, saved, population, stats = (
        work.job, work.users, work.saved, work.population, work.stats,
    )  # fmt: skip
    fmt = FORMATS[job.format]
    walker = Walker(
        job.product, job.params, job.seed, job.end_ms, fmt.encoder(job.product, job.seed)
    )
    lines: list[str] = []
    events = work.outputs[0].events
    for done, index in enumerate(users, start=1):
        if index < job.saved_users:
            user = saved[index - users.start]
            user.user_props = population.user_props(index)  # drawn again, never saved
        else:
            user = population.create(index)
        chunk_events = work.outputs[work.chunk_of(index)].events
        if chunk_events is not events:
            events.write(lines)
            lines.clear()
            events = chunk_events
        walker.simulate(user, lines, stats, job.since_ms)
        if len(lines) >= FLUSH_LINES:
            events.write(lines)
            lines.clear()
        yield user
        if done % PROGRESS_USERS == 0:
            work.progress.done(done)
    events.write(lines)


def _walk_batches(work: _Work) -> Iterator[UserState]:
    """The batch engine: the task's users created (or read back) at once (saved users and new
    ones apart), walked in parts of about BATCH_EVENTS events (``batch.BatchWalker.walk``); each
    part's lines made and written into its users' chunks, SLICE_EVENTS at a time."""
    job, users, population = work.job, work.users, work.population
    fmt = FORMATS[job.format]
    walker = BatchWalker(job.product, job.params, job.seed, job.end_ms)
    maker = fmt.lines(job.product, job.seed, fmt.framing.separator)
    boundary = min(max(users.start, job.saved_users), users.stop)
    for first_user, last_user in ((users.start, boundary), (boundary, users.stop)):
        if first_user == last_user:
            continue
        if first_user < job.saved_users:
            batch = walker.resume(population, work.saved[: last_user - first_user])
        else:
            batch = walker.create(population, range(first_user, last_user))
        maker.begin_users(batch.users)
        before = (first_user - users.start, work.stats.events)

        def report(done: int, events: int, before: tuple[int, int] = before) -> None:
            work.progress.done(before[0] + done, events)

        parts = walker.walk(batch, work.stats, job.since_ms, report, FIRST_BATCH_USERS,
                            BATCH_EVENTS, MAX_BATCH_USERS)  # fmt: skip
        for part, found in parts:
            maker.begin(found)
            # Each chunk's events (users are in order) into its files, a slice at a time.
            owners = found.user[found.order]
            for output in work.outputs:
                chunk_users = job.users_of(output.chunk)
                rows = (chunk_users.start - first_user, chunk_users.stop - first_user)
                low, high = np.searchsorted(owners, rows)
                for start in range(int(low), int(high), SLICE_EVENTS):
                    stop = min(int(high), start + SLICE_EVENTS)
                    output.events.write_lines(maker.lines(found, start, stop))
            maker.end()
            del found  # (its arrays are not kept while the next part walks)
            yield from batch.users[part.start : part.stop]
        maker.end_users()


def merge(job: Job, results: dict[int, ChunkResult]) -> tuple[WalkStats, Files]:
    """The chunks' stats added up and their files listed, in chunk order (not finishing order)."""
    total = WalkStats.for_product(job.product)
    written: Files = []
    for chunk in job.chunks:
        total.merge(results[chunk].stats)
        written.extend(results[chunk].files)
    return total, written
