"""The questions, driven through questionary's pipe input (no terminal needed).

Keys are typed the way people type: over the answer shown, without clearing it first.  ``\\r`` is
Enter, ``\\x7f`` Backspace, ``\\x1b[B`` the down arrow, ``\\x1b[C`` the right arrow.  After the keys
the pipe is closed, so a question nobody expected ends the test with EOFError instead of waiting.
``tests/test_terminal.py`` drives the same questions in a real pseudo-terminal.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from rich.console import Console

from event_generator import build_parser
from frontend import prompts, sheets
from frontend.options import Plan, cost_line, gather
from frontend.values import clean_path, next_free_folder
from generator import (
    DEFAULT_USERS,
    ContinueConfig,
    Estimate,
    FolderState,
    GeneratorError,
    Inspection,
    NoRoomError,
    OutputExistsError,
    Product,
    RunConfig,
    UsageError,
    carry_on,
    check_room,
    check_writable,
    generate,
    inspect,
)
from tests.helpers import END, END_MS, FIXTURES, example, keys, tree_bytes

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
DOWN, RIGHT, BACKSPACE = "\x1b[B", "\x1b[C", "\x7f"
PASTE = "\x1b[200~{}\x1b[201~"  # what a terminal sends for a paste (bracketed paste mode)
ENTERS = "\r" * 6  # output, events, flows, lookup, format, users


def bad(name: str) -> str:
    return os.path.join(FIXTURES, "bad", name)


# -- typing replaces the answer shown -------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "users"),
    [
        ("5000\r", 5000),  # typed over the default: not 10005000
        ("\r", DEFAULT_USERS),  # Enter takes the default
        (BACKSPACE + "7\r", 7),  # Backspace clears it
        (RIGHT + "5\r", 10005),  # an arrow key keeps it, to edit
        (PASTE.format("2,500") + "\r", 2500),  # a paste replaces it
        ("\x15" + "42\r", 42),  # Ctrl-U still clears it
        ("1,000\r", 1000),
        (" 7 \r", 7),
    ],
)
def test_typing_replaces_the_answer_shown(typed: str, users: int) -> None:
    with keys(typed) as kwargs:
        assert prompts.ask_users(**kwargs) == users


def test_a_refused_answer_is_selected_again_so_the_next_one_replaces_it() -> None:
    with keys("abc\r" + "0\r" + "25\r") as kwargs:
        assert prompts.ask_users(**kwargs) == 25


def test_a_path_typed_or_pasted_over_the_default_replaces_it(tmp_path: Any) -> None:
    target = example("flows.csv")
    for typed in (target, PASTE.format(target), f"'{target}'"):  # '/' starts a fresh answer too
        with keys(typed + "\r") as kwargs:
            assert prompts.ask_file("Flows CSV file:", example("events.csv"), **kwargs) == target
    with keys("\r") as kwargs:  # Enter keeps the default
        assert prompts.ask_file("F:", example("events.csv"), **kwargs) == example("events.csv")
    with keys("\r" + target + "\r") as kwargs:  # no default: Enter is refused, then typed
        assert prompts.ask_file("F:", "", **kwargs) == target
    folder = os.path.join(tmp_path, "run 1")
    with keys(folder + "\r") as kwargs:
        assert prompts.ask_output_folder("output", **kwargs) == folder


@pytest.mark.parametrize("text", ["", "0", "-3", "abc", "1.5", "1e3", "١٢", "9" * 200])
def test_anything_else_is_not_a_number_of_users(text: str) -> None:
    problem = prompts.users_problem(text)
    assert isinstance(problem, str) and "whole number" in problem
    assert len(problem) < 100, "fits the line under the prompt"


@pytest.mark.parametrize("text", ["2,00", "10,0000", "1,0,0", "1_0", "1,000_000", " 12, "])
def test_separators_out_of_place_are_refused_at_the_users_question(text: str) -> None:
    """``2,00`` was read as 200: now it is refused, saying how to write a number, and asked
    again with the answer selected, so the next one typed replaces it."""
    problem = prompts.users_problem(text)
    assert isinstance(problem, str) and "between groups of 3 digits (1,000)" in problem
    assert len(problem) < 100, "fits the line under the prompt"
    with keys(text + "\r" + "2,000\r") as kwargs:
        assert prompts.ask_users(**kwargs) == 2000


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


def test_output_folders_that_cannot_be_used_say_why(tmp_path: Any) -> None:
    a_file = os.path.join(tmp_path, "file.txt")
    with open(a_file, "w") as handle:
        handle.write("x")
    assert prompts.folder_problem(os.path.join(tmp_path, "new", "deeper")) is True
    assert "is a file" in str(prompts.folder_problem(a_file))
    assert "type the path" in str(prompts.folder_problem(""))
    # The rest is checked after Enter, with the whole message.
    check_writable(os.path.join(tmp_path, "new", "deeper"))
    assert os.listdir(tmp_path) == ["file.txt"], "the folder tried is removed again"
    with pytest.raises(UsageError, match=r"file\.txt is a file"):
        check_writable(os.path.join(a_file, "inside"))
    with pytest.raises(UsageError, match="too long: 300 bytes, where this file system allows"):
        check_writable(os.path.join(tmp_path, "x" * 300))
    deep = os.path.join(os.fspath(tmp_path), *(["d" * 200] * 20))
    with pytest.raises(UsageError, match="is too deep"):
        check_writable(deep)
    if os.geteuid() != 0:  # root may write anywhere
        locked = os.path.join(tmp_path, "locked")
        os.mkdir(locked, 0o500)
        with pytest.raises(UsageError, match="permission denied"):
            check_writable(os.path.join(locked, "out"))


def test_the_default_output_folder_is_new_unless_a_run_is_there_to_continue(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert next_free_folder() == "output"
    os.mkdir("output")
    assert next_free_folder() == "output-2"
    os.mkdir("output-2")
    assert next_free_folder() == "output-3"
    assert next_free_folder("output-2") == "output-3"


# -- Sheets file names ----------------------------------------------------------------------------


def export(folder: Any, name: str, source: str) -> str:
    path = os.path.join(folder, name)
    shutil.copyfile(example(source), path)
    return path


def test_the_flows_and_lookup_of_a_sheet_are_found_beside_its_events(tmp_path: Any) -> None:
    events = export(tmp_path, "FitTrack demo - Events.csv", "events.csv")
    flows = export(tmp_path, "FitTrack demo - Flows.csv", "flows.csv")
    lookup = export(tmp_path, "FitTrack demo - Lookup table.csv", "lookup_table.csv")
    export(tmp_path, "Other sheet - Flows.csv", "flows.csv")  # another spreadsheet's tab
    export(tmp_path, "flows.csv", "flows.csv")  # a plain name comes after the sheet's own
    assert sheets.sibling(events, sheets.FLOWS_TABS) == flows
    assert sheets.sibling(events, sheets.LOOKUP_TABS) == lookup
    # Downloaded again, the browser adds " (1)": the copy made with the events file wins.
    events_again = export(tmp_path, "FitTrack demo - Events (1).csv", "events.csv")
    flows_again = export(tmp_path, "FitTrack demo - Flows (1).csv", "flows.csv")
    assert sheets.sibling(events_again, sheets.FLOWS_TABS) == flows_again
    assert sheets.sibling(events, sheets.FLOWS_TABS) == flows
    assert sheets.read_name("A - B - Events (2).csv") == sheets.Export("A - B", "Events", 2)
    assert sheets.exported_events(os.fspath(tmp_path)) in (events, events_again)


def test_a_sheet_without_its_other_tabs_is_not_given_the_examples(tmp_path: Any) -> None:
    events = export(tmp_path, "FitTrack demo - Events.csv", "events.csv")
    assert sheets.sibling(events, sheets.FLOWS_TABS) is None
    assert sheets.sibling(events, sheets.LOOKUP_TABS) is None
    plain = export(tmp_path, "lookup_table.csv", "lookup_table.csv")
    assert sheets.sibling(events, sheets.LOOKUP_TABS) == plain
    assert sheets.sibling(example("events.csv"), sheets.LOOKUP_TABS) == example("lookup_table.csv")


def test_the_questions_offer_the_sheets_own_tabs_and_never_the_examples(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    os.mkdir("downloads")
    export("downloads", "FitTrack demo - Events.csv", "events.csv")
    export("downloads", "FitTrack demo - Flows.csv", "flows.csv")
    export("downloads", "FitTrack demo - Lookup table.csv", "lookup_table.csv")
    events = os.path.join("downloads", "FitTrack demo - Events.csv")
    got = new_run(["--seed", "1", "--users", "5"], "\r" + events + "\r\r\r\r")
    assert got.config.flows_path == os.path.join("downloads", "FitTrack demo - Flows.csv")
    assert got.config.lookup_path == os.path.join("downloads", "FitTrack demo - Lookup table.csv")
    # The events file's own folder lacks a lookup tab: nothing is offered, so Enter is refused
    # and the path must be typed.
    os.remove(os.path.join("downloads", "FitTrack demo - Lookup table.csv"))
    typed = "\r" + events + "\r\r" + "\r" + example("lookup_table.csv") + "\r\r"
    got = new_run(["--seed", "1", "--users", "5"], typed)
    assert got.config.lookup_path == example("lookup_table.csv")
    # Run from the downloads folder, the events question offers the export there.
    monkeypatch.chdir("downloads")
    export(".", "FitTrack demo - Lookup table.csv", "lookup_table.csv")
    got = new_run(["--seed", "1", "--users", "5"], "\r" * 5)
    assert got.config.events_path == "FitTrack demo - Events.csv"


# -- a folder that holds a run, the format, a large run -------------------------------------------


def test_a_folder_holding_a_run_offers_to_continue_it_first() -> None:
    seen = Inspection(FolderState.HOLDS_RUN, ("events", "lookup_table", "config"))
    with keys("\r") as kwargs:
        assert prompts.ask_existing_folder("out", seen, **kwargs) is prompts.FolderAction.CONTINUE
    with keys(DOWN + "\r") as kwargs:
        assert prompts.ask_existing_folder("out", seen, **kwargs) is prompts.FolderAction.ANOTHER
    with keys(DOWN + DOWN + "\r") as kwargs:
        assert prompts.ask_existing_folder("out", seen, **kwargs) is prompts.FolderAction.REPLACE
    # A continue the flags would refuse is shown with the reason and skipped.
    with keys("\r") as kwargs:
        action = prompts.ask_existing_folder("out", seen, "cannot: --users 5 differs", **kwargs)
    assert action is prompts.FolderAction.ANOTHER
    assert "already holds a run" in prompts.existing_folder_message("out", seen)
    # The remains of an incomplete run cannot be continued: only another folder or replace.
    broken = Inspection(FolderState.INCOMPLETE, ("events",))
    assert [c.action for c in prompts.folder_choices(broken)] == [
        prompts.FolderAction.ANOTHER,
        prompts.FolderAction.REPLACE,
    ]


def test_the_format_question_offers_json_first_then_the_tools() -> None:
    names = ("json", "jsonl", "amplitude", "mixpanel", "segment", "posthog")
    with keys("\r") as kwargs:
        assert prompts.ask_format("json", names, {}, **kwargs) == "json"
    with keys(DOWN + DOWN + "\r") as kwargs:
        assert prompts.ask_format("json", names, {}, **kwargs) == "amplitude"
    with keys(DOWN + DOWN + DOWN + "\r") as kwargs:  # mixpanel cannot be chosen: skipped
        assert prompts.ask_format("json", names, {"mixpanel": "why"}, **kwargs) == "segment"


def test_a_large_run_is_confirmed_only_when_the_person_says_so() -> None:
    with keys("\r") as kwargs:
        assert prompts.confirm_cost("Generate it?", **kwargs) is False
    with keys("y") as kwargs:
        assert prompts.confirm_cost("Generate it?", **kwargs) is True


# -- flags, replay file and questions together ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NewRun:
    """A plan for a new run (not a continue), typed as such."""

    config: RunConfig
    product: Product
    seed_chosen: bool
    plan: Plan


def new_run(argv: list[str], typed: str | None, console: Console | None = None) -> NewRun:
    got = plan(argv, typed, console)
    assert isinstance(got.config, RunConfig) and got.product is not None
    return NewRun(got.config, got.product, got.seed_chosen, got)


def clock(times: list[datetime] | None = None) -> Any:
    """A clock that moves one second each time it is read (``times`` records the readings)."""
    readings = times if times is not None else []

    def now() -> datetime:
        readings.append(NOW + timedelta(seconds=len(readings)))
        return readings[-1]

    return now


def plan(
    argv: list[str], typed: str | None, console: Console | None = None, now: Any = None
) -> Plan:
    args = build_parser().parse_args(argv)
    console = console or Console(file=io.StringIO(), width=200)
    now = now or (lambda: NOW)
    if typed is None:
        return gather(args, now, interactive=False, console=console)
    with keys(typed) as kwargs:
        return gather(args, now, interactive=True, console=console, **kwargs)


@pytest.fixture
def here(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)
    yield os.fspath(tmp_path)


def test_enter_through_every_question_uses_the_examples_and_a_new_folder(here: str) -> None:
    readings: list[datetime] = []
    first = plan(["--seed", "1"], ENTERS, now=clock(readings))
    config = first.config
    assert isinstance(config, RunConfig) and first.product is not None
    assert (config.users, config.output_dir, config.replace) == (1000, "output", False)
    assert config.format == "json"
    for path, name in (
        (config.events_path, "events.csv"),
        (config.flows_path, "flows.csv"),
        (config.lookup_path, "lookup_table.csv"),
    ):
        assert os.path.samefile(path, example(name))
    # "Now" is read once the questions are over, not when the tool started.
    assert config.end_ms == int(readings[-1].timestamp() * 1000) and len(readings) >= 2
    assert not first.seed_chosen
    assert [f.name for f in first.product.flows.flows][:2] == ["weekly order", "recipe search"]
    assert first.estimate is not None and 100_000 < first.estimate.events < 400_000
    line = cost_line(first)
    assert line is not None and line.startswith("Estimate: about ") and " free)" in line


def test_values_given_by_flags_are_not_asked(tmp_path: Any) -> None:
    console = Console(file=io.StringIO(), width=200)
    out = os.path.join(tmp_path, "out")
    # Only the flows, lookup and format questions are asked: three Enters, then the pipe closes.
    got = new_run(
        ["--users", "7", "--events", example("events.csv"), "--output", out, "--end", END],
        "\r\r\r",
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
    with pytest.raises(GeneratorError) as refused:
        plan(["--events", bad("events_no_shardkeys.csv")], "")  # no keys: nothing may be asked
    assert "no 'shardkeys' column" in str(refused.value)


def test_a_flows_flag_must_fit_the_events_answer(tmp_path: Any) -> None:
    console = Console(file=io.StringIO(), width=300)
    out = os.path.join(tmp_path, "o")
    typed = bad("events_no_event_column.csv") + "\r" + example("events.csv") + "\r\r\r\r"
    got = new_run(["--flows", example("flows.csv"), "--seed", "3", "--output", out], typed, console)
    assert got.config.flows_path == example("flows.csv")
    assert "no 'event' column" in console.file.getvalue()  # type: ignore[attr-defined]


# -- every answer checked at its question ---------------------------------------------------------


def test_an_output_folder_that_cannot_be_used_is_asked_again_at_once(tmp_path: Any) -> None:
    """Someone else's files, a name too long, a place under a file: each is said at the folder
    question, which is asked again; the other answers come after it."""
    theirs = os.path.join(tmp_path, "theirs")
    os.makedirs(os.path.join(theirs, "events"))
    with open(os.path.join(theirs, "events", "notes.txt"), "w") as handle:
        handle.write("mine")
    a_file = os.path.join(tmp_path, "file.txt")
    with open(a_file, "w") as handle:
        handle.write("x")
    good = os.path.join(tmp_path, "good")
    typed = theirs + "\r" + os.path.join(tmp_path, "n" * 300) + "\r"
    typed += os.path.join(a_file, "out") + "\r" + good + "\r" + "\r" * 5
    console = Console(file=io.StringIO(), width=100)
    got = new_run(["--seed", "1", "--users", "4"], typed, console)
    assert got.config.output_dir == good
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "files this tool did not write ('notes.txt')" in shown
    assert "is too long: 300 bytes" in shown
    assert "file.txt is a file" in shown
    assert os.listdir(os.path.join(theirs, "events")) == ["notes.txt"]
    # Every message is one line, however long: never wrapped into its own text.
    assert all(len(line) > 100 for line in shown.splitlines() if line.startswith("✗"))


def test_a_folder_holding_a_run_is_continued_replaced_or_another_chosen(tmp_path: Any) -> None:
    out = os.path.join(tmp_path, "out")
    flags = ["--users", "3", "--events", example("events.csv"), "--flows", example("flows.csv")]
    flags += ["--lookup", example("lookup_table.csv"), "--output", out, "--seed", "2"]
    generate(new_run([*flags, "--end", "2026-11-20"], None).config)
    assert inspect(out).state is FolderState.HOLDS_RUN
    later = plan([*flags, "--end", END], "\r")  # continue: the first choice
    assert isinstance(later.config, ContinueConfig) and later.config.end_ms == END_MS
    assert later.estimate is not None and later.estimate.events > 0
    # The format is asked too (no --format): one more Enter.
    assert new_run([*flags, "--end", END], DOWN + DOWN + "\r" + "\r").config.replace
    other = new_run([*flags, "--end", END], DOWN + "\r\r\r")  # another: Enter takes the one offered
    assert (other.config.output_dir, other.config.replace) == (out + "-2", False)
    assert new_run([*flags, "--force", "--end", END], "\r").config.replace  # --force: not asked
    with pytest.raises(OutputExistsError, match="already holds a previous run"):
        plan([*flags, "--end", END], None)  # no terminal: refused before the run is announced


def test_continuing_at_the_folder_question_carries_the_run_on(tmp_path: Any) -> None:
    out = os.path.join(tmp_path, "out")
    flags = ["--users", "6", "--events", example("events.csv"), "--flows", example("flows.csv")]
    flags += ["--lookup", example("lookup_table.csv"), "--output", out, "--seed", "5"]
    first = generate(new_run([*flags, "--end", "2026-11-20"], None).config)
    later = plan(["--output", out, "--end", END], "\r")
    assert isinstance(later.config, ContinueConfig) and later.product is None
    assert later.users == 6, "the progress counts the users the continue walks on"
    assert plan(["--continue", "--output", out, "--end", END], None).users == 6
    result = carry_on(later.config)
    assert result.config.seed == 5 and result.config.users == first.config.users
    assert result.stats.events > 0
    assert any(name.startswith("run-001-") for name in os.listdir(os.path.join(out, "events")))


def test_a_continue_that_the_flags_would_refuse_cannot_be_chosen(tmp_path: Any) -> None:
    out = os.path.join(tmp_path, "out")
    flags = ["--events", example("events.csv"), "--flows", example("flows.csv")]
    flags += ["--lookup", example("lookup_table.csv"), "--output", out, "--seed", "5"]
    generate(new_run([*flags, "--users", "6", "--end", "2026-11-20"], None).config)
    # --users 9 differs from the run's 6: the first choice is skipped, Enter takes "another".
    got = new_run([*flags, "--users", "9", "--end", END], "\r\r\r")
    assert got.config.output_dir == out + "-2" and got.config.users == 9


def test_replacing_a_run_offers_its_answers(here: str) -> None:
    flags = ["--users", "6", "--events", example("events.csv"), "--flows", example("flows.csv")]
    flags += ["--lookup", example("lookup_table.csv"), "--output", "output", "--seed", "5"]
    generate(new_run([*flags, "--format", "jsonl", "--end", "2026-11-20"], None).config)
    # The default folder is the run's; replace it; every default is the replaced run's answer.
    got = new_run(["--end", END], "\r" + DOWN + DOWN + "\r" + "\r" * 5)
    assert (got.config.output_dir, got.config.replace) == ("output", True)
    assert (got.config.users, got.config.format) == (6, "jsonl")


def test_a_run_that_would_not_fit_is_refused_or_asked_again(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The estimate is checked against the free space at the users question (the last one): an
    answer that does not fit is said and asked again; without a terminal it is exit status 2,
    before anything is written, unless --force."""
    monkeypatch.setattr(os, "statvfs", lambda path: _tiny_disk())
    out = os.path.join(tmp_path, "out")
    files = ["--events", example("events.csv"), "--flows", example("flows.csv")]
    files += ["--lookup", example("lookup_table.csv"), "--output", out, "--end", END]
    with pytest.raises(NoRoomError, match=r"needs about [\d.]+ MB and the disk that holds"):
        plan([*files, "--users", "1000"], None)
    assert not os.path.exists(out)
    assert new_run([*files, "--users", "1000", "--force"], None).config.users == 1000
    console = Console(file=io.StringIO(), width=300)
    got = new_run(files, "\r" + "\r5000\r" + "3\r", console)  # 1000 and 5000 do not fit; 3 does
    assert got.config.users == 3
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert shown.count("this run needs about") == 2 and "2.0 MB free" in shown
    # Given by a flag in a terminal: said, and asked with the flag's value ready to edit.
    got = new_run([*files, "--users", "1000"], "\r" + "2\r", console)
    assert got.config.users == 2
    assert "from --users: this run needs about" in console.file.getvalue()  # type: ignore[attr-defined]
    estimate = Estimate(users=1, events=1, bytes=10**18, seconds=1.0, sample=1)
    with pytest.raises(NoRoomError):
        check_room(estimate, out)


def _tiny_disk() -> os.statvfs_result:
    """A file system with 2 MB free (500 blocks of 4 kB)."""
    return os.statvfs_result((4096, 4096, 1000, 500, 500, 1000, 500, 500, 0, 255))


def test_a_large_run_asks_before_it_starts(tmp_path: Any) -> None:
    """Over 10 GB (or 10 minutes): a confirmation, No by default, and the users asked again."""
    out = os.path.join(tmp_path, "out")
    files = ["--events", example("events.csv"), "--flows", example("flows.csv")]
    files += ["--lookup", example("lookup_table.csv"), "--output", out, "--end", END, "--force"]
    got = new_run(files, "\r" + "300000\r" + "\r" + "40\r")  # 300,000 users: about 19 GB
    assert got.config.users == 40
    got = new_run(files, "\r" + "300000\r" + "y")
    assert got.config.users == 300_000
    assert got.plan.estimate is not None and got.plan.estimate.large


# -- the end time ---------------------------------------------------------------------------------


def test_an_end_in_the_future_is_refused_unless_allowed(tmp_path: Any) -> None:
    out = os.path.join(tmp_path, "out")
    flags = ["--users", "3", "--events", example("events.csv"), "--flows", example("flows.csv")]
    flags += ["--lookup", example("lookup_table.csv"), "--output", out]
    with pytest.raises(UsageError, match=r"--end 2026-12-01T00:00:00.000Z is in the future"):
        plan([*flags, "--end", "2026-12-01"], None)
    allowed = new_run([*flags, "--end", "2026-12-01", "--allow-future"], None)
    assert allowed.config.end_ms > int(NOW.timestamp() * 1000)
    with pytest.raises(UsageError, match="is in the future"):
        plan(["--continue", "--output", out, "--end", "2027-01-01"], None)


# -- --replay -------------------------------------------------------------------------------------


def test_replay_repeats_a_run_byte_for_byte(tmp_path: Any) -> None:
    first = os.path.join(tmp_path, "first")
    flags = ["--users", "30", "--events", example("events.csv"), "--flows", example("flows.csv")]
    flags += ["--lookup", example("lookup_table.csv"), "--output", first, "--days", "20"]
    original = new_run(flags, None)  # no seed, no end: both chosen
    assert original.seed_chosen
    generate(original.config, product=original.product)
    again = os.path.join(tmp_path, "again")
    replayed = new_run(["--replay", first, "--output", again], None)
    assert replayed.config == dataclasses.replace(original.config, output_dir=again)
    assert replayed.plan.warnings == ()
    generate(replayed.config, product=replayed.product)
    assert tree_bytes(first) == tree_bytes(again)
    # A flag overrides the replay file; the output folder is asked when not given.
    changed = new_run(["--replay", os.path.join(first, "config", "run.json"), "--users", "4"], "\r")
    assert (changed.config.users, changed.config.seed) == (4, original.config.seed)


def test_a_replay_offers_a_folder_that_does_not_exist_yet(here: str) -> None:
    """A replay makes a new run: the folder of the latest run here (another run altogether) is
    not offered, or Enter would offer to continue or replace it."""
    flags = ["--users", "3", "--events", example("events.csv"), "--flows", example("flows.csv")]
    flags += ["--lookup", example("lookup_table.csv"), "--seed", "2", "--end", END]
    for folder in ("base", "output-2"):
        generate(new_run([*flags, "--output", folder], None).config)
    os.mkdir("output")  # not a run: taken all the same
    replayed = new_run(["--replay", "base"], "\r")  # only the folder is asked
    assert replayed.config.output_dir == "output-3" and not replayed.config.replace


def test_replay_warns_when_an_input_file_changed_since_the_run(tmp_path: Any) -> None:
    sheet = os.path.join(tmp_path, "sheet")
    shutil.copytree(os.path.dirname(example("events.csv")), sheet)
    first = os.path.join(tmp_path, "first")
    files = ["--events", os.path.join(sheet, "events.csv"), "--flows"]
    files += [os.path.join(sheet, "flows.csv"), "--lookup", os.path.join(sheet, "lookup.csv")]
    os.rename(os.path.join(sheet, "lookup_table.csv"), os.path.join(sheet, "lookup.csv"))
    generate(new_run([*files, "--users", "3", "--output", first, "--end", END], None).config)
    with open(os.path.join(sheet, "flows.csv"), "a") as handle:
        handle.write("one more,,,App Open\n")
    replayed = new_run(["--replay", first, "--output", os.path.join(tmp_path, "again")], None)
    assert len(replayed.plan.warnings) == 1
    warning = replayed.plan.warnings[0]
    assert warning.startswith("the flows file ") and "has changed since the run" in warning
    # A record written before digests were recorded replays without a word.
    record = os.path.join(first, "config", "run.json")
    with open(record, "rb") as handle:
        text = handle.read()
    import orjson

    data = orjson.loads(text)
    del data["digests"]
    with open(record, "wb") as handle:
        handle.write(orjson.dumps(data))
    older = new_run(["--replay", first, "--output", os.path.join(tmp_path, "again")], None)
    assert older.plan.warnings == ()


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
    out = ["--output", os.path.join(tmp_path, "o")]
    # Given by a flag: refused before anything is asked.
    with pytest.raises(InputError, match="'time' is a field mixpanel sets itself"):
        plan([*files, "--format", "mixpanel", "--users", "3"], "")
    # Answered at the question: the message shows and the question is asked again.
    shown = io.StringIO()
    typed = events + "\r" + example("events.csv") + "\r\r\r"
    answered = new_run(["--format", "mixpanel", "--users", "3", *out], typed,
                       Console(file=shown, width=200))  # fmt: skip
    assert "'time' is a field mixpanel sets itself" in shown.getvalue()
    assert answered.config.events_path.endswith("events.csv") and answered.config.users == 3
    # Asked, the format question offers only the formats the sheet can be written in: mixpanel
    # is skipped (json, jsonl, amplitude, then segment).
    typed = DOWN * 3 + "\r"
    chosen = new_run([*files, "--users", "3", *out], typed)
    assert chosen.config.format == "segment"
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


def test_ctrl_c_over_the_answer_shown_cancels_at_once() -> None:
    """With a selection, Ctrl-C starts emacs' ``c-c >``: it must not wait for a second key."""
    with keys("\x03") as kwargs, pytest.raises(KeyboardInterrupt):
        prompts.ask_users(**kwargs)
    with keys("\x03") as kwargs, pytest.raises(KeyboardInterrupt):
        prompts.ask_file("Events CSV file:", example("events.csv"), **kwargs)
