"""Bounds on a run's numbers that no sheet needs to pass but a typo can (``--days 9999999``).

Past them a run would fail late, with a traceback, or write what no reader can parse: a seed that
is not a JSON integer, dates before year 1 or after 9999.  They are refused up front (exit 2).
"""

from __future__ import annotations

from .errors import UsageError
from .params import DAY_MS

MAX_SEED = 2**63 - 1  # a seed is recorded in run.json as a JSON integer
MAX_DAYS = 36_525  # 100 years of backfill
EARLIEST_MS = -2_208_988_800_000  # 1900-01-01: dates before it are mistakes, not data
LATEST_MS = 253_370_764_800_000  # 9999-01-01: later dates cannot be written as ISO 8601
# An events file's size limit in MB (10^6 bytes): below a kilobyte every event gets a file of its
# own; above a terabyte no reader opens the file, and 1e303 MB overflows when made bytes.
MIN_FILE_MB = 0.001
MAX_FILE_MB = 1_000_000.0


def check_file_mb(max_file_mb: float) -> None:
    """Refuse an events file size limit outside the bounds above (NaN and infinity too)."""
    if not MIN_FILE_MB <= max_file_mb <= MAX_FILE_MB:
        raise UsageError(
            f"the file size limit must be from {MIN_FILE_MB:g} to {MAX_FILE_MB:,.0f} MB, "
            f"not {max_file_mb}"
        )


def check_window(seed: int, days: int, end_ms: int) -> None:
    """Refuse a seed, a backfill window or an end time outside the bounds above."""
    if seed > MAX_SEED:
        raise UsageError(f"the seed must be a whole number from 0 to {MAX_SEED}, not {seed}")
    if days > MAX_DAYS:
        raise UsageError(
            f"the backfill window must be at most {MAX_DAYS:,} days (100 years), not {days:,}"
        )
    if end_ms - days * DAY_MS < EARLIEST_MS or end_ms > LATEST_MS:
        raise UsageError(
            f"the backfill window ({days:,} days up to the end time) must fall between "
            f"1900-01-01 and 9999-01-01; give another end time or fewer days"
        )
