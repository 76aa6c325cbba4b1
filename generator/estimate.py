"""What a run will cost before it is paid: events, bytes on disk and time, from a calibration.

A calibration generates the run's own first users (its sheet, seed, format and window) with the
batch engine, in memory, and scales what they made to the run's number of users: the first
:data:`~generator.limits.CALIBRATION_USERS` while the number of users is still to be asked, a
twentieth of a run whose size is known (:func:`sample_size`).  A user's events depend only on the
seed and its number, so a calibration as large as the run is the run, and a smaller one a sample
of it: within a few percent for the examples' heavy-tailed users at a thousand (README, *The
estimate and the disk*).  Time is
measured only when the caller passes a ``timer`` (the core never reads the clock itself); it is
the calibration's time per user, times the users, divided among the workers that share them.

A continue is estimated from the run it carries on: the events it wrote per day of its window so
far, times the days to add, at the bytes per event of its files.

:func:`check_room` compares an estimate with the free space of the output's file system.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from . import layout
from .batch import BatchWalker
from .chunks import BATCH_EVENTS, FIRST_BATCH_USERS, MAX_BATCH_USERS, SLICE_EVENTS
from .clock import DAY_MS
from .errors import NoRoomError
from .formats import FORMATS
from .limits import (
    CALIBRATION_MIN_USERS,
    CALIBRATION_SHARE,
    CALIBRATION_USERS,
    CONFIRM_BYTES,
    CONFIRM_SECONDS,
    default_workers,
)
from .output import free_space
from .params import Params
from .population import Population
from .record import RunRecord, UserNames, user_bytes
from .runner import RunConfig
from .spec import Product
from .walker import WRITE_ALL_MS, WalkStats
from .writers import csv_rows

START_SECONDS = 0.5  # starting the workers, loading the sheet, publishing: paid once per run

Timer = Callable[[], float]


@dataclass(frozen=True)
class Estimate:
    """What a run is expected to write and take; ``seconds`` is None when it was not measured."""

    users: int  # users the run generates (a continue: its new users and those carrying on)
    events: int
    bytes: int  # on disk: events files, the saved users, the lookup table, profiles, the record
    seconds: float | None
    sample: int  # users the calibration generated (0: estimated from the run's own record)

    @property
    def large(self) -> bool:
        """Over 10 GB or 10 minutes: in a terminal, worth a confirmation before it starts."""
        return self.bytes > CONFIRM_BYTES or (self.seconds or 0.0) > CONFIRM_SECONDS


@dataclass(frozen=True)
class Calibration:
    """What the calibration users made, per user (``seconds`` None when not measured)."""

    users: int
    events: float
    bytes: float
    seconds: float | None


def _calibrate(
    product: Product,
    params: Params,
    seed: int,
    end_ms: int,
    format_name: str,
    compress: bool,
    users: int,
    timer: Timer | None,
) -> Calibration:
    """Generate the run's first ``users`` users in memory, as the batch engine will (a user's
    events depend only on the seed and its number, never on how many users the run has); return
    their events, bytes and time per user."""
    fmt = FORMATS[format_name]
    population = Population(product, params, seed, end_ms)  # (paid once per run: not timed)
    started = timer() if timer is not None else 0.0
    walker = BatchWalker(product, params, seed, end_ms)
    maker = fmt.lines(product, seed, fmt.framing.separator)
    stats = WalkStats.for_product(product)
    names = UserNames.of(product)
    packer = zlib.compressobj(6, zlib.DEFLATED, 31) if compress else None  # gzip, level 6
    events_bytes = other_bytes = 0
    batch = walker.create(population, range(users))
    maker.begin_users(batch.users)
    parts = walker.walk(batch, stats, WRITE_ALL_MS, None, FIRST_BATCH_USERS, BATCH_EVENTS,
                        MAX_BATCH_USERS)  # fmt: skip
    for _, found in parts:
        maker.begin(found)
        for start in range(0, len(found), SLICE_EVENTS):
            data = maker.lines(found, start, min(len(found), start + SLICE_EVENTS)).data
            events_bytes += len(packer.compress(data)) if packer is not None else len(data)
        maker.end()
    maker.end_users()
    if packer is not None:
        events_bytes += len(packer.flush())
    created = batch.users
    # config/user_id_list.json (an entry and ",\n" per user) and the lookup table
    other_bytes += sum(len(user_bytes(user, names)) + 2 for user in created)
    other_bytes += len(csv_rows([user.user_id, *user.lookup] for user in created))
    if fmt.profiles is not None:
        lines = fmt.profiles.lines(product, seed, created)
        other_bytes += sum(len(line.encode()) + 1 for line in lines)
    seconds = timer() - started if timer is not None else None
    count = max(1, users)
    return Calibration(
        users,
        stats.events / count,
        (events_bytes + other_bytes) / count,
        None if seconds is None else seconds / count,
    )


def _parallel(users: int, chunk_users: int, workers: int) -> int:
    """How many processes share the work: the workers, at most one per chunk and per core."""
    chunks = -(-users // chunk_users)
    return max(1, min(workers, chunks, default_workers()))


def sample_size(users: int) -> int:
    """How many users calibrate a run of ``users`` known before the estimate (given by a flag):
    its first twentieth, at least CALIBRATION_MIN_USERS (all of a run that small, whose estimate
    is then its exact count) and at most CALIBRATION_USERS.  A calibration of the whole run (or of
    its first thousand users for a run of a thousand) doubled the work of every small run given
    by flags: a twentieth keeps it to about 5%."""
    share = max(CALIBRATION_MIN_USERS, min(CALIBRATION_USERS, users // CALIBRATION_SHARE))
    return max(1, min(users, share))


def calibrate(
    config: RunConfig,
    product: Product,
    params: Params | None = None,
    timer: Timer | None = None,
    sample: int | None = None,
) -> Calibration:
    """Generate ``sample`` users of the run's sheet (by default :func:`sample_size` of the run's
    users), in its format, in memory; ``timer`` (seconds, e.g. ``time.perf_counter``) measures
    them.  For a given ``sample`` the result depends on the sheet, the format, gzip and the window,
    not on the number of users, so one calibration serves every number of users asked."""
    params = params or Params(backfill_days=config.days)
    count = sample_size(config.users) if sample is None else max(1, sample)
    return _calibrate(
        product, params, config.seed, config.end_ms, config.format, config.gzip, count, timer
    )


def estimate_run(
    config: RunConfig,
    product: Product,
    params: Params | None = None,
    timer: Timer | None = None,
    sample: int | None = None,
    calibration: Calibration | None = None,
) -> Estimate:
    """Estimate a new run from a calibration on users of its own sheet (:func:`calibrate`, or
    the ``calibration`` given, made for the same sheet, format, gzip and window)."""
    per_user = calibration or calibrate(config, product, params, timer, sample)
    seconds = None
    if per_user.seconds is not None and config.dask is None:  # a cluster's size is unknown here
        share = _parallel(config.users, config.chunk_users, config.workers)
        seconds = START_SECONDS + per_user.seconds * config.users / share
    return Estimate(
        users=config.users,
        events=round(per_user.events * config.users),
        bytes=round(per_user.bytes * config.users) + 4096,  # + the record and the folders
        seconds=seconds,
        sample=per_user.users,
    )


def _size(folder: str) -> int:
    """Bytes of the files in ``folder``; 0 when it cannot be read."""
    total = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
    except OSError:
        return 0
    return total


def estimate_continue(
    folder: str,
    record: RunRecord,
    config: RunConfig,
    product: Product,
    timer: Timer | None = None,
) -> Estimate:
    """Estimate a continue of the run in ``folder`` (its ``record``) up to ``config.end_ms``.

    The run's events per day of its window so far, times the days added, at the bytes per event
    of its events files; the continue also writes a new copy of ``config/`` and of the lookup
    table before it removes the old ones.  Time, when ``timer`` is given, is measured on a small
    calibration of the sheet (events per second on this machine).
    """
    elapsed = max(0, config.end_ms - record.end_ms)
    covered = max(DAY_MS, record.end_ms - (record.first_end_ms - record.days * DAY_MS))
    events = round(record.events_written * elapsed / covered)
    on_disk = _size(os.path.join(folder, layout.EVENTS))
    per_event = on_disk / record.events_written if record.events_written else 0.0
    rewritten = _size(os.path.join(folder, layout.CONFIG)) + _size(
        os.path.join(folder, layout.LOOKUP)
    )
    seconds = None
    if timer is not None and events:
        sample = _calibrate(
            product,
            Params(backfill_days=config.days),
            config.seed,
            config.end_ms,
            config.format,
            config.gzip,
            max(1, CALIBRATION_USERS // 4),
            timer,
        )
        if sample.seconds is not None and sample.events:
            share = _parallel(record.users_total, config.chunk_users, config.workers)
            seconds = START_SECONDS + sample.seconds / sample.events * events / share
    return Estimate(
        users=record.users_total,
        events=events,
        bytes=round(events * per_event) + rewritten if elapsed else 0,
        seconds=seconds if elapsed else 0.0,
        sample=0,
    )


def size_text(count: int) -> str:
    """Bytes as people read them: ``72 MB``, ``1.3 GB`` (powers of 1,000, as disks are sold)."""
    value = float(count)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            if unit == "bytes":
                return f"{int(value):,} bytes"
            return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def check_room(estimate: Estimate, folder: str) -> int:
    """Refuse a run estimated larger than the free space where ``folder`` is (or will be), with
    exit status 2 and before anything is written; return the free bytes otherwise."""
    free = free_space(folder)
    if estimate.bytes > free:
        raise NoRoomError(
            f"this run needs about {size_text(estimate.bytes)} and the disk that holds "
            f"{folder} has {size_text(free)} free; give fewer users, another output folder, or "
            f"--force to try anyway (a run that fills the disk stops, and leaves nothing "
            f"complete-looking)"
        )
    return free
