"""The questions, driven through questionary's pipe input (no terminal needed).

Keys: ``\\r`` is Enter, ``\\x15`` (Ctrl-U) clears the answer shown, ``\\x1b[B`` is the down arrow.
After the keys the pipe is closed, so a question nobody expected ends the test with EOFError
instead of waiting.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from event_generator import build_parser
from frontend import prompts
from frontend.options import Plan, gather
from frontend.values import clean_path, next_free_folder
from generator import (
    DEFAULT_USERS,
    ContinueConfig,
    FolderState,
    GeneratorError,
    Inspection,
    OutputExistsError,
    Product,
    RunConfig,
    UsageError,
    carry_on,
    generate,
    inspect,
    load_events,
    load_flows,
)
from tests.helpers import END, END_MS, FIXTURES, example, tree_bytes

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
CLEAR = "\x15"
DOWN = "\x1b[B"


@contextmanager
def keys(text: str) -> Iterator[dict[str, Any]]:
    """Prompt kwargs whose input is ``text`` typed at the keyboard."""
    with create_pipe_input() as pipe:
        pipe.send_text(text)
        pipe.close()
        yield {"input": pipe, "output": DummyOutput()}


def bad(name: str) -> str:
    return os.path.join(FIXTURES, "bad", name)


# -- checks made inside the prompt -----------------------------------------------------------------


@pytest.mark.parametrize(("text", "users"), [("1000", 1000), ("1,000", 1000), (" 7 ", 7)])
def test_a_whole_number_of_users_is_accepted(text: str, users: int) -> None:
    assert prompts.users_problem(text) is True
    with keys(CLEAR + text + "\r") as kwargs:
        assert prompts.ask_users(**kwargs) == users


@pytest.mark.parametrize("text", ["", "0", "-3", "abc", "1.5", "1e3", "١٢", "9" * 200])
def test_anything_else_is_not_a_number_of_users(text: str) -> None:
    problem = prompts.users_problem(text)
    assert isinstance(problem, str) and "whole number" in problem
    assert len(problem) < 100, "fits the line under the prompt"


def test_a_bad_number_is_asked_again_and_enter_takes_the_default() -> None:
    with keys("abc\r" + CLEAR + "0\r" + CLEAR + "25\r") as kwargs:
        assert prompts.ask_users(**kwargs) == 25
    with keys("\r") as kwargs:
        assert prompts.ask_users(**kwargs) == DEFAULT_USERS


def test_file_answers_that_are_not_files_are_refused_in_the_prompt(tmp_path: Any) -> None:
    assert prompts.file_problem(example("events.csv")) is True
    assert "no such file" in str(prompts.file_problem(os.path.join(tmp_path, "nope.csv")))
    assert "is a folder" in str(prompts.file_problem(os.fspath(tmp_path)))
    assert "type the path" in str(prompts.file_problem("   "))
    assert "no such file" in str(prompts.file_problem("a\x00b"))
    if os.path.exists("/dev/zero"):
        assert "is not a file" in str(prompts.file_problem("/dev/zero"))
    long = prompts.file_problem("/" + "x" * 5000)
    assert isinstance(long, str) and len(long) < 100


def test_a_pasted_or_dropped_path_is_understood(tmp_path: Any) -> None:
    spaced = os.path.join(tmp_path, "my events.csv")
    with open(spaced, "w") as handle:
        handle.write("x")
    assert clean_path(f"  '{spaced}' ") == spaced
    assert clean_path(spaced.replace(" ", "\\ ")) == spaced
    assert clean_path("~/x.csv") == os.path.expanduser("~/x.csv")


def test_output_folder_answers(tmp_path: Any) -> None:
    a_file = os.path.join(tmp_path, "file.txt")
    with open(a_file, "w") as handle:
        handle.write("x")
    assert prompts.folder_problem(os.path.join(tmp_path, "new", "deeper")) is True
    assert prompts.folder_problem(os.fspath(tmp_path)) is True
    assert "is a file" in str(prompts.folder_problem(a_file))
    assert "it is a file" in str(prompts.folder_problem(os.path.join(a_file, "inside")))
    assert "type the path" in str(prompts.folder_problem(""))


def test_the_default_output_folder_is_always_new(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert next_free_folder() == "output"
    os.mkdir("output")
    assert next_free_folder() == "output-2"
    os.mkdir("output-2")
    assert next_free_folder() == "output-3"
    assert next_free_folder("output-2") == "output-3"


# -- files are loaded at their question -----------------------------------------------------------


def test_a_wrong_path_then_a_file_that_does_not_load_then_a_good_one(tmp_path: Any) -> None:
    reported: list[str] = []
    typed = (
        CLEAR + os.path.join(tmp_path, "nope.csv") + "\r"  # refused in the prompt
        + CLEAR + bad("events_no_event_column.csv") + "\r"  # loads with an error
        + CLEAR + example("events.csv") + "\r"
    )  # fmt: skip
    with keys(typed) as kwargs:
        path, (spec, _warnings) = prompts.ask_file(
            "Events CSV file:", "examples/events.csv", load_events, reported.append, **kwargs
        )
    assert path == example("events.csv") and spec.primary_key == "userId"
    assert reported == [
        f"{bad('events_no_event_column.csv')}, row 1: no 'event' column (headers found: "
        "'shardkeys', 'name', 'platform'); the events file needs an 'event' column listing every "
        "event name"
    ]


def test_a_flows_file_is_checked_against_the_events_file() -> None:
    events, _ = load_events(example("events.csv"))
    reported: list[str] = []
    typed = CLEAR + bad("flows_unknown_step.csv") + "\r" + CLEAR + example("flows.csv") + "\r"
    with keys(typed) as kwargs:
        path, flows = prompts.ask_file(
            "Flows CSV file:", "", lambda p: load_flows(p, events)[0], reported.append, **kwargs
        )
    assert path == example("flows.csv") and flows.flows[0].name == "weekly order"
    assert len(reported) == 1
    assert "row 2, column 4" in reported[0] and "did you mean 'Add To Cart'?" in reported[0]


def test_an_existing_run_offers_another_folder_first_then_replace() -> None:
    seen = Inspection(FolderState.HOLDS_RUN, ("events", "lookup_table", "config"))
    with keys("\r") as kwargs:
        assert prompts.ask_existing_folder("out", seen, **kwargs) is prompts.FolderAction.ANOTHER
    with keys(DOWN + "\r") as kwargs:
        assert prompts.ask_existing_folder("out", seen, **kwargs) is prompts.FolderAction.REPLACE
    with keys(DOWN + DOWN + "\r") as kwargs:
        assert prompts.ask_existing_folder("out", seen, **kwargs) is prompts.FolderAction.CONTINUE
    assert "already holds a run" in prompts.existing_folder_message("out", seen)
    assert [c.action for c in prompts.folder_choices(seen)] == list(prompts.FolderAction)
    # The remains of an incomplete run cannot be continued: only another folder or replace.
    broken = Inspection(FolderState.INCOMPLETE, ("events",))
    assert [c.action for c in prompts.folder_choices(broken)] == [
        prompts.FolderAction.ANOTHER,
        prompts.FolderAction.REPLACE,
    ]


def test_continuing_at_the_folder_question_carries_the_run_on(tmp_path: Any) -> None:
    out = os.path.join(tmp_path, "out")
    flags = ["--users", "6", "--events", example("events.csv"), "--flows", example("flows.csv")]
    flags += ["--lookup", example("lookup_table.csv"), "--output", out, "--seed", "5"]
    first = generate(new_run([*flags, "--end", "2026-11-20"], None).config)
    later = plan([*flags, "--end", END], DOWN + DOWN + "\r")
    assert isinstance(later.config, ContinueConfig) and later.product is None
    result = carry_on(later.config)
    assert result.config.seed == 5 and result.config.users == first.config.users
    assert result.stats.events > 0
    assert any(name.startswith("run-001-") for name in os.listdir(os.path.join(out, "events")))


# -- flags, replay file and questions together ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NewRun:
    """A plan for a new run (not a continue), typed as such."""

    config: RunConfig
    product: Product
    seed_chosen: bool


def new_run(argv: list[str], typed: str | None, console: Console | None = None) -> NewRun:
    got = plan(argv, typed, console)
    assert isinstance(got.config, RunConfig) and got.product is not None
    return NewRun(got.config, got.product, got.seed_chosen)


def plan(argv: list[str], typed: str | None, console: Console | None = None) -> Plan:
    args = build_parser().parse_args(argv)
    console = console or Console(file=io.StringIO())
    if typed is None:
        return gather(args, NOW, interactive=False, console=console)
    with keys(typed) as kwargs:
        return gather(args, NOW, interactive=True, console=console, **kwargs)


def test_enter_through_every_question_uses_the_examples_and_a_new_folder(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = new_run(["--seed", "1"], "\r" * 5)
    config = first.config
    assert (config.users, config.output_dir, config.replace) == (1000, "output", False)
    for path, name in (
        (config.events_path, "events.csv"),
        (config.flows_path, "flows.csv"),
        (config.lookup_path, "lookup_table.csv"),
    ):
        assert os.path.samefile(path, example(name))
    assert config.end_ms == int(NOW.timestamp() * 1000) and not first.seed_chosen
    assert [f.name for f in first.product.flows.flows][:2] == ["weekly order", "recipe search"]
    os.makedirs(os.path.join("output", "config"))
    with open(os.path.join("output", "config", "run.json"), "w") as handle:
        handle.write("{}")
    assert new_run([], "\r" * 5).config.output_dir == "output-2"


def test_values_given_by_flags_are_not_asked(tmp_path: Any) -> None:
    console = Console(file=io.StringIO(), width=200)
    out = os.path.join(tmp_path, "out")
    # Only the flows and lookup questions are asked: two Enters, then the pipe is closed.
    got = new_run(
        ["--users", "7", "--events", example("events.csv"), "--output", out, "--end", END],
        "\r\r",
        console,
    )
    assert (got.config.users, got.config.output_dir, got.config.end_ms) == (7, out, END_MS)
    assert got.seed_chosen and got.config.seed >= 1
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Users 7 (from --users)" in shown and "(from --output)" in shown


def test_without_a_terminal_missing_values_are_named_and_nothing_waits() -> None:
    with pytest.raises(UsageError) as refused:
        plan(["--users", "5", "--flows", example("flows.csv")], None)
    message = str(refused.value)
    assert message.startswith("missing --events, --lookup, --output:")
    assert refused.value.exit_status == 2


def test_a_bad_file_given_by_a_flag_is_refused_before_any_question(tmp_path: Any) -> None:
    with pytest.raises(Exception) as refused:
        plan(["--events", bad("events_no_shardkeys.csv")], "")  # no keys: nothing may be asked
    assert "no 'shardkeys' column" in str(refused.value)


def test_a_flows_flag_must_fit_the_events_answer(tmp_path: Any) -> None:
    console = Console(file=io.StringIO(), width=300)
    typed = "\r" + CLEAR + bad("events_no_event_column.csv") + "\r" + CLEAR
    typed += example("events.csv") + "\r\r\r"
    got = new_run(["--flows", example("flows.csv"), "--seed", "3"], typed, console)
    assert got.config.flows_path == example("flows.csv")
    assert "no 'event' column" in console.file.getvalue()  # type: ignore[attr-defined]


def test_a_folder_holding_a_run_is_replaced_or_another_chosen(tmp_path: Any) -> None:
    out = os.path.join(tmp_path, "out")
    flags = ["--users", "3", "--events", example("events.csv"), "--flows", example("flows.csv")]
    flags += ["--lookup", example("lookup_table.csv"), "--output", out, "--seed", "2"]
    generate(new_run([*flags, "--end", END], None).config)
    assert inspect(out).state is FolderState.HOLDS_RUN
    assert new_run(flags, DOWN + "\r").config.replace
    other = new_run(flags, "\r\r")  # another folder; Enter takes the default offered
    assert (other.config.output_dir, other.config.replace) == (out + "-2", False)
    assert new_run([*flags, "--force"], "").config.replace  # --force: nothing asked
    with pytest.raises(OutputExistsError, match="already holds a previous run"):
        plan(flags, None)  # without a terminal: refused before the run is announced (exit 2)


def test_replay_repeats_a_run_byte_for_byte(tmp_path: Any) -> None:
    first = os.path.join(tmp_path, "first")
    flags = ["--users", "30", "--events", example("events.csv"), "--flows", example("flows.csv")]
    flags += ["--lookup", example("lookup_table.csv"), "--output", first, "--days", "20"]
    original = new_run(flags, None)  # no seed, no end: both chosen
    assert original.seed_chosen
    generate(original.config, product=original.product)
    again = os.path.join(tmp_path, "again")
    replayed = new_run(["--replay", first, "--output", again], None)
    recorded: dict[str, Any] = {
        "output_dir": again,
        "format": "json",
        "gzip": False,
    }  # as run.json states them
    assert replayed.config == dataclasses.replace(original.config, **recorded)
    generate(replayed.config, product=replayed.product)
    assert tree_bytes(first) == tree_bytes(again)
    # A flag overrides the replay file; the output folder is asked when not given.
    changed = new_run(["--replay", os.path.join(first, "config", "run.json"), "--users", "4"], "\r")
    assert (changed.config.users, changed.config.seed) == (4, original.config.seed)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "no config/run.json in this folder"),
        ("not json", "not a run record"),
        ('{"seed": 1}', "field 'end' is missing"),
        ('{"seed": 1, "end": "2026-01-01", "events": "e", "flows": "f", "lookup": "l",'
         ' "users": 5, "continued": [{"run": 1, "from": "2025-12-30", "to": "2026-01-01",'
         ' "new_users": 0, "users_total": 5, "events_written": 0}]}', "repeats a single run"),
        ('{"seed": 1, "end": "2026-01-01", "events": "e", "flows": "f", "lookup": "l",'
         ' "users": 5, "format": "csv", "gzip": true}', "field 'format' is \"csv\""),
        ('{"seed": 1, "end": "2026-01-01", "events": "e", "flows": "f", "lookup": "l",'
         ' "users": "many"}', "field 'users'"),
    ],
)  # fmt: skip
def test_a_replay_file_that_cannot_be_used_is_refused(
    tmp_path: Any, content: str | None, words: str
) -> None:
    target = os.fspath(tmp_path)
    if content is not None:
        target = os.path.join(tmp_path, "run.json")
        with open(target, "w") as handle:
            handle.write(content)
    with pytest.raises(GeneratorError) as refused:
        plan(["--replay", target], None)
    assert words in str(refused.value) and refused.value.exit_status == 2


def test_a_column_the_chosen_format_sets_itself_is_refused_before_the_run(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from event_generator import main
    from generator import InputError

    events = os.path.join(tmp_path, "events.csv")
    with open(events, "w") as handle:
        handle.write("shardkeys,event,time\nuserId,App Open,x\n")
    flows = os.path.join(tmp_path, "flows.csv")
    with open(flows, "w") as handle:
        handle.write("flow,s1\nopen,App Open\n")
    files = ["--events", events, "--flows", flows, "--lookup", example("lookup_table.csv")]
    # Given by a flag: refused before anything is asked.
    with pytest.raises(InputError, match="'time' is a field mixpanel sets itself"):
        plan([*files, "--format", "mixpanel", "--users", "3"], "")
    # Answered at the question: the message shows and the question is asked again.
    shown = io.StringIO()
    typed = CLEAR + "3\r" + CLEAR + events + "\r" + CLEAR + example("events.csv") + "\r\r\r"
    answered = new_run(["--format", "mixpanel", "--output", os.path.join(tmp_path, "o")], typed,
                    Console(file=shown, width=200))  # fmt: skip
    assert "'time' is a field mixpanel sets itself" in shown.getvalue()
    assert answered.config.events_path.endswith("events.csv") and answered.config.users == 3
    # --check with --format says so too (exit 2), not "valid".
    assert main(["--check", *files, "--format", "mixpanel"]) == 2
    assert "sets itself" in capsys.readouterr().err
    assert main(["--check", *files]) == 0


def test_a_replay_of_an_earlier_model_s_run_says_the_data_will_differ(tmp_path: Any) -> None:
    first = os.path.join(tmp_path, "first")
    flags = ["--users", "3", "--events", example("events.csv"), "--flows", example("flows.csv")]
    flags += ["--lookup", example("lookup_table.csv"), "--output", first, "--seed", "4"]
    generate(new_run([*flags, "--end", END], None).config)
    record = os.path.join(first, "config", "run.json")
    assert not plan(["--replay", record, "--output", first + "-2"], None).warnings
    with open(record, "rb") as handle:
        data = orjson.loads(handle.read())
    del data["model"]  # as the first edition wrote it
    with open(record, "wb") as handle:
        handle.write(orjson.dumps(data))
    said = plan(["--replay", record, "--output", first + "-3"], None).warnings
    assert len(said) == 1 and "made by user model 1" in said[0] and "other data" in said[0]
