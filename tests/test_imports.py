"""The core stays free of the terminal, its modules import downward only, and the front uses the
core through its public names."""

from __future__ import annotations

import ast
import glob
import os
import subprocess
import sys

import pytest

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


def test_a_run_given_by_flags_never_loads_the_question_libraries(tmp_path) -> None:
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


# -- the layers -----------------------------------------------------------------------------------
#
# Each module of the core belongs to a layer and imports only from its own layer or the ones above
# it in this list (README, Development: the picture of the modules).
LAYERS = (
    ("base", ("errors", "clock", "isotime", "limits", "exact", "params", "philox")),
    ("inputs", ("csvtext", "spec", "headers", "localtime", "loaders")),
    (
        "model",
        (
            "ranks",
            "streams",
            "draws",
            "distributions",
            "sites",
            "funnels",
            "properties",
            "users",
            "lives",
            "population",
            "walker",
            "batch",
        ),
    ),
    ("output", ("layout", "encoders", "pieces", "batchlines", "formats", "writers", "output")),
    ("run", ("record", "chunks", "pool", "distributed", "runner", "estimate", "check")),
    (
        "delivery",
        (
            "delivery.tools",
            "delivery.http",
            "delivery.journal",
            "delivery.runfiles",
            "delivery.send",
            "delivery.__init__",
        ),
    ),
    ("package", ("__init__",)),
)


def _core_imports() -> dict[str, set[str]]:
    """Module -> the core modules it imports, however it spells them (``from .x import``,
    ``from ..x import``, ``from . import x``, ``from generator.x import``, ``import generator.x``,
    at the top or inside a function); modules of a subpackage are named ``package.module``."""
    top = os.path.join(ROOT, "generator")
    known = _names(top)
    found: dict[str, set[str]] = {}
    for path in sorted(glob.glob(os.path.join(top, "**", "*.py"), recursive=True)):
        name = os.path.relpath(path, top)[:-3].replace(os.sep, ".")
        package = name.rsplit(".", 1)[0] if "." in name else ""
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("generator."):
                        imported.add(_module_of(alias.name[len("generator.") :], known))
                continue
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level == 0:
                module = node.module or ""
                if module == "generator":
                    imported.update(_module_of(alias.name, known) for alias in node.names)
                elif module.startswith("generator."):
                    imported.add(_module_of(module[len("generator.") :], known))
                continue
            base = package if node.level == 1 else ""
            if node.module:
                target = f"{base}.{node.module}" if base else node.module
                imported.add(_module_of(target, known))
            else:
                for alias in node.names:
                    imported.add(_module_of(f"{base}.{alias.name}" if base else alias.name, known))
        imported.discard(name)
        found[name] = imported
    return found


def _names(top: str) -> set[str]:
    paths = glob.glob(os.path.join(top, "**", "*.py"), recursive=True)
    return {os.path.relpath(p, top)[:-3].replace(os.sep, ".") for p in paths}


def _module_of(target: str, found_names: set[str]) -> str:
    """``delivery.tools`` stays itself; ``delivery`` (a package) is its ``delivery.__init__``;
    a name imported from the package itself (``from generator import generate``) is the
    package's ``__init__``."""
    if target in found_names:
        return target
    if f"{target}.__init__" in found_names:
        return f"{target}.__init__"
    return "__init__"


def test_every_core_module_has_a_layer_and_imports_only_downward() -> None:
    rank = {module: number for number, (_, modules) in enumerate(LAYERS) for module in modules}
    imports = _core_imports()
    assert sorted(imports) == sorted(rank), "every module of generator/ belongs to one layer"
    upward = [
        f"{module} ({LAYERS[rank[module]][0]}) imports {other} ({LAYERS[rank[other]][0]})"
        for module, others in imports.items()
        for other in sorted(others)
        if rank[other] > rank[module]
    ]
    assert upward == []


def test_the_core_has_no_import_circle() -> None:
    imports = _core_imports()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for other in imports[module]:
            visit(other, (*path, module))
        done.add(module)

    for module in imports:
        visit(module, ())


def test_the_front_uses_the_core_through_its_public_names_only() -> None:
    """The front imports ``generator`` (its ``__all__``), never a module inside it."""
    import generator

    sources = [os.path.join(ROOT, "event_generator.py")]
    sources += glob.glob(os.path.join(ROOT, "frontend", "*.py"))
    for source in sources:
        with open(source, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("generator"):
                where = f"{os.path.basename(source)}, line {node.lineno}"
                assert node.module == "generator", f"{where}: imports {node.module}"
                for alias in node.names:
                    assert alias.name in generator.__all__, f"{where}: {alias.name} is not public"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("generator.") for a in node.names), source
    for name in generator.__all__:
        assert hasattr(generator, name), name


def test_the_installed_command_and_the_script_are_the_same_program() -> None:
    """The [project.scripts] entry point and ``python3 event_generator.py``: one program."""
    import shutil

    command = shutil.which("event-generator")
    if command is None:
        pytest.skip("the package is not installed as a command in this environment")
    for argv in (
        [command, "--help"],
        [sys.executable, os.path.join(ROOT, "event_generator.py"), "--help"],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0 and "--events PATH" in done.stdout, done.stderr


def test_the_readme_draws_every_module_in_its_layer() -> None:
    """The README's picture of the layers and the code's layers cannot drift apart."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    start = readme.index("```text\nfront")
    picture = readme[start : readme.index("```\n", start + 8)]
    rows: dict[str, str] = {}
    layer = ""
    for line in picture.splitlines()[1:]:
        if line[:1].strip():  # a layer's first row names it
            layer = line.split()[0]
        rows[layer] = rows.get(layer, "") + " " + line[10:31]
    for name, modules in LAYERS:
        if name == "package":
            continue
        drawn = rows[name].replace("·", " ").split()
        for module in modules:
            short = module.split(".")[0] + "/" if module.startswith("delivery.") else module
            assert short in drawn, f"{module} is not drawn in the {name} layer: {drawn}"
