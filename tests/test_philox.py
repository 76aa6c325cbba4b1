"""Philox4x64-10 in both forms is numpy's Philox, bit for bit, and the published test vectors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import philox
from generator.philox import MASK64, block, blocks, mulhi, round_keys

WORD = st.integers(0, MASK64)
# Words that exercise carries: 0, all ones, single bits and random values.
EDGY_WORD = st.one_of(WORD, st.sampled_from([0, 1, MASK64, MASK64 - 1, 1 << 63, 0xFFFFFFFF]))


def numpy_block(counter: tuple[int, int, int, int], key: tuple[int, int]) -> tuple[int, ...]:
    """The block numpy computes for ``counter``: it adds one to its counter before each block."""
    value = sum(word << (64 * i) for i, word in enumerate(counter))
    generator = np.random.Philox(counter=(value - 1) % 2**256, key=key[0] | key[1] << 64)
    return tuple(int(word) for word in generator.random_raw(4))


# Random123's known-answer vectors for philox4x64-10 (kat_vectors): counter, key, block.
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x16554D9ECA36314C, 0xDB20FE9D672D0FDC, 0xD7E772CEE186176B,
                            0x7E68B68AEC7BA23B)),
    ((MASK64,) * 4, (MASK64, MASK64), (0x87B092C3013FE90B, 0x438C3C67BE8D0224,
                                       0x9CC7D7C69CD777B6, 0xA09CAEBF594F0BA0)),
    ((0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89),
     (0x452821E638D01377, 0xBE5466CF34E90C6C),
     (0xA528F45403E61D95, 0x38C72DBD566E9788, 0xA5A1610E72FD18B5, 0x57BD43B5E52B7FE6)),
]  # fmt: skip


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_both_forms_give_the_published_known_answers(
    counter: tuple[int, int, int, int], key: tuple[int, int], expected: tuple[int, ...]
) -> None:
    keys = round_keys(*key)
    assert block(*counter, keys) == expected
    assert tuple(int(w) for w in blocks(*counter, keys)[:, 0]) == expected
    assert numpy_block(counter, key) == expected


@settings(max_examples=300, deadline=None)
@given(st.tuples(EDGY_WORD, EDGY_WORD, EDGY_WORD, EDGY_WORD), st.tuples(EDGY_WORD, EDGY_WORD))
def test_the_scalar_block_is_numpys_philox(
    counter: tuple[int, int, int, int], key: tuple[int, int]
) -> None:
    assert block(*counter, round_keys(*key)) == numpy_block(counter, key)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(EDGY_WORD, EDGY_WORD, EDGY_WORD, EDGY_WORD), min_size=1, max_size=40),
    st.tuples(EDGY_WORD, EDGY_WORD),
)
def test_the_array_form_equals_the_scalar_form_for_every_address(
    counters: list[tuple[int, int, int, int]], key: tuple[int, int]
) -> None:
    keys = round_keys(*key)
    columns = [np.array([c[i] for c in counters], dtype=np.uint64) for i in range(4)]
    result = blocks(columns[0], columns[1], columns[2], columns[3], keys)
    assert result.shape == (4, len(counters))
    for i, counter in enumerate(counters):
        assert tuple(int(w) for w in result[:, i]) == block(*counter, keys)


def test_arrays_longer_than_a_pass_are_computed_pass_by_pass_without_seams(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(philox, "CHUNK", 64)  # 1,000 addresses: 15 full passes and a short one
    keys = round_keys(12345, 678)
    rng = np.random.default_rng(3)
    columns = [rng.integers(0, MASK64, 1000, dtype=np.uint64, endpoint=True) for _ in range(4)]
    result = blocks(columns[0], columns[1], columns[2], columns[3], keys)
    for i in range(1000):
        assert tuple(int(w) for w in result[:, i]) == block(
            int(columns[0][i]), int(columns[1][i]), int(columns[2][i]), int(columns[3][i]), keys
        )


def test_counter_words_broadcast_like_numpy_arrays() -> None:
    keys = round_keys(1, 2)
    result = blocks(np.arange(5, dtype=np.uint64), 7, 0, [9], keys)
    assert [tuple(int(w) for w in result[:, i]) for i in range(5)] == [
        block(i, 7, 0, 9, keys) for i in range(5)
    ]
    assert blocks(np.zeros(0, np.uint64), 0, 0, 0, keys).shape == (4, 0)


def test_a_key_word_outside_64_bits_is_refused() -> None:
    with pytest.raises(ValueError, match="64-bit"):
        round_keys(1 << 64, 0)
    with pytest.raises(ValueError, match="64-bit"):
        round_keys(0, -1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(EDGY_WORD, EDGY_WORD), min_size=1, max_size=30))
def test_the_high_word_of_a_product_matches_python_integers(pairs: list[tuple[int, int]]) -> None:
    a = np.array([x for x, _ in pairs], dtype=np.uint64)
    b = np.array([y for _, y in pairs], dtype=np.uint64)
    assert [int(h) for h in mulhi(a, b)] == [(x * y) >> 64 for x, y in pairs]
