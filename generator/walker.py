"""The flow walker: one user's days, sessions, flows and events (SPEC section 2).

A user lives day by day.  On an active day the user has a few sessions, started at hours drawn from
a weekday or weekend profile; in each session the user enters the next flows in file order
(wrapping around) and walks their steps, succeeding with a chance that grows with p and leaving the
flow at the first failure, with bursts of background events between steps and after failures.
Five active days make a streak; then the user either churns or takes a break whose length depends
on p.  Every draw of a day comes from that day's own stream (see ``streams``).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import mul
from typing import Any, Protocol

from .clock import DAY_MS, HOUR_MS, weekday
from .params import (
    WEEKDAY_GAP_FACTOR,
    WEEKDAY_HOURS,
    WEEKEND_GAP_FACTOR,
    WEEKEND_HOURS,
    Params,
)
from .ranks import RankedChoice, cumulative
from .spec import Product
from .streams import DAY_STREAM, reseed
from .users import DayStart, UserState, uuid4_text

WRITE_ALL_MS = -(2**63)  # since_ms of a first run: before any time a run can have, pre-1970 too
MAX_SESSIONS_PER_DAY = 12
MAX_FLOWS_PER_SESSION = 40


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
    daily_active: dict[int, int] = field(default_factory=dict)  # epoch day -> users active
    weekly_active: dict[int, int] = field(default_factory=dict)  # Monday's epoch day -> users

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
        for day, count in other.daily_active.items():
            self.daily_active[day] = self.daily_active.get(day, 0) + count
        for week, count in other.weekly_active.items():
            self.weekly_active[week] = self.weekly_active.get(week, 0) + count


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


class _DayOver(Exception):
    """Internal: the day (or the run) ended in the middle of a session."""


BreakObserver = Callable[[UserState, int], None]


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
        index = {name: i for i, name in enumerate(product.events.events)}
        self.flows = [tuple(index[s] for s in f.steps) for f in product.flows.flows]
        # Flow f's step s is number offsets[f] + s in one flat numbering of every step: the
        # current user's reached steps are a set of these numbers (``_reached``).
        self.step_offsets = [0]
        for steps in self.flows:
            self.step_offsets.append(self.step_offsets[-1] + len(steps))
        self.step_of = [(f, s) for f, steps in enumerate(self.flows) for s in range(len(steps))]
        self._reached: set[int] = set()
        self.background = RankedChoice(range(len(product.events.events)))
        self.prop_bounds = [RankedChoice(c.values).bounds for c in product.events.properties]
        self.hour_bounds = (
            cumulative(_normalised(WEEKDAY_HOURS)),
            cumulative(_normalised(WEEKEND_HOURS)),
        )
        self.gap_factor = (WEEKDAY_GAP_FACTOR, WEEKEND_GAP_FACTOR)
        self._rng = random.Random(0)  # reseeded for every (user, day) before any draw
        self._day_parts = getattr(self.encoder, "day_parts", None)
        self._gap_mean = -1.0
        self._hour_gap: tuple[list[float], ...] = ()

    # -- one user ---------------------------------------------------------------------------------

    def simulate(
        self, user: UserState, out: list[str], stats: WalkStats, since_ms: int = WRITE_ALL_MS
    ) -> None:
        """Walk ``user`` from ``user.next_day`` to the end time, appending lines to ``out``.

        Only events after ``since_ms`` are written and counted: a continued run replays the day it
        was cut at and keeps what is new.
        """
        params = self.params
        weeks: set[int] = set()
        had_any = False
        stats.users += 1
        self._reached.clear()
        rng = self._rng  # one generator, seeded afresh for each day: cheaper than a new one
        while not user.churned:
            day = user.next_day
            day_start = day * DAY_MS
            if day_start >= self.end_ms:
                user.day_start = None
                break
            cut = day_start + DAY_MS > self.end_ms
            if cut:  # the end time cuts this day: keep how it began, so a later run can replay it
                snapshot = DayStart(
                    user.p,
                    user.skip_days_counter,
                    user.churn_prob_reset_counter,
                    user.flow_position,
                    list(user.secondary),
                    user.last_event_ms,
                )
            reseed(rng, self.seed, DAY_STREAM, user.index, day)
            active, emitted = self._day(user, day, rng, out, stats, since_ms)
            if emitted:
                had_any = True
                stats.daily_active[day] = stats.daily_active.get(day, 0) + 1
                weeks.add(day - weekday(day))
            if cut:
                user.day_start = snapshot
                break
            user.day_start = None
            if not active:
                user.next_day = day + 1
                continue
            user.skip_days_counter += 1
            if user.skip_days_counter < params.streak_days:
                user.next_day = day + 1
                continue
            user.skip_days_counter = 0
            if rng.random() < user.churn_probability * params.churn_hazard(user.p):
                user.churned = True
                break
            lo, hi = params.break_range(user.p)
            days_off = rng.randint(lo, hi)
            if self.on_break is not None:
                self.on_break(user, days_off)
            user.next_day = day + 1 + days_off
            user.churn_prob_reset_counter += 1
            if user.churn_prob_reset_counter >= params.resets_every_breaks:
                user.churn_prob_reset_counter = 0
                user.p = rng.random()
        if user.churned:
            stats.churned += 1
        if had_any:
            stats.users_with_events += 1
        for week in weeks:
            stats.weekly_active[week] = stats.weekly_active.get(week, 0) + 1
        for number in self._reached:  # each step the user reached, counted once per user
            flow, step = self.step_of[number]
            stats.funnel_users[flow][step] += 1

    # -- one day ----------------------------------------------------------------------------------

    def _day(
        self,
        user: UserState,
        day: int,
        rng: random.Random,
        out: list[str],
        stats: WalkStats,
        since_ms: int,
    ) -> tuple[bool, bool]:
        """Generate one day; return (the user performed events, some were after ``since_ms``)."""
        params = self.params
        day_start = day * DAY_MS
        day_end = min(day_start + DAY_MS, self.end_ms)
        weekend = 1 if weekday(day) >= 5 else 0
        p = user.p
        draw = rng.random

        keep_going = params.sessions_continue_base + params.sessions_continue_gain * p
        if weekend:
            keep_going *= params.weekend_session_factor
        sessions = 1
        while sessions < MAX_SESSIONS_PER_DAY and draw() < keep_going:
            sessions += 1
        hours = self.hour_bounds[weekend]
        starts = sorted(
            day_start + bisect_right(hours, draw()) * HOUR_MS + int(draw() * HOUR_MS)
            for _ in range(sessions)
        )
        if user.created_ms >= day_start:  # the first day: the user arrives at creation time
            starts = [user.created_ms] + [s for s in starts[1:] if s > user.created_ms]

        flows = self.flows
        n_flows = len(flows)
        funnels = stats.funnels
        offsets = self.step_offsets
        reached_add = self._reached.add
        by_event = stats.by_event
        prop_bounds = self.prop_bounds
        background = self.background.bounds
        burst_max = params.background_burst_max
        success = params.step_success(p)
        after_step = params.background_after_step
        after_failure = params.background_after_failure
        renew_above = params.secondary_key_renew_above
        flows_going = params.flows_continue_base + params.flows_continue_gain * p
        gap_mean = params.gap_mean_base_ms + params.gap_mean_slow_ms * (1.0 - p)
        # Per hour of the day, the factor of the gap's log draw: the same product, in the same
        # order, as -gap_mean * factor * log(u), so every gap is the same float as before.  It only
        # changes with p, so it is kept for the last p.
        if gap_mean != self._gap_mean:
            self._gap_mean = gap_mean
            scale = repeat(-gap_mean)
            self._hour_gap = tuple(list(map(mul, scale, factors)) for factors in self.gap_factor)
        hour_gap = self._hour_gap[weekend]
        lo = params.gap_min_ms
        hi = params.gap_max_ms
        idle = params.session_idle_ms
        encoder = self.encoder
        line = encoder.line
        prefix_of = encoder.prefix
        # An encoder that can say how its lines are built for one UTC day lets the walker build
        # them in place, without a call per event (all of a day's events fall on that date).
        parts = self._day_parts(day) if self._day_parts is not None else None
        heads, seconds, millis = parts if parts is not None else ([], [], [])
        append = out.append
        log = math.log
        hour = HOUR_MS
        lines_before = len(out)
        position = user.flow_position
        flow_entries = key_renewals = 0

        # The event emission below is written out in place three times (a step, a burst, the
        # session's opening event) rather than called: a call per event was the largest cost of the
        # walk.  Each copy: stop at the day's end; write the line if it is new; draw the next gap.
        t = 0
        last = user.last_event_ms
        first_last = last
        try:
            for start in starts:
                t = start
                if last is not None and t <= last + idle:
                    t = last + idle + 1 + int(draw() * idle)
                if t >= day_end:
                    break
                session = f"{rng.getrandbits(64):016x}"
                session_start = t
                session_last = last
                attempts = 1
                while attempts < MAX_FLOWS_PER_SESSION and draw() < flows_going:
                    attempts += 1
                for _ in range(attempts):
                    entered = position
                    position = (position + 1) % n_flows
                    if draw() > renew_above:
                        user.secondary = [uuid4_text(rng) for _ in user.secondary]
                        if t > since_ms:
                            key_renewals += 1
                    if t > since_ms:
                        flow_entries += 1
                    # One draw per property column, in column order (map stops at the last column).
                    props = list(map(bisect_right, prop_bounds, iter(draw, 2.0)))
                    prefix = prefix_of(user, session, session_start, props)
                    reach = funnels[entered]
                    first_step = offsets[entered]
                    step = 0
                    for event in flows[entered]:
                        if draw() < success:
                            if t >= day_end:
                                raise _DayOver
                            if t > since_ms:
                                append(
                                    f"{prefix}{heads[event]}"
                                    f"{seconds[(t - day_start) // 1000]}{millis[t % 1000]}"
                                    if parts
                                    else line(prefix, event, t)
                                )
                                by_event[event] += 1
                                reach[step] += 1
                                reached_add(first_step + step)
                            last = t
                            gap = hour_gap[(t - day_start) // hour] * log(1.0 - draw())
                            t += lo if gap < lo else hi if gap > hi else int(gap)
                            step += 1
                            if draw() >= after_step:
                                continue
                            failed = False
                        elif draw() >= after_failure:
                            break
                        else:
                            failed = True
                        for _ in range(1 + int(draw() * burst_max)):  # background events
                            other = bisect_right(background, draw())
                            if t >= day_end:
                                raise _DayOver
                            if t > since_ms:
                                append(
                                    f"{prefix}{heads[other]}"
                                    f"{seconds[(t - day_start) // 1000]}{millis[t % 1000]}"
                                    if parts
                                    else line(prefix, other, t)
                                )
                                by_event[other] += 1
                            last = t
                            gap = hour_gap[(t - day_start) // hour] * log(1.0 - draw())
                            t += lo if gap < lo else hi if gap > hi else int(gap)
                        if failed:
                            break
                if last == session_last:  # every flow failed at once: opening the app is an event
                    other = bisect_right(background, draw())
                    if t >= day_end:
                        raise _DayOver
                    if t > since_ms:
                        append(
                            f"{prefix}{heads[other]}"
                            f"{seconds[(t - day_start) // 1000]}{millis[t % 1000]}"
                            if parts
                            else line(prefix, other, t)
                        )
                        by_event[other] += 1
                    last = t
                    gap = hour_gap[(t - day_start) // hour] * log(1.0 - draw())
                    t += lo if gap < lo else hi if gap > hi else int(gap)
        except _DayOver:
            pass
        user.flow_position = position
        user.last_event_ms = last
        written = len(out) - lines_before
        stats.events += written
        stats.flow_entries += flow_entries
        stats.key_renewals += key_renewals
        return last != first_last, written > 0


def _normalised(weights: tuple[float, ...]) -> list[float]:
    total = sum(weights)
    return [w / total for w in weights]
