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

from . import layout
from .batch import BatchWalker
from .formats import DEFAULT_FORMAT, FORMATS
from .limits import DEFAULT_CHUNK_USERS, DEFAULT_MAX_FILE_MB, MB
from .params import Params
from .population import Population
from .record import UserNames, read_saved_chunk, user_bytes
from .spec import Product
from .users import UserState
from .walker import WRITE_ALL_MS, Walker, WalkStats
from .writers import AtomicFile, EventFiles, csv_rows

FLUSH_LINES = 4_000  # events buffered before a write (~1.3 MB); bounds memory per worker
PROGRESS_USERS = 100  # a worker reports progress after this many users
BATCH = "batch"  # the engines: the batch engine (the default) and the plain model
PLAIN = "plain"
ENGINES = (BATCH, PLAIN)
FIRST_BATCH_USERS = 1_000  # the first batch of a chunk; the next ones sized to about BATCH_EVENTS
BATCH_EVENTS = 1000000  # events a batch aims at (about 8 MB of arrays before they are lines)
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

    def users_of(self, chunk: int) -> range:
        first = chunk * self.chunk_users
        return range(first, min(self.users, first + self.chunk_users))

    def staged(self, relative: str) -> str:
        return os.path.join(self.staging, relative)


@dataclass
class ChunkResult:
    chunk: int
    stats: WalkStats
    files: Files


def generate_chunk(job: Job, chunk: int, report: Report) -> ChunkResult:
    """Generate the users of one chunk into the staging folder: events files, and the parts of the
    user states, the lookup table and the profiles that the run assembles at the end."""
    product = job.product
    fmt = FORMATS[job.format]
    names = UserNames.of(product)
    users = job.users_of(chunk)
    saved: list[UserState] = []
    if users.start < job.saved_users:
        saved = read_saved_chunk(
            job.staged(layout.part_saved(chunk)), names, users.start, job.since_ms + 1
        )
    population = Population(product, job.params, job.seed, job.end_ms, job.new_window_ms)
    stats = WalkStats.for_product(product)
    events = EventFiles(
        job.staged(layout.EVENTS),
        layout.events_stem(job.run_number, chunk),
        fmt.framing,
        job.compress,
        job.max_bytes,
    )
    new_users: list[UserState] = []
    users_file = AtomicFile(job.staged(layout.part_users(chunk)))
    lookup_file = AtomicFile(job.staged(layout.part_lookup(chunk)))
    user_entries: list[bytes] = []
    lookup_rows: list[list[str]] = []
    progress = _Progress(report, stats)
    try:
        work = _Work(job, users, saved, population, stats, events, progress)
        for user in (_walk_batches if job.engine == BATCH else _walk_plain)(work):
            if user.index >= job.saved_users:
                new_users.append(user)
            user_entries.append(user_bytes(user, names))
            lookup_rows.append([user.user_id, *user.lookup])
        users_file.write(b",\n".join(user_entries))
        users_file.commit()
        lookup_file.write(csv_rows(lookup_rows))
        lookup_file.commit()
        if fmt.profiles is not None:
            profiles_file = AtomicFile(job.staged(layout.part_profiles(chunk)))
            entries = fmt.profiles.lines(product, job.seed, new_users)
            profiles_file.write("".join(entry + "\n" for entry in entries).encode())
            profiles_file.commit()
        written = events.close()
    except BaseException:
        events.abort()
        users_file.abort()
        lookup_file.abort()
        raise
    progress.done(len(users))
    return ChunkResult(chunk, stats, [(os.path.join(layout.EVENTS, n), s) for n, s in written])


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
    """One chunk's users to walk, and where their events and statistics go."""

    job: Job
    users: range
    saved: list[UserState]  # a continue's saved users of the chunk
    population: Population
    stats: WalkStats
    events: EventFiles
    progress: _Progress


def _walk_plain(work: _Work) -> Iterator[UserState]:
    """The plain model: one user after another (``walker``), lines flushed every FLUSH_LINES."""
    job, users, saved, population, stats, events = (
        work.job, work.users, work.saved, work.population, work.stats, work.events,
    )  # fmt: skip
    fmt = FORMATS[job.format]
    walker = Walker(
        job.product, job.params, job.seed, job.end_ms, fmt.encoder(job.product, job.seed)
    )
    lines: list[str] = []
    for done, index in enumerate(users, start=1):
        if index < job.saved_users:
            user = saved[index - users.start]
            user.user_props = population.user_props(index)  # drawn again, never saved
        else:
            user = population.create(index)
        walker.simulate(user, lines, stats, job.since_ms)
        if len(lines) >= FLUSH_LINES:
            events.write(lines)
            lines.clear()
        yield user
        if done % PROGRESS_USERS == 0:
            work.progress.done(done)
    events.write(lines)


def _walk_batches(work: _Work) -> Iterator[UserState]:
    """The batch engine: the chunk's users created (or read back) at once, then walked in parts
    (saved users and new ones apart) sized to about BATCH_EVENTS events; each part's lines made
    and written SLICE_EVENTS at a time."""
    job, users, population, events = work.job, work.users, work.population, work.events
    fmt = FORMATS[job.format]
    walker = BatchWalker(job.product, job.params, job.seed, job.end_ms)
    maker = fmt.lines(job.product, job.seed, fmt.framing.separator)
    size = FIRST_BATCH_USERS
    boundary = min(max(users.start, job.saved_users), users.stop)
    for first_user, last_user in ((users.start, boundary), (boundary, users.stop)):
        if first_user == last_user:
            continue
        if first_user < job.saved_users:
            batch = walker.resume(population, work.saved[: last_user - first_user])
        else:
            batch = walker.create(population, range(first_user, last_user))
        maker.begin_users(batch.users)
        first = 0
        while first < len(batch.users):
            part = range(first, min(len(batch.users), first + size))
            before = (first_user + part.start - users.start, work.stats.events)

            def report(done: int, events: int, before: tuple[int, int] = before) -> None:
                work.progress.done(before[0] + done, before[1] + events)

            found = walker.walk(batch, work.stats, job.since_ms, part, report)
            maker.begin(found)
            for start in range(0, len(found), SLICE_EVENTS):
                stop = min(len(found), start + SLICE_EVENTS)
                events.write_lines(maker.lines(found, start, stop))
            maker.end()
            yield from batch.users[part.start : part.stop]
            work.progress.done(first_user + part.stop - users.start)
            per_user = max(1.0, len(found) / len(part))
            size = max(1, min(MAX_BATCH_USERS, int(BATCH_EVENTS / per_user)))
            first = part.stop
        maker.end_users()


def merge(job: Job, results: dict[int, ChunkResult]) -> tuple[WalkStats, Files]:
    """The chunks' stats added up and their files listed, in chunk order (not finishing order)."""
    total = WalkStats.for_product(job.product)
    written: Files = []
    for chunk in job.chunks:
        total.merge(results[chunk].stats)
        written.extend(results[chunk].files)
    return total, written
