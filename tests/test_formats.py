"""Output formats: every event of every tool format checked against the tool's documented required
fields, types and limits, and against the flat JSON events of the same run; gzip; rotation."""

from __future__ import annotations

import glob
import gzip
import os
import re
import uuid
from datetime import datetime
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from event_generator import main
from generator import InputError, RunConfig, generate, parse_iso
from generator.formats import FORMATS
from generator.layout import events_name, events_stem, is_ours
from generator.writers import EventFiles
from tests.helpers import (
    END_MS,
    EXAMPLE_FILES,
    SMALL_CHUNKS,
    examples_config,
    read_events,
    simple_product,
    tree_bytes,
    typed_value,
)

USERS = 80
SEED = 21
TOOLS = ("amplitude", "mixpanel", "segment", "posthog")
MIXPANEL_INSERT_ID = re.compile(r"[A-Za-z0-9-]{1,36}")  # Mixpanel: at most 36, letters digits -
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
KEYS = ("userId", "session_id", "event", "ts")


def run(folder: str, **kwargs: Any) -> str:
    users = kwargs.pop("users", USERS)
    seed = kwargs.pop("seed", SEED)
    generate(examples_config(folder, users, seed, days=30, **kwargs))
    return folder


def lines_of(folder: str, pattern: str = "events/*") -> list[dict[str, Any]]:
    return read_events(folder, pattern)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("formats")
    return {fmt: run(str(base / fmt), format=fmt) for fmt in ("json", "jsonl", *TOOLS)}


@pytest.fixture(scope="module")
def reference(runs: dict[str, str]) -> list[dict[str, object]]:
    """The flat JSON events of the same run: what every format must carry, in the same order."""
    return lines_of(runs["json"])


@pytest.fixture(scope="module")
def lookups(runs: dict[str, str]) -> dict[str, dict[str, object]]:
    with open(os.path.join(runs["json"], "config", "user_id_list.json"), "rb") as handle:
        users = orjson.loads(handle.read())
    typed = {}
    for user in users:  # the tools get sheet numbers as numbers, as events do
        traits = {**user["lookup"], **user.get("user_properties", {})}
        typed[user["id"]] = {k: typed_value(v) for k, v in traits.items()}
    return typed


def _props(event: dict[str, object]) -> dict[str, object]:
    """The secondary keys and properties of a flat event (everything but ids, name and time)."""
    return {k: v for k, v in event.items() if k not in KEYS}


def _session_starts(reference: list[dict[str, object]]) -> dict[str, int]:
    starts: dict[str, int] = {}
    for event in reference:
        starts.setdefault(str(event["session_id"]), parse_iso(str(event["ts"])))
    return starts


def _uuid7_ms(text: str) -> int:
    value = uuid.UUID(text)
    assert value.version == 7 and value.variant == uuid.RFC_4122
    return value.int >> 80


def test_every_format_carries_the_same_events(
    runs: dict[str, str], reference: list[dict[str, object]]
) -> None:
    assert len(reference) > 5000
    assert lines_of(runs["jsonl"]) == reference
    for fmt in TOOLS:
        assert len(lines_of(runs[fmt])) == len(reference), fmt
    assert os.listdir(os.path.join(runs["jsonl"], "events")) == ["part-00000-000.jsonl"]


def test_amplitude_events_follow_the_batch_upload_api(
    runs: dict[str, str],
    reference: list[dict[str, object]],
    lookups: dict[str, dict[str, object]],
) -> None:
    starts = _session_starts(reference)
    for got, flat in zip(lines_of(runs["amplitude"]), reference, strict=True):
        assert set(got) == {
            "user_id",
            "event_type",
            "time",
            "session_id",
            "insert_id",
            "event_properties",
            "user_properties",
        }
        user_id, ms = got["user_id"], parse_iso(str(flat["ts"]))
        assert isinstance(user_id, str) and len(user_id) >= 5  # ids under 5 characters are dropped
        assert user_id == flat["userId"] and got["event_type"] == flat["event"]
        assert isinstance(got["time"], int) and got["time"] == ms  # milliseconds since the epoch
        assert got["session_id"] == starts[str(flat["session_id"])] <= ms  # session start, ms
        assert isinstance(got["insert_id"], str) and _uuid7_ms(got["insert_id"]) == ms
        assert got["event_properties"] == _props(flat)
        assert got["user_properties"] == lookups[user_id]


def test_mixpanel_events_follow_the_import_api(
    runs: dict[str, str],
    reference: list[dict[str, object]],
    lookups: dict[str, dict[str, object]],
) -> None:
    for got, flat in zip(lines_of(runs["mixpanel"]), reference, strict=True):
        assert set(got) == {"event", "properties"} and got["event"] == flat["event"]
        props = got["properties"]
        assert isinstance(props, dict)
        assert isinstance(props["time"], int) and props["time"] == parse_iso(str(flat["ts"]))
        assert props["distinct_id"] == flat["userId"]
        insert_id = props["$insert_id"]
        assert isinstance(insert_id, str) and MIXPANEL_INSERT_ID.fullmatch(insert_id)
        assert len(props) < 255  # Mixpanel: fewer than 255 properties per event
        rest = {k: v for k, v in props.items() if k not in ("time", "distinct_id", "$insert_id")}
        assert rest == {"session_id": flat["session_id"], **_props(flat)}
    profiles = lines_of(runs["mixpanel"], "lookup_table/profiles-mixpanel.jsonl")
    assert [p["$distinct_id"] for p in profiles] == list(lookups)
    for profile in profiles:
        assert profile["$set"] == lookups[str(profile["$distinct_id"])]
        assert profile["$ignore_time"] is True


def test_segment_messages_follow_the_tracking_api(
    runs: dict[str, str],
    reference: list[dict[str, object]],
    lookups: dict[str, dict[str, object]],
) -> None:
    folder = runs["segment"]
    for path in glob.glob(os.path.join(folder, "events", "*")):
        with open(path, "rb") as handle:
            assert max(len(line) for line in handle) < 32_000  # Segment: 32 KB per message
    for got, flat in zip(lines_of(folder), reference, strict=True):
        assert set(got) == {"type", "userId", "event", "timestamp", "messageId", "properties"}
        assert got["type"] == "track" and got["userId"] == flat["userId"]
        assert got["event"] == flat["event"]
        stamp = datetime.fromisoformat(str(got["timestamp"]).replace("Z", "+00:00"))
        assert stamp.utcoffset() is not None and got["timestamp"] == flat["ts"]
        assert UUID_TEXT.fullmatch(str(got["messageId"]))
        assert got["properties"] == {"session_id": flat["session_id"], **_props(flat)}
    with open(os.path.join(folder, "config", "user_id_list.json"), "rb") as handle:
        created = {u["id"]: u["created_time"] for u in orjson.loads(handle.read())}
    identify = lines_of(folder, "lookup_table/profiles-segment.jsonl")
    assert [m["userId"] for m in identify] == list(lookups)
    for message in identify:
        assert set(message) == {"type", "userId", "traits", "timestamp", "messageId"}
        assert message["type"] == "identify"
        assert message["traits"] == lookups[str(message["userId"])]
        assert message["timestamp"] == created[message["userId"]]
        assert _uuid7_ms(str(message["messageId"])) == parse_iso(str(message["timestamp"]))


def test_posthog_events_follow_the_capture_api(
    runs: dict[str, str],
    reference: list[dict[str, object]],
    lookups: dict[str, dict[str, object]],
) -> None:
    starts = _session_starts(reference)
    session_uuids: dict[str, str] = {}
    for got, flat in zip(lines_of(runs["posthog"]), reference, strict=True):
        assert set(got) == {"event", "distinct_id", "timestamp", "uuid", "properties"}
        assert got["event"] == flat["event"] and not str(got["event"]).startswith("$")
        assert got["distinct_id"] == flat["userId"] and got["timestamp"] == flat["ts"]
        ms = parse_iso(str(flat["ts"]))
        assert _uuid7_ms(str(got["uuid"])) == ms
        props = got["properties"]
        assert isinstance(props, dict)
        # $session_id: a UUIDv7 whose time is the session's first event, unique to the session.
        session = str(flat["session_id"])
        assert _uuid7_ms(str(props["$session_id"])) == starts[session]
        assert session_uuids.setdefault(session, str(props["$session_id"])) == props["$session_id"]
        assert ms - starts[session] < 24 * 3_600_000
        assert props["$set"] == lookups[str(got["distinct_id"])]
        rest = {k: v for k, v in props.items() if k not in ("$session_id", "$set")}
        assert rest == {"session_id": session, **_props(flat)}
    assert len(set(session_uuids.values())) == len(session_uuids)


def _dedup_ids(fmt: str, folder: str) -> list[str]:
    field = {"amplitude": "insert_id", "segment": "messageId", "posthog": "uuid"}
    if fmt == "mixpanel":
        return [str(e["properties"]["$insert_id"]) for e in lines_of(folder)]
    return [str(e[field[fmt]]) for e in lines_of(folder)]


@pytest.mark.parametrize("fmt", TOOLS)
def test_dedup_ids_are_unique_and_come_from_the_seed(
    fmt: str, runs: dict[str, str], tmp_path: os.PathLike[str]
) -> None:
    ids = _dedup_ids(fmt, runs[fmt])
    assert len(set(ids)) == len(ids)
    again = run(os.path.join(tmp_path, "again"), format=fmt)
    assert (
        tree_bytes(again)["events/part-00000-000.jsonl"]
        == tree_bytes(runs[fmt])["events/part-00000-000.jsonl"]
    ), "the same seed gives the same ids: loading a run twice creates no duplicates"
    other = set(_dedup_ids(fmt, run(os.path.join(tmp_path, "other"), format=fmt, seed=SEED + 1)))
    assert not other & set(ids)


def test_a_property_named_like_a_tool_field_is_refused(tmp_path: os.PathLike[str]) -> None:
    product = simple_product(properties=(("time", ("morning", "evening")),))
    folder = os.path.join(tmp_path, "out")
    config = RunConfig("e", "f", "l", 5, folder, 1, END_MS, format="mixpanel")
    with pytest.raises(InputError, match="'time' is a field mixpanel sets itself"):
        generate(config, product=product)
    assert not os.path.exists(folder)
    generate(RunConfig("e", "f", "l", 5, folder, 1, END_MS, format="amplitude"), product=product)


def test_gzip_compresses_every_events_file_reproducibly(
    runs: dict[str, str], tmp_path: os.PathLike[str]
) -> None:
    first = run(os.path.join(tmp_path, "a"), users=21, gzip=True, chunk_users=SMALL_CHUNKS)
    second = run(os.path.join(tmp_path, "b"), users=21, gzip=True, chunk_users=SMALL_CHUNKS)
    plain = run(os.path.join(tmp_path, "c"), users=21, chunk_users=SMALL_CHUNKS)
    a, b, c = tree_bytes(first), tree_bytes(second), tree_bytes(plain)
    names = sorted(n for n in a if n.startswith("events/"))
    assert names == ["events/part-00000-000.json.gz", "events/part-00001-000.json.gz"]
    assert a == b, "gzip headers hold no time or name: same run, same bytes"
    for name in names:
        assert gzip.decompress(a[name]) == c[name[: -len(".gz")]]
        assert len(a[name]) < len(c[name[: -len(".gz")]]) / 3
    with open(os.path.join(first, "config", "run.json"), "rb") as handle:
        assert orjson.loads(handle.read())["gzip"] is True


@pytest.mark.parametrize(
    ("fmt", "compress"), [("json", False), ("jsonl", True), ("posthog", False)]
)
def test_rotation_keeps_every_file_under_the_limit_and_valid(
    fmt: str, compress: bool, runs: dict[str, str], tmp_path: os.PathLike[str]
) -> None:
    limit = 0.2  # MB
    folder = run(os.path.join(tmp_path, "out"), format=fmt, gzip=compress, max_file_mb=limit)
    paths = sorted(glob.glob(os.path.join(folder, "events", "*")))
    assert len(paths) > 5
    suffix = (".json" if fmt == "json" else ".jsonl") + (".gz" if compress else "")
    assert [os.path.basename(p) for p in paths] == [
        f"part-00000-{n:03d}{suffix}" for n in range(len(paths))
    ]
    for path in paths:
        with open(path, "rb") as handle:
            data = handle.read()
        content = gzip.decompress(data) if compress else data
        assert len(content) <= limit * 1_000_000
        if fmt == "json":
            assert len(orjson.loads(content)) > 0  # each file one complete array
        else:
            assert content.endswith(b"\n") and all(orjson.loads(x) for x in content.splitlines())
    assert lines_of(folder) == lines_of(runs[fmt])


def test_format_flags_on_the_command_line(tmp_path: os.PathLike[str], capsys) -> None:
    base = [
        *EXAMPLE_FILES,
        "--users",
        "5",
        "--seed",
        "3",
        "--end",
        "2026-11-29",
        "--workers",
        "1",
    ]
    folder = os.path.join(tmp_path, "out")
    assert main([*base, "--output", folder, "--format", "nope"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    for size in ("0", "-1", "abc", "nan"):
        assert main([*base, "--output", folder, "--max-file-mb", size]) == 2
        assert "--max-file-mb must be a number of megabytes from 0.001" in capsys.readouterr().err
    assert not os.path.exists(folder)
    args = [*base, "--output", folder, "--format", "amplitude", "--gzip", "--max-file-mb", "1.5"]
    assert main(args) == 0
    assert os.listdir(os.path.join(folder, "events")) == ["part-00000-000.jsonl.gz"]
    with open(os.path.join(folder, "config", "run.json"), "rb") as handle:
        record = orjson.loads(handle.read())
    assert (record["format"], record["gzip"], record["max_file_mb"]) == ("amplitude", True, 1.5)


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 300), max_size=60),
    batch=st.integers(1, 25),
    limit=st.integers(1, 1500),
    array=st.booleans(),
    compress=st.booleans(),
)
def test_rotated_files_hold_every_event_in_order_within_the_limit(
    tmp_path_factory: pytest.TempPathFactory,
    sizes: list[int],
    batch: int,
    limit: int,
    array: bool,
    compress: bool,
) -> None:
    folder = str(tmp_path_factory.mktemp("rotation"))
    events = [f'{{"n":{n},"pad":"{"x" * size}"}}' for n, size in enumerate(sizes)]
    framing = FORMATS["json" if array else "jsonl"].framing
    files = EventFiles(folder, "part-00000", framing, compress, limit)
    for start in range(0, len(events), batch):
        files.write(events[start : start + batch])
    written = files.close()
    assert [name for name, _ in written] == sorted(os.listdir(folder))
    seen: list[object] = []
    for name, size in written:
        with open(os.path.join(folder, name), "rb") as handle:
            data = handle.read()
        assert size == len(data)
        content = gzip.decompress(data) if compress else data
        held = orjson.loads(content) if array else [orjson.loads(x) for x in content.splitlines()]
        assert len(content) <= limit or len(held) <= 1, "only a lone event may pass the limit"
        assert held or len(written) == 1, "no empty file, except for a chunk without events"
        seen.extend(held)
    assert seen == [orjson.loads(e) for e in events]


def test_a_fresh_encoder_writes_any_day_including_the_one_before_1970() -> None:
    """Its "no day yet" mark was once 1969-12-30, a real day: the first line of it failed."""
    from generator.encoders import FlatJsonEncoder
    from generator.users import UserState

    product = simple_product()
    user = UserState(0, "u", 0.5, 0.7, 0, (), [])
    for ms in (-2 * 86_400_000 + 5, -(2**41), 0, 1_764_000_000_000):
        encoder = FlatJsonEncoder(product.events)
        line = encoder.line(encoder.prefix(user, "s", 0, []), 0, ms)
        assert orjson.loads(line)["ts"].endswith("Z")


def test_the_flat_encoder_holds_nothing_per_day(tmp_path: os.PathLike[str]) -> None:
    """Its memory stays the same whatever the sheet's size and the window's length: it once kept
    a fragment per event and per day seen (10,000 events over ten years: 1.9 GB)."""
    import tracemalloc

    from generator.encoders import FlatJsonEncoder
    from generator.users import UserState

    events = tuple(f"Event {i}" for i in range(10_000))
    product = simple_product(flows=((events[0],),), events=events)
    encoder = FlatJsonEncoder(product.events)
    user = UserState(0, "u", 0.5, 0.7, 0, (), [])
    prefix = encoder.prefix(user, "s", 0, [])
    encoder.line(prefix, 0, 0)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for day in range(0, 3660, 3):
        line = encoder.line(prefix, day % len(events), day * 86_400_000 + 1234)
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 200_000, grown  # a few date strings, not 1,220 days x 10,000 fragments
    assert orjson.loads(line)["ts"] == "1980-01-06T00:00:01.234Z"  # day 3,657


def test_a_chunk_of_more_than_1000_files_names_them_so_that_they_sort_in_order(
    tmp_path: os.PathLike[str],
) -> None:
    """Three-digit numbers stop at -999: a chunk that ends with more files is renamed to one
    wider width (-0000 to -1099), so that every reader that sorts names reads them in order."""
    folder = str(tmp_path)
    events = [f'{{"n":{n}}}' for n in range(1100)]
    files = EventFiles(folder, "part-00000", FORMATS["jsonl"].framing, False, 10)
    files.write(events)
    written = files.close()
    names = [name for name, _ in written]
    assert names[0] == "part-00000-0000.jsonl" and names[-1] == "part-00000-1099.jsonl"
    assert names == sorted(os.listdir(folder)) == sorted(names)
    seen: list[object] = []
    for name in names:
        with open(os.path.join(folder, name), "rb") as handle:
            seen.extend(orjson.loads(line) for line in handle.read().splitlines())
    assert seen == [orjson.loads(e) for e in events]
    assert all(is_ours("events", name) for name in names)
    # Fewer files keep the names they always had; more chunks than five digits number, wider.
    assert events_name("part-00000", 7, "json", 1000) == "part-00000-007.json"
    assert events_stem(0, 3, 100_000) == "part-00003"
    assert events_stem(2, 3, 100_001) == "run-002-part-000003"


def test_a_run_whose_chunks_pass_1000_files_is_read_in_order_by_name(
    tmp_path: os.PathLike[str],
) -> None:
    rotated = run(os.path.join(tmp_path, "out"), users=30, format="jsonl", max_file_mb=0.001)
    names = sorted(os.listdir(os.path.join(rotated, "events")))
    assert len(names) > 1000 and names[-1] == f"part-00000-{len(names) - 1:04d}.jsonl"
    whole = run(os.path.join(tmp_path, "whole"), users=30, format="jsonl")
    assert lines_of(rotated) == lines_of(whole), "the sorted names read the events in order"
