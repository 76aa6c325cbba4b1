"""One chunk of users, generated into the staging folder: the unit of work of a worker process or
a Dask task.

Chunk boundaries depend only on the number of users and the run's chunk size, never on the number
of workers, and every user's draws come from streams keyed by the seed and the user's index, so a
chunk is the same bytes in whichever process, on whichever machine, generates it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from . import layout
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
    walker = Walker(product, job.params, job.seed, job.end_ms, fmt.encoder(product, job.seed))
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
    lines: list[str] = []
    user_entries: list[bytes] = []
    lookup_rows: list[list[str]] = []
    reported_users = reported_events = 0
    try:
        for done, index in enumerate(users, start=1):
            if index < job.saved_users:
                user = saved[index - users.start]
                user.user_props = population.user_props(index)  # drawn again, never saved
            else:
                user = population.create(index)
                new_users.append(user)
            walker.simulate(user, lines, stats, job.since_ms)
            if len(lines) >= FLUSH_LINES:
                events.write(lines)
                lines.clear()
            user_entries.append(user_bytes(user, names))
            lookup_rows.append([user.user_id, *user.lookup])
            if done % PROGRESS_USERS == 0:
                report(done - reported_users, stats.events - reported_events)
                reported_users, reported_events = done, stats.events
        events.write(lines)
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
    report(len(users) - reported_users, stats.events - reported_events)
    return ChunkResult(chunk, stats, [(os.path.join(layout.EVENTS, n), s) for n, s in written])


def merge(job: Job, results: dict[int, ChunkResult]) -> tuple[WalkStats, Files]:
    """The chunks' stats added up and their files listed, in chunk order (not finishing order)."""
    total = WalkStats.for_product(job.product)
    written: Files = []
    for chunk in job.chunks:
        total.merge(results[chunk].stats)
        written.extend(results[chunk].files)
    return total, written
