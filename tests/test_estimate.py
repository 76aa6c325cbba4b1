"""The estimate of a run before it starts: events, bytes on disk and time, from a calibration on
users of the run's own sheet, held against real runs with a tolerance a wrong estimate would fail
(forgetting gzip is a factor of 15, another format's bytes a factor of 1.6)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest

from generator import (
    CALIBRATION_USERS,
    CONFIRM_BYTES,
    CONFIRM_SECONDS,
    ContinueConfig,
    Estimate,
    NoRoomError,
    calibrate,
    check_continue,
    check_room,
    estimate_continue,
    estimate_run,
    generate,
    load_product,
    parse_iso,
)
from generator.estimate import sample_size
from tests.helpers import SMALL_CHUNKS, continue_run, example, examples_config

PRODUCT = load_product(example("events.csv"), example("flows.csv"), example("lookup_table.csv"))


def on_disk(files: list[tuple[str, int]]) -> int:
    return sum(size for _, size in files)


@pytest.mark.parametrize(
    ("fmt", "compress"), [("json", False), ("jsonl", True), ("posthog", False)]
)
def test_a_calibration_as_large_as_the_run_is_exact(
    tmp_path: Any, fmt: str, compress: bool
) -> None:
    """The calibration is the run's own first users: a run that small is counted, not guessed
    (bytes differ only by the files' framing, gzip's per-file streams and the record)."""
    config = examples_config(os.path.join(tmp_path, "out"), users=600, seed=8, days=30,
                             format=fmt, gzip=compress, chunk_users=SMALL_CHUNKS * 10)  # fmt: skip
    estimate = estimate_run(config, PRODUCT, sample=600)
    result = generate(config, PRODUCT)
    assert estimate.events == result.stats.events
    assert 0.97 < estimate.bytes / on_disk(result.files) < 1.03, (estimate, result.files)
    assert estimate.seconds is None and estimate.sample == 600 and estimate.users == 600


def test_a_larger_run_is_estimated_from_its_first_users(tmp_path: Any) -> None:
    """A fifth of the run's users, heavy-tailed as they are (a wrong scale, a forgotten format or
    another seed's users would be off by far more than this)."""
    config = examples_config(os.path.join(tmp_path, "out"), users=1000, seed=3, days=30,
                             chunk_users=SMALL_CHUNKS * 10)  # fmt: skip
    estimate = estimate_run(config, PRODUCT, sample=200)
    result = generate(config, PRODUCT)
    assert 0.8 < estimate.events / result.stats.events < 1.2, (estimate, result.stats.events)
    assert 0.8 < estimate.bytes / on_disk(result.files) < 1.2, (estimate, result.files)
    assert estimate.sample == 200


def test_the_same_answers_give_the_same_estimate_in_proportion_to_the_users() -> None:
    config = examples_config("out", users=1000, days=30)
    first = estimate_run(config, PRODUCT)
    assert estimate_run(config, PRODUCT) == first
    per_user = calibrate(config, PRODUCT)
    one = estimate_run(config, PRODUCT, calibration=per_user)
    more = estimate_run(dataclasses.replace(config, users=10_000), PRODUCT, calibration=per_user)
    assert more.events == pytest.approx(10 * one.events, rel=1e-3)
    assert more.bytes == pytest.approx(10 * one.bytes, rel=1e-3)


def test_a_run_given_by_flags_calibrates_on_a_twentieth_of_its_users() -> None:
    """At most about 5% more work (a calibration of its first 1,000 users doubled a 1,000-user
    run): all of a run of up to 20 users, a twentieth, never more than CALIBRATION_USERS."""
    assert [sample_size(n) for n in (1, 7, 20, 150, 1000, 2000, 20_000, 10**8)] == [
        1, 7, 20, 20, 50, 100, CALIBRATION_USERS, CALIBRATION_USERS,
    ]  # fmt: skip
    small = estimate_run(examples_config("out", users=7, days=30), PRODUCT)
    assert small.sample == 7 and small.events > 0
    assert estimate_run(examples_config("out", users=4000, days=30), PRODUCT).sample == 200


def test_time_is_measured_with_the_timer_given_and_shared_among_the_workers() -> None:
    config = examples_config("out", users=4000, days=30, workers=2)
    ticks = iter([10.0, 12.0])  # the calibration of 200 users takes 2 s: 10 ms per user
    per_user = calibrate(config, PRODUCT, timer=lambda: next(ticks), sample=200)
    assert per_user.seconds == pytest.approx(0.01)
    estimate = estimate_run(config, PRODUCT, calibration=per_user)
    assert estimate.seconds == pytest.approx(0.5 + 0.01 * 4000 / min(2, os.cpu_count() or 1))
    one = estimate_run(dataclasses.replace(config, users=100), PRODUCT, calibration=per_user)
    assert one.seconds == pytest.approx(0.5 + 0.01 * 100), "one chunk: one worker"


def test_a_continue_is_estimated_from_the_run_it_carries_on(tmp_path: Any) -> None:
    folder = os.path.join(tmp_path, "out")
    generate(examples_config(folder, users=300, seed=2, days=30, end_ms=parse_iso("2026-11-01")))
    # Two more weeks: about half the month the run covered.
    config, record, product = check_continue(ContinueConfig(folder, parse_iso("2026-11-15")))
    estimate = estimate_continue(folder, record, config, product)
    result = continue_run(folder, "2026-11-15")
    assert 0.6 < estimate.events / result.stats.events < 1.4, (estimate, result.stats.events)
    assert 0.6 < estimate.bytes / on_disk(result.files) < 1.4, (estimate, result.files)
    # Continued to its own end again: nothing to write.
    config, record, product = check_continue(ContinueConfig(folder, parse_iso("2026-11-15")))
    nothing = estimate_continue(folder, record, config, product)
    assert (nothing.events, nothing.bytes) == (0, 0)


def test_a_run_larger_than_the_free_space_is_refused(tmp_path: Any) -> None:
    folder = os.path.join(tmp_path, "new", "out")
    small = Estimate(users=10, events=100, bytes=1_000, seconds=1.0, sample=10)
    assert check_room(small, folder) > 1_000
    huge = dataclasses.replace(small, bytes=10**18)
    with pytest.raises(NoRoomError) as refused:
        check_room(huge, folder)
    assert refused.value.exit_status == 2
    assert str(refused.value).startswith("this run needs about 1,000,000 TB and the disk that")
    assert not os.path.exists(os.path.join(tmp_path, "new"))


def test_a_run_over_10_gb_or_10_minutes_is_large() -> None:
    base = Estimate(users=1, events=1, bytes=CONFIRM_BYTES, seconds=CONFIRM_SECONDS, sample=1)
    assert not base.large
    assert dataclasses.replace(base, bytes=CONFIRM_BYTES + 1).large
    assert dataclasses.replace(base, seconds=CONFIRM_SECONDS + 1).large
    assert not dataclasses.replace(base, seconds=None).large


def test_the_calibration_does_not_depend_on_the_number_of_users() -> None:
    """The same first users, whatever the run's size: one calibration serves every number typed."""
    config = examples_config("out", users=5000, days=30)
    larger = dataclasses.replace(config, users=9000)
    assert calibrate(config, PRODUCT, sample=300) == calibrate(larger, PRODUCT, sample=300)
