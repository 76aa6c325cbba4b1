#!/usr/bin/env python3
"""The model report: every figure of SPEC section 2's table, measured on the generated FILES (the
events read back as an analyst would), next to its target.

    python3 benchmarks/model_figures.py                               # the examples, seeds 1 and 2
    python3 benchmarks/model_figures.py --events E --flows F --lookup L --users 3000 --seeds 1,2,3
    python3 benchmarks/model_figures.py --run OUTPUT_FOLDER            # a run already made (json)

For sheets, each seed is a run of ``--users`` users over ``--days`` days (90) up to a fixed end
time, written to a temporary folder.  Plain Python (no DuckDB needed): a run of 3,000 users
(about 800,000 events) is read in a few seconds.

Definitions (UTC days throughout, as the analytics tools show them by default):

* A user's *signup day* is the day of its first event, for the users who joined in the window
  (``created_time`` in ``config/user_id_list.json`` inside it; with a ``first`` flow that is the day
  of its first step, ``Sign Up`` say).  Day-N retention: the share of those users, over every signup
  day whose day N is complete before the end, who have an event on exactly day N.
* DAU: users with an event that day.  Weekend ratio: mean DAU of Saturdays and Sundays over mean DAU
  of weekdays, over the window's complete days.  First/last week: mean DAU of the window's first 7
  complete days over its last 7.
* Conversion of a flow: in each session, every occurrence of its first step starts a pass that
  advances on its next step and completes on its last (the analytics tools' "totals, this order"
  funnel, here within a session); completions over starts.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from generator import RunConfig, generate  # noqa: E402
from generator.clock import parse_iso  # noqa: E402
from generator.loaders import load_product  # noqa: E402
from generator.spec import FINAL, FIRST, ONCE, Product  # noqa: E402

DAY_MS = 86_400_000
END = "2026-11-29T00:00:00Z"
EXAMPLES = os.path.join(ROOT, "examples")


@dataclass
class Run:
    """A run read back from its files."""

    end_ms: int
    days: int
    product: Product
    users: list[dict[str, Any]]  # config/user_id_list.json
    # per user id: (ms, event, session) in time order
    events: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)

    @property
    def window_start_ms(self) -> int:
        return self.end_ms - self.days * DAY_MS


_DAYS: dict[str, int] = {}


def ts_ms(text: str) -> int:
    """``2026-10-07T16:20:01.085Z`` as epoch ms (the date part cached)."""
    day = _DAYS.get(text[:10])
    if day is None:
        day = _DAYS[text[:10]] = parse_iso(text[:10])
    return day + (
        int(text[11:13]) * 3_600_000
        + int(text[14:16]) * 60_000
        + int(text[17:19]) * 1000
        + int(text[20:23])
    )


def read_run(folder: str) -> Run:
    with open(os.path.join(folder, "config", "run.json"), "rb") as handle:
        record = orjson.loads(handle.read())
    if record.get("format", "json") not in ("json", "jsonl"):
        sys.exit(f"{folder}: the report reads json or jsonl runs, not {record['format']}")
    with open(os.path.join(folder, "config", "user_id_list.json"), "rb") as handle:
        users = orjson.loads(handle.read())
    product = load_product(record["events"], record["flows"], record["lookup"])
    run = Run(parse_iso(record["end"]), int(record["days"]), product, users)
    key, session_key = product.events.primary_key, product.events.session_key
    events: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for path in sorted(glob.glob(os.path.join(folder, "events", "*.json*"))):
        with open(path, "rb") as handle:
            for raw in handle:
                raw = raw.strip().rstrip(b",")
                if raw in (b"[", b"]", b""):
                    continue
                event = orjson.loads(raw)
                events[event[key]].append((ts_ms(event["ts"]), event["event"], event[session_key]))
    for rows in events.values():
        rows.sort(key=lambda row: row[0])
    run.events = dict(events)
    return run


def weekday(day: int) -> int:
    return (day + 3) % 7


def figures(run: Run) -> list[tuple[str, str, str, bool | None]]:
    """(figure, value, target, met) rows; met is None for a figure shown without a target."""
    rows: list[tuple[str, str, str, bool | None]] = []
    end_day = run.end_ms // DAY_MS  # the end's own day is incomplete
    start_day = -(-run.window_start_ms // DAY_MS)  # the first complete day of the window
    days_of = {uid: sorted({ms // DAY_MS for ms, _, _ in rows}) for uid, rows in run.events.items()}

    # -- churn ------------------------------------------------------------------------------------
    churned = [u for u in run.users if u["churned"]]
    kept = [u for u in run.users if not u["churned"]]
    share = len(churned) / len(run.users)
    rows.append(("users churned by the end", f"{share:.1%}", "60% to 80%", 0.6 <= share <= 0.8))
    p_churned = statistics.mean(float(u["user_probability"]) for u in churned) if churned else 0
    p_kept = statistics.mean(float(u["user_probability"]) for u in kept) if kept else 0
    rows.append(
        ("mean p: churned / retained", f"{p_churned:.2f} / {p_kept:.2f}", "churned lower",
         p_churned < p_kept)
    )  # fmt: skip
    before = sum(1 for u in run.users if u.get("before_window"))
    seen = sum(1 for u in run.users if u["id"] in run.events)
    rows.append(("users who joined before the window", f"{before / len(run.users):.1%}", "", None))
    rows.append(("users with events in the files", f"{seen / len(run.users):.1%}", "", None))

    # -- retention by signup day ------------------------------------------------------------------
    joined = [u["id"] for u in run.users if not u.get("before_window") and u["id"] in days_of]
    cohort: dict[int, list[str]] = defaultdict(list)
    for uid in joined:
        cohort[days_of[uid][0]].append(uid)
    curve: list[float] = []
    for n in range(0, 31):
        users = active = 0
        for day, ids in cohort.items():
            if day + n < end_day:
                users += len(ids)
                active += sum(1 for uid in ids if day + n in set(days_of[uid]))
        curve.append(active / users if users else 0.0)
    d1, d7, d30 = curve[1], curve[7], curve[30]
    rows.append(("day-1 retention", f"{d1:.1%}", "20% to 50%", 0.2 <= d1 <= 0.5))
    rows.append(
        ("day-7 retention", f"{d7:.1%}", "8% to 30%, below day 1", 0.08 <= d7 <= 0.3 and d7 < d1)
    )
    rows.append(
        (
            "day-30 retention",
            f"{d30:.1%}",
            "3% to 20%, below day 7",
            0.03 <= d30 <= 0.2 and d30 < d7,
        )
    )
    top = max(curve[2:31])
    rows.append(("highest retention on days 2..30", f"{top:.1%}", "not above day 1", top <= d1))
    one = sum(1 for uid in joined if len(days_of[uid]) == 1) / max(1, len(joined))
    rows.append(("users active on one day only", f"{one:.1%}", "15% to 45%", 0.15 <= one <= 0.45))
    rows.append(
        ("retention curve, days 0..30", " ".join(f"{c * 100:.0f}" for c in curve), "", None)
    )

    # -- activity rhythm --------------------------------------------------------------------------
    dau: Counter[int] = Counter()
    for days in days_of.values():
        dau.update(days)
    window = range(start_day, end_day)
    weekend = [dau[d] for d in window if weekday(d) >= 5]
    weekdays = [dau[d] for d in window if weekday(d) < 5]
    ratio = statistics.mean(weekend) / statistics.mean(weekdays)
    rows.append(("DAU weekends / weekdays", f"{ratio:.2f}", "0.5 to 0.95", 0.5 <= ratio <= 0.95))
    first = statistics.mean(dau[d] for d in range(start_day, start_day + 7))
    last = statistics.mean(dau[d] for d in range(end_day - 7, end_day))
    rows.append(
        (
            "DAU first week / last week",
            f"{first / last:.2f}",
            "0.5 to 1.5",
            0.5 <= first / last <= 1.5,
        )
    )
    recent = [len([d for d in days if d >= end_day - 28]) for days in days_of.values()]
    recent = [n for n in recent if n]
    loyal = sum(1 for n in recent if n >= 16) / max(1, len(recent))
    rows.append(
        (
            "active 16+ of the last 28 days, of their actives",
            f"{loyal:.1%}",
            "at least 3%",
            loyal >= 0.03,
        )
    )

    # -- sessions ---------------------------------------------------------------------------------
    sessions: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for rows_of_user in run.events.values():
        for ms, name, session in rows_of_user:
            sessions[session].append((ms, name))
    crossing = sum(1 for evs in sessions.values() if evs[0][0] // DAY_MS != evs[-1][0] // DAY_MS)
    rows.append(
        (
            "sessions crossing midnight UTC",
            f"{crossing:,} of {len(sessions):,}",
            "many",
            crossing > 0,
        )
    )
    per_user = [len(rows_of_user) for rows_of_user in run.events.values()]
    rows.append(("events per user: median, 90th percentile", f"{statistics.median(per_user):.0f}, "
                 f"{sorted(per_user)[int(0.9 * len(per_user))]:,}", "", None))  # fmt: skip

    # -- flows ------------------------------------------------------------------------------------
    rows.extend(flow_figures(run, sessions))
    return rows


def flow_figures(
    run: Run, sessions: dict[str, list[tuple[int, str]]]
) -> list[tuple[str, str, str, bool | None]]:
    rows: list[tuple[str, str, str, bool | None]] = []
    flows = run.product.flows.flows
    starts: list[int] = [0] * len(flows)
    completions: list[int] = [0] * len(flows)
    openers = {f.steps[0] for f in flows}
    for evs in sessions.values():
        names = [name for _, name in evs]
        for number, flow in enumerate(flows):
            steps = flow.steps
            if steps[0] not in names:
                continue
            position = -1
            for name in names:
                if name == steps[0]:
                    starts[number] += 1
                    position = 1
                elif position > 0 and name == steps[position]:
                    position += 1
                elif name in openers:  # another flow starts: this pass is over
                    position = -1
                if position == len(steps):
                    completions[number] += 1
                    position = -1
    for number, flow in enumerate(flows):
        if flow.conversion is None or len(flow.steps) < 2:
            continue
        measured = completions[number] / starts[number] if starts[number] else 0.0
        target = flow.conversion
        name = f"conversion of {flow.name!r} ({flow.kind})"
        met = abs(measured - target) <= target / 5
        rows.append((name, f"{measured:.1%}", f"{target:.0%} within a fifth", met))
    repeat = [(n, f) for n, f in enumerate(flows) if f.kind not in (FIRST,)]
    shown = ", ".join(f"{f.name} {starts[n]:,}" for n, f in repeat)
    rows.append(("flow starts by row (first step performed)", shown, "falling with rank", None))
    # Lifecycle rules, per user.
    first_steps = {f.steps[0] for f in flows if f.kind == FIRST}
    final_last = {f.steps[-1] for f in flows if f.kind == FINAL}
    once_last = {f.steps[-1] for f in flows if f.kind == ONCE}
    twice = after_final = multi_once = 0
    for rows_of_user in run.events.values():
        counts = Counter(name for _, name, _ in rows_of_user)
        if any(counts[s] > 1 for s in first_steps):
            twice += 1
        if any(counts[s] > 1 for s in once_last):
            multi_once += 1
        for position, (_, name, _) in enumerate(rows_of_user):
            if name in final_last:
                after_final += position < len(rows_of_user) - 1
                break
    if first_steps:
        rows.append(("users with a `first` flow's first step twice", f"{twice}", "0", twice == 0))
    if once_last:
        rows.append(
            ("users with a `once` flow's last step twice", f"{multi_once}", "0", multi_once == 0)
        )
    if final_last:
        rows.append(
            (
                "users with events after a `final` flow's last step",
                f"{after_final}",
                "0",
                after_final == 0,
            )
        )
    return rows


def print_rows(title: str, rows: list[tuple[str, str, str, bool | None]]) -> int:
    print(title)
    width = max(len(r[0]) for r in rows)
    missed = 0
    for name, value, target, met in rows:
        mark = "" if met is None else ("ok" if met else "MISSED")
        missed += met is False
        target_text = f"  (target {target})" if target else ""
        print(f"  {name:<{width}}  {value}{target_text}  {mark}".rstrip())
    return missed


def generated(
    events: str, flows: str, lookup: str, users: int, seed: int, days: int, folder: str
) -> str:
    out = os.path.join(folder, f"seed-{seed}")
    generate(
        RunConfig(events, flows, lookup, users, out, seed, parse_iso(END), days=days, workers=2)
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default=os.path.join(EXAMPLES, "events.csv"))
    parser.add_argument("--flows", default=os.path.join(EXAMPLES, "flows.csv"))
    parser.add_argument("--lookup", default=os.path.join(EXAMPLES, "lookup_table.csv"))
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--run", help="report on this run folder instead of generating")
    args = parser.parse_args()
    missed = 0
    if args.run:
        missed += print_rows(f"run {args.run}", figures(read_run(args.run)))
    else:
        with tempfile.TemporaryDirectory() as folder:
            for seed in (int(s) for s in args.seeds.split(",")):
                out = generated(
                    args.events, args.flows, args.lookup, args.users, seed, args.days, folder
                )
                title = (f"{os.path.basename(args.flows)}: {args.users:,} users, {args.days} days "
                         f"to {END}, seed {seed}")  # fmt: skip
                missed += print_rows(title, figures(read_run(out)))
    print(f"{missed} figure(s) missed" if missed else "every figure met its target")
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
