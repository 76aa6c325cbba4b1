"""The summary printed when a run ends: what was made, how the funnels leaked, who churned, weekly
active users, the files written, and the command that repeats the run.

Everything is built from ``RunResult`` (``stats`` is the core's ``WalkStats``) into rich
renderables; :func:`print_summary` prints them on any console, a terminal or not.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
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
    printable,
    shown,
)

from .words import percent, plural

SCRIPT_WORDS = ("python3", "event_generator.py")  # how the program is started by default
BAR_CHARS = " ▏▎▍▌▋▊▉█"  # eighths of a cell
MAX_FILE_ROWS = 6  # more event files than this are shown as one row
# A sheet may list 200,000 events or flows: the summary shows the top rows and counts the rest
# (laying out every row took rich minutes).  --check lists more; the data holds all of them.
MAX_EVENT_ROWS = 20  # the most frequent events
MAX_FLOW_ROWS = 10  # the first flows, the most entered
MAX_STEP_ROWS = 12  # a longer funnel shows its first 11 steps and its last


def as_markup(text: str) -> str:
    """Text for a rich markup string: its control characters escaped (an escape sequence in a
    sheet or a file name must not drive the terminal), its ``[`` escaped (not markup)."""
    return escape(printable(text))


def name_cell(name: str) -> str:
    """A name from the sheet in a table cell: as it is, or quoted with its escapes shown (as
    ``--check`` shows values) when it holds a character a terminal would act on."""
    return escape(name if name.isprintable() else shown(name))


def shell_word(word: str) -> str:
    """``shlex.quote``, except for a word holding a control character: bash's ``$'...'`` quoting
    writes it with escapes, so the command shows nothing raw and still repeats the run."""
    if word.isprintable():
        return shlex.quote(word)
    return "$'" + "".join(_shell_char(ch) for ch in word) + "'"


def _shell_char(ch: str) -> str:
    code = ord(ch)
    if ch in "\\'":
        return "\\" + ch
    if ch.isprintable():
        return ch
    if code < 0x80:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a file name that is not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shell_join(words: list[str]) -> str:
    return " ".join(shell_word(word) for word in words)


def bar(value: int, largest: int, width: int) -> str:
    """A horizontal bar of ``width`` cells at most, in eighths of a cell."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / largest * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + (BAR_CHARS[part] if part else "")


def repeat_command(config: RunConfig, program: Sequence[str] = SCRIPT_WORDS) -> str:
    """The command that writes this run again, byte for byte."""
    words = [
        *program,
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
    return shell_join(words)


def continue_command(config: RunConfig, program: Sequence[str] = SCRIPT_WORDS) -> str:
    """The command that carries a run on to a later end time (now, by default)."""
    return shell_join([*program, "--continue", "--output", config.output_dir])


def events_table(result: RunResult) -> Table:
    """The most frequent events, then one row for the rest: a sheet may list 200,000 events.
    Events that did not happen get no row of their own (a continue of an hour writes a handful of
    events): one dim row says how many kinds there were none of."""
    stats = result.stats
    names = result.product.events.events
    table = Table(title="Events by name", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("Event")
    table.add_column("Count", justify="right")
    table.add_column("Share", justify="right")
    happened = [i for i in range(len(names)) if stats.by_event[i]]
    order = sorted(happened, key=lambda i: -stats.by_event[i])
    for i in order[:MAX_EVENT_ROWS]:
        table.add_row(
            name_cell(names[i]), f"{stats.by_event[i]:,}", percent(stats.by_event[i], stats.events)
        )
    rest = order[MAX_EVENT_ROWS:]
    if rest:
        others = sum(stats.by_event[i] for i in rest)
        table.add_row(
            f"[dim]… {plural(len(rest), 'more event')}[/]",
            f"{others:,}",
            percent(others, stats.events),
        )
    none = len(names) - len(happened)
    if none:
        kinds = f"no events of {plural(none, 'other kind')}" if happened else "no events"
        table.add_row(f"[dim]{kinds}[/]", "", "")
    table.add_section()
    table.add_row(
        "[bold]All events[/]", f"[bold]{stats.events:,}[/]", "100.0%" if stats.events else "–"
    )
    return table


def _shown_steps(steps: int) -> list[int | None]:
    """The steps a funnel shows: all, or the first ones, a gap (None) and the last one."""
    if steps <= MAX_STEP_ROWS:
        return list(range(steps))
    return [*range(MAX_STEP_ROWS - 1), None, steps - 1]


def funnels_table(result: RunResult, width: int) -> RenderableType:
    """Each flow as a funnel, as the analytics tools draw one: the users who reached each step (at
    least once), the conversion from the step before, and, beside them, how many times the step
    was reached (entries: a user goes through a flow again and again).  The first flows of the
    sheet that were entered (the most entered: rank is position), then one row for the rest; a
    very long flow shows its first steps and its last.  A flow nobody entered has no rows (a
    continue of an hour enters few): the caption counts them."""
    stats = result.stats
    entered = [i for i, counts in enumerate(stats.funnels) if counts and counts[0] > 0]
    if not entered:
        return Text.assemble(("Funnels", "italic"), ": no flow was entered")
    table = Table(
        title="Funnels",
        caption="Users: who reached the step at least once; Conversion: of the users at the step "
        "before; Entries: times the step was reached; under a flow's name, the share of its "
        "entries that reached its last step (what the sheet's conversion sets)",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    all_flows = result.product.flows.flows
    shown_flows = entered[:MAX_FLOW_ROWS]
    flows = [all_flows[i] for i in shown_flows]
    funnels = [stats.funnels[i] for i in shown_flows]
    people_by_step = [stats.funnel_users[i] for i in shown_flows]
    most = max((max(counts, default=0) for counts in funnels), default=0)
    users_width = max(len("Users"), len(f"{max(stats.users, 1):,}"))
    entries_width = max(len("Entries"), len(f"{most:,}"))
    finish_width = len("100.0% finish")
    flow_width = max([finish_width, *(len(name_cell(f.name)) for f in flows)])
    event_width = max(
        (
            len(name_cell(f.steps[i]))
            for f in flows
            for i in _shown_steps(len(f.steps))
            if i is not None
        ),
        default=5,
    )
    # The numbers are never cut; the bar gets what is left of the width, if enough.
    taken = flow_width + 4 + event_width + users_width + len("Conversion") + entries_width
    bar_width = min(30, width - taken - 2 * 7 - 12)
    # On a narrow screen names wrap; numbers never do.
    table.add_column("Flow", overflow="fold")  # a long name folds, never loses its end
    table.add_column("Step", justify="right", no_wrap=True, min_width=4)
    table.add_column("Event", overflow="fold")
    table.add_column("Users", justify="right", no_wrap=True, min_width=users_width)
    table.add_column("Conversion", justify="right", no_wrap=True, min_width=len("Conversion"))
    table.add_column("Entries", justify="right", no_wrap=True, min_width=entries_width)
    if bar_width >= 6:
        table.add_column("", no_wrap=True)
    blank = [""] * (7 if bar_width >= 6 else 6)
    for number, (flow, counts, users) in enumerate(zip(flows, funnels, people_by_step)):
        if number:
            table.add_section()
        first = users[0] if users else 0
        for step in _shown_steps(min(len(flow.steps), len(counts))):
            if step is None:
                hidden = len(flow.steps) - MAX_STEP_ROWS
                table.add_row("", "…", f"[dim]{plural(hidden, 'more step')}[/]", *blank[3:])
                continue
            people = users[step]
            before = users[step - 1] if step else None
            flow_cell: str | Text = ""
            if step == 0:
                flow_cell = name_cell(flow.name)
            elif step == 1 and counts[0]:  # the flow's own conversion: passes that finished
                flow_cell = Text(f"{percent(counts[-1], counts[0])} finish", style="dim")
            cells: list[str | Text] = [
                flow_cell,
                str(step + 1),
                name_cell(flow.steps[step]),
                f"{people:,}",
                "" if before is None else percent(people, before),
                f"{counts[step]:,}",
            ]
            if bar_width >= 6:
                cells.append(Text(bar(people, first, bar_width), style="green"))
            table.add_row(*cells)
    notes = []
    if len(entered) > MAX_FLOW_ROWS:
        more = len(entered) - MAX_FLOW_ROWS
        notes.append(f"… {plural(more, 'more flow')} ({len(entered):,} entered)")
    if len(entered) < len(all_flows):
        notes.append(f"{plural(len(all_flows) - len(entered), 'flow')} nobody entered, not shown")
    table.caption = "\n".join([*notes, str(table.caption)])
    return table


def users_line(result: RunResult) -> Text:
    """A continue walks the run's users on (and any who join): they are in the run, not created."""
    stats = result.stats
    made = "in the run" if result.continue_number else "created"
    return Text.assemble(
        ("Users ", "bold"),
        f"{stats.users:,} {made}, {stats.users_with_events:,} with events; ",
        ("churned ", "bold"),
        f"{stats.churned:,} ({percent(stats.churned, stats.users)}), "
        f"still active {stats.users - stats.churned:,}",
        f"; {stats.joined_before:,} joined before the window" if stats.joined_before else "",
    )


def retention_line(result: RunResult) -> Text:
    """Day-1, day-7 and day-30 retention of the users who joined in this run's data."""
    rates = result.stats.retention_rates(result.config.end_ms)
    shown = [
        f"day {n} {'–' if r is None else f'{100 * r:.1f}%'}" for n, r in zip((1, 7, 30), rates)
    ]
    return Text.assemble(
        ("Retention ", "bold"), ", ".join(shown), " (users who joined in the window, by signup day)"
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
        title=f"Files written in {as_markup(result.config.output_dir)}",
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
            f"{as_markup(events[0][0])} … {as_markup(events[-1][0].rsplit('/', 1)[-1])} "
            f"({plural(len(events), 'file')})",
            decimal(total),
        )
        files = others
    for path, size in files:
        table.add_row(as_markup(path), decimal(size))
    table.add_section()
    table.add_row("[bold]Total[/]", f"[bold]{decimal(sum(s for _, s in result.files))}[/]")
    return table


def summary(
    result: RunResult, width: int, chosen_seed: bool, program: Sequence[str]
) -> RenderableType:
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
        retention_line(result),
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
    program: Sequence[str] = SCRIPT_WORDS,
) -> None:
    stats = result.stats
    console.print(
        f"[bold green]Wrote {plural(stats.events, 'event')}[/] for "
        f"{plural(stats.users, 'user')} into [bold]{as_markup(result.config.output_dir)}[/] in "
        f"{seconds:.1f} s.",
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
    record = shell_word(os.path.join(result.config.output_dir, RUN_FILE))
    console.print(
        f"  (or: {shell_join(list(program))} --replay {record} --output NEW_FOLDER)",
        soft_wrap=True,
        highlight=False,
        markup=False,
        style="dim",
    )
