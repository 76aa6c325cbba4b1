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


def _blocks_into(
    counter: tuple[Words, Words, Words, Words],
    keys: tuple[int, ...] | Words,
    out: tuple[Words, Words, Words, Words],
    work: list[Words],
) -> None:
    c0, c1, c2, c3 = (work[i] for i in range(4))
    for source, target in zip(counter, (c0, c1, c2, c3)):
        np.copyto(target, source)
    hi0, lo0, hi1, lo1, t1, t2, t3 = (work[i] for i in range(4, 11))
    if isinstance(keys, np.ndarray):  # a key per element: rows of the schedule
        pairs: list[tuple[Words | np.uint64, Words | np.uint64]] = list(zip(keys[0::2], keys[1::2]))
    else:
        pairs = [(np.uint64(k0), np.uint64(k1)) for k0, k1 in zip(keys[0::2], keys[1::2])]
    for index, (k0, k1) in enumerate(pairs):
        mulhi_into(c0, MULTIPLIER_0, hi0, lo0, t1, t2, t3)
        mulhi_into(c2, MULTIPLIER_1, hi1, lo1, t1, t2, t3)
        np.bitwise_xor(hi1, c1, out=hi1)
        np.bitwise_xor(hi1, k0, out=hi1)
        np.bitwise_xor(hi0, c3, out=hi0)
        np.bitwise_xor(hi0, k1, out=hi0)
        if index == ROUNDS - 1:
            for source, target in zip((hi1, lo1, hi0, lo0), out):
                np.copyto(target, source)
            return
        # The new counter is (hi1, lo1, hi0, lo0); the old counter's arrays become scratch.
        c0, c1, c2, c3, hi0, lo0, hi1, lo1 = hi1, lo1, hi0, lo0, c0, c1, c2, c3


def blocks(
    c0: npt.ArrayLike,
    c1: npt.ArrayLike,
    c2: npt.ArrayLike,
    c3: npt.ArrayLike,
    keys: tuple[int, ...] | Words,
) -> npt.NDArray[np.uint64]:
    """Philox4x64-10 blocks for arrays of counter words (broadcast together, as ``uint64``):
    an array of shape ``(4, n)`` whose column ``i`` equals ``block(c0[i], c1[i], c2[i], c3[i],
    keys)``.  ``keys`` is one schedule (:func:`round_keys`: ten pairs of Python integers) for every
    block, or an array of shape ``(20, n)``, a schedule per block (its column ``i``), so that draws
    of several purposes share one call: a call has a fixed cost of some 340 numpy operations.
    """
    words = np.broadcast_arrays(*(np.asarray(c, dtype=np.uint64).ravel() for c in (c0, c1, c2, c3)))
    n = words[0].shape[0]
    if n <= SCALAR_BELOW:  # a few blocks: the Python form is cheaper than ~340 numpy calls
        a, b, c, d = (w.tolist() for w in words)
        if isinstance(keys, np.ndarray):
            schedules = [tuple(row) for row in keys.T.tolist()]
        else:
            schedules = [keys] * n
        found = [block(a[i], b[i], c[i], d[i], schedules[i]) for i in range(n)]
        return np.array(found, dtype=np.uint64).reshape(n, 4).T.copy()
    result = np.empty((4, n), np.uint64)
    width = min(n, CHUNK)
    work = [np.empty(width, np.uint64) for _ in range(11)]
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        size = stop - start
        part = [w[:size] for w in work]
        _blocks_into(
            (
                words[0][start:stop],
                words[1][start:stop],
                words[2][start:stop],
                words[3][start:stop],
            ),
            keys[:, start:stop] if isinstance(keys, np.ndarray) else keys,
            (
                result[0, start:stop],
                result[1, start:stop],
                result[2, start:stop],
                result[3, start:stop],
            ),
            part,
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
