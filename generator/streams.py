"""Seeds, and the one draw that is keyed by a text rather than by a position (``sites``).

Every other draw of a run is addressed by its site and its structural position (``sites``,
``draws``); a key-bound property (``platform [deviceId]``) depends instead on the value of its key,
whoever uses that device and whenever, so its word is a hash of the seed, the column and the value.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence


def keyed_word(seed: int, purpose: str, value: str) -> int:
    """A 64-bit word that depends only on (seed, purpose, value): BLAKE2b, the same on every
    machine.  What a key-bound property is for one value of its key (a device has one platform)."""
    material = f"{seed}:{purpose}:{value}".encode()
    return int.from_bytes(hashlib.blake2b(material, digest_size=8).digest(), "little")


def keyed_words(seed: int, purpose: str, values: Sequence[str]) -> list[int]:
    """:func:`keyed_word` for many values of one purpose: the same words, the common start of
    the hashed text hashed once."""
    start = hashlib.blake2b(f"{seed}:{purpose}:".encode(), digest_size=8)
    found = []
    for value in values:
        hasher = start.copy()
        hasher.update(value.encode())
        found.append(int.from_bytes(hasher.digest(), "little"))
    return found


def new_seed(entropy: random.Random | None = None) -> int:
    """A seed for a run that was given none; the front records it so the run can be repeated."""
    source = entropy if entropy is not None else random.SystemRandom()
    return source.randrange(1, 2**31)
