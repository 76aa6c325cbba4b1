"""Faults: runs killed at random moments, write errors and a full disk.

After any of them the output folder holds either its previous state or a folder that the next run
recognises as incomplete (and cleans with ``--force``); a file under its final name is always
complete; and the next run produces exactly the output an undisturbed run produces.
"""

from __future__ import annotations

import errno
import glob
import hashlib
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

import orjson
import pytest

from generator import OutputError, RunConfig, generate, writers
from generator import output as output_module
from generator.layout import PARTS, STAGING, TEMP_SUFFIX
from generator.output import FolderState, inspect
from tests.helpers import (
    END,
    EXAMPLE_FILES,
    SCRIPT,
    alive,
    children,
    continue_run,
    examples_config,
    tree_bytes,
    wait_gone,
    wait_until,
)

# Big enough to take about two seconds and three chunks (so the worker pool is used), small enough
# to keep the whole file well under a minute.
KILL_USERS, KILL_DAYS = 2100, 14


def command(out: str, users: int = KILL_USERS, workers: int = 2, force: bool = True) -> list[str]:
    argv = [
        sys.executable,
        SCRIPT,
        *EXAMPLE_FILES,
        "--users",
        str(users),
        "--days",
        str(KILL_DAYS),
        "--seed",
        "11",
        "--end",
        END,
        "--workers",
        str(workers),
        "--output",
        out,
    ]
    return [*argv, "--force"] if force else argv


def digest(folder: str) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder``."""
    return {path: hashlib.sha256(data).hexdigest() for path, data in tree_bytes(folder).items()}


@pytest.fixture(scope="module")
def reference() -> Iterator[tuple[dict[str, str], float]]:
    """The output of an undisturbed run, as digests, and how long the run took."""
    with tempfile.TemporaryDirectory() as base:
        out = os.path.join(base, "out")
        start = time.monotonic()
        subprocess.run(command(out), check=True, capture_output=True)
        yield digest(out), time.monotonic() - start


def assert_recognisable(out: str, reference: dict[str, str]) -> FolderState:
    """The folder holds nothing, the finished reference run, or something marked incomplete."""
    if not os.path.exists(out):
        return FolderState.FREE
    seen = inspect(out)
    if seen.state is FolderState.HOLDS_RUN:
        assert digest(out) == reference, "a folder that looks finished is exactly the finished run"
    elif seen.state is FolderState.INCOMPLETE:
        assert STAGING in seen.found or not os.path.exists(os.path.join(out, "config", "run.json"))
    for base, _dirs, names in os.walk(out):
        if STAGING not in base:
            assert not [n for n in names if n.endswith(TEMP_SUFFIX)], base
    return seen.state


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="finding worker processes needs /proc")
@pytest.mark.slow
def test_runs_killed_at_random_moments_leave_a_recognisable_folder(
    reference: tuple[dict[str, str], float], tmp_path: os.PathLike[str]
) -> None:
    expected, duration = reference
    out = os.path.join(os.fspath(tmp_path), "out")
    rng = random.Random(int(os.environ.get("FAULT_SEED", "2026")))
    # (signal, whole process group as a terminal's Ctrl-C does, or the process alone as `kill`)
    kinds = [
        (signal.SIGKILL, False),
        (signal.SIGTERM, False),
        (signal.SIGINT, True),
        (signal.SIGKILL, True),
    ]
    outcomes = []
    for attempt in range(int(os.environ.get("FAULT_KILLS", "8"))):
        sig, group = kinds[attempt % len(kinds)]
        before = assert_recognisable(out, expected)
        before_files = digest(out)
        process = subprocess.Popen(
            command(out),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:  # the kill's moment, drawn; some land after the end (the wait ends with the run)
            process.wait(timeout=rng.uniform(0.0, 1.2 * duration))
        except subprocess.TimeoutExpired:
            pass
        workers = children(process.pid)
        try:
            if group:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)
        except ProcessLookupError:
            pass  # it had finished and gone already
        _, err = process.communicate(timeout=60)
        status = process.returncode
        after = assert_recognisable(out, expected)
        outcomes.append((sig.name, status, after.value))
        if status == 0:
            assert after is FolderState.HOLDS_RUN
        elif sig is signal.SIGKILL:
            assert status == -signal.SIGKILL
        elif status == -sig or b"Fatal Python error: init_import_site" in err:
            # The signal came before the front took charge of it (Python still starting): the
            # process died as the signal's default says, or as the interpreter does when its own
            # start-up is interrupted, having done nothing; or it came after the run had finished.
            assert digest(out) == before_files or after is FolderState.HOLDS_RUN
        else:
            # "Cancelled", or "Cancelled (the run in out is complete)" when it came after the end.
            assert status == 130 and err.decode().strip().startswith("Cancelled"), err
            # A cancelled run cleans up after itself: the folder is as it was, or finished, or
            # (--force having said so) rid of an earlier run's leftover staging folder.
            assert after in (before, FolderState.HOLDS_RUN) or (
                before is FolderState.INCOMPLETE and after is FolderState.FREE
            )
            # Its own staging folder is gone; an earlier run's is still there only when this one
            # was cancelled before it touched the folder (while it loaded and estimated).
            assert not os.path.exists(os.path.join(out, STAGING)) or digest(out) == before_files
        wait_gone(workers)
        assert not [w for w in workers if alive(w)], "workers die with their run"
        if after is FolderState.INCOMPLETE:
            refused = subprocess.run(command(out, force=False), capture_output=True, text=True)
            assert refused.returncode == 2
            assert "incomplete run" in refused.stderr and "--force" in refused.stderr
            assert refused.stderr.count("\n") == 1
    print("kills:", outcomes)
    # The next run, resumed with --force, finishes with exactly the undisturbed output.
    subprocess.run(command(out), check=True, capture_output=True)
    assert digest(out) == expected
    assert sorted(os.listdir(out)) == ["config", "events", "lookup_table"]


def test_force_removes_only_our_remains(tmp_path: os.PathLike[str]) -> None:
    out = os.path.join(os.fspath(tmp_path), "out")
    os.makedirs(os.path.join(out, STAGING, "events"))
    os.makedirs(os.path.join(out, "events"))
    with open(os.path.join(out, "events", "part-00000-000.json.partial"), "w") as handle:
        handle.write("[\n")
    with open(os.path.join(out, "notes.txt"), "w") as handle:
        handle.write("mine")
    assert inspect(out).state is FolderState.INCOMPLETE
    generate(config(out, users=5, replace=True))
    files = tree_bytes(out)
    assert files.pop("notes.txt") == b"mine"
    assert sorted({path.split(os.sep)[0] for path in files}) == ["config", "events", "lookup_table"]
    assert "events/part-00000-000.json.partial" not in files


def test_a_finished_run_next_to_a_leftover_staging_folder_is_continued(
    tmp_path: os.PathLike[str],
) -> None:
    out = os.path.join(os.fspath(tmp_path), "out")
    generate(config(out))
    finished = tree_bytes(out)
    os.makedirs(os.path.join(out, STAGING, "replaced", "events"))  # killed while tidying up
    assert inspect(out).state is FolderState.INCOMPLETE
    continue_run(out, END)  # to its own end: nothing to add, but the leftover is tidied
    assert tree_bytes(out) == finished and inspect(out).state is FolderState.HOLDS_RUN


# -- write errors ----------------------------------------------------------------------------------


def config(out: str, users: int = 1200, replace: bool = False, seed: int = 4) -> RunConfig:
    return examples_config(out, users, seed, days=7, replace=replace)


def assert_previous_state(out: str, before: dict[str, bytes]) -> None:
    assert tree_bytes(out) == before
    assert not os.path.exists(os.path.join(out, STAGING))


class BrokenHandle:
    """A file handle whose device has failed: every write raises EIO."""

    def __init__(self, real: object) -> None:
        self.real = real

    def write(self, data: bytes) -> int:
        raise OSError(errno.EIO, "Input/output error")

    def flush(self) -> None:
        raise OSError(errno.EIO, "Input/output error")

    def close(self) -> None:
        self.real.close()  # type: ignore[attr-defined]


# A run of 1,200 users writes 22 times: events of two chunks (1-12), their user and lookup pieces,
# then user_id_list.json (13-17), the lookup table (18-21) and run.json (22).
@pytest.mark.parametrize("failing_write", [1, 3, 5, 9, 14, 19, 22])
def test_a_write_error_at_any_write_stops_the_run_and_keeps_the_previous_one(
    failing_write: int, tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = os.path.join(os.fspath(tmp_path), "out")
    generate(config(out, users=30))
    before = tree_bytes(out)
    calls = [0]
    real_write = writers.AtomicFile.write

    def failing(self: writers.AtomicFile, data: bytes) -> None:
        calls[0] += 1
        if calls[0] == failing_write:
            self.handle = BrokenHandle(self.handle)  # type: ignore[assignment]
        real_write(self, data)

    monkeypatch.setattr(writers.AtomicFile, "write", failing)
    with pytest.raises(OutputError, match="Input/output error") as caught:
        generate(config(out, replace=True, seed=5))
    assert calls[0] == failing_write, "the run stopped at the failing write"
    assert "no incomplete file was kept" in str(caught.value)
    assert_previous_state(out, before)


def test_a_failure_while_moving_the_run_into_place_puts_the_previous_run_back(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = os.path.join(os.fspath(tmp_path), "out")
    generate(config(out, users=30))
    before = tree_bytes(out)
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        if os.path.dirname(src).endswith(STAGING):  # the new run moving into place
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OutputError, match="could not move the finished run"):
        generate(config(out, users=30, replace=True, seed=6))
    assert_previous_state(out, before)


def test_a_file_size_limit_in_a_real_process_ends_with_one_message(
    tmp_path: os.PathLike[str],
) -> None:
    """A real write error, in a real process: RLIMIT_FSIZE makes writes past 2 MB fail (EFBIG)."""
    out = os.path.join(os.fspath(tmp_path), "out")
    subprocess.run(command(out, users=5), check=True, capture_output=True)
    before = tree_bytes(out)
    limit = 2 * 1024 * 1024

    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        command(out, users=800, workers=1), capture_output=True, text=True, preexec_fn=limit_files
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: could not write ") and done.stderr.count("\n") == 1
    assert "larger than this file system allows" in done.stderr
    assert_previous_state(out, before)


# -- a full disk -----------------------------------------------------------------------------------


def _mount_small_tmpfs(mountpoint: str, options: str = "size=1m") -> list[str] | None:
    """Mount a 1 MB tmpfs; return the command prefix that sees it, or None when impossible.

    As root (CI) a plain mount works where the container allows it; otherwise a user and mount
    namespace (``unshare -rm``) gives an unprivileged user a private mount.
    """
    if os.geteuid() == 0:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", mountpoint], capture_output=True
        )
        if done.returncode == 0:
            return []
    unshare = shutil.which("unshare")
    if unshare:
        probe = subprocess.run(
            [unshare, "-rm", "sh", "-c", f"mount -t tmpfs -o {options} tmpfs {mountpoint}"],
            capture_output=True,
        )
        if probe.returncode == 0:
            return [
                unshare,
                "-rm",
                "sh",
                "-c",
                f'mount -t tmpfs -o {options} tmpfs {mountpoint} && "$@"',
                "sh",
            ]
    return None


def _on_a_small_disk(
    script: Callable[[str], str], options: str = "size=1m"
) -> subprocess.CompletedProcess[str]:
    """Run the shell ``script(mountpoint)`` with a 1 MB tmpfs mounted there (skip the test where
    none can be mounted).  In a private namespace the mount lives only as long as one command,
    so everything a test does on the disk is one script."""
    with tempfile.TemporaryDirectory() as mountpoint:
        prefix = _mount_small_tmpfs(mountpoint, options)
        if prefix is None:
            pytest.skip("cannot mount a small tmpfs here (no root, no user namespaces)")
        try:
            return subprocess.run(
                [*prefix, "sh", "-c", script(mountpoint)],
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            if not prefix:
                subprocess.run(["umount", mountpoint], check=False)


def _flags(out: str, users: int, force: bool = True) -> str:
    return " ".join(f"'{a}'" for a in command(out, users=users, workers=1, force=force)[2:])


def test_a_full_disk_ends_the_run_with_a_clear_message_and_no_damage() -> None:
    def script(mountpoint: str) -> str:
        out = os.path.join(mountpoint, "out")
        return (  # --force: replace the first run, and try even though it will not fit
            f"{sys.executable} {SCRIPT} {_flags(out, 3)} >/dev/null || exit 90; "
            f"cp -r {out} {out}.before || exit 91; "
            f"{sys.executable} {SCRIPT} {_flags(out, 600)}; echo status=$?; "
            f"diff -r {out} {out}.before && echo same; ls -a {out}"
        )

    done = _on_a_small_disk(script)
    assert "status=1" in done.stdout, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("error: could not write")
    assert "the disk is full" in lines[0]
    assert "same" in done.stdout, "the previous run is untouched"
    assert STAGING not in done.stdout, "the staging folder is removed"


def test_a_run_estimated_larger_than_the_disk_is_refused_before_it_writes() -> None:
    """The same 1 MB disk: without --force, the estimate (tens of MB) is refused, exit status 2,
    before anything is written."""

    def script(mountpoint: str) -> str:
        out = os.path.join(mountpoint, "out")
        flags = _flags(out, 600, force=False)
        return f"{sys.executable} {SCRIPT} {flags}; echo status=$?; ls -a {mountpoint}"

    done = _on_a_small_disk(script)
    assert "status=2" in done.stdout, (done.stdout, done.stderr)
    assert done.stderr.startswith("error: this run needs about ")
    assert "free; give fewer users, another output folder, or --force" in done.stderr
    assert "out" not in done.stdout.split(), "nothing was written"


def test_an_output_folder_on_a_read_only_disk_is_refused_before_anything() -> None:
    def script(mountpoint: str) -> str:
        out = os.path.join(mountpoint, "out")
        return f"{sys.executable} {SCRIPT} {_flags(out, 3)}; echo status=$?"

    done = _on_a_small_disk(script, "size=1m,ro")
    assert "status=2" in done.stdout, (done.stdout, done.stderr)
    assert done.stderr.startswith("error: output folder ")
    assert "is on a read-only file system" in done.stderr and done.stderr.count("\n") == 1


def test_ctrl_c_during_the_final_renames_waits_for_them(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while the run moves into place is held back until the folder is whole again; by then
    the run is complete, so it stands (nothing is rolled back) and the run ends normally."""
    out = os.path.join(os.fspath(tmp_path), "out")
    generate(config(out, users=30))
    real_replace = os.replace
    renames: list[str] = []

    def replace(src: str, dst: str) -> None:
        if out in (os.path.dirname(src), os.path.dirname(dst)):  # a folder moving out or in
            if not renames:
                signal.raise_signal(signal.SIGINT)  # Ctrl-C as the first one moves
            renames.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    result = generate(config(out, users=40, replace=True, seed=6))
    assert result.stats.users == 40
    assert len(renames) == 6, "all three folders out and all three in"
    assert inspect(out).state is FolderState.HOLDS_RUN
    assert not os.path.exists(os.path.join(out, STAGING))
    with open(os.path.join(out, "config", "run.json"), "rb") as handle:
        assert b'"users": 40' in handle.read(), "the new run, whole"


def test_a_staging_folder_that_cannot_be_finished_is_not_left_behind(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = os.path.join(os.fspath(tmp_path), "out")
    real_mkdir = os.mkdir

    def mkdir(path: str, *args: object) -> None:
        if os.path.basename(path) == PARTS:
            raise OSError(28, "No space left on device")
        real_mkdir(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "mkdir", mkdir)
    with pytest.raises(OutputError, match="cannot write in the output folder"):
        generate(config(out, users=5))
    monkeypatch.undo()
    assert inspect(out).state is FolderState.FREE, "no remains that look like an incomplete run"


# -- a worker that dies, two runs into one folder --------------------------------------------------


def _writing(out: str) -> bool:
    return bool(glob.glob(os.path.join(out, STAGING, "events", "*")))


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="finding worker processes needs /proc")
def test_a_worker_killed_ends_the_run_with_one_message(tmp_path: os.PathLike[str]) -> None:
    """As the out-of-memory killer would: the run ends (status 1), never waits for ever."""
    out = os.path.join(os.fspath(tmp_path), "out")
    run = subprocess.Popen(
        command(out, force=False), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    wait_until(lambda: len(children(run.pid)) >= 2 and _writing(out), run)
    os.kill(children(run.pid)[0], signal.SIGKILL)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 1, err
    assert err.startswith("error: a worker process was killed (SIGKILL") and err.count("\n") == 1
    assert not os.path.exists(out), "the run created the folder, and removes it again"


def test_a_folder_in_use_is_refused_without_a_hint_to_force(tmp_path: os.PathLike[str]) -> None:
    out = os.path.join(os.fspath(tmp_path), "out")
    os.makedirs(out)
    with output_module.locked(out):  # another run holds the folder (this process, to the child)
        done = subprocess.run(command(out, users=5), capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert f"is in use by process {os.getpid()}" in done.stderr and "--force" not in done.stderr
    assert os.listdir(out) == [], "the lock file goes with the lock"


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="finding worker processes needs /proc")
def test_a_run_started_while_another_writes_the_folder_is_refused(
    tmp_path: os.PathLike[str],
) -> None:
    """The race the refusal message once invited: a second --force run into a folder being
    written.  It is refused at once and the first run finishes, whole."""
    out = os.path.join(os.fspath(tmp_path), "out")
    first = subprocess.Popen(
        command(out, users=20_000), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_until(lambda: _writing(out), first)
        # Held still while the second run starts: the batch engine can finish a run sooner
        # than a second interpreter starts, and the race needs the first run mid-write.
        paused = [first.pid, *children(first.pid)]
        for pid in paused:
            os.kill(pid, signal.SIGSTOP)
        try:
            second = subprocess.run(command(out, users=5), capture_output=True, text=True)
        finally:
            for pid in paused:
                os.kill(pid, signal.SIGCONT)
        assert second.returncode == 2, second.stderr
        assert f"in use by process {first.pid}" in second.stderr
        _, err = first.communicate(timeout=120)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate()
    assert inspect(out).state is FolderState.HOLDS_RUN
    for path in glob.glob(os.path.join(out, "events", "*.json")):
        with open(path, "rb") as handle:
            assert isinstance(orjson.loads(handle.read()), list), path


def test_a_failed_run_removes_the_missing_parents_it_created(tmp_path: os.PathLike[str]) -> None:
    """``-o a/b/out`` creates a and b as well; a run that fails leaves none of them behind,
    and never removes a folder that was there before it."""
    base = os.fspath(tmp_path)
    staging = output_module.prepare(os.path.join(base, "a", "b", "out"), replace=False)
    assert os.path.isdir(staging.path)
    output_module.roll_back(staging)
    assert os.listdir(base) == []
    os.makedirs(os.path.join(base, "a"))
    staging = output_module.prepare(os.path.join(base, "a", "out"), replace=False)
    output_module.roll_back(staging)
    assert os.listdir(base) == ["a"] and os.listdir(os.path.join(base, "a")) == []
