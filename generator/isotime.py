"""ISO 8601 UTC timestamps from integer milliseconds, exactly, one at a time or as arrays of bytes.

``2026-11-29T09:15:30.123Z``: the calendar date comes from the epoch day by Howard Hinnant's
``civil_from_days`` (integer arithmetic only: days to 400-year eras, years of the era, months from
March), so the scalar and the numpy forms agree with each other and with the proleptic Gregorian
calendar of ``datetime`` on every machine.  Times from 1900-01-01 to 9999-12-31 are accepted (four
digits of year).  ``generator.clock`` formats one time at a time for the plain model (through
``datetime``); this module formats a batch's timestamps at once into a numpy array of bytes, a
table of digit pairs and a few integer operations per event.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from .clock import DAY_MS
from .limits import EARLIEST_MS

FIRST_MS = EARLIEST_MS  # 1900-01-01T00:00:00.000Z
LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
FIRST_DAY = FIRST_MS // DAY_MS
LAST_DAY = LAST_MS // DAY_MS
DATE_WIDTH = 11  # "2026-11-29T"
TIME_WIDTH = 13  # "09:15:30.123Z"

_SHIFT_DAYS = 719_468  # days from 0000-03-01 to 1970-01-01
_ERA_DAYS = 146_097  # days in 400 years
_ZERO = ord("0")

Ints = npt.NDArray[np.int64]


def civil(day: int) -> tuple[int, int, int]:
    """``(year, month, day of month)`` of epoch day ``day`` (1970-01-01 is day 0)."""
    z = day + _SHIFT_DAYS
    era = z // _ERA_DAYS
    doe = z - era * _ERA_DAYS  # day of the era, 0 .. 146096
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365  # year of the era, 0 .. 399
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)  # day of the year from March 1st, 0 .. 365
    mp = (5 * doy + 2) // 153  # month from March, 0 .. 11
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, doy - (153 * mp + 2) // 5 + 1


def civil_array(days: npt.ArrayLike) -> tuple[Ints, Ints, Ints]:
    """:func:`civil` for an array of epoch days: arrays of years, months and days of month."""
    z = np.asarray(days, dtype=np.int64) + _SHIFT_DAYS
    era = z // _ERA_DAYS  # numpy's // on integers floors, like Python's
    doe = z - era * _ERA_DAYS
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, doy - (153 * mp + 2) // 5 + 1


def _check(low: int, high: int) -> None:
    if low < FIRST_MS or high > LAST_MS:
        raise ValueError("a timestamp must fall between 1900-01-01 and 9999-12-31 (UTC)")


def iso(ms: int) -> str:
    """``ms`` since the epoch as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    _check(ms, ms)
    day, rest = divmod(ms, DAY_MS)
    year, month, mday = civil(day)
    second, milli = divmod(rest, 1000)
    minute, second = divmod(second, 60)
    hour, minute = divmod(minute, 60)
    return f"{year:04d}-{month:02d}-{mday:02d}T{hour:02d}:{minute:02d}:{second:02d}.{milli:03d}Z"


def _pairs() -> npt.NDArray[np.uint16]:
    """The two ASCII digits of 0 .. 99 as one 16-bit value each, in memory order."""
    text = "".join(f"{n:02d}" for n in range(100)).encode()
    return np.frombuffer(text, dtype=np.uint16).copy()


_PAIRS = _pairs()


def _put2(out: npt.NDArray[np.uint8], column: int, values: Ints) -> None:
    """Write ``values`` (0 .. 99) as two digits into ``out[:, column:column + 2]``: one 16-bit
    gather per row, several times faster than a digit at a time."""
    out[:, column : column + 2].view(np.uint16)[:, 0] = _PAIRS[values]


def _put_date(out: npt.NDArray[np.uint8], day: Ints) -> None:
    year, month, mday = civil_array(day)
    _put2(out, 0, year // 100)
    _put2(out, 2, year % 100)
    _put2(out, 5, month)
    _put2(out, 8, mday)
    out[:, 4] = out[:, 7] = ord("-")
    out[:, 10] = ord("T")


def _put_time(out: npt.NDArray[np.uint8], column: int, rest: Ints) -> None:
    """``HH:MM:SS.mmmZ`` of times of day into ``out[:, column:column + 13]``: the 8 bytes of the
    second and the 4 of the millisecond from tables, one gather each (integer division is the
    slow step of numpy, so there is one: seconds and milliseconds)."""
    seconds, milli = np.divmod(rest, 1000)
    out[:, column : column + 8].view(np.uint64)[:, 0] = _second_texts()[seconds]
    out[:, column + 8] = ord(".")
    out[:, column + 9 : column + 13].view(np.uint32)[:, 0] = _milli_texts()[milli]


@functools.cache
def _second_texts() -> npt.NDArray[np.uint64]:
    """``HH:MM:SS`` of each second of a day (86,400), 8 ASCII bytes each, in memory order."""
    second = np.arange(86_400, dtype=np.int64)
    minutes = second // 60
    rows = np.empty((second.size, 8), dtype=np.uint8)
    _put2(rows, 0, minutes // 60)
    _put2(rows, 3, minutes % 60)
    _put2(rows, 6, second % 60)
    rows[:, 2] = rows[:, 5] = ord(":")
    return rows.view(np.uint64).ravel()


@functools.cache
def _milli_texts() -> npt.NDArray[np.uint32]:
    """``mmmZ`` of each millisecond of a second (1,000), 4 ASCII bytes each, in memory order."""
    text = "".join(f"{n:03d}Z" for n in range(1000)).encode()
    return np.frombuffer(text, dtype=np.uint32).copy()


def date_bytes(days: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """``YYYY-MM-DDT`` for each epoch day, as an ``(n, 11)`` array of ASCII bytes."""
    day = np.asarray(days, dtype=np.int64).ravel()
    if day.size:
        _check(int(day.min()) * DAY_MS, int(day.max()) * DAY_MS)
    out = np.empty((day.size, DATE_WIDTH), dtype=np.uint8)
    _put_date(out, day)
    return out


def time_bytes(ms_of_day: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """``HH:MM:SS.mmmZ`` for each time of day in ms (0 .. 86,399,999), as ``(n, 13)`` bytes."""
    rest = np.asarray(ms_of_day, dtype=np.int64).ravel()
    if rest.size and (int(rest.min()) < 0 or int(rest.max()) >= DAY_MS):
        raise ValueError("a time of day is from 0 to 86,399,999 ms")
    out = np.empty((rest.size, TIME_WIDTH), dtype=np.uint8)
    _put_time(out, 0, rest)
    return out


def iso_bytes(ms: npt.ArrayLike, tail: bytes = b"") -> npt.NDArray[np.uint8]:
    """:func:`iso` for an array of times, as an ``(n, 24 + len(tail))`` array of ASCII bytes, one
    timestamp per row, each followed by ``tail`` (the end of an event line, say)."""
    moments = np.asarray(ms, dtype=np.int64).ravel()
    if moments.size:
        _check(int(moments.min()), int(moments.max()))
    out = np.empty((moments.size, DATE_WIDTH + TIME_WIDTH + len(tail)), dtype=np.uint8)
    day = moments // DAY_MS
    first = int(day.min()) if day.size else 0
    span = int(day.max()) - first + 1 if day.size else 0
    if span <= day.size:  # a batch covers a few days: compute each date once, then copy rows
        dates = date_bytes(np.arange(first, first + span))
        head = np.ascontiguousarray(dates[:, :8]).view(np.uint64)[:, 0]  # "YYYY-MM-"
        mday = np.ascontiguousarray(dates[:, 8:10]).view(np.uint16)[:, 0]  # "DD"
        which = day - first
        out[:, :8].view(np.uint64)[:, 0] = head[which]
        out[:, 8:10].view(np.uint16)[:, 0] = mday[which]
        out[:, 10] = ord("T")
    else:
        _put_date(out, day)
    _put_time(out, DATE_WIDTH, moments - day * DAY_MS)
    if len(tail) <= 8:  # a column at a time: several times faster than a broadcast row
        for position, byte in enumerate(tail, start=DATE_WIDTH + TIME_WIDTH):
            out[:, position] = byte
    else:
        out[:, DATE_WIDTH + TIME_WIDTH :] = np.frombuffer(tail, dtype=np.uint8)
    return out
