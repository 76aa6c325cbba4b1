"""Files as the run writes them: each one complete under its final name, or not there at all.

Every file is written under a temporary name beside its final one and renamed when it is closed
(write, flush, rename), so a reader, or a run killed half-way, never sees a truncated file under a
final name.  The whole run is also staged in a hidden folder (see ``output``), so a folder of
finished files only appears when the run is complete.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Iterable
from errno import EDQUOT, EFBIG, ELOOP, ENOSPC, EROFS
from typing import IO

import numpy as np

from .errors import OutputError
from .formats import Framing
from .layout import TEMP_SUFFIX, events_name
from .pieces import Lines

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BUFFER_BYTES = 64 << 10


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
        # A small buffer: writes come in pieces of a megabyte or more, and a worker keeps a few
        # files of each chunk of its task open at once.
        self.handle: IO[bytes] = os.fdopen(descriptor, "wb", buffering=BUFFER_BYTES)

    def write(self, data: bytes | memoryview) -> None:
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


class GzipAtomicFile(AtomicFile):
    """An :class:`AtomicFile` whose content is gzip-compressed as it is written.

    The gzip header carries no file name and a zero time, so the same content always gives the
    same bytes.  ``size`` is the size on disk once committed.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._zip = gzip.GzipFile(
            filename="", mode="wb", fileobj=self.handle, compresslevel=6, mtime=0
        )

    def write(self, data: bytes | memoryview) -> None:
        try:
            self._zip.write(data)
        except OSError as exc:
            self.abort()
            raise output_error(self.path, exc) from None

    def commit(self) -> None:
        try:
            self._zip.close()
        except OSError as exc:
            self.abort()
            raise output_error(self.path, exc) from None
        super().commit()
        self.size = os.path.getsize(self.path)

    def abort(self) -> None:
        try:
            self._zip.close()
        except (OSError, ValueError):
            pass
        super().abort()


class EventFiles:
    """The events of one chunk, in files that each stay complete and valid on their own.

    Files are named ``<stem>-SSS.<extension>`` (``.gz`` added when compressed), SSS counting from
    000 (a chunk that ends with more than 1,000 files renames them all to one wider width, so that
    they sort in order: ``-0000`` to ``-1234``); a new file starts when the next event would take
    the current one past ``max_bytes`` of content (uncompressed: what an import tool or a reader
    has to hold).  A file always holds at least one event, so one event larger than the limit
    still gets written.  The format's
    :class:`~generator.formats.Framing` says how the events sit in a file.
    """

    def __init__(
        self, folder: str, stem: str, framing: Framing, compress: bool, max_bytes: int
    ) -> None:
        self.folder = folder
        self.stem = stem
        self.framing = framing
        self.extension = framing.extension + (".gz" if compress else "")
        self.compress = compress
        self.max_bytes = max_bytes
        self.written: list[tuple[str, int]] = []  # (file name, size on disk) of closed files
        self._sequence = 0
        self._open()

    def _open(self) -> None:
        name = events_name(self.stem, self._sequence, self.extension)
        path = os.path.join(self.folder, name)
        self._name = name
        self._file: AtomicFile = GzipAtomicFile(path) if self.compress else AtomicFile(path)
        self._events = 0
        self._content = 0
        self._put(self.framing.head)

    def _put(self, data: bytes | memoryview) -> None:
        if data:
            self._file.write(data)
            self._content += len(data)

    def _close_current(self) -> None:
        self._put(self.framing.tail if self._events else self.framing.empty_tail)
        self._file.commit()
        self.written.append((self._name, self._file.size))

    def write(self, lines: list[str]) -> None:
        if not lines:
            return
        separator = self.framing.separator.decode()
        closing = len(self.framing.tail)
        text = separator.join(lines)
        data = (separator + text if self._events else text).encode()
        if self._content + len(data) + closing <= self.max_bytes:
            self._put(data)
            self._events += len(lines)
            return
        gap = self.framing.separator
        for line in lines:  # the batch does not fit: place the events one by one
            piece = line.encode()
            extra = len(piece) + (len(gap) if self._events else 0)
            if self._events and self._content + extra + closing > self.max_bytes:
                self._close_current()
                self._sequence += 1
                self._open()
            self._put(gap + piece if self._events else piece)
            self._events += 1

    def write_lines(self, lines: Lines) -> None:
        """Events as the batch engine makes them: each line followed by the framing's separator
        (``batchlines``).  The same files as :meth:`write` with the same events: a line goes into
        the current file if it is the file's first or the file stays within ``max_bytes``."""
        gap = len(self.framing.separator)
        closing = len(self.framing.tail)
        data = memoryview(lines.data)
        ends = lines.ends
        count = len(ends)
        line = 0
        while line < count:
            begin = int(ends[line - 1]) if line else 0
            fresh = self._events == 0
            # Lines line..last fit when content + (ends[last] - begin) (less one separator in a
            # fresh file, which has none before its first line) + closing stays within the limit.
            room = self.max_bytes - closing - self._content + begin + (gap if fresh else 0)
            last = int(np.searchsorted(ends, room, side="right")) - 1
            if fresh:
                last = max(last, line)
            elif last < line:
                self._close_current()
                self._sequence += 1
                self._open()
                continue
            if not fresh:
                self._put(self.framing.separator)
            self._put(data[begin : int(ends[last]) - gap])
            self._events += last + 1 - line
            line = last + 1

    def close(self) -> list[tuple[str, int]]:
        """Finish the current file; return every file written, (name, size on disk)."""
        self._close_current()
        files = len(self.written)
        if events_name(self.stem, 0, self.extension, files) != self.written[0][0]:
            renamed = []
            for sequence, (name, size) in enumerate(self.written):
                wider = events_name(self.stem, sequence, self.extension, files)
                target = os.path.join(self.folder, wider)
                if wider != name:
                    try:
                        os.replace(os.path.join(self.folder, name), target)
                    except OSError as exc:
                        raise output_error(target, exc) from None
                renamed.append((wider, size))
            self.written = renamed
        return self.written

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
