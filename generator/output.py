"""The output folder: what a run may touch, how it is staged, published or rolled back, and the
lock that keeps two runs out of one folder.

A run writes only ``events/``, ``config/`` and ``lookup_table/`` inside the folder the user chose
(names in ``layout``).  It first writes everything into a hidden staging folder beside them; only
when every file is complete are they moved into place (``config/`` last, since its ``run.json``
marks a finished run).  A run that fails or is killed leaves either the previous state or a staging
folder that the next run recognises as incomplete.

Safety rules (README, *Hardening*):

- the output folder itself may not be a symbolic link, and nothing is ever written through one: a
  link named like one of our folders is removed (the link, never what it points to) when a run is
  replaced, and the staging folder is created with ``mkdir``, which never follows a link;
- a folder named like ours that holds files this tool does not write (``events/notes.txt``) is
  somebody else's work: it is refused, even with replace, and never touched;
- everything is checked before anything is removed, and a continue removes only the files its own
  manifest says it moved in;
- one run at a time: a run holds an advisory lock on the folder (released by the kernel when the
  process dies), and a second run is refused while the first holds it;
- the previous run is moved aside (renames, no copying) into the staging folder while the new one is
  moved in, with Ctrl-C and SIGTERM held back for those few renames, and deleted only afterwards.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import signal
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson

from . import layout
from .errors import InputError, OutputError, OutputExistsError, OutputInUseError, UsageError
from .spec import LookupSpec
from .writers import AtomicFile

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
    except (FileNotFoundError, NotADirectoryError):
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
        if not layout.is_ours(name, entry.name):
            return entry.name
    return None


def inspect(folder: str) -> Inspection:
    """What the folder holds, as far as this tool is concerned.  Reads, never changes.

    Raises :class:`UsageError` for a folder that is a file or a symbolic link,
    :class:`OutputExistsError` for a folder that holds someone else's work under one of our names
    (neither may be replaced, whatever the user says), and :class:`OutputInUseError` for a folder
    another run is writing.
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
    holder = lock_holder(folder)
    if holder is not None:
        raise OutputInUseError(in_use_message(folder, holder))
    found: list[str] = []
    links: list[str] = []
    for name in (*layout.RUN_FOLDERS, layout.STAGING):
        info = _lstat(os.path.join(folder, name))
        if info is None:
            continue
        found.append(name)
        if stat.S_ISLNK(info.st_mode):
            links.append(name)
        elif name == layout.STAGING:
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
                    f"output folder {folder} holds {'an' if name[0] in 'aeiou' else 'a'} {name}/ "
                    f"folder with files this tool did not write ({foreign!r}); it is left alone, "
                    f"even with --force: choose another output folder, or move that folder"
                )
    if not found:
        return Inspection(FolderState.FREE, (), ())
    complete = (
        not links
        and layout.STAGING not in found
        and all(name in found for name in layout.RUN_FOLDERS)
        and os.path.isfile(os.path.join(folder, layout.RUN_FILE))
    )
    state = FolderState.HOLDS_RUN if complete else FolderState.INCOMPLETE
    return Inspection(state, tuple(found), tuple(links))


def _existing_ancestor(path: str) -> str:
    """The nearest folder above ``path`` (or ``path`` itself) that exists."""
    path = os.path.abspath(path)
    while not os.path.lexists(path):
        path = os.path.dirname(path)
    return path


def free_space(folder: str) -> int:
    """Bytes free for this user on the file system that holds (or will hold) ``folder``."""
    try:
        info = os.statvfs(_existing_ancestor(folder))
    except OSError as exc:
        raise UsageError(f"cannot look into {folder}: {exc.strerror or exc}") from None
    return info.f_bavail * info.f_frsize


def check_writable(folder: str) -> None:
    """Refuse an output folder that could not be created or written, before anything is written:
    a name longer than the file system allows, a place under a file, without permission, on a
    read-only file system, or (tried) one that takes no new folder.  (``prepare`` would fail on
    them too, but only after every question and the announcement of the run.)
    """
    _check_name(folder)
    path = os.path.abspath(folder)
    ancestor = _existing_ancestor(path)
    try:
        name_max = os.pathconf(ancestor, "PC_NAME_MAX")
        path_max = os.pathconf(ancestor, "PC_PATH_MAX")
    except (OSError, ValueError):
        name_max, path_max = 255, 4096
    for part in path.split(os.sep):
        if len(os.fsencode(part)) > name_max:
            shown = part if len(part) <= 40 else part[:39] + "…"
            raise UsageError(
                f"the name {shown!r} in output folder {folder} is too long: "
                f"{len(os.fsencode(part)):,} bytes, where this file system allows {name_max}; "
                f"choose a shorter name"
            )
    if len(os.fsencode(path)) + 1 + layout.LONGEST_INSIDE >= path_max:
        raise UsageError(
            f"output folder {folder} is too deep: its path has {len(os.fsencode(path)):,} bytes, "
            f"and the files inside it would pass the system's limit of {path_max:,}; choose a "
            f"shorter path"
        )
    if os.path.islink(path):
        inspect(folder)  # says what is wrong with a link
    if ancestor == path and not os.path.isdir(path):
        raise UsageError(f"output folder {folder} is a file; give a folder")
    if not os.path.isdir(ancestor):
        raise UsageError(
            f"cannot create the output folder {folder}: {ancestor} is a file; choose another folder"
        )
    try:
        read_only = bool(os.statvfs(ancestor).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only:
        raise UsageError(
            f"output folder {folder} is on a read-only file system ({ancestor}); choose another "
            f"folder"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(
            f"cannot write into {ancestor} (permission denied), so output folder {folder} "
            f"cannot be {'written' if ancestor == path else 'created'}; choose another folder"
        )
    if ancestor != path:
        _try_creating(folder, ancestor, path)


def _try_creating(folder: str, ancestor: str, path: str) -> None:
    """Create the first missing folder of ``path`` and remove it again: what permissions and
    mount flags do not tell (``/proc``, ``/sys`` and some network file systems take no new
    folder, even from root) is refused here, before anything runs, rather than after the run is
    announced.  Only a folder this call created, and still empty, is removed."""
    relative = os.path.relpath(path, ancestor)
    first = os.path.join(ancestor, relative.split(os.sep)[0])
    try:
        os.mkdir(first)
    except FileExistsError:
        return  # created meanwhile: it exists, and prepare() checks it as it is
    except OSError as exc:
        raise UsageError(
            f"output folder {folder} cannot be created: {ancestor} takes no new folder "
            f"({exc.strerror or exc}); choose another folder"
        ) from None
    with suppress(OSError):
        os.rmdir(first)


def describe(seen: Inspection) -> str:
    """A short description of what a folder holds, for messages and prompts."""
    if seen.state is FolderState.HOLDS_RUN:
        return "a previous run"
    if seen.state is FolderState.INCOMPLETE:
        return f"the remains of an incomplete run ({', '.join(seen.found)})"
    return "nothing of this tool's"


def check_free(folder: str, replace: bool) -> Inspection:
    """Refuse a folder that holds a run (finished or not) unless ``replace``; else say what is
    there.  The front calls it at its question, :func:`prepare` again before writing."""
    seen = inspect(folder)
    if seen.state is not FolderState.FREE and not replace:
        remedy = (
            "choose another folder, or replace it (--force)"
            if seen.state is FolderState.HOLDS_RUN
            else "choose another folder, or clean it up and start again (--force)"
        )
        raise OutputExistsError(f"output folder {folder} already holds {describe(seen)}; {remedy}")
    return seen


def _remove(path: str) -> None:
    """Remove one of our own entries; a symbolic link is removed, never followed."""
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


# -- names too long to write ----------------------------------------------------------------------

NAME_MAX = 255  # bytes in a file name: the limit of ext4, XFS, Btrfs, tmpfs, APFS, NTFS (UTF-16)


def check_lookup_name(lookup: LookupSpec, folder: str | None = None) -> None:
    """Refuse a lookup file whose table could not be written back under its name.

    The table is ``lookup_table/<name>.csv``, written as ``<name>.csv.partial`` until complete, 12
    bytes more than the name: a legal 249-character file name would fail after generating.  With
    ``folder``, the limit is that of the file system that will hold it (eCryptfs: 143); its nearest
    existing parent is asked, as the folder need not exist yet.
    """
    limit, allowed = NAME_MAX, "file systems allow"
    if folder is not None:
        parent = os.path.abspath(folder)
        while not os.path.isdir(parent) and os.path.dirname(parent) != parent:
            parent = os.path.dirname(parent)
        try:
            limit = os.pathconf(parent, "PC_NAME_MAX")
        except (OSError, ValueError):
            pass  # not known here: the common limit
        if limit != NAME_MAX:
            allowed = "the file system of the output folder allows"
    written = os.path.basename(layout.lookup_name(lookup.name)) + layout.TEMP_SUFFIX
    size = len(os.fsencode(written))
    if size > limit:
        raise InputError(
            f"the lookup table is written as {layout.lookup_name(lookup.name)}, a name of "
            f"{size} bytes while it is written, and {allowed} {limit}; rename the file to a name "
            f"at least {size - limit} characters shorter",
            file=lookup.source,
        )


# -- the lock --------------------------------------------------------------------------------------


def in_use_message(folder: str, pid: int | None) -> str:
    who = f"process {pid}" if pid else "another process"
    return (
        f"output folder {folder} is in use by {who} (a run or a send is writing it); wait for "
        f"it to finish, or choose another folder"
    )


def lock_holder(folder: str) -> int | None:
    """The process holding the folder's lock (0 if it cannot be told), or None if nobody does."""
    path = os.path.join(folder, layout.LOCK)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None  # no lock file (or a link, which is never ours): nobody holds it
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            text = os.read(descriptor, 32).decode("ascii", "replace").strip()
            pid = int(text) if text.isdigit() else 0
            return None if pid == os.getpid() else pid  # our own lock: the folder is ours
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        return None
    finally:
        os.close(descriptor)


class FolderLock:
    """An advisory lock on an output folder, held from the start of a run to its end.

    ``flock`` on ``<folder>/.event-generator.lock``, which holds the process id for the message a
    second run shows.  The kernel releases it when the process dies, however it dies.
    """

    def __init__(self, folder: str) -> None:
        self.path = os.path.join(folder, layout.LOCK)
        self.folder = folder
        self.descriptor: int | None = None

    def acquire(self) -> None:
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
        while True:
            try:
                descriptor = os.open(self.path, flags, 0o644)
            except OSError as exc:
                raise UsageError(
                    f"cannot write in the output folder {self.folder}: {exc.strerror or exc}"
                ) from None
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(descriptor)
                raise OutputInUseError(
                    in_use_message(self.folder, lock_holder(self.folder))
                ) from None
            # The holder before us may have removed the file between our open and our lock: then
            # we hold a lock on a file nobody else sees, and must take the one that is there now.
            try:
                same = os.stat(self.path).st_ino == os.fstat(descriptor).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(descriptor)
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        self.descriptor = descriptor

    def release(self) -> None:
        """Remove the lock file and let the lock go; a second call (after an interrupt landed in
        the first) does nothing."""
        descriptor, self.descriptor = self.descriptor, None
        if descriptor is None:
            return
        try:
            with suppress(OSError):
                os.unlink(self.path)
        finally:
            os.close(descriptor)


@contextmanager
def locked(folder: str) -> Iterator[FolderLock]:
    """Hold the folder's lock for the duration (the folder must exist)."""
    lock = FolderLock(folder)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


# -- staging a run ---------------------------------------------------------------------------------


@dataclass
class Staging:
    """A run in progress: its output folder, its staging folder, its lock, and the folders the
    run created to hold it (the output folder and any parent that was missing, deepest first: a
    run that fails removes them again, those left empty)."""

    folder: str
    path: str
    lock: FolderLock
    created: tuple[str, ...]

    def staged(self, relative: str) -> str:
        return os.path.join(self.path, relative)


def _make_folder(folder: str) -> tuple[str, ...]:
    """Create the output folder and any missing parent; the folders this call created, deepest
    first (none when the folder was there)."""
    missing: list[str] = []
    path = os.path.abspath(folder)
    while not os.path.lexists(path) and os.path.dirname(path) != path:
        missing.append(path)
        path = os.path.dirname(path)
    if not missing:
        return ()
    try:
        os.makedirs(folder)
    except FileExistsError:
        return ()
    except OSError as exc:
        error = UsageError if exc.errno in _BAD_FOLDER_ERRNOS else OutputError
        raise error(
            f"cannot create the output folder {folder}: {exc.strerror or exc}; "
            f"choose another folder"
        ) from None
    return tuple(missing)


def _remove_created(created: tuple[str, ...]) -> None:
    """Remove the folders a run created, deepest first, as long as they are empty."""
    for path in created:
        try:
            os.rmdir(path)
        except OSError:
            return


def _begin(folder: str) -> tuple[FolderLock, tuple[str, ...]]:
    created = _make_folder(folder)
    lock = FolderLock(folder)
    try:
        lock.acquire()
    except BaseException:
        _remove_created(created)
        raise
    return lock, created


def prepare(folder: str, replace: bool) -> Staging:
    """Check the folder, lock it, and create an empty staging folder in it.

    A folder that holds a run (finished or not) is refused unless ``replace`` is set; even then,
    the previous run stays untouched until the new one is complete (see :func:`publish`).
    """
    check_free(folder, replace)
    lock, created = _begin(folder)
    staging = Staging(folder, os.path.join(folder, layout.STAGING), lock, created)
    try:
        check_free(folder, replace)  # again, now that nobody else can change it
        _remove(staging.path)  # a leftover of an earlier run (a link is removed, never followed)
        os.mkdir(staging.path)  # fails rather than follow a link put there in the meantime
        for name in (*layout.RUN_FOLDERS, layout.PARTS):
            os.mkdir(staging.staged(name))
    except OSError as exc:
        roll_back(staging)
        error = UsageError if exc.errno in _BAD_FOLDER_ERRNOS else OutputError
        raise error(f"cannot write in the output folder {folder}: {exc.strerror or exc}") from None
    except BaseException:
        roll_back(staging)
        raise
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


def publish(staging: Staging) -> None:
    """Replace the folder's previous run (if any) by the staged one.

    The previous run is renamed into the staging folder (``config/`` first, so the folder stops
    looking finished at once), the new one renamed into place (``config/`` last), and the staging
    folder, holding the previous run, removed at the end.  Killed at any point, the folder holds
    either a finished run or a staging folder the next run recognises as incomplete.
    """
    folder = staging.folder
    shutil.rmtree(staging.staged(layout.PARTS), ignore_errors=True)
    aside = staging.staged(layout.REPLACED)
    moved: list[str] = []
    placed: list[str] = []
    try:
        os.mkdir(aside)
        for name in reversed(layout.RUN_FOLDERS):
            if os.path.lexists(os.path.join(folder, name)):
                os.replace(os.path.join(folder, name), os.path.join(aside, name))
                moved.append(name)
        for name in layout.RUN_FOLDERS:
            os.replace(staging.staged(name), os.path.join(folder, name))
            placed.append(name)
    except OSError as exc:
        if not placed:  # nothing new is in place yet: the previous run can go back whole
            _put_back(folder, aside, moved)
        raise OutputError(
            f"could not move the finished run into {folder}: {exc.strerror or exc}"
        ) from None


def _put_back(folder: str, aside: str, moved: list[str]) -> None:
    """After a publish failed before any new folder was in place, move the previous run back
    (``config/`` last, so it looks finished only once whole)."""
    for name in reversed(moved):
        try:
            if not os.path.lexists(os.path.join(folder, name)):
                os.replace(os.path.join(aside, name), os.path.join(folder, name))
        except OSError:
            pass


def finish(staging: Staging) -> None:
    """After a publish: remove the staging folder (holding the previous run) and the lock."""
    shutil.rmtree(staging.path, ignore_errors=True)
    staging.lock.release()


def roll_back(staging: Staging) -> None:
    """After a failure or Ctrl-C: remove the staging folder and the lock, and the folders this
    run created (the output folder, missing parents) that are left empty.  Never raises."""
    shutil.rmtree(staging.path, ignore_errors=True)
    staging.lock.release()
    _remove_created(staging.created)


# -- continuing a run ------------------------------------------------------------------------------
#
# A continue adds files beside the old ones (named ``run-NNN-...``, NNN its run number) and
# replaces config/ and the lookup table.  Before it moves anything, it writes a manifest into the
# staging folder naming every file it will move in; then it moves its new files in, moving each
# lookup file it replaces aside into the staging folder, then swaps config/ through the staging
# folder: config/run.json says which runs are complete, so moving the new config/ in is the commit
# point.  A continue stopped before it leaves a staging folder holding its manifest, the new
# config/ and the files it replaced; :func:`_recover` puts the previous state back, touching only
# the files the manifest names.


def prepare_continue(folder: str, expected_run: int | None) -> Staging:
    """Check a folder holding a finished run, lock it, repair what an interrupted continue left,
    and create an empty staging folder.  Nothing is touched before every check has passed.

    ``expected_run`` is the number an interrupted continue of this run had (its record's
    continues, plus one; None when the record cannot be read): recovery removes only files named
    for that continue, whatever its manifest says.
    """
    check_continuable(folder)
    lock, created = _begin(folder)
    staging = Staging(folder, os.path.join(folder, layout.STAGING), lock, created)
    try:
        if os.path.isfile(os.path.join(folder, layout.RUN_FILE)) or _is_continue(staging):
            _recover(staging, expected_run)
        problem = _not_continuable(folder, inspect(folder))
        if problem is not None:
            raise problem
        for name in (*layout.RUN_FOLDERS, layout.PARTS, layout.PREVIOUS_LOOKUP):
            os.makedirs(staging.staged(name))
    except OSError as exc:
        roll_back(staging)
        raise OutputError(f"cannot write into {folder}: {exc.strerror or exc}") from None
    except BaseException:
        roll_back(staging)
        raise
    return staging


def check_continuable(folder: str) -> Inspection:
    """Refuse a folder that holds nothing a continue could carry on (no folder, nothing of ours,
    the remains of an incomplete run that no interrupted continue left), as :func:`prepare_continue`
    would, but without touching it: the front checks this before it says what it will do.  The
    remains of an interrupted continue pass: ``prepare_continue`` repairs them first."""
    if not os.path.isdir(folder) or os.path.islink(folder):
        inspect(folder)  # says what is wrong with it (a link, a file), else:
        raise _nothing_to_continue(folder)
    seen = inspect(folder)
    if seen.links:
        raise UsageError(
            f"output folder {folder} holds a symbolic link named {seen.links[0]!r}; a continued "
            f"run never writes through a link: replace the link by the folder it points to"
        )
    repairable = os.path.isfile(os.path.join(folder, layout.RUN_FILE)) or os.path.isfile(
        os.path.join(folder, layout.STAGING, layout.MANIFEST)
    )
    problem = None if repairable else _not_continuable(folder, seen)
    if problem is not None:
        raise problem
    return seen


def _nothing_to_continue(folder: str) -> UsageError:
    return UsageError(f"nothing to continue: {folder} holds no finished run to continue")


def _not_continuable(folder: str, seen: Inspection) -> UsageError | None:
    """Why a continue cannot carry on what ``folder`` holds (None: it holds a finished run)."""
    if seen.state is FolderState.FREE:
        return _nothing_to_continue(folder)
    if seen.state is not FolderState.HOLDS_RUN:
        return UsageError(
            f"nothing to continue: {folder} holds {describe(seen)}, not a finished run; "
            f"to start again there, replace it (--force)"
        )
    return None


def _is_continue(staging: Staging) -> bool:
    """True when the staging folder is an interrupted continue's (it wrote its manifest).  Any
    other staging folder next to a folder without run.json may hold the only copy of a replaced
    run (moved aside while a new run moved in): it is never removed by a continue."""
    return os.path.isfile(staging.staged(layout.MANIFEST))


def _recover(staging: Staging, expected_run: int | None) -> None:
    """Undo what a continue stopped before its commit point moved in, then remove the leftover
    staging folder.  A committed continue's staging folder only holds what it replaced: it is
    removed.

    Each file the manifest names is in one of three states, whatever moment the continue died
    at: not moved yet (still staged: nothing to undo), moved in over an older file (that one is
    kept aside: put it back), or moved in new (no older one: remove it).  Only a file named for
    this continue (``run-NNN-``, NNN being ``expected_run``) is ever removed.
    """
    folder = staging.folder
    if not os.path.lexists(staging.path):
        return
    if os.path.islink(staging.path) or not os.path.isdir(staging.path):
        _remove(staging.path)
        return
    manifest = _read_manifest(staging)
    uncommitted = os.path.isdir(staging.staged(layout.CONFIG))
    if manifest is not None and uncommitted:
        removable = layout.run_prefix(expected_run) if expected_run else None
        kept = staging.staged(layout.PREVIOUS_LOOKUP)
        try:
            config = os.path.join(folder, layout.CONFIG)
            previous = staging.staged(layout.PREVIOUS_CONFIG)
            aside = os.path.join(folder, layout.RUN_FILE_ASIDE)
            if not os.path.lexists(config) and os.path.isfile(aside):
                os.replace(previous, config)
            for key, sub in (("events", layout.EVENTS), ("lookup", layout.LOOKUP)):
                for name in manifest[key]:
                    target = os.path.join(folder, sub, name)
                    if os.path.isfile(os.path.join(kept, name)):
                        os.replace(os.path.join(kept, name), target)
                    elif (
                        removable is not None
                        and name.startswith(removable)
                        and not os.path.lexists(staging.staged(os.path.join(sub, name)))
                        and os.path.isfile(target)
                        and not os.path.islink(target)
                    ):
                        os.unlink(target)
        except OSError as exc:
            raise OutputError(
                f"could not restore {folder} after an interrupted run: {exc.strerror or exc}"
            ) from None
    shutil.rmtree(staging.path, ignore_errors=True)


def _read_manifest(staging: Staging) -> dict[str, list[str]] | None:
    """The manifest of an interrupted continue, if it wrote one; names that are not ours (a
    damaged or planted manifest) are dropped."""
    path = staging.staged(layout.MANIFEST)
    try:
        with open(path, "rb") as handle:
            data = orjson.loads(handle.read(1 << 24))
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    manifest: dict[str, list[str]] = {}
    for key, folder in (("events", layout.EVENTS), ("lookup", layout.LOOKUP)):
        names = data.get(key)
        manifest[key] = [
            n
            for n in (names if isinstance(names, list) else [])
            if isinstance(n, str) and os.path.basename(n) == n and layout.is_ours(folder, n)
        ]
    return manifest


def publish_continue(staging: Staging) -> None:
    """Move a continue's files into place, config/ last (the commit point)."""
    folder = staging.folder
    try:
        shutil.rmtree(staging.staged(layout.PARTS), ignore_errors=True)
        names = {
            key: sorted(os.listdir(staging.staged(sub)))
            for key, sub in (("events", layout.EVENTS), ("lookup", layout.LOOKUP))
        }
        manifest = AtomicFile(staging.staged(layout.MANIFEST))
        manifest.write(orjson.dumps(names))
        manifest.commit()
        for key, sub in (("events", layout.EVENTS), ("lookup", layout.LOOKUP)):
            os.makedirs(os.path.join(folder, sub), exist_ok=True)
            for name in names[key]:
                target = os.path.join(folder, sub, name)
                if os.path.lexists(target):  # the lookup table: keep the old one until commit
                    os.replace(target, staging.staged(os.path.join(layout.PREVIOUS_LOOKUP, name)))
                os.replace(staging.staged(os.path.join(sub, name)), target)
        with signals_held():
            os.replace(os.path.join(folder, layout.CONFIG), staging.staged(layout.PREVIOUS_CONFIG))
            os.replace(staging.staged(layout.CONFIG), os.path.join(folder, layout.CONFIG))
    except OSError as exc:
        raise OutputError(
            f"could not move the continued run into {folder}: {exc.strerror or exc}"
        ) from None


def roll_back_continue(staging: Staging, run_number: int) -> None:
    """After continue ``run_number`` failed or was cancelled before its commit point: the
    previous state back."""
    try:
        _recover(staging, run_number)
    finally:
        staging.lock.release()
