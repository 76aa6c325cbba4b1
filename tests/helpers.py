"""What the tests share: where the examples and fixtures are, a fixed end time, runs of the
examples, products built in code, and readers of what a run wrote.  One copy each."""

from __future__ import annotations

import glob
import gzip
import os
import select
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from generator import ContinueConfig, RunConfig, RunResult, carry_on, generate, parse_iso
from generator.spec import (
    Column,
    EventsSpec,
    Flow,
    FlowsSpec,
    LookupSpec,
    Product,
    is_number_text,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
SCRIPT = os.path.join(ROOT, "event_generator.py")
END = "2026-11-29T12:00:00Z"
END_MS = parse_iso(END)
SMALL_CHUNKS = 20  # users per chunk in tests: several chunks (and workers) at a few dozen users


def example(name: str) -> str:
    return os.path.join(EXAMPLES, name)


def bad(name: str) -> str:
    """A file of the bad-input corpus."""
    return os.path.join(FIXTURES, "bad", name)


# The three flags that point a run at the bundled examples.
EXAMPLE_FILES = (
    "--events",
    example("events.csv"),
    "--flows",
    example("flows.csv"),
    "--lookup",
    example("lookup_table.csv"),
)


def examples_config(folder: str, users: int = 50, seed: int = 1, **kwargs: Any) -> RunConfig:
    """A run of the bundled examples into ``folder``, ending at END."""
    return RunConfig(
        events_path=kwargs.pop("events_path", example("events.csv")),
        flows_path=kwargs.pop("flows_path", example("flows.csv")),
        lookup_path=kwargs.pop("lookup_path", example("lookup_table.csv")),
        users=users,
        output_dir=folder,
        seed=seed,
        end_ms=kwargs.pop("end_ms", END_MS),
        **kwargs,
    )


def run_examples(folder: str, users: int = 50, seed: int = 1, **kwargs: Any) -> RunResult:
    return generate(examples_config(folder, users, seed, **kwargs))


def continue_run(folder: str, end: str, **kwargs: Any) -> RunResult:
    """Continue the run in ``folder`` up to ``end`` (``--continue``)."""
    return carry_on(ContinueConfig(folder, parse_iso(end), **kwargs))


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


# -- reading what a run wrote ----------------------------------------------------------------------


def read_json(path: str) -> Any:
    with open(path, "rb") as handle:
        return orjson.loads(handle.read())


def read_events(folder: str, pattern: str = "events/*") -> list[dict[str, Any]]:
    """Every event of the files matching ``pattern``, in file order: arrays or JSON Lines, gzip
    or not."""
    objects: list[dict[str, Any]] = []
    for path in sorted(glob.glob(os.path.join(folder, pattern))):
        with open(path, "rb") as handle:
            data = handle.read()
        if path.endswith(".gz"):
            data = gzip.decompress(data)
        if path.endswith((".json", ".json.gz")):
            objects.extend(orjson.loads(data))
        else:
            objects.extend(orjson.loads(line) for line in data.splitlines())
    return objects


def typed_value(text: str) -> Any:
    """The JSON value a sheet cell becomes: ``"12"`` -> 12, ``"4.99"`` -> 4.99, else the text."""
    return orjson.loads(text) if is_number_text(text) else text


def saved_users(folder: str) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = read_json(os.path.join(folder, "config", "user_id_list.json"))
    return users


def tree_bytes(folder: str) -> dict[str, bytes]:
    """Relative path -> content of every file under ``folder``."""
    files = {}
    for base, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(base, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, folder)] = handle.read()
    return files


# -- processes -------------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` and that still run (Linux /proc; zombies left out)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def wait_until(
    condition: Callable[[], bool], process: subprocess.Popen[Any], seconds: float = 60
) -> None:
    """Wait until ``condition`` holds while ``process`` runs.  Between checks the wait is on the
    process itself, so its end ends the wait at once (an AssertionError: the moment never came)."""
    deadline = time.monotonic() + seconds
    while not condition():
        try:
            process.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            assert time.monotonic() < deadline, f"not seen within {seconds} s"
            continue
        raise AssertionError(f"the run ended (status {process.returncode}) before the moment came")


def wait_gone(pids: list[int], seconds: float = 10) -> None:
    """Wait until every process of ``pids`` (not our children: a run's workers) has ended, on
    their pidfds (Linux 5.3+; elsewhere, on /proc) rather than with a guessed sleep."""
    deadline = time.monotonic() + seconds
    handles = []
    for pid in pids:
        try:
            handles.append(os.pidfd_open(pid))
        except ProcessLookupError:
            continue  # gone already
        except (AttributeError, OSError):
            handles = []
            break
    try:
        waiting = list(handles)
        while waiting and time.monotonic() < deadline:
            ready, _, _ = select.select(waiting, [], [], deadline - time.monotonic())
            waiting = [fd for fd in waiting if fd not in ready]
        if not handles:  # no pidfds here: the zombie state in /proc says it
            while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
                select.select([], [], [], 0.05)
    finally:
        for fd in handles:
            os.close(fd)


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, waiting to be reaped, has stopped running)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@contextmanager
def keys(text: str) -> Iterator[dict[str, Any]]:
    """Prompt keyword arguments whose input is ``text`` typed at the keyboard (then the pipe is
    closed, so a question nobody expected ends the test with EOFError instead of waiting)."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    with create_pipe_input() as pipe:
        pipe.send_text(text)
        pipe.close()
        yield {"input": pipe, "output": DummyOutput()}
