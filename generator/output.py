"""The output folder: what a run may touch, how it is staged, and how it is published.

A run writes only ``events/``, ``config/`` and ``lookup_table/`` inside the folder the user chose,
and nothing else.  It first writes everything into a hidden staging folder beside them; only when
every file is complete are the three folders moved into place (``config/`` last, since its
``run.json`` marks a finished run).  A run that fails or is killed leaves either the previous state
or a staging folder that the next run recognises as incomplete.

Safety rules (README, *Hardening*):

- the output folder itself may not be a symbolic link, and nothing is ever written through one: a
  link named like one of our folders is removed (the link, never what it points to) when a run is
  replaced, and the staging folder is created with ``mkdir``, which never follows a link;
- a folder named like ours that holds files this tool does not write (``events/notes.txt``) is
  somebody else's work: it is refused, even with replace, and never touched;
- the previous run is moved aside (renames, no copying) into the staging folder while the new one is
  moved in, with Ctrl-C and SIGTERM held back for those few renames, and deleted only afterwards.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .errors import OutputError, OutputExistsError, UsageError

STAGING = ".event-generator-incomplete"
RUN_FOLDERS = ("events", "lookup_table", "config")  # publishing order: config/ last
RUN_FILE = os.path.join("config", "run.json")
REPLACED = "replaced"  # inside the staging folder: the previous run, while the new one moves in
PARTS = "parts"  # inside the staging folder: per-chunk pieces assembled at the end

# What each of our folders may hold for it to count as ours (anything else is someone's work):
# events files in any format, compressed or not, of a first run or a continued one
# (``run-001-part-00000-000.jsonl.gz``); lookup tables and user-profile files; JSON in config/.
# A ``.partial`` suffix, removed before matching, is a file being written (``writers.AtomicFile``).
_OURS = {
    "events": re.compile(r"(run-[0-9]{3,}-)?part-[0-9]+-[0-9]+\.[A-Za-z0-9.]+"),
    "lookup_table": re.compile(r".+\.(csv|jsonl|json)", re.DOTALL),
    "config": re.compile(r".+\.json", re.DOTALL),
}

# Creating the folder failed because of the answer itself, not because of a fault: exit status 2.
_BAD_FOLDER_ERRNOS = (
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOTDIR,
    errno.ENAMETOOLONG,
    errno.ELOOP,
    errno.EEXIST,
)


class FolderState(Enum):
    FREE = "free"  # does not exist, or holds nothing of ours
    HOLDS_RUN = "holds_run"  # a finished run (config/run.json)
    INCOMPLETE = "incomplete"  # our folders without run.json, or a leftover staging folder


@dataclass(frozen=True)
class Inspection:
    state: FolderState
    found: tuple[str, ...]  # which of our names are there
    links: tuple[str, ...] = ()  # which of them are symbolic links (removed, never followed)


def _check_name(folder: str) -> None:
    if not folder or not folder.strip():
        raise UsageError("the output folder is empty; give the name of a folder")
    if "\x00" in folder:
        raise UsageError(f"output folder {folder!r} contains a NUL character; give a folder name")


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot look into {path}: {exc.strerror or exc}") from None


def _foreign_entry(folder: str, name: str) -> str | None:
    """The first entry of ``folder/name`` that this tool does not write, or None if all are ours."""
    path = os.path.join(folder, name)
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        raise UsageError(f"cannot look into {path}: {exc.strerror or exc}") from None
    for entry in entries:
        if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
            return entry.name
        if not _OURS[name].fullmatch(entry.name.removesuffix(".partial")):
            return entry.name
    return None


def inspect(folder: str) -> Inspection:
    """What the folder holds, as far as this tool is concerned.

    Raises :class:`UsageError` for a folder that is a file or a symbolic link, and
    :class:`OutputExistsError` for a folder that holds someone else's work under one of our names
    (neither may be replaced, whatever the user says).
    """
    _check_name(folder)
    top = _lstat(os.path.normpath(folder))
    if top is not None and stat.S_ISLNK(top.st_mode):
        target = os.readlink(os.path.normpath(folder))
        raise UsageError(
            f"output folder {folder} is a symbolic link (to {target}); this tool never writes "
            f"through a link: give the folder it points to, or another folder"
        )
    if top is not None and not stat.S_ISDIR(top.st_mode):
        raise UsageError(f"output folder {folder} is a file; give a folder")
    if top is None:
        return Inspection(FolderState.FREE, ())
    found: list[str] = []
    links: list[str] = []
    for name in (*RUN_FOLDERS, STAGING):
        info = _lstat(os.path.join(folder, name))
        if info is None:
            continue
        found.append(name)
        if stat.S_ISLNK(info.st_mode):
            links.append(name)
        elif name == STAGING:
            continue
        elif not stat.S_ISDIR(info.st_mode):
            raise OutputExistsError(
                f"output folder {folder} holds a file named {name!r}, which this tool did not "
                f"write; it is left alone: choose another output folder, or move it"
            )
        else:
            foreign = _foreign_entry(folder, name)
            if foreign is not None:
                raise OutputExistsError(
                    f"output folder {folder} holds a {name}/ folder with files this tool did not "
                    f"write ({foreign!r}); it is left alone, even with --force: choose another "
                    f"output folder, or move that folder"
                )
    if not found:
        return Inspection(FolderState.FREE, (), ())
    complete = (
        not links
        and STAGING not in found
        and all(name in found for name in RUN_FOLDERS)
        and os.path.isfile(os.path.join(folder, RUN_FILE))
    )
    state = FolderState.HOLDS_RUN if complete else FolderState.INCOMPLETE
    return Inspection(state, tuple(found), tuple(links))


def _remove(path: str) -> None:
    """Remove one of our own entries; a symbolic link is removed, never followed."""
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def clean_incomplete(folder: str) -> tuple[str, ...]:
    """Remove what an interrupted or failed run left in ``folder``; return the names removed.

    Removes the staging folder, and our three folders when they do not make a finished run
    (``config/run.json`` with ``events/`` and ``lookup_table/``).  A finished run next to a leftover
    staging folder (a run killed while tidying up) is kept.  Nothing else is touched; a folder that
    holds someone else's work under one of our names is refused (see :func:`inspect`).
    """
    seen = inspect(folder)
    if seen.state is not FolderState.INCOMPLETE:
        return ()
    finished = all(
        name in seen.found and name not in seen.links for name in RUN_FOLDERS
    ) and os.path.isfile(os.path.join(folder, RUN_FILE))
    doomed = [STAGING] if STAGING in seen.found else []
    if not finished:
        # config/ first: from the first removal on, the folder no longer looks like a run.
        doomed += [name for name in reversed(RUN_FOLDERS) if name in seen.found]
    try:
        for name in doomed:
            _remove(os.path.join(folder, name))
    except OSError as exc:
        raise OutputError(
            f"could not remove the incomplete run in {folder}: {exc.strerror or exc}"
        ) from None
    return tuple(doomed)


def describe(seen: Inspection) -> str:
    """A short description of what a folder holds, for messages and prompts."""
    if seen.state is FolderState.HOLDS_RUN:
        return "a previous run"
    if seen.state is FolderState.INCOMPLETE:
        return f"the remains of an incomplete run ({', '.join(seen.found)})"
    return "nothing of this tool's"


def check_free(folder: str, replace: bool) -> Inspection:
    """Refuse a folder that holds a run (finished or not) unless ``replace``; else say what is
    there.  The front calls it before a run starts, :func:`prepare` again before writing."""
    seen = inspect(folder)
    if seen.state is not FolderState.FREE and not replace:
        remedy = (
            "choose another folder, or replace it (--force)"
            if seen.state is FolderState.HOLDS_RUN
            else "choose another folder, or clean it up and start again (--force)"
        )
        raise OutputExistsError(f"output folder {folder} already holds {describe(seen)}; {remedy}")
    return seen


def prepare(folder: str, replace: bool) -> str:
    """Check the folder and create an empty staging folder in it; return the staging path.

    A folder that holds a run (finished or not) is refused unless ``replace`` is set; even then,
    the previous run stays untouched until the new one is complete (see :func:`publish`).
    """
    check_free(folder, replace)
    staging = os.path.join(folder, STAGING)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        error = UsageError if exc.errno in _BAD_FOLDER_ERRNOS else OutputError
        raise error(
            f"cannot create the output folder {folder}: {exc.strerror or exc}; "
            f"choose another folder"
        ) from None
    try:
        _remove(staging)  # a leftover of an earlier run (a link is removed, never followed)
        os.mkdir(staging)  # fails rather than follow a link put there in the meantime
        for name in (*RUN_FOLDERS, PARTS):
            os.mkdir(os.path.join(staging, name))
    except OSError as exc:
        if os.path.isdir(staging) and not os.path.islink(staging):
            discard(staging)  # half made: the next run must not take it for an incomplete run
        error = UsageError if exc.errno in _BAD_FOLDER_ERRNOS else OutputError
        raise error(f"cannot write in the output folder {folder}: {exc.strerror or exc}") from None
    return staging


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back for a few renames, then deliver them as they would have been."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, Any] = {}

    def hold(signum: int, frame: object) -> None:
        caught.append(signum)

    for held in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(held)
        if handler is None:  # set outside Python: cannot be restored, so leave it alone
            continue
        previous[held] = handler
        signal.signal(held, hold)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if caught:
            signal.raise_signal(caught[0])


def publish(folder: str, staging: str) -> None:
    """Replace the folder's previous run (if any) by the staged one.

    The previous run is renamed into the staging folder (``config/`` first, so the folder stops
    looking finished at once), the new one renamed into place (``config/`` last), and the staging
    folder, holding the previous run, removed at the end.  Killed at any point, the folder holds
    either a finished run or a staging folder the next run recognises as incomplete.
    """
    shutil.rmtree(os.path.join(staging, PARTS), ignore_errors=True)
    aside = os.path.join(staging, REPLACED)
    moved: list[str] = []
    placed: list[str] = []
    with signals_held():
        try:
            os.mkdir(aside)
            for name in reversed(RUN_FOLDERS):
                if os.path.lexists(os.path.join(folder, name)):
                    os.replace(os.path.join(folder, name), os.path.join(aside, name))
                    moved.append(name)
            for name in RUN_FOLDERS:
                os.replace(os.path.join(staging, name), os.path.join(folder, name))
                placed.append(name)
        except OSError as exc:
            if not placed:  # nothing new is in place yet: the previous run can go back whole
                _put_back(folder, aside, moved)
            raise OutputError(
                f"could not move the finished run into {folder}: {exc.strerror or exc}"
            ) from None
    shutil.rmtree(staging, ignore_errors=True)


def _put_back(folder: str, aside: str, moved: list[str]) -> None:
    """After a publish failed before any new folder was in place, move the previous run back
    (``config/`` last, so it looks finished only once whole)."""
    for name in reversed(moved):
        try:
            if not os.path.lexists(os.path.join(folder, name)):
                os.replace(os.path.join(aside, name), os.path.join(folder, name))
        except OSError:
            pass


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
    """Create an empty staging folder in a folder that holds a finished run; return its path.

    The same checks as a new run's: never through a symbolic link, never into someone else's files.
    """
    seen = inspect(folder)
    if seen.links:
        raise UsageError(
            f"output folder {folder} holds a symbolic link named {seen.links[0]!r}; a continued "
            f"run never writes through a link: replace the link by the folder it points to"
        )
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
