"""SIGTERM while the tool is still starting (loading its libraries, about 0.3 s) is a cancel.

README: Ctrl-C or SIGTERM ends the tool with ``Cancelled`` and exit status 130.  Python turns
Ctrl-C into ``KeyboardInterrupt`` from its first line, but SIGTERM kept its default action (die,
status 143, not a word) until ``main()`` installed its handler.  To land the signal inside the
imports every time, a stand-in for ``rich`` (found first on ``PYTHONPATH``) sends it to its own
process while it is being imported, then hands over to the real library if it is still alive.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.helpers import EXAMPLE_FILES, ROOT

SCRIPT = os.path.join(ROOT, "event_generator.py")


def _default_sigint() -> None:
    """A shell that starts jobs in the background (``cmd &``, some CI runners) leaves SIGINT
    ignored in its children: the tool must be tested as a terminal starts it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


STAND_IN = """
import os, signal, sys
os.kill(os.getpid(), signal.{name})
# Still here: the signal was ignored. Load the real rich in place of this stand-in.
sys.path.remove({folder!r})
del sys.modules["rich"]
import rich
"""


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_while_the_libraries_load_cancels_with_130(
    name: str, tmp_path: os.PathLike[str]
) -> None:
    folder = os.fspath(tmp_path)
    os.mkdir(os.path.join(folder, "rich"))
    with open(os.path.join(folder, "rich", "__init__.py"), "w") as handle:
        handle.write(STAND_IN.format(name=name, folder=folder))
    out = os.path.join(folder, "out")
    done = subprocess.run(
        [sys.executable, SCRIPT, *EXAMPLE_FILES, "--users", "5", "--output", out],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": folder},
        timeout=120,
        preexec_fn=_default_sigint,
    )
    assert (done.returncode, done.stderr, done.stdout) == (130, "Cancelled\n", "")
    assert not os.path.exists(out)


def test_the_installed_command_cancels_too_and_repeats_itself(tmp_path: os.PathLike[str]) -> None:
    """``event-generator`` (frontend.launch) turns SIGTERM into Ctrl-C before it loads anything,
    and the commands it prints start with it, not with a script that may not be there."""
    folder = os.fspath(tmp_path)
    os.mkdir(os.path.join(folder, "rich"))
    with open(os.path.join(folder, "rich", "__init__.py"), "w") as handle:
        handle.write(STAND_IN.format(name="SIGTERM", folder=folder))
    launch = "import sys; sys.argv[0] = 'event-generator'; from frontend.launch import run; run()"
    command = [sys.executable, "-c", launch, *EXAMPLE_FILES, "--users", "5"]
    out = os.path.join(folder, "out")
    done = subprocess.run(
        [*command, "--output", out],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([folder, ROOT])},
        timeout=120,
        preexec_fn=_default_sigint,
    )
    assert (done.returncode, done.stderr, done.stdout) == (130, "Cancelled\n", "")
    assert not os.path.exists(out)
    done = subprocess.run(
        [*command, "--output", out, "--seed", "2", "--end", "2026-11-29"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ROOT},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "\n  event-generator --users 5 " in done.stdout
    assert f"(or: event-generator --replay {out}/config/run.json" in done.stdout
