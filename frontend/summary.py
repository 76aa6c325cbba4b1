"""The summary printed when a run ends: what was made, how the funnels leaked, who churned, weekly
active users, the files written, and the command that repeats the run.

Everything is built from ``RunResult`` (``stats`` is the core's ``WalkStats``) into rich
renderables; :func:`print_summary` prints them on any console, a terminal or not.
"""

from __future__ import annotations

import os
import shlex
from datetime import UTC, datetime

from rich import box
from rich.console import Console, Group, RenderableType
from rich.filesize import decimal
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from generator import (
    DEFAULT_DAYS,
    DEFAULT_FORMAT,
    DEFAULT_MAX_FILE_MB,
    RUN_FILE,
    RunConfig,
    RunResult,
    iso,
)

BAR_CHARS = " ▏▎▍▌▋▊▉█"  # eighths of a cell
MAX_FILE_ROWS = 6  # more event files than this are shown as one row


def bar(value: int, largest: int, width: int) -> str:
    """A horizontal bar of ``width`` cells at most, in eighths of a cell."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / largest * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + (BAR_CHARS[part] if part else "")


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def repeat_command(config: RunConfig, program: str = "event_generator.py") -> str:
    """The command that writes this run again, byte for byte."""
    words = [
        "python3",
        program,
        "--users",
        str(config.users),
        "--events",
        config.events_path,
        "--flows",
        config.flows_path,
        "--lookup",
        config.lookup_path,
        "--output",
        config.output_dir,
        "--seed",
        str(config.seed),
        "--end",
        iso(config.end_ms),
    ]
    if config.days != DEFAULT_DAYS:
        words += ["--days", str(config.days)]
    if config.format != DEFAULT_FORMAT:
        words += ["--format", config.format]
    if config.gzip:
        words.append("--gzip")
    if config.max_file_mb != DEFAULT_MAX_FILE_MB:
        words += ["--max-file-mb", f"{config.max_file_mb:g}"]
    return shlex.join(words)


def continue_command(config: RunConfig, program: str = "event_generator.py") -> str:
    """The command that carries a run on to a later end time (now, by default)."""
    return shlex.join(["python3", program, "--continue", "--output", config.output_dir])


def events_table(result: RunResult) -> Table:
    stats = result.stats
    names = result.product.events.events
    table = Table(title="Events by name", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("Event")
    table.add_column("Count", justify="right")
    table.add_column("Share", justify="right")
    order = sorted(range(len(names)), key=lambda i: -stats.by_event[i])
    for i in order:
        table.add_row(
            escape(names[i]), f"{stats.by_event[i]:,}", percent(stats.by_event[i], stats.events)
        )
    table.add_section()
    table.add_row(
        "[bold]All events[/]", f"[bold]{stats.events:,}[/]", "100.0%" if stats.events else "–"
    )
    return table


def funnels_table(result: RunResult, width: int) -> Table:
    """Each flow as a funnel, as the analytics tools draw one: the users who reached each step
    (at least once), the conversion from the step before, and, beside them, how many times the
    step was reached (entries: a user goes through a flow again and again)."""
    table = Table(
        title="Funnels",
        caption="Users: who reached the step at least once; Conversion: of the users at the step "
        "before; Entries: times the step was reached",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    flows = result.product.flows.flows
    stats = result.stats
    most = max((max(counts, default=0) for counts in stats.funnels), default=0)
    users_width = max(len("Users"), len(f"{max(stats.users, 1):,}"))
    entries_width = max(len("Entries"), len(f"{most:,}"))
    flow_width = max((len(f.name) for f in flows), default=4)
    event_width = max((len(e) for f in flows for e in f.steps), default=5)
    # The numbers are never cut; the bar gets what is left of the width, if enough.
    taken = flow_width + 4 + event_width + users_width + len("Conversion") + entries_width
    bar_width = min(30, width - taken - 2 * 7 - 12)
    # On a narrow screen names wrap; numbers never do.
    table.add_column("Flow")
    table.add_column("Step", justify="right", no_wrap=True, min_width=4)
    table.add_column("Event")
    table.add_column("Users", justify="right", no_wrap=True, min_width=users_width)
    table.add_column("Conversion", justify="right", no_wrap=True, min_width=len("Conversion"))
    table.add_column("Entries", justify="right", no_wrap=True, min_width=entries_width)
    if bar_width >= 6:
        table.add_column("", no_wrap=True)
    for number, (flow, counts, users) in enumerate(zip(flows, stats.funnels, stats.funnel_users)):
        if number:
            table.add_section()
        first = users[0] if users else 0
        for step, (event, reached, people) in enumerate(zip(flow.steps, counts, users)):
            before = users[step - 1] if step else None
            cells: list[str | Text] = [
                escape(flow.name) if step == 0 else "",
                str(step + 1),
                escape(event),
                f"{people:,}",
                "" if before is None else percent(people, before),
                f"{reached:,}",
            ]
            if bar_width >= 6:
                cells.append(Text(bar(people, first, bar_width), style="green"))
            table.add_row(*cells)
    return table


def users_line(result: RunResult) -> Text:
    stats = result.stats
    return Text.assemble(
        ("Users ", "bold"),
        f"{stats.users:,} created, {stats.users_with_events:,} with events; ",
        ("churned ", "bold"),
        f"{stats.churned:,} ({percent(stats.churned, stats.users)}), "
        f"still active {stats.users - stats.churned:,}",
    )


def weekly_chart(result: RunResult, width: int) -> Table:
    """Weekly active users, one bar per week (Monday to Sunday, UTC) over the window."""
    weekly = result.stats.weekly_active
    table = Table(
        title="Weekly active users (week starting Monday, UTC)",
        box=None,
        title_justify="left",
        show_header=False,
        padding=(0, 1),
        min_width=min(width, 50),
    )
    table.add_column("Week", no_wrap=True)
    table.add_column("Users", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    if not weekly:
        table.add_row("no events in the window", "", "")
        return table
    first, last = min(weekly), max(weekly)
    largest = max(weekly.values())
    bar_width = max(10, min(60, width - 24))
    for monday in range(first, last + 1, 7):
        count = weekly.get(monday, 0)
        day = datetime.fromtimestamp(monday * 86_400, UTC).strftime("%Y-%m-%d")
        table.add_row(day, f"{count:,}", Text(bar(count, largest, bar_width), style="blue"))
    return table


def files_table(result: RunResult) -> Table:
    table = Table(
        title=f"Files written in {escape(result.config.output_dir)}",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    table.add_column("File")
    table.add_column("Size", justify="right")
    files = sorted(result.files)
    events = [f for f in files if f[0].startswith("events")]
    if len(events) > MAX_FILE_ROWS:
        others = [f for f in files if f not in events]
        total = sum(size for _, size in events)
        table.add_row(
            f"{escape(events[0][0])} … {escape(events[-1][0].rsplit('/', 1)[-1])} "
            f"({len(events):,} files)",
            decimal(total),
        )
        files = others
    for path, size in files:
        table.add_row(escape(path), decimal(size))
    table.add_section()
    table.add_row("[bold]Total[/]", f"[bold]{decimal(sum(s for _, s in result.files))}[/]")
    return table


def summary(result: RunResult, width: int, chosen_seed: bool, program: str) -> RenderableType:
    config = result.config
    seed = Text.assemble(
        ("Seed ", "bold"),
        str(config.seed),
        " (chosen for this run)" if chosen_seed else "",
        ("   End ", "bold"),
        iso(config.end_ms),
        ("   Window ", "bold"),
        f"{config.days} days",
    )
    return Group(
        events_table(result),
        funnels_table(result, width),
        users_line(result),
        Text(""),
        weekly_chart(result, width),
        Text(""),
        files_table(result),
        seed,
        Text(
            "To continue this run later:"
            if result.continue_number
            else "To repeat this run exactly:",
            style="bold",
        ),
    )


def print_summary(
    console: Console,
    result: RunResult,
    chosen_seed: bool,
    seconds: float,
    program: str = "event_generator.py",
) -> None:
    stats = result.stats
    console.print(
        f"[bold green]Wrote {stats.events:,} events[/] for {stats.users:,} users into "
        f"[bold]{escape(result.config.output_dir)}[/] in {seconds:.1f} s.",
        soft_wrap=True,
    )
    console.print()
    console.print(summary(result, console.width, chosen_seed, program))
    # The command on a line of its own, never wrapped by rich, so it can be copied whole.
    if result.continue_number:
        console.print(
            "  " + continue_command(result.config, program),
            soft_wrap=True,
            highlight=False,
            markup=False,
        )
        return
    console.print(
        "  " + repeat_command(result.config, program), soft_wrap=True, highlight=False, markup=False
    )
    record = shlex.quote(os.path.join(result.config.output_dir, RUN_FILE))
    console.print(
        f"  (or: python3 {program} --replay {record} --output NEW_FOLDER)",
        soft_wrap=True,
        highlight=False,
        markup=False,
        style="dim",
    )
