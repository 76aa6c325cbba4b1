"""End to end: the real script in a pseudo-terminal (pexpect), as a person would use it, and with
standard input closed, as a script would.

Everything runs from a copy of the program in a deep temporary folder, in a deep working folder,
so that every path in a message is longer than the terminal is wide: a message must reach the
terminal whole (one line, however the terminal folds it), never wrapped into its own text.
Answers are typed the way people type, over the answer shown, without clearing it first, and the
tests wait for what they expect to see, never for a number of seconds.

Runs are kept short with ``--days 5`` (fewer events per user); the questions are the same.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from typing import Any

import orjson
import pexpect
import pytest

from generator import RunConfig, calibrate, load_product, parse_iso
from generator.limits import CALIBRATION_USERS
from tests.helpers import END, EXAMPLES, FIXTURES, ROOT, example, read_events, wait_until

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")
ENTER, DOWN, CTRL_C, TAB = "\r", "\x1b[B", "\x03", "\t"
QUESTIONS = ("Output folder", "Events CSV file", "Flows CSV file", "Lookup-table CSV", "Format",
             "How many users")  # fmt: skip
WIDTH = 100  # columns of the pseudo-terminal: every path below is longer
DEEP = os.path.join(*(f"a-folder-with-a-long-name-{n}" for n in range(4)))


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the program (and of the files the tests feed it) at a path of about 200
    characters, as a checkout in a deep folder would be."""
    target = os.path.join(tmp_path_factory.mktemp("checkout"), DEEP, "event-generator")
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("generator", "frontend", "examples"):
        shutil.copytree(os.path.join(ROOT, name), os.path.join(target, name), symlinks=True,
                        ignore=skip)  # fmt: skip
    shutil.copytree(FIXTURES, os.path.join(target, "tests", "fixtures"), ignore=skip)
    shutil.copy(os.path.join(ROOT, "event_generator.py"), target)
    assert len(target) > 2 * WIDTH - 40
    return target


@pytest.fixture
def here(tmp_path: Any) -> str:
    """A deep working folder for one test."""
    folder = os.path.join(tmp_path, DEEP)
    os.makedirs(folder)
    return folder


def spawn(checkout: str, cwd: str, *flags: str) -> pexpect.spawn:
    # Nothing in a pexpect pty answers the cursor-position query a real terminal answers at once;
    # without this prompt_toolkit waits for the answer at every question.
    env = {**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    env.pop("NO_COLOR", None)
    return pexpect.spawn(
        sys.executable,
        [os.path.join(checkout, "event_generator.py"), *flags],
        cwd=cwd,
        env=env,
        dimensions=(50, WIDTH),
        encoding="utf-8",
        timeout=60,
    )


def answer(child: pexpect.spawn, question: str, text: str = "") -> None:
    """Wait for ``question`` (so that the prompt reads the keys), type ``text`` over the answer
    shown, and press Enter."""
    child.expect(question)
    child.send(text + ENTER)


def shown_whole(child: pexpect.spawn, message: str) -> None:
    """``message`` reaches the terminal in one piece (the terminal folds it; nothing cuts it)."""
    child.expect_exact(message)


def finish(child: pexpect.spawn) -> tuple[int, str]:
    """Wait for the end; return the exit status and everything shown, without escape codes."""
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, ANSI.sub("", child.before or "")


def run_json(folder: str) -> dict[str, Any]:
    with open(os.path.join(folder, "config", "run.json"), "rb") as handle:
        data: dict[str, Any] = orjson.loads(handle.read())
    return data


def sheet_exports(folder: str, name: str = "FitTrack demo") -> dict[str, str]:
    """The examples, named as Google Sheets names the exports of a spreadsheet's three tabs."""
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for tab, source in (("Events", "events"), ("Flows", "flows"), ("Lookup table", "lookup_table")):
        paths[tab] = os.path.join(folder, f"{name} - {tab}.csv")
        shutil.copyfile(example(f"{source}.csv"), paths[tab])
    return paths


# -- in a terminal --------------------------------------------------------------------------------


def test_enter_through_every_question_generates_data_from_the_examples(
    checkout: str, here: str
) -> None:
    child = spawn(checkout, here, "--days", "5", "--end", END)
    for question in QUESTIONS:
        answer(child, question)
    child.expect("Estimate: about [0-9,]+ events, [0-9.]+ [kMG]B on disk")
    child.expect("Generating")
    status, shown = finish(child)
    assert status == 0, shown
    folder = os.path.join(here, "output")
    events = read_events(folder)
    assert len(events) > 1000 and {"userId", "session_id", "event", "ts"} <= set(events[0])
    record = run_json(folder)
    assert record["users"] == 1000 and record["end"] == "2026-11-29T12:00:00.000Z"
    assert record["format"] == "json"
    # The seed was chosen, shown, and the command shown repeats the run.
    assert f"Seed {record['seed']} (chosen for this run)" in shown
    assert f"--seed {record['seed']} --end 2026-11-29T12:00:00.000Z --days 5" in shown
    for heading in ("Events by name", "Funnels", "churned", "Weekly active users", "Files written"):
        assert heading in shown


def test_answers_typed_over_the_defaults_and_a_sheets_own_files_are_used(
    checkout: str, here: str
) -> None:
    """Items 1, 2 and 5 of issue 12: what is typed replaces the default (40 users, not 100040),
    the flows and lookup questions offer the spreadsheet's own tabs, the format is asked."""
    exports = sheet_exports(os.path.join(here, "downloads"))
    child = spawn(checkout, here, "--days", "5", "--end", END)
    answer(child, QUESTIONS[0], "fittrack-run")
    answer(child, QUESTIONS[1], os.path.join("downloads", "FitTrack demo - Events.csv"))
    child.expect(QUESTIONS[2])
    child.expect_exact("FitTrack demo - Flows.csv")  # the default offered: the sheet's own tab
    child.send(ENTER)
    child.expect(QUESTIONS[3])
    child.expect_exact("FitTrack demo - Lookup table.csv")
    child.send(ENTER)
    answer(child, QUESTIONS[4], DOWN + DOWN)  # json, jsonl, then amplitude
    answer(child, QUESTIONS[5], "40")
    status, shown = finish(child)
    assert status == 0, shown
    record = run_json(os.path.join(here, "fittrack-run"))
    assert (record["users"], record["format"]) == (40, "amplitude")
    for key, tab in (("events", "Events"), ("flows", "Flows"), ("lookup", "Lookup table")):
        assert os.path.samefile(record[key], exports[tab])


def test_tab_lists_the_candidates_and_completes_a_path(checkout: str, here: str) -> None:
    sheet_exports(os.path.join(here, "downloads"))
    child = spawn(checkout, here, "--days", "5", "--end", END, "--users", "20")
    answer(child, QUESTIONS[0])
    child.expect(QUESTIONS[1])
    child.send("downloads/Fit")  # typed over the default: the candidates are listed
    for candidate in ("Events.csv", "Flows.csv", "Lookup table.csv"):
        child.expect_exact(f"FitTrack demo - {candidate}")
    child.send(TAB)  # the first candidate
    child.expect_exact("Track demo - Events.csv")
    child.send(ENTER + ENTER)  # close the list, accept
    for question in QUESTIONS[2:5]:
        answer(child, question)
    status, shown = finish(child)
    assert status == 0, shown
    assert run_json(os.path.join(here, "output"))["events"].endswith("FitTrack demo - Events.csv")


def test_a_wrong_path_a_file_that_does_not_load_and_a_bad_number_are_asked_again(
    checkout: str, here: str
) -> None:
    bad_events = os.path.join(checkout, "tests", "fixtures", "bad", "events_no_event_column.csv")
    bad_flows = os.path.join(checkout, "tests", "fixtures", "bad", "flows_unknown_step.csv")
    examples = os.path.join(checkout, "examples")
    child = spawn(checkout, here, "--days", "5", "--end", END, "--seed", "5")
    answer(child, QUESTIONS[0])
    answer(child, QUESTIONS[1], "no/such/events.csv")
    child.expect_exact("no such file: no/such/events.csv")
    child.send(bad_events + ENTER)  # the refused answer is selected: this replaces it
    shown_whole(child, f"✗ {bad_events}, row 1: no 'event' column (headers found:")
    answer(child, QUESTIONS[1], os.path.join(examples, "events.csv"))  # asked again
    answer(child, QUESTIONS[2], bad_flows)
    shown_whole(child, f"✗ {bad_flows}, row 2, column 4: unknown event 'Add to cart'")
    child.expect_exact("(did you mean 'Add To Cart'?)")
    answer(child, QUESTIONS[2], os.path.join(examples, "flows.csv"))  # asked again
    answer(child, QUESTIONS[3])
    answer(child, QUESTIONS[4])
    answer(child, QUESTIONS[5], "ten")
    child.expect_exact("'ten' is not a whole number")
    child.send("-4" + ENTER + "40" + ENTER)  # each refused answer is replaced by the next
    status, shown = finish(child)
    assert status == 0, shown
    assert run_json(os.path.join(here, "output"))["users"] == 40


def test_an_output_folder_that_cannot_be_used_is_asked_again_at_once(
    checkout: str, here: str
) -> None:
    """Someone else's files, a name too long, a place under a file: said at the folder question,
    the first one, and asked again; nothing is refused after the last question."""
    theirs = os.path.join(here, "theirs")
    os.makedirs(os.path.join(theirs, "events"))
    with open(os.path.join(theirs, "events", "notes.txt"), "w") as handle:
        handle.write("mine")
    with open(os.path.join(here, "a-file"), "w") as handle:
        handle.write("x")
    child = spawn(checkout, here, "--days", "5", "--end", END, "--users", "20")
    answer(child, QUESTIONS[0], theirs)
    shown_whole(child, f"✗ output folder {theirs} holds an events/ folder with files this tool")
    answer(child, QUESTIONS[0], "n" * 300)
    child.expect_exact("is too long: 300 bytes, where this file system allows")
    answer(child, QUESTIONS[0], os.path.join("a-file", "out"))
    child.expect_exact("a-file is a file; choose another folder")
    answer(child, QUESTIONS[0], "good")
    for question in QUESTIONS[1:5]:
        answer(child, question)
    status, shown = finish(child)
    assert status == 0, shown
    assert run_json(os.path.join(here, "good"))["users"] == 20
    assert os.listdir(os.path.join(theirs, "events")) == ["notes.txt"]


def test_the_readme_s_non_interactive_command_asks_nothing_in_a_terminal(
    checkout: str, here: str
) -> None:
    """README, *Non-interactive use*: "with all of them given, nothing is asked".  Its command
    left out --format, and stopped at the format question in a terminal."""
    from frontend import options, prompts

    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    section = readme[readme.index("## Non-interactive use") :]
    start = section.index("```console\n") + len("```console\n")
    words = shlex.split(section[start : section.index("```", start)].replace("\\\n", " "))
    assert words[:2] == ["python3", "event_generator.py"]
    flags = words[2:]
    asked = {question.key for question in options._questions(prompts)}
    assert {f"--{key}" for key in asked} <= set(flags), "every question has its flag there"
    os.symlink(os.path.join(checkout, "examples"), os.path.join(here, "examples"))
    child = spawn(checkout, here, *flags)
    status, shown = finish(child)
    assert status == 0, shown
    assert "Wrote " in shown and "Enter accepts" not in shown
    assert not re.search(r"^\s*\? ", shown, re.MULTILINE), "no question (questionary's '? ')"
    for label in ("Output folder out", "Events CSV file", "Format json", "Users 1,000"):
        assert f"✓ {label}" in shown, label  # each answer shown as given, none asked
    assert run_json(os.path.join(here, "out"))["format"] == "json"


def test_running_again_offers_to_continue_the_run_first(checkout: str, here: str) -> None:
    """Item 7: a plain rerun keeps the data set current, two Enters."""
    flags = ["--users", "20", "--days", "5", "--seed", "4", "--end", "2026-11-25"]
    first = subprocess.run(
        [sys.executable, os.path.join(checkout, "event_generator.py"), *flags, "--events",
         example("events.csv"), "--flows", example("flows.csv"), "--lookup",
         example("lookup_table.csv"), "--output", "output"],
        cwd=here, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    child = spawn(checkout, here)
    child.expect(QUESTIONS[0])
    child.expect_exact("output")  # the run's folder is the default
    child.send(ENTER)
    child.expect_exact("output already holds a run (20 users, up to 2026-11-25 00:00)")
    child.expect_exact("Continue it up to now")
    child.send(ENTER)
    child.expect("Estimate: about")
    child.expect("Continuing the run in .*output.* up to")
    status, shown = finish(child)
    assert status == 0, shown
    record = run_json(os.path.join(here, "output"))
    assert record["continued"][0]["from"] == "2026-11-25T00:00:00.000Z"


def test_a_continue_the_flags_refuse_cannot_be_chosen_and_ctrl_c_leaves_the_run(
    checkout: str, here: str
) -> None:
    flags = ["--users", "20", *_example_flags(), "--days", "5", "--end", END, "--output", "out"]
    assert _run(checkout, here, *flags, "--seed", "3").returncode == 0
    child = spawn(checkout, here, *flags, "--seed", "98")
    shown_whole(child, "✗ this run cannot be continued: --seed 98 differs from the run being")
    child.expect_exact("out already holds a run")
    child.send(CTRL_C)
    status, shown = finish(child)
    assert status == 130 and "Cancelled" in shown
    assert run_json(os.path.join(here, "out"))["seed"] == 3

    child = spawn(checkout, here, *flags, "--seed", "99")
    child.expect_exact("out already holds a run")
    child.send(ENTER)  # continue cannot be chosen: Enter takes another folder
    answer(child, QUESTIONS[0])  # the new folder offered
    answer(child, QUESTIONS[4])
    status, shown = finish(child)
    assert status == 0, shown
    assert run_json(os.path.join(here, "out-2"))["seed"] == 99

    child = spawn(checkout, here, *flags, "--seed", "99", "--format", "json")
    child.expect_exact("out already holds a run")
    child.send(DOWN + ENTER)  # replace
    status, shown = finish(child)
    assert status == 0, shown
    assert run_json(os.path.join(here, "out"))["seed"] == 99


def _free(folder: str) -> int:
    return shutil.disk_usage(folder).free


def test_a_run_bigger_than_the_disk_is_asked_again_and_a_large_one_confirmed(
    checkout: str, here: str
) -> None:
    """Item 4: the estimate is shown, checked against the disk at the users question, and a run
    over 10 GB asks first (No by default)."""
    config = RunConfig(example("events.csv"), example("flows.csv"), example("lookup_table.csv"),
                       1, "out", 1, parse_iso(END), days=5)  # fmt: skip
    # The calibration the program makes for a run of that many users: the same 200 users, the
    # same window.
    per_user = calibrate(config, load_product(*_example_paths()), sample=CALIBRATION_USERS).bytes
    too_many = 100_000_000
    large = int(12e9 / per_user)  # about 12 GB
    if too_many * per_user < _free(here) or large * per_user > 0.8 * _free(here):
        pytest.skip("the disk here is too large, or too full, for the sizes this test types")
    child = spawn(checkout, here, *_example_flags(), "--days", "5", "--end", END)
    answer(child, QUESTIONS[0])  # the files are given: the folder and the format are asked
    answer(child, QUESTIONS[4])
    child.expect(r"With this sheet, a user makes about [0-9,]+ events")
    answer(child, QUESTIONS[5], str(too_many))
    child.expect("this run needs about [0-9.]+ [TGP]B and the disk that holds output has")
    child.send(str(large) + ENTER)
    child.expect_exact("This run is large: about")
    child.expect_exact("(y/N)")
    child.send(ENTER)  # no: the number of users is asked again
    answer(child, QUESTIONS[5], "30")
    status, shown = finish(child)
    assert status == 0, shown
    assert run_json(os.path.join(here, "output"))["users"] == 30


def test_ctrl_c_at_a_question_cancels_and_writes_nothing(checkout: str, here: str) -> None:
    child = spawn(checkout, here)
    answer(child, QUESTIONS[0])
    child.expect(QUESTIONS[1])
    child.send(CTRL_C)
    status, shown = finish(child)
    assert status == 130 and "Cancelled" in shown and "Traceback" not in shown
    assert os.listdir(here) == []


def test_ctrl_c_in_the_middle_of_a_run_leaves_nothing_that_looks_complete(
    checkout: str, here: str
) -> None:
    child = spawn(checkout, here, "--users", "50000", *_example_flags(), "--output", "out",
                  "--workers", "2", "--format", "json", "--force")  # fmt: skip
    child.expect(r"[1-9][0-9,]* events")  # the progress bar is moving
    child.send(CTRL_C)
    child.send(CTRL_C)  # an impatient second one must not cut the clean-up short
    status, shown = finish(child)
    assert status == 130 and "Cancelled" in shown and "Traceback" not in shown
    assert os.listdir(here) == [], "the folder the run created is removed again"


# -- without a terminal ---------------------------------------------------------------------------


def _example_paths() -> tuple[str, str, str]:
    return example("events.csv"), example("flows.csv"), example("lookup_table.csv")


def _example_flags() -> list[str]:
    events, flows, lookup = _example_paths()
    return ["--events", events, "--flows", flows, "--lookup", lookup]


def _run(checkout: str, cwd: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, os.path.join(checkout, "event_generator.py"), *flags],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_a_terminal_missing_values_end_with_status_2_naming_the_flags(
    checkout: str, here: str
) -> None:
    done = _run(checkout, here)
    assert done.returncode == 2
    assert done.stderr.startswith("error: missing --users, --events, --flows, --lookup, --output")
    assert done.stderr.count("\n") == 1 and os.listdir(here) == []
    done = _run(checkout, here, "--users", "5", *_example_flags())
    assert done.returncode == 2 and "error: missing --output:" in done.stderr
    assert "give it as a flag (see --help)" in done.stderr  # one flag: not "them as flags"


def test_without_a_terminal_the_log_gets_plain_lines_and_an_existing_run_is_refused(
    checkout: str, here: str
) -> None:
    flags = ["--users", "1000", *_example_flags(), "--days", "5", "--end", END, "--output", "out"]
    done = _run(checkout, here, *flags, "--seed", "8")
    assert done.returncode == 0, done.stderr
    for text in (done.stdout, done.stderr):
        assert "\x1b" not in text and "\r" not in text
    assert re.search(r"^Estimate: about [0-9,]+ events, .* on disk \(.* free\)", done.stdout, re.M)
    progress = [line for line in done.stdout.splitlines() if re.match(r"[\d,]+/1,000 users", line)]
    assert 2 <= len(progress) <= 10 and progress[-1].startswith("1,000/1,000 users")
    assert "Wrote" in done.stdout and "--seed 8" in done.stdout

    refused = _run(checkout, here, *flags)
    assert refused.returncode == 2 and "already holds a previous run" in refused.stderr
    assert run_json(os.path.join(here, "out"))["seed"] == 8
    assert _run(checkout, here, *flags, "--force", "--seed", "9").returncode == 0
    assert run_json(os.path.join(here, "out"))["seed"] == 9


def test_the_cron_line_keeps_a_run_current_and_a_future_end_needs_allowing(
    checkout: str, here: str
) -> None:
    """Items 6 and 7: ``--continue --output out`` is the whole cron line; an end in the future is
    refused unless --allow-future."""
    flags = ["--users", "10", *_example_flags(), "--days", "5", "--output", "out"]
    future = _run(checkout, here, *flags, "--end", "2099-01-01")
    assert future.returncode == 2 and "is in the future" in future.stderr
    assert "--allow-future" in future.stderr and not os.path.exists(os.path.join(here, "out"))
    assert _run(checkout, here, *flags, "--end", "2026-11-25", "--seed", "1").returncode == 0
    cron = _run(checkout, here, "--continue", "--output", "out")
    assert cron.returncode == 0, cron.stderr
    assert "Continuing the run in out up to" in cron.stdout
    assert run_json(os.path.join(here, "out"))["continued"][0]["from"].startswith("2026-11-25")
    bad = _run(checkout, here, "--continue", "--output", "out", "--users", "11")
    assert bad.returncode == 2 and "--users 11 differs" in bad.stderr
    assert not any(name.startswith("run-002") for name in os.listdir(os.path.join(here, "out")))


def test_a_dask_address_that_cannot_be_one_is_refused_before_anything(
    checkout: str, here: str
) -> None:
    done = _run(checkout, here, "--users", "5", *_example_flags(), "--output", "out",
                "--dask", "nonsense")  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: --dask: 'nonsense' is not a scheduler address")


def test_a_loader_message_wider_than_the_terminal_is_one_line(checkout: str, here: str) -> None:
    bad_flows = os.path.join(checkout, "tests", "fixtures", "bad", "flows_unknown_step.csv")
    child = spawn(checkout, here, "--users", "5", "--output", "out", "--events",
                  os.path.join(EXAMPLES, "events.csv"), "--flows", bad_flows)  # fmt: skip
    shown_whole(child, f"{bad_flows}, row 2, column 4: unknown event 'Add to cart' in flow")
    status, shown = finish(child)
    assert status == 2, shown


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="no SIGTERM on this platform")
def test_sigterm_in_the_middle_of_a_run_is_a_cancel(checkout: str, here: str) -> None:
    child = subprocess.Popen(
        [sys.executable, os.path.join(checkout, "event_generator.py"), "--users", "50000",
         *_example_flags(), "--output", "out", "--force"],
        cwd=here, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    staging = os.path.join(here, "out", ".event-generator-incomplete", "events")
    # Until the first events file is being written.
    wait_until(lambda: os.path.isdir(staging) and bool(os.listdir(staging)), child)
    child.send_signal(signal.SIGTERM)
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 130 and err.strip() == "Cancelled"
    assert os.listdir(here) == []


def test_a_reader_that_goes_away_does_not_stop_the_run(tmp_path: Any) -> None:
    """``event_generator.py ... | head -1``: the log goes nowhere, the data is still written."""
    out = os.path.join(tmp_path, "out")
    flags = [*_example_flags(), "--users", "1500", "--output", out, "--seed", "3", "--end", END,
             "--workers", "1"]  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "event_generator.py", *flags],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()  # the first line, then the reader is gone
    process.stdout.close()
    status = process.wait(timeout=120)
    errors = process.stderr.read()
    process.stderr.close()
    assert status == 0, errors
    assert os.path.isfile(os.path.join(out, "config", "run.json"))
    assert len(read_events(out)) > 0
