"""The core stays free of the terminal: importing it loads neither questionary nor rich."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT


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


def test_a_run_given_by_flags_never_loads_the_question_libraries(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """questionary and prompt_toolkit cost 0.3 s of start-up and memory every worker inherits."""
    from tests.helpers import END, example

    flags = ["--events", example("events.csv"), "--flows", example("flows.csv"), "--lookup",
             example("lookup_table.csv"), "--users", "5", "--output", str(tmp_path / "out"),
             "--seed", "1", "--end", END, "--workers", "1"]  # fmt: skip
    code = (
        "import sys, event_generator\n"
        f"status = event_generator.main({flags!r})\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('questionary', 'prompt_toolkit'))\n"
        "print(status, ','.join(loaded))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    assert done.stdout.strip().splitlines()[-1] == "0"
