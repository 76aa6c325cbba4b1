"""The user model: who each primary shard key is, and the state that carries from day to day.

A user is created from its own stream (seed, user index), so creating user 70,000 does not require
creating the 69,999 before it; that is what lets any chunk of users be generated anywhere.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from .clock import DAY_MS
from .params import Params
from .ranks import RankedChoice
from .spec import Product
from .streams import USER_STREAM, stream


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
    flow_position: int
    secondary: list[str]
    last_event_ms: int | None


@dataclass(slots=True)
class UserState:
    """One primary shard key and the state the walker updates (SPEC section 2)."""

    index: int
    user_id: str
    p: float  # user_probability: how much this user likes the product, in [0, 1)
    churn_probability: float
    created_ms: int
    lookup: tuple[str, ...]
    secondary: list[str]
    churned: bool = False
    skip_days_counter: int = 0
    churn_prob_reset_counter: int = 0
    flow_position: int = 0  # the next flow to enter, in file order, wrapping around
    next_day: int = 0  # the next epoch day to simulate
    last_event_ms: int | None = None  # the last event the user performed (emitted or not)
    day_start: DayStart | None = field(default=None)


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
        """Users are created uniformly over the ``window_ms`` before ``end_ms`` (by default the
        backfill window; a continued run creates its new users over the time that passed)."""
        self.seed = seed
        self.params = params
        self.end_ms = end_ms
        self.window_ms = params.backfill_days * DAY_MS if window_ms is None else window_ms
        self.lookup_choices = [RankedChoice(a.values) for a in product.lookup.attributes]
        self.secondary_count = len(product.events.secondary_keys)

    def create(self, index: int) -> UserState:
        """User ``index``: a fresh id, p uniform in [0, 1), a creation time in the window."""
        rng = stream(self.seed, USER_STREAM, index)
        user_id = uuid4_text(rng)
        p = rng.random()
        created_ms = self.end_ms - 1 - int(rng.random() * self.window_ms)
        lo = self.params.churn_probability_min
        churn_probability = lo + (1.0 - lo) * rng.random()
        lookup = tuple(choice.draw(rng) for choice in self.lookup_choices)
        secondary = [uuid4_text(rng) for _ in range(self.secondary_count)]
        return UserState(
            index=index,
            user_id=user_id,
            p=p,
            churn_probability=churn_probability,
            created_ms=created_ms,
            lookup=lookup,
            secondary=secondary,
            next_day=created_ms // DAY_MS,
        )
