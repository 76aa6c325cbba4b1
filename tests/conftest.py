"""Shared fixtures: the bundled examples, a fixed end time, and small products built in code."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable

import orjson
import pytest

from generator import RunConfig, RunResult, generate
from generator.clock import parse_iso
from generator.spec import Column, EventsSpec, Flow, FlowsSpec, LookupSpec, Product

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
END = "2026-11-29T12:00:00Z"
END_MS = parse_iso(END)


def example(name: str) -> str:
    return os.path.join(EXAMPLES, name)


# The three flags that point a run at the bundled examples.
EXAMPLE_FILES = (
    "--events",
    example("events.csv"),
    "--flows",
    example("flows.csv"),
    "--lookup",
    example("lookup_table.csv"),
)


def read_events(folder: str) -> list[dict[str, object]]:
    """Every event of a run's events/ folder, in file order."""
    events: list[dict[str, object]] = []
    for path in sorted(glob.glob(os.path.join(folder, "events", "*.json"))):
        with open(path, "rb") as handle:
            events.extend(orjson.loads(handle.read()))
    return events


def tree_bytes(folder: str) -> dict[str, bytes]:
    """Relative path -> content of every file under ``folder``."""
    files = {}
    for base, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, folder)] = handle.read()
    return files


def simple_product(
    flows: tuple[tuple[str, ...], ...] = (("A", "B", "C", "D"),),
    events: tuple[str, ...] = ("A", "B", "C", "D", "E"),
    properties: tuple[tuple[str, tuple[str, ...]], ...] = (),
    secondary: tuple[str, ...] = (),
) -> Product:
    """A product built in code, for tests of the walker that do not need files."""
    spec = EventsSpec(
        source="events.csv",
        primary_key="userId",
        session_key="session_id",
        secondary_keys=secondary,
        events=events,
        properties=tuple(Column(n, v, i + 3) for i, (n, v) in enumerate(properties)),
    )
    flow_list = tuple(Flow(f"flow {i + 1}", steps, i + 2) for i, steps in enumerate(flows))
    return Product(spec, FlowsSpec("flows.csv", flow_list), LookupSpec("lookup.csv", "lookup", ()))


@pytest.fixture
def run_examples(tmp_path: os.PathLike[str]) -> Callable[..., tuple[RunResult, str]]:
    """Generate from examples/ into a fresh folder under tmp_path; returns (result, folder)."""
    counter = [0]

    def run(
        users: int = 50, seed: int = 1, workers: int = 1, **kwargs: object
    ) -> tuple[RunResult, str]:
        counter[0] += 1
        folder = os.path.join(os.fspath(tmp_path), f"run{counter[0]}")
        config = RunConfig(
            events_path=example("events.csv"),
            flows_path=example("flows.csv"),
            lookup_path=example("lookup_table.csv"),
            users=users,
            output_dir=folder,
            seed=seed,
            end_ms=END_MS,
            workers=workers,
            **kwargs,  # type: ignore[arg-type]
        )
        return generate(config), folder

    return run
