"""The questions the tool asks, one function each.

Every function passes ``**kwargs`` on to questionary (and so to prompt_toolkit), so tests drive it
with ``input=create_pipe_input()`` and ``output=DummyOutput()``.  They use ``unsafe_ask()``:
Ctrl-C raises ``KeyboardInterrupt`` and is handled once, at the top of ``event_generator.py``.

**Typing replaces the answer shown.**  A question shows its default selected (as installers and
cookiecutter do): Enter accepts it, typing or pasting starts a fresh answer, Backspace clears it,
and an arrow key, Home or End keeps it to edit.  Tab keeps it too and completes it (a path).  An
answer refused is shown selected again, so the next one typed replaces it too.

Answers are checked in two places.  What is quick to check and short to say (not a number, no such
file, a folder instead of a file) is checked inside the prompt, which refuses the answer and shows
why on the line under it.  The rest (a file that does not load, a folder that cannot be used, a
run that would not fit) is checked by the caller (``options``), which prints the whole message
and asks again with the answer ready to edit, because such messages are longer than the one line
prompt_toolkit keeps for validation errors.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import questionary
from prompt_toolkit.document import Document
from prompt_toolkit.filters import Condition
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent, merge_key_bindings
from prompt_toolkit.keys import Keys
from prompt_toolkit.selection import SelectionType
from prompt_toolkit.validation import ValidationError, Validator

from generator import DEFAULT_USERS, MAX_USERS, FolderState, Inspection, UsageError

from .values import clean_path, misgrouped, whole_number

# Validation runs when Enter is pressed, not on every keystroke: half-typed paths are not errors.
_QUIET = {"validate_while_typing": False}


def fresh_answer(question: questionary.Question) -> questionary.Question:
    """Show ``question``'s default selected, so that what is typed replaces it.

    prompt_toolkit's shift-selection mode already replaces a selection with a typed character and
    deletes it on Backspace; four keys need help: a pasted text and questionary's own ``/`` (for
    paths) would be added after the selection, Tab would complete a text that the next key then
    replaces, and Ctrl-C would wait a second (with a selection it starts emacs' ``c-c >``).
    Enter with a completion menu open that nobody chose from accepts the answer (questionary's
    path prompt would only close the menu, so a person typing fast had to press Enter twice,
    depending on how quickly the completions arrived).
    """
    app = question.application
    buffer = app.current_buffer
    selected = Condition(
        lambda: buffer.selection_state is not None and buffer.selection_state.shift_mode
    )
    menu_unchosen = Condition(
        lambda: (
            buffer.complete_state is not None and buffer.complete_state.current_completion is None
        )
    )
    keys = KeyBindings()

    def again(event: KeyPressEvent) -> None:
        """Handle the key as if the state had been so from the start."""
        event.key_processor.feed(event.key_sequence[0], first=True)

    @keys.add("/", filter=selected, eager=True)
    @keys.add(Keys.BracketedPaste, filter=selected, eager=True)
    def _replace(event: KeyPressEvent) -> None:
        buffer.cut_selection()
        again(event)

    @keys.add("tab", filter=selected, eager=True)
    @keys.add("c-c", filter=selected, eager=True)  # else a prefix of emacs' "c-c >": 1 s late
    def _keep(event: KeyPressEvent) -> None:
        buffer.exit_selection()
        again(event)

    @keys.add(Keys.ControlM, filter=menu_unchosen, eager=True)
    def _accept(event: KeyPressEvent) -> None:
        buffer.cancel_completion()
        again(event)

    app.key_bindings = merge_key_bindings([app.key_bindings or KeyBindings(), keys])

    def select() -> None:
        if buffer.text:
            buffer.cursor_position = 0
            buffer.start_selection(SelectionType.CHARACTERS)
            assert buffer.selection_state is not None
            buffer.selection_state.enter_shift_mode()
            buffer.cursor_position = len(buffer.text)

    app.pre_run_callables.append(select)
    checks = buffer.validator
    if checks is not None:
        buffer.validator = _Reselecting(checks, select)
    return question


class _Reselecting(Validator):
    """A validator that selects a refused answer, so that the next answer typed replaces it."""

    def __init__(self, checks: Validator, select: Callable[[], None]) -> None:
        self.checks = checks
        self.select = select

    def validate(self, document: Document) -> None:
        try:
            self.checks.validate(document)
        except ValidationError:
            self.select()
            raise


def short(text: str, keep: int = 48) -> str:
    """``text`` cut to ``keep`` characters (keeping its end, where a path names its file), so a
    message fits the one line under the prompt."""
    return text if len(text) <= keep else "…" + text[-(keep - 1) :]


def users_problem(text: str) -> bool | str:
    """True when ``text`` is a usable number of users, else what to show under the prompt."""
    try:
        whole_number(text, "the number of users", maximum=MAX_USERS)
    except UsageError:
        if misgrouped(text):
            return f"{short(text.strip(), 24)!r}: ',' or '_' go between groups of 3 digits (1,000)"
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
    """True unless ``text`` is empty or an existing file; the rest (a place that cannot be
    written, a name too long, someone else's files) is checked after Enter, in full."""
    if not text.strip():
        return "type the path of a folder; it is created if it does not exist"
    path = clean_path(text)
    if os.path.exists(path) and not os.path.isdir(path):
        return f"{short(path)} is a file; type a folder"
    return True


def ask_users(default: int = DEFAULT_USERS, **kwargs: Any) -> int:
    """How many primary shard keys (users) to generate."""
    answer = fresh_answer(
        questionary.text(
            "How many users (primary shard keys) to generate?",
            default=str(default),
            validate=users_problem,
            **{**_QUIET, **kwargs},
        )
    ).unsafe_ask()
    return whole_number(answer, "the number of users", maximum=MAX_USERS)


def ask_file(message: str, default: str, **kwargs: Any) -> str:
    """A CSV file that exists (the caller loads it, and asks again if it does not load)."""
    answer = fresh_answer(
        questionary.path(message, default=default, validate=file_problem, **{**_QUIET, **kwargs})
    ).unsafe_ask()
    return clean_path(answer)


def ask_output_folder(default: str, **kwargs: Any) -> str:
    """The folder to write the run into; it need not exist."""
    answer = fresh_answer(
        questionary.path(
            "Output folder:",
            default=default,
            validate=folder_problem,
            only_directories=True,
            **{**_QUIET, **kwargs},
        )
    ).unsafe_ask()
    return clean_path(answer)


# -- a folder that already holds a run ------------------------------------------------------------


class FolderAction(Enum):
    """What to do with an output folder that already holds a run."""

    CONTINUE = "continue"  # continue the run there up to the end time (see --continue)
    ANOTHER = "another"  # ask for another folder
    REPLACE = "replace"  # replace the run once the new one is complete


@dataclass(frozen=True)
class FolderChoice:
    title: str
    action: FolderAction
    disabled: str | None = None  # why this choice cannot be taken (shown beside it)


def folder_choices(
    seen: Inspection, cannot_continue: str | None = None, until: str = "now"
) -> list[FolderChoice]:
    """The choices offered for a folder that holds a run; the first is the default.

    A finished run offers to continue it first: running the tool again on the same folder keeps
    the data set current, as the original script did when it was run every day.  A continue that
    the flags given would refuse is shown, with the reason, but cannot be chosen.
    """
    if seen.state is not FolderState.HOLDS_RUN:
        return [
            FolderChoice("Choose another folder", FolderAction.ANOTHER),
            FolderChoice(
                "Replace the remains of the incomplete run (only once the new run is complete)",
                FolderAction.REPLACE,
            ),
        ]
    return [
        FolderChoice(
            f"Continue it up to {until} (its users carry on, new ones join)",
            FolderAction.CONTINUE,
            cannot_continue,
        ),
        FolderChoice("Choose another folder", FolderAction.ANOTHER),
        FolderChoice(
            "Replace the run (the old files go once the new run is complete)",
            FolderAction.REPLACE,
        ),
    ]


def existing_folder_message(folder: str, seen: Inspection, about: str = "") -> str:
    if seen.state is FolderState.HOLDS_RUN:
        return f"{folder} already holds a run{about}. What now?"
    found = ", ".join(seen.found)
    return f"{folder} holds the remains of an incomplete run ({found}). What now?"


def ask_existing_folder(
    folder: str,
    seen: Inspection,
    cannot_continue: str | None = None,
    about: str = "",
    until: str = "now",
    **kwargs: Any,
) -> FolderAction:
    """The output folder already holds a run: continue it, choose another folder, or replace it.

    ``cannot_continue`` says (shortly) why a continue cannot be chosen; ``about`` describes the
    run; ``until`` is the end time a continue would reach."""
    choices = [
        questionary.Choice(c.title, value=c.action, disabled=c.disabled)
        for c in folder_choices(seen, cannot_continue, until)
    ]
    answer = questionary.select(
        existing_folder_message(folder, seen, about),
        choices=choices,
        default=next(c for c in choices if not c.disabled),
        **kwargs,
    ).unsafe_ask()
    assert isinstance(answer, FolderAction)
    return answer


# -- the format -----------------------------------------------------------------------------------

# What each format is, in the words of someone who has to load it (README, Output formats).
FORMAT_TITLES = {
    "json": "json: flat events, a JSON array per file",
    "jsonl": "jsonl: flat events, one per line",
    "amplitude": "amplitude: Amplitude's Batch Event Upload",
    "mixpanel": "mixpanel: Mixpanel's Import API, and profiles",
    "segment": "segment: Segment track and identify calls",
    "posthog": "posthog: PostHog capture events",
}


def ask_format(
    default: str, formats: tuple[str, ...], refused: dict[str, str], **kwargs: Any
) -> str:
    """The format of the events files; a format the events file cannot be written in (a column
    named like a field the tool sets itself) is shown with the reason, and cannot be chosen."""
    usable = [name for name in formats if name not in refused]
    answer = questionary.select(
        "Format of the events files:",
        choices=[
            questionary.Choice(
                FORMAT_TITLES.get(name, name), value=name, disabled=refused.get(name)
            )
            for name in formats
        ],
        default=default if default in usable else usable[0],
        **kwargs,
    ).unsafe_ask()
    assert isinstance(answer, str)
    return answer


def confirm_cost(message: str, **kwargs: Any) -> bool:
    """A large run (over 10 GB or 10 minutes): go ahead, or not (the default)?"""
    answer = questionary.confirm(message, default=False, **kwargs).unsafe_ask()
    return bool(answer)
