"""The output folder's layout: every name a run writes, and the patterns that recognise them.

A run writes only ``events/``, ``lookup_table/`` and ``config/`` inside the folder the user chose,
plus, while it runs, a hidden staging folder and a lock file.  Everything that names or recognises
one of those files asks this module, so a name is spelled once.

::

    <output>/
      events/part-CCCCC-SSS.<ext>[.gz]            a first run: chunk CCCCC, file SSS of the chunk
                                                  (wider numbers where a run has more chunks,
                                                  or a chunk more files: they still sort)
      events/run-NNN-part-CCCCC-SSS.<ext>[.gz]    continue number NNN
      lookup_table/<lookup name>.csv              one row per user
      lookup_table/[run-NNN-]profiles-<tool>.jsonl  user profiles, for the tools that want them
      config/run.json                             the run record (``record``)
      config/user_id_list.json                    every user's state (``record``)
      .event-generator-incomplete/                staging, while a run writes (``output``)
      .event-generator.lock                       held while a run or a send uses the folder
      sent-to-<tool>.json                         what --send has delivered (``delivery``)
"""

from __future__ import annotations

import os
import re

EVENTS = "events"
LOOKUP = "lookup_table"
CONFIG = "config"
RUN_FOLDERS = (EVENTS, LOOKUP, CONFIG)  # publishing order: config/ last, it marks a finished run
RUN_FILE = os.path.join(CONFIG, "run.json")
USERS_FILE = os.path.join(CONFIG, "user_id_list.json")
STAGING = ".event-generator-incomplete"
LOCK = ".event-generator.lock"
TEMP_SUFFIX = ".partial"  # a file being written (``writers.AtomicFile``); renamed when complete

# Inside the staging folder.
PARTS = "parts"  # per-chunk pieces assembled at the end
REPLACED = "replaced"  # the previous run, while a replacing run moves in
PREVIOUS_CONFIG = "config-previous"  # a continue: the run's config/ until the new one is in
PREVIOUS_LOOKUP = "lookup-previous"  # a continue: the lookup files it replaces
MANIFEST = "publishing.json"  # a continue: the files it moves into events/ and lookup_table/
# The run's record while a continue swaps config/ (moved aside into the staging folder).
RUN_FILE_ASIDE = os.path.join(STAGING, PREVIOUS_CONFIG, os.path.basename(RUN_FILE))


def run_prefix(run_number: int) -> str:
    """File name prefix of a run: none for the first, ``run-NNN-`` for continue number NNN."""
    return f"run-{run_number:03d}-" if run_number else ""


CHUNK_DIGITS = 5  # part-00000 to part-99999: a run with more chunks numbers them all wider
SEQUENCE_DIGITS = 3  # -000 to -999: a chunk with more files numbers them all wider


def _digits(count: int, at_least: int) -> int:
    """Digits that number ``count`` items from 0 (at least ``at_least``)."""
    return max(at_least, len(str(max(0, count - 1))))


def events_stem(run_number: int, chunk: int, chunks: int = 0) -> str:
    """The events files of one chunk are ``<stem>-SSS.<extension>``.

    ``chunks`` is the run's number of chunks: every chunk number of a run has the same width, so
    the names sort in chunk order (five digits unless a run has more than 100,000 chunks).
    """
    return f"{run_prefix(run_number)}part-{chunk:0{_digits(chunks, CHUNK_DIGITS)}d}"


def events_name(stem: str, sequence: int, extension: str, files: int = 0) -> str:
    """File ``sequence`` of a chunk of ``files`` files.  Every number of a chunk has the same
    width, so the names sort in the order they were written (three digits, unless the chunk has
    more than 1,000 files; then the chunk's files are renamed when it ends, see ``writers``)."""
    return f"{stem}-{sequence:0{_digits(files, SEQUENCE_DIGITS)}d}.{extension}"


def lookup_name(name: str) -> str:
    """The lookup table of a lookup file named ``name`` (its file name without extension)."""
    return os.path.join(LOOKUP, f"{name}.csv")


def profiles_name(run_number: int, kind: str) -> str:
    """The user-profiles file of the users new in run ``run_number``, for a tool of ``kind``."""
    return os.path.join(LOOKUP, f"{run_prefix(run_number)}profiles-{kind}.jsonl")


def journal_name(tool: str) -> str:
    """The record of what ``--send`` delivered to ``tool``: beside the run's folders, not in
    config/, which a continue replaces whole."""
    return f"sent-to-{tool}.json"


def part_users(chunk: int) -> str:
    """In the staging folder: the chunk's final user states (joined into USERS_FILE)."""
    return os.path.join(PARTS, f"users-{chunk:05d}.json")


def part_lookup(chunk: int) -> str:
    return os.path.join(PARTS, f"lookup-{chunk:05d}.csv")


def part_profiles(chunk: int) -> str:
    return os.path.join(PARTS, f"profiles-{chunk:05d}")


def part_saved(chunk: int) -> str:
    """In the staging folder: a continue's saved user states of one chunk, read by its worker."""
    return os.path.join(PARTS, f"saved-{chunk:05d}.json")


# The longest path a run writes inside the output folder (a continue's gzipped events file being
# written in the staging folder), with room for wider numbers: the output folder's own path must
# leave this much of the system's limit on a path's length.
LONGEST_INSIDE = len(
    os.path.join(STAGING, EVENTS, "run-999-part-0000000-0000.jsonl.gz" + TEMP_SUFFIX)
)


# What each of our folders may hold for it to count as ours (anything else is someone's work).  A
# TEMP_SUFFIX, removed before matching, is a file being written.
EVENTS_FILE = re.compile(r"(?:run-([0-9]{3,})-)?part-[0-9]{5,}-[0-9]{3,}\.(?:json|jsonl)(?:\.gz)?")
LOOKUP_FILE = re.compile(r"(?:run-([0-9]{3,})-)?profiles-[a-z]+\.jsonl|.+\.csv", re.DOTALL)
CONFIG_FILE = re.compile(r".+\.json", re.DOTALL)
OURS = {EVENTS: EVENTS_FILE, LOOKUP: LOOKUP_FILE, CONFIG: CONFIG_FILE}


def is_ours(folder: str, name: str) -> bool:
    """True when ``name`` in our ``folder`` (events, lookup_table, config) is a file we write."""
    return OURS[folder].fullmatch(name.removesuffix(TEMP_SUFFIX)) is not None
