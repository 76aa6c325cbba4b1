"""The flows as the walker uses them: which ones a user may enter, how often, and how likely each
step is (SPEC section 2, "Walking the flows", and section 1, the `kind` and `conversion` columns).

* ``first`` flows open a user's first session, in file order, and are never entered again; their
  first step always succeeds (joining is performing it), so every user who joined in the window has
  exactly one.
* Every later flow is drawn by rank (SPEC section 3) among the flows the user may still enter:
  ``repeat`` and ``final`` flows, and ``once`` flows not yet completed.  The first row is entered
  the most.
* A step succeeds with ``step_success(p)``; in a flow with a ``conversion`` C, the steps after the
  first succeed so that a user of probability p reaches the last step from the first with chance
  ``C * (1 + conversion_spread * (1 - C) * (p - mean p))``, where mean p is the mean p of the users
  who perform the flow's first step (so the population as a whole shows about C), the loss growing
  from step to step.
* Background events are drawn by rank among the events that are not steps of a ``first``,
  ``once`` or ``final`` flow (nobody signs up or cancels "in the background"), nor the first
  step of a flow with a ``conversion`` (so that an analyst's funnel of that flow starts only where
  the flow does, and shows the conversion the sheet asks for).  Inside a flow they are other
  events: never one of that flow's own steps, nor the first step of any flow.
"""

from __future__ import annotations

import functools
import math
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from . import exact
from .distributions import Ranked
from .params import Number, Params
from .ranks import cumulative, rank_weights
from .spec import FINAL, FIRST, LIFECYCLE_KINDS, ONCE, Flow, Product

MIN_CONVERSION_SHARE = 0.05  # a user's conversion is never below this share of the flow's
P_LEVELS = 256  # tables that depend on p are built per 1/256 of p (a difference no data shows)
ONCE_STATE_FLOWS = 8  # `once` flows whose state the `final` exit chance follows (2**8 columns)


def p_level(p: float) -> int:
    """The level of the tables that depend on p: p in [level / 256, (level + 1) / 256)."""
    return min(P_LEVELS - 1, int(p * P_LEVELS))


def level_p(level: int) -> float:
    """The p a level's tables are built for: the middle of its 1/256."""
    return (level + 0.5) / P_LEVELS


def background_events(product: Product) -> tuple[int, ...]:
    """The events (by position) a background burst may hold: not a step of a ``first``, ``once``
    or ``final`` flow, nor the first step of a flow with a conversion (each of its occurrences
    starts a pass, so the data shows the conversion the sheet asks for)."""
    flows = product.flows.flows
    excluded = {s for f in flows if f.kind in LIFECYCLE_KINDS for s in f.steps}
    excluded.update(f.steps[0] for f in flows if f.conversion is not None)
    return tuple(i for i, name in enumerate(product.events.events) if name not in excluded)


class FlowPlan:
    """Everything the walker needs to know about the flows, precomputed from the sheet."""

    def __init__(self, product: Product, params: Params) -> None:
        self.product = product
        self.params = params
        index = {name: i for i, name in enumerate(product.events.events)}
        flows = product.flows.flows
        self.flows: tuple[Flow, ...] = flows
        self.steps = [tuple(index[s] for s in f.steps) for f in flows]
        # Per flow and step, the chance of a background burst after the step succeeds: none after
        # the last step of a `final` flow (nothing comes after it).
        self.afters = [
            tuple(
                0.0 if f.kind == FINAL and k == len(f.steps) - 1 else params.background_after_step
                for k in range(len(f.steps))
            )
            for f in flows
        ]
        self.first = tuple(i for i, f in enumerate(flows) if f.kind == FIRST)
        self.once_bit = [1 << i if f.kind == ONCE else 0 for i, f in enumerate(flows)]
        self.final = [f.kind == FINAL for f in flows]
        # Per flow, the number of steps whose completion changes the user (`once`, `final`), or -1.
        self.closes = [len(f.steps) if f.kind in (ONCE, FINAL) else -1 for f in flows]
        self.final_flows = tuple(i for i, f in enumerate(flows) if f.kind == FINAL)
        # The `once` flows whose state (done or open) the `final` flows' exit chance follows: the
        # first ONCE_STATE_FLOWS of them (a later one counts as open), one table column a state.
        self.state_flows = tuple(i for i, f in enumerate(flows) if f.kind == ONCE)[
            :ONCE_STATE_FLOWS
        ]
        self.background = background_events(product)
        self.background_rank = Ranked.by_rank(len(self.background)) if self.background else None
        # The bursts inside a flow are other events: never one of that flow's own steps (a
        # failed pass is not completed by chance, and a pass holds each step once), nor the
        # first step of any flow (a burst does not start another flow).
        openers = {steps[0] for steps in self.steps}
        self.background_in: list[tuple[int, ...]] = [
            tuple(e for e in self.background if e not in steps and e not in openers)
            for steps in self.steps
        ]
        self.max_steps = max(len(steps) for steps in self.steps)
        self._choices: dict[int, tuple[int, ...]] = {}

    def choices(self, once_done: int) -> tuple[int, ...]:
        """The flows a user who completed the ``once`` flows of ``once_done`` may enter, in file
        order (drawn among them by rank); ``()`` when there is none."""
        found = self._choices.get(once_done)
        if found is None:
            found = self._choices[once_done] = tuple(
                i
                for i, f in enumerate(self.flows)
                if f.kind != FIRST and not once_done & self.once_bit[i]
            )
        return found

    @overload
    def once_state(self, once_done: int) -> int: ...
    @overload
    def once_state(self, once_done: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...
    def once_state(self, once_done: Any) -> Any:
        """The column of :attr:`LevelTables.after_first` for users (one, or an array of them)
        whose completed ``once`` flows are ``once_done``: bit j set when the j-th of
        :attr:`state_flows` is done."""
        state = once_done & 0
        for j, flow in enumerate(self.state_flows):
            state = state | ((once_done >> flow) & 1) << j
        return state

    def final_start(self, rate: Number) -> Number:
        """Chance of a ``final`` flow's first step for users whose churn hazard is ``rate``."""
        start = self.params.final_start_per_rate * rate
        if isinstance(start, np.ndarray):
            return np.minimum(start, 1.0)
        return min(1.0, start)

    @functools.cached_property
    def levels(self) -> LevelTables:
        """Every table that depends on p, per level of p (:func:`p_level`): built once per
        process for a sheet and parameters, whichever plan asks first (a run's pilots, each task
        of the batch engine and the plain model each have a plan; 256 levels take some 8 ms)."""
        key = (self.product, self.params)
        found = _LEVEL_TABLES.get(key)
        if found is None:
            if len(_LEVEL_TABLES) >= _LEVEL_TABLES_KEPT:
                _LEVEL_TABLES.clear()
            found = _LEVEL_TABLES[key] = LevelTables(self)
        return found

    def final_terms(
        self, p: float, chances: list[tuple[float, ...]], once_done: int = 0
    ) -> tuple[float, float]:
        """What :func:`final_exit` needs for a user of probability ``p`` who completed the
        ``once`` flows of ``once_done``, computed once per level of p and state: (the chance that
        a flow entry is a ``final`` flow that completes once its first step succeeded, the
        number of flow entries of an active day).

        Entries: a weekday's sessions times flows per session (their means); the draw by rank is
        among the flows the user may enter.  (Model 3 took every user's `once` flows as done:
        a `final` flow's share was overestimated for the many whose `once` flow stays open, so
        silent churn was cut by more than the `final` flow took, and a sheet with a rarely
        completed `once` flow lost the users who should have joined before the window.)
        """
        if not self.final_flows:
            return 0.0, 0.0
        open_flows = self.choices(once_done)
        bounds = cumulative(rank_weights(len(open_flows)))
        after_first = 0.0
        for position, flow in enumerate(open_flows):
            if self.final[flow]:
                share = bounds[position] - (bounds[position - 1] if position else 0.0)
                after_first += share * math.prod(chances[flow][1:])
        params = self.params
        sessions = 1.0 / (
            1.0 - min(0.95, params.sessions_continue_base + params.sessions_continue_gain * p)
        )
        flows = 1.0 / (1.0 - min(0.95, params.flows_continue_base + params.flows_continue_gain * p))
        return after_first, sessions * flows

    def chances(self, p: float) -> list[tuple[float, ...]]:
        """Per flow, the chance of success at each step for a user of probability ``p``.

        A ``final`` flow runs against p: finishing it means leaving, which a user who likes the
        product less is likelier to do (its steps use 1 - p where other flows use p).  Its first
        step depends on the user's churn hazard of the day (:meth:`final_start`): the walker
        replaces the value given here.
        """
        params = self.params
        plans: list[tuple[float, ...]] = []
        for flow in self.flows:
            q = 1.0 - p if flow.kind == FINAL else p
            default = params.step_success(q)
            first = 1.0 if flow.kind == FIRST else default
            n = len(flow.steps)
            if flow.conversion is None or n == 1:
                plans.append((first,) + (default,) * (n - 1))
                continue
            if flow.kind == FIRST:
                mean_q = params.conversion_mean_p_first
            elif flow.kind == FINAL:
                mean_q = params.conversion_mean_q_final
            else:
                mean_q = params.conversion_mean_p
            target = flow.conversion
            spread = params.conversion_spread * (1.0 - target) * (q - mean_q)
            reach = min(1.0, max(MIN_CONVERSION_SHARE * target, target * (1.0 + spread)))
            late = params.conversion_late_weight
            weights = [
                float(k ** int(late)) if late == int(late) else exact.power(float(k), late)
                for k in range(1, n)
            ]
            total = sum(weights)
            plans.append((first, *(exact.power(reach, w / total) for w in weights)))
        return plans


_LEVEL_TABLES: dict[tuple[Product, Params], LevelTables] = {}
_LEVEL_TABLES_KEPT = 4


class LevelTables:
    """The step chances and the ``final`` flows' terms for each level of p, as arrays (the batch
    engine indexes them with arrays of levels; the plain model with one level)."""

    def __init__(self, plan: FlowPlan) -> None:
        flows = len(plan.flows)
        self.chances = np.zeros((P_LEVELS, flows, plan.max_steps), dtype=np.float64)
        states = 1 << len(plan.state_flows)  # column s: the `once` flows of bits s done
        self.after_first = np.zeros((P_LEVELS, states), dtype=np.float64)
        self.entries = np.zeros(P_LEVELS, dtype=np.float64)
        self.rows: list[list[tuple[float, ...]]] = []
        masks = [
            sum(1 << flow for j, flow in enumerate(plan.state_flows) if state >> j & 1)
            for state in range(states)
        ]
        for level in range(P_LEVELS):
            chances = plan.chances(level_p(level))
            self.rows.append(chances)
            for flow, row in enumerate(chances):
                self.chances[level, flow, : len(row)] = row
            for state, mask in enumerate(masks):
                self.after_first[level, state], self.entries[level] = plan.final_terms(
                    level_p(level), chances, mask
                )
        for table in (self.chances, self.after_first, self.entries):
            table.flags.writeable = False  # shared by every plan of the sheet in the process


def final_exit(after_first: Number, entries: Number, start: Number) -> Number:
    """About how likely an active day ends in a completed ``final`` flow, for users whose
    :meth:`FlowPlan.final_terms` are ``(after_first, entries)`` and whose final flows' first step
    succeeds with chance ``start`` that day: 1 - (1 - start * after_first) ** entries.  0 without
    final flows (``after_first`` 0)."""
    return 1.0 - exact.power(1.0 - start * after_first, entries)
