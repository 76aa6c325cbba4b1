"""Files as the run writes them: each one complete under its final name, or not there at all.

Every file is written under a temporary name beside its final one and renamed when it is closed
(write, flush, rename), so a reader, or a run killed half-way, never sees a truncated file under a
final name.  The whole run is also staged in a hidden folder (see ``output``), so a folder of
finished files only appears when the run is complete.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from errno import EDQUOT, EFBIG, ELOOP, ENOSPC, EROFS
from typing import IO

from .errors import OutputError

TEMP_SUFFIX = ".partial"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# Opened for writing without following a link at the final name, truncating what was there.
_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
_REASONS = {
    ENOSPC: "the disk is full",
    EDQUOT: "the disk quota is used up",
    EFBIG: "the file is larger than this file system allows",
    EROFS: "the file system is read-only",
    ELOOP: "it is a symbolic link, and this tool never writes through one",
}


def output_error(path: str, exc: OSError) -> OutputError:
    """An OSError while writing, as one message a person can act on."""
    reason = _REASONS.get(getattr(exc, "errno", None) or 0) or exc.strerror or str(exc)
    return OutputError(
        f"could not write {path}: {reason}; the run was stopped and no incomplete file was kept"
    )


class AtomicFile:
    """A binary file written under ``<path>.partial`` and renamed to ``path`` by :meth:`commit`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.temp = path + TEMP_SUFFIX
        self.size = 0
        try:
            descriptor = os.open(self.temp, _OPEN_FLAGS, 0o666)
        except OSError as exc:
            raise output_error(path, exc) from None
        self.handle: IO[bytes] = os.fdopen(descriptor, "wb", buffering=1 << 20)

    def write(self, data: bytes) -> None:
        try:
            self.handle.write(data)
        except OSError as exc:
            self.abort()
            raise output_error(self.path, exc) from None
        self.size += len(data)

    def commit(self) -> None:
        try:
            self.handle.flush()
            self.handle.close()
            os.replace(self.temp, self.path)
        except OSError as exc:
            self.abort()
            raise output_error(self.path, exc) from None

    def abort(self) -> None:
        try:
            self.handle.close()
        except OSError:
            pass
        try:
            os.unlink(self.temp)
        except OSError:
            pass


class JsonArrayWriter:
    """Events as one JSON array per file, one event per line, streamed as they are generated.

    ``[`` is written on open and ``]`` on close, so memory holds only the lines of the current
    batch, whatever the size of the run.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._file = AtomicFile(path)
        self._file.write(b"[\n")
        self._first = True
        self.events = 0

    def write(self, lines: list[str]) -> None:
        if not lines:
            return
        text = ",\n".join(lines)
        self._file.write((text if self._first else ",\n" + text).encode())
        self._first = False
        self.events += len(lines)

    def close(self) -> int:
        """Finish the array and publish the file; return its size in bytes."""
        self._file.write(b"]\n" if self._first else b"\n]\n")
        self._file.commit()
        return self._file.size

    def abort(self) -> None:
        self._file.abort()


def safe_cell(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula (CSV injection): prefix ``'``.

    Plain numbers such as ``-5`` or ``+3.5`` are left alone: they are values, not formulas.
    """
    if value.startswith(FORMULA_START):
        body = value[1:] if value[0] in "+-" else None
        if body is not None and body.replace(".", "", 1).isdigit():
            return value
        return "'" + value
    return value


def csv_rows(rows: Iterable[Iterable[str]]) -> bytes:
    """Rows as CSV bytes (RFC 4180 quoting, ``\\n`` line ends), formula cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # With "\n" line ends the writer quotes "\n" but not a lone "\r", which readers take for a line
    # end: a row holding one is written with every cell quoted.
    quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row in rows:
        cells = [safe_cell(cell) for cell in row]
        (quoted if any("\r" in cell for cell in cells) else writer).writerow(cells)
    return buffer.getvalue().encode()
