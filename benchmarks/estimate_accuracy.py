"""How far the estimate printed before a run is from what the run writes, on the examples.

    python3 benchmarks/estimate_accuracy.py                      # the README's figures
    python3 benchmarks/estimate_accuracy.py --users 10000 --seeds 3,11 --sample 1000

For each number of users and seed it makes the real run (in a temporary folder), then the
estimate a run given by flags gets (a twentieth of its users; ``--sample N``: the first N, as the
questions calibrate) and prints both errors: events, and bytes on disk.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from generator import RunConfig, generate
from generator.clock import parse_iso
from generator.estimate import estimate_run

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="1000,3000,10000")
    parser.add_argument("--seeds", default="3,11,12")
    parser.add_argument("--format", default="json")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--sample", type=int, help="calibrate on the first N users")
    args = parser.parse_args()
    for users in (int(n) for n in args.users.split(",")):
        for seed in (int(n) for n in args.seeds.split(",")):
            with tempfile.TemporaryDirectory() as scratch:
                config = RunConfig(
                    os.path.join(EXAMPLES, "events.csv"), os.path.join(EXAMPLES, "flows.csv"),
                    os.path.join(EXAMPLES, "lookup_table.csv"),
                    users, os.path.join(scratch, "out"), seed, parse_iso("2026-11-29"),
                    workers=2, format=args.format, gzip=args.gzip,
                )  # fmt: skip
                result = generate(config)
                estimate = estimate_run(config, result.product, sample=args.sample)
                size = sum(size for _, size in result.files)
            print(
                f"{users:,} users, seed {seed}, calibrated on {estimate.sample:,}: events "
                f"{100 * (estimate.events / result.stats.events - 1):+.1f}%, bytes "
                f"{100 * (estimate.bytes / size - 1):+.1f}%",
                flush=True,
            )


if __name__ == "__main__":
    main()
