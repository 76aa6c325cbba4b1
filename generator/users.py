"""The user model: who each primary shard key is, and how its life goes from one active day to the
next (SPEC section 2, second edition), written plainly: one user, one day at a time.

This is the reference the batch engine (``lives``, ``batch``) is compared with, byte for byte.
Every draw is addressed by its site and position (``sites``): a user's draws depend on the seed and
its index only, so creating user 70,000 does not require creating the 69,999 before it, and any
chunk of users can be generated anywhere.

A user's life is a sequence of active days.  :class:`Life` decides, at the end of each active day,
which day is the next active one (within a streak of ``streak_days`` active days each day is active
by chance, lower at weekends; after a streak comes a break whose length depends on p), whether p is
drawn again (every ``resets_every_breaks`` breaks), and whether the user churns (a hazard per day
that falls with the account's age and with p).  The walker (``walker``) fills each active day with
sessions, flows and events; a ``final`` flow completed there churns the user too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .clock import weekday
from .distributions import integer
from .draws import unit
from .localtime import UTC_KEY, ZoneClock, clock, local_time_source
from .params import Params
from .spec import Product

MAX_QUIET_DAYS = 60  # inside a streak, a day this far on is active whatever the draws say
RATIO_ONE = (1 << 32) - 1  # a chance to go on of 1, as the integer ratio of distributions.count


@dataclass(slots=True)
class DayStart:
    """What a user was at the start of a day: enough to regenerate that day exactly.

    Kept for the day the end time cuts, so that a continued run (``--continue``) replays the day
    from the same draws and emits only what comes after the previous end.
    """

    p: float
    skip_days_counter: int
    churn_prob_reset_counter: int
    once_done: int
    secondary: list[str]
    key_pool: list[list[str]]
    last_event_ms: int | None


@dataclass(slots=True)
class UserState:
    """One primary shard key and the state that carries from one active day to the next."""

    index: int
    user_id: str
    p: float  # user_probability: how much this user likes the product, in [0, 1)
    churn_probability: float  # this user's factor of the churn hazard, in [0.6, 1)
    created_ms: int
    lookup: tuple[str, ...]
    secondary: list[str]
    churned: bool = False
    skip_days_counter: int = 0  # active days of the current streak
    churn_prob_reset_counter: int = 0  # breaks since p was last drawn
    once_done: int = 0  # bit i set: flow i (a `once` flow) was completed and is never entered again
    next_day: int = 0  # the next active day: a local epoch day (see localtime.ZoneClock)
    last_event_ms: int | None = None  # the last event the user performed (written or not)
    day_start: DayStart | None = field(default=None)
    # For a user who joined before the window: the window's start; nothing before it is written.
    window_start_ms: int | None = None
    before_window: bool = False  # joined before the window (kept in the saved state)
    # The user's devices: each entry one value per secondary key; ``secondary`` is one of them.
    key_pool: list[list[str]] = field(default_factory=list)
    # Per property column, the value index of a `[user]` property (drawn once for life from the
    # user's own draws, so never saved), -1 for the others.
    user_props: tuple[int, ...] = ()

    def snapshot(self) -> DayStart:
        return DayStart(
            self.p,
            self.skip_days_counter,
            self.churn_prob_reset_counter,
            self.once_done,
            list(self.secondary),
            [list(keys) for keys in self.key_pool],
            self.last_event_ms,
        )


class Clocks:
    """Each user's local clock, from the lookup attribute that names a zone or a country."""

    def __init__(self, product: Product) -> None:
        source = local_time_source(product.lookup)
        self.attribute = source.attribute
        self.utc = clock(UTC_KEY)
        self.zones: list[ZoneClock] = [self.utc]  # every clock a user may have; UTC first
        self.by_value: dict[str, ZoneClock] = {}
        self.index_by_value: dict[str, int] = {}
        if source.attribute is not None:
            values = product.lookup.attributes[source.attribute].values
            for value, zone in zip(values, source.zones):
                found = clock(zone)
                if found not in self.zones:
                    self.zones.append(found)
                self.by_value[value] = found
                self.index_by_value[value] = self.zones.index(found)

    def of(self, user: UserState) -> ZoneClock:
        return self.zones[self.index_of(user.lookup)]

    def index_of(self, lookup: tuple[str, ...]) -> int:
        """The position in :attr:`zones` of the clock of a user with these lookup values."""
        if self.attribute is None:
            return 0
        return self.index_by_value.get(lookup[self.attribute], 0)


def quiet_days(params: Params, p: float, day: int, word: int) -> int:
    """How many days after active day ``day`` are quiet before the next active one, inside a
    streak.  Each day is active with chance ``a`` (lower at weekends, ``Params.streak_active``),
    quiet otherwise; one word decides the whole run of quiet days by inversion: the run is at
    least ``k`` long when the word's top 32 bits fall below ``T_k``, ``T_0 = 2**32`` and
    ``T_k = (T_(k-1) * floor((1 - a_k) * 2**32)) >> 32`` (``distributions.count`` with a chance
    that depends on the day of the week).  At most :data:`MAX_QUIET_DAYS`."""
    ratios = (
        min(RATIO_ONE, int((1.0 - params.streak_active(p, False)) * 2.0**32)),
        min(RATIO_ONE, int((1.0 - params.streak_active(p, True)) * 2.0**32)),
    )
    top = word >> 32
    threshold = 1 << 32
    quiet = 0
    while quiet < MAX_QUIET_DAYS:
        threshold = (threshold * ratios[weekday(day + 1 + quiet) >= 5]) >> 32
        if top >= threshold:
            break
        quiet += 1
    return quiet


class Life:
    """The day-level model: what happens between one active day and the next.

    The four words of the day's block (``sites``: ``day``) decide it: the quiet days of a streak,
    a break's length, a new p, churn.
    """

    def __init__(self, params: Params) -> None:
        self.params = params

    def rate(self, user: UserState, day: int, first_day: int) -> float:
        """The user's churn hazard per day on ``day`` (``Params.churn_rate``)."""
        return self.params.churn_rate(user.p, user.churn_probability, float(day - first_day))

    def after_active_day(
        self,
        user: UserState,
        day: int,
        first_day: int,
        words: tuple[int, int, int, int],
        exits: float = 0.0,
        walked: bool = True,
        rate: float | None = None,
    ) -> int:
        """Move ``user`` on from active day ``day`` (``first_day`` being the day it joined): set
        its next active day, take a break and redraw p when a streak ends, and decide churn.
        Returns the length of the break that starts (0 inside a streak).  ``rate`` is the day's
        churn hazard when the caller has it already (:meth:`rate`).

        ``exits`` is about the chance that such a day ends the user's life through a ``final``
        flow: the hazard is the user's whole chance to leave, and leaving through a ``final`` flow
        is one way of doing it, so the silent churn drawn after a ``walked`` day (one whose flows
        were walked) is what is left of the hazard; a day lived without its flows (before the
        window) churns with the larger of the two.
        """
        params = self.params
        p = user.p
        if rate is None:
            rate = self.rate(user, day, first_day)
        days_off = 0
        user.skip_days_counter += 1
        if user.skip_days_counter >= params.streak_days:
            user.skip_days_counter = 0
            lo, hi = params.break_range(p)
            days_off = integer(words[1], lo, hi)
            next_day = day + 1 + days_off
            user.churn_prob_reset_counter += 1
            if user.churn_prob_reset_counter >= params.resets_every_breaks:
                user.churn_prob_reset_counter = 0
                user.p = unit(words[2])
        else:
            next_day = day + 1 + quiet_days(params, p, day, words[0])
        chance = params.churn_chance(rate, float(next_day - day))
        threshold = chance - exits if walked else max(chance, exits)
        if unit(words[3]) < threshold:
            user.churned = True
        user.next_day = next_day
        return days_off
