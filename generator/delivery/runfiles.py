"""A finished run's files as a send sees them: which files, in which order, one item per line.

A run made in a tool's format holds its events in ``events/`` (``part-CCCCC-SSS.jsonl[.gz]``, then
``run-NNN-part-...`` for each continue) and, for Mixpanel and Segment, user profiles in
``lookup_table/[run-NNN-]profiles-<tool>.jsonl``.  Profiles go first (Segment's ``identify`` before
the user's events), then events, each group in name order, which is the order they were written.

Before anything is sent, every line is read and checked against the tool's rules
(:meth:`Tool.check`), so a run the tool would reject or hide is refused before the first request.
That pass also counts each file's items and takes a digest of its content, which the journal
keeps, so a file that changed since it was sent (the run was replaced) is never taken as sent.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import InputError, UsageError
from ..layout import EVENTS as EVENTS_FOLDER
from ..layout import EVENTS_FILE, LOOKUP, LOOKUP_FILE, RUN_FILE, profiles_name
from ..output import FolderState, inspect
from ..record import read_record
from .tools import EVENTS, PROFILES, Refused, Tool


@dataclass(frozen=True)
class RunFile:
    """One file to send: its path relative to the output folder, and what it holds."""

    path: str
    kind: str  # EVENTS or PROFILES


@dataclass(frozen=True)
class CheckedFile:
    path: str
    kind: str
    items: int
    digest: str  # BLAKE2b of the file's lines, as read


@dataclass(frozen=True)
class CheckedRun:
    files: tuple[CheckedFile, ...]
    first_ms: int  # the earliest and latest event times (0 when the tool's events carry none)
    last_ms: int

    def total(self, kind: str) -> int:
        return sum(f.items for f in self.files if f.kind == kind)


def run_format(folder: str) -> str:
    """The format a finished run in ``folder`` was made in (its ``config/run.json``)."""
    seen = inspect(folder)
    if seen.state is FolderState.FREE:
        raise UsageError(f"output folder {folder} holds no run to send; give a run's folder")
    if seen.state is not FolderState.HOLDS_RUN:
        raise UsageError(
            f"output folder {folder} holds the remains of an incomplete run "
            f"({', '.join(seen.found)}); nothing is sent from it: finish or replace the run first"
        )
    return read_record(os.path.join(folder, RUN_FILE)).format


def run_files(folder: str, tool: Tool) -> list[RunFile]:
    """The files of the run in ``folder`` that go to ``tool``, in sending order."""
    files: list[RunFile] = []
    if PROFILES in tool.kinds:
        for name in sorted(os.listdir(os.path.join(folder, LOOKUP))):
            match = LOOKUP_FILE.fullmatch(name)
            if match and os.path.join(LOOKUP, name) == profiles_name(
                int(match.group(1) or 0), tool.name
            ):
                files.append(RunFile(os.path.join(LOOKUP, name), PROFILES))
    for name in sorted(os.listdir(os.path.join(folder, EVENTS_FOLDER))):
        if EVENTS_FILE.fullmatch(name) and ".jsonl" in name:
            files.append(RunFile(os.path.join(EVENTS_FOLDER, name), EVENTS))
    return files


def read_lines(folder: str, rel: str) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for every non-empty line of a file, plain or gzip-compressed."""
    path = os.path.join(folder, rel)
    opener: Callable[..., Any] = gzip.open if rel.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            for number, line in enumerate(handle, 1):
                line = line.rstrip(b"\r\n")
                if line:
                    yield number, line
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"cannot read this file ({exc}); the run is damaged", file=path) from None


def parse(line: bytes, folder: str, rel: str, number: int) -> dict[str, Any]:
    try:
        item = orjson.loads(line)
    except orjson.JSONDecodeError:
        item = None
    if not isinstance(item, dict):
        raise InputError(
            f"line {number} is not a JSON object; the file is damaged",
            file=os.path.join(folder, rel),
        )
    return item


def check_run(
    folder: str,
    tool: Tool,
    files: list[RunFile],
    now_ms: int,
    progress: Callable[[int, int], None] | None = None,
) -> CheckedRun:
    """Read every item of ``files``, refuse what the tool would reject or hide (an
    :class:`InputError` naming the file and line), and count and digest each file."""
    checked = []
    first, last = 0, 0
    limit = None if tool.future_ms is None else now_ms + tool.future_ms
    for index, run_file in enumerate(files):
        digest = hashlib.blake2b(digest_size=16)
        count = 0
        # The send adds a few bytes to each item (ip, $geoip_disable, $token): 64 are kept free.
        largest = tool.limits(run_file.kind).max_item_bytes - 64
        for number, line in read_lines(folder, run_file.path):
            digest.update(line + b"\n")
            if len(line) > largest:
                raise InputError(
                    f"line {number} is {len(line):,} bytes; {tool.title} takes at most "
                    f"{largest + 64:,} bytes per item; nothing was sent",
                    file=os.path.join(folder, run_file.path),
                )
            item = parse(line, folder, run_file.path, number)
            try:
                ms = tool.check(item, run_file.kind, now_ms)
                if limit is not None and ms > limit:
                    hours = tool.future_ms // 3_600_000 if tool.future_ms else 0
                    raise Refused(
                        f"the event is more than {hours} hour(s) after now; {tool.title} "
                        f"rejects or moves it (a run with --end in the future?)"
                    )
            except Refused as refused:
                raise InputError(
                    f"line {number}: {refused}; nothing was sent",
                    file=os.path.join(folder, run_file.path),
                ) from None
            if ms:
                first = ms if not first or ms < first else first
                last = max(last, ms)
            count += 1
        checked.append(CheckedFile(run_file.path, run_file.kind, count, digest.hexdigest()))
        if progress is not None:
            progress(index + 1, count)
    return CheckedRun(tuple(checked), first, last)
