"""Who each primary shard key is: a run's users, created one at a time (SPEC section 2,
"Population"), the plain model's way; the batch engine creates a batch at once (``lives``) with
the same draws.

A user's draws depend on the seed and its index only (``sites``), so creating user 70,000 does
not require creating the 69,999 before it, and any chunk of users can be generated anywhere.
"""

from __future__ import annotations

from .clock import DAY_MS, HOUR_MS
from .distributions import Ranked, integer
from .draws import unit
from .funnels import FlowPlan, final_exit, p_level
from .lives import LIVED_DAY_HOUR, MAX_CANDIDATES, steady_share
from .params import Params
from .properties import ABSENT, PropertyPlan
from .sites import Sites, uuid_text
from .spec import USER, Product
from .users import Clocks, Life, UserState


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
        self.lookup_values = [a.values for a in product.lookup.attributes]
        self.lookup_ranks = [Ranked.by_rank(len(a.values)) for a in product.lookup.attributes]
        self.secondary_count = len(product.events.secondary_keys)
        self.clocks = Clocks(product)
        self.life = Life(params)
        self.plan = FlowPlan(product, params)
        self.sites = Sites(seed)
        self.before_share = (
            steady_share(product, params, seed, end_ms, self.window_ms) if self.first_run else 0.0
        )
        self.properties = PropertyPlan(product.events, seed)

    def user_props(self, index: int) -> tuple[int, ...]:
        """User ``index``'s `[user]` properties: drawn from their own site, so a continued run
        finds them again without saving them."""
        if not self.properties.drawn[USER]:
            return (ABSENT,) * self.properties.count
        return self.properties.draw_user(self.sites.columns("user.props", index, 0))

    def create(self, index: int) -> UserState:
        """User ``index``: its id, lookup values and first secondary keys, whether it joined
        before the window (first runs), then p, the creation time and the churn probability of its
        first candidate; a user who joined before the window lives its days up to the window's
        start, and is drawn again (the next candidate) while it churned before the window opened."""
        sites = self.sites
        words = sites["user.id"].block(index)
        user_id = uuid_text(words[0], words[1])
        before = self.first_run and unit(words[2]) < self.before_share
        lookup = tuple(
            values[rank.index(sites.column_word("user.lookup", a, index, 0))]
            for a, (values, rank) in enumerate(zip(self.lookup_values, self.lookup_ranks))
        )
        secondary = []
        for key in range(self.secondary_count):
            high, low, _, _ = sites["user.keys"].block(index, 0, key)
            secondary.append(uuid_text(high, low))
        user = self._candidate(index, user_id, lookup, secondary, before)
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
    ) -> UserState:
        """A user who joins in the window, or one who joined before it and is still there when it
        opens (candidate after candidate, while the one drawn churned before)."""
        window_start = self.end_ms - self.window_ms
        draws = self.sites["user.candidate"]
        lo = self.params.churn_probability_min
        for candidate in range(MAX_CANDIDATES if before else 1):
            words = draws.block(index, 0, candidate)
            if before:
                span = self.params.joined_before_days * DAY_MS
                created_ms = window_start - 1 - integer(words[1], 0, span - 1)
            else:
                created_ms = self.end_ms - 1 - integer(words[1], 0, self.window_ms - 1)
            user = UserState(
                index=index,
                user_id=user_id,
                p=unit(words[0]),
                churn_probability=lo + (1.0 - lo) * unit(words[2]),
                created_ms=created_ms,
                lookup=lookup,
                secondary=list(secondary),
            )
            user.next_day = self.clocks.of(user).day_of(created_ms)
            if not before:
                return user
            user.before_window = True
            user.window_start_ms = window_start
            self._live_until(user, window_start, 1 + candidate)
            if not user.churned:
                return user
        return user

    def _live_until(
        self, user: UserState, until_ms: int, life: int, days: list[int] | None = None
    ) -> None:
        """Live the user's days that end before ``until_ms`` with the day-level model alone: no
        events are written for them, so no sessions are drawn (its `once` flows stay open).  The
        days' draws are those of the candidate's own ``life`` (``sites``: ``day``); ``days``, if
        given, gets the start of every day lived."""
        zone = self.clocks.of(user)
        first_day = zone.day_of(user.created_ms)
        tables = self.plan.levels
        draws = self.sites["day"]
        while not user.churned:
            day = user.next_day
            start = zone.day_start(day)
            if zone.day_start(day + 1) > until_ms:
                return
            rate = self.life.rate(user, day, first_day)
            level = p_level(user.p)
            exits = final_exit(
                float(tables.after_first[level, 0]),  # lived without flows: `once` flows open
                float(tables.entries[level]),
                self.plan.final_start(rate),
            )
            user.last_event_ms = max(user.created_ms, start + LIVED_DAY_HOUR * HOUR_MS)
            if days is not None:
                days.append(start)
            words = draws.block(user.index, day, life)
            self.life.after_active_day(user, day, first_day, words, exits, False, rate)
