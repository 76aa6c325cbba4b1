"""The output folder: what a run may touch, how it is staged, and how it is published.

A run writes only ``events/``, ``config/`` and ``lookup_table/`` inside the folder the user chose,
and nothing else.  It first writes everything into a hidden staging folder beside them; only when
every file is complete are the three folders moved into place (``config/`` last, since its
``run.json`` marks a finished run).  A run that fails or is killed leaves either the previous state
or a staging folder that the next run recognises as incomplete.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from enum import Enum

from .errors import OutputError, OutputExistsError, UsageError

STAGING = ".event-generator-incomplete"
RUN_FOLDERS = ("events", "lookup_table", "config")  # publishing order: config/ last
RUN_FILE = os.path.join("config", "run.json")


class FolderState(Enum):
    FREE = "free"  # does not exist, or holds nothing of ours
    HOLDS_RUN = "holds_run"  # a finished run (config/run.json)
    INCOMPLETE = "incomplete"  # our folders without run.json, or a leftover staging folder


@dataclass(frozen=True)
class Inspection:
    state: FolderState
    found: tuple[str, ...]  # which of our names are there


def inspect(folder: str) -> Inspection:
    """What the folder holds, as far as this tool is concerned."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"output folder {folder} is a file; give a folder")
    found = tuple(
        name for name in (*RUN_FOLDERS, STAGING) if os.path.lexists(os.path.join(folder, name))
    )
    if not found:
        return Inspection(FolderState.FREE, found)
    if os.path.isfile(os.path.join(folder, RUN_FILE)) and STAGING not in found:
        return Inspection(FolderState.HOLDS_RUN, found)
    return Inspection(FolderState.INCOMPLETE, found)


def _remove(path: str) -> None:
    """Remove one of our own entries; a symbolic link is removed, never followed."""
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def prepare(folder: str, replace: bool) -> str:
    """Check the folder and create an empty staging folder in it; return the staging path.

    A folder that holds a run (finished or not) is refused unless ``replace`` is set; even then,
    the previous run stays untouched until the new one is complete (see :func:`publish`).
    """
    seen = inspect(folder)
    if seen.state is not FolderState.FREE and not replace:
        what = "a previous run" if seen.state is FolderState.HOLDS_RUN else "an incomplete run"
        raise OutputExistsError(
            f"output folder {folder} already holds {what} ({', '.join(seen.found)}); choose "
            f"another folder, or replace it (--force)"
        )
    staging = os.path.join(folder, STAGING)
    try:
        os.makedirs(folder, exist_ok=True)
        _remove(staging)
        for name in RUN_FOLDERS:
            os.makedirs(os.path.join(staging, name))
        os.makedirs(os.path.join(staging, "parts"))
    except OSError as exc:
        raise OutputError(
            f"cannot create the output folder {folder}: {exc.strerror or exc}"
        ) from None
    return staging


def publish(folder: str, staging: str) -> None:
    """Replace the folder's previous run (if any) by the staged one."""
    try:
        shutil.rmtree(os.path.join(staging, "parts"), ignore_errors=True)
        # Take the old run out of the way first, config/ (its completion mark) before the rest.
        for name in reversed(RUN_FOLDERS):
            _remove(os.path.join(folder, name))
        for name in RUN_FOLDERS:
            os.replace(os.path.join(staging, name), os.path.join(folder, name))
        os.rmdir(staging)
    except OSError as exc:
        raise OutputError(
            f"could not move the finished run into {folder}: {exc.strerror or exc}"
        ) from None


def discard(staging: str) -> None:
    """Remove a staging folder after a failure or Ctrl-C; never raises."""
    shutil.rmtree(staging, ignore_errors=True)
