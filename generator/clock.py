"""Time as the generator sees it: integer milliseconds since the Unix epoch, in UTC.

The clock is a parameter: nothing in ``generator/`` reads the current time; the front passes the
end time in.  Formatting timestamps is on the hot path (one per event), so ISO strings are built
from cached pieces instead of ``datetime.isoformat``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday; Monday is 0


def weekday(day: int) -> int:
    """Day of the week (Monday 0 .. Sunday 6) of epoch day ``day``."""
    return (day + _EPOCH_WEEKDAY) % 7


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def to_ms(moment: datetime) -> int:
    """A timezone-aware datetime as epoch milliseconds (naive datetimes are taken as UTC).

    Integer arithmetic on the timedelta: ``timestamp() * 1000`` is a float that truncates some
    exact milliseconds one down (``...34.491`` became ``...34.490``).  A fraction below a
    millisecond is dropped toward the past, so the result is never after ``moment``.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _ONE_MS


def parse_iso(text: str) -> int:
    """Parse an ISO 8601 date or date-time (``Z`` or an offset; no zone means UTC) to epoch ms."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    return to_ms(moment)


class IsoFormatter:
    """Formats epoch milliseconds as ``2026-11-29T09:15:30.123Z``, caching the pieces.

    One instance per process: the 86,400 time-of-day strings cost about 30 ms to build once.
    """

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        # Public so that encoders can index them directly on their own hot paths.
        two = [f"{n:02d}" for n in range(60)]
        self.seconds = [f"{h}:{m}:{s}." for h in two[:24] for m in two for s in two]
        self.millis = [f"{m:03d}Z" for m in range(1000)]

    def day_prefix(self, day: int) -> str:
        prefix = self._days.get(day)
        if prefix is None:
            moment = datetime.fromtimestamp(day * 86_400, UTC)
            prefix = self._days[day] = moment.strftime("%Y-%m-%dT")
        return prefix

    def format(self, ms: int) -> str:
        day, rest = divmod(ms, DAY_MS)
        second, milli = divmod(rest, 1000)
        return self.day_prefix(day) + self.seconds[second] + self.millis[milli]


_formatter: IsoFormatter | None = None


def formatter() -> IsoFormatter:
    """The process's shared formatter, built on first use."""
    global _formatter
    if _formatter is None:
        _formatter = IsoFormatter()
    return _formatter


def iso(ms: int) -> str:
    return formatter().format(ms)
