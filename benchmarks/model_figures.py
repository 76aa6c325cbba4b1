"""Print the user model's headline figures (churn, p of churned and retained users, breaks), the
ones the README quotes, for a few seeds.

    python3 benchmarks/model_figures.py [--users 4000] [--seeds 7,8]

The model is walked on a one-step product: churn, streaks and breaks come from the day-level model
alone, so they are the same for any product sheet.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from generator.clock import parse_iso
from generator.encoders import FlatJsonEncoder
from generator.params import Params
from generator.spec import EventsSpec, Flow, FlowsSpec, LookupSpec, Product
from generator.users import Population, UserState
from generator.walker import Walker, WalkStats

END = parse_iso("2026-11-29T12:00:00Z")


def one_step_product() -> Product:
    events = EventsSpec("events.csv", "userId", "session_id", (), ("A",), ())
    return Product(
        events, FlowsSpec("flows.csv", (Flow("a", ("A",), 2),)), LookupSpec("l", "l", ())
    )


def figures(users: int, seed: int) -> str:
    product, params = one_step_product(), Params()
    population = Population(product, params, seed, END)
    breaks: list[tuple[float, int]] = []
    encoder = FlatJsonEncoder(product.events)
    walker = Walker(
        product, params, seed, END, encoder, on_break=lambda u, d: breaks.append((u.p, d))
    )
    stats = WalkStats.for_product(product)
    states: list[UserState] = []
    for index in range(users):
        user = population.create(index)
        walker.simulate(user, [], stats)
        states.append(user)
    churned = [u.p for u in states if u.churned]
    retained = [u.p for u in states if not u.churned]
    low = [d for p, d in breaks if p < 0.2]
    high = [d for p, d in breaks if p > 0.8]
    return (
        f"seed {seed}: {len(churned) / users:.1%} of {users:,} users churned over "
        f"{params.backfill_days} days; mean p churned {statistics.mean(churned):.3f}, retained "
        f"{statistics.mean(retained):.3f}; {len(breaks):,} breaks of "
        f"{min(d for _, d in breaks)} to {max(d for _, d in breaks)} days, mean "
        f"{statistics.mean(low):.1f} days for p < 0.2 and {statistics.mean(high):.1f} for p > 0.8"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4000)
    parser.add_argument("--seeds", default="7,8")
    args = parser.parse_args()
    for seed in (int(s) for s in args.seeds.split(",")):
        print(figures(args.users, seed))


if __name__ == "__main__":
    main()
