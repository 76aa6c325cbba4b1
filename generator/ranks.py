"""Value frequency by rank (SPEC section 3).

A column's values are listed most frequent first; a value's chance depends only on its position.
:class:`RankedChoice` turns that into a cumulative table so a draw costs one ``random()`` and one
C-level bisection, which matters: properties are drawn at every flow entry.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

SMALL_COLUMN_SHARES = {1: (1.0,), 2: (0.6, 0.4), 3: (0.5, 0.3, 0.2)}
BAND_SHARES = (0.40, 0.30, 0.25, 0.05)  # columns of 4 or more values: four bands of ranks


def band_sizes(n: int) -> tuple[int, int, int, int]:
    """Four bands as equal as possible; where n is not a multiple of 4 the later bands grow."""
    base, extra = divmod(n, 4)
    sizes = [base] * 4
    for band in range(extra):
        sizes[3 - band] += 1
    return sizes[0], sizes[1], sizes[2], sizes[3]


def rank_weights(n: int) -> tuple[float, ...]:
    """The chance of each rank, rank 1 first, for a column of ``n`` values (they sum to 1)."""
    if n < 1:
        raise ValueError("a column needs at least one value")
    if n in SMALL_COLUMN_SHARES:
        return SMALL_COLUMN_SHARES[n]
    weights: list[float] = []
    for share, size in zip(BAND_SHARES, band_sizes(n)):
        weights.extend([share / size] * size)
    return tuple(weights)


def cumulative(weights: Sequence[float]) -> list[float]:
    """Upper bounds for ``bisect_right``; the last is exactly 1.0 so every ``random()`` lands."""
    total = 0.0
    bounds = []
    for weight in weights:
        total += weight
        bounds.append(total)
    bounds[-1] = 1.0
    return bounds


class RankedChoice(Generic[T]):
    """Draw one of ``values`` by rank with a caller-supplied generator."""

    __slots__ = ("bounds", "values")

    def __init__(self, values: Sequence[T]) -> None:
        self.values = tuple(values)
        self.bounds = cumulative(rank_weights(len(self.values)))

    def index(self, rng: random.Random) -> int:
        return bisect_right(self.bounds, rng.random())

    def draw(self, rng: random.Random) -> T:
        return self.values[bisect_right(self.bounds, rng.random())]
