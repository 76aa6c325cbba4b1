"""The output folder: what a run may touch, how it is staged, and how it is published.

A run writes only ``events/``, ``config/`` and ``lookup_table/`` inside the folder the user chose,
and nothing else.  It first writes everything into a hidden staging folder beside them; only when
every file is complete are the three folders moved into place (``config/`` last, since its
``run.json`` marks a finished run).  A run that fails or is killed leaves either the previous state
or a staging folder that the next run recognises as incomplete.
"""

from __future__ import annotations

import os
import re
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


# -- continuing a run ------------------------------------------------------------------------------
#
# A continued run adds files beside the old ones (named ``run-NNN-...``, NNN its run number) and
# replaces config/ and the lookup table.  It publishes its new files first, then the lookup table
# (keeping the old one in the staging folder), then swaps config/ through the staging folder:
# config/run.json says which runs are complete, so moving the new config/ in is the commit point.
# A continue stopped before it leaves extra ``run-NNN-`` files and a staging folder holding the old
# lookup table and config/; :func:`recover` and :func:`drop_later_runs` put the previous state back.

PREVIOUS_CONFIG = "config-previous"
PREVIOUS_LOOKUP = "lookup-previous"
LATER_RUN = re.compile(r"run-(\d{3,})-")


def recover(folder: str) -> None:
    """Undo what a continue stopped before its commit point moved in (no-op otherwise).

    The new config/ still in the staging folder means the continue never committed: put the
    previous config/ and lookup files back.  :func:`drop_later_runs` then removes its new files.
    """
    staging = os.path.join(folder, STAGING)
    if not os.path.isdir(os.path.join(staging, "config")):
        return  # no staging folder, or the continue committed: its new state stands
    previous = os.path.join(staging, PREVIOUS_CONFIG)
    config = os.path.join(folder, "config")
    lookup = os.path.join(staging, PREVIOUS_LOOKUP)
    try:
        if not os.path.lexists(config) and os.path.isfile(os.path.join(previous, "run.json")):
            os.replace(previous, config)
        if os.path.isdir(lookup):
            for name in sorted(os.listdir(lookup)):
                os.replace(os.path.join(lookup, name), os.path.join(folder, "lookup_table", name))
    except OSError as exc:
        raise OutputError(
            f"could not restore {folder} after an interrupted run: {exc.strerror or exc}"
        ) from None


def drop_later_runs(folder: str, runs_done: int) -> list[str]:
    """Remove the staging folder and ``run-NNN-`` files with NNN above ``runs_done``; list them."""
    removed = []
    discard(os.path.join(folder, STAGING))
    for sub in ("events", "lookup_table"):
        path = os.path.join(folder, sub)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            match = LATER_RUN.match(name)
            if match and int(match.group(1)) > runs_done:
                _remove(os.path.join(path, name))
                removed.append(os.path.join(sub, name))
    return removed


def prepare_continue(folder: str) -> str:
    """Create an empty staging folder in a folder that holds a finished run; return its path."""
    staging = os.path.join(folder, STAGING)
    try:
        _remove(staging)
        for name in (*RUN_FOLDERS, "parts", PREVIOUS_LOOKUP):
            os.makedirs(os.path.join(staging, name))
    except OSError as exc:
        raise OutputError(f"cannot write into {folder}: {exc.strerror or exc}") from None
    return staging


def publish_continue(folder: str, staging: str) -> None:
    """Move a continued run's files into place, config/ last (the commit point)."""
    try:
        shutil.rmtree(os.path.join(staging, "parts"), ignore_errors=True)
        for sub in ("events", "lookup_table"):
            os.makedirs(os.path.join(folder, sub), exist_ok=True)
            for name in sorted(os.listdir(os.path.join(staging, sub))):
                target = os.path.join(folder, sub, name)
                if os.path.lexists(target):  # the lookup table: keep the old one until commit
                    os.replace(target, os.path.join(staging, PREVIOUS_LOOKUP, name))
                os.replace(os.path.join(staging, sub, name), target)
        os.replace(os.path.join(folder, "config"), os.path.join(staging, PREVIOUS_CONFIG))
        os.replace(os.path.join(staging, "config"), os.path.join(folder, "config"))
    except OSError as exc:
        raise OutputError(
            f"could not move the continued run into {folder}: {exc.strerror or exc}"
        ) from None
    discard(staging)
