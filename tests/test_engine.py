"""The batch engine writes the bytes the plain model writes: every sheet, seed, format, worker
count, chunk size, batch size, with gzip, rotation and continues.  Any difference is a bug in one
of them.  The day-level model in arrays (``lives``) is also compared with its plain form draw for
draw, and the pilots that size the population with a plain walk of the same pilots."""

from __future__ import annotations

import os
import shutil
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import RunConfig, generate, parse_iso
from generator import chunks as chunks_module
from generator.batch import _distinct, _distinct_sorted
from generator.clock import DAY_MS
from generator.formats import FORMATS, JSON_ARRAY, JSON_LINES, Framing
from generator.funnels import FlowPlan
from generator.lives import Lives, Model, ZoneDays, after_active_days, quiet_days, steady_share
from generator.loaders import load_product
from generator.params import Params
from generator.pieces import Lines
from generator.population import Population
from generator.sites import Sites, uuid_text, uuid_texts
from generator.users import Clocks, Life, UserState
from generator.users import quiet_days as plain_quiet_days
from generator.walker import WalkStats
from generator.writers import EventFiles
from tests.helpers import END, FIXTURES, ROOT, continue_run, read_events, tree_bytes

SHEETS = {
    "examples": os.path.join(ROOT, "examples"),
    "tiny": os.path.join(FIXTURES, "tiny"),
    "scopes": os.path.join(FIXTURES, "scopes"),
    "nokeys": os.path.join(FIXTURES, "nokeys"),
    "rare-once": os.path.join(FIXTURES, "rare-once"),  # a `final` exit that follows `once` state
    **{
        f"sheets/{name}": os.path.join(ROOT, "benchmarks", "sheets", name)
        for name in ("first-edition", "large", "timezone", "tiny")
    },
}


def sheet_files(sheet: str) -> tuple[str, str, str]:
    folder = SHEETS[sheet]
    lookup = (
        "lookup_table.csv"
        if os.path.exists(os.path.join(folder, "lookup_table.csv"))
        else ("lookup.csv")
    )
    return (
        os.path.join(folder, "events.csv"),
        os.path.join(folder, "flows.csv"),
        os.path.join(folder, lookup),
    )


STATS: dict[tuple[str, str, int], WalkStats] = {}  # (folder, engine, seed) -> the run's stats


def run(
    folder: str, sheet: str, engine: str, users: int = 40, seed: int = 1, **kwargs: Any
) -> dict[str, bytes]:
    """The files of a run (its statistics, for the summary, kept in STATS)."""
    events, flows, lookup = sheet_files(sheet)
    out = os.path.join(folder, f"{engine}-{seed}")
    shutil.rmtree(out, ignore_errors=True)
    end = kwargs.pop("end_ms", parse_iso(END))
    config = RunConfig(events, flows, lookup, users, out, seed, end, engine=engine, **kwargs)
    STATS[folder, engine, seed] = generate(config).stats
    return tree_bytes(out)


def same_bytes(a: dict[str, bytes], b: dict[str, bytes]) -> None:
    """The two runs wrote the same files, byte for byte (the first difference shown)."""
    assert sorted(a) == sorted(b)
    for name in sorted(a):
        if a[name] != b[name]:
            at = (
                next(i for i, (x, y) in enumerate(zip(a[name], b[name])) if x != y)
                if min(len(a[name]), len(b[name]))
                else 0
            )
            pytest.fail(
                f"{name} differs at byte {at}: {a[name][at - 80 : at + 80]!r} against "
                f"{b[name][at - 80 : at + 80]!r}"
            )


# -- whole runs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("sheet", sorted(SHEETS))
def test_both_engines_write_the_same_bytes_on_every_sheet(tmp_path, sheet: str) -> None:
    plain = run(str(tmp_path), sheet, "plain", chunk_users=15)
    batch = run(str(tmp_path), sheet, "batch", chunk_users=15)
    same_bytes(plain, batch)
    assert len(read_events(os.path.join(str(tmp_path), "batch-1"))) > 200
    # ...and the same statistics for the summary (events, funnels, activity, retention).
    assert STATS[str(tmp_path), "plain", 1] == STATS[str(tmp_path), "batch", 1]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_gzipped_and_rotated_is_the_same_in_both_engines(tmp_path, fmt: str) -> None:
    options = {"format": fmt, "gzip": True, "max_file_mb": 0.02, "chunk_users": 12}
    plain = run(str(tmp_path), "scopes", "plain", 30, 3, **options)
    batch = run(str(tmp_path), "scopes", "batch", 30, 3, **options)
    same_bytes(plain, batch)
    assert sum(name.startswith("events/") for name in batch) > 6, "rotated"


def continued(folder: str, sheet: str, engine: str, ends: tuple[str, ...], **options: Any) -> None:
    """A run of ``sheet`` to ``ends[0]``, continued to each later end."""
    events, flows, lookup = sheet_files(sheet)
    config = RunConfig(events, flows, lookup, options.pop("users", 50), folder,
                       options.pop("seed", 11), parse_iso(ends[0]), engine=engine,
                       **options)  # fmt: skip
    generate(config)
    for end in ends[1:]:
        continue_run(folder, end, engine=engine, workers=2)


def test_a_continued_run_is_the_same_in_both_engines(tmp_path) -> None:
    """(That a continue equals one longer walk is ``tests/test_continue.py``'s, on the default
    engine, the batch engine.)"""
    ends = ("2026-11-20T13:37:00Z", "2026-11-21T09:00:00Z", "2026-11-29T12:00:00Z")
    for engine in ("plain", "batch"):
        continued(os.path.join(str(tmp_path), engine), "examples", engine, ends, chunk_users=20)
    found = {e: tree_bytes(os.path.join(str(tmp_path), e)) for e in ("plain", "batch")}
    same_bytes(found["plain"], found["batch"])
    names = sorted(found["batch"])
    assert sum(name.startswith("events/run-002-") for name in names) == 3  # 3 chunks continued


def test_batch_and_chunk_sizes_never_change_the_events(tmp_path, monkeypatch) -> None:
    """Events in file order, users' states: the same for any chunk size and any batch size."""
    seen = []
    for chunk_users, first_batch, batch_events in ((7, 3, 500), (25, 100, 250_000), (60, 1, 50)):
        monkeypatch.setattr(chunks_module, "FIRST_BATCH_USERS", first_batch)
        monkeypatch.setattr(chunks_module, "BATCH_EVENTS", batch_events)
        out = os.path.join(str(tmp_path), f"c{chunk_users}")
        events, flows, lookup = sheet_files("examples")
        generate(
            RunConfig(
                events,
                flows,
                lookup,
                60,
                out,
                5,
                parse_iso(END),
                format="jsonl",
                chunk_users=chunk_users,
            )
        )
        with open(os.path.join(out, "config", "user_id_list.json"), "rb") as handle:
            seen.append((read_events(out), handle.read()))
    assert seen[0] == seen[1] == seen[2]


# -- the day-level model in arrays ----------------------------------------------------------------

WORD = st.integers(0, 2**64 - 1)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 1.0, exclude_max=True), st.integers(-30_000, 40_000), WORD)
def test_quiet_days_are_the_same_in_arrays(p: float, day: int, word: int) -> None:
    params = Params()
    ones = np.array([p]), np.array([day]), np.array([word], dtype=np.uint64)
    assert quiet_days(params, *ones).tolist() == [plain_quiet_days(params, p, day, word)]


def test_after_active_days_moves_users_as_life_does() -> None:
    params = Params(resets_every_breaks=2)
    rng = np.random.default_rng(8)
    size = 3000
    words = rng.integers(0, 2**64, size=(4, size), dtype=np.uint64)
    lives = Lives.empty(size)
    lives.p[:] = rng.random(size)
    lives.churn_probability[:] = 0.6 + 0.4 * rng.random(size)
    lives.skip[:] = rng.integers(0, params.streak_days, size)
    lives.resets[:] = rng.integers(0, 2, size)
    days = rng.integers(19_000, 21_000, size)
    lives.first_day[:] = days - rng.integers(0, 200, size)
    rows = np.arange(size)
    rates = params.churn_rate(
        lives.p, lives.churn_probability, (days - lives.first_day).astype(np.float64)
    )
    exits = rng.random(size) * 0.05
    walked = rng.random(size) < 0.5
    users = [
        UserState(
            0,
            "",
            float(lives.p[i]),
            float(lives.churn_probability[i]),
            0,
            (),
            [],
            skip_days_counter=int(lives.skip[i]),
            churn_prob_reset_counter=int(lives.resets[i]),
        )
        for i in range(size)
    ]
    breaks = np.zeros(size, dtype=np.int64)
    for flag in (True, False):
        part = rows[walked == flag]
        breaks[part] = after_active_days(
            params, lives, part, days[part], words[:, part], rates[part], exits[part], flag
        )
    life = Life(params)
    for i, user in enumerate(users):
        high, low, third, fourth = (int(w) for w in words[:, i])
        block = (high, low, third, fourth)
        off = life.after_active_day(
            user,
            int(days[i]),
            int(lives.first_day[i]),
            block,
            float(exits[i]),
            bool(walked[i]),
            float(rates[i]),
        )
        assert (
            off,
            user.next_day,
            user.p,
            user.skip_days_counter,
            user.churn_prob_reset_counter,
            user.churned,
        ) == (
            int(breaks[i]),
            int(lives.next_day[i]),
            float(lives.p[i]),
            int(lives.skip[i]),
            int(lives.resets[i]),
            bool(lives.churned[i]),
        ), i
    assert 0 < lives.churned.sum() < size and (breaks > 0).sum() > 100


def test_the_pilots_live_the_days_the_plain_model_lives() -> None:
    """``lives.steady_share`` lives its pilots in arrays; the same pilots, lived one at a time
    by the plain model's ``Population``, count the same active days in the first and last week."""
    events, flows, lookup = sheet_files("sheets/timezone")
    product = load_product(events, flows, lookup)
    params = Params(joined_before_pilot=25)
    end = parse_iso(END)
    window = params.backfill_days * DAY_MS
    population = Population(product, params, 3, end)
    population.sites = Sites(3, "pilot.")  # the pilots' own draws
    zone_attribute = population.clocks.attribute
    assert zone_attribute is not None
    weeks = ((end - window, end - window + 7 * DAY_MS), (end - 7 * DAY_MS, end))
    counted = [[0, 0], [0, 0]]
    for kind in (0, 1):
        for i in range(params.joined_before_pilot):
            index = kind * params.joined_before_pilot + i
            lookup_values = [""] * len(population.lookup_values)
            rank = population.lookup_ranks[zone_attribute]
            word = population.sites.column_word("user.lookup", zone_attribute, index, 0)
            values = population.lookup_values[zone_attribute]
            lookup_values[zone_attribute] = values[rank.index(word)]
            user = population._candidate(index, "", tuple(lookup_values), [], kind == 1)
            days: list[int] = []
            population._live_until(user, end, 0, days)
            for week, (low, high) in enumerate(weeks):
                counted[kind][week] += sum(low <= start < high for start in days)
    (window_first, window_last), (before_first, before_last) = counted
    gain = before_first - before_last - window_first + window_last
    expected = min(0.9, max(0.0, (window_last - window_first) / gain)) if gain > 0 else 0.0
    assert steady_share(product, params, 3, end, window) == expected
    assert 0.0 < expected < 0.9


# -- writing lines --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.binary(min_size=1, max_size=40).filter(lambda b: b"\x00" not in b),
        min_size=1,
        max_size=60,
    ),
    st.integers(1, 400),
    st.sampled_from([JSON_ARRAY, JSON_LINES]),
    st.lists(st.integers(1, 20), min_size=1, max_size=5),
)
def test_lines_written_in_slices_rotate_files_as_lines_written_one_by_one(
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[bytes],
    limit: int,
    framing: Framing,
    slices: list[int],
) -> None:
    folder = str(tmp_path_factory.mktemp("files"))
    texts = [line.decode("latin-1") for line in lines]
    plain = EventFiles(folder, "plain", framing, False, limit)
    plain.write(texts)
    plain_files = plain.close()
    batch = EventFiles(folder, "batch", framing, False, limit)
    position = 0
    for size in slices * 20:
        part = lines[position : position + size]
        if not part:
            break
        data = b"".join(p.decode("latin-1").encode() + framing.separator for p in part)
        ends = np.cumsum([len(p.decode("latin-1").encode()) + len(framing.separator) for p in part])
        batch.write_lines(Lines(data, ends))
        position += size
    batch.write_lines(
        Lines(
            b"".join(p.decode("latin-1").encode() + framing.separator for p in lines[position:]),
            np.cumsum(
                [
                    len(p.decode("latin-1").encode()) + len(framing.separator)
                    for p in lines[position:]
                ],
                dtype=np.int64,
            ),
        )
    )
    batch_files = batch.close()
    assert len(plain_files) == len(batch_files)
    for (a, _), (b, _) in zip(plain_files, batch_files):
        with open(os.path.join(folder, a), "rb") as x, open(os.path.join(folder, b), "rb") as y:
            assert x.read() == y.read()


# -- the slow matrix ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("sheet", sorted(SHEETS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_sheet_and_seed_with_two_workers(tmp_path, sheet: str, seed: int) -> None:
    plain = run(str(tmp_path), sheet, "plain", 120, seed, chunk_users=25, workers=1)
    batch = run(str(tmp_path), sheet, "batch", 120, seed, chunk_users=25, workers=2)
    same_bytes(plain, batch)
    assert STATS[str(tmp_path), "plain", seed] == STATS[str(tmp_path), "batch", seed]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("sheet", ["examples", "sheets/timezone", "tiny"])
def test_every_format_on_sheets_with_and_without_keys(tmp_path, fmt: str, sheet: str) -> None:
    options = {"format": fmt, "chunk_users": 30, "max_file_mb": 0.05}
    plain = run(str(tmp_path), sheet, "plain", 70, 4, **options)
    batch = run(str(tmp_path), sheet, "batch", 70, 4, workers=2, **options)
    same_bytes(plain, batch)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["json", "amplitude", "segment"])
@pytest.mark.parametrize("sheet", ["examples", "scopes", "sheets/large"])
def test_continues_in_both_engines(tmp_path, fmt: str, sheet: str) -> None:
    ends = ("2026-10-01T08:00:00Z", "2026-10-01T22:30:00Z", "2026-10-09T00:00:00Z",
            "2026-12-20T05:00:00Z")  # fmt: skip
    for engine in ("plain", "batch"):
        continued(os.path.join(str(tmp_path), engine), sheet, engine, ends, users=70, seed=7,
                  format=fmt, chunk_users=30, gzip=fmt == "segment")  # fmt: skip
    found = {e: tree_bytes(os.path.join(str(tmp_path), e)) for e in ("plain", "batch")}
    same_bytes(found["plain"], found["batch"])


@pytest.mark.slow
def test_a_long_window_before_1970_and_local_time(tmp_path) -> None:
    """Days before 1970 (negative epoch days and times), ten years of window, time zones."""
    options = {"days": 3000, "end_ms": parse_iso("1969-06-01T00:00:00Z"), "format": "mixpanel"}
    plain = run(str(tmp_path), "sheets/timezone", "plain", 15, 2, **options)
    batch = run(str(tmp_path), "sheets/timezone", "batch", 15, 2, **options)
    same_bytes(plain, batch)


def test_the_engines_share_the_clock_tables() -> None:
    """(Sanity of the shared pieces: zones and the flow tables are built the same way.)"""
    events, flows, lookup = sheet_files("sheets/timezone")
    product = load_product(events, flows, lookup)
    clocks = Clocks(product)
    zones = ZoneDays(clocks)
    days = np.arange(20_000, 20_100, dtype=np.int64)
    for zone in range(len(clocks.zones)):
        found = zones.starts(np.full(days.size, zone), days)
        assert found.tolist() == [clocks.zones[zone].day_start(int(d)) for d in days]
    model = Model(Params(), FlowPlan(product, Params()), zones, Sites(1))
    assert model.plan.levels.chances.shape[0] == 256


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(WORD, WORD), max_size=40))
def test_uuids_made_in_arrays_are_the_ones_made_one_at_a_time(pairs: list[tuple[int, int]]) -> None:
    high = np.array([h for h, _ in pairs], dtype=np.uint64)
    low = np.array([w for _, w in pairs], dtype=np.uint64)
    assert uuid_texts(high, low) == [uuid_text(h, w) for h, w in pairs]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**40), max_size=60), st.booleans())
def test_distinct_codes_are_numpys_unique(codes: list[int], ordered: bool) -> None:
    """The statistics' shortcuts for ``np.unique``: by a table (small codes) or by where sorted
    codes change; codes out of order, or too spread out for a table, take ``np.unique``."""
    array = np.array(sorted(codes) if ordered else codes, dtype=np.int64)
    small = array % 97
    assert _distinct(array).tolist() == np.unique(array).tolist()
    assert _distinct(small).tolist() == np.unique(small).tolist()
    assert _distinct_sorted(array).tolist() == np.unique(array).tolist()
