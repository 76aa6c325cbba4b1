"""What each event carries (SPEC sections 1 and 2, second edition), read back from generated files:
every scope held, presence only on the listed events, `with` pairs from one row, a few devices per
user, keys that never change inside a session, and the rank shares by user, device or session."""

from __future__ import annotations

import os
import statistics
from collections import Counter, defaultdict
from typing import Any

import pytest

from generator.loaders import load_product
from generator.properties import PropertyPlan
from generator.ranks import rank_weights
from generator.spec import KEY
from generator.streams import keyed_word, keyed_words
from tests.helpers import ROOT, SMALL_CHUNKS, read_events, read_json, run_examples

USERS = 400
RECIPE_EVENTS = {"View Recipe", "Add To Cart", "Rate Recipe", "Share Recipe"}


@pytest.fixture(scope="module")
def examples_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], str]:
    """The bundled examples use every kind of header: [deviceId], [user], with, [session], a
    list of events, and the default (a flow entry)."""
    folder = str(tmp_path_factory.mktemp("properties") / "run")
    run_examples(folder, USERS, seed=17, days=60, chunk_users=SMALL_CHUNKS * 5)
    return read_events(folder), folder


def by(events: list[dict[str, Any]], key: str, field: str) -> dict[Any, set[Any]]:
    seen: dict[Any, set[Any]] = defaultdict(set)
    for event in events:
        if field in event:
            seen[event[key]].add(event[field])
    return seen


def test_a_user_property_is_one_value_for_life(examples_run: Any) -> None:
    events, folder = examples_run
    plans = by(events, "userId", "plan")
    assert len(plans) > 0.9 * USERS and all(len(v) == 1 for v in plans.values())
    # ...and it is also what the saved state says (for reference), user by user.
    saved = {u["id"]: u["user_properties"]["plan"] for u in read_json(
        os.path.join(folder, "config", "user_id_list.json"))}  # fmt: skip
    assert all(saved[user] == next(iter(v)) for user, v in plans.items())


def test_a_device_property_is_one_value_per_device(examples_run: Any) -> None:
    events, _ = examples_run
    for field in ("platform", "app_version"):
        per_device = by(events, "deviceId", field)
        assert all(len(v) == 1 for v in per_device.values()), field
    assert len(by(events, "deviceId", "platform")) > len(by(events, "userId", "platform"))


def test_a_session_property_is_one_value_per_session(examples_run: Any) -> None:
    events, _ = examples_run
    per_session = by(events, "session_id", "source")
    assert all(len(v) == 1 for v in per_session.values())
    per_user = by(events, "userId", "source")
    assert statistics.mean(len(v) for v in per_user.values()) > 1.5, "drawn again per session"


def test_a_with_column_always_takes_its_partner_s_row(examples_run: Any) -> None:
    events, _ = examples_run
    rows = {("Two-Person", 59.94), ("Family", 79.92), ("Single", 39.96)}
    pairs = {(e["plan"], e["plan_price"]) for e in events}
    assert pairs <= rows and len(pairs) == 3


def test_a_property_listing_events_is_written_on_those_only(examples_run: Any) -> None:
    events, _ = examples_run
    carried = Counter(e["event"] for e in events if "recipe_category" in e)
    assert set(carried) == RECIPE_EVENTS
    assert all(("recipe_category" in e) == (e["event"] in RECIPE_EVENTS) for e in events)
    assert {e["event"] for e in events if "order_total" in e} == {"Place Order"}
    assert all("order_total" in e for e in events if e["event"] == "Place Order")


def test_shares_are_ranked_per_user_per_device_and_per_session(examples_run: Any) -> None:
    """Rank shares hold over the things the property belongs to, not over events."""
    events, _ = examples_run
    checks = (
        ("userId", "plan", ["Two-Person", "Family", "Single"], 0.06),
        ("deviceId", "platform", ["ios", "android", "web"], 0.05),
        ("session_id", "source", ["direct", "push notification", "email", "ad"], 0.02),
    )
    for owner, field, values, tolerance in checks:
        owned = by(events, owner, field)
        counts = Counter(next(iter(v)) for v in owned.values())
        shares = [counts[value] / len(owned) for value in values]
        for share, expected in zip(shares, rank_weights(len(values))):
            assert share == pytest.approx(expected, abs=tolerance), (field, shares)


def test_a_user_has_a_few_devices_and_keys_never_change_inside_a_session(
    examples_run: Any,
) -> None:
    events, _ = examples_run
    assert all(len(v) == 1 for v in by(events, "session_id", "deviceId").values())
    assert all(len(v) == 1 for v in by(events, "session_id", "installId").values())
    devices = [len(v) for v in by(events, "userId", "deviceId").values()]
    one_or_two = sum(n <= 2 for n in devices) / len(devices)
    assert one_or_two > 0.6, Counter(devices)
    assert max(devices) <= 8 and statistics.quantiles(devices, n=10)[-1] <= 5


def test_keys_change_at_about_a_fifth_of_sessions(examples_run: Any) -> None:
    """r > 0.8 at a session's start changes the device: about 20% of one session to the next."""
    events, _ = examples_run
    sessions: dict[str, list[str]] = defaultdict(list)  # user -> device of each session, in order
    seen: set[str] = set()
    for event in events:  # a user's events are in time order
        if event["session_id"] not in seen:
            seen.add(event["session_id"])
            sessions[event["userId"]].append(event["deviceId"])
    pairs = [(a, b) for devices in sessions.values() for a, b in zip(devices, devices[1:])]
    changed = sum(a != b for a, b in pairs) / len(pairs)
    assert len(pairs) > 3000 and changed == pytest.approx(0.2, abs=0.03), changed


def test_an_event_property_is_drawn_for_every_event(tmp_path: Any) -> None:
    """[event] draws a value per event; [flow] keeps one for every event of a flow entry."""
    from generator import generate
    from tests.helpers import examples_config

    base = str(tmp_path)
    sheets = {
        "events.csv": "shardkeys,event,mood [event],cart [flow]\nuserId,A,calm,small\n"
        ",B,busy,large\n,C,,\n,D,,\n",
        "flows.csv": "flow,s1,s2,s3,s4\nbuy,A,B,C,D\n",
        "lookup.csv": "tier\ngold\n",
    }
    for name, text in sheets.items():
        with open(os.path.join(base, name), "w") as handle:
            handle.write(text)
    out = os.path.join(base, "out")
    config = examples_config(out, 200, 3, days=20, events_path=os.path.join(base, "events.csv"),
                             flows_path=os.path.join(base, "flows.csv"),
                             lookup_path=os.path.join(base, "lookup.csv"))  # fmt: skip
    generate(config)
    events = read_events(out)
    # A flow entry begins at its first step, A (nothing else can start one here).
    entries: list[list[dict[str, Any]]] = []
    for event in events:
        if (
            event["event"] == "A"
            or not entries
            or entries[-1][0]["session_id"] != event["session_id"]
        ):
            entries.append([])
        entries[-1].append(event)
    long = [e for e in entries if len(e) >= 3]
    assert len(long) > 200
    assert all(len({e["cart"] for e in entry}) == 1 for entry in long), "one per flow entry"
    varied = sum(len({e["mood"] for e in entry}) > 1 for entry in long) / len(long)
    assert varied > 0.5, "a value per event varies inside a flow entry"
    moods = Counter(e["mood"] for e in events)
    assert moods["calm"] / len(events) == pytest.approx(0.6, abs=0.02)


def test_key_bound_values_in_bulk_are_the_ones_made_one_at_a_time() -> None:
    """The batch engine's ``key_values`` (the hashed text's start hashed once, values by rank in
    an array) gives each device what ``key_value`` gives it alone."""
    names = ("events.csv", "flows.csv", "lookup_table.csv")
    product = load_product(*(os.path.join(ROOT, "examples", name) for name in names))
    plan = PropertyPlan(product.events, 11)
    keys = [f"device-{n}" for n in range(300)] + ["", "é ü", "a:b"]
    assert plan.drawn[KEY], "examples/ has a key-bound column"
    for column in plan.drawn[KEY]:
        assert plan.key_values(column, keys).tolist() == [plan.key_value(column, k) for k in keys]
    assert keyed_words(3, "x", keys) == [keyed_word(3, "x", k) for k in keys]
