"""Showing a run's progress: a rich progress bar in a terminal, a few plain lines elsewhere.

The core calls ``progress(ProgressUpdate(users_done, users_total, events))``; :func:`progress_shown`
turns that into a display.  The clock is a parameter (``get_time``) so tests control it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from generator import ProgressUpdate

from .words import plural

PLAIN_STEPS = 10  # without a terminal: one line per tenth of the users


def rate_text(events: int, seconds: float) -> str:
    rate = events / seconds if seconds > 0 else 0.0
    return f"{rate:,.0f} events/s"


class UsersColumn(ProgressColumn):
    """Users done out of the total, with thousands separators (only the users done while the
    total is not known yet)."""

    def render(self, task: Task) -> Text:
        done = int(task.completed)
        if not task.total:
            return Text(plural(done, "user"), style="green")
        return Text(f"{done:,}/{plural(int(task.total), 'user')}", style="green")


class EventsColumn(ProgressColumn):
    """Events written so far."""

    def render(self, task: Task) -> Text:
        return Text(plural(task.fields.get("events", 0), "event"), style="cyan")


class EventRateColumn(ProgressColumn):
    """Events written per second since the run started."""

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time if task.finished else task.elapsed
        return Text(rate_text(task.fields.get("events", 0), elapsed or 0.0), style="magenta")


class PlainProgress:
    """A line at each tenth of the users, for a log or a pipe: no control characters."""

    def __init__(
        self, console: Console, get_time: Callable[[], float] = time.monotonic, steps: int = 10
    ) -> None:
        self.console = console
        self.get_time = get_time
        self.steps = steps
        self.started = get_time()
        self.shown = 0  # tenths already shown

    def __call__(self, update: ProgressUpdate) -> None:
        tenth = update.users_done * self.steps // max(1, update.users_total)
        if tenth <= self.shown:
            return
        self.shown = tenth
        seconds = self.get_time() - self.started
        self.console.print(
            f"{update.users_done:,}/{plural(update.users_total, 'user')}, "
            f"{plural(update.events, 'event')}, "
            f"{rate_text(update.events, seconds)}",
            highlight=False,
            soft_wrap=True,
        )


@contextmanager
def progress_shown(
    console: Console, users: int | None, get_time: Callable[[], float] = time.monotonic
) -> Iterator[Callable[[ProgressUpdate], None]]:
    """A progress callback for a run of ``users`` users, shown on ``console`` while in use; None
    when the total is not known until the core's first report (a continue whose record was not
    read first)."""
    if not console.is_terminal:
        yield PlainProgress(console, get_time, PLAIN_STEPS)
        return
    bar = Progress(
        BarColumn(),
        UsersColumn(),
        EventsColumn(),
        EventRateColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
        get_time=get_time,
    )
    with bar:
        task = bar.add_task("users", total=users, events=0)

        def update(report: ProgressUpdate) -> None:
            bar.update(
                task, total=report.users_total, completed=report.users_done, events=report.events
            )

        yield update
