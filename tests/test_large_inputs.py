"""Large sheets load: 10,000 events, 1,000 flows and 100,000 lookup rows.

How long they take is measured by ``python3 benchmarks/large_inputs.py`` (README, Hardening), not
here: a timed assert fails on a loaded machine and proves nothing on a fast one.
"""

from __future__ import annotations

import os
import tempfile
import time

import pytest

from generator import InputError, check_inputs, load_product, report_lines
from generator.loaders import parse_events

EVENTS, FLOWS, STEPS, LOOKUP_ROWS = 10_000, 1_000, 8, 100_000
PROPERTIES, ATTRIBUTES = 8, 6


def write_large_sheets(folder: str, typo: bool = False) -> tuple[str, str, str]:
    events = os.path.join(folder, "events.csv")
    flows = os.path.join(folder, "flows.csv")
    lookup = os.path.join(folder, "lookup.csv")
    header = ["shardkeys", "event", *(f"property {p}" for p in range(PROPERTIES))]
    with open(events, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(header) + "\r\n")
        keys = ["userId", "deviceId", "session_id"]
        for row in range(EVENTS):
            key = keys[row] if row < len(keys) else ""
            values = [
                f"value {row} of {p}" if row < 50 * (p + 1) else "" for p in range(PROPERTIES)
            ]
            handle.write(",".join([key, f"Event number {row}", *values]) + "\r\n")
    with open(flows, "w", encoding="utf-8", newline="") as handle:
        handle.write("flow," + ",".join(f"step {s}" for s in range(STEPS)) + "\r\n")
        for flow in range(FLOWS):
            steps = [f"Event number {(flow * 7 + s * 13) % EVENTS}" for s in range(STEPS)]
            if typo and flow == FLOWS - 1:
                steps[-1] = "Event numbr 9999"
            handle.write(f"flow {flow}," + ",".join(steps) + "\r\n")
    with open(lookup, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(f"attribute {a}" for a in range(ATTRIBUTES)) + "\r\n")
        for row in range(LOOKUP_ROWS):
            handle.write(",".join(f"v{row}-{a}" for a in range(ATTRIBUTES)) + "\r\n")
    return events, flows, lookup


def timed_load(folder: str) -> dict[str, float]:
    paths = write_large_sheets(folder)
    start = time.perf_counter()
    product = load_product(*paths)
    loaded = time.perf_counter()
    lines = report_lines(check_inputs(*paths))
    checked = time.perf_counter()
    assert len(product.events.events) == EVENTS
    assert len(product.flows.flows) == FLOWS
    assert all(len(f.steps) == STEPS for f in product.flows.flows)
    assert [len(a.values) for a in product.lookup.attributes] == [LOOKUP_ROWS] * ATTRIBUTES
    assert len(lines) < 2_000, "--check shortens long columns"
    typo_paths = write_large_sheets(folder, typo=True)
    refused = time.perf_counter()
    try:
        load_product(*typo_paths)
    except InputError as error:
        assert "did you mean 'Event number 9999'?" in str(error)
    else:
        raise AssertionError("the typo was not found")
    done = time.perf_counter()
    return {
        "load": loaded - start,
        "check": checked - loaded,
        "typo refused": done - refused,
        "MB": sum(os.path.getsize(p) for p in paths) / 1e6,
    }


@pytest.mark.slow
def test_large_sheets_load_and_a_typo_in_the_last_flow_is_found() -> None:
    with tempfile.TemporaryDirectory() as folder:
        timed_load(folder)


def test_a_wide_stray_row_does_not_stall_loading() -> None:
    """One row of 300,000 cells (a cell far to the right) once took 40 s to read as columns."""
    wide = "shardkeys,event\nuserId,App Open\n" + "," * 300_000 + "stray\n" + "x,y\n" * 2_000
    try:
        parse_events(wide, "events.csv")
    except InputError as error:
        assert "under a blank header" in str(error) and "column 300001" in str(error)
    else:
        raise AssertionError("a value under a blank header was not refused")
