"""What a run writes: the three outputs, byte-identical for the same seed, never destroying data."""

from __future__ import annotations

import csv
import json
import os

import orjson
import pytest

from event_generator import main
from generator import OutputError, OutputExistsError, RunConfig, generate
from generator.layout import STAGING
from tests.helpers import (
    END,
    END_MS,
    EXAMPLE_FILES,
    SMALL_CHUNKS,
    example,
    read_events,
    tree_bytes,
)

RECIPE_EVENTS = ("View Recipe", "Add To Cart", "Rate Recipe", "Share Recipe")


def test_a_run_writes_events_users_and_lookup_table(run_examples) -> None:
    result, folder = run_examples(users=120)
    assert sorted(os.listdir(folder)) == ["config", "events", "lookup_table"]
    events = read_events(folder)
    assert len(events) == result.stats.events > 0
    first = events[0]
    assert list(first) == [
        "userId",
        "session_id",
        "deviceId",
        "installId",
        "platform",
        "app_version",
        "plan",
        "plan_price",
        "source",
        *(["recipe_category"] if first["event"] in RECIPE_EVENTS else []),
        *(["order_total"] if first["event"] == "Place Order" else []),
        "event",
        "ts",
    ]
    assert isinstance(first["plan_price"], float), "numbers in the sheet are JSON numbers"
    assert all(isinstance(e["app_version"], str) for e in events[:100])
    assert str(first["ts"]).endswith("Z")

    with open(os.path.join(folder, "config", "user_id_list.json"), "rb") as handle:
        users = orjson.loads(handle.read())
    assert [u["index"] for u in users] == list(range(120))
    for key in (
        "id",
        "user_probability",
        "churned",
        "skip_days_counter",
        "churn_prob_reset_counter",
        "last_event_time",
        "lookup",
    ):
        assert key in users[0]
    assert {e["userId"] for e in events} <= {u["id"] for u in users}

    with open(os.path.join(folder, "lookup_table", "lookup_table.csv"), newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [
        "userId",
        "age_group",
        "gender",
        "acquisition_channel",
        "household_size",
        "diet",
        "country",
    ]
    assert [r[0] for r in rows[1:]] == [u["id"] for u in users]
    assert rows[1][1:] == [users[0]["lookup"][k] for k in rows[0][1:]]

    with open(os.path.join(folder, "config", "run.json")) as handle:
        run = json.load(handle)
    assert run["seed"] == 1 and run["users"] == 120 and run["end"] == "2026-11-29T12:00:00.000Z"


def test_the_same_seed_gives_byte_identical_output(run_examples) -> None:
    _, first = run_examples(users=400, seed=42)
    _, second = run_examples(users=400, seed=42)
    _, other = run_examples(users=400, seed=43)
    a, b, c = tree_bytes(first), tree_bytes(second), tree_bytes(other)
    assert a == b
    assert a.keys() == c.keys()
    assert a["events/part-00000-000.json"] != c["events/part-00000-000.json"]


def test_the_number_of_workers_never_changes_the_output(run_examples) -> None:
    _, one = run_examples(users=45, seed=9, workers=1, chunk_users=SMALL_CHUNKS)
    _, two = run_examples(users=45, seed=9, workers=2, chunk_users=SMALL_CHUNKS)
    assert tree_bytes(one) == tree_bytes(two)
    assert len(os.listdir(os.path.join(one, "events"))) == 3


def test_a_folder_holding_a_run_is_refused_and_left_alone(run_examples, tmp_path) -> None:
    _, folder = run_examples(users=20)
    before = tree_bytes(folder)
    config = RunConfig(
        example("events.csv"),
        example("flows.csv"),
        example("lookup_table.csv"),
        20,
        folder,
        seed=2,
        end_ms=END_MS,
    )
    with pytest.raises(OutputExistsError, match="already holds a previous run"):
        generate(config)
    assert tree_bytes(folder) == before


def test_replace_swaps_the_run_and_keeps_other_files(run_examples) -> None:
    _, folder = run_examples(users=20)
    with open(os.path.join(folder, "notes.txt"), "w") as handle:
        handle.write("mine")
    config = RunConfig(
        example("events.csv"),
        example("flows.csv"),
        example("lookup_table.csv"),
        30,
        folder,
        seed=2,
        end_ms=END_MS,
        replace=True,
    )
    generate(config)
    with open(os.path.join(folder, "config", "user_id_list.json"), "rb") as handle:
        assert len(orjson.loads(handle.read())) == 30
    with open(os.path.join(folder, "notes.txt")) as handle:
        assert handle.read() == "mine"
    assert not os.path.exists(os.path.join(folder, STAGING))


def test_a_failed_run_leaves_the_previous_run_untouched(run_examples, monkeypatch) -> None:
    _, folder = run_examples(users=20)
    before = tree_bytes(folder)
    from generator import runner

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner, "_assemble", broken)
    config = RunConfig(
        example("events.csv"),
        example("flows.csv"),
        example("lookup_table.csv"),
        20,
        folder,
        seed=3,
        end_ms=END_MS,
        replace=True,
    )
    with pytest.raises(OutputError, match="the disk is full"):
        generate(config)
    assert tree_bytes(folder) == before


def test_command_line_exit_statuses(tmp_path, capsys) -> None:
    out = os.path.join(os.fspath(tmp_path), "out")
    flags = [
        *EXAMPLE_FILES,
        "--output",
        out,
        "--seed",
        "4",
        "--end",
        END,
    ]
    assert main([*flags, "--users", "15"]) == 0
    assert "Wrote" in capsys.readouterr().out
    assert main([*flags, "--users", "15"]) == 2  # the folder now holds a run
    assert "already holds" in capsys.readouterr().err
    assert main([*flags, "--users", "15", "--force"]) == 0
    capsys.readouterr()
    for bad in (
        ["--users", "0"],
        ["--users", "ten"],
        ["--users", "5", "--days", "-3"],
        ["--users", "5", "--end", "yesterday"],
        ["--users", "5", "--bogus"],
    ):
        assert main([*flags, "--force", *bad]) == 2, bad
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err


def test_no_event_is_after_the_end_time(run_examples) -> None:
    _, folder = run_examples(users=200)
    events = read_events(folder)
    assert max(str(e["ts"]) for e in events) < "2026-11-29T12:00:00.000Z"


def test_a_window_before_1970_is_generated_like_any_other(tmp_path) -> None:
    from generator import RunConfig, generate
    from generator.clock import parse_iso

    folder = os.path.join(os.fspath(tmp_path), "sixties")
    config = RunConfig(
        example("events.csv"),
        example("flows.csv"),
        example("lookup_table.csv"),
        40,
        folder,
        seed=1,
        end_ms=parse_iso("1960-01-01"),
    )
    result = generate(config)
    events = read_events(folder)
    assert len(events) == result.stats.events > 1000
    assert all("1959-10-0" <= str(e["ts"]) < "1960-01-01" for e in events)
