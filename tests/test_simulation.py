"""The user model and the flow walker, tested as statistics on enough users with fixed seeds."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict

import orjson
import pytest

from generator.clock import DAY_MS, parse_iso
from generator.encoders import FlatJsonEncoder
from generator.params import Params
from generator.users import Population, UserState
from generator.walker import Walker, WalkStats
from tests.helpers import END_MS, simple_product

IDLE_MS = 30 * 60 * 1000


def walk(product, users: int, seed: int = 11, on_break=None, params: Params | None = None):
    """Walk ``users`` users; return (their final states, their parsed events, the stats)."""
    params = params or Params()
    population = Population(product, params, seed, END_MS)
    encoder = FlatJsonEncoder(product.events)
    walker = Walker(product, params, seed, END_MS, encoder, on_break=on_break)
    stats = WalkStats.for_product(product)
    states: list[UserState] = []
    events: list[dict[str, object]] = []
    for index in range(users):
        user = population.create(index)
        lines: list[str] = []
        walker.simulate(user, lines, stats)
        states.append(user)
        events.extend(orjson.loads(line) for line in lines)
    return states, events, stats


@pytest.fixture(scope="module")
def population_2000():
    """2,000 users of a one-step product: the day-level model alone, quick to walk."""
    breaks: list[tuple[float, int]] = []
    states, _events, stats = walk(
        simple_product(flows=(("A",),), events=("A",)),
        2000,
        seed=5,
        on_break=lambda user, days: breaks.append((user.p, days)),
    )
    return states, stats, breaks


def test_about_70_percent_of_users_churn_over_90_days(population_2000) -> None:
    states, stats, _ = population_2000
    share = sum(u.churned for u in states) / len(states)
    assert 0.60 <= share <= 0.80, share
    assert stats.churned == sum(u.churned for u in states)


def test_churned_users_liked_the_product_less(population_2000) -> None:
    states, _, _ = population_2000
    churned = statistics.mean(u.p for u in states if u.churned)
    retained = statistics.mean(u.p for u in states if not u.churned)
    assert churned + 0.05 < retained, (churned, retained)


def test_breaks_last_1_to_30_days_and_longer_for_low_p(population_2000) -> None:
    _, _, breaks = population_2000
    assert len(breaks) > 1000
    assert min(d for _, d in breaks) >= 1 and max(d for _, d in breaks) <= 30
    low = [d for p, d in breaks if p < 0.2]
    high = [d for p, d in breaks if p > 0.8]
    assert statistics.mean(low) > statistics.mean(high) + 10
    assert all(d >= 18 for p, d in breaks if p < 0.1) and all(d <= 6 for p, d in breaks if p > 0.9)


def test_streaks_and_breaks_show_in_the_events() -> None:
    """Active days come in runs of at most 5 consecutive dates, separated by 1 to 30 quiet days."""
    _, events, _ = walk(simple_product(flows=(("A",),), events=("A",)), 300, seed=8)
    days = defaultdict(set)
    for e in events:
        days[e["userId"]].add(parse_iso(str(e["ts"])) // DAY_MS)
    for active in days.values():
        ordered = sorted(active)
        run = 1
        for a, b in zip(ordered, ordered[1:]):
            if b == a + 1:
                run += 1
                assert run <= 5
            else:
                run = 1
                assert 1 <= b - a - 1 <= 30


def test_funnel_step_counts_never_increase() -> None:
    flows = (("A", "B", "C", "D"), ("E", "F", "G"), ("H", "I"))
    product = simple_product(flows=flows, events=tuple("ABCDEFGHI"))
    quiet = Params(background_after_step=0, background_after_failure=0)
    _, events, stats = walk(product, 400, params=quiet)
    by_name = Counter(str(e["event"]) for e in events)
    for steps, funnel in zip(flows, stats.funnels):
        # Each event belongs to one flow here, so the output's counts are the funnel itself, plus
        # the odd background event that opens a session in which every flow failed at once.
        counted = [by_name[s] for s in steps]
        assert all(f <= c <= 1.1 * f for f, c in zip(funnel, counted)), (funnel, counted)
        assert all(a >= b for a, b in zip(counted, counted[1:])), counted
        assert funnel[0] > 0
        assert all(a >= b for a, b in zip(funnel, funnel[1:])), funnel
        assert funnel[-1] < 0.9 * funnel[0], "users drop out along the way"
    first_flow = stats.funnels[0]
    assert first_flow[-1] < 0.6 * first_flow[0]


def test_funnels_count_each_user_once_per_step_they_reached() -> None:
    """A user counts at a step when at least one of their entries of the flow reached it, however
    many times they did (the analytics tools' funnels count users, not entries)."""
    flows = (("A", "B", "C", "D"), ("E", "F", "G"))
    product = simple_product(flows=flows, events=tuple("ABCDEFG"))
    params = Params()
    population = Population(product, params, 4, END_MS)
    walker = Walker(product, params, 4, END_MS, FlatJsonEncoder(product.events))
    total = WalkStats.for_product(product)
    expected = [[0] * len(steps) for steps in flows]
    for index in range(300):
        alone = WalkStats.for_product(product)
        walker.simulate(population.create(index), [], alone)
        for flow, (entries, users) in enumerate(zip(alone.funnels, alone.funnel_users)):
            assert users == [1 if count else 0 for count in entries], (index, flow)
            for step, count in enumerate(entries):
                expected[flow][step] += 1 if count else 0
        total.merge(alone)
    assert total.funnel_users == expected
    for entries, users in zip(total.funnels, total.funnel_users):
        assert all(a >= b for a, b in zip(users, users[1:])), users
        assert all(u < e for u, e in zip(users, entries)), "users come back to a flow"
        assert 0 < users[-1] < users[0] <= 300


def test_good_users_finish_more_flows_than_poor_users() -> None:
    product = simple_product(flows=(("A", "B", "C", "D"),))
    params = Params()
    population = Population(product, params, 3, END_MS)
    walker = Walker(product, params, 3, END_MS, FlatJsonEncoder(product.events))
    completion = {}
    for p in (0.1, 0.5, 0.9):
        stats = WalkStats.for_product(product)
        for index in range(300):
            user = population.create(index)
            user.p = p
            walker.simulate(user, [], stats)
        funnel = stats.funnels[0]
        completion[p] = funnel[-1] / funnel[0]
        expected = params.step_success(p) ** 3
        assert abs(completion[p] - expected) < 0.03, (p, completion[p], expected)
    assert completion[0.1] < 0.1 < 0.5 < completion[0.9]


def test_secondary_keys_change_at_about_20_percent_of_flow_entries() -> None:
    product = simple_product(secondary=("deviceId", "installId"))
    _, _, stats = walk(product, 300)
    assert stats.flow_entries > 20_000
    assert abs(stats.key_renewals / stats.flow_entries - 0.2) < 0.01


def test_secondary_keys_all_change_together() -> None:
    _, events, _ = walk(simple_product(secondary=("deviceId", "installId")), 50)
    pairs = {(e["deviceId"], e["installId"]) for e in events}
    assert len({d for d, _ in pairs}) == len(pairs) == len({i for _, i in pairs})


def test_sessions_follow_the_30_minute_rule_and_the_day() -> None:
    """In a session: no gap over 30 minutes, one UTC date.  Between sessions: over 30 minutes."""
    _, events, _ = walk(simple_product(), 300)
    by_user = defaultdict(list)
    for e in events:
        by_user[e["userId"]].append((parse_iso(str(e["ts"])), e["session_id"]))
    sessions_seen = 0
    for rows in by_user.values():
        for (t1, s1), (t2, s2) in zip(rows, rows[1:]):
            if s1 == s2:
                assert t2 - t1 <= IDLE_MS
                assert t1 // DAY_MS == t2 // DAY_MS
            else:
                sessions_seen += 1
                assert t2 - t1 > IDLE_MS or t1 // DAY_MS != t2 // DAY_MS
        ended: set[object] = set()
        for (_, s1), (_, s2) in zip(rows, rows[1:]):
            if s1 != s2:
                ended.add(s1)
                assert s2 not in ended, "a session never comes back after another one"
    assert sessions_seen > 1000


def test_timestamps_never_go_backwards_and_never_pass_the_end() -> None:
    _, events, _ = walk(simple_product(), 300)
    last: dict[object, int] = {}
    for e in events:
        t = parse_iso(str(e["ts"]))
        assert t < END_MS
        assert t >= last.get(e["userId"], 0)
        last[e["userId"]] = t


def test_users_are_created_across_the_window_and_start_then() -> None:
    params = Params()
    population = Population(simple_product(), params, 2, END_MS)
    created = [population.create(i).created_ms for i in range(4000)]
    window = params.backfill_days * DAY_MS
    assert min(created) >= END_MS - window and max(created) < END_MS
    thirds = Counter(min(2, (END_MS - c) * 3 // window) for c in created)
    assert all(abs(thirds[k] / 4000 - 1 / 3) < 0.04 for k in range(3))
    states, events, _ = walk(simple_product(), 200)
    first: dict[object, int] = {}
    for e in events:
        first.setdefault(e["userId"], parse_iso(str(e["ts"])))
    for user in states:
        if user.user_id in first:
            assert first[user.user_id] >= user.created_ms


def test_weekday_working_hours_are_busier_than_nights_and_weekends() -> None:
    _, events, _ = walk(simple_product(), 400, seed=21)
    by_hour: Counter[int] = Counter()
    by_kind: Counter[str] = Counter()
    for e in events:
        t = parse_iso(str(e["ts"]))
        day = t // DAY_MS
        weekend = (day + 3) % 7 >= 5
        by_kind["weekend" if weekend else "weekday"] += 1
        if not weekend:
            by_hour[(t % DAY_MS) // 3_600_000] += 1
    working = sum(by_hour[h] for h in range(9, 17)) / 8
    night = sum(by_hour[h] for h in range(0, 6)) / 6
    assert working > 4 * night
    per_weekday = by_kind["weekday"] / 5
    per_weekend_day = by_kind["weekend"] / 2
    assert per_weekend_day < 0.85 * per_weekday


def test_properties_are_drawn_by_rank_and_kept_for_the_whole_flow() -> None:
    values = tuple(f"v{i}" for i in range(6))
    product = simple_product(properties=(("plan", values), ("platform", ("ios", "android"))))
    quiet = Params(background_after_step=0, background_after_failure=0)
    _, events, _ = walk(product, 300, params=quiet)
    # Every event of one flow entry shares its values: the first step's values are one draw each.
    firsts = [e for e in events if e["event"] == "A"]
    shares = Counter(e["plan"] for e in firsts)
    expected = [0.40, 0.30, 0.125, 0.125, 0.025, 0.025]
    for value, want in zip(values, expected):
        assert abs(shares[value] / len(firsts) - want) < 0.02, (value, shares[value] / len(firsts))
    ios = sum(e["platform"] == "ios" for e in firsts) / len(firsts)
    assert abs(ios - 0.6) < 0.02
    for e1, e2 in zip(events, events[1:]):
        # Without bursts, a B right after an A in the same session is step 2 of A's flow.
        if e2["event"] == "B" and e1["event"] == "A" and e1["session_id"] == e2["session_id"]:
            assert (e1["plan"], e1["platform"]) == (e2["plan"], e2["platform"])


def test_background_events_are_drawn_by_rank() -> None:
    product = simple_product(flows=(("A",),), events=("A", "B", "C", "D", "E"))
    _, events, _ = walk(product, 300)
    others = Counter(e["event"] for e in events if e["event"] != "A")
    # Background draws follow rank weights 40/30/25/2.5/2.5 over A..E; B, C beat D, E.
    assert others["B"] > others["C"] > 5 * others["D"]
