"""Every number of the simulation, named, in one place (README "Simulation knobs" lists them).

The defaults were calibrated (second edition of SPEC section 2) so that the generated files of any
product sheet show, over the default 90-day window: about 70% of users churned by the end, day-1
retention between 20 and 50%, day-7 and day-30 retention falling below it, a share of one-day
users, weekends quieter than weekdays, a loyal core active most days, and a first week that looks
like the last (the population is already there when the window opens).  ``python3
benchmarks/model_figures.py`` measures them on the generated files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from . import exact
from .clock import MINUTE_MS
from .limits import DEFAULT_DAYS

# The version of the user model (SPEC section 2).  Recorded in config/run.json: a run made by
# another model cannot be continued, because its saved states mean something else.  Model 3 is
# the second edition with draws addressed by key (``sites``) and exact arithmetic (``exact``):
# what the plain model and the batch engine both compute, to the bit.  Model 4 is model 3 with the
# chance that a day ends in a `final` flow taken for the user's own open `once` flows (model 3
# took them all as done, and a sheet whose `once` flow is rarely completed lost its users already
# there when the window opened: a launch-shaped first week).
MODEL_VERSION = 4

# The formulas below take a float (the plain model) or an array of them (the batch engine), and
# compute both with the same operations in the same order (``exact``), so both agree to the bit.
Number = TypeVar("Number", float, npt.NDArray[np.float64])


def _at_most(value: Number, limit: float) -> Number:
    if isinstance(value, np.ndarray):
        return np.minimum(value, limit)
    return min(value, limit)


def _power(base: Number, exponent: int) -> Number:
    """base ** exponent for a whole exponent >= 0, as that many multiplications (exact order)."""
    result = base * 0.0 + 1.0
    for _ in range(exponent):
        result = result * base
    return result


# Share of sessions that start in each hour of the user's local day, Monday to Friday and at
# weekends.  Weekdays peak in working hours; weekends are flatter and later.  Only the shape
# matters; they are normalised.
WEEKDAY_HOURS = (
    1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 3, 6, 9, 10, 10,
    9, 9, 10, 10, 9, 7, 5, 4, 3.5, 3, 2.2, 1.5,
)  # fmt: skip
WEEKEND_HOURS = (
    1.5, 1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 4, 4.5,
    5, 5, 5, 5, 4.5, 4.5, 4.5, 4.5, 4, 3.5, 3, 2,
)  # fmt: skip
# How much slower a user moves between the events of a session, by local hour (night is slower).
WEEKDAY_GAP_FACTOR = (
    2.0, 2.0, 2.0, 2.0, 2.0, 1.8, 1.5, 1.2, 1.0, 1.0, 1.0, 1.0,
    1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.4, 1.5, 1.6, 1.8, 2.0,
)  # fmt: skip
WEEKEND_GAP_FACTOR = tuple(round(f * 1.4, 2) for f in WEEKDAY_GAP_FACTOR)


@dataclass(frozen=True)
class Params:
    """Knobs of the user model and the flow walker; ``Params()`` is the documented default."""

    # -- population ------------------------------------------------------------------------------
    backfill_days: int = DEFAULT_DAYS  # the window: users join over it, events are written in it
    # The population is already there when the window opens: some users joined in the
    # `joined_before_days` before the window and were still there when it opened.  How many is
    # measured on `joined_before_pilot` pilot users of each kind, so that as many users are there
    # when the window opens as when it ends (a steady population, whatever the sheet's churn).
    joined_before_days: int = 150
    joined_before_pilot: int = 400

    # -- a user's life: active days, streaks, breaks, churn --------------------------------------
    # Within a streak, each next day is active with chance base + gain * p (times the weekend
    # factor on Saturdays and Sundays); the first day after a break is always active.
    streak_active_base: float = 0.10
    streak_active_gain: float = 0.75
    weekend_active_factor: float = 0.60
    streak_days: int = 5  # skip_days_counter resets and a break starts at this many active days
    break_best_days: tuple[int, int] = (1, 3)  # break length range for p = 1
    break_worst_days: tuple[int, int] = (21, 30)  # break length range for p = 0
    break_shape: int = 2  # range = best + (worst - best) * (1 - p) ** break_shape
    resets_every_breaks: int = 5  # churn_prob_reset_counter: redraw p after this many breaks
    # Churn.  After each active day the user leaves with chance 1 - exp(-rate * gap), gap being
    # the days until the next active day and, per day,
    #   rate = churn_probability
    #          * (churn_rate_late + churn_rate_early * exp(-age / churn_early_days))
    #          * ((1 - p) ** churn_p_shape + churn_rate_best)
    # where age is the account's age in days: highest in the first days, falling with age and p.
    # churn_probability is drawn at creation, uniformly in [churn_probability_min, 1).
    churn_probability_min: float = 0.6
    churn_rate_early: float = 0.27
    churn_early_days: float = 15.0
    churn_rate_late: float = 0.01
    churn_p_shape: int = 1
    churn_rate_best: float = 0.05

    # -- sessions ---------------------------------------------------------------------------------
    session_idle_ms: int = 30 * MINUTE_MS  # idle time that starts a new session
    # Sessions per active day: 1 + geometric, continuing with chance base + gain * p.
    sessions_continue_base: float = 0.25
    sessions_continue_gain: float = 0.45
    weekend_session_factor: float = 0.55  # weekends: fewer extra sessions
    # A day's last session may run past midnight, for at most this long.
    day_overflow_ms: int = 6 * 60 * MINUTE_MS
    # Flow attempts per session: 1 + geometric, continuing with chance base + gain * p.
    flows_continue_base: float = 0.45
    flows_continue_gain: float = 0.35
    # Time between two events of a session: gap_min_ms + a log-logistic draw (a long tail, no
    # spike) whose median is (base + slow * (1 - p)) * the factor of the session's start hour;
    # shape is its exponent (a decimal string: the quantile table is built from it exactly).
    gap_min_ms: int = 1_000
    gap_median_base_ms: int = 15_000
    gap_median_slow_ms: int = 45_000
    gap_shape: str = "3"
    gap_max_ms: int = 25 * MINUTE_MS  # keeps a session together: under session_idle_ms

    # -- flows -------------------------------------------------------------------------------------
    # Chance to succeed at a step of a flow without a `conversion`: floor + gain * p.
    step_success_floor: float = 0.3
    step_success_gain: float = 0.6
    # A flow with a `conversion` C: a user of probability p reaches its last step from its first
    # with chance C * (1 + conversion_spread * (1 - C) * (p - mean p of the flow's entries)), the
    # loss spread over the later steps, growing step by step (conversion_late_weight).
    conversion_spread: float = 1.0
    conversion_mean_p: float = 0.78  # mean p of the users who perform a flow's first step
    conversion_mean_p_first: float = 0.5  # the same for `first` flows: every new user, once
    conversion_mean_q_final: float = 0.35  # `final` flows run on q = 1 - p: its mean there
    # A `final` flow's first step succeeds with chance this * the user's churn hazard per day
    # (at most 1): the users at risk are the ones who start to leave.
    final_start_per_rate: float = 10.0
    conversion_late_weight: float = 1.0  # step k's share of the loss grows as k ** this

    # Background events: bursts of other events (drawn by rank among the events that are not steps
    # of a `first`, `once` or `final` flow).
    background_after_step: float = 0.08  # chance of a burst after a successful step
    background_after_failure: float = 0.35  # chance of a burst after leaving a flow
    background_burst_max: int = 3  # a burst holds 1 to this many events

    # Secondary shard keys (a device: one value per key).  At a session's start a draw above
    # `secondary_key_renew_above` changes them: to a new device that joins the user's pool with
    # chance key_pool_new_share / (devices in the pool) (always while the pool holds one, never
    # once it holds `key_pool_max`), else to another device of the pool, evenly.  So most users
    # have one or two devices and the heaviest a handful.  Keys never change inside a session.
    secondary_key_renew_above: float = 0.8
    key_pool_new_share: float = 0.5
    key_pool_max: int = 8

    # -- continues -------------------------------------------------------------------------------
    # A continue adds new users in proportion to the time that passed: this share of the first
    # run's users per this many days, counted from the first run's end (fractions carried over).
    continue_new_users_share: float = 0.10
    continue_new_users_period_days: int = 30

    # -- derived: each takes a float or an array of floats (see Number) ---------------------------

    def break_bounds(self, p: Number) -> tuple[Number, Number]:
        """Inclusive range of break days for users of probability ``p`` (1-3 best, 21-30 worst),
        as floats holding whole numbers (``round`` half to even, as ``numpy.rint``)."""
        f = _power(1.0 - p, self.break_shape)
        best, worst = self.break_best_days, self.break_worst_days
        lo = best[0] + (worst[0] - best[0]) * f
        hi = best[1] + (worst[1] - best[1]) * f
        if isinstance(lo, np.ndarray):
            low, high = np.rint(lo), np.rint(hi)
            return low, np.maximum(low, high)
        low_int, high_int = float(round(lo)), float(round(hi))
        return low_int, max(low_int, high_int)

    def break_range(self, p: float) -> tuple[int, int]:
        """Inclusive range of break days for a user of probability ``p``."""
        lo, hi = self.break_bounds(p)
        return int(lo), int(hi)

    def streak_active(self, p: Number, weekend: bool) -> Number:
        """Chance that a day of a streak is active."""
        chance = self.streak_active_base + self.streak_active_gain * p
        if weekend:
            chance = chance * self.weekend_active_factor
        return _at_most(chance, 1.0)

    def churn_rate(self, p: Number, churn_probability: Number, age_days: Number) -> Number:
        """Churn hazard per day of users of probability ``p`` whose accounts are ``age_days``
        old (``age_days`` whole numbers, as floats in an array)."""
        early = self.churn_rate_early * exact.exp(-(age_days / self.churn_early_days))
        p_factor = _power(1.0 - p, self.churn_p_shape) + self.churn_rate_best
        return churn_probability * (self.churn_rate_late + early) * p_factor

    def churn_chance(self, rate: Number, days: Number) -> Number:
        """Chance to leave over ``days`` days at hazard ``rate`` per day: 1 - e**(-rate days)."""
        return 1.0 - exact.exp(-(rate * days))

    def sessions_keep_going(self, p: Number, weekend: bool) -> Number:
        """Chance that an active day holds one more session (a geometric count)."""
        chance = self.sessions_continue_base + self.sessions_continue_gain * p
        if weekend:
            chance = chance * self.weekend_session_factor
        return chance

    def flows_keep_going(self, p: Number) -> Number:
        """Chance that a session holds one more flow entry (a geometric count)."""
        return self.flows_continue_base + self.flows_continue_gain * p

    def step_success(self, p: float) -> float:
        return self.step_success_floor + self.step_success_gain * p

    def gap_median_ms(self, p: float) -> float:
        return self.gap_median_base_ms + self.gap_median_slow_ms * (1.0 - p)
