"""The user model: who each primary shard key is, and how its life goes from one active day to the
next (SPEC section 2, second edition).

A user is created from its own stream (seed, user index), so creating user 70,000 does not require
creating the 69,999 before it; that is what lets any chunk of users be generated anywhere.

A user's life is a sequence of active days.  :class:`Life` decides, at the end of each active day,
which day is the next active one (within a streak of ``streak_days`` active days each day is active
by chance, lower at weekends; after a streak comes a break whose length depends on p), whether p is
drawn again (every ``resets_every_breaks`` breaks), and whether the user churns (a hazard per day
that falls with the account's age and with p).  The walker (``walker``) fills each active day with
sessions, flows and events; a ``final`` flow completed there churns the user too.

Draws of :meth:`Life.after_active_day`, in order, from the day's own stream: inside a streak, the
quiet days before the next active day (a geometric draw, and for a weekend day a draw that keeps
it, then again while it is not kept); at a streak's end one draw for the break length, and one for
the new p when the probability resets; then one draw for churn.
"""

from __future__ import annotations

import functools
import math
import random
import uuid
from dataclasses import dataclass, field

from .clock import DAY_MS, HOUR_MS
from .funnels import FlowPlan, final_exit
from .localtime import UTC_KEY, ZoneClock, clock, local_time_source
from .params import Params
from .properties import ABSENT, PropertyPlan
from .ranks import RankedChoice
from .spec import USER, Product
from .streams import PILOT_STREAM, USER_PROPS_STREAM, USER_STREAM, stream

MAX_QUIET_DAYS = 60  # inside a streak, a day this far on is active whatever the draws say
MAX_CANDIDATES = 1000  # tries to find a user who joined before the window and is still there


def uuid4_text(rng: random.Random) -> str:
    """A version-4 UUID string drawn from ``rng`` (never from the operating system)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass(slots=True)
class DayStart:
    """What a user was at the start of a day: enough to regenerate that day exactly.

    Kept for the day the end time cuts, so that a continued run (``--continue``) replays the day
    from the same stream and emits only what comes after the previous end.
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
    # user's own stream, so never saved), -1 for the others.
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
        self.by_value: dict[str, ZoneClock] = {}
        if source.attribute is not None:
            values = product.lookup.attributes[source.attribute].values
            self.by_value = {value: clock(zone) for value, zone in zip(values, source.zones)}

    def of(self, user: UserState) -> ZoneClock:
        if self.attribute is None:
            return self.utc
        return self.by_value.get(user.lookup[self.attribute], self.utc)


class Life:
    """The day-level model: what happens between one active day and the next.

    Called once per active day of every user, so the knobs it uses are copied to attributes and
    the formulas of ``Params.streak_active`` and ``Params.churn_rate`` are written out here (a test
    checks that they agree).
    """

    def __init__(self, params: Params) -> None:
        self.params = params
        self.streak_days = params.streak_days
        self.resets_every = params.resets_every_breaks
        self.active_base, self.active_gain = params.streak_active_base, params.streak_active_gain
        self.weekend_factor = params.weekend_active_factor
        self.rate_late, self.rate_early = params.churn_rate_late, params.churn_rate_early
        self.early_days, self.p_shape = params.churn_early_days, params.churn_p_shape
        self.rate_best = params.churn_rate_best
        self._p = -1.0
        self._p_factor = self._log_miss = 0.0

    def _for_p(self, p: float) -> None:
        """What depends on p alone, kept for the last p (a user's p changes every 25 active
        days or so): the p factor of the hazard, and the log of missing a day of a streak."""
        self._p = p
        self._p_factor = float((1.0 - p) ** self.p_shape + self.rate_best)
        chance = self.active_base + self.active_gain * p
        self._log_miss = math.log(1.0 - chance) if chance < 1.0 else 0.0

    def rate(self, user: UserState, day: int, first_day: int) -> float:
        """The user's churn hazard per day on ``day`` (``Params.churn_rate``, written out)."""
        if user.p != self._p:
            self._for_p(user.p)
        early = self.rate_early * math.exp((first_day - day) / self.early_days)
        return user.churn_probability * (self.rate_late + early) * self._p_factor

    def after_active_day(
        self,
        user: UserState,
        day: int,
        first_day: int,
        rng: random.Random,
        exits: float = 0.0,
        walked: bool = True,
        rate: float = -1.0,
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
        p = user.p
        if rate < 0.0 or p != self._p:
            rate = self.rate(user, day, first_day)
        draw = rng.random
        days_off = 0
        user.skip_days_counter += 1
        if user.skip_days_counter >= self.streak_days:
            user.skip_days_counter = 0
            lo, hi = self.params.break_range(p)
            days_off = lo + int(draw() * (hi - lo + 1))
            next_day = day + 1 + days_off
            user.churn_prob_reset_counter += 1
            if user.churn_prob_reset_counter >= self.resets_every:
                user.churn_prob_reset_counter = 0
                user.p = draw()
        else:
            # Days of a streak are active with chance a on weekdays and a * weekend factor at
            # weekends: jump over the quiet days with one geometric draw at chance a, and keep a
            # weekend day with chance weekend factor (thinning; the same law as a draw per day).
            log_miss = self._log_miss  # rate() above set it for this p; 0 when a is 1
            next_day = day + 1
            if log_miss:
                next_day += int(math.log(1.0 - draw()) / log_miss)
            while (next_day + 3) % 7 >= 5 and draw() >= self.weekend_factor:
                next_day += 1
                if log_miss:
                    next_day += int(math.log(1.0 - draw()) / log_miss)
                if next_day - day > MAX_QUIET_DAYS:
                    break
        chance = 1.0 - math.exp(-rate * (next_day - day))
        if draw() < (chance - exits if walked else max(chance, exits)):
            user.churned = True
        user.next_day = next_day
        return days_off


@functools.lru_cache(maxsize=8)
def _steady_share(
    product: Product, params: Params, seed: int, end_ms: int, window_ms: int
) -> float:
    """Population.steady_share for a first run, once per process (every chunk asks)."""
    pilot = Population(product, params, seed, end_ms, window_ms)
    return pilot.steady_share(params.joined_before_pilot, stream(seed, PILOT_STREAM, 0))


class Population:
    """Creates users for one product, one seed and one window."""

    def __init__(
        self,
        product: Product,
        params: Params,
        seed: int,
        end_ms: int,
        window_ms: int | None = None,
    ) -> None:
        """A first run (``window_ms`` None) creates its users over the backfill window and, for a
        share of them, before it (they are still there when the window opens); a continued run
        creates its new users uniformly over ``window_ms``, the time that passed."""
        self.seed = seed
        self.params = params
        self.end_ms = end_ms
        self.first_run = window_ms is None
        self.window_ms = params.backfill_days * DAY_MS if window_ms is None else window_ms
        self.lookup_choices = [RankedChoice(a.values) for a in product.lookup.attributes]
        self.secondary_count = len(product.events.secondary_keys)
        self.clocks = Clocks(product)
        self.life = Life(params)
        self.plan = FlowPlan(product, params)
        self.before_share = (
            _steady_share(product, params, seed, end_ms, self.window_ms) if self.first_run else 0.0
        )
        self.properties = PropertyPlan(product.events, seed)

    def user_props(self, index: int) -> tuple[int, ...]:
        """User ``index``'s `[user]` properties: drawn from a stream of their own, so a sheet
        without them draws nothing, and a continued run finds them again without saving them."""
        if not self.properties.drawn[USER]:
            return (ABSENT,) * self.properties.count
        return self.properties.draw_user(stream(self.seed, USER_PROPS_STREAM, index))

    def create(self, index: int) -> UserState:
        """User ``index``.  Draws, in order, from the user's stream: its id, its lookup values,
        its first secondary keys, whether it joined before the window (first runs), then p, the
        creation time and the churn probability; a user who joined before the window lives its
        days up to the window's start from the same stream (and is drawn again, from there on,
        while it churned before the window opened)."""
        rng = stream(self.seed, USER_STREAM, index)
        user_id = uuid4_text(rng)
        lookup = tuple(choice.draw(rng) for choice in self.lookup_choices)
        secondary = [uuid4_text(rng) for _ in range(self.secondary_count)]
        before = self.first_run and rng.random() < self.before_share
        user = self._candidate(index, user_id, lookup, secondary, before, rng)
        user.key_pool = [list(secondary)] if secondary else []
        user.user_props = self.user_props(index)
        return user

    def _candidate(
        self,
        index: int,
        user_id: str,
        lookup: tuple[str, ...],
        secondary: list[str],
        before: bool,
        rng: random.Random,
    ) -> UserState:
        """A user who joins in the window, or one who joined before it and is still there when it
        opens (drawn again, from the same stream, while the one drawn churned before)."""
        window_start = self.end_ms - self.window_ms
        for _ in range(MAX_CANDIDATES):
            p = rng.random()
            if before:
                span = self.params.joined_before_days * DAY_MS
                created_ms = window_start - 1 - int(rng.random() * span)
            else:
                created_ms = self.end_ms - 1 - int(rng.random() * self.window_ms)
            lo = self.params.churn_probability_min
            user = UserState(
                index=index,
                user_id=user_id,
                p=p,
                churn_probability=lo + (1.0 - lo) * rng.random(),
                created_ms=created_ms,
                lookup=lookup,
                secondary=list(secondary),
            )
            user.next_day = self.clocks.of(user).day_of(created_ms)
            if not before:
                return user
            user.before_window = True
            user.window_start_ms = window_start
            self._live_until(user, window_start, rng)
            if not user.churned:
                return user
        return user

    def steady_share(self, pilots: int, rng: random.Random) -> float:
        """The share q of users who should have joined before the window so that its first week is
        as busy as its last: ``pilots`` users of each kind live (day by day, without their flows)
        to the end, counting their active days in the window's first and last 7 days; q makes
        q * before_first + (1 - q) * window_first = q * before_last + (1 - q) * window_last."""
        window_start = self.end_ms - self.window_ms
        week = 7 * DAY_MS
        counts = [[0, 0], [0, 0]]  # [window users, users from before] x [first week, last week]
        for kind in (0, 1):
            for _ in range(pilots):
                lookup = tuple(choice.draw(rng) for choice in self.lookup_choices)
                user = self._candidate(0, "", lookup, [], kind == 1, rng)
                days: list[int] = []
                self._live_until(user, self.end_ms, rng, days)
                counts[kind][0] += sum(window_start <= d < window_start + week for d in days)
                counts[kind][1] += sum(self.end_ms - week <= d < self.end_ms for d in days)
        (window_first, window_last), (before_first, before_last) = counts
        gain = before_first - before_last - window_first + window_last
        if gain <= 0:
            return 0.0
        return min(0.9, max(0.0, (window_last - window_first) / gain))

    def _live_until(
        self, user: UserState, until_ms: int, rng: random.Random, days: list[int] | None = None
    ) -> None:
        """Live the user's days that end before ``until_ms`` with the day-level model alone: no
        events are written for them, so no sessions are drawn (its `once` flows stay open)."""
        zone = self.clocks.of(user)
        first_day = user.next_day
        plan = self.plan
        p = -1.0
        terms = (0.0, 0.0)
        while not user.churned:
            day = user.next_day
            start = zone.day_start(day)
            if zone.day_start(day + 1) > until_ms:
                return
            if user.p != p:
                p = user.p
                terms = plan.final_terms(p)
            rate = self.life.rate(user, day, first_day)
            exits = final_exit(terms, plan.final_start(rate)) if terms[0] else 0.0
            user.last_event_ms = max(user.created_ms, start + 12 * HOUR_MS)
            if days is not None:
                days.append(start)
            self.life.after_active_day(user, day, first_day, rng, exits, False, rate)
