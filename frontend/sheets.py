"""The three files as Google Sheets names them, so that the questions offer the right ones.

Sheets exports the tab on screen (File > Download > Comma-separated values) as
``<Spreadsheet> - <Tab>.csv``: ``FitTrack demo - Events.csv``, ``FitTrack demo - Flows.csv``,
``FitTrack demo - Lookup table.csv``; a browser that already holds a file of that name adds
`` (1)``.  The flows and lookup questions default to the matching tab of the same spreadsheet
beside the events file (or ``flows.csv`` and ``lookup_table.csv`` beside it), and never to the
bundled examples: a meal-kit lookup table silently attached to someone's fitness app is worse
than a question left for them to answer.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

# Tab names, compared without case, spaces, "_" or "-" (see _key).
EVENTS_TABS = ("events", "event", "eventlist")
FLOWS_TABS = ("flows", "flow", "flowlist")
LOOKUP_TABS = ("lookuptable", "lookup", "lookups", "lookuptables", "userattributes", "attributes")

_EXPORT = re.compile(r"(?:(?P<sheet>.+) - )?(?P<tab>.+?)(?: \((?P<copy>[0-9]+)\))?\.csv", re.I)


@dataclass(frozen=True)
class Export:
    """A file name read as Sheets writes it: spreadsheet (None without one), tab, copy number."""

    sheet: str | None
    tab: str
    copy: int  # 0 for the first download, 1 for "... (1).csv", ...


def read_name(name: str) -> Export | None:
    """``FitTrack demo - Events (1).csv`` -> ("FitTrack demo", "Events", 1); None if not CSV."""
    match = _EXPORT.fullmatch(name)
    if match is None:
        return None
    return Export(match["sheet"], match["tab"], int(match["copy"] or 0))


def _key(text: str) -> str:
    return re.sub(r"[\s_-]+", "", text.casefold())


def _csv_files(folder: str) -> list[str]:
    try:
        with os.scandir(folder or ".") as entries:
            return sorted(
                e.name for e in entries if e.is_file() and e.name.lower().endswith(".csv")
            )
    except OSError:
        return []


def _newest(folder: str, names: list[str]) -> str:
    def modified(name: str) -> float:
        try:
            return os.path.getmtime(os.path.join(folder, name))
        except OSError:
            return 0.0

    return max(names, key=lambda name: (modified(name), name))


def sibling(events_path: str, tabs: tuple[str, ...]) -> str | None:
    """The file beside ``events_path`` that holds one of ``tabs`` of the same spreadsheet.

    Among several, the one downloaded with the events file (the same `` (N)``) comes first, then
    the newest.  A spreadsheet's own exports come before plain ``flows.csv``-style names; None when
    there is no such file.
    """
    folder = os.path.dirname(events_path)
    events = read_name(os.path.basename(events_path))
    sheet = _key(events.sheet) if events is not None and events.sheet is not None else None
    wanted = {_key(tab) for tab in tabs}
    same_sheet: list[tuple[str, Export]] = []
    plain: list[str] = []
    for name in _csv_files(folder):
        export = read_name(name)
        if export is None or _key(export.tab) not in wanted:
            continue
        if export.sheet is None:
            plain.append(name)
        elif sheet is not None and _key(export.sheet) == sheet:
            same_sheet.append((name, export))
    if same_sheet:
        copy = events.copy if events is not None else 0
        matching = [name for name, export in same_sheet if export.copy == copy]
        chosen = _newest(folder, matching or [name for name, _ in same_sheet])
    elif plain:
        chosen = _newest(folder, plain)
    else:
        return None
    return os.path.join(folder, chosen)


def exported_events(folder: str = ".") -> str | None:
    """The newest ``<Spreadsheet> - Events.csv`` in ``folder`` (where a person runs the tool,
    often beside their downloads), or None."""
    found = [
        name
        for name in _csv_files(folder)
        if (export := read_name(name)) is not None
        and export.sheet is not None
        and _key(export.tab) in EVENTS_TABS
    ]
    return os.path.join(folder, _newest(folder, found)) if found else None
