"""The batch engine: the second-edition model for a batch of users at once, in numpy arrays.

It computes what ``walker.Walker`` (the plain model) computes, event for event and bit for bit,
stage by stage over arrays instead of one user, one draw at a time (docs/engine.md).  A batch of
users walks day by day: each round takes every living user's next active day (users are on
different calendar days; no draw depends on another user), and walks it in stages:

1. **sessions**: how many, their drawn start times (sorted; a new user's first session at its
   arrival), then per session its push, its number of flow entries, its id and its device roll;
2. **flow entries**: the flow of each (by rank among the open flows; a ``once`` flow completed
   earlier that day closes, so the flows after such a completion are chosen again until nothing
   changes: completions are rare, a round or two);
3. **steps**: step ``j`` of every entry still walking, its success, gap and burst; then every
   burst event;
4. **events in order**: each session's events (steps and bursts in order, or the event that opens
   an empty session), their times a cumulative sum of gaps from the session's start;
5. **session starts**: a session starts at its drawn time or, close to the last event, pushed
   after it: a scan over the day's sessions (``max``, in the plain model's order);
6. **cuts**: the first session or event at or after the end time ends the user's walk for this
   run (RunOver), at or after the day's limit ends the day, and a completed ``final`` flow ends
   the user's life: what comes after is dropped;
7. **state**: the last event, the ``once`` flows completed, devices changed at session starts
   (in Python: a device changes at about a fifth of sessions), then ``lives.after_active_days``.

Written events (after ``since``) keep, per event, what the lines need: the user, the session, the
event, the time and each property column's value; ``batchlines`` turns them into bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .clock import DAY_MS, HOUR_MS
from .distributions import Ranked, counts, integers
from .draws import Request, units
from .funnels import FlowPlan
from .lives import (
    NO_EVENT,
    Lives,
    Model,
    ZoneDays,
    after_active_days,
    churn_rates,
    draw_candidates,
    exits_of,
    join_before,
    p_levels,
    weekend_of,
)
from .params import Params
from .population import Population
from .properties import ABSENT, PropertyPlan
from .sites import LANES, OPEN, Sites, uuid_texts
from .spec import EVENT, FLOW, KEY, SESSION, USER, Product
from .users import Clocks, DayStart, UserState
from .walker import (
    DST_SLACK_MS,
    MAX_FLOWS_PER_SESSION,
    MAX_SESSIONS_PER_DAY,
    RETENTION_DAYS,
    WRITE_ALL_MS,
    WalkStats,
    gap_quantiles,
    gap_scales,
    hour_ranks,
)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Words = npt.NDArray[np.uint64]
Values = npt.NDArray[np.int32]  # property value indices, a column per drawing column of a scope

NEVER = np.iinfo(np.int64).max  # no cut
WAITING_PARTS = 3  # parts of events that may wait for their last users before no part joins


def positions(groups: Ints, size: int) -> Ints:
    """For ids sorted by group, each one's position within its group (0, 1, ...)."""
    number = np.bincount(groups, minlength=size)
    starts = np.cumsum(number) - number
    found: Ints = np.arange(groups.size, dtype=np.int64) - np.repeat(starts, number)
    return found


def firsts(number: Ints) -> Ints:
    """Where each group starts, for groups of ``number`` items laid out one after another."""
    found: Ints = np.cumsum(number) - number
    return found


def exclusive_within(values: Ints, groups: Ints, group_first: Ints) -> Ints:
    """The running sum of ``values`` before each item, restarting at each group (items sorted by
    group; ``group_first[g]`` the index of group g's first item)."""
    running = np.cumsum(values)
    before = running - values
    base = before[np.minimum(group_first[groups], values.size - 1)] if values.size else before
    found: Ints = before - base
    return found


@dataclass
class Batch:
    """A batch of users being walked: their states (the output's ``UserState`` objects, kept in
    step at the end) and the arrays the rounds work on."""

    users: list[UserState]
    lives: Lives
    once_done: Ints
    device: Ints  # the current device: an index into ``devices``
    since: Ints  # per user: only events after this are written
    user_props: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    # Devices: their keys, and each user's pool of them (a row of device numbers, -1 past its size)
    devices: list[tuple[str, ...]] = field(default_factory=list)
    device_ids: dict[tuple[str, ...], int] = field(default_factory=dict)
    pool: Ints = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    pool_size: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    keyed: Ints = field(
        default_factory=lambda: np.zeros((0, 0), np.int64)
    )  # see BatchWalker._keyed
    snapshots: dict[int, DayStart] = field(default_factory=dict)

    def device_of(self, keys: tuple[str, ...]) -> int:
        found = self.device_ids.get(keys)
        if found is None:
            found = self.device_ids[keys] = len(self.devices)
            self.devices.append(keys)
        return found

    def key_pool(self, row: int) -> list[list[str]]:
        return [list(self.devices[d]) for d in self.pool[row, : self.pool_size[row]].tolist()]


@dataclass
class Written:
    """The events a batch wrote, in the order the rounds produced them (by round, then user), and
    the sessions and flow entries they belong to, numbered in the batch.  A property value is kept
    where it is drawn: per session, per flow entry (the opening event of an empty session is an
    entry of its own), per event only for `[event]` columns."""

    user: list[npt.NDArray[np.int32]] = field(default_factory=list)
    session: list[npt.NDArray[np.int32]] = field(default_factory=list)
    entry: list[npt.NDArray[np.int32]] = field(default_factory=list)
    event: list[npt.NDArray[np.int32]] = field(default_factory=list)
    ms: list[Ints] = field(default_factory=list)
    event_values: list[Values] = field(default_factory=list)
    session_id: list[Words] = field(default_factory=list)
    session_start: list[Ints] = field(default_factory=list)
    session_device: list[Ints] = field(default_factory=list)
    session_user: list[Ints] = field(default_factory=list)
    session_values: list[Values] = field(default_factory=list)
    entry_values: list[Values] = field(default_factory=list)
    funnels: Ints = field(default_factory=lambda: np.zeros(0, np.int64))  # per flow step
    # Per written step event, its user's batch row times the number of steps plus its step's
    # flat number: unique codes are the (user, step) pairs, for the funnels that count users.
    reached: list[Ints] = field(default_factory=list)
    sessions: int = 0
    entries: int = 0
    count: int = 0


@dataclass(frozen=True)
class _Round:
    """One round's arrays that the late stages read: per row (a user's day) its batch row, user
    and day; per session its row and position; per entry its position; per event its session,
    entry (-1: the opening event), step, burst event (0: the step's own), event and time."""

    rows: Ints
    user: Ints
    days: Ints
    srow: Ints
    k: Ints
    e: Ints
    erow: Ints  # per event: its row
    esess: Ints
    eentry: Ints
    ej: Ints
    ei: Ints
    event: Ints
    ms: Ints


@dataclass(frozen=True)
class _Groups:
    """The written events of a round grouped by session and by flow entry (they come in that
    order): where each group starts among them, and each event's group."""

    session_first: Ints
    session_of: Ints
    entry_first: Ints
    entry_of: Ints

    @classmethod
    def of(cls, found: _Round, out: Ints) -> _Groups:
        session, entry = found.esess[out], found.eentry[out]
        new_session = np.ones(out.size, dtype=np.bool_)
        new_session[1:] = session[1:] != session[:-1]
        new_entry = new_session.copy()
        new_entry[1:] |= entry[1:] != entry[:-1]
        return cls(
            np.flatnonzero(new_session),
            np.cumsum(new_session) - 1,
            np.flatnonzero(new_entry),
            np.cumsum(new_entry) - 1,
        )


@dataclass(frozen=True)
class Columns:
    """Where each property column's value of an event comes from: the user's `[user]` values,
    its device's key-bound values, its session's, its flow entry's or its own values (each a
    table whose columns are the scope's drawing columns), the column of a ``with`` partner's draw
    (``root``), and whether the event carries the column at all."""

    scope: tuple[str, ...]
    position: tuple[int, ...]  # the root's column in its scope's table (-1 for `[user]`)
    present: npt.NDArray[np.bool_]  # (events of the sheet, columns)

    @classmethod
    def of(cls, props: PropertyPlan, events: int) -> Columns:
        scope = tuple(props.scope)
        position = tuple(
            -1 if scope[c] == USER else props.drawn[scope[c]].index(props.root[c])
            for c in range(props.count)
        )
        present = np.array(props.present, dtype=np.bool_).reshape(events, props.count)
        return cls(scope, position, present)


@dataclass(frozen=True)
class Events:
    """A batch's written events: per event (in the order written; ``order`` sorts them by user,
    each user's in time order), per session, per flow entry, per device, per user.
    :meth:`take` gives the lines' material for a slice of them, by user."""

    order: Ints
    user: npt.NDArray[np.int32]  # the user's position in the batch
    session: npt.NDArray[np.int32]  # the session's number in the batch
    entry: npt.NDArray[np.int32]
    event: npt.NDArray[np.int32]
    ms: Ints
    event_values: Values
    session_id: Words
    session_start: Ints
    session_device: Ints
    session_user: Ints  # the session's user's position in the batch
    session_values: Values
    entry_values: Values
    devices: list[tuple[str, ...]]
    device_values: Ints
    user_props: Ints
    columns: Columns

    def __len__(self) -> int:
        return int(self.order.size)

    def values_of(self, column: int, user: Ints, session: Ints, entry: Ints, which: Ints) -> Ints:
        """Column ``column``'s value for events of these users, sessions, entries and numbers."""
        columns = self.columns
        scope, position = columns.scope[column], columns.position[column]
        if scope == USER:
            found: Ints = self.user_props[user, column]
        elif scope == KEY:
            found = self.device_values[self.session_device[session], position]
        elif scope == SESSION:
            found = self.session_values[session, position].astype(np.int64)
        elif scope == FLOW:
            found = self.entry_values[entry, position].astype(np.int64)
        else:
            found = self.event_values[which, position].astype(np.int64)
        return found

    def take(self, start: int, stop: int, first_column: int = 0) -> Slice:
        """Events ``start`` to ``stop`` (by user): each one's user, session, event, time and
        the value of every column from ``first_column`` on (-1 where the event does not carry
        it)."""
        which = self.order[start:stop]
        user = self.user[which].astype(np.int64)
        session = self.session[which].astype(np.int64)
        event = self.event[which].astype(np.int64)
        columns = self.columns
        count = len(columns.scope)
        props = np.empty((which.size, count - first_column), dtype=np.int64)
        entry = self.entry[which].astype(np.int64)
        for column in range(first_column, count):
            props[:, column - first_column] = self.values_of(column, user, session, entry, which)
        props = np.where(columns.present[event][:, first_column:], props, ABSENT)
        return Slice(user, session, event, self.ms[which], props)


@dataclass(frozen=True)
class Slice:
    """Written events' material for their lines (``batchlines``), a slice of a batch's, by user."""

    user: Ints
    session: Ints
    event: Ints
    ms: Ints
    props: Ints

    def __len__(self) -> int:
        return int(self.event.size)


def _store(batch: Batch, part: range | None = None) -> None:
    """The arrays' state of each user (of ``part``, rows of the batch) into its ``UserState``."""
    lives = batch.lives
    for row in range(len(batch.users)) if part is None else part:
        user = batch.users[row]
        user.p = float(lives.p[row])
        user.next_day = int(lives.next_day[row])
        user.skip_days_counter = int(lives.skip[row])
        user.churn_prob_reset_counter = int(lives.resets[row])
        user.churned = bool(lives.churned[row])
        last = int(lives.last_event[row])
        user.last_event_ms = None if last == NO_EVENT else last
        user.once_done = int(batch.once_done[row])
        if batch.pool.shape[0] and batch.devices[int(batch.device[row])]:
            user.secondary = list(batch.devices[int(batch.device[row])])
            user.key_pool = batch.key_pool(row)


def _count_into(counts: dict[int, int], days: Ints) -> None:
    """Add one to ``counts[day]`` for each day of ``days``."""
    for day, number in zip(*np.unique(days, return_counts=True)):
        counts[int(day)] = counts.get(int(day), 0) + int(number)


def _distinct(codes: Ints) -> Ints:
    """``np.unique(codes)`` for non-negative codes, by marking them in a table when the table is
    small beside the codes (no sort, no hash)."""
    if not codes.size:
        return codes
    top = int(codes.max()) + 1
    if int(codes.min()) < 0 or top > 8 * codes.size + 65536:
        return np.unique(codes)
    seen = np.zeros(top, dtype=np.bool_)
    seen[codes] = True
    return np.flatnonzero(seen).astype(codes.dtype, copy=False)


def _distinct_sorted(codes: Ints) -> Ints:
    """``np.unique(codes)`` for codes that are already in order (the values where they change);
    codes out of order are sorted as ``np.unique`` would."""
    if codes.size < 2:
        return codes
    step = np.diff(codes)
    if (step < 0).any():
        return np.unique(codes)
    keep = np.empty(codes.size, dtype=np.bool_)
    keep[0] = True
    np.greater(step, 0, out=keep[1:])
    return codes[keep]


def _cat(parts: list[Any], shape: tuple[int, ...], dtype: type) -> Any:
    """The parts one after another (an empty array of ``shape`` after the first axis if none);
    the list is emptied, so that the parts and the whole are not all held at once."""
    found = np.concatenate(parts) if parts else np.zeros((0, *shape), dtype=dtype)
    parts.clear()
    return found


class BatchWalker:
    """Walks batches of users of one product; holds everything precomputed from the sheet, as
    arrays (the plain model's ``walker.Walker`` holds the same as lists)."""

    def __init__(self, product: Product, params: Params, seed: int, end_ms: int) -> None:
        self.product = product
        self.params = params
        self.seed = seed
        self.end_ms = end_ms
        plan = self.plan = FlowPlan(product, params)
        self.clocks = Clocks(product)
        self.zones = ZoneDays(self.clocks)
        self.sites = Sites(seed)
        self.model = Model(params, plan, self.zones, self.sites)
        self.properties = PropertyPlan(product.events, seed)
        self.hours = hour_ranks()
        self.quantiles = gap_quantiles(params.gap_shape)
        self.scales = gap_scales(params)
        self.spill = DAY_MS + DST_SLACK_MS + params.day_overflow_ms
        flows = len(plan.flows)
        width = plan.max_steps
        self.steps = np.full((flows, width), -1, dtype=np.int64)
        self.afters = np.zeros((flows, width), dtype=np.float64)
        for flow, steps in enumerate(plan.steps):
            self.steps[flow, : len(steps)] = steps
            self.afters[flow, : len(steps)] = plan.afters[flow]
        self.lengths = np.array([len(s) for s in plan.steps], dtype=np.int64)
        self.step_offsets = firsts(self.lengths)  # where each flow's steps start in a flat list
        self.closes = np.array(plan.closes, dtype=np.int64)
        self.once_bits = np.array(plan.once_bit, dtype=np.int64)
        self.final = np.array(plan.final, dtype=np.bool_)
        self.first = np.array(plan.first, dtype=np.int64)
        widest = max((len(b) for b in plan.background_in), default=0)
        self.background = np.zeros((flows, max(1, widest)), dtype=np.int64)
        self.background_size = np.zeros(flows, dtype=np.int64)
        for flow, events in enumerate(plan.background_in):
            self.background[flow, : len(events)] = events
            self.background_size[flow] = len(events)
        self.opening = np.array(plan.background, dtype=np.int64)
        props = self.properties
        self.columns = Columns.of(props, len(product.events.events))
        self.roots = np.array(props.root, dtype=np.int64)
        self.secondary = len(product.events.secondary_keys)

    # -- creating users ---------------------------------------------------------------------------

    def create(self, population: Population, indices: range) -> Batch:
        """New users ``indices`` (``population.Population.create``, for a batch at once)."""
        sites, size = self.sites, len(indices)
        index = np.arange(indices.start, indices.stop, dtype=np.int64)
        words = sites["user.id"].blocks(index)
        ids = uuid_texts(words[0], words[1])
        before = (
            units(words[2]) < population.before_share
            if population.first_run
            else np.zeros(size, dtype=np.bool_)
        )
        columns = []
        for attribute, rank in enumerate(population.lookup_ranks):
            block, lane = divmod(attribute, LANES)
            chosen = rank.indices(sites["user.lookup"].blocks(index, 0, block)[lane]).tolist()
            values = population.lookup_values[attribute]
            columns.append([values[v] for v in chosen])
        lookups = list(zip(*columns)) if columns else [()] * size
        keys = []
        for key in range(self.secondary):
            key_words = sites["user.keys"].blocks(index, 0, key)
            keys.append(uuid_texts(key_words[0], key_words[1]))
        secondary = list(zip(*keys)) if keys else [()] * size
        lives = Lives.empty(size)
        lives.index[:] = index
        lives.zone[:] = [self.clocks.index_of(lookup) for lookup in lookups]
        rows = np.arange(size)
        window_start = population.end_ms - population.window_ms
        inside = rows[~before]
        draw_candidates(
            self.model,
            lives,
            inside,
            np.zeros(inside.size, np.int64),
            window_start,
            population.window_ms,
        )
        if before.any():
            join_before(self.model, lives, rows[before], window_start)
        users = [
            UserState(
                index=int(index[row]),
                user_id=ids[row],
                p=0.0,
                churn_probability=0.0,
                created_ms=0,
                lookup=tuple(lookups[row]),
                secondary=list(secondary[row]),
                before_window=bool(before[row]),
                window_start_ms=window_start if before[row] else None,
                key_pool=[list(secondary[row])] if secondary[row] else [],
            )
            for row in range(size)
        ]
        batch = self._batch(users, lives)
        batch.user_props = self._user_props(users, index)
        return batch

    def resume(self, population: Population, users: list[UserState]) -> Batch:
        """Users of a continued run, from their saved states."""
        size = len(users)
        lives = Lives.empty(size)
        lives.index[:] = [u.index for u in users]
        lives.p[:] = [u.p for u in users]
        lives.churn_probability[:] = [u.churn_probability for u in users]
        lives.created[:] = [u.created_ms for u in users]
        lives.zone[:] = [self.clocks.index_of(u.lookup) for u in users]
        lives.first_day[:] = self.zones.days_of(lives.zone, lives.created)
        lives.next_day[:] = [u.next_day for u in users]
        lives.skip[:] = [u.skip_days_counter for u in users]
        lives.resets[:] = [u.churn_prob_reset_counter for u in users]
        lives.churned[:] = [u.churned for u in users]
        lives.last_event[:] = [
            NO_EVENT if u.last_event_ms is None else u.last_event_ms for u in users
        ]
        batch = self._batch(users, lives, sync=False)
        batch.user_props = self._user_props(users, lives.index)
        batch.once_done[:] = [u.once_done for u in users]
        return batch

    def _user_props(self, users: list[UserState], index: Ints) -> npt.NDArray[np.int64]:
        """Every user's `[user]` properties (``PropertyPlan.draw_user``, for a batch)."""
        props = self.properties
        values = np.full((len(users), props.count), ABSENT, dtype=np.int64)
        for column in props.drawn[USER]:
            block, lane = divmod(column, LANES)
            words = self.sites["user.props"].blocks(index, 0, block)[lane]
            values[:, column] = props.ranked[column].indices(words)
        user_columns = [c for c in range(props.count) if props.scope[c] == USER]
        final = np.full_like(values, ABSENT)
        final[:, user_columns] = values[:, self.roots[user_columns]]
        for user, row in zip(users, final.tolist()):
            user.user_props = tuple(row)
        return final

    def _batch(self, users: list[UserState], lives: Lives, sync: bool = True) -> Batch:
        batch = Batch(
            users,
            lives,
            np.zeros(len(users), dtype=np.int64),
            np.zeros(len(users), dtype=np.int64),
            np.zeros(len(users), dtype=np.int64),
        )
        if sync:
            for row, user in enumerate(users):
                user.churn_probability = float(lives.churn_probability[row])
                user.created_ms = int(lives.created[row])
            _store(batch)
        widest = max([self.params.key_pool_max, *(len(u.key_pool) for u in users)])
        batch.pool = np.full((len(users), widest), -1, dtype=np.int64)
        batch.pool_size = np.zeros(len(users), dtype=np.int64)
        for row, user in enumerate(users):
            batch.device[row] = batch.device_of(tuple(user.secondary))
            pool = user.key_pool or ([list(user.secondary)] if user.secondary else [])
            batch.pool[row, : len(pool)] = [batch.device_of(tuple(keys)) for keys in pool]
            batch.pool_size[row] = len(pool)
        return batch

    # -- walking a batch --------------------------------------------------------------------------

    def walk(
        self,
        batch: Batch,
        stats: WalkStats,
        since_ms: int = WRITE_ALL_MS,
        report: Callable[[int, int], None] | None = None,
        first_part: int = 2_000,
        part_events: int = 450_000,
        max_part: int = 5_000,
    ) -> Iterator[tuple[range, Events]]:
        """Walk every user of ``batch`` to the end time (``walker.Walker.simulate`` for each),
        adding to ``stats``; yields the events written, part by part (rows of the batch, in
        order), by user and time.

        Parts hold about ``part_events`` events (the first ``first_part`` users; the next ones
        sized by the events per user seen), so memory follows events, not users.  Rounds do not
        wait for a part to end: when fewer of its users are still walking than a part holds (and
        fewer than two parts' worth of events wait), the next part's users join the rounds, so
        that rounds stay large (a round's fixed cost is a few hundred numpy calls) while a part's
        last users walk on.  ``report(users, events)`` hears after
        each round how many users are done (their walk ended) and how many events they wrote."""
        lives, users, size = batch.lives, batch.users, len(batch.users)
        for row, user in enumerate(users):
            since = since_ms
            if user.window_start_ms is not None and user.window_start_ms - 1 > since:
                since = user.window_start_ms - 1
            batch.since[row] = since
        joins_here = (lives.last_event == NO_EVENT) & (lives.created > batch.since)
        if since_ms == WRITE_ALL_MS:
            stats.joined_before += sum(u.before_window for u in users)
        parts: list[range] = []
        written: list[Written] = []
        live: list[int] = []  # per part: its users still walking
        part_of_row = np.zeros(size, dtype=np.int64)
        active = np.zeros(0, dtype=np.int64)
        done_users = done_events = yielded = 0
        part_size = first_part
        while True:
            # The next part joins when fewer users than a part holds are still walking, and the
            # events waiting for their parts' last users are fewer than WAITING_PARTS parts' worth.
            waiting = sum(w.count for w in written[yielded:])
            while (
                (not parts or parts[-1].stop < size)
                and active.size < part_size
                and (not active.size or waiting < WAITING_PARTS * part_events)
            ):
                start = parts[-1].stop if parts else 0
                part = range(start, min(size, start + part_size))
                part_of_row[part.start : part.stop] = len(parts)
                rows = np.arange(part.start, part.stop)
                rows = rows[~lives.churned[rows]]
                parts.append(part)
                written.append(Written())
                live.append(rows.size)
                done_users += len(part) - rows.size
                active = np.concatenate((active, rows))
            if not active.size:
                break
            ended = self._round(batch, active, written, part_of_row)
            finished = np.bincount(part_of_row[active[ended]], minlength=len(parts)).tolist()
            live = [left - gone for left, gone in zip(live, finished)]
            active = active[~ended]
            done_users += int(ended.sum())
            done_events = sum(w.count for w in written[yielded:]) + stats.events
            if report is not None:
                report(done_users, done_events)
            while yielded < len(parts) and live[yielded] == 0:
                part = parts[yielded]
                events = self._ordered(written[yielded], batch)
                self._finish(batch, events, stats, joins_here, part)
                self._funnels(written[yielded], stats)
                written[yielded] = Written()
                per_user = max(1.0, len(events) / len(part))
                part_size = max(1, min(max_part, int(part_events / per_user)))
                yielded += 1
                yield part, events

    def _funnels(self, written: Written, stats: WalkStats) -> None:
        """A finished part's funnels: times each step was reached, and users who reached it."""
        if not written.funnels.size:
            return
        n_steps = written.funnels.size
        codes = _distinct(np.concatenate(written.reached))  # (user, step) pairs, once each
        users = np.bincount(codes % n_steps, minlength=n_steps)
        flat, flat_users = written.funnels.tolist(), users.tolist()
        for flow, start in enumerate(self.step_offsets.tolist()):
            funnel, funnel_users = stats.funnels[flow], stats.funnel_users[flow]
            for j in range(len(funnel)):
                funnel[j] += flat[start + j]
                funnel_users[j] += flat_users[start + j]

    def _round(self, batch: Batch, rows: Ints, written: list[Written], part_of_row: Ints) -> Bools:
        """One round: each row's user walks its next active day, then moves on to the next one
        (``lives.after_active_days``); returns, per row, whether its walk ended (churned, the
        end time reached or cut into)."""
        lives = batch.lives
        ended = np.ones(rows.size, dtype=np.bool_)
        days = lives.next_day[rows]
        starts = self.zones.starts(lives.zone[rows], days)
        going = np.nonzero(starts < self.end_ms)[0]
        if not going.size:
            return ended
        walking, days, starts = rows[going], days[going], starts[going]
        for row in walking[starts + self.spill > self.end_ms].tolist():
            batch.snapshots[row] = self._snapshot(batch, row)
        rates = churn_rates(self.params, lives, walking, days)
        exits = exits_of(self.plan, lives.p[walking], rates, batch.once_done[walking])
        over, final, words = self._days(batch, walking, days, starts, rates, written, part_of_row)
        for row in walking[over].tolist():
            batch.users[row].day_start = batch.snapshots.pop(row)
        batch.snapshots.clear()
        goes_on = ~over & ~final
        on = walking[goes_on]
        if on.size:
            after_active_days(self.params, lives, on, days[goes_on], words[:, goes_on],
                              rates[goes_on], exits[goes_on], walked=True)  # fmt: skip
        ended[going[goes_on]] = lives.churned[on]
        return ended

    def _snapshot(self, batch: Batch, row: int) -> DayStart:
        lives = batch.lives
        last = int(lives.last_event[row])
        return DayStart(
            float(lives.p[row]),
            int(lives.skip[row]),
            int(lives.resets[row]),
            int(batch.once_done[row]),
            list(batch.devices[int(batch.device[row])]),
            batch.key_pool(row),
            None if last == NO_EVENT else last,
        )

    # -- one round: every row's active day --------------------------------------------------------

    def _days(
        self,
        batch: Batch,
        rows: Ints,
        days: Ints,
        starts: Ints,
        rates: Floats,
        written: list[Written],
        part_of_row: Ints,
    ) -> tuple[Bools, Bools, Words]:
        """Walk one active day of each row's user (``walker.Walker._day``); returns, per row,
        whether the end time cut it (RunOver), whether a ``final`` flow ended the user's life,
        and the words of its ``day`` block (for ``lives.after_active_days``)."""
        params, plan, sites, lives = self.params, self.plan, self.sites, batch.lives
        n = rows.size
        user = lives.index[rows]
        p = lives.p[rows]
        level = p_levels(p)
        weekend = weekend_of(days)
        next_start = self.zones.starts(lives.zone[rows], days + 1)
        hard = next_start + params.day_overflow_ms
        start_chance = plan.final_start(rates)
        last_before = lives.last_event[rows]
        once_before = batch.once_done[rows]

        # 1. sessions: how many, when (drawn, sorted; a new user's first at its arrival).
        keep = params.sessions_keep_going(p, False)
        keep = np.where(weekend, keep * params.weekend_session_factor, keep)
        day_words, count_words = sites.draw(
            sites.request("day", user, days, 0), sites.request("day.sessions", user, days)
        )
        drawn = 1 + counts(count_words[0], keep, MAX_SESSIONS_PER_DAY - 1)
        srow = np.repeat(np.arange(n), drawn)
        number = positions(srow, n)
        words = sites["session.start"].blocks(user[srow], days[srow], number)
        hour = np.where(
            weekend[srow], self.hours[1].indices(words[0]), self.hours[0].indices(words[0])
        ).astype(np.int64)
        at = starts[srow] + hour * HOUR_MS + integers(words[1], 0, HOUR_MS - 1)
        order = np.lexsort((hour, at, srow))
        srow, at, hour = srow[order], at[order], hour[order]
        created = lives.created[rows]
        arriving = created >= starts
        if arriving.any():
            place = positions(srow, n)
            stays = ~arriving[srow] | ((place > 0) & (at > created[srow]))
            arrivals = np.nonzero(arriving)[0]
            srow = np.concatenate((srow[stays], arrivals))
            at = np.concatenate((at[stays], created[arrivals]))
            hour = np.concatenate((hour[stays], (created - starts)[arrivals] // HOUR_MS))
            order = np.lexsort((hour, at, srow))
            srow, at, hour = srow[order], at[order], hour[order]
        sessions = srow.size
        k = positions(srow, n)
        per_row = np.bincount(srow, minlength=n)
        first_session = firsts(per_row)
        (words,) = sites.draw(sites.request("session", user[srow], days[srow], k))
        push = params.session_idle_ms + 1 + integers(words[0], 0, params.session_idle_ms - 1)
        going = params.flows_keep_going(p[srow])
        entries = 1 + counts(words[1], going, MAX_FLOWS_PER_SESSION - 1)
        session_word, roll = words[2], units(words[3])
        pending = (k == 0) & (last_before[srow] == NO_EVENT) & (self.first.size > 0)
        entries += np.where(pending, max(0, self.first.size - 1), 0)
        scale = self.scales[weekend[srow].astype(np.int64), level[srow], hour % 24]

        # 2. flow entries: the flow of each, chosen again after a `once` flow completes.
        esession = np.repeat(np.arange(sessions), entries)
        e = positions(esession, sessions)
        erow = srow[esession]
        ek = k[esession]
        fixed = pending[esession] & (e < self.first.size)
        flow = np.full(esession.size, -1, dtype=np.int64)
        flow[fixed] = self.first[e[fixed]]
        chosen = np.nonzero(~fixed)[0]
        entry_words = sites["entry"].blocks(
            user[erow[chosen]], days[erow[chosen]], ek[chosen], e[chosen]
        )[0]
        state = once_before[erow]
        flow[chosen] = self._choose(state[chosen], entry_words)
        width = max(1, plan.max_steps)
        ok = np.zeros((esession.size, width), dtype=np.bool_)
        gap_word = np.zeros((esession.size, width), dtype=np.uint64)
        burst = np.zeros((esession.size, width), dtype=np.int64)
        done = np.zeros(esession.size, dtype=np.int64)
        walk = np.nonzero(flow >= 0)[0]
        context = (user, days, level, start_chance, erow, ek, e)
        self._steps(context, flow, walk, ok, gap_word, burst, done)
        entry_first = firsts(np.bincount(erow, minlength=n))
        if self.once_bits.any():
            for _ in range(len(plan.flows) + 1):
                completed = np.where(
                    done == self.closes[np.maximum(flow, 0)], self.once_bits[np.maximum(flow, 0)], 0
                )
                completed[flow < 0] = 0
                now = once_before[erow].copy()
                for bit in np.unique(completed[completed > 0]).tolist():
                    has = (completed & bit) > 0
                    now |= np.where(
                        exclusive_within(has.astype(np.int64), erow, entry_first) > 0, bit, 0
                    )
                changed = np.nonzero((now != state) & ~fixed)[0]
                if not changed.size:
                    break
                state[changed] = now[changed]
                where = np.searchsorted(chosen, changed)
                again = self._choose(now[changed], entry_words[where])
                moved = changed[again != flow[changed]]
                flow[changed] = again
                ok[moved], gap_word[moved], burst[moved], done[moved] = False, 0, 0, 0
                self._steps(context, flow, moved[flow[moved] >= 0], ok, gap_word, burst, done)

        # 4. events in order: per session, its entries' steps and bursts, or an opening event.
        emitted = ok.astype(np.int64) + burst
        per_entry = emitted.sum(axis=1)
        per_session = np.bincount(esession, weights=per_entry, minlength=sessions).astype(np.int64)
        opens = (per_session == 0) & (self.opening.size > 0)
        opens_before = firsts(opens.astype(np.int64))
        slot_first = (
            firsts(emitted.ravel()).reshape(emitted.shape) + opens_before[esession][:, None]
        )
        session_first = firsts(per_session + opens)
        total = int((per_session + opens).sum())
        event = np.zeros(total, dtype=np.int64)
        gap = np.zeros(total, dtype=np.int64)
        esess = np.zeros(total, dtype=np.int64)
        eentry = np.full(total, -1, dtype=np.int64)
        ej = np.zeros(total, dtype=np.int64)
        ei = np.zeros(total, dtype=np.int64)
        efunnel = np.full(total, -1, dtype=np.int64)
        low, cap = params.gap_min_ms, params.gap_max_ms - params.gap_min_ms
        scale_of_entry = scale[esession]
        # the steps' own events
        ent, j = np.nonzero(ok)
        where = slot_first[ent, j]
        event[where] = self.steps[flow[ent], j]
        gap[where] = low + np.minimum(
            cap, self.quantiles.scaled_array(gap_word[ent, j], scale_of_entry[ent])
        )
        esess[where], eentry[where], ej[where] = esession[ent], ent, j
        efunnel[where] = flow[ent]
        # the bursts' events
        ent, j = np.nonzero(burst)
        size = burst[ent, j]
        owner = np.repeat(np.arange(ent.size), size)
        i = positions(owner, ent.size)
        ent, j = ent[owner], j[owner]
        where = slot_first[ent, j] + ok[ent, j] + i
        bw = sites["burst"].blocks(user[erow[ent]], days[erow[ent]], ek[ent], e[ent], j, i)
        bflow = flow[ent]
        pick = np.zeros(ent.size, dtype=np.int64)
        for width_of in np.unique(self.background_size[bflow]).tolist():
            here = self.background_size[bflow] == width_of
            pick[here] = Ranked.by_rank(width_of).indices(bw[0][here])
        event[where] = self.background[bflow, pick]
        gap[where] = low + np.minimum(cap, self.quantiles.scaled_array(bw[1], scale_of_entry[ent]))
        esess[where], eentry[where], ej[where], ei[where] = esession[ent], ent, j, 1 + i
        # the events that open an empty session
        quiet = np.nonzero(opens)[0]
        if quiet.size:  # (their event is drawn once they are known to be written)
            esess[session_first[quiet]] = quiet

        # 5. session starts: drawn, or pushed after the last event; then every event's time.
        before = np.cumsum(gap) - gap
        offset = before - before[np.minimum(session_first[esess], max(total - 1, 0))]
        has = (per_session + opens) > 0
        last_offset = np.zeros(sessions, dtype=np.int64)
        ends_at = session_first + per_session + opens - 1
        last_offset[has] = offset[ends_at[has]]
        begin = np.zeros(sessions, dtype=np.int64)
        previous = last_before.copy()
        for kk in range(int(per_row.max()) if n else 0):
            r = np.nonzero(per_row > kk)[0]
            s = first_session[r] + kk
            prior = previous[r]
            known = prior != NO_EVENT
            t = at[s].copy()
            t[known] = np.maximum(t[known], prior[known] + push[s][known])
            begin[s] = t
            previous[r] = np.where(has[s], t + last_offset[s], prior)
        ms = begin[esess] + offset

        # 6. cuts: the first session or event past a limit, or after a completed `final` flow.
        erow_of = srow[esess]
        cut = np.full(n, NEVER, dtype=np.int64)
        run_cut = np.full(n, NEVER, dtype=np.int64)
        final_cut = np.full(n, NEVER, dtype=np.int64)
        key = 3 * session_first
        over = begin >= self.end_ms
        bad = over | (begin >= next_start[srow])
        np.minimum.at(cut, srow[bad], key[bad])
        np.minimum.at(run_cut, srow[over], key[over])
        event_key = 3 * np.arange(total, dtype=np.int64) + 1
        over = ms >= self.end_ms
        bad = over | (ms >= hard[erow_of])
        np.minimum.at(cut, erow_of[bad], event_key[bad])
        np.minimum.at(run_cut, erow_of[over], event_key[over])
        finished = (efunnel >= 0) & self.final[np.maximum(efunnel, 0)]
        finished &= ej == self.lengths[np.maximum(efunnel, 0)] - 1
        np.minimum.at(final_cut, erow_of[finished], event_key[finished] + 1)
        cut = np.minimum(cut, final_cut)
        run_over = (run_cut == cut) & (cut < NEVER)
        ended = (final_cut == cut) & (cut < NEVER)
        kept = event_key < cut[erow_of]
        begun = key < cut[srow]

        # 7. state: the last event, `once` flows completed, devices; then what is written.
        kept_rows = erow_of[kept]
        newest = last_before.copy()
        np.maximum.at(newest, kept_rows, ms[kept])
        lives.last_event[rows] = newest
        closing = kept & (efunnel >= 0) & (ej == self.lengths[np.maximum(efunnel, 0)] - 1)
        bits = self.once_bits[np.maximum(efunnel, 0)] * closing
        done_once = once_before.copy()
        np.bitwise_or.at(done_once, erow_of, bits)
        batch.once_done[rows] = done_once
        lives.churned[rows] |= ended
        found = _Round(rows, user, days, srow, k, e, erow_of, esess, eentry, ej, ei, event, ms)
        renewing = np.zeros(0, dtype=np.int64)
        if self.secondary:
            renewing = np.nonzero(begun & (roll > params.secondary_key_renew_above))[0]
        since = batch.since[rows][erow_of]
        out = np.nonzero(kept & (ms > since))[0]
        # The late draws, in one call: devices of the sessions whose roll came up, the event of
        # each empty session written, and the property values of what is written.
        devices = self._device_requests(found, renewing)
        groups = _Groups.of(found, out)
        opening = out[eentry[out] < 0]
        session = esess[opening]
        requests = [
            *devices,
            sites.request("session.open", user[srow[session]], days[srow[session]], k[session]),
            *self._prop_requests(found, out, groups),
        ]
        late = sites.draw(*requests)
        if opening.size:
            assert plan.background_rank is not None
            chosen = plan.background_rank.indices(late[len(devices)][0])
            found.event[opening] = self.opening[chosen]
        device = self._devices(batch, found, renewing, late[: len(devices)])
        if out.size:
            self._write(written, part_of_row, found, out, groups, late[len(devices) + 1 :],
                        session_word, begin, device, efunnel)  # fmt: skip
        return run_over, ended, day_words

    def _choose(self, state: Ints, words: Words) -> Ints:
        """The flow of each entry: by rank among the flows open to its state (-1: none)."""
        flow = np.full(state.size, -1, dtype=np.int64)
        for value in np.unique(state).tolist():
            open_flows = self.plan.choices(value)
            if not open_flows:
                continue
            here = state == value
            rank = Ranked.by_rank(len(open_flows))
            flow[here] = np.array(open_flows, dtype=np.int64)[rank.indices(words[here])]
        return flow

    def _steps(
        self,
        context: tuple[Ints, Ints, Ints, Floats, Ints, Ints, Ints],
        flow: Ints,
        walk: Ints,
        ok: npt.NDArray[np.bool_],
        gap_word: npt.NDArray[np.uint64],
        burst: Ints,
        done: Ints,
    ) -> None:
        """Walk the steps of the entries ``walk``: every step's block in one call (a step the
        walk does not reach is drawn and not used), then success, the gap word and the burst
        after each step reached (its size, 0 for none); a walk stops at its first failure."""
        if not walk.size:
            return
        user, days, level, start_chance, erow, ek, e = context
        params = self.params
        width = ok.shape[1]
        length = self.lengths[flow[walk]]
        slot_entry = np.repeat(walk, length)
        slot_j = positions(np.repeat(np.arange(walk.size), length), walk.size)
        row = erow[slot_entry]
        (words,) = self.sites.draw(
            self.sites.request("step", user[row], days[row], ek[slot_entry], e[slot_entry], slot_j)
        )
        f = flow[slot_entry]
        chance = self.plan.levels.chances[level[row], f, slot_j]
        opening = (slot_j == 0) & self.final[f]
        chance[opening] = start_chance[row[opening]]
        success = np.zeros((walk.size, width), dtype=np.bool_)
        place = np.repeat(np.arange(walk.size), length)
        success[place, slot_j] = units(words[0]) < chance
        reached = np.ones((walk.size, width), dtype=np.bool_)
        reached[:, 1:] = np.logical_and.accumulate(success[:, :-1], axis=1)
        reached &= np.arange(width) < length[:, None]
        walked = reached[place, slot_j]
        succeeded = success[place, slot_j] & walked
        roll = units(words[2])
        bursts = np.where(
            succeeded, roll < self.afters[f, slot_j], roll < params.background_after_failure
        )
        bursts &= walked & (self.background_size[f] > 0)
        ok[slot_entry, slot_j] = succeeded
        gap_word[slot_entry, slot_j] = words[1]
        burst[slot_entry, slot_j] = np.where(
            bursts, 1 + integers(words[3], 0, params.background_burst_max - 1), 0
        )
        done[walk] = (success & reached).sum(axis=1)

    def _device_requests(self, found: _Round, renewing: Ints) -> list[Request]:
        """The blocks of the sessions whose device roll came up: which device, new keys."""
        if not renewing.size:
            return []
        session = found.srow[renewing]
        address = (found.user[session], found.days[session], found.k[renewing])
        return [
            self.sites.request("session.device", *address),
            *(self.sites.request("device.key", *address, key) for key in range(self.secondary)),
        ]

    def _devices(self, batch: Batch, found: _Round, renewing: Ints, words: list[Words]) -> Ints:
        """Each session's device: the device rolls of the sessions that began, in order (a new
        device or another of the pool, ``walker.Walker._renew_keys``); returns the device of
        every session.  A user's rolls of one day are taken one after another (``order``); a
        user rolls rarely more than once a day."""
        rows, srow = found.rows, found.srow
        device = batch.device[rows][srow]
        if not renewing.size:
            return device
        params = self.params
        share = units(words[0][0])
        changed = np.full(srow.size, -1, dtype=np.int64)
        users = rows[srow[renewing]]
        order = positions(srow[renewing], rows.size)
        for turn in range(int(order.max()) + 1):
            now = np.nonzero(order == turn)[0]
            user = users[now]
            size = batch.pool_size[user]
            new = (size < 2) | (
                (size < params.key_pool_max) & (share[now] < params.key_pool_new_share / size)
            )
            chosen = np.empty(now.size, dtype=np.int64)
            if new.any():
                fresh = now[new]
                keys = [uuid_texts(w[0][fresh], w[1][fresh]) for w in words[1:]]
                numbers = [batch.device_of(tuple(k)) for k in zip(*keys)]
                chosen[new] = numbers
                grown = user[new]
                batch.pool[grown, batch.pool_size[grown]] = numbers
                batch.pool_size[grown] += 1
            old = ~new
            if old.any():
                owner = user[old]
                pool = batch.pool[owner]
                others = (pool != batch.device[owner][:, None]) & (
                    np.arange(pool.shape[1]) < batch.pool_size[owner][:, None]
                )
                pick = integers(words[0][1][now[old]], 0, others.sum(axis=1) - 1)
                place = (np.cumsum(others, axis=1) == (pick + 1)[:, None]) & others
                chosen[old] = pool[np.arange(owner.size), place.argmax(axis=1)]
            batch.device[user] = chosen
            changed[renewing[now]] = chosen
        # Every later session of the row keeps the device of the latest roll before it.
        latest = np.maximum.accumulate(np.where(changed >= 0, np.arange(srow.size), -1))
        same_row = (latest >= 0) & (srow[np.maximum(latest, 0)] == srow)
        result: Ints = np.where(same_row, changed[np.maximum(latest, 0)], device)
        return result

    def _prop_requests(self, found: _Round, out: Ints, groups: _Groups) -> list[Request]:
        """The property blocks the written events ``out`` need, scope by scope (session, flow
        entry, event), column block by column block; a session's and a flow entry's blocks are
        drawn once, whatever the number of their events."""
        props = self.properties
        wanted: list[Request] = []
        if not out.size:
            return wanted
        for scope, site in ((SESSION, "prop.session"), (FLOW, "prop.flow"), (EVENT, "prop.event")):
            blocks = sorted({column // LANES for column in props.drawn[scope]})
            if not blocks:
                continue
            if scope == SESSION:
                sample = out[groups.session_first]
                where: tuple[Ints, ...] = ()
            elif scope == FLOW:
                sample = out[groups.entry_first]
                entry = found.eentry[sample]
                where = (np.where(entry >= 0, found.e[np.maximum(entry, 0)], OPEN),)
            else:
                sample = out
                entry = found.eentry[out]
                entry_index = np.where(entry >= 0, found.e[np.maximum(entry, 0)], OPEN)
                where = (entry_index, found.ej[out] << 8 | found.ei[out])
            session = found.esess[sample]
            row = found.srow[session]
            address = (found.user[row], found.days[row], found.k[session])
            for block in blocks:
                wanted.append(self.sites.request(site, *address, *where, block))
        return wanted

    def _scope_values(self, words: list[Words]) -> dict[str, Values]:
        """Each scope's values, a column per drawing column (in ``PropertyPlan.drawn`` order), from
        the blocks :meth:`_prop_requests` asked for, in its order."""
        props = self.properties
        found: dict[str, Values] = {}
        taken = 0
        for scope in (SESSION, FLOW, EVENT):
            drawn = props.drawn[scope]
            blocks = sorted({column // LANES for column in drawn})
            if not blocks:
                continue
            mine = dict(zip(blocks, words[taken : taken + len(blocks)]))
            taken += len(blocks)
            size = mine[blocks[0]].shape[1]
            values = np.empty((size, len(drawn)), dtype=np.int32)
            for position, column in enumerate(drawn):
                block, lane = divmod(column, LANES)
                values[:, position] = props.ranked[column].indices(mine[block][lane])
            found[scope] = values
        return found

    def _keyed(self, batch: Batch) -> Ints:
        """The key-bound columns' values of every device of the batch (a row per device),
        computed once per device (``PropertyPlan.key_value``)."""
        props = self.properties
        table = batch.keyed
        if table.shape[0] < len(batch.devices):
            devices = batch.devices[table.shape[0] :]
            more = np.empty((len(devices), len(props.drawn[KEY])), dtype=np.int64)
            for position, column in enumerate(props.drawn[KEY]):
                key = props.key_of[column]
                more[:, position] = props.key_values(column, [keys[key] for keys in devices])
            table = batch.keyed = np.concatenate((table.reshape(-1, more.shape[1]), more))
        return table

    def _write(
        self,
        written: list[Written],
        part_of_row: Ints,
        found: _Round,
        out: Ints,
        groups: _Groups,
        words: list[Words],
        session_word: Words,
        begin: Ints,
        device: Ints,
        efunnel: Ints,
    ) -> None:
        """Keep the written events ``out`` (in order of rows), their sessions and flow entries,
        and the values of each scope, in their parts' records (a part's rows are consecutive)."""
        values = self._scope_values(words)
        empty = np.zeros((0, 0), dtype=np.int32)
        sessions = found.esess[out[groups.session_first]]
        session_values = values.get(SESSION, empty.reshape(sessions.size, 0))
        entry_values = values.get(FLOW, empty.reshape(groups.entry_first.size, 0))
        event_values = values.get(EVENT, empty.reshape(out.size, 0))
        rows = found.rows[found.erow[out]]
        part = part_of_row[rows]
        edges = np.flatnonzero(np.diff(part)) + 1
        for low, high in zip([0, *edges.tolist()], [*edges.tolist(), out.size]):
            mine = written[int(part[low])]
            s0, s1 = int(groups.session_of[low]), int(groups.session_of[high - 1]) + 1
            g0, g1 = int(groups.entry_of[low]), int(groups.entry_of[high - 1]) + 1
            these = sessions[s0:s1]
            mine.session_id.append(session_word[these])
            mine.session_start.append(begin[these])
            mine.session_device.append(device[these])
            mine.session_user.append(found.rows[found.srow[these]])
            mine.session_values.append(session_values[s0:s1])
            mine.entry_values.append(entry_values[g0:g1])
            mine.event_values.append(event_values[low:high])
            mine.user.append(rows[low:high].astype(np.int32))
            mine.session.append((mine.sessions - s0 + groups.session_of[low:high]).astype(np.int32))
            mine.entry.append((mine.entries - g0 + groups.entry_of[low:high]).astype(np.int32))
            mine.event.append(found.event[out[low:high]].astype(np.int32))
            mine.ms.append(found.ms[out[low:high]])
            mine.sessions += s1 - s0
            mine.entries += g1 - g0
            mine.count += high - low
            is_step = efunnel[out[low:high]] >= 0
            steps = out[low:high][is_step]
            n_steps = int(self.lengths.sum())
            if mine.funnels.size == 0:
                mine.funnels = np.zeros(n_steps, dtype=np.int64)
            numbers = self.step_offsets[efunnel[steps]] + found.ej[steps]
            mine.funnels += np.bincount(numbers, minlength=mine.funnels.size)
            mine.reached.append(rows[low:high][is_step].astype(np.int64) * n_steps + numbers)

    def _ordered(self, written: Written, batch: Batch) -> Events:
        """The batch's events, with the order that sorts them by user (stable: each user's stay
        in time order, as the rounds wrote them)."""
        props = self.properties
        user = _cat(written.user, (), np.int32)
        drawn = {scope: len(props.drawn[scope]) for scope in (SESSION, FLOW, EVENT, KEY)}
        return Events(
            order=np.argsort(user, kind="stable"),
            user=user,
            session=_cat(written.session, (), np.int32),
            entry=_cat(written.entry, (), np.int32),
            event=_cat(written.event, (), np.int32),
            ms=_cat(written.ms, (), np.int64),
            event_values=_cat(written.event_values, (drawn[EVENT],), np.int32),
            session_id=_cat(written.session_id, (), np.uint64),
            session_start=_cat(written.session_start, (), np.int64),
            session_device=_cat(written.session_device, (), np.int64),
            session_user=_cat(written.session_user, (), np.int64),
            session_values=_cat(written.session_values, (drawn[SESSION],), np.int32),
            entry_values=_cat(written.entry_values, (drawn[FLOW],), np.int32),
            devices=batch.devices,
            device_values=self._keyed(batch) if drawn[KEY] else np.zeros((0, 0), np.int64),
            user_props=batch.user_props,
            columns=self.columns,
        )

    def _finish(
        self, batch: Batch, events: Events, stats: WalkStats, joins_here: Bools, part: range
    ) -> None:
        """The users' states back into their ``UserState`` objects; the part's statistics."""
        _store(batch, part)
        stats.events += len(events)
        by_event = np.bincount(events.event, minlength=len(stats.by_event))
        stats.by_event = [a + b for a, b in zip(stats.by_event, by_event.tolist())]
        stats.users += len(part)
        stats.churned += int(batch.lives.churned[part.start : part.stop].sum())
        if not len(events):
            return
        # (user, UTC day) of every written event, once each, by user then day: WalkStats.add_user
        # for the part's users at once.
        day = events.ms // DAY_MS
        first_day = int(day.min())
        span = int(day.max()) - first_day + 1
        # In the order that sorts the events by user (each user's in time order) these codes
        # come sorted, so that their distinct values are where they change.
        pairs = _distinct_sorted(
            (events.user.astype(np.int64) * span + (day - first_day))[events.order]
        )
        owner, seen = pairs // span, pairs % span + first_day
        new_user = np.ones(pairs.size, dtype=np.bool_)
        new_user[1:] = owner[1:] != owner[:-1]
        stats.users_with_events += int(new_user.sum())
        _count_into(stats.daily_active, seen)
        week = seen - (seen + 3) % 7 - (first_day - 6)  # Monday's day, from a week before
        _count_into(
            stats.weekly_active,
            _distinct_sorted(owner * (span + 6) + week) % (span + 6) + first_day - 6,
        )
        signup_of = seen[new_user]
        joined = joins_here[owner[new_user]]
        for signup, users in zip(*np.unique(signup_of[joined], return_counts=True)):
            counts = stats.retention.setdefault(int(signup), [0] * (1 + len(RETENTION_DAYS)))
            counts[0] += int(users)
        joiners, signups = owner[new_user][joined], signup_of[joined]
        for position, n in enumerate(RETENTION_DAYS, start=1):
            later = signups + n - first_day
            wanted = joiners * span + later
            back = np.searchsorted(pairs, wanted)
            active = (later < span) & (pairs[np.minimum(back, pairs.size - 1)] == wanted)
            for signup, users in zip(*np.unique(signups[active], return_counts=True)):
                stats.retention[int(signup)][position] += int(users)
