"""Draws addressed by key: the documented layout on numpy's Philox, one number per address in both
forms, and refusals for addresses the layout cannot hold."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.draws import Draws, blocks_of, purpose_id, unit, units
from generator.limits import MAX_SEED
from generator.philox import CHUNK

SEED = st.integers(0, MAX_SEED)
USER = st.integers(0, 2**64 - 1)
DAY = st.integers(-(2**63), 2**63 - 1)
INDEX = st.integers(0, 2**32 - 1)
PURPOSE = st.text(min_size=1, max_size=20)
ADDRESS = st.tuples(USER, DAY, INDEX, INDEX, INDEX, INDEX)


def numpy_philox(seed: int, purpose: str, address: tuple[int, ...]) -> np.random.Philox:
    """numpy's Philox positioned just before the block of ``address``, built from the layout in
    ``generator/draws.py``'s docstring (numpy adds one to its counter before each block)."""
    user, day, a, b, c, d = address
    words = (user, day % 2**64, a << 32 | b, c << 32 | d)
    counter = sum(word << (64 * i) for i, word in enumerate(words))
    key = seed | purpose_id(purpose) << 64
    return np.random.Philox(counter=(counter - 1) % 2**256, key=key)


@settings(max_examples=200, deadline=None)
@given(SEED, PURPOSE, ADDRESS)
def test_an_address_is_the_documented_counter_and_key_of_numpys_philox(
    seed: int, purpose: str, address: tuple[int, ...]
) -> None:
    words = Draws(seed, purpose).block(*address)
    assert words == tuple(int(w) for w in numpy_philox(seed, purpose, address).random_raw(4))


@settings(max_examples=100, deadline=None)
@given(SEED, PURPOSE, ADDRESS)
def test_uniform_floats_are_the_ones_numpy_draws_from_the_same_block(
    seed: int, purpose: str, address: tuple[int, ...]
) -> None:
    words = Draws(seed, purpose).block(*address)
    expected = np.random.Generator(numpy_philox(seed, purpose, address)).random(4)
    assert [unit(w) for w in words] == expected.tolist()
    assert units(np.array(words, dtype=np.uint64)).tolist() == expected.tolist()


@settings(max_examples=30, deadline=None)
@given(SEED, PURPOSE, st.lists(ADDRESS, min_size=1, max_size=50))
def test_the_array_form_gives_every_address_its_own_block(
    seed: int, purpose: str, addresses: list[tuple[int, ...]]
) -> None:
    draws = Draws(seed, purpose)
    fields = [np.array([a[i] for a in addresses], dtype=np.int64 if i == 1 else np.uint64)
              for i in range(6)]  # fmt: skip
    result = draws.blocks(*fields)
    assert [tuple(int(w) for w in result[:, i]) for i in range(len(addresses))] == [
        draws.block(*address) for address in addresses
    ]


def test_array_indices_broadcast_and_default_to_zero() -> None:
    draws = Draws(9, "session.start")
    result = draws.blocks(np.arange(4), 19_000, 2)
    assert [tuple(int(w) for w in result[:, i]) for i in range(4)] == [
        draws.block(user, 19_000, 2) for user in range(4)
    ]


@settings(max_examples=100, deadline=None)
@given(SEED, PURPOSE, ADDRESS, st.integers(0, 7))
def test_changing_any_part_of_an_address_changes_the_draws(
    seed: int, purpose: str, address: tuple[int, ...], part: int
) -> None:
    base = Draws(seed, purpose).block(*address)
    if part == 0:
        other = Draws(seed ^ 1, purpose).block(*address)
    elif part == 1:
        other = Draws(seed, purpose + "'").block(*address)
    else:
        moved = list(address)
        moved[part - 2] ^= 1  # flips the lowest bit: stays in range
        other = Draws(seed, purpose).block(*moved)
    assert other != base


def test_the_scheme_is_pinned() -> None:
    """These numbers are part of every run's bytes: a change here changes every run's output."""
    assert purpose_id("walk.step") == 0x5B97E3C4AC3B6A17
    assert Draws(MAX_SEED, "session.start").block(123456, -25567, 3, 0, 7, 2) == (
        0x68B94DB4EF811F67,
        0x6968B7A3C37D2A59,
        0x707DE6C57DDE5E15,
        0xA200E7C133A13A07,
    )


def test_uniform_floats_cover_zero_to_just_below_one() -> None:
    assert unit(0) == 0.0
    assert unit(2**64 - 1) == 1.0 - 2.0**-53
    assert units(np.array([0, 2**64 - 1], dtype=np.uint64)).tolist() == [0.0, 1.0 - 2.0**-53]


def test_neighbouring_users_draw_uniform_and_unrelated_numbers() -> None:
    """Counters that differ in one low bit must not give related floats: 200,000 users' first
    float fills ten bins evenly, and a user's first float does not predict its neighbour's."""
    words = Draws(1, "user").blocks(np.arange(200_000))
    first = units(words[0])
    counts = np.bincount((first * 10).astype(np.int64), minlength=10)
    chi2 = float((((counts - 20_000) ** 2) / 20_000).sum())
    assert chi2 < 27.9  # 9 degrees of freedom, p = 0.001
    assert abs(float(np.corrcoef(first[:-1], first[1:])[0, 1])) < 0.01
    assert abs(float(np.corrcoef(first, units(words[1]))[0, 1])) < 0.01


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1])
def test_a_seed_outside_the_runs_bounds_is_refused(seed: int) -> None:
    with pytest.raises(ValueError, match="seed"):
        Draws(seed, "user")


@pytest.mark.parametrize(
    "address",
    [
        (-1, 0, 0, 0, 0, 0),
        (2**64, 0, 0, 0, 0, 0),
        (0, 2**63, 0, 0, 0, 0),
        (0, -(2**63) - 1, 0, 0, 0, 0),
        (0, 0, 2**32, 0, 0, 0),
        (0, 0, 0, -1, 0, 0),
        (0, 0, 0, 0, 2**32, 0),
        (0, 0, 0, 0, 0, -1),
    ],
)
def test_an_address_the_layout_cannot_hold_is_refused_in_both_forms(
    address: tuple[int, ...],
) -> None:
    draws = Draws(1, "user")
    with pytest.raises(ValueError):
        draws.block(*address)
    with pytest.raises((ValueError, OverflowError)):
        draws.blocks(*(np.array([part]) for part in address))


def test_fractional_indices_are_refused() -> None:
    with pytest.raises(ValueError, match="whole numbers"):
        Draws(1, "user").blocks(np.array([1.5]))
    with pytest.raises(ValueError, match="whole numbers"):
        Draws(1, "user").blocks(0, np.array([1.0]))


@settings(max_examples=40, deadline=None)
@given(
    SEED,
    st.lists(
        st.tuples(PURPOSE, st.lists(ADDRESS, min_size=0, max_size=30)), min_size=1, max_size=5
    ),
)
def test_several_purposes_in_one_call_are_each_purposes_own_blocks(
    seed: int, requests: list[tuple[str, list[tuple[int, ...]]]]
) -> None:
    """``blocks_of`` (a schedule per run of blocks, one Philox call) gives every address the
    block of its own purpose, whether the call takes the Python form (a few blocks) or numpy's."""
    asked = []
    for purpose, addresses in requests:
        draws = Draws(seed, purpose)
        fields = [np.array([a[i] for a in addresses], dtype=np.int64 if i == 1 else np.uint64)
                  for i in range(6)]  # fmt: skip
        asked.append((draws, draws.counters(*fields), addresses))
    found = blocks_of([(draws, counter) for draws, counter, _ in asked])
    for (draws, _, addresses), words in zip(asked, found):
        assert words.shape == (4, len(addresses))
        for column, address in enumerate(addresses):
            assert tuple(int(w) for w in words[:, column]) == draws.block(*address)


def test_a_large_call_crosses_passes_with_its_schedules_in_order() -> None:
    """Runs of schedules that straddle the numpy form's passes of CHUNK blocks."""
    first, second = Draws(3, "a"), Draws(3, "b")
    sizes = (CHUNK - 5, 17, CHUNK + 3)
    requests = [
        (draws, draws.counters(np.arange(size, dtype=np.int64), 7, 1, 2, 3, 4))
        for draws, size in zip((first, second, first), sizes)
    ]
    for (draws, counter), words in zip(requests, blocks_of(requests)):
        assert (words == draws.blocks(counter[0], 7, 1, 2, 3, 4)).all()
