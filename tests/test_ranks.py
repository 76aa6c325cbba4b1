"""Value frequency by rank (SPEC section 3), tested on the weights and on real draws."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.ranks import RankedChoice, band_sizes, rank_weights


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, [100]),
        (2, [60, 40]),
        (3, [50, 30, 20]),
        (4, [40, 30, 25, 5]),
        (5, [40, 30, 25, 2.5, 2.5]),
        (6, [40, 30, 12.5, 12.5, 2.5, 2.5]),
        (8, [20, 20, 15, 15, 12.5, 12.5, 2.5, 2.5]),
    ],
)
def test_rank_weights_match_the_spec_table(n: int, expected: list[float]) -> None:
    assert [round(w * 100, 6) for w in rank_weights(n)] == expected


def test_later_bands_take_the_extra_values() -> None:
    assert band_sizes(6) == (1, 1, 2, 2)
    assert band_sizes(7) == (1, 2, 2, 2)
    assert band_sizes(9) == (2, 2, 2, 3)


@pytest.mark.parametrize("n", range(1, 13))
def test_drawn_shares_are_within_two_points_of_the_spec(n: int) -> None:
    rng = random.Random(1234 + n)
    choice = RankedChoice(list(range(n)))
    draws = 100_000
    counts = [0] * n
    for _ in range(draws):
        counts[choice.index(rng)] += 1
    for rank, (count, weight) in enumerate(zip(counts, rank_weights(n)), start=1):
        assert abs(count / draws - weight) < 0.02, (n, rank, count / draws, weight)
    assert all(c > 0 for c in counts), "every value can be drawn, the last one included"


@given(st.integers(min_value=1, max_value=500))
def test_weights_sum_to_one_and_never_increase(n: int) -> None:
    weights = rank_weights(n)
    assert len(weights) == n
    assert abs(sum(weights) - 1) < 1e-9
    assert all(a >= b for a, b in zip(weights, weights[1:]))
    assert all(w > 0 for w in weights)
