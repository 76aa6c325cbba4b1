"""A whole run: a new one (:func:`generate`) or a continue of a finished one (:func:`carry_on`).

Both are plans with the same steps: *prepare* the output folder (check it, lock it, stage), generate
the chunks of users (here, in worker processes, or on a Dask cluster), *assemble* the staged parts
and the run record, then *publish* the result, or *roll back* to the folder as it was.  The plan
that prepared the folder is the one that rolls it back, so a folder the run created is removed
again when the run fails.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from . import distributed, layout, output, pool
from .chunks import BATCH, ENGINES, Files, Job, merge
from .clock import DAY_MS, iso
from .errors import GeneratorError, InputError, UsageError
from .formats import DEFAULT_FORMAT, FORMATS, check_names, format_named
from .limits import (
    DEFAULT_CHUNK_USERS,
    DEFAULT_DAYS,
    DEFAULT_MAX_FILE_MB,
    check_chunk_users,
    check_days,
    check_max_file_mb,
    check_seed,
    check_users,
    check_window,
    check_workers,
    max_file_bytes,
)
from .loaders import load_product
from .params import MODEL_VERSION, Params
from .record import (
    USERS_HEAD,
    USERS_SEPARATOR,
    USERS_TAIL,
    Continued,
    RunRecord,
    UserNames,
    file_digest,
    read_record,
    split_saved_users,
)
from .spec import Product
from .walker import WalkStats
from .writers import AtomicFile, csv_rows, output_error


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a new run's output (plus ``workers`` and ``dask``, which never
    change it)."""

    events_path: str
    flows_path: str
    lookup_path: str
    users: int
    output_dir: str
    seed: int
    end_ms: int
    days: int = DEFAULT_DAYS
    workers: int = 1
    replace: bool = False  # replace a run (or the remains of one) already in output_dir
    format: str = DEFAULT_FORMAT
    gzip: bool = False
    max_file_mb: float = DEFAULT_MAX_FILE_MB
    chunk_users: int = DEFAULT_CHUNK_USERS  # users per chunk (one events file each)
    dask: str | None = None  # a Dask scheduler's address: generate the chunks on its workers
    engine: str = BATCH  # "batch" or "plain" (the reference model): never changes the output

    def check(self) -> None:
        """Refuse a value outside the bounds the flags have (``limits``)."""
        format_named(self.format)
        check_engine(self.engine)
        check_users(self.users)
        check_days(self.days)
        check_seed(self.seed)
        check_workers(self.workers)
        check_max_file_mb(self.max_file_mb)
        check_chunk_users(self.chunk_users)
        check_window(self.days, self.end_ms)


@dataclass(frozen=True)
class ContinueConfig:
    """A continue of the run in ``output_dir`` up to ``end_ms``.

    Everything else is the run's own, from its ``config/run.json``.  A value given here is a flag
    given again: input paths may change (the files moved) and so may ``max_file_mb``; the number of
    users, the seed, the format and gzip must agree with the run, or the continue is refused.
    """

    output_dir: str
    end_ms: int
    workers: int = 1
    events_path: str | None = None
    flows_path: str | None = None
    lookup_path: str | None = None
    users: int | None = None
    seed: int | None = None
    format: str | None = None
    gzip: bool | None = None
    max_file_mb: float | None = None
    dask: str | None = None
    engine: str = BATCH


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")


@dataclass(frozen=True)
class ProgressUpdate:
    users_done: int
    users_total: int
    events: int


ProgressCallback = Callable[[ProgressUpdate], None]


@dataclass
class RunResult:
    """What a run made.  For a continue, ``config`` is the run as it now stands (the first run's
    settings with the new end time) and ``continue_number`` counts the continues (0: a new run)."""

    config: RunConfig
    product: Product
    stats: WalkStats
    files: Files = field(default_factory=list)  # (path relative to the output folder, bytes)
    continue_number: int = 0
    users_before_window: int = 0


class _Plan(Protocol):
    """A run's own steps around the ones every run shares (``_carry_out``)."""

    def prepare(self) -> output.Staging | None:
        """Check, lock and stage the output folder (None: there is nothing to write)."""

    def job(self, staging: output.Staging) -> Job:
        """What the workers generate, into ``staging``."""

    def nothing(self) -> WalkStats:
        """The stats of a run that had nothing to write."""

    def record(self, stats: WalkStats) -> RunRecord: ...
    def publish(self, staging: output.Staging) -> None: ...
    def roll_back(self, staging: output.Staging) -> None: ...


def generate(
    config: RunConfig,
    product: Product | None = None,
    progress: ProgressCallback | None = None,
) -> RunResult:
    """Generate a new run as ``config`` describes; the one call the front makes for it.

    Raises a :class:`GeneratorError` for anything the user can fix; on any failure or interrupt the
    output folder is left as it was.
    """
    config.check()
    if product is None:
        product = load_product(config.events_path, config.flows_path, config.lookup_path)
    check_names(FORMATS[config.format], product.events)
    output.check_lookup_name(product.lookup, config.output_dir)
    plan = _NewRun(config, product)
    stats, files = _carry_out(plan, config.workers, config.dask, progress)
    return RunResult(config, product, stats, files)


def carry_on(request: ContinueConfig, progress: ProgressCallback | None = None) -> RunResult:
    """Continue the run in ``request.output_dir`` up to ``request.end_ms`` (``--continue``).

    Every user who has not churned walks on from its saved state; new users join in proportion to
    the time that passed; the new events go into new files beside the old ones.  The same events
    and states as one longer run, for the same users (README, *Continuing a run*).
    """
    check_workers(request.workers)
    check_engine(request.engine)
    plan = _Continue(request)
    stats, files = _carry_out(plan, request.workers, request.dask, progress)
    return RunResult(plan.config, plan.product, stats, files, plan.number)


def check_continue(request: ContinueConfig) -> tuple[RunConfig, RunRecord, Product]:
    """What a continue of the run in ``request.output_dir`` would be, checked without touching the
    folder: its record read, the flags given held to it, the end time after its end, the files
    loaded.  Raises what :func:`carry_on` would, so that a continue chosen at a question, or in a
    cron line, is refused before anything is written.  Returns the run as it will stand, the
    record as it is, and the product its files hold.
    """
    check_workers(request.workers)
    return _resolve_continue(request)


def _resolve_continue(request: ContinueConfig) -> tuple[RunConfig, RunRecord, Product]:
    """The run's record read and held to this version's model, the flags given held to it, the
    files loaded and checked: what a continue will be."""
    record = read_record(os.path.join(request.output_dir, layout.RUN_FILE))
    if record.model != MODEL_VERSION:
        raise InputError(
            f"this run was made by an earlier user model (model {record.model}; this generator "
            f"has model {MODEL_VERSION}), whose saved user states mean something else; a "
            f"continued run would mix the two: start a new run instead",
            file=record.source,
        )
    config = _continued_config(request, record)
    product = load_product(config.events_path, config.flows_path, config.lookup_path)
    check_names(FORMATS[config.format], product.events)
    output.check_lookup_name(product.lookup, config.output_dir)
    return config, record, product


def _carry_out(
    plan: _Plan, workers: int, dask: str | None, progress: ProgressCallback | None
) -> tuple[WalkStats, Files]:
    """The steps every plan shares: prepare, generate the chunks, assemble, publish or roll back."""
    # Connect before anything is written: an unreachable scheduler is one message, nothing else.
    cluster = distributed.connect(dask) if dask else None
    staging: output.Staging | None = None
    committed = False
    try:
        staging = plan.prepare()
        if staging is None:  # nothing to write (a continue to its run's own end)
            return plan.nothing(), []
        job = plan.job(staging)
        done = [0, 0]

        def on_progress(users: int, events: int) -> None:
            done[0] += users
            done[1] += events
            if progress is not None:
                progress(ProgressUpdate(done[0], job.users, done[1]))

        if cluster is not None:
            results = distributed.run_chunks(cluster, job, on_progress)
        else:
            results = pool.run_chunks(job, workers, on_progress)
        stats, files = merge(job, results)
        files.extend(_assemble(job, plan.record(stats)))
        # Ctrl-C waits for the moves into place; once they are done the run is complete, and an
        # interrupt that arrived meanwhile must not roll it back.
        with output.signals_held():
            plan.publish(staging)
            committed = True
    except BaseException as exc:
        if not committed:
            if staging is not None:  # (a plan that failed to prepare has rolled itself back)
                plan.roll_back(staging)
            if isinstance(exc, OSError):
                folder = staging.folder if staging is not None else "the output folder"
                raise output_error(folder, exc) from None
            raise
        if not isinstance(exc, KeyboardInterrupt):
            raise
    finally:
        if cluster is not None:
            cluster.close()
        if committed and staging is not None:
            try:
                output.finish(staging)
            except KeyboardInterrupt:  # the run stands: a Ctrl-C while tidying up only hurries it
                output.finish(staging)
    return stats, files


def _concatenate(parts: list[str], target: AtomicFile, separator: bytes) -> None:
    for number, part in enumerate(parts):
        if number:
            target.write(separator)
        with open(part, "rb") as handle:
            while block := handle.read(1 << 20):
                target.write(block)


def _assemble(job: Job, record: RunRecord) -> Files:
    """Join the chunks' user states, lookup rows and profiles; write run.json; list the files."""
    written: Files = []

    def staged_file(relative: str) -> AtomicFile:
        return AtomicFile(job.staged(relative))

    users = staged_file(layout.USERS_FILE)
    users.write(USERS_HEAD)
    _concatenate([job.staged(layout.part_users(c)) for c in job.chunks], users, USERS_SEPARATOR)
    users.write(USERS_TAIL)
    users.commit()
    written.append((layout.USERS_FILE, users.size))

    lookup = job.product.lookup
    lookup_path = layout.lookup_name(lookup.name)
    table = staged_file(lookup_path)
    table.write(csv_rows([[job.product.events.primary_key, *(a.name for a in lookup.attributes)]]))
    _concatenate([job.staged(layout.part_lookup(c)) for c in job.chunks], table, b"")
    table.commit()
    written.append((lookup_path, table.size))

    profiles = FORMATS[job.format].profiles
    if profiles is not None and job.users > job.saved_users:  # only users new in this run
        profiles_path = layout.profiles_name(job.run_number, profiles.kind)
        target = staged_file(profiles_path)
        _concatenate([job.staged(layout.part_profiles(c)) for c in job.chunks], target, b"")
        target.commit()
        written.append((profiles_path, target.size))

    run = staged_file(layout.RUN_FILE)
    run.write(record.to_bytes())
    run.commit()
    written.append((layout.RUN_FILE, run.size))
    return written


class _NewRun:
    """A new run into a folder that holds none (or whose run is replaced)."""

    def __init__(self, config: RunConfig, product: Product) -> None:
        self.config = config
        self.product = product

    def prepare(self) -> output.Staging:
        return output.prepare(self.config.output_dir, self.config.replace)

    def job(self, staging: output.Staging) -> Job:
        config = self.config
        return Job(
            self.product,
            Params(backfill_days=config.days),
            config.seed,
            config.end_ms,
            config.users,
            os.path.abspath(staging.path),  # absolute: Dask workers have folders of their own
            chunk_users=config.chunk_users,
            format=config.format,
            compress=config.gzip,
            max_bytes=max_file_bytes(config.max_file_mb),
            engine=config.engine,
        )

    def nothing(self) -> WalkStats:
        return WalkStats.for_product(self.product)

    def record(self, stats: WalkStats) -> RunRecord:
        return record_of(self.config, stats.events)

    def publish(self, staging: output.Staging) -> None:
        output.publish(staging)

    def roll_back(self, staging: output.Staging) -> None:
        output.roll_back(staging)


def record_of(config: RunConfig, events_written: int) -> RunRecord:
    """The run record of a new run (input paths absolute, so the record works from anywhere)."""
    return RunRecord(
        events_path=os.path.abspath(config.events_path),
        flows_path=os.path.abspath(config.flows_path),
        lookup_path=os.path.abspath(config.lookup_path),
        users=config.users,
        seed=config.seed,
        end_ms=config.end_ms,
        days=config.days,
        format=config.format,
        events_written=events_written,
        gzip=config.gzip,
        max_file_mb=config.max_file_mb,
        chunk_users=config.chunk_users,
        digests=tuple(
            file_digest(path)
            for path in (config.events_path, config.flows_path, config.lookup_path)
        ),
    )


class _Continue:
    """A continue: the saved users walk on from their states, new users join, new files land
    beside the old ones, and the record gains one more entry in ``continued``.

    Its :meth:`prepare` checks, locks and repairs the folder (an interrupted continue undone)
    before it reads the run's record: a continue killed while swapping config/ left the record
    aside.  The run, its record and its sheet are known from then on.
    """

    def __init__(self, request: ContinueConfig) -> None:
        self.request = request
        self.config: RunConfig
        self.previous: RunRecord
        self.product: Product
        self.number = 0  # this continue's number (the record's continues, plus one)
        self.new_users = 0

    def prepare(self) -> output.Staging | None:
        folder = self.request.output_dir
        staging = output.prepare_continue(folder, _interrupted_number(folder))
        try:
            self.config, self.previous, self.product = _resolve_continue(self.request)
            self.number = len(self.previous.continued) + 1
            if self.config.end_ms == self.previous.end_ms:  # no time passed: nothing changes
                output.roll_back_continue(staging, self.number)
                return None
            self.new_users = new_user_count(self.previous, self.config.end_ms)
            self._split_saved_users(staging)
        except BaseException:
            output.roll_back_continue(staging, self.number)
            raise
        return staging

    def job(self, staging: output.Staging) -> Job:
        config, previous = self.config, self.previous
        return Job(
            self.product,
            Params(backfill_days=config.days),
            config.seed,
            config.end_ms,
            previous.users_total + self.new_users,
            os.path.abspath(staging.path),
            chunk_users=previous.chunk_users,
            format=config.format,
            compress=config.gzip,
            max_bytes=max_file_bytes(config.max_file_mb),
            run_number=self.number,
            saved_users=previous.users_total,
            since_ms=previous.end_ms - 1,
            new_window_ms=config.end_ms - previous.end_ms,
            engine=config.engine,
        )

    def nothing(self) -> WalkStats:
        stats = WalkStats.for_product(self.product)
        stats.users = self.previous.users_total
        return stats

    def _split_saved_users(self, staging: output.Staging) -> None:
        """Every saved user checked, and written into its chunk's part for its worker."""
        parts: dict[int, AtomicFile] = {}

        def open_part(chunk: int) -> Callable[[bytes], None]:
            parts[chunk] = AtomicFile(staging.staged(layout.part_saved(chunk)))
            return parts[chunk].write

        try:
            split_saved_users(
                self.config.output_dir,
                self.previous,
                UserNames.of(self.product),
                self.previous.chunk_users,
                open_part,
                lambda chunk: parts[chunk].commit(),
            )
        except BaseException:
            for part in parts.values():
                part.abort()
            raise

    def record(self, stats: WalkStats) -> RunRecord:
        previous, config = self.previous, self.config
        fresh = record_of(config, stats.events)
        entry = Continued(
            run=self.number,
            from_ms=previous.end_ms,
            to_ms=config.end_ms,
            new_users=self.new_users,
            users_total=previous.users_total + self.new_users,
            events_written=stats.events,
        )
        return replace(
            previous,
            events_path=fresh.events_path,
            flows_path=fresh.flows_path,
            lookup_path=fresh.lookup_path,
            digests=fresh.digests,
            end_ms=config.end_ms,
            events_written=previous.events_written + stats.events,
            max_file_mb=config.max_file_mb,
            continued=(*previous.continued, entry),
        )

    def publish(self, staging: output.Staging) -> None:
        output.publish_continue(staging)

    def roll_back(self, staging: output.Staging) -> None:
        output.roll_back_continue(staging, self.number)


def _interrupted_number(folder: str) -> int | None:
    """The number a continue of the run in ``folder`` has: its record's continues, plus one.
    The record may be aside in the staging folder (a continue killed while swapping config/);
    None when neither can be read (then an interrupted continue's files are left in place)."""
    for path in (
        os.path.join(folder, layout.RUN_FILE),
        os.path.join(folder, layout.RUN_FILE_ASIDE),
    ):
        try:
            return len(read_record(path).continued) + 1
        except GeneratorError:
            continue
    return None


def new_user_count(record: RunRecord, end_ms: int) -> int:
    """New users for a continue to ``end_ms``: ``Params.continue_new_users_share`` of the first
    run's users per ``continue_new_users_period_days`` since the first run's end, less those added
    already (so daily continues add as many as one long one, fractions carried over)."""
    params = Params()
    elapsed = max(0, end_ms - record.first_end_ms)
    period = params.continue_new_users_period_days * DAY_MS
    target = int(record.users * params.continue_new_users_share * elapsed / period)
    return max(0, target - record.new_users_so_far)


def _differs(what: str, given: object, recorded: object, flag: str) -> UsageError:
    return UsageError(
        f"{flag} {given} differs from the run being continued ({what} {recorded}); a continued run "
        f"keeps it: leave {flag} out"
    )


def _continued_config(request: ContinueConfig, record: RunRecord) -> RunConfig:
    """The run as it will stand after the continue: the record's settings, the new end time, and
    the flags given again (refused where they would change the run)."""
    if request.end_ms < record.end_ms:
        raise UsageError(
            f"the end time {iso(request.end_ms)} is before the end of the run being continued "
            f"({iso(record.end_ms)}); a continued run only moves forward"
        )
    if request.users is not None and request.users != record.users:
        raise _differs("users", request.users, record.users, "--users")
    if request.seed is not None and request.seed != record.seed:
        raise _differs("seed", request.seed, record.seed, "--seed")
    if request.format is not None and request.format != record.format:
        raise _differs("format", request.format, record.format, "--format")
    if request.gzip is not None and request.gzip != record.gzip:
        raise _differs("gzip", request.gzip, record.gzip, "--gzip")
    config = RunConfig(
        events_path=request.events_path or record.events_path,
        flows_path=request.flows_path or record.flows_path,
        lookup_path=request.lookup_path or record.lookup_path,
        users=record.users,
        output_dir=request.output_dir,
        seed=record.seed,
        end_ms=request.end_ms,
        days=record.days,
        workers=request.workers,
        format=record.format,
        gzip=record.gzip,
        max_file_mb=record.max_file_mb if request.max_file_mb is None else request.max_file_mb,
        chunk_users=record.chunk_users,
        dask=request.dask,
        engine=request.engine,
    )
    config.check()
    return config
