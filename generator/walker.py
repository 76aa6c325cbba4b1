"""The flow walker: one user's active days, sessions, flows and events (SPEC section 2).

:meth:`Walker.simulate` goes from one active day of a user to the next (``users.Life`` decides
which day that is, and churn).  On an active day the user has a few sessions, started at hours of
its local day drawn from a weekday or weekend profile (:meth:`Walker._schedule`); in each session
(:meth:`Walker._session`) the user enters flows one after another (``funnels.FlowPlan`` says which
and how likely each step is) and walks their steps, leaving a flow at the first failure, with
bursts of background events between steps and after failures.  A session may run past midnight.

Every draw of a day comes from that day's own stream (see ``streams``), in this order: the number
of sessions and their start times (:meth:`_schedule`); then per session: a draw that moves its
start past the previous session when they would touch, the session id, the number of flows, the
device (a draw; when it changes, one or two more and the new keys), one draw per ``[session]``
property, and per flow entry the flow (by rank; none for a ``first`` flow), one draw per
``[flow]`` property, then per step the success draw and, for an event, its ``[event]`` draws, its
gap and whether a background burst follows (its size, and per event its name, ``[event]`` draws
and gap); last, a session with no event yet gets one background event (its name, its ``[flow]``
and ``[event]`` draws, its gap).  Then ``Life`` draws the next active day and churn.  Properties
of other scopes draw nothing here (``properties``).
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import mul
from typing import Any, Protocol

from .clock import DAY_MS, HOUR_MS, weekday
from .funnels import P_LEVELS, FlowPlan, final_exit
from .localtime import ZoneClock
from .params import (
    WEEKDAY_GAP_FACTOR,
    WEEKDAY_HOURS,
    WEEKEND_GAP_FACTOR,
    WEEKEND_HOURS,
    Params,
)
from .properties import PropertyPlan
from .ranks import cumulative
from .spec import EVENT, FLOW, KEY, SESSION, Product
from .streams import DAY_STREAM, reseed
from .users import Clocks, Life, UserState, uuid4_text

WRITE_ALL_MS = -(2**63)  # since_ms of a first run: before any time a run can have, pre-1970 too
MAX_SESSIONS_PER_DAY = 12
MAX_FLOWS_PER_SESSION = 40
DST_SLACK_MS = 2 * HOUR_MS  # a local day lasts at most 24 h and this
RETENTION_DAYS = (1, 7, 30)  # the summary's exact-day retention


@dataclass
class WalkStats:
    """What was generated, counted as it was written (merged across chunks for the summary)."""

    events: int = 0
    by_event: list[int] = field(default_factory=list)
    funnels: list[list[int]] = field(default_factory=list)  # per flow, per step: times reached
    # Per flow, per step: users who reached it at least once (what the analytics tools' funnels
    # count).  Each user's reached steps are gathered in Walker.simulate and added when it ends.
    funnel_users: list[list[int]] = field(default_factory=list)
    flow_entries: int = 0
    key_renewals: int = 0
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
        self.flow_entries += other.flow_entries
        self.key_renewals += other.key_renewals
        self.users += other.users
        self.users_with_events += other.users_with_events
        self.churned += other.churned
        self.joined_before += other.joined_before
        for day, count in other.daily_active.items():
            self.daily_active[day] = self.daily_active.get(day, 0) + count
        for week, count in other.weekly_active.items():
            self.weekly_active[week] = self.weekly_active.get(week, 0) + count
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


class EventEncoder(Protocol):
    """What the walker needs from an encoder (``encoders``): a prefix per flow entry, a line per
    event.  The prefix is opaque here (a string for the flat JSON, a tuple of pieces for others).

    An encoder may also offer ``day_parts(day)``, the pieces its lines of one UTC day are built
    from, so that the walker builds them in place without a call per event.
    """

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


class _Segment:
    """The UTC date the walker is writing events on, and the next moment that needs a look: the
    next UTC midnight (new date fragments), the run's end, or the day's last allowed moment."""

    __slots__ = ("date", "day_parts", "day_start", "end_ms", "hard_ms", "limit", "mark", "seen")

    def __init__(self, day_parts: Callable[[int], object] | None, end_ms: int) -> None:
        self.day_parts = day_parts
        self.end_ms = end_ms
        self.date = ""  # the encoder's "YYYY-MM-DDT" of the UTC date being written
        self.day_start = 0
        self.hard_ms = self.limit = 0
        self.mark = 0  # lines written before this UTC date began
        self.seen: list[int] = []  # UTC days on which the current user's events were written

    def open_day(self, hard_ms: int, written: int, first_ms: int) -> None:
        """A new local day starts; its events may not reach ``hard_ms``, and none comes before
        ``first_ms`` (its first session's start): the UTC date of that moment is made current."""
        self.hard_ms = hard_ms
        self.mark = written
        self._date_of(first_ms)

    def _date_of(self, t: int) -> None:
        day = t // DAY_MS
        self.day_start = day * DAY_MS
        self.limit = min(self.day_start + DAY_MS, self.end_ms, self.hard_ms)
        if self.day_parts is not None:
            parts = self.day_parts(day)
            if parts is not None:
                self.date = parts[1]  # type: ignore[index]

    def close(self, written: int) -> None:
        if written > self.mark:
            self.seen.append(self.day_start // DAY_MS)
        self.mark = written

    def cross(self, t: int, written: int) -> None:
        """Called for an event at ``t >= limit``: stop the run or the day, or move to t's date."""
        if t >= self.end_ms:
            raise _RunOver
        if t >= self.hard_ms:
            raise _DayOver
        self.close(written)
        self._date_of(t)


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
        # Flow f's step s is number offsets[f] + s in one flat numbering of every step: the
        # current user's reached steps are a set of these numbers (``_reached``).
        self.step_offsets = [0]
        for steps in self.plan.steps:
            self.step_offsets.append(self.step_offsets[-1] + len(steps))
        self.step_of = [
            (f, s) for f, steps in enumerate(self.plan.steps) for s in range(len(steps))
        ]
        self._reached: set[int] = set()
        self.hour_bounds = (
            cumulative(_normalised(WEEKDAY_HOURS)),
            cumulative(_normalised(WEEKEND_HOURS)),
        )
        self._rng = random.Random(0)  # reseeded for every (user, day) before any draw
        day_parts = getattr(self.encoder, "day_parts", None)
        self._segment = _Segment(day_parts, end_ms)
        probe = day_parts(0) if day_parts is not None else None
        self._parts = probe if probe is not None else None
        # Gap factors by hour of the local day, on past midnight for a session that runs on.
        hours = 2 + (DAY_MS + DST_SLACK_MS + params.day_overflow_ms) // HOUR_MS
        self._gap_factors = (
            [WEEKDAY_GAP_FACTOR[h % 24] for h in range(hours)],
            [WEEKEND_GAP_FACTOR[h % 24] for h in range(hours)],
        )
        self._p = -1.0  # the p the tables below were built for
        self._levels: dict[
            int,
            tuple[
                list[tuple[tuple[int, float, float], ...]],
                tuple[float, float],
                tuple[list[float], ...],
            ],
        ] = {}
        # How long after its start a day's events may run: DST, and the last session's overflow.
        self._spill_ms = DAY_MS + DST_SLACK_MS + params.day_overflow_ms
        # Per flow, (event, chance of success, chance of a burst after it) for each step, for p.
        self._walks: list[tuple[tuple[int, float, float], ...]] = []
        self._exits = 0.0  # chance that the day ends in a completed `final` flow
        self._final_terms = (0.0, 0.0)  # FlowPlan.final_terms for p
        self._rate = 0.0  # the user's churn hazard on the day being walked
        self._hour_gap: tuple[list[float], ...] = ([], [])

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
        segment = self._segment
        segment.seen = []
        stats.users += 1
        stats.joined_before += user.before_window and since_ms == WRITE_ALL_MS
        self._reached.clear()
        rng = self._rng  # one generator, seeded afresh for each day: cheaper than a new one
        while not user.churned:
            day = user.next_day
            start = zone.day_start(day)
            if start >= self.end_ms:
                user.day_start = None
                break
            # A day the end time may cut: keep how it began, so a later run can replay it.
            snapshot = user.snapshot() if start + self._spill_ms > self.end_ms else None
            reseed(rng, self.seed, DAY_STREAM, user.index, day)
            try:
                self._day(user, day, first_day, start, zone, rng, out, stats, since)
            except _RunOver:
                segment.close(len(out))
                user.day_start = snapshot
                break
            segment.close(len(out))
            user.day_start = None
            if user.churned:  # a `final` flow completed
                break
            p = user.p
            days_off = self.life.after_active_day(
                user, day, first_day, rng, self._exits, True, self._rate
            )
            if days_off and self.on_break is not None:
                self.on_break(p, days_off)
        self._count_user(user, stats, segment.seen, joins_here)

    def _count_user(
        self, user: UserState, stats: WalkStats, seen: list[int], joins_here: bool
    ) -> None:
        """The user's share of the run's statistics, from the UTC days its events were written."""
        if user.churned:
            stats.churned += 1
        for number in self._reached:  # each step the user reached, counted once per user
            flow, step = self.step_of[number]
            stats.funnel_users[flow][step] += 1
        if not seen:
            return
        stats.users_with_events += 1
        days = sorted(set(seen))
        for day in days:
            stats.daily_active[day] = stats.daily_active.get(day, 0) + 1
        for week in sorted({day - weekday(day) for day in days}):
            stats.weekly_active[week] = stats.weekly_active.get(week, 0) + 1
        if joins_here:
            signup = days[0]
            counts = stats.retention.setdefault(signup, [0] * (1 + len(RETENTION_DAYS)))
            counts[0] += 1
            active = set(days)
            for position, n in enumerate(RETENTION_DAYS, start=1):
                counts[position] += signup + n in active

    # -- one day ----------------------------------------------------------------------------------

    def _day(
        self,
        user: UserState,
        day: int,
        first_day: int,
        start: int,
        zone: ZoneClock,
        rng: random.Random,
        out: list[str],
        stats: WalkStats,
        since: int,
    ) -> None:
        """One active day: its sessions, in time order.  Raises ``_RunOver`` at the end time."""
        weekend = weekday(day) >= 5
        if user.p != self._p:
            self._tables_for(user.p)
        self._rate = self.life.rate(user, day, first_day)
        if self.plan.final_flows:
            self._final_for(self._rate)
        starts = self._schedule(user, start, weekend, rng)
        hard = zone.day_start(day + 1) + self.params.day_overflow_ms
        self._segment.open_day(hard, len(out), starts[0])
        idle = self.params.session_idle_ms
        try:
            for session_start in starts:
                last = user.last_event_ms
                t = session_start
                if last is not None and t <= last + idle:  # it would touch the previous session
                    t = last + idle + 1 + int(rng.random() * idle)
                if t >= hard - self.params.day_overflow_ms:
                    break  # pushed past the day's end: the day holds no more sessions
                self._session(user, t, start, weekend, rng, out, stats, since)
        except _DayOver:
            pass

    def _schedule(
        self, user: UserState, start: int, weekend: bool, rng: random.Random
    ) -> list[int]:
        """How many sessions the day holds, and when each starts (local hours by the profile);
        the user's very first session starts when it joins."""
        params = self.params
        draw = rng.random
        keep_going = params.sessions_continue_base + params.sessions_continue_gain * user.p
        if weekend:
            keep_going *= params.weekend_session_factor
        sessions = 1
        while sessions < MAX_SESSIONS_PER_DAY and draw() < keep_going:
            sessions += 1
        hours = self.hour_bounds[weekend]
        starts = sorted(
            start + bisect_right(hours, draw()) * HOUR_MS + int(draw() * HOUR_MS)
            for _ in range(sessions)
        )
        if user.created_ms >= start:  # the first day: the user arrives at its creation time
            starts = [user.created_ms] + [s for s in starts[1:] if s > user.created_ms]
        return starts

    def _final_for(self, rate: float) -> None:
        """The day's first-step chance of the ``final`` flows (it follows the churn hazard), and
        the chance that the day ends in one."""
        plan = self.plan
        start = plan.final_start(rate)
        for flow in plan.final_flows:
            first = self._walks[flow][0]
            self._walks[flow] = ((first[0], start, first[2]), *self._walks[flow][1:])
        self._exits = final_exit(self._final_terms, start)

    def _tables_for(self, p: float) -> None:
        """Step chances and gap medians depend on p only.  They are built for p rounded to
        1/P_LEVELS (a difference no data can show) and kept, so a walker builds each level once
        instead of once per user."""
        self._p = p
        level = min(P_LEVELS - 1, int(p * P_LEVELS))
        tables = self._levels.get(level)
        if tables is None:
            tables = self._levels[level] = self._build_tables((level + 0.5) / P_LEVELS)
        self._walks, self._final_terms, self._hour_gap = tables

    def _build_tables(
        self, p: float
    ) -> tuple[
        list[tuple[tuple[int, float, float], ...]], tuple[float, float], tuple[list[float], ...]
    ]:
        chances = self.plan.chances(p)
        walks = [
            tuple(zip(steps, odds, afters))
            for steps, odds, afters in zip(self.plan.steps, chances, self.plan.afters)
        ]
        median = self.params.gap_median_ms(p)
        hour_gap = (
            list(map(mul, repeat(median), self._gap_factors[0])),
            list(map(mul, repeat(median), self._gap_factors[1])),
        )
        return walks, self.plan.final_terms(p, chances), hour_gap

    # -- one session ------------------------------------------------------------------------------

    def _session(
        self,
        user: UserState,
        t: int,
        local_start: int,
        weekend: bool,
        rng: random.Random,
        out: list[str],
        stats: WalkStats,
        since: int,
    ) -> None:
        """One session from ``t``: flows one after another, then, if nothing happened, one
        background event (opening the app is activity).

        Writing an event is spelled out in place three times (a step, a background event, the
        opening event) rather than called: a call per event was the largest cost of the walk.
        Each copy: look at the UTC date, the end time and the day's limit when ``t`` passes the
        next of them; write the line if it is new; draw the gap to the next event.
        """
        params = self.params
        plan = self.plan
        draw = rng.random
        segment = self._segment
        session = f"{rng.getrandbits(64):016x}"
        session_start = t
        attempts = 1
        going = params.flows_continue_base + params.flows_continue_gain * user.p
        while attempts < MAX_FLOWS_PER_SESSION and draw() < going:
            attempts += 1
        pending = list(plan.first) if user.last_event_ms is None else []
        attempts += len(pending) - (1 if pending else 0)
        open_flows, flow_bounds = plan.choices(user.once_done)
        walks, closes = self._walks, plan.closes
        background_in = plan.background_in
        after_failure = params.background_after_failure
        burst_max = params.background_burst_max
        prefix_of, line = self.encoder.prefix, self.encoder.line
        parts = self._parts
        heads, _, seconds, millis = parts if parts is not None else ([], "", [], [])
        date, utc_start, limit = segment.date, segment.day_start, segment.limit
        hour_gap = self._hour_gap[weekend]
        shape = 1.0 / params.gap_shape
        lo, cap = params.gap_min_ms, params.gap_max_ms - params.gap_min_ms
        funnels, by_event = stats.funnels, stats.by_event
        offsets, reached_add = self.step_offsets, self._reached.add
        append = out.append
        last = session_last = user.last_event_ms
        hour = HOUR_MS
        out_start = len(out)
        flow_entries = key_renewals = 0
        # The session's device: the keys may change at its start, never inside it.
        if user.secondary and draw() > params.secondary_key_renew_above:
            self._renew_keys(user, rng)
            key_renewals += t > since
        properties = self.properties
        keyed = properties.keyed(user.secondary) if properties.drawn[KEY] else {}
        session_values = properties.draw(SESSION, draw)
        flow_values: list[int] = []
        per_event = properties.per_event  # a property drawn per event, or only on some events

        def event_prefix(event: int) -> Any:
            """The prefix of one event's line: its `[event]` draws, only the columns it carries."""
            event_values = properties.draw(EVENT, draw)
            values = properties.values(
                user.user_props, keyed, session_values, flow_values, event_values
            )
            return prefix_of(user, session, session_start, properties.on_event(values, event))

        prefix: Any = None
        try:
            for _ in range(attempts):
                if pending:
                    flow = pending.pop(0)
                elif open_flows:
                    flow = open_flows[bisect_right(flow_bounds, draw())]
                else:
                    break
                flow_entries += t > since
                flow_values = properties.draw(FLOW, draw)
                if not per_event:
                    values = properties.values(user.user_props, keyed, session_values, flow_values)
                    prefix = prefix_of(user, session, session_start, values)
                background, background_bounds = background_in[flow]
                reach = funnels[flow]
                first_step = offsets[flow]
                step = 0
                for event, odd, burst in walks[flow]:
                    if draw() < odd:
                        if t >= limit:
                            segment.cross(t, len(out))
                            date, utc_start, limit = (
                                segment.date,
                                segment.day_start,
                                segment.limit,
                            )
                        if per_event:
                            prefix = event_prefix(event)
                        if t > since:
                            append(
                                f"{prefix}{heads[event]}{date}"
                                f"{seconds[(t - utc_start) // 1000]}{millis[t % 1000]}"
                                if parts
                                else line(prefix, event, t)
                            )
                            by_event[event] += 1
                            reach[step] += 1
                            reached_add(first_step + step)
                        last = t
                        u = draw()
                        gap = int(hour_gap[(t - local_start) // hour] * (u / (1.0 - u)) ** shape)
                        t += lo + (gap if gap < cap else cap)
                        step += 1
                        if draw() >= burst:
                            continue
                        failed = False
                    elif draw() >= after_failure:
                        break
                    else:
                        failed = True
                    for _ in range(1 + int(draw() * burst_max)):  # background events
                        if not background:
                            break
                        other = background[bisect_right(background_bounds, draw())]
                        if t >= limit:
                            segment.cross(t, len(out))
                            date, utc_start, limit = (
                                segment.date,
                                segment.day_start,
                                segment.limit,
                            )
                        if per_event:
                            prefix = event_prefix(other)
                        if t > since:
                            append(
                                f"{prefix}{heads[other]}{date}"
                                f"{seconds[(t - utc_start) // 1000]}{millis[t % 1000]}"
                                if parts
                                else line(prefix, other, t)
                            )
                            by_event[other] += 1
                        last = t
                        u = draw()
                        gap = int(hour_gap[(t - local_start) // hour] * (u / (1.0 - u)) ** shape)
                        t += lo + (gap if gap < cap else cap)
                    if failed:
                        break
                if step == closes[flow]:  # a `once` or `final` flow completed
                    self._completed(user, flow)
                    open_flows, flow_bounds = plan.choices(user.once_done)
            if last == session_last and plan.background:  # nothing happened: opening the app
                other = plan.background[bisect_right(plan.background_bounds, draw())]
                flow_values = properties.draw(FLOW, draw)
                values = properties.values(user.user_props, keyed, session_values, flow_values)
                prefix = prefix_of(user, session, session_start, values)
                if t >= limit:
                    segment.cross(t, len(out))
                    date, utc_start, limit = segment.date, segment.day_start, segment.limit
                if per_event:
                    prefix = event_prefix(other)
                if t > since:
                    append(
                        f"{prefix}{heads[other]}{date}"
                        f"{seconds[(t - utc_start) // 1000]}{millis[t % 1000]}"
                        if parts
                        else line(prefix, other, t)
                    )
                    by_event[other] += 1
                last = t
        finally:
            user.last_event_ms = last
            stats.events += len(out) - out_start
            stats.flow_entries += flow_entries
            stats.key_renewals += key_renewals

    def _renew_keys(self, user: UserState, rng: random.Random) -> None:
        """The user moves to another device: a new one that joins the pool (always while the pool
        holds one; with chance key_pool_new_share / devices until it holds `key_pool_max`), else
        another of the pool, chosen evenly."""
        params = self.params
        pool = user.key_pool
        if not pool:  # (a state saved without a pool: the current keys are its first device)
            pool.append(list(user.secondary))
        if len(pool) < 2 or (
            len(pool) < params.key_pool_max and rng.random() < params.key_pool_new_share / len(pool)
        ):
            keys = [uuid4_text(rng) for _ in user.secondary]
            pool.append(keys)
        else:
            others = [keys for keys in pool if keys != user.secondary]
            keys = others[int(rng.random() * len(others))]
        user.secondary = list(keys)

    def _completed(self, user: UserState, flow: int) -> None:
        """A flow's last step was performed: a ``once`` flow closes, a ``final`` one ends the
        user's life (no later event)."""
        user.once_done |= self.plan.once_bit[flow]
        if self.plan.final[flow]:
            user.churned = True
            raise _DayOver


def _normalised(weights: tuple[float, ...]) -> list[float]:
    total = sum(weights)
    return [w / total for w in weights]
