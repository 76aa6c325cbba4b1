"""A golden output for a tiny input: any change to the bytes a run writes shows up here, in either
engine.  It pins 208 events (and the users' states), written by the plain model; the batch engine
must write the same bytes.

When a change to the model is intended, regenerate with ``python3 tests/test_golden.py`` and
review the diff of ``tests/golden/`` like any other change.
"""

from __future__ import annotations

import os
import shutil
import sys

import orjson
import pytest

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from generator import RunConfig, generate
from generator.clock import parse_iso
from tests.helpers import FIXTURES, ROOT, tree_bytes

GOLDEN = os.path.join(ROOT, "tests", "golden", "tiny")
TINY = os.path.join(FIXTURES, "tiny")


def tiny_run(folder: str, engine: str = "plain") -> None:
    generate(
        RunConfig(
            events_path=os.path.join(TINY, "events.csv"),
            flows_path=os.path.join(TINY, "flows.csv"),
            lookup_path=os.path.join(TINY, "lookup.csv"),
            users=4,
            output_dir=folder,
            seed=2026,
            end_ms=parse_iso("2026-03-01T00:00:00Z"),
            days=10,
            engine=engine,
        )
    )


def comparable(files: dict[str, bytes]) -> dict[str, bytes]:
    """run.json names absolute input paths, which differ between checkouts: drop them."""
    run = orjson.loads(files["config/run.json"])
    for key in ("events", "flows", "lookup"):
        run[key] = os.path.basename(run[key])
    return {**files, "config/run.json": orjson.dumps(run, option=orjson.OPT_SORT_KEYS)}


@pytest.mark.parametrize("engine", ["plain", "batch"])
def test_tiny_input_gives_the_golden_output(tmp_path: os.PathLike[str], engine: str) -> None:
    folder = os.path.join(os.fspath(tmp_path), "out")
    tiny_run(folder, engine)
    assert comparable(tree_bytes(folder)) == comparable(tree_bytes(GOLDEN))


if __name__ == "__main__":
    shutil.rmtree(GOLDEN, ignore_errors=True)
    tiny_run(GOLDEN)
    print(f"golden output written to {GOLDEN}")
