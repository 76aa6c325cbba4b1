"""A named pipe, a device or a socket given where a file is expected: refused at once (exit 2).

A FIFO without a writer blocks the process that opens it for ever, and ``/dev/zero`` never ends,
so each case runs in a real process; the timeout only turns a hang into a failure, it is not a
guess at how long the refusal takes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from tests.helpers import ROOT, example

SCRIPT = os.path.join(ROOT, "event_generator.py")
HANG = 60  # seconds: far beyond a refusal (well under one), short enough to end a hang
FILES = {
    "events": example("events.csv"),
    "flows": example("flows.csv"),
    "lookup": example("lookup_table.csv"),
}


def refused(args: list[str], cwd: str) -> str:
    """Run the tool without a terminal; assert one message and exit status 2; return it."""
    done = subprocess.run(
        [sys.executable, SCRIPT, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=HANG,
        cwd=cwd,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    return done.stderr


def file_flags(role: str, path: str) -> list[str]:
    paths = dict(FILES, **{role: path})
    return ["--events", paths["events"], "--flows", paths["flows"], "--lookup", paths["lookup"]]


@pytest.mark.parametrize("role", ["events", "flows", "lookup"])
def test_a_named_pipe_given_as_a_csv_file_is_refused_without_waiting(
    role: str, tmp_path: os.PathLike[str]
) -> None:
    base = os.fspath(tmp_path)
    fifo = os.path.join(base, "sheet.csv")
    os.mkfifo(fifo)  # nobody ever writes to it: opening it to read would wait for ever
    out = os.path.join(base, "out")
    run = [*file_flags(role, fifo), "--users", "3", "--seed", "1", "--output", out]
    message = refused(run, base)
    assert f"error: {fifo}: this is a named pipe (FIFO), not a file" in message
    assert not os.path.exists(out)
    assert refused(["--check", *file_flags(role, fifo)], base) == message


def test_devices_and_sockets_given_as_a_csv_file_are_refused(tmp_path: os.PathLike[str]) -> None:
    base = os.fspath(tmp_path)
    sock_path = os.path.join(base, "s.csv")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(sock_path)
        for path, kind in (
            ("/dev/zero", "a device"),
            ("/dev/null", "a device"),
            (sock_path, "a socket"),
        ):
            message = refused(["--check", *file_flags("lookup", path)], base)
            assert f"error: {path}: this is {kind}, not a file" in message


def test_a_link_to_a_regular_file_still_loads(tmp_path: os.PathLike[str]) -> None:
    link = os.path.join(os.fspath(tmp_path), "events.csv")
    os.symlink(FILES["events"], link)
    done = subprocess.run(
        [sys.executable, SCRIPT, "--check", *file_flags("events", link)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert done.returncode == 0, done.stderr


def test_a_replay_record_that_is_a_pipe_or_endless_is_refused(tmp_path: os.PathLike[str]) -> None:
    base = os.fspath(tmp_path)
    fifo = os.path.join(base, "run.json")
    os.mkfifo(fifo)
    out = os.path.join(base, "out")
    message = refused(["--replay", fifo, "--output", out], base)
    assert f"error: {fifo}: this is a named pipe (FIFO), not a file" in message
    message = refused(["--replay", "/dev/zero", "--output", out], base)
    assert "error: /dev/zero: this is a device, not a file" in message
    assert not os.path.exists(out)


def test_a_replay_record_larger_than_any_record_is_refused_unread(
    tmp_path: os.PathLike[str],
) -> None:
    base = os.fspath(tmp_path)
    huge = os.path.join(base, "run.json")
    with open(huge, "wb") as handle:
        handle.truncate(20 * 1024 * 1024)  # sparse: 20 MB of NUL bytes, no disk used
    message = refused(["--replay", huge, "--output", os.path.join(base, "out")], base)
    assert "a run record is at most 16 MB" in message
