"""End to end: the real script in a pseudo-terminal (pexpect), as a person would use it, and with
standard input closed, as a script would.

Runs are kept short with ``--days 5`` (fewer events per user); the questions are the same.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from typing import Any

import orjson
import pexpect
import pytest

from tests.helpers import END, EXAMPLE_FILES, FIXTURES, ROOT, example, read_events

SCRIPT = os.path.join(ROOT, "event_generator.py")
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")
ENTER, CLEAR, DOWN, CTRL_C = "\r", "\x15", "\x1b[B", "\x03"
QUESTIONS = ("How many users", "Events CSV file", "Flows CSV file", "Lookup-table CSV", "Output")
FLAG_FILES = EXAMPLE_FILES


def spawn(cwd: Any, *flags: str) -> pexpect.spawn:
    # Nothing in a pexpect pty answers the cursor-position query a real terminal answers at once;
    # without this prompt_toolkit waits for the answer at every question.
    env = {**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"}
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sys.executable,
        [SCRIPT, *flags],
        cwd=os.fspath(cwd),
        env=env,
        dimensions=(50, 160),
        encoding="utf-8",
        timeout=60,
    )
    child.screen = []
    return child


def answer(child: pexpect.spawn, question: str, text: str | None = None) -> None:
    """Wait for ``question`` (so the prompt reads keys), type ``text`` over the answer shown,
    let the path completion settle as a person would, and press Enter."""
    child.expect(question)
    if text is not None:
        child.send(CLEAR + text)
        time.sleep(0.4)
    child.send(ENTER)


def finish(child: pexpect.spawn) -> tuple[int, str]:
    """Wait for the end; return the exit status and everything shown, without escape codes."""
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, ANSI.sub("", child.before or "")


def run_json(folder: str) -> dict[str, Any]:
    with open(os.path.join(folder, "config", "run.json"), "rb") as handle:
        data: dict[str, Any] = orjson.loads(handle.read())
    return data


def test_enter_through_every_question_generates_data_from_the_examples(tmp_path: Any) -> None:
    child = spawn(tmp_path, "--days", "5", "--end", END)
    for question in QUESTIONS:
        child.expect(question)
        child.send(ENTER)
    child.expect("Generating")
    status, shown = finish(child)
    assert status == 0, shown
    folder = os.path.join(tmp_path, "output")
    events = read_events(folder)
    assert len(events) > 1000 and {"userId", "session_id", "event", "ts"} <= set(events[0])
    record = run_json(folder)
    assert record["users"] == 1000 and record["end"] == "2026-11-29T12:00:00.000Z"
    # The seed was chosen, shown, and the command shown repeats the run.
    assert f"Seed {record['seed']} (chosen for this run)" in shown
    assert f"--seed {record['seed']} --end 2026-11-29T12:00:00.000Z --days 5" in shown
    for heading in ("Events by name", "Funnels", "churned", "Weekly active users", "Files written"):
        assert heading in shown


def test_a_bad_number_a_wrong_path_and_a_file_that_does_not_load_are_asked_again(
    tmp_path: Any,
) -> None:
    child = spawn(tmp_path, "--days", "5", "--end", END, "--seed", "5")
    answer(child, QUESTIONS[0], "ten")
    child.expect("'ten' is not a whole number")
    # prompt_toolkit redraws only what changed, so a second message is not readable from the raw
    # stream; that -4 was refused shows in the run having 40 users.
    child.send(CLEAR + "-4" + ENTER)
    time.sleep(0.4)
    child.send(CLEAR + "40" + ENTER)
    answer(child, QUESTIONS[1], "no/such/events.csv")
    child.expect("no such file: no/such/events.csv")
    child.send(CLEAR + os.path.join(FIXTURES, "bad", "events_no_event_column.csv"))
    time.sleep(0.4)
    child.send(ENTER)
    child.expect(r"row 1: no 'event' column")
    answer(child, QUESTIONS[1], example("events.csv"))  # asked again
    answer(child, QUESTIONS[2], os.path.join(FIXTURES, "bad", "flows_unknown_step.csv"))
    child.expect(r"row 2, column 4: unknown event 'Add to cart'")
    child.expect(re.escape("(did you mean 'Add To Cart'?)"))
    answer(child, QUESTIONS[2], example("flows.csv"))  # asked again
    answer(child, QUESTIONS[3])
    answer(child, QUESTIONS[4])
    status, shown = finish(child)
    assert status == 0, shown
    assert run_json(os.path.join(tmp_path, "output"))["users"] == 40


def test_a_folder_holding_a_run_is_never_overwritten_without_asking(tmp_path: Any) -> None:
    flags = ["--users", "20", *FLAG_FILES, "--days", "5", "--end", END, "--output", "out"]
    assert subprocess.run([sys.executable, SCRIPT, *flags], cwd=tmp_path).returncode == 0
    first = run_json(os.path.join(tmp_path, "out"))["seed"]

    child = spawn(tmp_path, *flags)
    child.expect("out already holds a run")
    child.expect("Choose another folder")
    child.send(ENTER)  # another folder: the default offered is a new one
    child.expect(QUESTIONS[4])
    child.send(ENTER)
    status, shown = finish(child)
    assert status == 0, shown
    assert run_json(os.path.join(tmp_path, "out"))["seed"] == first
    assert os.path.isfile(os.path.join(tmp_path, "out-2", "config", "run.json"))

    child = spawn(tmp_path, *flags, "--seed", "98")
    child.expect("out already holds a run")
    child.send(CTRL_C)
    status, shown = finish(child)
    assert status == 130 and "Cancelled" in shown
    assert run_json(os.path.join(tmp_path, "out"))["seed"] == first

    child = spawn(tmp_path, *flags, "--seed", "99")
    child.expect("out already holds a run")
    child.send(DOWN + ENTER)  # replace
    status, shown = finish(child)
    assert status == 0, shown
    assert run_json(os.path.join(tmp_path, "out"))["seed"] == 99


def test_ctrl_c_at_a_question_cancels_and_writes_nothing(tmp_path: Any) -> None:
    child = spawn(tmp_path)
    child.expect(QUESTIONS[0])
    child.send(ENTER)
    child.expect(QUESTIONS[1])
    child.send(CTRL_C)
    status, shown = finish(child)
    assert status == 130 and "Cancelled" in shown and "Traceback" not in shown
    assert os.listdir(tmp_path) == []


def test_ctrl_c_in_the_middle_of_a_run_leaves_nothing_that_looks_complete(tmp_path: Any) -> None:
    child = spawn(tmp_path, "--users", "50000", *FLAG_FILES, "--output", "out", "--workers", "2")
    child.expect(r"[1-9][0-9,]* events")  # the progress bar is moving
    child.send(CTRL_C)
    child.send(CTRL_C)  # an impatient second one must not cut the clean-up short
    status, shown = finish(child)
    assert status == 130 and "Cancelled" in shown and "Traceback" not in shown
    assert os.listdir(tmp_path) == [], "the folder the run created is removed again"


# -- without a terminal ---------------------------------------------------------------------------


def run(tmp_path: Any, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, SCRIPT, *flags],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_a_terminal_missing_values_end_with_status_2_naming_the_flags(
    tmp_path: Any,
) -> None:
    started = time.monotonic()
    done = run(tmp_path)
    assert done.returncode == 2 and time.monotonic() - started < 20
    assert done.stderr.startswith("error: missing --users, --events, --flows, --lookup, --output")
    assert done.stderr.count("\n") == 1 and os.listdir(tmp_path) == []
    done = run(tmp_path, "--users", "5", *FLAG_FILES)
    assert done.returncode == 2 and "error: missing --output:" in done.stderr


def test_without_a_terminal_the_log_gets_plain_lines_and_an_existing_run_is_refused(
    tmp_path: Any,
) -> None:
    flags = ["--users", "1000", *FLAG_FILES, "--days", "5", "--end", END, "--output", "out"]
    done = run(tmp_path, *flags, "--seed", "8")
    assert done.returncode == 0, done.stderr
    for text in (done.stdout, done.stderr):
        assert "\x1b" not in text and "\r" not in text
    progress = [line for line in done.stdout.splitlines() if re.match(r"[\d,]+/1,000 users", line)]
    assert 2 <= len(progress) <= 10 and progress[-1].startswith("1,000/1,000 users")
    assert "Wrote" in done.stdout and "--seed 8" in done.stdout

    refused = run(tmp_path, *flags)
    assert refused.returncode == 2 and "already holds a previous run" in refused.stderr
    assert run_json(os.path.join(tmp_path, "out"))["seed"] == 8
    assert run(tmp_path, *flags, "--force", "--seed", "9").returncode == 0
    assert run_json(os.path.join(tmp_path, "out"))["seed"] == 9


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="no SIGTERM on this platform")
def test_sigterm_in_the_middle_of_a_run_is_a_cancel(tmp_path: Any) -> None:
    child = subprocess.Popen(
        [sys.executable, SCRIPT, "--users", "50000", *FLAG_FILES, "--output", "out"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    staging = os.path.join(tmp_path, "out", ".event-generator-incomplete", "events")
    deadline = time.monotonic() + 30
    while not os.path.isdir(staging) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # in the middle of writing
    child.send_signal(signal.SIGTERM)
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 130 and err.strip() == "Cancelled"
    assert os.listdir(tmp_path) == []


def test_a_reader_that_goes_away_does_not_stop_the_run(tmp_path: Any) -> None:
    """``event_generator.py ... | head -1``: the log goes nowhere, the data is still written."""
    out = os.path.join(tmp_path, "out")
    flags = ["--events", example("events.csv"), "--flows", example("flows.csv"), "--lookup",
             example("lookup_table.csv"), "--users", "1500", "--output", out, "--seed", "3",
             "--end", END, "--workers", "1"]  # fmt: skip
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
