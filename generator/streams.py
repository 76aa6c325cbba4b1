"""Seeded random streams: every draw in a run comes from one seed, through explicit generators.

A stream is keyed by (seed, purpose, user index, day).  Because a user's draws depend only on that
key, and not on which process made them or which users came before, a run is byte-identical for any
number of workers, and a continued run regenerates exactly the day it was cut at.
"""

from __future__ import annotations

import hashlib
import random

USER_STREAM = 1  # who the user is: id, p, creation time, lookup values, first secondary keys
DAY_STREAM = 2  # everything the user does on one day
PILOT_STREAM = 3  # the pilot users that size the population already there (users.Population)
USER_PROPS_STREAM = 4  # a user's `[user]` properties, drawn once for life


def keyed_uniform(seed: int, purpose: str, value: str) -> float:
    """A uniform draw in [0, 1) that depends only on (seed, purpose, value): what a key-bound
    property is for one value of its key (a device has one platform, whoever walks it when)."""
    material = f"{seed}:{purpose}:{value}".encode()
    digest = hashlib.blake2b(material, digest_size=8).digest()
    return (int.from_bytes(digest, "little") >> 11) / 9007199254740992.0  # 53 bits / 2**53


def stream_key(seed: int, purpose: int, index: int, day: int = 0) -> int:
    """A 128-bit key mixing its parts (BLAKE2b): neighbouring users get unrelated streams."""
    material = f"{seed}:{purpose}:{index}:{day}".encode()
    return int.from_bytes(hashlib.blake2b(material, digest_size=16).digest(), "little")


def stream(seed: int, purpose: int, index: int, day: int = 0) -> random.Random:
    """A fresh generator for one (seed, purpose, index, day)."""
    return random.Random(stream_key(seed, purpose, index, day))


def reseed(rng: random.Random, seed: int, purpose: int, index: int, day: int = 0) -> None:
    """Make ``rng`` the stream for (seed, purpose, index, day): the same draws as :func:`stream`,
    without allocating a generator (a walker reuses one for every day it simulates)."""
    rng.seed(stream_key(seed, purpose, index, day))


def new_seed(entropy: random.Random | None = None) -> int:
    """A seed for a run that was given none; the front records it so the run can be repeated."""
    source = entropy if entropy is not None else random.SystemRandom()
    return source.randrange(1, 2**31)
