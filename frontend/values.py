"""Turning the text of a flag or an answer into a value, or into a message that says why not."""

from __future__ import annotations

import os
import re
from datetime import datetime
from importlib import resources

from generator import (
    BOUNDS,
    DATE_RANGE,
    EARLIEST_MS,
    LATEST_MS,
    MAX_FILE_MB,
    MIN_FILE_MB,
    UsageError,
    parse_iso,
    to_ms,
)

MAX_NUMBER = 10**18  # larger is a typo (and Python refuses to parse numbers of 4,300 digits)

# The whole-number flags and their bounds: the core's own (a test holds them equal).
NUMBER_FLAGS = {flag: BOUNDS[flag] for flag in ("users", "seed", "days", "workers")}


def parse_flag(name: str, text: str | None) -> int | None:
    """A whole-number flag (``--users``, ``--seed``, ...) within its bounds; None when not given."""
    if text is None:
        return None
    minimum, maximum = NUMBER_FLAGS[name]
    return whole_number(text, f"--{name}", minimum, maximum)


# How a number may be written: digits alone (1000), or grouped in threes by one kind of
# separator (1,000 or 1_000).  Anything else (10,0000, 2,00, 1,0,0) is refused, never read as some
# other number; a decimal part (--max-file-mb) takes no separator.
_PLAIN = re.compile(r"[0-9]+")
_GROUPED = re.compile(r"[0-9]{1,3}(?:(?P<sep>[,_])[0-9]{3})(?:(?P=sep)[0-9]{3})*")
_DECIMAL = re.compile(r"(?P<whole>[0-9,_]+)(?P<fraction>\.[0-9]*)?")
_DIGITS = "0123456789"
HOW_TO_GROUP = "',' or '_' go between groups of three digits (1,000 or 1_000), or leave them out"


def _digits(text: str) -> str | None:
    """The digits of a whole number written plainly or grouped in threes, else None."""
    if _PLAIN.fullmatch(text):
        return text
    if _GROUPED.fullmatch(text):
        return text.replace(",", "").replace("_", "")
    return None


def misgrouped(text: str) -> bool:
    """True for digits whose separators are out of place (``10,0000``, ``2,00``, ``1,0,0``,
    ``1,000_000``): a typo, refused rather than read as another number."""
    text = text.strip()
    return (
        _digits(text) is None
        and any(c in _DIGITS for c in text)
        and all(c in _DIGITS or c in ",_" for c in text)
    )


def _misgrouped(text: str, what: str) -> UsageError:
    shown = text if len(text) <= 30 else text[:29] + "…"
    return UsageError(f"{what}: {shown!r} is not a number as written; {HOW_TO_GROUP} (1000)")


def whole_number(text: str, what: str, minimum: int = 1, maximum: int = MAX_NUMBER) -> int:
    """Parse a flag or an answer as a whole number from ``minimum`` to ``maximum``, or say why not.

    ``1000``, ``1,000``, ``1_000`` and `` 1000 `` are all a thousand; separators elsewhere
    (``10,0000``) are refused, with how to write the number.
    """
    cleaned = text.strip()
    digits = _digits(cleaned)
    if misgrouped(cleaned):
        raise _misgrouped(cleaned, what)
    if digits is None or len(digits) > 19 or not minimum <= int(digits) <= maximum:
        shown = text if len(text) <= 30 else text[:29] + "…"
        allowed = (
            f"of at least {minimum:,}"
            if maximum == MAX_NUMBER
            else f"from {minimum:,} to {maximum:,}"
        )
        raise UsageError(f"{what} must be a whole number {allowed}, not {shown!r}")
    return int(digits)


def size_mb(text: str) -> float:
    """Parse --max-file-mb: a number of megabytes (10^6 bytes), decimals allowed, within bounds.

    Python reads ``1e303``, ``nan`` and ``inf`` as floats; the bounds keep them (and a
    kilobyte-sized typo) from reaching the writers, where ``1e303 * 10**6`` overflows.  Separators
    are held to the rule of whole numbers (``1,000.5``; Python alone would read ``1_0`` as 10).
    """
    cleaned = text.strip()
    parts = _DECIMAL.fullmatch(cleaned)
    if parts is not None and ("," in cleaned or "_" in cleaned):
        if misgrouped(parts.group("whole")):
            raise _misgrouped(cleaned, "--max-file-mb")
        digits = _digits(parts.group("whole"))
        if digits is not None:
            cleaned = digits + (parts.group("fraction") or "")
    try:  # Python's own underscores (1_0e3) are not a grouping: refused below
        value = float(cleaned) if "_" not in cleaned else float("nan")
    except ValueError:
        value = float("nan")
    if not MIN_FILE_MB <= value <= MAX_FILE_MB:  # False for NaN as well
        shown = text if len(text) <= 30 else text[:29] + "…"
        raise UsageError(
            f"--max-file-mb must be a number of megabytes from {MIN_FILE_MB:g} to "
            f"{MAX_FILE_MB:,.0f}, not {shown!r}"
        )
    return value


def end_time(text: str | None, now: datetime) -> int:
    """Parse ``--end`` (an ISO 8601 date or time) to epoch milliseconds; no ``--end`` is ``now``."""
    if text is None:
        return to_ms(now)
    try:
        end_ms = parse_iso(text)
    except ValueError:
        raise UsageError(
            f"--end must be an ISO 8601 date or time such as 2026-11-29 or 2026-11-29T18:00:00Z, "
            f"not {text!r}"
        ) from None
    # An offset can carry a date past the calendar (0001-01-01T00:00+01:00 is in year 0), which
    # no timestamp can show: refused here, before the run is announced with its end time.
    if not EARLIEST_MS <= end_ms <= LATEST_MS:
        raise UsageError(f"--end must fall {DATE_RANGE}, not {text!r}")
    return end_ms


def clean_path(text: str) -> str:
    """A path as typed, pasted or dropped into a terminal: spaces around it, quotes around it
    (``'my file.csv'``), ``~`` for the home folder and ``\\ `` for a space are all understood."""
    path = text.strip()
    if len(path) >= 2 and path[0] == path[-1] and path[0] in "'\"":
        path = path[1:-1]
    path = os.path.expanduser(path)
    if "\\ " in path and not os.path.exists(path):
        path = path.replace("\\ ", " ")
    return path


def display_path(path: str) -> str:
    """``path`` relative to the working folder when it is inside it, else absolute."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    return absolute if relative.startswith(os.pardir) else relative


def next_free_folder(base: str = "output") -> str:
    """``output``, or ``output-2``, ``output-3``, ... : the first that does not exist yet.

    A base that already ends in a number (``output-2``) counts on from its stem.
    """
    if not os.path.lexists(base):
        return base
    base = re.sub(r"-[0-9]{1,3}$", "", base) or base
    if not os.path.lexists(base):
        return base
    number = 2
    while os.path.lexists(f"{base}-{number}"):
        number += 1
    return f"{base}-{number}"


def example_path(name: str) -> str:
    """A file of the bundled examples, wherever the package is installed (package data)."""
    return str(resources.files("generator") / "examples" / name)
