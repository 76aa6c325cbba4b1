"""Exact distributions: the scalar and the array form of each primitive agree on every word, and
each draws the distribution it names (fixed seeds, tolerances a wrong implementation fails)."""

from __future__ import annotations

import hashlib
import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.distributions import (
    LEVELS,
    Quantiles,
    Ranked,
    chance,
    chances,
    count,
    counts,
    integer,
    integers,
)
from generator.draws import Draws, units
from generator.ranks import rank_weights

WORD = st.integers(0, 2**64 - 1)
# Words whose leading bytes are 0xFF reach the deeper levels of a quantile table.
DEEP_WORD = st.builds(
    lambda depth, rest: ((1 << (8 * depth)) - 1) << (64 - 8 * depth) | rest >> (8 * depth),
    st.integers(0, 8),
    WORD,
)
WORDS = st.lists(st.one_of(WORD, DEEP_WORD, st.sampled_from([0, 2**64 - 1])), min_size=1)
PROBABILITY = st.one_of(
    st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0, 2.0**-53, 1.0 - 2.0**-53, 0.1, 0.8])
)


def array(words: list[int]) -> np.ndarray[Any, Any]:
    return np.array(words, dtype=np.uint64)


def sample(n: int, purpose: str = "test") -> np.ndarray[Any, Any]:
    """``n`` words from the keyed draws, one per user: the inputs the model will give."""
    words: np.ndarray[Any, Any] = Draws(20261129, purpose).blocks(np.arange(n))[0]
    return words


# -- chance -------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(WORDS, PROBABILITY)
def test_a_chance_is_the_same_in_both_forms_and_an_integer_threshold(
    words: list[int], p: float
) -> None:
    expected = [chance(w, p) for w in words]
    assert chances(array(words), p).tolist() == expected
    threshold = math.ceil(p * 2**53)  # p * 2**53 is exact: the comparison is an integer one
    assert expected == [(w >> 11) < threshold for w in words]


def test_a_chance_of_zero_never_comes_up_and_of_one_always() -> None:
    words = array([0, 2**64 - 1, 12345])
    assert not chances(words, 0.0).any()
    assert chances(words, 1.0).all()


def test_chances_come_up_as_often_as_their_probability() -> None:
    p = np.linspace(0.0, 1.0, 200_000, endpoint=False)
    hits = chances(sample(200_000), p)
    for lo in range(0, 200_000, 40_000):  # each fifth of the probabilities
        part = slice(lo, lo + 40_000)
        assert abs(hits[part].mean() - p[part].mean()) < 0.01


# -- integer ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(WORDS, st.integers(-(2**40), 2**40), st.integers(0, 2**62))
def test_a_whole_number_is_the_same_in_both_forms_and_in_its_range(
    words: list[int], lo: int, width: int
) -> None:
    hi = lo + width
    expected = [integer(w, lo, hi) for w in words]
    assert integers(array(words), lo, hi).tolist() == expected
    assert all(lo <= x <= hi for x in expected)


def test_whole_numbers_with_ranges_per_word_are_the_same_in_both_forms() -> None:
    words = sample(1000)
    lo = np.arange(1000) - 500
    hi = lo + np.arange(1000) * 37
    assert integers(words, lo, hi).tolist() == [
        integer(int(w), int(a), int(b)) for w, a, b in zip(words, lo, hi)
    ]


def test_whole_numbers_are_uniform() -> None:
    values = integers(sample(210_000), 1, 21)
    counts_ = np.bincount(values, minlength=22)[1:]
    chi2 = float((((counts_ - 10_000) ** 2) / 10_000).sum())
    assert chi2 < 45.3  # 20 degrees of freedom, p = 0.001
    assert integer(2**64 - 1, 3, 3) == 3


@pytest.mark.parametrize(("lo", "hi"), [(5, 4), (0, 2**63 - 1), (-(2**62), 2**62)])
def test_an_empty_or_too_wide_range_is_refused_in_both_forms(lo: int, hi: int) -> None:
    with pytest.raises(ValueError):
        integer(0, lo, hi)
    with pytest.raises(ValueError):
        integers(array([0]), lo, hi)


# -- ranked choice ------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(WORDS, st.integers(1, 60))
def test_a_choice_by_rank_is_the_same_in_both_forms(words: list[int], n: int) -> None:
    choice = Ranked.by_rank(n)
    expected = [choice.index(w) for w in words]
    assert choice.indices(array(words)).tolist() == expected
    assert all(0 <= i < n for i in expected)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 13, 100])
def test_rank_chances_are_the_spec_shares_to_within_two_to_the_minus_53(n: int) -> None:
    bounds = [0, *Ranked.by_rank(n).bounds, 2**53]
    chances_ = [Fraction(b - a, 2**53) for a, b in zip(bounds, bounds[1:])]
    if n == 6:  # SPEC section 3's example
        exact = [Fraction(40, 100), Fraction(30, 100), Fraction(125, 1000), Fraction(125, 1000),
                 Fraction(25, 1000), Fraction(25, 1000)]  # fmt: skip
        assert all(abs(c - e) <= Fraction(1, 2**53) for c, e in zip(chances_, exact))
    for chance_, weight in zip(chances_, rank_weights(n)):
        assert abs(float(chance_) - weight) < 1e-15
    assert all(a >= b for a, b in zip(chances_, chances_[1:]))  # never more likely than above


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(st.integers(0, 10**6), st.fractions(0, 1000)), min_size=1, max_size=30),
    WORDS,
)
def test_any_weights_give_exact_shares_in_both_forms(
    weights: list[Fraction], words: list[int]
) -> None:
    total = sum(weights)
    if total == 0:
        with pytest.raises(ValueError):
            Ranked(weights)
        return
    choice = Ranked(weights)
    bounds = [0, *choice.bounds, 2**53]
    for weight, a, b in zip(weights, bounds, bounds[1:]):
        assert abs(Fraction(b - a, 2**53) - Fraction(weight) / total) < Fraction(1, 2**53)
        assert weight > 0 or a == b  # a weight of zero owns no value
    expected = [choice.index(w) for w in words]
    assert choice.indices(array(words)).tolist() == expected
    assert all(weights[i] > 0 for i in expected)


def test_a_weight_of_zero_is_never_drawn_and_weights_are_shares() -> None:
    choice = Ranked([3, 0, 1])
    drawn = np.bincount(choice.indices(sample(100_000)), minlength=3)
    assert drawn[1] == 0
    assert abs(drawn[0] / 100_000 - 0.75) < 0.01
    assert choice.index(2**64 - 1) == 2
    assert choice.index(0) == 0


def test_choices_by_rank_come_up_as_often_as_the_spec_says() -> None:
    drawn = np.bincount(Ranked.by_rank(6).indices(sample(200_000)), minlength=6) / 200_000
    assert np.allclose(drawn, [0.40, 0.30, 0.125, 0.125, 0.025, 0.025], atol=0.005)


@pytest.mark.parametrize("weights", [[], [0, 0], [1, -1]])
def test_weights_that_cannot_be_shares_are_refused(weights: list[int]) -> None:
    with pytest.raises(ValueError):
        Ranked(weights)


# -- count --------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(WORDS, PROBABILITY, st.integers(0, 50))
def test_a_count_is_the_same_in_both_forms(words: list[int], q: float, cap: int) -> None:
    expected = [count(w, q, cap) for w in words]
    assert counts(array(words), q, cap).tolist() == expected
    assert all(0 <= k <= cap for k in expected)


def test_counts_with_chances_per_word_are_the_same_in_both_forms() -> None:
    words = sample(2000)
    q = np.linspace(0.0, 1.0, 2000)
    assert counts(words, q, 40).tolist() == [count(int(w), float(p), 40) for w, p in zip(words, q)]


@pytest.mark.parametrize("q", [0.25, 0.5, 0.7])
def test_counts_are_geometric(q: float) -> None:
    drawn = counts(sample(200_000, f"count {q}"), q, 1000)
    assert abs(drawn.mean() - q / (1 - q)) < 0.02 * q / (1 - q)
    for k in (1, 2, 4):
        assert abs((drawn >= k).mean() - q**k) < 0.005


def test_a_count_stops_at_its_cap_and_at_the_first_failure() -> None:
    assert count(0, 1.0, 7) == 7 and counts(array([0, 2**64 - 1]), 1.0, 7).tolist() == [7, 7]
    assert count(0, 0.0, 7) == 0 and counts(array([0]), 0.0, 7).tolist() == [0]
    assert count(2**64 - 1, 0.999, 7) == 0  # the highest word fails the first chance


@pytest.mark.parametrize("q", [-0.1, 1.5, math.nan])
def test_a_chance_to_continue_outside_zero_to_one_is_refused(q: float) -> None:
    with pytest.raises(ValueError):
        count(0, q, 3)
    with pytest.raises(ValueError):
        counts(array([0]), q, 3)


# -- quantiles (gaps) ---------------------------------------------------------------------------

TABLES = [Quantiles.exponential(), Quantiles.lomax("3")]


@settings(max_examples=200, deadline=None)
@given(WORDS, st.sampled_from(TABLES), st.integers(0, 10**7))
def test_a_gap_is_the_same_in_both_forms(words: list[int], table: Quantiles, scale: int) -> None:
    assert table.values(array(words)).tolist() == [table.value(w) for w in words]
    assert table.scaled_array(array(words), scale).tolist() == [
        table.scaled(w, scale) for w in words
    ]


def table_mean(table: Quantiles) -> float:
    """The exact mean of a table's distribution (bins of equal chance, linear within each)."""
    edges = table.edges
    total = 0.0
    for level in range(LEVELS):
        for i in range(256 if level == LEVELS - 1 else 255):
            f = level * 256 + i
            total += 256.0 ** -(level + 1) * (edges[f] + edges[f + 1]) / 2
    return total / 2**16


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_a_gap_table_has_mean_one_and_its_draws_follow_it(table: Quantiles) -> None:
    assert abs(table_mean(table) - 1.0) < 0.002
    drawn = table.values(sample(400_000, table.name)) / 2**16
    assert abs(drawn.mean() - 1.0) < 0.01
    assert drawn.min() >= 0.0


def test_the_exponential_table_is_the_exponential_distribution() -> None:
    table = Quantiles.exponential()
    for level in range(LEVELS):
        for i in range(0, 256, 17):
            tail = (256 - i) * 256.0 ** -(level + 1)
            assert abs(table.edges[level * 256 + i] / 2**16 + math.log(tail)) <= 2**-16
    drawn = table.values(sample(400_000, "exponential")) / 2**16
    for x in (0.5, 1.0, 2.0, 4.0, 8.0):  # the survival function, e**-x
        assert abs((drawn > x).mean() - math.exp(-x)) < 0.003
    assert abs(float(np.median(drawn)) - math.log(2)) < 0.01
    assert (drawn > 12).sum() > 0  # a long tail: about 2 in 400,000 beyond twelve means


def test_the_lomax_tail_is_heavier_than_the_exponential() -> None:
    drawn = Quantiles.lomax("3").values(sample(400_000, "lomax")) / 2**16
    assert abs((drawn > 10).mean() - (1 + 10 / 2) ** -3) < 0.0005  # 1 in 216
    assert drawn.max() > 20


def test_the_deepest_draw_is_the_last_quantile() -> None:
    for table in TABLES:
        assert table.value(2**64 - 1) == table.cap
        assert table.values(array([2**64 - 1])).tolist() == [table.cap]
        assert table.value(0) == 0


def test_the_tables_are_pinned() -> None:
    """The tables are part of every run's bytes; decimal's ln and exp are correctly rounded, so
    these digests hold on every machine and Python version."""
    digests = {t.name: hashlib.sha256(repr(t.edges).encode()).hexdigest()[:16] for t in TABLES}
    assert digests == {"exponential": "8f41a4e66b341c45", "lomax(3)": "7d4bfa98fe19fd08"}


def test_a_scale_the_product_cannot_hold_is_refused_in_both_forms() -> None:
    table = Quantiles.exponential()
    too_big = table.max_scale() + 1
    assert table.scaled(2**64 - 1, table.max_scale()) <= table.max_scale() * table.cap >> 16
    with pytest.raises(ValueError):
        table.scaled(0, too_big)
    with pytest.raises(ValueError):
        table.scaled_array(array([0]), too_big)
    with pytest.raises(ValueError):
        table.scaled_array(array([0]), -1)
    with pytest.raises(ValueError):
        table.scaled_array(array([0]), 1.5)


@pytest.mark.parametrize("shape", ["1", "0.5", "-2"])
def test_a_lomax_shape_without_a_finite_mean_is_refused(shape: str) -> None:
    with pytest.raises(ValueError):
        Quantiles.lomax(shape)


def test_uniforms_and_draws_agree_on_what_a_word_is() -> None:
    """The primitives read the same bits as ``unit``: a chance of p is unit < p."""
    words = sample(10_000)
    assert (chances(words, 0.3) == (units(words) < 0.3)).all()
