"""An end time given to the millisecond is that millisecond, on every date of the window.

``to_ms`` used ``int(datetime.timestamp() * 1000)``: a float of about 16 significant digits,
truncated, so ``2004-01-23T01:23:34.491Z`` became ``...34.490Z`` and the run stopped 1 ms early.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone

import orjson
from hypothesis import given
from hypothesis import strategies as st

from event_generator import main
from generator.clock import iso, parse_iso, to_ms
from generator.limits import EARLIEST_MS, LATEST_MS
from tests.helpers import EXAMPLE_FILES

# Dates that the float arithmetic moved by 1 ms (found by comparing parse_iso(iso(ms)) with ms).
MOVED_BY_FLOATS = [
    "2004-01-23T01:23:34.491Z",
    "2038-12-13T10:46:05.411Z",
    "1987-03-10T07:17:59.711Z",
    "1970-02-19T02:33:13.464Z",
    "1935-10-13T01:50:08.959Z",
    "6366-12-20T09:40:00.119Z",
]


def test_end_times_that_floats_moved_by_a_millisecond_are_exact() -> None:
    for text in MOVED_BY_FLOATS:
        assert iso(parse_iso(text)) == text


@given(st.integers(EARLIEST_MS, LATEST_MS))
def test_every_millisecond_of_the_window_survives_the_round_trip(ms: int) -> None:
    assert parse_iso(iso(ms)) == ms


@given(
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9998, 12, 31)),
    st.integers(-23 * 60, 23 * 60),
)
def test_to_ms_counts_whole_milliseconds_down_in_any_zone(moment: datetime, offset: int) -> None:
    """Microseconds below a millisecond are dropped toward the past: never after the moment."""
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset)))
    exact = (aware - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert to_ms(aware) == exact // 1000
    assert to_ms(moment) == to_ms(moment.replace(tzinfo=UTC))  # naive is UTC


def test_the_run_records_and_repeats_the_end_it_was_given(tmp_path: os.PathLike[str]) -> None:
    end = "2004-01-23T01:23:34.491Z"
    folder = os.path.join(os.fspath(tmp_path), "out")
    args = [*EXAMPLE_FILES, "--users", "2", "--seed", "5", "--output", folder, "--end", end]
    assert main(args) == 0
    with open(os.path.join(folder, "config", "run.json"), "rb") as handle:
        assert orjson.loads(handle.read())["end"] == end
