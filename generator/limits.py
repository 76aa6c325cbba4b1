"""Every default and bound of a run's numbers, in one place: the core enforces them, the front asks
within them and shows them, the run record is held to them.

Bounds are not there for a sheet (no sheet needs to pass them) but for a typo: ``--days 9999999``
or ``--users 10000000000`` would fail late, with a traceback, or write what no reader can parse (a
seed that is not a JSON integer, dates past year 9999).  They are refused up front, exit status 2.
"""

from __future__ import annotations

import math
import os

from .clock import DAY_MS
from .errors import UsageError

DEFAULT_USERS = 1000  # the question's default: about 2 s and 70 MB with the bundled examples
MAX_USERS = 100_000_000  # about 6 TB of JSON with the examples; more is surely a typo
DEFAULT_DAYS = 90  # the backfill window: users are created over the days before the end time
MAX_DAYS = 3_660  # ten years of backfill; more is a typo
MAX_SEED = 2**63 - 1  # a seed is recorded in run.json as a JSON integer
MAX_WORKERS = 256
DEFAULT_MAX_FILE_MB = 256.0  # an events file is rotated before its content passes this
MIN_FILE_MB = 0.001  # a kilobyte: every event still gets written (one per file at worst)
MAX_FILE_MB = 1_000_000.0  # a terabyte per file; more is a typo (and 1e303 overflows)
MB = 1_000_000
DEFAULT_CHUNK_USERS = 1000  # users per chunk (one events file each): fixed by the run, never by
MAX_CHUNK_USERS = 1_000_000  # the number of workers, so workers never change the output
CALIBRATION_USERS = 1000  # the run's first users, made in memory to estimate it (0.3 s, examples)
CALIBRATION_SHARE = 20  # a run of known size calibrates on a twentieth of its users (at least
CALIBRATION_MIN_USERS = 20  # this many): the estimate costs it at most about 5% more
CONFIRM_BYTES = 10 * 10**9  # in a terminal, a run estimated larger than this asks to go on
CONFIRM_SECONDS = 10 * 60  # ... and so does one estimated longer than this
EARLIEST_MS = -2_208_988_800_000  # 1900-01-01: dates before it are mistakes, not data
LATEST_MS = 253_370_764_800_000  # 9999-01-01: leaves a window's last year below year 10000
DATE_RANGE = "between 1900-01-01 and 9999-01-01"  # EARLIEST_MS and LATEST_MS, in messages

# The whole numbers a run takes (flags, answers, records): their lowest and highest values.
BOUNDS = {
    "users": (1, MAX_USERS),
    "seed": (0, MAX_SEED),
    "days": (1, MAX_DAYS),
    "workers": (1, MAX_WORKERS),
    "chunk_users": (1, MAX_CHUNK_USERS),
}


# An events file's size limit in MB (10^6 bytes): below a kilobyte every event gets a file of its
# own; above a terabyte no reader opens the file, and 1e303 MB overflows when made bytes.
def check_whole(value: int, what: str, minimum: int, maximum: int) -> int:
    """Refuse a whole number outside [minimum, maximum]; the message says what is allowed."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise UsageError(
            f"{what} must be a whole number from {minimum:,} to {maximum:,}, not {value}"
        )
    return value


def check_users(users: int) -> int:
    return check_whole(users, "the number of users", *BOUNDS["users"])


def default_workers() -> int:
    """One worker per CPU: the default when neither a flag nor a question names a number."""
    return os.cpu_count() or 1


def check_days(days: int) -> int:
    return check_whole(days, "the backfill window (days)", *BOUNDS["days"])


def check_seed(seed: int) -> int:
    return check_whole(seed, "the seed", *BOUNDS["seed"])


def check_workers(workers: int) -> int:
    return check_whole(workers, "the number of workers", *BOUNDS["workers"])


def check_chunk_users(chunk_users: int) -> int:
    return check_whole(chunk_users, "the users per chunk", *BOUNDS["chunk_users"])


def check_max_file_mb(megabytes: float) -> float:
    """A file size limit in megabytes, from MIN_FILE_MB to MAX_FILE_MB (NaN and infinity never)."""
    if (
        isinstance(megabytes, bool)
        or not isinstance(megabytes, int | float)
        or not math.isfinite(megabytes)
        or not MIN_FILE_MB <= megabytes <= MAX_FILE_MB
    ):
        raise UsageError(
            f"the file size limit must be a number of megabytes from {MIN_FILE_MB:g} to "
            f"{MAX_FILE_MB:,.0f}, not {megabytes}"
        )
    return float(megabytes)


def max_file_bytes(megabytes: float) -> int:
    """The file size limit in bytes (at least one byte, so every file holds an event)."""
    return max(1, int(check_max_file_mb(megabytes) * MB))


def check_end(end_ms: int) -> int:
    """An end time between EARLIEST_MS and LATEST_MS."""
    if (
        isinstance(end_ms, bool)
        or not isinstance(end_ms, int)
        or not EARLIEST_MS <= end_ms <= LATEST_MS
    ):
        raise UsageError(f"the end time must fall {DATE_RANGE}")
    return end_ms


def check_window(days: int, end_ms: int) -> None:
    """Refuse a backfill window that does not fall between EARLIEST_MS and LATEST_MS."""
    check_end(end_ms)
    if end_ms - days * DAY_MS < EARLIEST_MS:
        raise UsageError(
            f"the backfill window ({days:,} days up to the end time) must fall between "
            f"{DATE_RANGE.removeprefix('between ')}; give another end time or fewer days"
        )
