"""The run record and the saved users, damaged: every bad value is refused with its file and its
field (exit status 2), the folder is left as it was, and a replay is held to the flags' bounds."""

from __future__ import annotations

import os
import re
from typing import Any

import orjson
import pytest

from event_generator import main
from tests.helpers import example, read_json, run_examples, tree_bytes

LATER = "2026-12-02T00:00:00Z"


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = str(tmp_path_factory.mktemp("records") / "run")
    run_examples(folder, users=4, seed=3, days=10)
    return folder


def _damaged_copy(finished: str, target: str, file: str, change: Any) -> str:
    import shutil

    shutil.copytree(finished, target)
    path = os.path.join(target, "config", file)
    if callable(change):
        with open(path, "rb") as handle:
            data = handle.read()
        with open(path, "wb") as handle:
            handle.write(change(data))
    return target


def _set(field: str, value: Any) -> Any:
    """Set ``field`` of run.json to the JSON text ``value`` (so NaN and 1e308 stay as written)."""

    def change(data: bytes) -> bytes:
        record = orjson.loads(data)
        record[field] = "@@"
        return orjson.dumps(record).replace(b'"@@"', value.encode())

    return change


def _set_user(field: str, value: str, user: int = 1) -> Any:
    """Set ``field`` of one saved user to the JSON text ``value``."""

    def change(data: bytes) -> bytes:
        lines = data.split(b"\n")
        entry = orjson.loads(lines[1 + user].rstrip(b","))
        entry[field] = "@@"
        comma = b"," if lines[1 + user].endswith(b",") else b""
        lines[1 + user] = orjson.dumps(entry).replace(b'"@@"', value.encode()) + comma
        return b"\n".join(lines)

    return change


RUN_DAMAGE = [
    ("users", '"many"', "field 'users' is \"many\""),
    ("users", "1e308", "field 'users' is 1e+308"),
    ("users", "1000000000000", "at most" if False else "from 1 to 100,000,000"),
    ("seed", "-1", "field 'seed' is -1"),
    ("end", '"yesterday"', "field 'end' is \"yesterday\""),
    ("days", "0", "field 'days' is 0"),
    ("format", '"csv"', "field 'format'"),
    ("max_file_mb", "1e303", "field 'max_file_mb'"),
    ("events_written", "1e30", "field 'events_written'"),
    ("continued", '[{"run": 1}]', "continue 1: field 'from' is missing"),
    ("digests", '{"events": "sha256:1"}', "digests: field 'flows' is missing"),
    ("digests", '{"events": "md5:1", "flows": "x", "lookup": "y"}', "field 'events' is \"md5:1\""),
]


@pytest.mark.parametrize(("field", "value", "words"), RUN_DAMAGE)
def test_a_damaged_run_record_is_refused_by_continue_and_replay(
    finished: str,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
    field: str,
    value: str,
    words: str,
) -> None:
    folder = _damaged_copy(finished, os.path.join(tmp_path, "out"), "run.json", _set(field, value))
    before = tree_bytes(folder)
    assert main(["--continue", "--output", folder, "--end", LATER, "--allow-future"]) == 2
    err = capsys.readouterr().err
    assert "config/run.json" in err and words in err and err.count("\n") == 1, err
    assert tree_bytes(folder) == before
    again = os.path.join(tmp_path, "again")
    assert main(["--replay", folder, "--output", again]) == 2
    err = capsys.readouterr().err
    assert "config/run.json" in err and words in err, err
    assert not os.path.exists(again)


USER_DAMAGE = [
    ("user_probability", "1e308", "user 1: field 'user_probability' is 1e+308"),
    ("user_probability", '"high"', "user 1: field 'user_probability'"),
    ("skip_days_counter", "1e30", "user 1: field 'skip_days_counter' is 1e+30"),
    ("skip_days_counter", "1000000000000000000000000000000", "field 'skip_days_counter'"),
    ("next_day", '"1901-01-01"', "user 1: field 'next_day' is \"1901-01-01\""),
    ("created_time", '"2031-01-01T00:00:00Z"', "user 1: field 'created_time'"),
    ("index", "7", "user 1: field 'index' is 7"),
    ("lookup", '{"diet": "none"}', "user 1: field 'lookup' names 'diet'"),
    ("churned", '"no"', "user 1: field 'churned'"),
]


@pytest.mark.parametrize(("field", "value", "words"), USER_DAMAGE)
def test_a_damaged_saved_user_is_refused_before_anything_is_written(
    finished: str,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
    field: str,
    value: str,
    words: str,
) -> None:
    folder = os.path.join(tmp_path, "out")
    _damaged_copy(finished, folder, "user_id_list.json", _set_user(field, value))
    before = tree_bytes(folder)
    assert main(["--continue", "--output", folder, "--end", LATER, "--allow-future"]) == 2
    err = capsys.readouterr().err
    assert "config/user_id_list.json" in err and words in err and err.count("\n") == 1, err
    assert tree_bytes(folder) == before


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"[\n]\n", "holds 0 users, but the run record says 4"),
        (b'[\n{"index": 0}\n', "field 'id' is missing"),
        (b"", "not a list of users"),
        (b"[\nNaN\n]\n", "not a user entry (not JSON)"),
    ],
)
def test_a_damaged_list_of_users_is_refused(
    finished: str, tmp_path: Any, capsys: pytest.CaptureFixture[str], content: bytes, words: str
) -> None:
    folder = os.path.join(tmp_path, "out")
    _damaged_copy(finished, folder, "user_id_list.json", lambda data: content)
    assert main(["--continue", "--output", folder, "--end", LATER, "--allow-future"]) == 2
    err = capsys.readouterr().err
    assert "user_id_list.json" in err and words in err, err


def test_a_replay_is_held_to_the_bounds_of_the_flags(
    finished: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    record = read_json(os.path.join(finished, "config", "run.json"))
    record["users"] = 1_000_000_000_000
    path = os.path.join(tmp_path, "run.json")
    with open(path, "wb") as handle:
        handle.write(orjson.dumps(record))
    assert main(["--replay", path, "--output", os.path.join(tmp_path, "o")]) == 2
    assert re.search(
        r"field 'users' is 1000000000000; it must be a whole number from 1 to",
        capsys.readouterr().err,
    )


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_replay_file_that_is_not_a_file_is_refused_without_reading_it(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], special: str
) -> None:
    path = special
    if special == "fifo":
        path = os.path.join(tmp_path, "fifo")
        os.mkfifo(path)
    assert main(["--replay", path, "--output", os.path.join(tmp_path, "o")]) == 2
    assert "not a file: it is not read" in capsys.readouterr().err


def test_the_examples_exist_where_an_installed_copy_looks_for_them() -> None:
    from frontend.values import example_path

    for name in ("events.csv", "flows.csv", "lookup_table.csv"):
        assert os.path.samefile(example_path(name), example(name))
