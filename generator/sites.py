"""Where the model draws: every random number of a run is named by its site and its address.

A *site* is one place in the model that draws (a session's start hour, a step's success, a
property value); its *address* is the structural position of that draw in the user's life: the
user, the day, and the indices that locate it.  ``generator.draws`` maps (seed, site, address) to
one Philox4x64-10 block of four 64-bit words, its *lanes*.  Because a draw depends on its address
alone, the plain model (one user after another, one step after another: ``users``, ``walker``) and
the batch engine (arrays of users, stage by stage: ``lives``, ``batch``) read the same numbers, in
any order, in any process (docs/engine.md, section 7).  Draws are addressed by *potential*
position: the block of step 3 of flow entry 2 exists whether or not the walk gets there.

Indices: ``u`` the user's index in the run, ``d`` a local epoch day (``localtime``), ``life`` 0
for a day the user walks in the window and ``1 + c`` for a day lived before the window by its
candidate ``c`` (``population``), ``s`` a session's draw number, ``k`` its position among the
day's sessions in time order, ``e`` a flow entry of the session, ``j`` a step of the flow, ``i`` an
event of a background burst, ``x`` a column block (``column // 4``; the lane is ``column % 4``)::

    site              address                  lanes
    user.id           (u)                      0,1 the user id (a UUID)  2 joined before the window
    user.lookup       (u, 0, x)                one lookup attribute each
    user.keys         (u, 0, key)              0,1 the first value of a secondary key (a UUID)
    user.candidate    (u, 0, c)                0 p  1 creation time  2 churn probability
    user.props        (u, 0, x)                one `[user]` property each
    day               (u, d, life)             0 quiet days  1 break length  2 new p  3 churn
    day.sessions      (u, d)                   0 sessions in the day
    session.start     (u, d, s)                0 the hour  1 the moment within the hour
    session           (u, d, k)                0 push past the last session  1 flow entries
                                               2 session id  3 the device roll (r > 0.8)
    session.device    (u, d, k)                0 a new device or one of the pool  1 which one
    device.key        (u, d, k, key)           0,1 a new device's value of that key (a UUID)
    session.open      (u, d, k)                0 the event that opens an empty session
    entry             (u, d, k, e)             0 the flow entered
    step              (u, d, k, e, j)          0 success  1 the gap after it  2 a burst after it
                                               3 the burst's size
    burst             (u, d, k, e, j, i)       0 the background event  1 the gap after it
    prop.session      (u, d, k, x)             one `[session]` property each
    prop.flow         (u, d, k, e, x)          one `[flow]` property each (e = OPEN: the opening
                                               event of an empty session)
    prop.event        (u, d, k, e, j<<8|i, x)  one `[event]` property each (i = 0: the step's own
                                               event, 1 + i: burst event i; e = OPEN as above)

The pilot users that size the population already there when the window opens
(``lives.steady_share``) draw from the same sites under the prefix ``pilot.``, pilot ``i`` of kind
``kind`` being user ``kind * pilots + i``.  Key-bound properties are not drawn here: a device's
value depends on the key's value itself (``properties.PropertyPlan.keyed``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .draws import Draws, Request, blocks_of

OPEN = 0xFFFFFFFF  # the entry index of the event that opens a session with no flow event
LANES = 4  # 64-bit words per block: columns are drawn four to a block

SITE_NAMES = (
    "user.id",
    "user.lookup",
    "user.keys",
    "user.candidate",
    "user.props",
    "day",
    "day.sessions",
    "session.start",
    "session",
    "session.device",
    "device.key",
    "session.open",
    "entry",
    "step",
    "burst",
    "prop.session",
    "prop.flow",
    "prop.event",
)


def uuid_text(high: int, low: int) -> str:
    """A version-4 UUID string from two 64-bit words (version and variant bits set)."""
    return str(uuid.UUID(int=high << 64 | low, version=4))


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_VERSION_MASK, _VERSION = np.uint64(~0xF000 & (2**64 - 1)), np.uint64(0x4000)
_VARIANT_MASK, _VARIANT = np.uint64(~(0xC000 << 48) & (2**64 - 1)), np.uint64(0x8000 << 48)


_SHIFTS = np.arange(60, -4, -4, dtype=np.uint64)  # a word's 16 hex digits, first to last
# Where each of a UUID's 36 characters comes from among the 32 digits (32: the dash).
_LAYOUT = np.array(
    [*range(0, 8), 32, *range(8, 12), 32, *range(12, 16), 32, *range(16, 20), 32, *range(20, 32)]
)


def uuid_texts(high: npt.NDArray[np.uint64], low: npt.NDArray[np.uint64]) -> list[str]:
    """:func:`uuid_text` for arrays of words, without a Python step per UUID."""
    words = np.stack(((high & _VERSION_MASK) | _VERSION, (low & _VARIANT_MASK) | _VARIANT), 1)
    digits = ((words[:, :, None] >> _SHIFTS) & np.uint64(15)).reshape(high.size, 32)
    characters = np.append(_HEX, np.uint8(ord("-")))[digits.astype(np.intp)]
    text = np.concatenate((characters, np.full((high.size, 1), ord("-"), np.uint8)), 1)
    found: list[str] = (
        np.ascontiguousarray(text[:, _LAYOUT]).view("S36").ravel().astype(str).tolist()
    )
    return found


@dataclass(frozen=True)
class Sites:
    """The draws of every site for one seed (``prefix`` "pilot." for the pilot users)."""

    seed: int
    prefix: str = ""
    draws: dict[str, Draws] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "draws", {name: Draws(self.seed, self.prefix + name) for name in SITE_NAMES}
        )

    def __getitem__(self, site: str) -> Draws:
        return self.draws[site]

    def request(self, site: str, user: npt.ArrayLike, day: npt.ArrayLike = 0,
                *where: npt.ArrayLike) -> Request:  # fmt: skip
        """Arrays of addresses at ``site``, for :meth:`draw`."""
        draws = self[site]
        return draws, draws.counters(user, day, *where)

    def draw(self, *requests: Request) -> list[npt.NDArray[np.uint64]]:
        """The blocks of several requests, in one Philox call (``draws.blocks_of``): one array
        of shape ``(4, n)`` per request."""
        return blocks_of(requests)

    def column_word(self, site: str, column: int, user: int, day: int, *where: int) -> int:
        """The word of property ``column`` at a site whose last index is the column block."""
        indices = [*where, column // LANES]
        return self[site].block(user, day, *indices)[column % LANES]

    def columns(self, site: str, user: int, day: int, *where: int) -> Callable[[int], int]:
        """The words of the columns at one address of a site: ``column -> word``."""
        return lambda column: self.column_word(site, column, user, day, *where)
