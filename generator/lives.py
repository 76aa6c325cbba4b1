"""The day-level model in arrays: many users' lives at once, the same bits as ``users``.

The batch engine (``batch``) moves a whole batch of users from one active day to the next with
:func:`after_active_days`, creates the users who joined before the window and lives their days up
to it with :func:`join_before` and :func:`live_until`; :func:`steady_share` sizes that part of
the population on pilot users, for both models (``population.Population`` asks it too, so the plain
model does not spend a second living 800 pilots one day at a time).  Every function here is the
array form of a function of ``users``, draw for draw (``sites``), compared with it in
``tests/test_engine.py``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .clock import DAY_MS, HOUR_MS
from .distributions import Ranked, integers
from .draws import units
from .funnels import P_LEVELS, FlowPlan, final_exit
from .params import Params
from .sites import Sites
from .spec import Product
from .users import MAX_QUIET_DAYS, RATIO_ONE, Clocks
from .users import quiet_days as quiet_days_of

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Words = npt.NDArray[np.uint64]

NO_EVENT = np.iinfo(np.int64).min  # last_event of a user who has done nothing yet
MAX_CANDIDATES = 1000  # tries to find a user who joined before the window and is still there
LIVED_DAY_HOUR = 12  # a day lived before the window (no events written) ends at this local hour
CANDIDATES_AT_ONCE = 8  # candidates living side by side per user who joined before the window
_SHIFT32 = np.uint64(32)
QUIET_SCALAR_BELOW = 16  # rows still in a run of quiet days finished one at a time


def p_levels(p: Floats) -> Ints:
    """``funnels.p_level`` for an array of p."""
    levels: Ints = np.minimum(P_LEVELS - 1, (p * P_LEVELS).astype(np.int64))
    return levels


def weekend_of(days: Ints) -> Bools:
    """Saturday or Sunday, for epoch days (``clock.weekday``)."""
    weekend: Bools = (days + 3) % 7 >= 5
    return weekend


class ZoneDays:
    """Local day starts for arrays of (zone, day), zones numbered as ``users.Clocks.zones``: a
    table of every zone's day starts over the days asked so far, grown when a day outside it is
    asked (each zone's day start computed once, by ``ZoneClock.day_start``)."""

    def __init__(self, clocks: Clocks) -> None:
        self.clocks = clocks
        self.first = 0
        self.table = np.zeros((len(clocks.zones), 0), dtype=np.int64)

    def starts(self, zones: Ints, days: Ints) -> Ints:
        if len(self.clocks.zones) == 1 or not days.size:
            utc: Ints = days * DAY_MS
            return utc
        low, high = int(days.min()), int(days.max())
        if low < self.first or high >= self.first + self.table.shape[1]:
            self._grow(low, high)
        found: Ints = self.table[zones, days - self.first]
        return found

    def _grow(self, low: int, high: int) -> None:
        """Cover ``low`` to ``high`` and a margin (a round asks for days close to the last)."""
        old_first, old = self.first, self.table
        first = min(low, old_first if old.shape[1] else low) - 16
        last = max(high, old_first + old.shape[1] - 1 if old.shape[1] else high) + 64
        table = np.empty((len(self.clocks.zones), last - first + 1), dtype=np.int64)
        kept = range(old_first, old_first + old.shape[1])
        for zone, clock in enumerate(self.clocks.zones):
            table[zone] = [
                clock.day_start(day) if day not in kept else 0 for day in range(first, last + 1)
            ]
        if old.shape[1]:
            table[:, old_first - first : old_first - first + old.shape[1]] = old
        self.first, self.table = first, table

    def days_of(self, zones: Ints, ms: Ints) -> Ints:
        """The local day holding each moment (``ZoneClock.day_of``)."""
        if len(self.clocks.zones) == 1:
            utc: Ints = ms // DAY_MS
            return utc
        zone_list = self.clocks.zones
        return np.array(
            [zone_list[int(z)].day_of(int(t)) for z, t in zip(zones, ms)], dtype=np.int64
        )


@dataclass(frozen=True)
class Model:
    """What the day-level functions read: the knobs, the flows' tables, the users' clocks and the
    draws (real users, or the pilots)."""

    params: Params
    plan: FlowPlan
    zones: ZoneDays
    sites: Sites


@dataclass
class Lives:
    """The day-level state of many users (one row each), as ``users.UserState`` holds one's."""

    index: Ints  # the user's index in the run (the draws' address)
    p: Floats
    churn_probability: Floats
    created: Ints
    zone: Ints
    first_day: Ints  # the local day the user joined
    next_day: Ints
    skip: Ints  # skip_days_counter
    resets: Ints  # churn_prob_reset_counter
    churned: Bools
    last_event: Ints  # NO_EVENT: none yet

    @classmethod
    def empty(cls, size: int) -> Lives:
        return cls(
            index=np.zeros(size, dtype=np.int64),
            p=np.zeros(size, dtype=np.float64),
            churn_probability=np.zeros(size, dtype=np.float64),
            created=np.zeros(size, dtype=np.int64),
            zone=np.zeros(size, dtype=np.int64),
            first_day=np.zeros(size, dtype=np.int64),
            next_day=np.zeros(size, dtype=np.int64),
            skip=np.zeros(size, dtype=np.int64),
            resets=np.zeros(size, dtype=np.int64),
            churned=np.zeros(size, dtype=np.bool_),
            last_event=np.full(size, NO_EVENT, dtype=np.int64),
        )


def churn_rates(params: Params, lives: Lives, rows: Ints, days: Ints) -> Floats:
    """``users.Life.rate`` for the rows' users on their days."""
    ages = (days - lives.first_day[rows]).astype(np.float64)
    rates: Floats = params.churn_rate(lives.p[rows], lives.churn_probability[rows], ages)
    return rates


def exits_of(plan: FlowPlan, p: Floats, rates: Floats, once_done: Ints | None = None) -> Floats:
    """The chance that each day ends in a completed ``final`` flow (``funnels.final_exit``), for
    users whose completed ``once`` flows are ``once_done`` (None: a day lived without its
    flows, whose ``once`` flows stay open)."""
    tables = plan.levels
    levels = p_levels(p)
    states = 0 if once_done is None else plan.once_state(once_done)
    exits: Floats = final_exit(
        tables.after_first[levels, states], tables.entries[levels], plan.final_start(rates)
    )
    return exits


def quiet_days(params: Params, p: Floats, days: Ints, words: Words) -> Ints:
    """``users.quiet_days`` for arrays: the same thresholds, one day of the week at a time, for
    the rows still quiet."""
    ratios = [
        np.minimum(
            float(RATIO_ONE), np.floor((1.0 - params.streak_active(p, weekend)) * 2.0**32)
        ).astype(np.uint64)
        for weekend in (False, True)
    ]
    top = words >> _SHIFT32
    threshold = np.full(p.shape, 1 << 32, dtype=np.uint64)
    quiet = np.zeros(p.shape, dtype=np.int64)
    going = np.arange(p.size)
    for step in range(MAX_QUIET_DAYS):
        if going.size <= QUIET_SCALAR_BELOW:  # a few long runs left: one at a time is cheaper
            for row in going.tolist():
                quiet[row] = quiet_days_of(params, float(p[row]), int(days[row]), int(words[row]))
            break
        weekend = weekend_of(days[going] + 1 + step)
        ratio = np.where(weekend, ratios[1][going], ratios[0][going])
        threshold[going] = (threshold[going] * ratio) >> _SHIFT32
        still = top[going] < threshold[going]
        going = going[still]
        quiet[going] += 1
    return quiet


def after_active_days(
    params: Params,
    lives: Lives,
    rows: Ints,
    days: Ints,
    words: Words,
    rates: Floats,
    exits: Floats,
    walked: bool,
) -> Ints:
    """``users.Life.after_active_day`` for the rows' users on their active ``days`` (``words``:
    the ``day`` blocks, shape ``(4, n)``); returns the breaks that start (0 inside a streak)."""
    p = lives.p[rows]
    skip = lives.skip[rows] + 1
    ends = skip >= params.streak_days
    next_day = days + 1
    days_off = np.zeros(rows.shape, dtype=np.int64)
    if ends.any():
        lo, hi = params.break_bounds(p[ends])
        days_off[ends] = integers(words[1][ends], lo.astype(np.int64), hi.astype(np.int64))
    inside = ~ends
    if inside.any():
        next_day[inside] += quiet_days(params, p[inside], days[inside], words[0][inside])
    next_day += days_off
    resets = lives.resets[rows] + ends
    again = ends & (resets >= params.resets_every_breaks)
    lives.skip[rows] = np.where(ends, 0, skip)
    lives.resets[rows] = np.where(again, 0, resets)
    lives.p[rows] = np.where(again, units(words[2]), p)
    chance = params.churn_chance(rates, (next_day - days).astype(np.float64))
    threshold = chance - exits if walked else np.maximum(chance, exits)
    lives.churned[rows] = units(words[3]) < threshold
    lives.next_day[rows] = next_day
    return days_off


def live_round(
    model: Model, lives: Lives, rows: Ints, until: int, life: Ints, counts: Ints | None = None
) -> Ints:
    """One day of the rows' users (``population.Population._live_until``'s loop body): each row
    whose next active day ends by ``until`` lives it (with the day-level model alone, drawing from
    its ``life``, one per row of ``lives``); returns those rows still alive.  ``counts``, if given,
    gets how many of the days lived started in the window's first and last week."""
    days = lives.next_day[rows]
    zone = lives.zone[rows]
    ending = model.zones.starts(zone, days + 1) <= until
    rows, days, zone = rows[ending], days[ending], zone[ending]
    if not rows.size:
        return rows
    starts = model.zones.starts(zone, days)
    rates = churn_rates(model.params, lives, rows, days)
    exits = exits_of(model.plan, lives.p[rows], rates)
    lives.last_event[rows] = np.maximum(lives.created[rows], starts + LIVED_DAY_HOUR * HOUR_MS)
    if counts is not None:
        week = 7 * DAY_MS
        counts[0] += int(
            (
                (starts >= until - model.params.backfill_days * DAY_MS)
                & (starts < until - model.params.backfill_days * DAY_MS + week)
            ).sum()
        )
        counts[1] += int(((starts >= until - week) & (starts < until)).sum())
    words = model.sites["day"].blocks(lives.index[rows], days, life[rows])
    after_active_days(model.params, lives, rows, days, words, rates, exits, walked=False)
    alive: Ints = rows[~lives.churned[rows]]
    return alive


def live_until(
    model: Model, lives: Lives, rows: Ints, until: int, life: Ints, counts: Ints | None = None
) -> None:
    """``population.Population._live_until`` for the rows' users: live their days that end
    before ``until`` (see :func:`live_round`)."""
    rows = rows[~lives.churned[rows]]
    while rows.size:
        rows = live_round(model, lives, rows, until, life, counts)


def draw_candidates(
    model: Model,
    lives: Lives,
    rows: Ints,
    candidate: Ints,
    created_from: int,
    span_ms: int,
) -> None:
    """Candidate ``candidate`` of each row's user (``population.Population._candidate``): its p,
    creation time in ``[created_from, created_from + span_ms)`` (the latest first, as the plain
    model counts back from the window's start or the end) and churn probability."""
    words = model.sites["user.candidate"].blocks(lives.index[rows], 0, candidate)
    lo = model.params.churn_probability_min
    lives.p[rows] = units(words[0])
    created = created_from + span_ms - 1 - integers(words[1], 0, span_ms - 1)
    lives.created[rows] = created
    lives.churn_probability[rows] = lo + (1.0 - lo) * units(words[2])
    first = model.zones.days_of(lives.zone[rows], created)
    lives.first_day[rows] = first
    lives.next_day[rows] = first
    lives.skip[rows] = 0
    lives.resets[rows] = 0
    lives.churned[rows] = False
    lives.last_event[rows] = NO_EVENT


def join_before(model: Model, lives: Lives, rows: Ints, window_start: int) -> None:
    """The rows' users joined before the window: candidate after candidate, each living its days
    up to the window's start; the first one still there when the window opens is kept (after
    :data:`MAX_CANDIDATES` the last stays, churned).  :data:`CANDIDATES_AT_ONCE` candidates of a
    user live side by side, and a user whose candidates all churned gets the next ones in the
    same loop, so every user's candidates take one pass over the days, not one per candidate."""
    span = model.params.joined_before_days * DAY_MS
    width = CANDIDATES_AT_ONCE
    users = rows.size
    trial = Lives.empty(users * width)
    owner = np.repeat(np.arange(users), width)
    trial.index[:] = lives.index[rows][owner]
    trial.zone[:] = lives.zone[rows][owner]
    candidate = np.tile(np.arange(width, dtype=np.int64), users)
    every = np.arange(trial.index.size)
    draw_candidates(model, trial, every, candidate, window_start - span, span)
    living = every
    open_users = np.ones(users, dtype=np.bool_)
    chosen = np.zeros(users, dtype=np.int64)
    while open_users.any():
        living = live_round(model, trial, living, window_start, candidate + 1)
        # Each open user's candidates in order: churned, still living, or there (kept).
        state = np.where(trial.churned, 2, 1).reshape(users, width)
        state[owner[living], living % width] = 0  # still living
        state = state[open_users]
        first = (state != 2).argmax(axis=1)
        settled = (state[np.arange(first.size), first] == 1) | (state == 2).all(axis=1)
        which = np.nonzero(open_users)[0]
        all_churned = (state == 2).all(axis=1)
        exhausted = candidate[which * width] + width >= MAX_CANDIDATES
        kept = settled & (~all_churned | exhausted)
        chosen[which[kept]] = which[kept] * width + np.where(all_churned[kept], width - 1,
                                                               first[kept])  # fmt: skip
        open_users[which[kept]] = False
        again = which[settled & all_churned & ~exhausted]
        living = living[open_users[owner[living]]]
        if again.size:
            fresh = (again[:, None] * width + np.arange(width)).ravel()
            candidate[fresh] += width
            draw_candidates(model, trial, fresh, candidate[fresh], window_start - span, span)
            living = np.sort(np.concatenate((living, fresh)))
    for name in ("p", "churn_probability", "created", "first_day", "next_day", "skip",
                 "resets", "churned", "last_event"):  # fmt: skip
        getattr(lives, name)[rows] = getattr(trial, name)[chosen]


@functools.lru_cache(maxsize=8)
def steady_share(product: Product, params: Params, seed: int, end_ms: int, window_ms: int) -> float:
    """The share q of users who should have joined before the window so that its first week is
    as busy as its last: ``joined_before_pilot`` pilot users of each kind (joined in the window,
    joined before it) live, day by day and without their flows, to the end, counting their active
    days in the window's first and last 7 days; q makes
    ``q * before_first + (1 - q) * window_first = q * before_last + (1 - q) * window_last``.
    Once per process and run (every chunk asks)."""
    pilots = params.joined_before_pilot
    sites = Sites(seed, "pilot.")
    clocks = Clocks(product)
    model = Model(params, FlowPlan(product, params), ZoneDays(clocks), sites)
    window_start = end_ms - window_ms
    counts = []
    for kind in (0, 1):
        lives = Lives.empty(pilots)
        lives.index[:] = kind * pilots + np.arange(pilots)
        if clocks.attribute is not None:
            attribute = product.lookup.attributes[clocks.attribute]
            rank = Ranked.by_rank(len(attribute.values))
            block, lane = divmod(clocks.attribute, 4)
            words = sites["user.lookup"].blocks(lives.index, 0, block)[lane]
            values = rank.indices(words)
            lives.zone[:] = [clocks.index_by_value.get(attribute.values[v], 0) for v in values]
        rows = np.arange(pilots)
        if kind == 0:
            first = np.zeros(pilots, np.int64)
            draw_candidates(model, lives, rows, first, window_start, window_ms)
        else:
            join_before(model, lives, rows, window_start)
        life = np.zeros(pilots, np.int64)  # days in the window: life 0, as a walked day's
        found = np.zeros(2, dtype=np.int64)
        live_until(model, lives, rows, end_ms, life, found)
        counts.append(found)
    window_first, window_last = (int(c) for c in counts[0])
    before_first, before_last = (int(c) for c in counts[1])
    gain = before_first - before_last - window_first + window_last
    if gain <= 0:
        return 0.0
    return min(0.9, max(0.0, (window_last - window_first) / gain))
