"""The questions the tool asks, one function each.

Every function passes ``**kwargs`` on to questionary (and so to prompt_toolkit), so tests drive it
with ``input=create_pipe_input()`` and ``output=DummyOutput()``.  They use ``unsafe_ask()``:
Ctrl-C raises ``KeyboardInterrupt`` and is handled once, at the top of ``event_generator.py``.

Answers are checked in two places.  What is quick to check and short to say (not a number, no such
file, a folder instead of a file) is checked inside the prompt, which refuses the answer and shows
why on the line under it.  A file that exists is then loaded; when it does not load, the loader's
own message (file, row, column, and often a "did you mean") is printed in full under the answer
and the question is asked again with the answer ready to edit, because such messages are longer
than the one line prompt_toolkit keeps for validation errors.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

import questionary

from generator import DEFAULT_USERS, MAX_USERS, FolderState, GeneratorError, Inspection, UsageError

from .values import clean_path, whole_number

T = TypeVar("T")

# Validation runs when Enter is pressed, not on every keystroke: half-typed paths are not errors.
_QUIET = {"validate_while_typing": False}


def short(text: str, keep: int = 48) -> str:
    """``text`` cut to ``keep`` characters (keeping its end, where a path names its file), so a
    message fits the one line under the prompt."""
    return text if len(text) <= keep else "…" + text[-(keep - 1) :]


def users_problem(text: str) -> bool | str:
    """True when ``text`` is a usable number of users, else what to show under the prompt."""
    try:
        whole_number(text, "the number of users", maximum=MAX_USERS)
    except UsageError:
        return f"{short(text.strip(), 24)!r} is not a whole number from 1 to {MAX_USERS:,}"
    return True


def file_problem(text: str) -> bool | str:
    """True when ``text`` names an existing file, else what to show under the prompt."""
    if not text.strip():
        return "type the path of a CSV file (Tab completes)"
    path = clean_path(text)
    if not os.path.exists(path):
        return f"no such file: {short(path)}"
    if os.path.isdir(path):
        return f"{short(path)} is a folder; type the path of a CSV file in it (Tab completes)"
    if not os.path.isfile(path):  # a device or a pipe: reading it could wait for ever
        return f"{short(path)} is not a file; type the path of a CSV file"
    return True


def folder_problem(text: str) -> bool | str:
    """True when ``text`` can be (or already is) an output folder, else what to show."""
    if not text.strip():
        return "type the path of a folder; it is created if it does not exist"
    path = os.path.abspath(clean_path(text))
    if os.path.exists(path) and not os.path.isdir(path):
        return f"{short(clean_path(text))} is a file; type a folder"
    parent = path
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        return f"cannot create a folder inside {short(parent)}: it is a file"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot write into {short(parent)}: permission denied"
    return True


def ask_users(default: int = DEFAULT_USERS, **kwargs: Any) -> int:
    """How many primary shard keys (users) to generate."""
    answer = questionary.text(
        "How many users (primary shard keys) to generate?",
        default=str(default),
        validate=users_problem,
        **{**_QUIET, **kwargs},
    ).unsafe_ask()
    return whole_number(answer, "the number of users", maximum=MAX_USERS)


def ask_file(
    message: str,
    default: str,
    load: Callable[[str], T],
    report: Callable[[str], None],
    **kwargs: Any,
) -> tuple[str, T]:
    """Ask for a CSV file until one loads; return its path and what ``load`` made of it.

    ``load`` raises a :class:`GeneratorError` whose message ``report`` shows before asking again.
    """
    answer = default
    while True:
        answer = questionary.path(
            message, default=answer, validate=file_problem, **{**_QUIET, **kwargs}
        ).unsafe_ask()
        path = clean_path(answer)
        try:
            return path, load(path)
        except GeneratorError as error:
            report(str(error))


def ask_output_folder(default: str, **kwargs: Any) -> str:
    """The folder to write the run into; it need not exist."""
    answer = questionary.path(
        "Output folder:",
        default=default,
        validate=folder_problem,
        only_directories=True,
        **{**_QUIET, **kwargs},
    ).unsafe_ask()
    return clean_path(answer)


class FolderAction(Enum):
    """What to do with an output folder that already holds a run."""

    ANOTHER = "another"  # ask for another folder
    REPLACE = "replace"  # replace the run once the new one is complete
    CONTINUE = "continue"  # continue the run there up to the end time (see --continue)


@dataclass(frozen=True)
class FolderChoice:
    title: str
    action: FolderAction


def folder_choices(seen: Inspection) -> list[FolderChoice]:
    """The choices offered for a folder that holds a run, safest first (the default).

    A new way out of an existing folder (continuing a run, say) is one more entry here.
    """
    what = "run" if seen.state is FolderState.HOLDS_RUN else "remains of the incomplete run"
    choices = [
        FolderChoice("Choose another folder", FolderAction.ANOTHER),
        FolderChoice(
            f"Replace the {what} (the old files go only once the new run is complete)",
            FolderAction.REPLACE,
        ),
    ]
    if seen.state is FolderState.HOLDS_RUN:
        choices.append(
            FolderChoice(
                "Continue it up to the end time (its users carry on; new users join)",
                FolderAction.CONTINUE,
            )
        )
    return choices


def existing_folder_message(folder: str, seen: Inspection) -> str:
    found = ", ".join(seen.found)
    if seen.state is FolderState.HOLDS_RUN:
        return f"{folder} already holds a run ({found}). What now?"
    return f"{folder} holds the remains of an incomplete run ({found}). What now?"


def ask_existing_folder(folder: str, seen: Inspection, **kwargs: Any) -> FolderAction:
    """The output folder already holds a run: choose another folder or replace it."""
    choices = folder_choices(seen)
    answer = questionary.select(
        existing_folder_message(folder, seen),
        choices=[questionary.Choice(c.title, value=c.action) for c in choices],
        default=None,
        **kwargs,
    ).unsafe_ask()
    assert isinstance(answer, FolderAction)
    return answer
