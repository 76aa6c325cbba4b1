"""Exact distributions: from a 64-bit word (``generator.draws``) to a yes/no, a choice, a count, a
gap in milliseconds, the same in the plain model and the batch engine on every machine.

Each primitive has a scalar form (Python integers and floats) and an array form (numpy) that agree
bit for bit, because both use only operations whose results IEEE 754 and integer arithmetic fix
exactly: integer +, -, *, >>, comparisons, and the float operations +, -, *, / and comparisons on
doubles.  ``log``, ``exp`` and ``pow`` are not among them: C libraries and numpy's vectorised loops
may differ in the last bit, so no draw passes through them.  Where a distribution needs them (the
exponential gap), its quantiles are tabulated once with ``decimal``, whose ``ln`` and ``exp`` are
correctly rounded and computed in software: the same integers on every machine.

The model may compute a probability as a float (``floor + gain * p``) in both forms: numpy's
elementwise ``*`` and ``+`` round like Python's (no fused multiply-add between separate ufuncs).
Likewise ``round`` is ``np.rint`` (half to even), ``int`` on a float is ``astype(np.int64)``
(toward zero) and ``math.floor`` is ``np.floor``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import cache

import numpy as np
import numpy.typing as npt

from .draws import UNIT_BITS, unit, units
from .philox import mulhi
from .ranks import BAND_SHARES, SMALL_COLUMN_SHARES, band_sizes

Words = npt.NDArray[np.uint64]
_UNIT_SHIFT = np.uint64(64 - UNIT_BITS)
_UNIT_ONE = 1 << UNIT_BITS


# -- yes or no ----------------------------------------------------------------------------------


def chance(word: int, p: float) -> bool:
    """True with probability ``p``: ``unit(word) < p``.  A double comparison is exact, so this is
    the same as comparing the 53-bit integer with ``ceil(p * 2**53)``."""
    return unit(word) < p


def chances(words: Words, p: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """:func:`chance` for arrays (``p`` a float or an array of floats)."""
    result: npt.NDArray[np.bool_] = units(words) < np.asarray(p, dtype=np.float64)
    return result


# -- a whole number in a range ------------------------------------------------------------------


def integer(word: int, lo: int, hi: int) -> int:
    """A whole number from ``lo`` to ``hi`` inclusive: ``lo + (word * n) >> 64`` for ``n`` values.

    Each value gets ``floor`` or ``ceil`` of ``2**64 / n`` words: a relative bias below
    ``n / 2**64``, nothing any figure can show.  ``n`` is below 2**63 (it is an int64 in
    :func:`integers`).
    """
    n = hi - lo + 1
    if not 0 < n < 1 << 63:
        raise ValueError(f"a range from {lo} to {hi} is empty or too wide")
    return lo + ((word * n) >> 64)


def integers(words: Words, lo: npt.ArrayLike, hi: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """:func:`integer` for arrays (``lo`` and ``hi`` whole numbers or arrays of them, int64)."""
    low = np.atleast_1d(np.asarray(lo, dtype=np.int64))
    high = np.atleast_1d(np.asarray(hi, dtype=np.int64))
    if (high < low).any():
        raise ValueError("a range is empty")
    span = high.view(np.uint64) - low.view(np.uint64)  # hi - lo, exact modulo 2**64
    if (span >= np.uint64((1 << 63) - 1)).any():
        raise ValueError("a range is too wide")
    offset = mulhi(words, span + np.uint64(1)).astype(np.int64)
    result: npt.NDArray[np.int64] = low + offset
    return result


# -- one of several, by weight -------------------------------------------------------------------


class Ranked:
    """A choice among ``n`` outcomes with fixed weights, by integer thresholds.

    Each outcome gets a count of the 2**53 values of a word's top 53 bits, computed from its
    weight's share in exact rational arithmetic; the outcome drawn is the number of cumulative
    bounds at or below the word's value.  Each outcome's chance is within 2**-53 of its share, and
    an outcome of weight 0 is never drawn.
    """

    __slots__ = ("array", "bounds", "size")

    def __init__(self, weights: Sequence[int | float | Fraction]) -> None:
        exact = [Fraction(w) for w in weights]
        if not exact or any(w < 0 for w in exact) or sum(exact) <= 0:
            raise ValueError("weights must be at least one number, none negative, not all zero")
        total = sum(exact)
        # Each outcome gets floor(2**53 * share) integers; the few left over go one each to the
        # first outcomes of positive weight, so equal weights never favour a later outcome (a
        # value is never more likely than one ranked above it) and every share is within 2**-53.
        shares = [int(w * _UNIT_ONE / total) for w in exact]  # int() of a Fraction >= 0 floors
        left = _UNIT_ONE - sum(shares)
        for i, weight in enumerate(exact):
            if left == 0:
                break
            if weight > 0:
                shares[i] += 1
                left -= 1
        bounds = []
        running = 0
        for share in shares[:-1]:
            running += share
            bounds.append(running)
        self.size = len(exact)
        self.bounds = tuple(bounds)
        self.array = np.array(bounds, dtype=np.uint64)

    @classmethod
    @cache
    def by_rank(cls, n: int) -> Ranked:
        """SPEC section 3's chances for a column of ``n`` values, rank 1 first, exactly: the shares
        of ``generator.ranks`` read as the decimals they are written as (0.05 is 1/20, not the
        double nearest to it), split evenly within each band."""
        if n < 1:
            raise ValueError("a column needs at least one value")
        if n in SMALL_COLUMN_SHARES:
            return cls([Fraction(repr(share)) for share in SMALL_COLUMN_SHARES[n]])
        weights: list[Fraction] = []
        for share, size in zip(BAND_SHARES, band_sizes(n)):
            weights += [Fraction(repr(share)) / size] * size
        return cls(weights)

    def index(self, word: int) -> int:
        """The outcome ``word`` draws, from 0 to ``size - 1``."""
        return bisect_right(self.bounds, word >> 11)

    def indices(self, words: Words) -> npt.NDArray[np.intp]:
        """:meth:`index` for an array of words."""
        found: npt.NDArray[np.intp] = np.searchsorted(self.array, words >> _UNIT_SHIFT, "right")
        return found


# -- a count: how many times a chance comes up before it fails -----------------------------------


def _ratio(q: float) -> int:
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"a chance to continue is from 0 to 1, not {q}")
    return int(q * 2.0**32)  # exact: scaling by a power of two, then the floor


def count(word: int, q: float, cap: int) -> int:
    """A geometric count: how many times, up to ``cap``, a chance ``q`` to go on comes up.

    From one word, by inversion: the count is at least ``k`` when the word's top 32 bits fall below
    ``T_k``, where ``T_0 = 2**32`` and ``T_k = (T_(k-1) * floor(q * 2**32)) >> 32``, so
    ``P(count >= k) = T_k / 2**32``, which is ``q**k`` to within ``k * 2**-32``.  No ``pow``.
    """
    ratio = _ratio(q)
    top = word >> 32
    threshold = 1 << 32
    k = 0
    while k < cap:
        threshold = (threshold * ratio) >> 32
        if top >= threshold:
            break
        k += 1
    return k


def counts(words: Words, q: npt.ArrayLike, cap: int) -> npt.NDArray[np.int64]:
    """:func:`count` for arrays (``q`` a float or an array of floats, one per word)."""
    chances_ = np.asarray(q, dtype=np.float64)
    if not ((chances_ >= 0.0) & (chances_ <= 1.0)).all():  # NaN fails both
        raise ValueError("a chance to continue is from 0 to 1")
    ratio = np.floor(chances_ * 2.0**32).astype(np.uint64)
    whole = ratio == np.uint64(1 << 32)  # q = 1: the product would not fit in 64 bits
    top = words >> np.uint64(32)
    threshold = np.full(words.shape, 1 << 32, dtype=np.uint64)
    result = np.zeros(words.shape, dtype=np.int64)
    for _ in range(cap):
        threshold = np.where(whole, threshold, (threshold * ratio) >> np.uint64(32))
        going = top < threshold  # thresholds only fall: once a word stops, it stays stopped
        if not going.any():
            break
        result += going
    return result


# -- a gap: a continuous distribution with a long tail, as a table of quantiles -------------------

FRACTION_BITS = 16  # quantiles are fixed-point numbers with this many bits after the point
BIN_BITS = 8  # each level splits its share of the probability into 256 bins
LEVELS = 5  # levels of ever smaller tails; past the last, 2**-40 of draws get the last quantile
WEIGHT_BITS = 16  # interpolation within a bin uses the 16 bits after the bin's
_BINS = 1 << BIN_BITS
_DIGITS = 40  # decimal digits for tabulating: ln and exp are correctly rounded at any precision


class Quantiles:
    """A continuous distribution of ``x >= 0`` drawn by inversion from a table, exactly.

    The distribution is given by its quantile as a function of ``ln t``, the log of the tail mass
    ``t = 1 - u``.  Level ``l`` of the table covers the tail ``t <= 256**-l`` in 256 bins of equal
    probability; the last bin of a level is the next level, so the long tail is tabulated as finely
    as the body.  A word's leading ``0xFF`` bytes pick the level, the next byte the bin, and the 16
    bits after it interpolate linearly between the bin's edges, all in integers.  Edges are
    ``floor(Q * 2**16)``, computed with ``decimal`` when the table is built.
    """

    __slots__ = ("cap", "edges", "name", "table")

    def __init__(self, name: str, quantile: Callable[[Decimal], Decimal]) -> None:
        self.name = name
        with localcontext() as context:
            context.prec = _DIGITS
            ln2 = Decimal(2).ln()
            ln_mass = {k: Decimal(k).ln() for k in range(1, _BINS + 1)}  # ln of (256 - i)
            edges = []
            for level in range(LEVELS):
                depth = BIN_BITS * (level + 1) * ln2
                for i in range(_BINS):  # tail mass at the bin's left edge: (256 - i) * 256**-(l+1)
                    edges.append(int(quantile(ln_mass[_BINS - i] - depth) * (1 << FRACTION_BITS)))
        edges.append(edges[-1])  # the bin past the last level: interpolates to the last edge
        if any(b < a for a, b in zip(edges, edges[1:])) or edges[0] < 0:
            raise ValueError(f"{name}: a quantile must be non-negative and non-decreasing")
        if max(b - a for a, b in zip(edges, edges[1:])) >> (64 - WEIGHT_BITS):
            raise ValueError(f"{name}: the tail is too long for 64-bit interpolation")
        self.edges = tuple(edges)
        self.cap = edges[-1]
        self.table = np.array(edges, dtype=np.uint64)

    @classmethod
    @cache
    def exponential(cls) -> Quantiles:
        """The exponential distribution of mean 1: ``Q = -ln t``."""
        return cls("exponential", lambda log_tail: -log_tail)

    @classmethod
    @cache
    def lomax(cls, shape: str) -> Quantiles:
        """A Pareto tail (Lomax, shape ``a`` > 1) scaled to mean 1: ``Q = (a - 1)(t**(-1/a) - 1)``.

        Heavier than the exponential: a gap ten means long is ``e**-10`` of the exponential's
        gaps but ``(1 + 10 / (a - 1))**-a`` of these (``a = 3``: 1 in 245).  ``shape`` is a
        decimal string (``"3"``, ``"2.5"``) so that the table does not depend on a double.
        """
        a = Decimal(shape)
        if not a > 1:
            raise ValueError(f"a Lomax shape must be above 1 (a finite mean), not {shape}")
        return cls(f"lomax({shape})", lambda log_tail: (a - 1) * ((-log_tail / a).exp() - 1))

    def value(self, word: int) -> int:
        """The quantile ``word`` draws, as a fixed-point number (``2**16`` is 1)."""
        level = 0
        while level < LEVELS - 1 and (word >> (56 - BIN_BITS * level)) & 0xFF == 0xFF:
            level += 1
        shift = 56 - BIN_BITS * level
        index = level * _BINS + ((word >> shift) & 0xFF)
        weight = (word >> (shift - WEIGHT_BITS)) & 0xFFFF
        low = self.edges[index]
        return low + (((self.edges[index + 1] - low) * weight) >> WEIGHT_BITS)

    def values(self, words: Words) -> Words:
        """:meth:`value` for an array of words."""
        level = np.zeros(words.shape, dtype=np.uint64)
        still = np.ones(words.shape, dtype=np.bool_)
        for depth in range(LEVELS - 1):
            still &= (words >> np.uint64(56 - BIN_BITS * depth)) & np.uint64(0xFF) == 0xFF
            level += still
        shift = np.uint64(56) - np.uint64(BIN_BITS) * level
        index = level * np.uint64(_BINS) + ((words >> shift) & np.uint64(0xFF))
        weight = (words >> (shift - np.uint64(WEIGHT_BITS))) & np.uint64(0xFFFF)
        low = self.table[index]
        high = self.table[index + np.uint64(1)]
        result: Words = low + (((high - low) * weight) >> np.uint64(WEIGHT_BITS))
        return result

    def max_scale(self) -> int:
        """The largest ``scale`` that :meth:`scaled` accepts (the product must fit in 64 bits)."""
        return ((1 << 64) - 1) // max(self.cap, 1)

    def scaled(self, word: int, scale: int) -> int:
        """``floor(scale * x)`` for the drawn ``x``: a gap of mean ``scale`` (in milliseconds, say).

        The model computes ``scale`` as a whole number (a user's mean gap at that hour), so the
        gap is exact; a gap of 0 is possible for a small scale, as it is for a real product.
        """
        if not 0 <= scale <= self.max_scale():
            raise ValueError(f"{self.name}: a scale from 0 to {self.max_scale()}, not {scale}")
        return (scale * self.value(word)) >> FRACTION_BITS

    def scaled_array(self, words: Words, scale: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """:meth:`scaled` for arrays (``scale`` a whole number or an array of them)."""
        scales = np.asarray(scale)
        if scales.dtype.kind not in "iu":
            raise ValueError(f"{self.name}: scales are whole numbers, not {scales.dtype}")
        if scales.size and (int(scales.min()) < 0 or int(scales.max()) > self.max_scale()):
            raise ValueError(f"{self.name}: scales from 0 to {self.max_scale()}")
        product = scales.astype(np.uint64) * self.values(words)
        result: npt.NDArray[np.int64] = (product >> np.uint64(FRACTION_BITS)).astype(np.int64)
        return result
