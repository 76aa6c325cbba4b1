"""Turning the bytes of a Sheets export into rows and "column lists".

Parsers take text (``io.StringIO`` in tests); :func:`read_text` is the only part that touches the
file system.  Real exports carry a byte-order mark, CRLF line ends, quoted cells with commas or line
breaks, trailing empty rows and columns and cells padded with spaces: all of that loads.  What is
not CSV text (a spreadsheet saved as .xlsx, a binary file, a folder) is refused with one message.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from .errors import GeneratorError, InputError

MAX_CELL_CHARS = 100_000  # a cell longer than this is a mistake (a pasted file), not a value
MAX_FILE_BYTES = 200 * 1024 * 1024  # larger than any sheet Google Sheets can export

# Magic numbers of files people give by mistake, with what to do instead.
_NOT_CSV = (
    (b"PK\x03\x04", "an .xlsx/.ods spreadsheet (a ZIP file)"),
    (b"\xd0\xcf\x11\xe0", "an .xls spreadsheet"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "a gzip file"),
)
_EXPORT_HINT = "export the tab as CSV (in Google Sheets: File > Download > Comma-separated values)"


def read_text(path: str) -> str:
    """Read a CSV file as text, accepting UTF-8 (with or without BOM) and UTF-16 with a BOM.

    Anything else that is not text is refused with an :class:`InputError` naming the file, and so
    is anything that is not a regular file (see :func:`read_file`).
    """
    name = os.fspath(path)
    if not name.strip():
        raise InputError("no file name given; give the path of a CSV file")
    return decode(read_file(name, MAX_FILE_BYTES, "CSV file", "a sheet export"), name)


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def read_file(
    name: str,
    limit: int,
    what: str,
    holds: str,
    error: type[GeneratorError] = InputError,
) -> bytes:
    """The bytes of the regular file ``name`` (or of the file a link names), at most ``limit``.

    A named pipe, a device or a socket is refused *before* it is opened: opening a pipe that has
    no writer waits for ever, and a device such as ``/dev/zero`` never ends.  The file is opened
    without blocking and checked again, in case it was swapped for a pipe in between.  ``what``
    names the file for the messages ("CSV file"), ``holds`` what it should be ("a sheet export").
    """
    try:
        info = os.stat(name)
    except (FileNotFoundError, NotADirectoryError, ValueError):  # ValueError: a NUL in the name
        raise error("file not found", file=name) from None
    except OSError as exc:
        raise error(f"cannot read the file ({exc.strerror or exc})", file=name) from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"this is a folder, not a {what}", file=name)
    if not stat.S_ISREG(info.st_mode):
        raise error(_not_a_file(info.st_mode, what), file=name)
    if info.st_size > limit:
        raise error(_too_large(info.st_size, limit, holds), file=name)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with open(fd, "rb") as handle:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise error(_not_a_file(mode, what), file=name)
            data = _read_limited(handle, limit)
    except OSError as exc:
        raise error(f"cannot read the file ({exc.strerror or exc})", file=name) from None
    if len(data) > limit:  # it grew while it was read
        raise error(_too_large(len(data), limit, holds), file=name)
    return data


def _not_a_file(mode: int, what: str) -> str:
    return (
        f"this is {_special_kind(mode)}, not a file: it is not read (it could wait or run for "
        f"ever); save the {what} on disk and give its path"
    )


def _too_large(size: int, limit: int, holds: str) -> str:
    return (
        f"file is {size // (1024 * 1024)} MB or more; {holds} is at most "
        f"{limit // (1024 * 1024)} MB"
    )


def _read_limited(handle: IO[bytes], limit: int) -> bytes:
    """Read at most one block past ``limit``; stop early on what is plainly not text (NULs)."""
    blocks: list[bytes] = []
    total = 0
    while total <= limit:
        block = handle.read(1 << 20)
        if not block:
            break
        blocks.append(block)
        total += len(block)
        if (
            len(blocks) == 1
            and b"\x00" in block
            and not block.startswith((b"\xff\xfe", b"\xfe\xff"))
        ):
            break  # binary (or /dev/zero): decode() names it from the first block
    return b"".join(blocks)


def decode(data: bytes, name: str) -> str:
    """Decode the bytes of a CSV export, or refuse them with a message that says what they are."""
    if not data.strip():
        raise InputError("file is empty", file=name)
    for magic, what in _NOT_CSV:
        if data.startswith(magic):
            raise InputError(f"this is {what}, not CSV text: {_EXPORT_HINT}", file=name)
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml")):
        raise InputError(f"this is a web page (HTML/XML), not CSV text: {_EXPORT_HINT}", file=name)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("broken UTF-16 text", file=name) from None
        if "\x00" in text:  # refused in UTF-8 as a binary file; in UTF-16 it is one character
            line = text.count("\n", 0, text.index("\x00")) + 1
            raise InputError(
                f"the file holds a NUL character (U+0000) at line {line}, which no sheet export "
                f"holds: {_EXPORT_HINT}",
                file=name,
                row=line,
            )
    else:
        if b"\x00" in data:
            if _utf16_without_bom(data[:1000]):
                raise InputError(
                    "this is UTF-16 text without a byte-order mark; save or export it as UTF-8 CSV",
                    file=name,
                )
            raise InputError(f"this is a binary file, not CSV text: {_EXPORT_HINT}", file=name)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise InputError(
                f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}): "
                f"save or export it as UTF-8 CSV",
                file=name,
                row=line,
            ) from None
    return text


def _utf16_without_bom(sample: bytes) -> bool:
    """Every other byte NUL and the others not: ASCII text saved as UTF-16 without a BOM."""
    even, odd = sample[0::2], sample[1::2]
    for text, zeros in ((even, odd), (odd, even)):
        if text and zeros.count(0) >= 0.9 * len(zeros) and text.count(0) == 0:
            return True
    return False


def parse_rows(text: str, name: str) -> list[list[str]]:
    """Parse CSV text into rows of stripped cells, with trailing blank cells and rows removed."""
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for raw in reader:
            cells = [cell.strip() for cell in raw]
            for col, cell in enumerate(cells, start=1):
                if len(cell) > MAX_CELL_CHARS:
                    raise InputError(
                        f"cell has {len(cell):,} characters; the most a value may have is "
                        f"{MAX_CELL_CHARS:,} (is a quote left open?)",
                        file=name,
                        row=reader.line_num,
                        column=col,
                    )
            while cells and not cells[-1]:
                cells.pop()
            rows.append(cells)
    except csv.Error as exc:
        if "field limit" in str(exc):
            raise InputError(
                f"a cell has more than {csv.field_size_limit():,} characters; the most a value "
                f"may have is {MAX_CELL_CHARS:,} (is a quote left open above this row?)",
                file=name,
                row=reader.line_num,
            ) from None
        raise InputError(
            f"not valid CSV ({exc}); check for a quote that is never closed",
            file=name,
            row=reader.line_num,
        ) from None
    while rows and not rows[-1]:
        rows.pop()
    if not rows:
        raise InputError("file is empty", file=name)
    _refuse_other_separators(text, rows[0], name)
    return rows


# Separators of exports that are not Google Sheets CSV: Excel in many locales and Sheets' own TSV.
_OTHER_SEPARATORS = ((";", "';'"), ("\t", "tabs"))


def _refuse_other_separators(text: str, first: list[str], name: str) -> None:
    """Refuse a file whose first row is one cell that ';' or a tab splits (outside quotes).

    Read with commas, such a file is one column of junk (``age;gender;tier``) and would load.
    A first row with commas is comma-separated whatever its cells hold, so a CSV whose cells
    contain semicolons loads; a single quoted header (``"age;group"``) loads too.
    """
    if len(first) != 1:
        return
    counts = [(first[0].count(mark), mark, what) for mark, what in _OTHER_SEPARATORS]
    found, mark, what = max(counts, key=lambda c: c[0])
    if not found:
        return
    try:
        cells = next(csv.reader(io.StringIO(text, newline=""), delimiter=mark))
    except (csv.Error, StopIteration):
        return
    if sum(1 for cell in cells if cell.strip()) >= 2:
        raise InputError(
            f"this file uses {what} between cells, not commas; {_EXPORT_HINT}",
            file=name,
            row=1,
        )


@dataclass(frozen=True)
class RawColumn:
    """One column of a column-list file: its header and its non-blank values with their rows."""

    header: str
    column: int
    values: tuple[str, ...]
    rows: tuple[int, ...]


def column_lists(rows: list[list[str]], name: str) -> list[RawColumn]:
    """Read a "column list" file: row 1 holds headers, each column lists values top to bottom.

    Blank cells are skipped.  A value under a blank header is refused (it would silently vanish);
    a blank header over an empty column is a trailing column and is ignored.  The work is in
    proportion to the cells present, whatever the width of the widest row.
    """
    header = rows[0]
    width = max(len(row) for row in rows)
    values: dict[int, list[str]] = {}
    where: dict[int, list[int]] = {}
    for row_number, row in enumerate(rows[1:], start=2):
        for col, cell in enumerate(row):
            if cell:
                values.setdefault(col, []).append(cell)
                where.setdefault(col, []).append(row_number)
    columns: list[RawColumn] = []
    for col in range(width):
        title = header[col] if col < len(header) else ""
        found = values.get(col, [])
        if not title:
            if found:
                raise InputError(
                    f"value {shown(found[0])} is under a blank header; give the column a name "
                    f"or delete the value",
                    file=name,
                    row=where[col][0],
                    column=col + 1,
                )
            continue
        columns.append(RawColumn(title, col + 1, tuple(found), tuple(where.get(col, ()))))
    return columns


SHOWN_CHARS = 60  # a value quoted in a message is cut to this many characters


def shown(value: str) -> str:
    """A value as a message quotes it: ``repr`` (so control characters show), cut if long."""
    if len(value) <= SHOWN_CHARS:
        return repr(value)
    return repr(value[:SHOWN_CHARS]) + f"… ({len(value):,} characters)"


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on written as its escape.

    An escape sequence in a sheet or a file name (``\x1b]0;...``, a right-to-left override) would
    otherwise recolour, retitle or clear the user's terminal when a line names it.  Characters
    Python does not call printable (controls, format characters, line breaks) become the escape
    ``repr`` gives them, as :func:`shown` shows values; everything else is kept.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def separator_hint(headers: Iterable[str]) -> str:
    """A hint when the file seems to separate cells with something other than commas."""
    for header in headers:
        for mark, what in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
            if mark in header:
                return (
                    f"; the file seems to separate cells with {what}: export it as "
                    f"comma-separated values"
                )
    return ""


def normalise_header(title: str) -> str:
    """``"Shard Keys"``, ``"shard_keys"`` and ``"SHARDKEYS"`` all become ``"shardkeys"``."""
    return "".join(ch for ch in title.casefold() if ch.isalnum())


def first_duplicate(names: Iterable[str]) -> tuple[int, int] | None:
    """Positions (first, second) of the first name that repeats, ignoring case, else None."""
    seen: dict[str, int] = {}
    for index, value in enumerate(names):
        key = value.casefold()
        if key in seen:
            return seen[key], index
        seen[key] = index
    return None
