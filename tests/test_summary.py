"""What the tool prints: the progress display and the summary, rendered on a fixed console."""

from __future__ import annotations

import io
import os
import re
import shlex
import subprocess
from typing import Any

from rich.console import Console
from rich.filesize import decimal

from event_generator import main
from frontend.progress import PlainProgress, progress_shown
from frontend.summary import bar, print_summary, repeat_command
from frontend.words import percent, plural
from generator import ProgressUpdate
from tests.helpers import ROOT, tree_bytes


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
        if count:
            share = percent(count, stats.events)
            assert re.search(rf"{re.escape(name)}\s+{count:,}\s+{re.escape(share)}", shown), name
    none = stats.by_event.count(0)
    assert (f"no events of {none} other kind" in shown) == bool(none)
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
            conversion = percent(users[step], users[step - 1]) if step else ""
            line = (
                rf"{step + 1}\s+{re.escape(flow.steps[step])}\s+{users[step]:,}\s+"
                rf"{re.escape(conversion)}\s+{entries[step]:,}"
            )
            assert re.search(line, shown), (flow.name, step)
        if len(entries) > 1 and entries[0]:  # the flow's own conversion, as the sheet sets it
            finish = percent(entries[-1], entries[0])
            assert re.search(rf"{re.escape(finish)} finish\s+2\s+{re.escape(flow.steps[1])}", shown)
    assert "Users: who reached the step at least once" in shown


def test_the_summary_shows_churn_weeks_files_seed_and_the_repeat_command(
    run_examples: Any,
) -> None:
    result, _ = run_examples(users=60, seed=42)
    shown = render(result, chosen=True)
    stats = result.stats
    assert f"churned {stats.churned:,} ({percent(stats.churned, stats.users)})" in shown
    assert f"{stats.joined_before:,} joined before the window" in shown and stats.joined_before
    day1, day7, _ = stats.retention_rates(result.config.end_ms)
    assert day1 is not None and day7 is not None
    assert f"Retention day 1 {100 * day1:.1f}%, day 7 {100 * day7:.1f}%, day 30" in shown
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


ESCAPE_CHARS = ("\x1b", "\x07", "\x9b", "\u202e")  # ESC, BEL, CSI, right-to-left override


def test_escape_sequences_from_the_sheet_and_the_file_names_never_reach_the_terminal(
    tmp_path: Any, capsys: Any, monkeypatch: Any
) -> None:
    """Names are shown as --check shows them (escaped); the command still repeats the run."""
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that the funnel shows names on one line
    fixtures = os.path.join(ROOT, "tests", "fixtures", "bad")
    events = os.path.join(fixtures, "events_ok_escape_sequences.csv")
    base = os.fspath(tmp_path)
    flows = os.path.join(base, "flows.csv")
    with open(flows, "w") as handle:  # an escape sequence as a flow name and as a step
        handle.write(
            'flow,step 1,step 2\n"\x1b[1mbold\x1b[0m",App Open,"\x1b[31mRed\x1b[0m \u202eevil"\n'
        )
    lookup = os.path.join(base, "look\x1b[31mup\x07.csv")  # a file name is a name too
    with open(lookup, "w") as handle:
        handle.write("shardkeys\nuserId\n")  # no attributes: a warning that names the file
    out = os.path.join(base, "out\x1b[2J")
    args = ["--events", events, "--flows", flows, "--lookup", lookup, "--users", "20"]
    args += ["--seed", "3", "--end", "2026-11-29", "--output", out]
    assert main(args) == 0
    captured = capsys.readouterr()
    for text in (captured.out, captured.err):
        assert not any(ch in text for ch in ESCAPE_CHARS), text
    assert "'\\x1b[1mbold\\x1b[0m'" in captured.out  # the flow, as --check quotes it
    assert "'\\x1b[31mRed\\x1b[0m \\u202eevil'" in captured.out  # a step
    assert "lookup_table/look\\x1b[31mup\\x07.csv" in captured.out
    assert "warning: " in captured.err and "look\\x1b[31mup\\x07.csv" in captured.err
    # The repeat command quotes such names for the shell ($'...'): bash gives back the argv.
    command = next(line for line in captured.out.splitlines() if "--seed 3" in line)
    argv = (
        subprocess.run(
            ["bash", "-c", f"set -- {command.strip()}; printf '%s\\0' \"$@\""],
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")[:-1]
    )
    assert argv[argv.index("--lookup") + 1] == lookup
    assert argv[argv.index("--output") + 1] == out
    status = main(["--check", "--events", events, "--flows", flows, "--lookup", lookup])
    checked = capsys.readouterr()
    assert status == 0
    assert not any(ch in checked.out + checked.err for ch in ESCAPE_CHARS), checked.out


def test_a_sheet_of_200000_events_and_50000_flows_gets_a_summary_of_its_top_rows() -> None:
    """Every row of a huge sheet took rich 100 s of CPU to lay out (197 s for 20 users)."""
    from generator import RunConfig, RunResult
    from generator.spec import EventsSpec, Flow, FlowsSpec, LookupSpec, Product
    from generator.walker import WalkStats

    names = tuple(f"E{i}" for i in range(200_000))
    flows = [Flow("long one", names[:5_000], 2)]
    flows += [
        Flow(f"flow {i}", (names[i], names[i + 1], names[i + 2]), i + 3) for i in range(49_999)
    ]
    product = Product(
        EventsSpec("events.csv", "userId", "session_id", (), names, ()),
        FlowsSpec("flows.csv", tuple(flows)),
        LookupSpec("lookup.csv", "lookup", ()),
    )
    by_event = [(i * 7_919) % 1_000 for i in range(len(names))]  # E199 is the largest (999)
    funnels = [list(range(len(f.steps) + 100, 100, -1)) for f in flows]
    stats = WalkStats(
        events=sum(by_event),
        by_event=by_event,
        funnels=funnels,
        funnel_users=[list(steps) for steps in funnels],  # (as many users as entries here)
        users=20,
        users_with_events=20,
    )
    config = RunConfig("events.csv", "flows.csv", "lookup.csv", 20, "out", 1, 0)
    shown = render(RunResult(config, product, stats, [("config/run.json", 10)]))
    assert len(shown.splitlines()) < 120
    top = sorted(range(len(names)), key=lambda i: -by_event[i])[:20]
    for i in top:
        assert re.search(rf"\bE{i}\s+{by_event[i]}\s", shown), i
    rest = sum(by_event) - sum(by_event[i] for i in top)
    share = percent(rest, sum(by_event))
    happened = sum(1 for count in by_event if count)
    assert re.search(rf"… {happened - 20:,} more events\s+{rest:,}\s+{re.escape(share)}", shown)
    assert f"no events of {len(names) - happened:,} other kinds" in shown
    assert re.search(rf"All events\s+{sum(by_event):,}\s+100.0%", shown)
    assert "flow 8 " in shown and "flow 9 " not in shown and "… 49,990 more flows" in shown
    assert re.search(r"…\s+4,988 more steps", shown)  # of the long flow: 11 shown, then the last
    assert re.search(r"5000\s+E4999\s+101\s+99.0%", shown)


def test_a_chunk_of_more_than_1000_files_shows_its_last_file_last(run_examples: Any) -> None:
    from generator.layout import events_name

    result, _ = run_examples(users=5)
    names = [events_name("events/part-00000", n, "json", 1100) for n in range(1100)]
    result.files = [(name, 10) for name in reversed(names)]
    shown = render(result)
    assert "events/part-00000-0000.json … part-00000-1099.json (1,100 files)" in shown


def test_words_follow_their_numbers_and_no_share_that_happened_shows_as_zero() -> None:
    assert [plural(n, "event") for n in (0, 1, 2, 1000)] == [
        "0 events", "1 event", "2 events", "1,000 events"
    ]  # fmt: skip
    assert (plural(1, "retry"), plural(2, "retry"), plural(1, "batch"), plural(3, "batch")) == (
        "1 retry", "2 retries", "1 batch", "3 batches"
    )  # fmt: skip
    assert plural(2, "day") == "2 days" and plural(1, "more event") == "1 more event"
    assert percent(67, 175_590) == "<0.1%" and percent(0, 10) == "0.0%"
    assert percent(175_523, 175_590) == ">99.9%" and percent(5, 5) == "100.0%"
    assert percent(1, 3) == "33.3%" and percent(1, 0) == "–"


def test_a_continue_of_a_few_events_shows_only_what_happened(
    run_examples: Any, tmp_path: Any
) -> None:
    """A continue of an hour wrote one event: its summary was 19 event rows and 23 funnel rows
    at 0.  Now: the events that happened, a line for the kinds that did not, no funnel of a flow
    nobody entered, and words in their number (``Wrote 1 event``)."""
    from generator.walker import WalkStats

    result, _ = run_examples(users=5)
    names = result.product.events.events
    stats = WalkStats.for_product(result.product)
    stats.users, stats.events = 5, 1
    stats.by_event[names.index("Browse Menu")] = 1
    result.stats = stats
    shown = render(result)
    assert "Wrote 1 event for 5 users into" in shown
    assert "Users 5 created, 0 with events" in shown
    result.continue_number = 1  # a continue walks the run's users on: none is created
    shown = render(result)
    assert "Users 5 in the run, 0 with events" in shown and "created" not in shown
    assert re.search(r"Browse Menu\s+1\s+100.0%", shown)
    assert f"no events of {len(names) - 1} other kinds" in shown
    assert "App Open" not in shown and "Funnels: no flow was entered" in shown
    # One flow entered: its funnel, whole (a step nobody reached is part of it), and a count of
    # the others.
    flows = result.product.flows.flows
    stats.funnels[0][0] = stats.funnel_users[0][0] = 1
    shown = render(result, width=140)
    assert flows[0].name in shown and flows[1].name not in shown
    assert re.search(rf"2\s+{re.escape(flows[0].steps[1])}\s+0\s+0.0%", shown)
    assert re.search(rf"{len(flows[0].steps)}\s+{re.escape(flows[0].steps[-1])}\s+0\s+–", shown)
    assert f"{len(flows) - 1} flows nobody entered, not shown" in shown
    # A share that is not zero never reads 0.0%.
    stats.events = 100_000
    stats.by_event[names.index("App Open")] = 99_999
    assert re.search(r"Browse Menu\s+1\s+<0.1%", render(result))


def test_the_progress_of_a_continue_counts_the_users_it_walks_on() -> None:
    """It started at ``0/0 users``: the total is known from the run's record before the core's
    first report (and when it is not, only the users done are shown)."""
    for total, first in ((300, "0/300 users"), (None, "0 users")):
        console = Console(file=io.StringIO(), width=140, force_terminal=True, color_system=None)
        with progress_shown(console, total, get_time=lambda: 0.0) as show:
            console.file.write("|")
            show(ProgressUpdate(1, 300, 1))
        screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", console.file.getvalue())  # type: ignore[attr-defined]
        before = screen.split("|")[0]
        assert first in before and "0/0" not in before, before
        assert "1/300 users" in screen and "1 event " in screen


def test_an_action_is_announced_once_it_is_checked_and_replacing_only_what_is_there(
    tmp_path: Any, capsys: Any
) -> None:
    """``--force`` into a new folder said "(replacing the run there)"; ``--continue`` of a folder
    with no run said "Continuing the run in ..." before "nothing to continue"; ``--send`` of a run
    in another format said "Sending ..." before refusing it."""
    from tests.helpers import END, EXAMPLE_FILES

    out = os.path.join(tmp_path, "newf")
    flags = [*EXAMPLE_FILES, "--users", "3", "--output", out, "--seed", "1", "--end", END]
    flags += ["--workers", "1", "--force"]
    assert main(flags) == 0
    said = capsys.readouterr().out
    assert "Generating 3 users into" in said and "replacing" not in said
    assert main(flags) == 0
    assert f"into {out} (replacing the run there): seed 1" in capsys.readouterr().out
    os.remove(os.path.join(out, "config", "run.json"))
    assert main(flags) == 0
    assert "(replacing the remains of an incomplete run there)" in capsys.readouterr().out

    for folder, words in (
        (os.path.join(tmp_path, "nowhere"), "holds no finished run to continue"),
        (os.path.join(tmp_path, "remains"), "holds the remains of an incomplete run"),
    ):
        if folder.endswith("remains"):
            os.makedirs(os.path.join(folder, "events"))
        assert main(["--continue", "--output", folder]) == 2
        captured = capsys.readouterr()
        assert (
            captured.out == "" and f"error: nothing to continue: {folder} {words}" in captured.err
        )

    assert main(["--send", "amplitude", "--output", out, "--api-key", "k" * 20]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "was made in the 'json' format" in captured.err
