"""The user model: who each primary shard key is, and the state that carries from day to day.

A user is created from its own stream (seed, user index), so creating user 70,000 does not require
creating the 69,999 before it; that is what lets any chunk of users be generated anywhere.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from .clock import iso, parse_iso
from .params import DAY_MS, Params
from .ranks import RankedChoice
from .spec import Product
from .streams import USER_STREAM, stream


def uuid4_text(rng: random.Random) -> str:
    """A version-4 UUID string drawn from ``rng`` (never from the operating system)."""
    bits = rng.getrandbits(128)
    bits = (bits & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
    bits = (bits & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


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

    def to_json(
        self, lookup_names: tuple[str, ...], secondary_names: tuple[str, ...]
    ) -> dict[str, Any]:
        """The user's entry in ``config/user_id_list.json``."""
        entry: dict[str, Any] = {
            "index": self.index,
            "id": self.user_id,
            "user_probability": self.p,
            "churn_probability": self.churn_probability,
            "churned": self.churned,
            "skip_days_counter": self.skip_days_counter,
            "churn_prob_reset_counter": self.churn_prob_reset_counter,
            "created_time": iso(self.created_ms),
            "last_event_time": None if self.last_event_ms is None else iso(self.last_event_ms),
            "lookup": dict(zip(lookup_names, self.lookup)),
            "secondary_keys": dict(zip(secondary_names, self.secondary)),
            "flow_position": self.flow_position,
            "next_day": iso(self.next_day * DAY_MS)[:10],
        }
        if self.day_start is not None:
            start = self.day_start
            entry["resume"] = {
                "user_probability": start.p,
                "skip_days_counter": start.skip_days_counter,
                "churn_prob_reset_counter": start.churn_prob_reset_counter,
                "flow_position": start.flow_position,
                "secondary_keys": dict(zip(secondary_names, start.secondary)),
                "last_event_time": None
                if start.last_event_ms is None
                else iso(start.last_event_ms),
            }
        return entry

    @classmethod
    def from_json(
        cls, entry: dict[str, Any], lookup_names: tuple[str, ...], secondary_names: tuple[str, ...]
    ) -> UserState:
        """A user as :meth:`to_json` left it, ready to be walked on from where the run ended.

        A user whose last day the end time cut comes back as it was at the start of that day
        (``resume``): the walker replays the day and keeps only what comes after the old end.
        Raises ``KeyError`` or ``ValueError`` for an entry that is not one of ours.
        """
        state = entry.get("resume") or entry
        last = state["last_event_time"]
        lookup = entry["lookup"]
        secondary = state["secondary_keys"]
        return cls(
            index=int(entry["index"]),
            user_id=str(entry["id"]),
            p=float(state["user_probability"]),
            churn_probability=float(entry["churn_probability"]),
            created_ms=parse_iso(entry["created_time"]),
            lookup=tuple(str(lookup[name]) for name in lookup_names),
            secondary=[str(secondary[name]) for name in secondary_names],
            churned=bool(entry["churned"]),
            skip_days_counter=int(state["skip_days_counter"]),
            churn_prob_reset_counter=int(state["churn_prob_reset_counter"]),
            flow_position=int(state["flow_position"]),
            next_day=parse_iso(entry["next_day"]) // DAY_MS,
            last_event_ms=None if last is None else parse_iso(last),
        )


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
