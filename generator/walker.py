"""The flow walker: one user's active days, sessions, flows and events (SPEC section 2), written
plainly: the reference the batch engine (``batch``) is compared with, byte for byte.

:meth:`Walker.simulate` goes from one active day of a user to the next (``users.Life`` decides
which day that is, and churn).  On an active day the user has a few sessions, started at hours of
its local day drawn from a weekday or weekend profile (:meth:`Walker._schedule`); in each session
(:meth:`Walker._session`) the user enters flows one after another (``funnels.FlowPlan`` says which
and how likely each step is) and walks their steps, leaving a flow at the first failure, with
bursts of background events between steps and after failures.  A session may run past midnight.

Every draw is named by its site and position (``sites``), never by its order: the plain model and
the batch engine read the same numbers.  Rules that make the two agree, and that the model keeps
because they are what SPEC section 2 asks for:

* A session starts at its drawn time, or, if that is too close to the user's last event, at a
  drawn moment between 30 and 60 minutes after it (``max`` of the two): sessions never touch.
* The time between two events of a session follows the hour the session was drawn for (short in
  working hours, longer at night and at weekends), so a session's events are its start plus the
  sum of its gaps.  Gaps come from an exact log-logistic quantile table (``distributions``).
* The end time, then the day's limit, stops a walk at the first session or event at or after it:
  a session that starts at or after the end time, or an event at or after it, ends the user's walk
  for this run (the day is replayed by a continue); a session that would start on the next local
  day, or an event at or after the next local day's start plus ``day_overflow_ms``, ends the day.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .clock import DAY_MS, HOUR_MS, weekday
from .distributions import Quantiles, Ranked, count, integer
from .draws import unit
from .funnels import P_LEVELS, FlowPlan, final_exit, level_p, p_level
from .localtime import ZoneClock
from .params import (
    WEEKDAY_GAP_FACTOR,
    WEEKDAY_HOURS,
    WEEKEND_GAP_FACTOR,
    WEEKEND_HOURS,
    Params,
)
from .properties import PropertyPlan
from .sites import OPEN, Sites, uuid_text
from .spec import EVENT, FLOW, KEY, SESSION, Product
from .users import Clocks, Life, UserState

WRITE_ALL_MS = -(2**63)  # since_ms of a first run: before any time a run can have, pre-1970 too
MAX_SESSIONS_PER_DAY = 12
MAX_FLOWS_PER_SESSION = 40
DST_SLACK_MS = 2 * HOUR_MS  # a local day lasts at most 24 h and this
RETENTION_DAYS = (1, 7, 30)  # the summary's exact-day retention


@functools.cache
def hour_ranks() -> tuple[Ranked, Ranked]:
    """The chance of each hour of the local day to start a session: weekdays, weekends."""
    return Ranked(WEEKDAY_HOURS), Ranked(WEEKEND_HOURS)


@functools.cache
def gap_quantiles(shape: str) -> Quantiles:
    """The log-logistic distribution of median 1 and exponent ``shape`` (a decimal string):
    ``Q(u) = (u / (1 - u)) ** (1 / shape)``, tabulated exactly (``distributions.Quantiles``)."""
    from decimal import Decimal

    exponent = Decimal(shape)

    def quantile(log_tail: Decimal) -> Decimal:
        odds = (-log_tail).exp() - 1  # (1 - t) / t for a tail mass t = e**log_tail
        return (odds.ln() / exponent).exp() if odds > 0 else Decimal(0)

    return Quantiles(f"log-logistic({shape})", quantile)


@functools.cache
def gap_scales(params: Params) -> npt.NDArray[np.int64]:
    """The median gap in ms of a session drawn for each hour, by (weekend, level of p, hour):
    ``(gap_median_base + gap_median_slow * (1 - p)) * the hour's factor``, whole ms."""
    table = np.zeros((2, P_LEVELS, 24), dtype=np.int64)
    for weekend, factors in enumerate((WEEKDAY_GAP_FACTOR, WEEKEND_GAP_FACTOR)):
        for level in range(P_LEVELS):
            median = params.gap_median_ms(level_p(level))
            table[weekend, level] = [int(median * factor) for factor in factors]
    return table


@dataclass
class WalkStats:
    """What was generated, counted as it was written (merged across chunks for the summary)."""

    events: int = 0
    by_event: list[int] = field(default_factory=list)
    funnels: list[list[int]] = field(default_factory=list)  # per flow, per step: times reached
    # Per flow, per step: users who reached it at least once (what the analytics tools' funnels
    # count).
    funnel_users: list[list[int]] = field(default_factory=list)
    users: int = 0
    users_with_events: int = 0
    churned: int = 0
    joined_before: int = 0  # users who joined before the window
    daily_active: dict[int, int] = field(default_factory=dict)  # UTC epoch day -> users active
    weekly_active: dict[int, int] = field(default_factory=dict)  # Monday's epoch day -> users
    # UTC day of a user's first event (users who joined in this run's data) -> [users, active on
    # day 1, on day 7, on day 30 after it] (RETENTION_DAYS)
    retention: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def for_product(cls, product: Product) -> WalkStats:
        return cls(
            by_event=[0] * len(product.events.events),
            funnels=[[0] * len(f.steps) for f in product.flows.flows],
            funnel_users=[[0] * len(f.steps) for f in product.flows.flows],
        )

    def merge(self, other: WalkStats) -> None:
        self.events += other.events
        self.by_event = [a + b for a, b in zip(self.by_event, other.by_event)]
        self.funnels = [[a + b for a, b in zip(x, y)] for x, y in zip(self.funnels, other.funnels)]
        self.funnel_users = [
            [a + b for a, b in zip(x, y)] for x, y in zip(self.funnel_users, other.funnel_users)
        ]
        self.users += other.users
        self.users_with_events += other.users_with_events
        self.churned += other.churned
        self.joined_before += other.joined_before
        for day, users in other.daily_active.items():
            self.daily_active[day] = self.daily_active.get(day, 0) + users
        for week, users in other.weekly_active.items():
            self.weekly_active[week] = self.weekly_active.get(week, 0) + users
        for day, counts in other.retention.items():
            mine = self.retention.setdefault(day, [0] * (1 + len(RETENTION_DAYS)))
            self.retention[day] = [a + b for a, b in zip(mine, counts)]

    def retention_rates(self, end_ms: int) -> list[float | None]:
        """Day-1, day-7 and day-30 retention over the signup days whose day N ended before
        ``end_ms`` (None where no such day)."""
        rates: list[float | None] = []
        for position, n in enumerate(RETENTION_DAYS, start=1):
            users = active = 0
            for day, counts in self.retention.items():
                if (day + n + 1) * DAY_MS <= end_ms:
                    users += counts[0]
                    active += counts[position]
            rates.append(active / users if users else None)
        return rates

    def add_user(
        self, churned: bool, seen: list[int], joins_here: bool, reached: set[tuple[int, int]]
    ) -> None:
        """One user's share of the statistics, from the UTC days its events were written on (in
        any order, repeated or not) and the (flow, step) pairs it reached; ``joins_here``: the
        user joined in this run's data."""
        self.users += 1
        if churned:
            self.churned += 1
        for flow, step in reached:
            self.funnel_users[flow][step] += 1
        if not seen:
            return
        self.users_with_events += 1
        days = sorted(set(seen))
        for day in days:
            self.daily_active[day] = self.daily_active.get(day, 0) + 1
        for week in sorted({day - weekday(day) for day in days}):
            self.weekly_active[week] = self.weekly_active.get(week, 0) + 1
        if joins_here:
            signup = days[0]
            counts = self.retention.setdefault(signup, [0] * (1 + len(RETENTION_DAYS)))
            counts[0] += 1
            active = set(days)
            for position, n in enumerate(RETENTION_DAYS, start=1):
                counts[position] += signup + n in active


class EventEncoder(Protocol):
    """What the walker needs from an encoder (``encoders``): a prefix per flow entry (or per
    event, when properties differ from one event to the next), a line per event.  The prefix is
    opaque here (a string for the flat JSON, a tuple of pieces for others)."""

    def prefix(
        self, user: UserState, session_id: str, session_start_ms: int, props: Sequence[int]
    ) -> Any: ...

    def line(self, prefix: Any, event: int, ms: int) -> str: ...


class _RunOver(Exception):
    """Internal: the run's end time came in the middle of a day."""


class _DayOver(Exception):
    """Internal: the day ended early (its last session ran too long past midnight, or the user
    completed a ``final`` flow)."""


BreakObserver = Callable[[float, int], None]  # (p, days): a break starts


@dataclass
class _Day:
    """What one active day of one user needs while its sessions are walked."""

    user: UserState
    day: int
    next_start: int  # the next local day's start: no session starts at or after it
    hard: int  # no event at or after this (the next day's start and day_overflow_ms)
    weekend: bool
    level: int
    chances: list[tuple[float, ...]]  # per flow, per step, the chance of success today
    since: int
    out: list[str]
    stats: WalkStats
    seen: list[int]  # UTC days of the events written for this user
    reached: set[tuple[int, int]]  # (flow, step) of the steps written for this user


class Walker:
    """Walks users of one product; holds everything precomputed from the sheet."""

    def __init__(
        self,
        product: Product,
        params: Params,
        seed: int,
        end_ms: int,
        encoder: EventEncoder,
        on_break: BreakObserver | None = None,
    ) -> None:
        self.product = product
        self.params = params
        self.seed = seed
        self.end_ms = end_ms
        self.encoder = encoder
        self.on_break = on_break
        self.plan = FlowPlan(product, params)
        self.clocks = Clocks(product)
        self.life = Life(params)
        self.properties = PropertyPlan(product.events, seed)
        self.sites = Sites(seed)
        self.hours = hour_ranks()
        self.quantiles = gap_quantiles(params.gap_shape)
        self.scales = gap_scales(params).tolist()
        # How long after its start a day's events may run: DST, and the last session's overflow.
        self._spill_ms = DAY_MS + DST_SLACK_MS + params.day_overflow_ms

    # -- one user, day by day ---------------------------------------------------------------------

    def simulate(
        self, user: UserState, out: list[str], stats: WalkStats, since_ms: int = WRITE_ALL_MS
    ) -> None:
        """Walk ``user`` from ``user.next_day`` to the end time, appending lines to ``out``.

        Only events after ``since_ms`` (and, for a user who joined before the window, at or after
        the window's start) are written and counted: a continued run replays the day it was cut
        at and keeps what is new.
        """
        zone = self.clocks.of(user)
        first_day = zone.day_of(user.created_ms)
        since = since_ms
        if user.window_start_ms is not None and user.window_start_ms - 1 > since:
            since = user.window_start_ms - 1
        joins_here = user.last_event_ms is None and user.created_ms > since
        stats.joined_before += user.before_window and since_ms == WRITE_ALL_MS
        seen: list[int] = []
        reached: set[tuple[int, int]] = set()
        while not user.churned:
            day = user.next_day
            start = zone.day_start(day)
            if start >= self.end_ms:
                user.day_start = None
                break
            # A day the end time may cut: keep how it began, so a later run can replay it.
            snapshot = user.snapshot() if start + self._spill_ms > self.end_ms else None
            rate = self.life.rate(user, day, first_day)
            try:
                exits = self._day(user, day, zone, rate, since, out, stats, seen, reached)
            except _RunOver:
                user.day_start = snapshot
                break
            user.day_start = None
            if user.churned:  # a `final` flow completed
                break
            p = user.p
            words = self.sites["day"].block(user.index, day, 0)
            days_off = self.life.after_active_day(user, day, first_day, words, exits, True, rate)
            if days_off and self.on_break is not None:
                self.on_break(p, days_off)
        stats.add_user(user.churned, seen, joins_here, reached)

    # -- one day ----------------------------------------------------------------------------------

    def _day(
        self,
        user: UserState,
        day: int,
        zone: ZoneClock,
        rate: float,
        since: int,
        out: list[str],
        stats: WalkStats,
        seen: list[int],
        reached: set[tuple[int, int]],
    ) -> float:
        """One active day: its sessions, in time order.  Returns the chance that such a day ends
        in a completed ``final`` flow (for ``Life``); raises ``_RunOver`` at the end time."""
        plan = self.plan
        level = p_level(user.p)
        tables = plan.levels
        start_chance = plan.final_start(rate)
        chances = list(tables.rows[level])
        for flow in plan.final_flows:  # a `final` flow's first step follows the churn hazard
            chances[flow] = (start_chance, *chances[flow][1:])
        exits = final_exit(
            float(tables.after_first[level, plan.once_state(user.once_done)]),
            float(tables.entries[level]),
            start_chance,
        )
        next_start = zone.day_start(day + 1)
        weekend = weekday(day) >= 5
        today = _Day(
            user, day, next_start, next_start + self.params.day_overflow_ms, weekend, level,
            chances, since, out, stats, seen, reached,
        )  # fmt: skip
        idle = self.params.session_idle_ms
        first_session = user.last_event_ms is None
        draws = self.sites["session"]
        try:
            for k, (scheduled, hour) in enumerate(self._schedule(user, day, zone, weekend)):
                words = draws.block(user.index, day, k)
                t = scheduled
                if user.last_event_ms is not None:  # never within 30 minutes of the last event
                    t = max(t, user.last_event_ms + idle + 1 + integer(words[0], 0, idle - 1))
                if t >= self.end_ms:
                    raise _RunOver
                if t >= next_start:
                    break  # pushed past the day's end: the day holds no more sessions
                scale = self.scales[weekend][level][hour % 24]
                self._session(today, k, t, words, scale, first_session and k == 0)
        except _DayOver:
            pass
        return exits

    def _schedule(
        self, user: UserState, day: int, zone: ZoneClock, weekend: bool
    ) -> list[tuple[int, int]]:
        """How many sessions the day holds, and when each starts (local hours by the profile),
        in time order, with the hour each was drawn for; the user's very first session starts
        when it joins."""
        sites = self.sites
        start = zone.day_start(day)
        keep_going = self.params.sessions_keep_going(user.p, weekend)
        sessions = 1 + count(
            sites["day.sessions"].block(user.index, day)[0], keep_going, MAX_SESSIONS_PER_DAY - 1
        )
        hours = self.hours[weekend]
        drawn = []
        for s in range(sessions):
            words = sites["session.start"].block(user.index, day, s)
            hour = hours.index(words[0])
            drawn.append((start + hour * HOUR_MS + integer(words[1], 0, HOUR_MS - 1), hour))
        drawn.sort()
        if user.created_ms >= start:  # the first day: the user arrives at its creation time
            created = user.created_ms
            arrival = (created, (created - start) // HOUR_MS)
            drawn = [arrival] + [at for at in drawn[1:] if at[0] > created]
        return drawn

    # -- one session ------------------------------------------------------------------------------

    def _session(
        self,
        today: _Day,
        k: int,
        t: int,
        words: tuple[int, int, int, int],
        scale: int,
        first_session: bool,
    ) -> None:
        """Session ``k`` of the day from ``t``: flows one after another, then, if nothing
        happened, one background event (opening the app is activity)."""
        user, day, params, plan, sites = today.user, today.day, self.params, self.plan, self.sites
        properties = self.properties
        u = user.index
        session = f"{words[2]:016x}"
        session_start = t
        # The session's device: the keys may change at its start, never inside it.
        if user.secondary and unit(words[3]) > params.secondary_key_renew_above:
            self._renew_keys(user, day, k)
        keyed = properties.keyed(user.secondary) if properties.drawn[KEY] else {}
        session_values = properties.draw(SESSION, sites.columns("prop.session", u, day, k))
        pending = plan.first if first_session else ()
        entries = 1 + count(words[1], params.flows_keep_going(user.p), MAX_FLOWS_PER_SESSION - 1)
        entries += max(0, len(pending) - 1)
        quantiles, low = self.quantiles, params.gap_min_ms
        cap = params.gap_max_ms - params.gap_min_ms
        events = 0

        def emit(event: int, flow_values: list[int], e: int, j: int, i: int, flow: int) -> None:
            """One event at ``t``: the end time and the day's limit first, then written (if it
            is new) and remembered as the user's last."""
            if t >= self.end_ms:
                raise _RunOver
            if t >= today.hard:
                raise _DayOver
            event_values = properties.draw(
                EVENT, sites.columns("prop.event", u, day, k, e, j << 8 | i)
            )
            values = properties.values(
                user.user_props, keyed, session_values, flow_values, event_values
            )
            prefix = self.encoder.prefix(
                user, session, session_start, properties.on_event(values, event)
            )
            if t > today.since:
                today.out.append(self.encoder.line(prefix, event, t))
                today.stats.events += 1
                today.stats.by_event[event] += 1
                if i == 0 and flow >= 0:
                    today.stats.funnels[flow][j] += 1
                    today.reached.add((flow, j))
                today.seen.append(t // DAY_MS)
            user.last_event_ms = t

        def gap(word: int) -> int:
            return low + min(cap, quantiles.scaled(word, scale))

        for e in range(entries):
            if e < len(pending):
                flow = pending[e]
            else:
                open_flows = plan.choices(user.once_done)
                if not open_flows:
                    break
                word = sites["entry"].block(u, day, k, e)[0]
                flow = open_flows[Ranked.by_rank(len(open_flows)).index(word)]
            flow_values = properties.draw(FLOW, sites.columns("prop.flow", u, day, k, e))
            background = plan.background_in[flow]
            done = 0
            for j, event in enumerate(plan.steps[flow]):
                step = sites["step"].block(u, day, k, e, j)
                if unit(step[0]) < today.chances[flow][j]:
                    emit(event, flow_values, e, j, 0, flow)
                    events += 1
                    t += gap(step[1])
                    done += 1
                    failed = False
                    burst = unit(step[2]) < plan.afters[flow][j]
                else:
                    failed = True
                    burst = unit(step[2]) < params.background_after_failure
                if burst and background:
                    rank = Ranked.by_rank(len(background))
                    for i in range(1 + integer(step[3], 0, params.background_burst_max - 1)):
                        burst_words = sites["burst"].block(u, day, k, e, j, i)
                        emit(background[rank.index(burst_words[0])], flow_values, e, j, 1 + i, -1)
                        events += 1
                        t += gap(burst_words[1])
                if failed:
                    break
            if done == plan.closes[flow]:  # a `once` or `final` flow completed
                self._completed(user, flow)
        if events == 0 and plan.background_rank is not None:  # nothing happened: opening the app
            word = sites["session.open"].block(u, day, k)[0]
            other = plan.background[plan.background_rank.index(word)]
            flow_values = properties.draw(FLOW, sites.columns("prop.flow", u, day, k, OPEN))
            emit(other, flow_values, OPEN, 0, 0, -1)

    def _renew_keys(self, user: UserState, day: int, k: int) -> None:
        """The user moves to another device: a new one that joins the pool (always while the pool
        holds one; with chance key_pool_new_share / devices until it holds `key_pool_max`), else
        another of the pool, chosen evenly."""
        params = self.params
        words = self.sites["session.device"].block(user.index, day, k)
        pool = user.key_pool
        if not pool:  # (a state saved without a pool: the current keys are its first device)
            pool.append(list(user.secondary))
        if len(pool) < 2 or (
            len(pool) < params.key_pool_max
            and unit(words[0]) < params.key_pool_new_share / len(pool)
        ):
            keys = []
            for key in range(len(user.secondary)):
                high, low, _, _ = self.sites["device.key"].block(user.index, day, k, key)
                keys.append(uuid_text(high, low))
            pool.append(keys)
        else:
            others = [keys for keys in pool if keys != user.secondary]
            keys = others[integer(words[1], 0, len(others) - 1)]
        user.secondary = list(keys)

    def _completed(self, user: UserState, flow: int) -> None:
        """A flow's last step was performed: a ``once`` flow closes, a ``final`` one ends the
        user's life (no later event)."""
        user.once_done |= self.plan.once_bit[flow]
        if self.plan.final[flow]:
            user.churned = True
            raise _DayOver
