"""Property-based fuzzing: whatever the files or the command line hold, the only outcomes are a
correct load (or run configuration) or a ``GeneratorError`` with a message, never another exception.

Example counts are chosen so the whole file runs in well under a minute on one core; raise them
locally with ``HYPOTHESIS_FUZZ_SCALE=10 python3 -m pytest tests/test_fuzz.py``.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import event_generator
from generator import GeneratorError, InputError, RunConfig, load_product
from generator.csvtext import decode, parse_rows
from generator.loaders import parse_events, parse_flows, parse_lookup
from generator.spec import EventsSpec
from tests.helpers import EXAMPLE_FILES, FIXTURES, example

SCALE = int(os.environ.get("HYPOTHESIS_FUZZ_SCALE", "1"))


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples * SCALE,
        deadline=None,  # a shared CI machine is slow at times; speed is tested elsewhere
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# Text shaped like a sheet export: header words, separators, quotes, line ends, odd characters.
WORDS = [
    "shardkeys",
    "Shard Keys",
    "event",
    "EVENTS",
    "flow",
    "userId",
    "deviceId",
    "session_id",
    "session id",
    "App Open",
    "Browse Menu",
    "Login",
    "ts",
    "4.99",
    "-5",
    "007",
    "=1+1",
    "plan",
    "",
    " ",
]
PIECES = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from([",", ",", ",", "\n", "\r\n", "\r", '"', '""', ";", "\t", "\ufeff", "\x00"]),
    st.text(max_size=6),
)
SHEETISH = st.lists(PIECES, max_size=60).map("".join)


def _as_csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


# A grid of cells written by a real CSV writer: often a valid file, so the checks after parsing run.
HEADERS = st.sampled_from(["shardkeys", "event", "flow", "plan", "Platform", "ts", "", "age"])
CELLS = st.one_of(st.sampled_from(WORDS), st.text(max_size=8))
GRID = st.tuples(
    st.lists(HEADERS, min_size=1, max_size=5),
    st.lists(st.lists(CELLS, max_size=5), max_size=6),
).map(lambda grid: _as_csv([grid[0], *grid[1]]))
EVENTS_GRID = st.tuples(
    st.lists(HEADERS, max_size=3),
    st.lists(st.lists(CELLS, min_size=2, max_size=5), min_size=1, max_size=6),
).map(lambda grid: _as_csv([["Shard Keys", "EVENT", *grid[0]], *grid[1]]))
STEPS = st.one_of(st.sampled_from(["App Open", "Browse Menu", "Login", "login", ""]), CELLS)
FLOWS_GRID = st.lists(st.lists(STEPS, max_size=5), min_size=1, max_size=6).map(
    lambda rows: _as_csv([["flow", "step 1"], *rows])
)
ANY_TEXT = st.one_of(st.text(max_size=300), SHEETISH, GRID, EVENTS_GRID, FLOWS_GRID)

EVENTS = parse_events(
    "shardkeys,event,platform\nuserId,App Open,ios\ndeviceId,Browse Menu,web\n,Login,\n", "e.csv"
)


def assert_explained(error: GeneratorError) -> None:
    assert isinstance(error, InputError)
    assert str(error).strip() and error.message.strip()
    assert error.exit_status == 2


def check_events(spec: EventsSpec) -> None:
    """What a successful load promises: ids, at least one event, properties with values."""
    assert spec.primary_key and spec.events
    assert len(set(spec.events)) == len(spec.events)
    names = [spec.primary_key, spec.session_key, *spec.secondary_keys]
    names += [p.name for p in spec.properties]
    assert len({n.casefold() for n in names}) == len(names), names
    assert all(p.values and all(v for v in p.values) for p in spec.properties)
    assert all(v == v.strip() for p in spec.properties for v in p.values)


@fuzz(500)
@given(ANY_TEXT)
def test_events_loader_loads_or_explains(text: str) -> None:
    try:
        spec = parse_events(text, "events.csv")
    except GeneratorError as error:
        assert_explained(error)
    else:
        check_events(spec)


@fuzz(400)
@given(ANY_TEXT)
def test_flows_loader_loads_or_explains(text: str) -> None:
    try:
        flows = parse_flows(text, "flows.csv", EVENTS)
    except GeneratorError as error:
        assert_explained(error)
    else:
        assert flows.flows
        assert all(f.name and f.steps for f in flows.flows)
        assert all(step in EVENTS.events for f in flows.flows for step in f.steps)
        assert len({f.name.casefold() for f in flows.flows}) == len(flows.flows)


@fuzz(400)
@given(ANY_TEXT)
def test_lookup_loader_loads_or_explains(text: str) -> None:
    try:
        lookup = parse_lookup(text, "lookup.csv", EVENTS)
    except GeneratorError as error:
        assert_explained(error)
    else:
        assert all(a.values for a in lookup.attributes)
        assert EVENTS.primary_key.casefold() not in [a.name.casefold() for a in lookup.attributes]


BYTES = st.one_of(
    st.binary(max_size=400),
    SHEETISH.map(lambda t: t.encode("utf-8", "surrogatepass")),
    SHEETISH.map(lambda t: t.encode("utf-16", "surrogatepass")),
    st.tuples(
        st.sampled_from([b"PK\x03\x04", b"\xef\xbb\xbf", b"\xff\xfe", b"%PDF"]), st.binary()
    ).map(b"".join),
)


@fuzz(500)
@given(BYTES)
def test_decoding_any_bytes_gives_text_or_a_message(data: bytes) -> None:
    try:
        text = decode(data, "events.csv")
        rows = parse_rows(text, "events.csv")
    except GeneratorError as error:
        assert_explained(error)
    else:
        assert rows and rows[-1] and all(cell == cell.strip() for row in rows for cell in row)


@fuzz(150)
@given(BYTES, BYTES, BYTES)
def test_three_files_of_any_bytes_load_or_explain(
    events: bytes, flows: bytes, lookup: bytes
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for name, data in (("events.csv", events), ("flows.csv", flows), ("lookup.csv", lookup)):
            path = os.path.join(folder, name)
            with open(path, "wb") as handle:
                handle.write(data)
            paths.append(path)
        try:
            product = load_product(*paths)
        except GeneratorError as error:
            assert_explained(error)
            assert error.file in paths
        else:
            check_events(product.events)


# -- the command line ------------------------------------------------------------------------------

FLAGS = [
    "--events",
    "--flows",
    "--lookup",
    "--users",
    "--output",
    "--seed",
    "--end",
    "--days",
    "--workers",
    "--force",
    "--check",
    "--help",
    "-h",
    "--",
    "-",
]
VALUES = [
    example("events.csv"),
    example("flows.csv"),
    example("lookup_table.csv"),
    os.path.join(FIXTURES, "bad", "events_xlsx.csv"),
    os.path.join(FIXTURES, "bad", "flows_unknown_step.csv"),
    FIXTURES,
    "1",
    "0",
    "-1",
    "20",
    "99999999999999999999999",
    "1e3",
    "2026-11-29",
    "2026-11-29T18:00:00+01:00",
    "0001-01-01",
    "",
    " ",
    "nan",
]
ARGUMENT = st.one_of(st.sampled_from(FLAGS), st.sampled_from(VALUES), st.text(max_size=20))


def _complete(args: list[str], tmp: str) -> list[str]:
    """Half the time, give every flag a run needs (so that deeper checks are reached)."""
    return [
        *args,
        *EXAMPLE_FILES,
        "--users",
        "3",
        "--output",
        os.path.join(tmp, "out"),
    ]


class Reached(Exception):
    """The front called ``generate`` with a configuration that passed every check."""


@fuzz(400)
@given(args=st.lists(ARGUMENT, max_size=12), complete=st.booleans())
def test_any_command_line_runs_is_refused_or_shows_help(
    args: list[str], complete: bool, monkeypatch_module: pytest.MonkeyPatch
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        argv = _complete(args, tmp) if complete else args

        def fake_generate(config: RunConfig, **kwargs: object) -> None:
            config.check()
            raise Reached(config)

        monkeypatch_module.setattr(event_generator, "generate", fake_generate)
        out, err = io.StringIO(), io.StringIO()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                status = event_generator.main(argv)
        except Reached:
            return
        except SystemExit as exit_:  # --help
            assert exit_.code == 0 and "usage:" in out.getvalue()
            return
        if status == 0:
            assert "--check" in argv and "nothing was generated" in out.getvalue()
        else:
            assert status == 2, (argv, err.getvalue())
            message = err.getvalue()
            assert message.startswith("error: ") and message.strip() != "error:"
            assert "Traceback" not in message
        assert not os.path.exists(os.path.join(tmp, "out")), "nothing written without a run"


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    """A monkeypatch that hypothesis may share between examples (it is reset after the module)."""
    patcher = pytest.MonkeyPatch()
    yield patcher
    patcher.undo()
