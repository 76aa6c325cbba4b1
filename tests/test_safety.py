"""What a run writes is safe: only inside the output folder, never through a symbolic link, never
over someone else's work; CSV cells a spreadsheet would run are neutralised; any value round-trips
exactly through the JSON."""

from __future__ import annotations

import csv
import io
import os
import tempfile

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import example as hypothesis_example
from hypothesis import strategies as st

from generator import OutputExistsError, RunConfig, UsageError, generate
from generator.csvtext import normalise_header
from generator.layout import STAGING
from generator.output import FolderState, inspect
from generator.writers import safe_cell
from tests.helpers import (
    FIXTURES,
    examples_config,
    read_events,
    read_json,
    tree_bytes,
    typed_value,
)


def config(
    folder: str, replace: bool = False, lookup: str | None = None, users: int = 5
) -> RunConfig:
    extra = {"lookup_path": lookup} if lookup else {}
    return examples_config(folder, users, 5, replace=replace, **extra)


def make_outside(base: str) -> tuple[str, dict[str, bytes]]:
    """A folder of someone else's work, outside the output folder, with its bytes."""
    outside = os.path.join(base, "outside")
    os.makedirs(os.path.join(outside, "sub"))
    for name in ("run.json", "sub/keep.txt", "part-00000-000.json"):
        with open(os.path.join(outside, name), "w") as handle:
            handle.write(f"precious {name}")
    return outside, tree_bytes(outside)


def test_an_output_folder_that_is_a_symlink_is_refused(tmp_path: os.PathLike[str]) -> None:
    base = os.fspath(tmp_path)
    outside, before = make_outside(base)
    link = os.path.join(base, "out")
    os.symlink(outside, link)
    for replace in (False, True):
        with pytest.raises(UsageError, match="is a symbolic link"):
            generate(config(link, replace=replace))
        with pytest.raises(UsageError, match="is a symbolic link"):
            generate(config(link + os.sep, replace=replace))
    assert tree_bytes(outside) == before and os.path.islink(link)


@pytest.mark.parametrize("name", ["events", "config", "lookup_table", STAGING])
def test_a_link_named_like_our_folders_is_removed_never_followed(
    name: str, tmp_path: os.PathLike[str]
) -> None:
    base = os.fspath(tmp_path)
    outside, before = make_outside(base)
    out = os.path.join(base, "out")
    os.makedirs(out)
    os.symlink(outside, os.path.join(out, name))
    seen = inspect(out)
    assert seen.state is FolderState.INCOMPLETE and seen.links == (name,)
    with pytest.raises(OutputExistsError, match="incomplete run"):
        generate(config(out))
    generate(config(out, replace=True))
    assert tree_bytes(outside) == before, "the link's target is never touched"
    assert not any(os.path.islink(os.path.join(out, n)) for n in os.listdir(out))
    assert sorted(os.listdir(out)) == ["config", "events", "lookup_table"]
    assert inspect(out).state is FolderState.HOLDS_RUN


def test_a_linked_config_never_makes_a_folder_look_finished(tmp_path: os.PathLike[str]) -> None:
    base = os.fspath(tmp_path)
    finished = os.path.join(base, "finished")
    generate(config(finished))
    out = os.path.join(base, "out")
    os.makedirs(out)
    for name in ("events", "lookup_table", "config"):
        os.symlink(os.path.join(finished, name), os.path.join(out, name))
    assert inspect(out).state is FolderState.INCOMPLETE
    before = tree_bytes(finished)
    generate(config(out, replace=True, users=3))
    assert tree_bytes(finished) == before, "the links' targets are never touched"
    assert not any(os.path.islink(os.path.join(out, n)) for n in os.listdir(out))


@pytest.mark.parametrize(
    ("name", "entry"),
    [
        ("events", "notes.txt"),
        ("events", "sub/"),
        ("lookup_table", "users.xlsx"),
        ("config", "settings.py"),
        ("config", "nested/"),
    ],
)
def test_someone_elses_folder_under_our_name_is_never_touched(
    name: str, entry: str, tmp_path: os.PathLike[str]
) -> None:
    out = os.path.join(os.fspath(tmp_path), "out")
    path = os.path.join(out, name, entry)
    if entry.endswith("/"):
        os.makedirs(path)
    else:
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as handle:
            handle.write("theirs")
    before = tree_bytes(out)
    for replace in (False, True):
        with pytest.raises(OutputExistsError, match="did not write"):
            generate(config(out, replace=replace))
    assert tree_bytes(out) == before and sorted(os.listdir(out)) == [name]


def test_a_file_named_like_our_folders_is_never_touched(tmp_path: os.PathLike[str]) -> None:
    out = os.path.join(os.fspath(tmp_path), "out")
    os.makedirs(out)
    with open(os.path.join(out, "events"), "w") as handle:
        handle.write("theirs")
    with pytest.raises(OutputExistsError, match="a file named 'events'"):
        generate(config(out, replace=True))
    assert tree_bytes(out) == {"events": b"theirs"}


def test_a_run_writes_nothing_outside_its_folder(tmp_path: os.PathLike[str]) -> None:
    base = os.fspath(tmp_path)
    with open(os.path.join(base, "neighbour.txt"), "w") as handle:
        handle.write("next door")
    out = os.path.join(base, "deep", "out")
    generate(config(out))
    generate(config(out, replace=True, users=7))
    everything = sorted(tree_bytes(base))
    assert everything[-1] == "neighbour.txt"
    assert all(p.startswith(os.path.join("deep", "out", "")) for p in everything[:-1])
    assert {p.split(os.sep)[2] for p in everything[:-1]} == {"config", "events", "lookup_table"}


def test_every_formula_cell_in_the_lookup_table_is_neutralised(tmp_path: os.PathLike[str]) -> None:
    out = os.path.join(os.fspath(tmp_path), "out")
    lookup = os.path.join(FIXTURES, "bad", "lookup_ok_formulas.csv")
    generate(config(out, lookup=lookup, users=200))
    with open(os.path.join(out, "lookup_table", "lookup_ok_formulas.csv"), newline="") as handle:
        rows = list(csv.reader(handle))
    cells = {cell for row in rows[1:] for cell in row[1:]}
    assert cells == {"'=1+1", "'+SUM(A1)", "-5", "'@cmd", "'-x", "plain"}
    for cell in (c for row in rows for c in row):
        if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
            assert typed_value(cell) != cell, f"{cell!r} would run as a formula"
    users = read_json(os.path.join(out, "config", "user_id_list.json"))
    assert {u["lookup"]["tier"] for u in users} == {"=1+1", "+SUM(A1)", "-5"}, "JSON keeps values"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1", "+1"),
        ("+1+1", "'+1+1"),
        ("-2.5", "-2.5"),
        ("-", "'-"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\r=1", "'\r=1"),
        ("plain", "plain"),
    ],
)
def test_safe_cell(value: str, written: str) -> None:
    assert safe_cell(value) == written


# -- values round-trip exactly ---------------------------------------------------------------------

# Any unicode (hypothesis excludes lone surrogates, which no file can hold), with the characters
# that break naive writers made frequent.  Cells are stripped on load, so values are too.
VALUE = st.one_of(
    st.text(min_size=1, max_size=12),
    st.lists(
        st.sampled_from(
            ['"', ",", "\n", "\r\n", "\r", "\\", "\x00", "\x07", "\u2028", "é", "🚀", "x"]
        ),
        min_size=1,
        max_size=8,
    ).map("".join),
    st.sampled_from(["4.99", "-5", "007", "1e5", "12345678901234567890", "=1+1", "null", "0"]),
).map(str.strip)


def _unique(values: list[str]) -> bool:
    return all(values) and len({v.casefold() for v in values}) == len(values)


def _csv(columns: list[list[str]]) -> bytes:
    """Columns as a column-list CSV file (header first), written by a real CSV writer."""
    height = max(len(c) for c in columns)
    return _rows([[c[i] if i < len(c) else "" for c in columns] for i in range(height)])


def _rows(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# A lone carriage return once broke the lookup table's CSV (this test found it).
@hypothesis_example(
    events=["a\rb", 'say "hi"'],
    prop_name="x\ry",
    prop_values=["l1\nl2", "\x07bell", "12345678901234567890"],
    attr_name="\\\r\\",
    attr_value="=cmd\r|x",
)
@given(
    events=st.lists(VALUE, min_size=1, max_size=4),
    # A property's name: any text but brackets, which end a header with its items (headers.py).
    prop_name=VALUE.filter(lambda name: "[" not in name and "]" not in name),
    prop_values=st.lists(VALUE, min_size=1, max_size=3),
    # A one-column lookup file whose header holds ';' or a tab reads as a file separated by them
    # (refused, csvtext.parse_rows): that is the one lookup header a sheet cannot have.
    attr_name=VALUE.filter(lambda name: ";" not in name and "\t" not in name),
    attr_value=VALUE,
)
def test_any_value_round_trips_exactly_through_the_json(
    events: list[str], prop_name: str, prop_values: list[str], attr_name: str, attr_value: str
) -> None:
    assume(_unique(events) and all(prop_values) and attr_value)
    taken = ["userId", "session_id", "event", "ts", "shardkeys"]
    assume(_unique([*taken, prop_name]) and _unique(["userId", attr_name]))
    assume(normalise_header(prop_name) not in ("shardkeys", "shardkey", "event", "events"))
    assume(normalise_header(prop_name) not in ("eventname", "eventnames"))
    assume(normalise_header(attr_name) not in ("shardkeys", "shardkey"))
    assume("\x00" not in "".join([*events, prop_name, *prop_values, attr_name, attr_value]))
    with tempfile.TemporaryDirectory() as base:
        files = {
            "events.csv": _csv(
                [["shardkeys", "userId"], ["event", *events], [prop_name, *prop_values]]
            ),
            "flows.csv": _rows([["flow", "step 1"], ["everything", *events]]),
            "lookup.csv": _csv([[attr_name, attr_value]]),
        }
        for name, data in files.items():
            with open(os.path.join(base, name), "wb") as handle:
                handle.write(data)
        out = os.path.join(base, "out")
        events_path, flows_path, lookup_path = (
            os.path.join(base, n) for n in ("events.csv", "flows.csv", "lookup.csv")
        )
        generate(
            examples_config(
                out,
                3,
                1,
                days=3,
                events_path=events_path,
                flows_path=flows_path,
                lookup_path=lookup_path,
            )
        )
        emitted = read_events(out)
        assert emitted, "three users over three days do something"
        assert {e["event"] for e in emitted} <= set(events)
        expected = {orjson.dumps(typed_value(v)) for v in prop_values}
        assert {orjson.dumps(e[prop_name]) for e in emitted} <= expected
        assert all(list(e)[-3:] == [prop_name, "event", "ts"] for e in emitted)
        users = read_json(os.path.join(out, "config", "user_id_list.json"))
        assert all(u["lookup"] == {attr_name: attr_value} for u in users)
        table = os.path.join(out, "lookup_table", "lookup.csv")
        with open(table, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == [safe_cell("userId"), safe_cell(attr_name)]
        assert [r[1] for r in rows[1:]] == [safe_cell(attr_value)] * 3
