"""The core stays free of the terminal: importing it loads neither questionary nor rich."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_importing_the_core_loads_no_terminal_library() -> None:
    code = (
        "import importlib, pkgutil, sys, generator\n"
        "names = [m.name for m in pkgutil.iter_modules(generator.__path__, 'generator.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "assert len(names) > 15, names\n"
        "terminal = ('rich', 'questionary', 'prompt_toolkit')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in terminal)\n"
        "print(','.join(bad))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""
