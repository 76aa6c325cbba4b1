"""What the tool prints: the progress display and the summary, rendered on a fixed console."""

from __future__ import annotations

import io
import os
import re
import shlex
from typing import Any

from rich.console import Console
from rich.filesize import decimal

from event_generator import main
from frontend.progress import PlainProgress, progress_shown
from frontend.summary import bar, print_summary, repeat_command
from generator import ProgressUpdate
from tests.helpers import tree_bytes


def render(result: Any, width: int = 120, chosen: bool = False) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    print_summary(console, result, chosen, 1.5)
    return console.file.getvalue()  # type: ignore[attr-defined, no-any-return]


def test_bars_are_proportional_in_eighths_of_a_cell() -> None:
    assert bar(10, 10, 8) == "█" * 8
    assert bar(5, 10, 8) == "█" * 4
    assert bar(1, 64, 8) == "▏"
    assert bar(0, 10, 8) == bar(3, 0, 8) == ""


def test_the_summary_counts_every_event_name_with_its_share(run_examples: Any) -> None:
    result, _ = run_examples(users=60)
    shown = render(result)
    stats = result.stats
    assert sum(stats.by_event) == stats.events
    for name, count in zip(result.product.events.events, stats.by_event):
        share = f"{100 * count / stats.events:.1f}%"
        assert re.search(rf"{re.escape(name)}\s+{count:,}\s+{re.escape(share)}", shown), name
    assert re.search(rf"All events\s+{stats.events:,}\s+100.0%", shown)


def test_the_summary_shows_each_funnel_in_users_with_the_entries_beside(
    run_examples: Any,
) -> None:
    result, _ = run_examples(users=60)
    shown = render(result, width=140)
    stats = result.stats
    for flow, entries, users in zip(result.product.flows.flows, stats.funnels, stats.funnel_users):
        assert users == sorted(users, reverse=True), "a funnel never grows"
        assert all(u <= e for u, e in zip(users, entries)) and users[0] <= stats.users
        for step in range(len(users)):
            conversion = f"{100 * users[step] / users[step - 1]:.1f}%" if step else ""
            line = (
                rf"{step + 1}\s+{re.escape(flow.steps[step])}\s+{users[step]:,}\s+"
                rf"{re.escape(conversion)}\s+{entries[step]:,}"
            )
            assert re.search(line, shown), (flow.name, step)
    assert "Users: who reached the step at least once" in shown


def test_the_summary_shows_churn_weeks_files_seed_and_the_repeat_command(
    run_examples: Any,
) -> None:
    result, _ = run_examples(users=60, seed=42)
    shown = render(result, chosen=True)
    stats = result.stats
    assert f"churned {stats.churned:,} ({100 * stats.churned / stats.users:.1f}%)" in shown
    weeks = re.findall(r"^ (\d{4}-\d{2}-\d{2})\s+([\d,]+) ", shown, re.MULTILINE)
    assert len(weeks) == (max(stats.weekly_active) - min(stats.weekly_active)) // 7 + 1
    assert {int(c.replace(",", "")) for _, c in weeks} >= set(stats.weekly_active.values())
    for path, size in result.files:
        assert re.search(rf"{re.escape(path)}\s+{re.escape(decimal(size))}", shown), path
    assert "Seed 42 (chosen for this run)" in shown
    assert f"\n  {repeat_command(result.config)}\n" in shown  # one line, never wrapped


def test_the_repeat_command_writes_the_same_bytes(run_examples: Any, tmp_path: Any) -> None:
    result, folder = run_examples(users=25, seed=9)
    words = shlex.split(repeat_command(result.config))
    assert words[:2] == ["python3", "event_generator.py"]
    again = os.path.join(tmp_path, "again")
    words[words.index("--output") + 1] = again
    assert main(words[2:]) == 0
    assert tree_bytes(again) == tree_bytes(folder)


def test_the_repeat_command_keeps_the_output_settings(run_examples: Any, tmp_path: Any) -> None:
    result, folder = run_examples(users=12, seed=4, format="amplitude", gzip=True, max_file_mb=0.5)
    words = shlex.split(repeat_command(result.config))
    assert words[-5:] == ["--format", "amplitude", "--gzip", "--max-file-mb", "0.5"]
    again = os.path.join(tmp_path, "again")
    words[words.index("--output") + 1] = again
    assert main(words[2:]) == 0
    assert tree_bytes(again) == tree_bytes(folder)


def test_many_event_files_are_shown_as_one_row(run_examples: Any) -> None:
    result, _ = run_examples(users=5)
    result.files = [(f"events/part-{i:05d}-000.json", 1000) for i in range(40)] + [
        ("config/run.json", 10)
    ]
    shown = render(result)
    assert "(40 files)" in shown and "40.0 kB" in shown and "part-00007" not in shown


def test_without_a_terminal_progress_is_a_few_plain_lines() -> None:
    console = Console(file=io.StringIO(), width=80)
    clock = iter(float(t) for t in range(100))
    show = PlainProgress(console, lambda: next(clock))
    for done in range(0, 10_001, 100):
        show(ProgressUpdate(done, 10_000, done * 50))
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 10
    assert lines[-1].startswith("10,000/10,000 users, 500,000 events, ")
    assert re.fullmatch(r"[\d,]+ events/s", lines[-1].split(", ")[-1])
    assert not any("\x1b" in line or "\r" in line for line in lines)


def test_in_a_terminal_progress_is_a_bar_with_users_events_rate_and_time_left() -> None:
    console = Console(file=io.StringIO(), width=140, force_terminal=True, color_system=None)
    now = [0.0]
    with progress_shown(console, 2000, get_time=lambda: now[0]) as show:
        for done in (500, 1000, 1500):
            now[0] += 2.0
            show(ProgressUpdate(done, 2000, done * 100))
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", console.file.getvalue())  # type: ignore[attr-defined]
    last = [line for line in screen.replace("\r", "\n").splitlines() if "users" in line][-1]
    assert "1,500/2,000 users" in last and "150,000 events" in last
    assert "25,000 events/s" in last
    assert re.search(r"left 0:00:0\d", last)


def test_a_chunk_of_more_than_1000_files_shows_its_last_file_last(run_examples: Any) -> None:
    from generator.layout import events_name

    result, _ = run_examples(users=5)
    names = [events_name("events/part-00000", n, "json", 1100) for n in range(1100)]
    result.files = [(name, 10) for name in reversed(names)]
    shown = render(result)
    assert "events/part-00000-0000.json … part-00000-1099.json (1,100 files)" in shown
