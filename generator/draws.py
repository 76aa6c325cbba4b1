"""Random draws addressed by key: every draw of a run is named by where it happens.

A draw's address is (seed, purpose, user, day, a, b, c, d, lane): the run's seed, the *purpose* (a
name for the draw site, such as ``"session.start"``), the user's index, the epoch day, four
structural indices that the purpose gives a meaning to (session, flow entry, step, burst event,
...), and one of the four 64-bit words of the Philox block at that address.  The address maps onto
Philox4x64-10 (``generator.philox``) without hashing, so two different addresses never share a
block::

    key      k0 = seed                       (0 .. 2**63 - 1)
             k1 = purpose_id(purpose)        (BLAKE2b-64 of the purpose's name)
    counter  c0 = user                       (0 .. 2**64 - 1)
             c1 = day mod 2**64              (a signed epoch day, two's complement)
             c2 = a << 32 | b                (each index 0 .. 2**32 - 1)
             c3 = c << 32 | d

The seed and the purpose are the key because they are constant for a whole array of draws: the
batch engine computes the key schedule once per call.  Because a draw depends on its address only,
the plain model (one user, one step after another) and the batch engine (arrays of users, stage by
stage) get the same number for the same address in any order, and any worker gets the same number
for the same user.  ``docs/engine.md`` explains how to give every draw of the model an address.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .limits import MAX_SEED
from .philox import MASK64, block, blocks, round_keys

INDEX_BITS = 32  # each of the four structural indices a, b, c, d
UNIT_BITS = 53  # a uniform float takes the top 53 bits of a word: every double in [0, 1) it hits
UNIT_SCALE = 2.0**-UNIT_BITS
_WORD_SHIFT = 64 - UNIT_BITS
_DAY_BOUND = 2**63


def purpose_id(name: str) -> int:
    """The key word of a purpose: the first 8 bytes of BLAKE2b of its UTF-8 name, little-endian.

    A name rather than a number from a central list: adding a purpose never moves another one's
    draws, and two sites can only collide by choosing the same name (a 2**-64 chance otherwise).
    """
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def unit(word: int) -> float:
    """A uniform float in [0, 1) from a 64-bit word: its top 53 bits times 2**-53 (exact).

    numpy's own ``random()`` converts a word the same way; :func:`units` is the array form.
    """
    return (word >> _WORD_SHIFT) * UNIT_SCALE


def units(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]:
    """:func:`unit` for an array of words: the same floats, bit for bit (an integer below 2**53
    converts to a double exactly, and scaling by a power of two is exact)."""
    top: npt.NDArray[np.float64] = (words >> np.uint64(_WORD_SHIFT)).astype(np.float64)
    return top * UNIT_SCALE


@dataclass(frozen=True)
class Draws:
    """The draws of one purpose under one seed: ``block`` for one address, ``blocks`` for arrays.

    ``Draws(seed, "walk.step").block(user, day, session, entry, step)`` is a tuple of four 64-bit
    words; column ``i`` of ``blocks(users, days, sessions, entries, steps)`` is the same for the
    ``i``-th address.  Unused trailing indices are 0.
    """

    seed: int
    purpose: str
    keys: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"a seed is a whole number from 0 to {MAX_SEED}, not {self.seed}")
        object.__setattr__(self, "keys", round_keys(self.seed, purpose_id(self.purpose)))

    def block(
        self, user: int, day: int = 0, a: int = 0, b: int = 0, c: int = 0, d: int = 0
    ) -> tuple[int, int, int, int]:
        """The four words at one address (the plain model's form, about 2.5 µs)."""
        if user >> 64 or (a | b | c | d) >> INDEX_BITS or not -_DAY_BOUND <= day < _DAY_BOUND:
            raise ValueError(f"address out of range: user={user} day={day} a..d={a},{b},{c},{d}")
        return block(user, day & MASK64, a << 32 | b, c << 32 | d, self.keys)

    def blocks(
        self,
        user: npt.ArrayLike,
        day: npt.ArrayLike = 0,
        a: npt.ArrayLike = 0,
        b: npt.ArrayLike = 0,
        c: npt.ArrayLike = 0,
        d: npt.ArrayLike = 0,
    ) -> npt.NDArray[np.uint64]:
        """The words at many addresses (the batch engine's form): the arguments are broadcast
        together and the result has shape ``(4, n)``, one column per address."""
        counter = self.counters(user, day, a, b, c, d)
        return blocks(counter[0], counter[1], counter[2], counter[3], self.keys)

    def counters(
        self,
        user: npt.ArrayLike,
        day: npt.ArrayLike = 0,
        a: npt.ArrayLike = 0,
        b: npt.ArrayLike = 0,
        c: npt.ArrayLike = 0,
        d: npt.ArrayLike = 0,
    ) -> npt.NDArray[np.uint64]:
        """The counters of :meth:`blocks`' addresses, shape ``(4, n)``; an address that the
        layout cannot hold is refused (``ValueError``), never wrapped."""
        users = np.asarray(user)
        if users.dtype.kind not in "iu" or (users.dtype.kind == "i" and (users < 0).any()):
            raise ValueError("user must be whole numbers from 0 to 2**64 - 1")
        days = np.asarray(day)
        if days.dtype.kind not in "iu" or (days.dtype == np.uint64 and (days >> 63).any()):
            raise ValueError("days are signed 64-bit whole numbers")
        return np.stack(
            np.broadcast_arrays(
                users.astype(np.uint64),
                days.astype(np.int64).view(np.uint64),
                _pair(a, b, "a", "b"),
                _pair(c, d, "c", "d"),
            )
        ).reshape(4, -1)


def _pair(
    high: npt.ArrayLike, low: npt.ArrayLike, high_name: str, low_name: str
) -> npt.NDArray[np.uint64] | np.uint64:
    """``high << 32 | low`` of two structural indices, each refused outside 0 .. 2**32 - 1."""
    if isinstance(high, int) and isinstance(low, int):
        if (high | low) >> INDEX_BITS or high < 0 or low < 0:
            raise ValueError(f"{high_name}, {low_name} must be whole numbers from 0 to 2**32 - 1")
        return np.uint64(high << INDEX_BITS | low)
    shift = np.uint64(INDEX_BITS)
    return (_index(high, high_name) << shift) | _index(low, low_name)


def _index(values: npt.ArrayLike, name: str) -> npt.NDArray[np.uint64]:
    """An index as ``uint64``: a negative one wraps to a huge value, which the check refuses."""
    array = np.asarray(values)
    if array.dtype.kind not in "iu":
        raise ValueError(f"{name} must be whole numbers, not {array.dtype}")
    words = array.astype(np.uint64)
    if (words >> np.uint64(INDEX_BITS)).any():
        raise ValueError(f"{name} must be whole numbers from 0 to 2**{INDEX_BITS} - 1")
    return words


Request = tuple["Draws", npt.NDArray[np.uint64]]  # draws of one purpose, and their counters


def blocks_of(requests: Sequence[Request]) -> list[npt.NDArray[np.uint64]]:
    """The blocks of several purposes' addresses in one Philox call (a key schedule per address):
    ``[draws.blocks(*address) for draws, address in ...]``, the same words, at the cost of one
    call's fixed work instead of one per purpose.  Each request is ``(draws, draws.counters(...))``.
    """
    sizes = [counter.shape[1] for _, counter in requests]
    if not requests or not sum(sizes):
        return [np.zeros((4, size), dtype=np.uint64) for size in sizes]
    counters = np.concatenate([counter for _, counter in requests], axis=1)
    runs = [(size, draws.keys) for size, (draws, _) in zip(sizes, requests) if size]
    words = blocks(counters[0], counters[1], counters[2], counters[3], runs)
    return np.split(words, np.cumsum(sizes)[:-1], axis=1)
