"""How long large sheets take to load, to check and to refuse: the figures in the README
(Hardening).  10,000 events with 8 properties, 1,000 flows of 8 steps, 100,000 lookup rows.

    python3 benchmarks/large_inputs.py
"""

from __future__ import annotations

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.test_large_inputs import (
    ATTRIBUTES,
    EVENTS,
    FLOWS,
    LOOKUP_ROWS,
    PROPERTIES,
    STEPS,
    timed_load,
)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        result = timed_load(scratch)
    print(
        f"{EVENTS:,} events x {PROPERTIES} properties, {FLOWS:,} flows x {STEPS} steps, "
        f"{LOOKUP_ROWS:,} lookup rows x {ATTRIBUTES} attributes ({result['MB']:.1f} MB): "
        f"load {result['load']:.2f} s, --check {result['check']:.2f} s, "
        f"a typo in the last flow refused in {result['typo refused']:.2f} s"
    )


if __name__ == "__main__":
    main()
