"""ISO 8601 timestamps from integer arithmetic: the calendar of ``datetime``, in both forms."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import clock
from generator.isotime import (
    FIRST_DAY,
    FIRST_MS,
    LAST_DAY,
    LAST_MS,
    civil,
    civil_array,
    date_bytes,
    iso,
    iso_bytes,
    time_bytes,
)

EPOCH = date(1970, 1, 1)
MS = st.one_of(st.integers(FIRST_MS, LAST_MS), st.sampled_from([FIRST_MS, LAST_MS, 0, -1, 1]))


def test_every_day_from_1900_to_9999_is_the_gregorian_calendar_in_both_forms() -> None:
    days = np.arange(FIRST_DAY, LAST_DAY + 1)  # 2,958,464 days: every leap rule, both centuries
    years, months, mdays = civil_array(days)
    moments = days.astype("datetime64[D]")  # numpy's own calendar, an independent one
    assert (years == moments.astype("datetime64[Y]").astype(np.int64) + 1970).all()
    assert (months == moments.astype("datetime64[M]").astype(np.int64) % 12 + 1).all()
    assert (mdays == (moments - moments.astype("datetime64[M]")).astype(np.int64) + 1).all()
    # Consecutive days: the day of the month counts up by one or restarts at 1 with a new month.
    step = np.diff(mdays)
    assert ((step == 1) | (mdays[1:] == 1)).all()
    assert years[0] == 1900 and years[-1] == 9999
    assert (years == 2000).sum() == 366 and (years == 1900).sum() == 365
    assert (years == 2100).sum() == 365 and (years == 2400).sum() == 366


@settings(max_examples=300, deadline=None)
@given(st.integers(FIRST_DAY, LAST_DAY))
def test_the_scalar_and_array_calendars_agree(day: int) -> None:
    expected = EPOCH + timedelta(days=day)
    assert civil(day) == (expected.year, expected.month, expected.day)
    assert tuple(int(x[0]) for x in civil_array([day])) == civil(day)


@settings(max_examples=300, deadline=None)
@given(st.lists(MS, min_size=1, max_size=20))
def test_timestamps_are_datetimes_isoformat_in_both_forms(times: list[int]) -> None:
    expected = [
        (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms))
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
        for ms in times
    ]
    assert [iso(ms) for ms in times] == expected
    assert iso_bytes(np.array(times)).view("S24").ravel().tolist() == [
        text.encode() for text in expected
    ]
    assert [clock.iso(ms) for ms in times] == expected  # the plain model's formatter agrees


def test_date_and_time_pieces_are_the_two_halves_of_a_timestamp() -> None:
    ms = 1_796_031_330_123  # 2026-11-30T09:35:30.123Z
    assert date_bytes([ms // 86_400_000]).tobytes() == b"2026-11-30T"
    assert time_bytes([ms % 86_400_000]).tobytes() == b"09:35:30.123Z"
    assert time_bytes([0, 86_399_999]).tobytes() == b"00:00:00.000Z23:59:59.999Z"


@pytest.mark.parametrize("ms", [FIRST_MS - 1, LAST_MS + 1])
def test_a_time_outside_1900_to_9999_is_refused_in_both_forms(ms: int) -> None:
    with pytest.raises(ValueError, match="1900"):
        iso(ms)
    with pytest.raises(ValueError, match="1900"):
        iso_bytes([ms])
    with pytest.raises(ValueError, match="1900"):
        date_bytes([ms // 86_400_000])


def test_a_time_of_day_outside_the_day_is_refused() -> None:
    with pytest.raises(ValueError, match="time of day"):
        time_bytes([86_400_000])
    with pytest.raises(ValueError, match="time of day"):
        time_bytes([-1])


def test_a_batch_within_a_few_days_gets_the_same_text_as_one_at_a_time() -> None:
    """A batch spanning fewer days than it has times computes each date once (another path)."""
    times = np.arange(-2 * 86_400_000, 86_400_000, 86_399)  # about 3,500 times over three days
    assert iso_bytes(times).view("S24").ravel().tolist() == [iso(int(ms)).encode() for ms in times]
    assert iso_bytes(times, b'"}\n')[:, 24:].tobytes() == b'"}\n' * len(times)
    long_tail = b'","extra":"0123456789"}\n'  # written as a row, not a column at a time
    assert iso_bytes(times[:50], long_tail)[:, 24:].tobytes() == long_tail * 50
    assert iso_bytes(times[:50], long_tail)[:, :24].tobytes() == iso_bytes(times[:50]).tobytes()
