"""Philox4x64-10, the counter-based generator behind ``numpy.random.Philox``, in two forms.

A counter-based generator is a keyed bijection: block = Philox(counter, key).  Any draw can be
computed from its address alone, without stepping a stream through every draw before it, which is
what lets a batch engine (arrays of users, stage by stage) and the plain model (one user after
another) consume the same numbers.  Philox4x64-10 (Salmon et al., "Parallel random numbers: as easy
as 1, 2, 3", SC 2011) passes TestU01's BigCrush with any key and simple counters; numpy ships it.

* :func:`block` computes one block with Python integers (the plain model's form).
* :func:`blocks` computes blocks for arrays of counters with numpy (the batch engine's form), in
  chunks that stay in the processor's cache, with 64x64->128-bit products split into 32-bit halves.

Both are tested bit for bit against ``numpy.random.Philox``: ``block(c, k)`` equals the four words
``Philox(counter=c - 1, key=k).random_raw(4)`` returns (numpy increments its counter before each
block).  Counter words are ``c0`` (least significant) to ``c3``; key words ``k0``, ``k1``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

Words: TypeAlias = npt.NDArray[np.uint64]

ROUNDS = 10
MASK64 = (1 << 64) - 1
# The constants of Philox4x64 (Random123 and numpy): round multipliers and Weyl key increments.
MULTIPLIER_0 = 0xD2E7470EE14C6C93
MULTIPLIER_1 = 0xCA5A826395121157
KEY_STEP_0 = 0x9E3779B97F4A7C15
KEY_STEP_1 = 0xBB67AE8584CAA73B

# Elements per pass of the vectorised rounds.  Each pass makes about 340 numpy calls of roughly a
# microsecond of fixed cost each, so short passes are dominated by it (2,048: 150 ns per block);
# eleven work arrays of 16,384 words (1.4 MB) stay within the L2 and L3 caches (53 ns per block;
# 65,536: 52 ns).  Measured with benchmarks/keyed_draws.py --chunks.
CHUNK = 16384
# Up to this many blocks, blocks() computes them with block(), one at a time: about 2.4 µs each,
# against some 300 µs of fixed cost for the numpy form's ten rounds.
SCALAR_BELOW = 48


def round_keys(k0: int, k1: int) -> tuple[int, ...]:
    """The keys of the ten rounds, flat: ``(k0, k1)`` of round 0, then of round 1, and so on;
    each is the Weyl sequence ``k + round * step`` modulo 2**64."""
    if not (0 <= k0 <= MASK64 and 0 <= k1 <= MASK64):
        raise ValueError("Philox key words are unsigned 64-bit integers")
    keys: list[int] = []
    for i in range(ROUNDS):
        keys += [(k0 + i * KEY_STEP_0) & MASK64, (k1 + i * KEY_STEP_1) & MASK64]
    return tuple(keys)


def block(c0: int, c1: int, c2: int, c3: int, keys: tuple[int, ...]) -> tuple[int, int, int, int]:
    """One Philox4x64-10 block for counter ``(c0, c1, c2, c3)`` and ``keys`` from
    :func:`round_keys`: four unsigned 64-bit words.

    The rounds are written out (no loop, no attribute look-ups): this is the plain model's cost of
    a block, about 2 µs, measured in ``benchmarks/keyed_draws.py``.
    """
    m0 = MULTIPLIER_0
    m1 = MULTIPLIER_1
    mask = MASK64
    a0, b0, a1, b1, a2, b2, a3, b3, a4, b4, a5, b5, a6, b6, a7, b7, a8, b8, a9, b9 = keys
    p = m0 * c0
    q = m1 * c2
    c0, c1, c2, c3 = (q >> 64) ^ c1 ^ a0, q & mask, (p >> 64) ^ c3 ^ b0, p & mask
    p = m0 * c0
    q = m1 * c2
    c0, c1, c2, c3 = (q >> 64) ^ c1 ^ a1, q & mask, (p >> 64) ^ c3 ^ b1, p & mask
    p = m0 * c0
    q = m1 * c2
    c0, c1, c2, c3 = (q >> 64) ^ c1 ^ a2, q & mask, (p >> 64) ^ c3 ^ b2, p & mask
    p = m0 * c0
    q = m1 * c2
    c0, c1, c2, c3 = (q >> 64) ^ c1 ^ a3, q & mask, (p >> 64) ^ c3 ^ b3, p & mask
    p = m0 * c0
    q = m1 * c2
    c0, c1, c2, c3 = (q >> 64) ^ c1 ^ a4, q & mask, (p >> 64) ^ c3 ^ b4, p & mask
    p = m0 * c0
    q = m1 * c2
    c0, c1, c2, c3 = (q >> 64) ^ c1 ^ a5, q & mask, (p >> 64) ^ c3 ^ b5, p & mask
    p = m0 * c0
    q = m1 * c2
    c0, c1, c2, c3 = (q >> 64) ^ c1 ^ a6, q & mask, (p >> 64) ^ c3 ^ b6, p & mask
    p = m0 * c0
    q = m1 * c2
    c0, c1, c2, c3 = (q >> 64) ^ c1 ^ a7, q & mask, (p >> 64) ^ c3 ^ b7, p & mask
    p = m0 * c0
    q = m1 * c2
    c0, c1, c2, c3 = (q >> 64) ^ c1 ^ a8, q & mask, (p >> 64) ^ c3 ^ b8, p & mask
    p = m0 * c0
    q = m1 * c2
    return (q >> 64) ^ c1 ^ a9, q & mask, (p >> 64) ^ c3 ^ b9, p & mask


_LOW32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)


def mulhi_into(a: Words, m: int, hi: Words, lo: Words, t1: Words, t2: Words, t3: Words) -> None:
    """``hi, lo = (a * m) >> 64, (a * m) mod 2**64`` for an array ``a`` and a constant ``m``,
    written into ``hi`` and ``lo`` (``t1``..``t3`` are scratch of ``a``'s length).

    numpy has no 128-bit product, so ``a`` and ``m`` are split into 32-bit halves and the four
    partial products (each below 2**64) are added with their carries; no step can overflow.
    """
    m_lo = np.uint64(m & 0xFFFFFFFF)
    m_hi = np.uint64(m >> 32)
    np.multiply(a, np.uint64(m), out=lo)  # wraps modulo 2**64: the low word
    np.bitwise_and(a, _LOW32, out=t1)  # a_lo
    np.right_shift(a, _SHIFT32, out=t2)  # a_hi
    np.multiply(t1, m_lo, out=t3)  # a_lo * m_lo
    np.multiply(t1, m_hi, out=t1)  # a_lo * m_hi
    np.multiply(t2, m_hi, out=hi)  # a_hi * m_hi
    np.multiply(t2, m_lo, out=t2)  # a_hi * m_lo
    np.right_shift(t3, _SHIFT32, out=t3)
    np.add(t2, t3, out=t2)  # a_hi * m_lo + carry of the lowest product: below 2**64
    np.bitwise_and(t2, _LOW32, out=t3)
    np.add(t1, t3, out=t1)  # a_lo * m_hi + low half of the above: below 2**64
    np.right_shift(t2, _SHIFT32, out=t2)
    np.add(hi, t2, out=hi)
    np.right_shift(t1, _SHIFT32, out=t1)
    np.add(hi, t1, out=hi)


# The two multipliers as a column: both products of a round are one operation on a (2, n) array
# (the counter words c0 and c2 stacked), so a round is 17 numpy operations instead of 34.
_MULTIPLIERS = np.array([[MULTIPLIER_0], [MULTIPLIER_1]], dtype=np.uint64)
_MULTIPLIERS_LO = _MULTIPLIERS & _LOW32
_MULTIPLIERS_HI = _MULTIPLIERS >> _SHIFT32


def _mulhi_pairs(
    a: Words,
    hi: Words,
    lo: Words,
    t1: Words,
    t2: Words,
    t3: Words,
    multiply: np.ufunc = np.multiply,
    add: np.ufunc = np.add,
    bit_and: np.ufunc = np.bitwise_and,
    shift: np.ufunc = np.right_shift,
) -> None:
    """:func:`mulhi_into` for the stacked words ``a`` (shape (2, n)) and the two multipliers.

    The same operations; the ufuncs are bound as defaults and given their output positionally,
    which takes a tenth off each call's fixed cost (it is called ten times per Philox call, with
    15 operations each: on calls of a few hundred blocks the fixed cost is most of it)."""
    multiply(a, _MULTIPLIERS, lo)
    bit_and(a, _LOW32, t1)
    shift(a, _SHIFT32, t2)
    multiply(t1, _MULTIPLIERS_LO, t3)
    multiply(t1, _MULTIPLIERS_HI, t1)
    multiply(t2, _MULTIPLIERS_HI, hi)
    multiply(t2, _MULTIPLIERS_LO, t2)
    shift(t3, _SHIFT32, t3)
    add(t2, t3, t2)
    bit_and(t2, _LOW32, t3)
    add(t1, t3, t1)
    shift(t2, _SHIFT32, t2)
    add(hi, t2, hi)
    shift(t1, _SHIFT32, t1)
    add(hi, t1, hi)


Schedule = tuple[int, ...]  # round_keys: (k0, k1) of round 0, of round 1, ...
Runs = Sequence[tuple[int, Schedule]]  # (blocks, their schedule): a schedule per run of blocks


def _blocks_into(
    counter: tuple[Words, Words, Words, Words],
    segments: list[tuple[int, int, list[Words]]],
    out: Words,
    work: list[Words],
) -> None:
    """Ten rounds on ``counter`` into ``out`` (shape (4, n)), the blocks ``lo:hi`` of each
    segment ``(lo, hi, key columns)`` with that key.  The state is two (2, n) arrays: ``a`` =
    (c0, c2), the words multiplied, and ``b`` = (c1, c3); a round is ``a, b = hi[::-1] ^ b ^ key,
    lo[::-1]`` with ``hi, lo`` the 128-bit products of ``a``."""
    a, b, hi, lo, t1, t2, t3 = work
    a[0], a[1], b[0], b[1] = counter[0], counter[2], counter[1], counter[3]
    whole = len(segments) == 1
    xor = np.bitwise_xor
    for number in range(ROUNDS):
        _mulhi_pairs(a, hi, lo, t1, t2, t3)
        xor(hi[::-1], b, a)
        for start, stop, keys in segments:
            if whole:
                xor(a, keys[number], a)
            else:
                xor(a[:, start:stop], keys[number], a[:, start:stop])
        b, lo = lo[::-1], b  # (views: the reversed products are the next b; b's array is scratch)
    out[0], out[1], out[2], out[3] = a[0], b[0], a[1], b[1]


def _runs(keys: Schedule | Runs, n: int) -> list[tuple[int, Schedule]]:
    """``keys`` as runs: one schedule is one run of every block."""
    if keys and isinstance(keys[0], int):  # a flat schedule of integers
        return [(n, keys)]  # type: ignore[list-item]
    return [(size, tuple(schedule)) for size, schedule in keys]  # type: ignore[misc]


@functools.lru_cache(maxsize=256)
def _key_columns(schedule: Schedule) -> list[Words]:
    """Each round's key as a column (shape (2, 1)), to xor with the (2, n) state."""
    return [
        np.array([[schedule[2 * i]], [schedule[2 * i + 1]]], dtype=np.uint64) for i in range(ROUNDS)
    ]


def blocks(
    c0: npt.ArrayLike,
    c1: npt.ArrayLike,
    c2: npt.ArrayLike,
    c3: npt.ArrayLike,
    keys: Schedule | Runs,
) -> npt.NDArray[np.uint64]:
    """Philox4x64-10 blocks for arrays of counter words (broadcast together, as ``uint64``):
    an array of shape ``(4, n)`` whose column ``i`` equals ``block(c0[i], c1[i], c2[i], c3[i],
    keys)``.  ``keys`` is one schedule (:func:`round_keys`: ten pairs of Python integers) for every
    block, or runs ``(blocks, schedule)`` that cover the blocks in order, so that draws of several
    purposes share one call: a call has a fixed cost of some 180 numpy operations.
    """
    words = np.broadcast_arrays(*(np.asarray(c, dtype=np.uint64).ravel() for c in (c0, c1, c2, c3)))
    n = words[0].shape[0]
    runs = _runs(keys, n)
    if sum(size for size, _ in runs) != n:
        raise ValueError("the runs of key schedules must cover the blocks")
    if n <= SCALAR_BELOW:  # a few blocks: the Python form is cheaper than ~180 numpy calls
        a, b, c, d = (w.tolist() for w in words)
        schedules = [schedule for size, schedule in runs for _ in range(size)]
        found = [block(a[i], b[i], c[i], d[i], schedules[i]) for i in range(n)]
        return np.array(found, dtype=np.uint64).reshape(n, 4).T.copy()
    result = np.empty((4, n), np.uint64)
    width = min(n, CHUNK)
    work = [np.empty((2, width), np.uint64) for _ in range(7)]
    edges = [0]
    for size, _ in runs:
        edges.append(edges[-1] + size)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        segments = [
            (max(low, start) - start, min(high, stop) - start, _key_columns(schedule))
            for (low, high), (_, schedule) in zip(zip(edges, edges[1:]), runs)
            if low < stop and high > start
        ]
        _blocks_into(
            (
                words[0][start:stop],
                words[1][start:stop],
                words[2][start:stop],
                words[3][start:stop],
            ),
            segments,
            result[:, start:stop],
            [w[:, : stop - start] for w in work],
        )
    return result


def mulhi(a: npt.ArrayLike, b: npt.ArrayLike) -> Words:
    """``(a * b) >> 64`` elementwise for unsigned 64-bit arrays (broadcast): the high word of the
    128-bit product, by the same 32-bit halves as :func:`mulhi_into` (which is its in-place form
    for a constant ``b``).  Python's twin is ``(a * b) >> 64``."""
    x = np.asarray(a, dtype=np.uint64)
    y = np.asarray(b, dtype=np.uint64)
    x_lo = x & _LOW32
    x_hi = x >> _SHIFT32
    y_lo = y & _LOW32
    y_hi = y >> _SHIFT32
    middle = x_hi * y_lo + ((x_lo * y_lo) >> _SHIFT32)  # below 2**64
    cross = x_lo * y_hi + (middle & _LOW32)  # below 2**64
    high: Words = x_hi * y_hi + (middle >> _SHIFT32) + (cross >> _SHIFT32)
    return high
