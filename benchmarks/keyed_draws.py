"""What a keyed draw costs, in the numpy form and the scalar form, against the alternatives.

    python3 benchmarks/keyed_draws.py                 # every table, about a minute
    python3 benchmarks/keyed_draws.py --n 200000 --repeat 3 --chunks

Figures are CPU time (``time.process_time``), the best of ``--repeat`` runs, so that other work on
a shared machine disturbs them less; every alternative runs in the same process and the same run.

* Keyed generators, numpy form: ``Draws.blocks`` (Philox4x64-10, numpy's Philox, the project's
  choice) against Philox4x32-10 (Random123's other Philox, written here in numpy, checked against
  Random123's known answers) and a SplitMix64 finaliser hash of the address (not a vetted
  generator: the cheapest thing that could work).  Also the floor: numpy's own C generators
  stepping sequentially (``random_raw``), which cannot be addressed by key.
* Keyed generators, scalar form: ``Draws.block``, the same hash in Python, numpy's Philox built for
  each address, and the plain model's present scheme (BLAKE2b key, Mersenne Twister seeded per
  user-day, what model 2's ``streams.reseed`` did).
* The exact distributions of ``generator.distributions``, per draw, in both forms.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cpu_time import cpu_seconds  # benchmarks/cpu_time.py, beside this script

from generator import philox
from generator.distributions import (
    Quantiles,
    Ranked,
    chance,
    chances,
    count,
    counts,
    integer,
    integers,
)
from generator.draws import Draws, purpose_id

MASK64 = (1 << 64) - 1
U64 = np.uint64


# -- Philox4x32-10, the 32-bit Philox (Random123), in numpy: an alternative ------------------------

P32_M = (0xD2511F53, 0xCD9E8D57)
P32_W = (0x9E3779B9, 0xBB67AE85)
P32_KNOWN = [  # Random123 kat_vectors, philox4x32 10 rounds: counter, key, block
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]  # fmt: skip


def philox4x32(counter: list[np.ndarray], key: tuple[int, int]) -> list[np.ndarray]:
    """Philox4x32-10 for arrays of 32-bit counter words held in uint64 (a 32x32 product fits)."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    low = U64(0xFFFFFFFF)
    for _ in range(10):
        p0 = c0 * U64(P32_M[0])
        p1 = c2 * U64(P32_M[1])
        c0, c1, c2, c3 = (
            (p1 >> U64(32)) ^ c1 ^ U64(k0),
            p1 & low,
            (p0 >> U64(32)) ^ c3 ^ U64(k1),
            p0 & low,
        )
        k0 = (k0 + P32_W[0]) & 0xFFFFFFFF
        k1 = (k1 + P32_W[1]) & 0xFFFFFFFF
    return [c0, c1, c2, c3]


def philox4x32_scalar(
    c0: int, c1: int, c2: int, c3: int, k0: int, k1: int
) -> tuple[int, int, int, int]:
    """Philox4x32-10 with Python integers (rounds in a loop, keys bumped as it goes)."""
    m0, m1 = P32_M
    for _ in range(10):
        p = m0 * c0
        q = m1 * c2
        c0, c1, c2, c3 = (q >> 32) ^ c1 ^ k0, q & 0xFFFFFFFF, (p >> 32) ^ c3 ^ k1, p & 0xFFFFFFFF
        k0 = (k0 + P32_W[0]) & 0xFFFFFFFF
        k1 = (k1 + P32_W[1]) & 0xFFFFFFFF
    return c0, c1, c2, c3


def check_philox4x32() -> None:
    for counter, key, expected in P32_KNOWN:
        words = philox4x32([np.array([c], dtype=U64) for c in counter], key)
        assert tuple(int(w[0]) for w in words) == expected, "Philox4x32-10 known answer"
        assert philox4x32_scalar(*counter, *key) == expected, "Philox4x32-10 known answer"


# -- a SplitMix64 finaliser hash of the address: an alternative -----------------------------------

GAMMA = 0x9E3779B97F4A7C15


def mix(z: int) -> int:
    """SplitMix64's output function (Steele, Lea, Flood 2014), Python form."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def mix_array(z: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
    mixed: np.ndarray[Any, Any] = z ^ (z >> U64(31))
    return mixed


def hash_words(key: int, address: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Four words for an address: chain the finaliser through the key and each address word, then
    one finaliser per output word."""
    state = key
    for word in address:
        state = mix((state ^ word) + GAMMA & MASK64)
    return tuple(mix((state + (lane + 1) * GAMMA) & MASK64) for lane in range(4))  # type: ignore[return-value]


def hash_words_array(key: int, address: list[np.ndarray]) -> list[np.ndarray]:
    state = np.full(address[0].shape, key, dtype=U64)
    for word in address:
        state = mix_array((state ^ word) + U64(GAMMA))
    return [mix_array(state + U64((lane + 1) * GAMMA & MASK64)) for lane in range(4)]


def check_hash() -> None:
    assert mix(GAMMA) == 0xE220A8397B1DCDAF  # SplitMix64's first output from state 0
    address = [np.array([3, 2**64 - 1], dtype=U64), np.array([5, 0], dtype=U64)]
    vector = hash_words_array(7, address)
    for i in range(2):
        assert hash_words(7, (int(address[0][i]), int(address[1][i]))) == tuple(
            int(v[i]) for v in vector
        )


# -- the tables ---------------------------------------------------------------------------------


def row(name: str, seconds: float, items: int, words_per_item: int, note: str = "") -> str:
    ns = seconds / items * 1e9
    per_word = ns / words_per_item
    rate = items / seconds / 1e6
    return f"| {name} | {ns:,.1f} | {per_word:,.1f} | {rate:,.2f} | {note} |"


def vector_table(n: int, repeat: int) -> list[str]:
    rng = np.random.default_rng(1)
    users = np.arange(n, dtype=np.int64)
    days = rng.integers(19_000, 19_100, n)
    sessions = rng.integers(0, 12, n)
    steps = rng.integers(0, 40, n)
    draws = Draws(20261129, "walk.step")
    lines = [
        f"Numpy form: {n:,} addresses per call (user, day, session, step), CPU time, best of "
        f"{repeat}.",
        "",
        "| generator | ns per address | ns per 64-bit word | million addresses per CPU-s | notes |",
        "|---|---|---|---|---|",
    ]
    seconds = cpu_seconds(lambda: draws.blocks(users, days, sessions, 0, steps), repeat)
    lines.append(row("Philox4x64-10, `Draws.blocks` (chosen)", seconds, n, 4, "4 words"))
    c32 = [users.astype(U64) & U64(0xFFFFFFFF), days.astype(U64), sessions.astype(U64),
           steps.astype(U64)]  # fmt: skip

    def chunked_4x32() -> None:  # in passes of philox.CHUNK, like Draws.blocks, for the caches
        for start in range(0, n, philox.CHUNK):
            philox4x32([c[start : start + philox.CHUNK] for c in c32], (20261129 & 0xFFFFFFFF, 77))

    seconds = cpu_seconds(chunked_4x32, repeat)
    lines.append(row("Philox4x32-10 in numpy", seconds, n, 2, "4 words of 32 bits = 2 of 64"))
    a64 = [users.astype(U64), days.astype(U64), sessions.astype(U64), steps.astype(U64)]
    key = mix(20261129 ^ purpose_id("walk.step"))

    def chunked_hash() -> None:
        for start in range(0, n, philox.CHUNK):
            hash_words_array(key, [a[start : start + philox.CHUNK] for a in a64])

    seconds = cpu_seconds(chunked_hash, repeat)
    lines.append(row("SplitMix64 hash of the address", seconds, n, 4, "not a vetted generator"))
    generator = np.random.Philox(key=1)
    seconds = cpu_seconds(lambda: generator.random_raw(4 * n), repeat)
    lines.append(row("numpy Philox, sequential `random_raw`", seconds, n, 4, "not addressable"))
    pcg = np.random.PCG64(1)
    seconds = cpu_seconds(lambda: pcg.random_raw(4 * n), repeat)
    lines.append(row("numpy PCG64, sequential `random_raw`", seconds, n, 4, "not addressable"))
    return lines


def scalar_table(n: int, repeat: int) -> list[str]:
    draws = Draws(20261129, "walk.step")
    key = mix(20261129 ^ purpose_id("walk.step"))
    lines = [
        f"Scalar form: {n:,} addresses one call each, CPU time, best of {repeat}.",
        "",
        "| generator | ns per address | ns per 64-bit word | million addresses per CPU-s | notes |",
        "|---|---|---|---|---|",
    ]

    def keyed() -> None:
        block = draws.block
        for user in range(n):
            block(user, 19_000, 3, 0, 7)

    lines.append(row("Philox4x64-10, `Draws.block` (chosen)", cpu_seconds(keyed, repeat), n, 4,
                     "4 words"))  # fmt: skip

    def keyed32() -> None:
        for user in range(n):
            philox4x32_scalar(user & 0xFFFFFFFF, 19_000, 3, 7, 20261129 & 0xFFFFFFFF, 77)

    lines.append(row("Philox4x32-10 in Python", cpu_seconds(keyed32, repeat), n, 2,
                     "4 words of 32 bits = 2 of 64"))  # fmt: skip

    def hashed() -> None:
        for user in range(n):
            hash_words(key, (user, 19_000, 3 << 32, 7 << 32))

    lines.append(row("SplitMix64 hash of the address", cpu_seconds(hashed, repeat), n, 4,
                     "not a vetted generator"))  # fmt: skip

    def numpy_per_address() -> None:
        for user in range(n):
            np.random.Philox(counter=user, key=key).random_raw(4)

    lines.append(row("numpy Philox built per address", cpu_seconds(numpy_per_address, repeat),
                     n, 4, "`Philox(counter=, key=).random_raw(4)`"))  # fmt: skip
    rng = random.Random(0)

    def reseed(rng: random.Random, seed: int, purpose: int, index: int, day: int) -> None:
        """Model 2's stream per (seed, purpose, user, day): a BLAKE2b key seeding a Mersenne
        Twister (``streams.reseed`` until the batch engine replaced it)."""
        material = f"{seed}:{purpose}:{index}:{day}".encode()
        rng.seed(int.from_bytes(hashlib.blake2b(material, digest_size=16).digest(), "little"))

    def reseeded() -> None:
        for user in range(n):
            reseed(rng, 20261129, 2, user, 19_000)
            rng.random()

    lines.append(row("BLAKE2b + Mersenne Twister per user-day (today)", cpu_seconds(reseeded,
                     repeat), n, 1, "model 2's reseed + 1 `random()`"))  # fmt: skip

    def running() -> None:
        draw = rng.random
        for _ in range(n):
            draw()

    lines.append(row("`random()` of a seeded Mersenne Twister", cpu_seconds(running, repeat), n,
                     1, "today's cost per draw once seeded"))  # fmt: skip
    return lines


def distributions_table(n: int, scalar_n: int, repeat: int) -> list[str]:
    words = Draws(1, "bench").blocks(np.arange(n))[0]
    few = [int(w) for w in words[:scalar_n]]
    p = np.linspace(0.0, 1.0, n)
    choice = Ranked.by_rank(6)
    hours = Ranked([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 3, 6, 9, 10, 10, 9, 9, 10, 10, 9, 7, 5, 4,
                    3.5, 3, 2.2, 1.5])  # fmt: skip
    gaps = Quantiles.exponential()
    tail = Quantiles.lomax("3")
    scale = np.full(n, 45_000)
    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        ("chance (per-draw p)", lambda: chances(words, p),
         lambda: [chance(w, 0.3) for w in few]),
        ("whole number in [1, 30]", lambda: integers(words, 1, 30),
         lambda: [integer(w, 1, 30) for w in few]),
        ("ranked choice, 6 values", lambda: choice.indices(words),
         lambda: [choice.index(w) for w in few]),
        ("ranked choice, 24 hours", lambda: hours.indices(words),
         lambda: [hours.index(w) for w in few]),
        ("geometric count, q = 0.5, cap 12", lambda: counts(words, 0.5, 12),
         lambda: [count(w, 0.5, 12) for w in few]),
        ("exponential gap in ms", lambda: gaps.scaled_array(words, scale),
         lambda: [gaps.scaled(w, 45_000) for w in few]),
        ("Lomax(3) gap in ms", lambda: tail.scaled_array(words, scale),
         lambda: [tail.scaled(w, 45_000) for w in few]),
    ]  # fmt: skip
    lines = [
        f"Exact distributions, from words already drawn: numpy form on {n:,} words, scalar form "
        f"on {scalar_n:,}, CPU time, best of {repeat}.",
        "",
        "| primitive | numpy form, ns per draw | scalar form, ns per draw |",
        "|---|---|---|",
    ]
    for name, vector, scalar in cases:
        v = cpu_seconds(vector, repeat) / n * 1e9
        s = cpu_seconds(scalar, repeat) / scalar_n * 1e9
        lines.append(f"| {name} | {v:,.1f} | {s:,.0f} |")
    return lines


def chunk_table(n: int, repeat: int) -> list[str]:
    keys = philox.round_keys(1, 2)
    counter = np.arange(n, dtype=U64)
    lines = [
        f"Pass length of `philox.blocks` ({n:,} blocks, CPU time, best of {repeat}).",
        "",
        "| CHUNK | ns per block |",
        "|---|---|",
    ]
    chosen = philox.CHUNK
    try:
        for size in (1024, 2048, 4096, 8192, 16384, 32768, 65536, 262144):
            philox.CHUNK = size
            seconds = cpu_seconds(lambda: philox.blocks(counter, 0, 0, 0, keys), repeat)
            mark = " (chosen)" if size == chosen else ""
            lines.append(f"| {size:,}{mark} | {seconds / n * 1e9:,.1f} |")
    finally:
        philox.CHUNK = chosen
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="addresses per numpy call")
    parser.add_argument("--scalar", type=int, default=20_000, help="addresses in the scalar loop")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (best is kept)")
    parser.add_argument("--chunks", action="store_true", help="also sweep philox.CHUNK")
    args = parser.parse_args(argv)
    check_philox4x32()
    check_hash()
    print(f"numpy {np.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    tables = [
        vector_table(args.n, args.repeat),
        scalar_table(args.scalar, args.repeat),
        distributions_table(args.n, args.scalar, args.repeat),
    ]
    if args.chunks:
        tables.append(chunk_table(args.n, args.repeat))
    print("\n\n".join("\n".join(table) for table in tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
