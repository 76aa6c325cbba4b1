"""SIGTERM while the tool is still starting (loading its libraries, about 0.3 s) is a cancel.

README: Ctrl-C or SIGTERM ends the tool with ``Cancelled`` and exit status 130.  Python turns
Ctrl-C into ``KeyboardInterrupt`` from its first line, but SIGTERM kept its default action (die,
status 143, not a word) until ``main()`` installed its handler.  To land the signal inside the
imports every time, a stand-in for ``rich`` (found first on ``PYTHONPATH``) sends it to its own
process while it is being imported, then hands over to the real library if it is still alive.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import EXAMPLE_FILES, ROOT

SCRIPT = os.path.join(ROOT, "event_generator.py")

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
    )
    assert (done.returncode, done.stderr, done.stdout) == (130, "Cancelled\n", "")
    assert not os.path.exists(out)
