"""Every number of the simulation, named, in one place (README "Simulation knobs" lists them).

The defaults were calibrated so that, over the default 90-day window, about 70% of users churn
(SPEC section 2).  They do not depend on the product sheet: churn, breaks and sessions come from the
day-level model, so any sheet gets the same shape of population.
"""

from __future__ import annotations

from dataclasses import dataclass

from .clock import MINUTE_MS
from .limits import DEFAULT_DAYS

# Share of sessions that start in each UTC hour, Monday to Friday and at weekends.  Weekdays peak in
# working hours; weekends are flatter and later.  Only the shape matters; they are normalised.
WEEKDAY_HOURS = (
    1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 3, 6, 9, 10, 10,
    9, 9, 10, 10, 9, 7, 5, 4, 3.5, 3, 2.2, 1.5,
)  # fmt: skip
WEEKEND_HOURS = (
    1.5, 1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 4, 4.5,
    5, 5, 5, 5, 4.5, 4.5, 4.5, 4.5, 4, 3.5, 3, 2,
)  # fmt: skip
# How much slower a user moves between the events of a session, by hour (night is slower).
WEEKDAY_GAP_FACTOR = (
    2.0, 2.0, 2.0, 2.0, 2.0, 1.8, 1.5, 1.2, 1.0, 1.0, 1.0, 1.0,
    1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.4, 1.5, 1.6, 1.8, 2.0,
)  # fmt: skip
WEEKEND_GAP_FACTOR = tuple(round(f * 1.4, 2) for f in WEEKDAY_GAP_FACTOR)


@dataclass(frozen=True)
class Params:
    """Knobs of the user model and the flow walker; ``Params()`` is the documented default."""

    backfill_days: int = DEFAULT_DAYS  # users are created uniformly over the days before the end

    # Flow walk: chance to succeed at a step is step_success_floor + step_success_gain * p.
    step_success_floor: float = 0.3
    step_success_gain: float = 0.6

    # Background events: bursts of random events (drawn by rank from the events column).
    background_after_step: float = 0.08  # chance of a burst after a successful step
    background_after_failure: float = 0.35  # chance of a burst after leaving a flow
    background_burst_max: int = 3  # a burst holds 1 to this many events

    # Secondary shard keys: on entering a flow, a draw above this renews all of them.
    secondary_key_renew_above: float = 0.8

    # Sessions: a new one after this much idle time, and at the start of each active day.
    session_idle_ms: int = 30 * MINUTE_MS
    # Sessions per active day: 1 + geometric, continuing with chance base + gain * p.
    sessions_continue_base: float = 0.25
    sessions_continue_gain: float = 0.45
    weekend_session_factor: float = 0.55  # weekends: fewer extra sessions
    # Flow attempts per session: 1 + geometric, continuing with chance base + gain * p.
    flows_continue_base: float = 0.45
    flows_continue_gain: float = 0.35
    # Time between two events of a session: exponential, mean (base + slow * (1 - p)) * hour factor.
    gap_mean_base_ms: int = 20_000
    gap_mean_slow_ms: int = 70_000
    gap_min_ms: int = 1_000
    gap_max_ms: int = 10 * MINUTE_MS  # keeps a session together: well under session_idle_ms

    # Active streaks and breaks.
    streak_days: int = 5  # skip_days_counter resets and a break starts at this many active days
    break_best_days: tuple[int, int] = (1, 3)  # break length range for p = 1
    break_worst_days: tuple[int, int] = (21, 30)  # break length range for p = 0
    resets_every_breaks: int = 5  # churn_prob_reset_counter: redraw p after this many breaks

    # Churn: at the end of each streak a user churns with chance churn_probability * hazard(p),
    # hazard(p) = churn_hazard_low_p - (churn_hazard_low_p - churn_hazard_high_p) * p.
    # churn_probability is drawn at creation, uniformly in [churn_probability_min, 1).
    churn_probability_min: float = 0.6
    churn_hazard_low_p: float = 1.0
    churn_hazard_high_p: float = 0.12

    def break_range(self, p: float) -> tuple[int, int]:
        """Inclusive range of break days for a user of probability ``p`` (1-3 best, 21-30 worst)."""
        lo = round(
            self.break_worst_days[0] + (self.break_best_days[0] - self.break_worst_days[0]) * p
        )
        hi = round(
            self.break_worst_days[1] + (self.break_best_days[1] - self.break_worst_days[1]) * p
        )
        return lo, max(lo, hi)

    def churn_hazard(self, p: float) -> float:
        return self.churn_hazard_low_p - (self.churn_hazard_low_p - self.churn_hazard_high_p) * p

    def step_success(self, p: float) -> float:
        return self.step_success_floor + self.step_success_gain * p
