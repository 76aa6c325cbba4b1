"""One error hierarchy for everything the generator refuses or cannot do.

The front (``event_generator.py``) catches :class:`GeneratorError` once, prints its message and
exits with :attr:`GeneratorError.exit_status`; nothing below it ever prints or exits.  Messages say
where (file, row, column), what went wrong, and what is allowed, because the people who read them
are looking at a spreadsheet, not at Python.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # the run could not finish (a write failed, the disk is full)
EXIT_BAD_INPUT = 2  # a file, flag or answer was refused; nothing was written
EXIT_CANCELLED = 130  # Ctrl-C or SIGTERM; by shell convention 128 + SIGINT


class GeneratorError(Exception):
    """Base of every error the generator reports to a person.

    ``file``, ``row`` and ``column`` (1-based, as a spreadsheet numbers them) say where the problem
    is; any of them may be unknown.
    """

    exit_status = EXIT_FAILURE

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.row = row
        self.column = column

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Errors cross process boundaries (workers); keep where they happened.
        return (_rebuild, (type(self), self.message, self.file, self.row, self.column))

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class InputError(GeneratorError):
    """An input file is missing, unreadable, or breaks the format of SPEC section 1."""

    exit_status = EXIT_BAD_INPUT


class UsageError(GeneratorError):
    """A flag or an answer has a value the generator cannot use (a bad number, a bad date)."""

    exit_status = EXIT_BAD_INPUT


class OutputExistsError(GeneratorError):
    """The output folder already holds a run and the user did not say to replace or continue it."""

    exit_status = EXIT_BAD_INPUT


class OutputInUseError(GeneratorError):
    """Another run (or a send) holds the output folder's lock; this one must not write there."""

    exit_status = EXIT_BAD_INPUT


class NoRoomError(GeneratorError):
    """The run is estimated larger than the free space of its output's file system; refused before
    anything is written (``--force`` tries anyway)."""

    exit_status = EXIT_BAD_INPUT


class OutputError(GeneratorError):
    """Writing the output failed part-way (disk full, permission denied); nothing complete-looking
    was left behind."""

    exit_status = EXIT_FAILURE


class DeliveryError(GeneratorError):
    """A send to an analytics tool stopped part-way (the tool refused a batch, or kept failing);
    what was acknowledged is recorded, so sending again continues where it stopped."""

    exit_status = EXIT_FAILURE


def _rebuild(
    cls: type[GeneratorError], message: str, file: str | None, row: int | None, column: int | None
) -> GeneratorError:
    return cls(message, file=file, row=row, column=column)
