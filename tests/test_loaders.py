"""Loading real Sheets exports, and refusing broken ones with file, row and column."""

from __future__ import annotations

import os

import pytest

from event_generator import main
from generator import InputError, load_product
from generator.loaders import parse_events, parse_flows, parse_lookup
from tests.helpers import FIXTURES, example


def write(tmp_path: os.PathLike[str], name: str, data: bytes) -> str:
    path = os.path.join(os.fspath(tmp_path), name)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def test_a_messy_but_real_export_loads(tmp_path: os.PathLike[str]) -> None:
    events = write(
        tmp_path,
        "events.csv",
        "\ufeff Shard Keys ,EVENTS, Platform ,price,note,,\r\n"
        'userId ,Sign Up,ios,4.99,"a, b",,\r\n'
        ' deviceId,Add To Cart, android ,12,"two\r\nlines",,\r\n'
        "session id,Käse kaufen,,,,,\r\n"
        ",,,,,,\r\n"
        ",,,,,,\r\n".encode(),
    )
    flows = write(
        tmp_path,
        "flows.csv",
        b"\xef\xbb\xbfFlow,Step 1,Step 2,,\r\nbuy, Sign Up ,Add To Cart,,\r\n,,,,\r\n",
    )
    lookup = write(tmp_path, "lookup.csv", b"shardkeys,age\r\nuserId,18-24\r\n,25-34\r\n")
    product = load_product(events, flows, lookup)
    spec = product.events
    assert spec.primary_key == "userId"
    assert spec.session_key == "session id"  # the user's spelling; never a second session field
    assert spec.secondary_keys == ("deviceId",)
    assert spec.events == ("Sign Up", "Add To Cart", "Käse kaufen")
    assert [(p.name, p.values) for p in spec.properties] == [
        ("Platform", ("ios", "android")),
        ("price", ("4.99", "12")),
        ("note", ("a, b", "two\r\nlines")),
    ]
    assert product.flows.flows[0].steps == ("Sign Up", "Add To Cart")
    assert [a.name for a in product.lookup.attributes] == ["age"]  # shardkeys column ignored
    assert product.warnings == ()


def test_utf16_export_with_bom_loads() -> None:
    text = "shardkeys,event\nuserId,Login\n".encode("utf-16")
    from generator.csvtext import decode

    assert decode(text, "e.csv").startswith("shardkeys")


def test_a_lookup_table_without_attributes_is_a_warning_not_an_error(
    tmp_path: os.PathLike[str],
) -> None:
    lookup = write(tmp_path, "lookup.csv", b"shardkeys\nuserId\n")
    product = load_product(example("events.csv"), example("flows.csv"), lookup)
    assert product.lookup.attributes == ()
    assert len(product.warnings) == 1 and "no attributes" in product.warnings[0]


def test_duplicate_event_names_warn_once_and_keep_the_first() -> None:
    warnings: list[str] = []
    spec = parse_events("shardkeys,event\nuserId,Login\n,Buy\n,Login\n", "e.csv", warnings)
    assert spec.events == ("Login", "Buy")
    assert warnings == [
        "e.csv, row 4, column 2: event 'Login' is listed twice (first at row 2); "
        "the second is ignored"
    ]


@pytest.mark.parametrize("cell", ["$9.99", "9,99", "1,000", "10%", "€ 5", "5+", "4.2.0"])
def test_a_column_of_numbers_with_a_formatted_one_is_a_warning(cell: str) -> None:
    """Sheets exports a currency cell as "$9.99": beside 59.99 the field would be a string on
    some events and a number on others.  Said, with the column and both values, not refused."""
    warnings: list[str] = []
    text = f'shardkeys,event,price\nuserId,Buy,59.99\n,Sell,"{cell}"\n'
    spec = parse_events(text, "e.csv", warnings)
    assert spec.properties[0].values == ("59.99", cell)
    assert warnings == [
        f"e.csv, column 3: property 'price' has numbers ('59.99') and text that looks like one "
        f"('{cell}'): the field is written with both types (a JSON number and a string); write "
        f"every value as a plain number (9.99) if it is one"
    ]


@pytest.mark.parametrize(
    "cells", [("59.99", "9.99"), ("$9.99", "$59.99"), ("3", "none"), ("18-24", "65+")]
)
def test_a_column_of_one_type_is_not_a_warning(cells: tuple[str, str]) -> None:
    warnings: list[str] = []
    parse_events(f"shardkeys,event,v\nuserId,Buy,{cells[0]}\n,Sell,{cells[1]}\n", "e.csv", warnings)
    lookup_warnings: list[str] = []
    events = parse_events("shardkeys,event\nuserId,Buy\n", "e.csv")
    parse_lookup(f"v\n{cells[0]}\n{cells[1]}\n", "l.csv", events, lookup_warnings)
    assert warnings == [] and lookup_warnings == []


def test_a_lookup_attribute_of_numbers_and_formatted_ones_is_a_warning() -> None:
    warnings: list[str] = []
    events = parse_events("shardkeys,event\nuserId,Buy\n", "e.csv")
    parse_lookup("household_size\n1\n2\n5+\n", "l.csv", events, warnings)
    assert len(warnings) == 1 and "attribute 'household_size' has numbers ('1')" in warnings[0]


def test_property_named_like_a_shard_key_is_refused() -> None:
    with pytest.raises(InputError, match="same name as the field 'userId'"):
        parse_events("shardkeys,event,userid\nuserId,Login,x\n", "e.csv")


def test_unknown_step_suggests_the_closest_event() -> None:
    events = parse_events("shardkeys,event\nuserId,Add To Cart\n,Login\n", "e.csv")
    with pytest.raises(InputError) as caught:
        parse_flows("flow,s1,s2\nbuy,Login,Add to cart\n", "f.csv", events)
    assert str(caught.value) == (
        "f.csv, row 2, column 3: unknown event 'Add to cart' in flow 'buy' "
        "(did you mean 'Add To Cart'?); every step must be an event of e.csv"
    )


def test_lookup_values_by_column() -> None:
    events = parse_events("shardkeys,event\nuserId,Login\n", "e.csv")
    lookup = parse_lookup("tier,age\ngold,1\nsilver\n", "dir/my lookup.csv", events)
    assert lookup.name == "my lookup"
    assert [(a.name, a.values) for a in lookup.attributes] == [
        ("tier", ("gold", "silver")),
        ("age", ("1",)),
    ]


GOOD = {
    "events": example("events.csv"),
    "flows": example("flows.csv"),
    "lookup": example("lookup_table.csv"),
}

# (fixture file, which input it replaces, words the message must hold, row, column)
REFUSALS = [
    ("events_empty.csv", "events", "file is empty", None, None),
    ("events_xlsx.csv", "events", "not CSV text", None, None),
    ("events_binary.csv", "events", "binary file, not CSV text", None, None),
    ("events_not_utf8.csv", "events", "not UTF-8 text", 3, None),
    ("events_open_quote.csv", "events", "quote", None, None),
    ("events_no_shardkeys.csv", "events", "no 'shardkeys' column", 1, None),
    ("events_no_event_column.csv", "events", "no 'event' column", 1, None),
    ("events_no_primary_key.csv", "events", "no primary shard key", 2, 1),
    ("events_property_without_values.csv", "events", "'plan' has a header but no values", 1, 4),
    ("events_value_under_blank_header.csv", "events", "under a blank header", 3, 3),
    ("events_duplicate_shard_key.csv", "events", "'DeviceID' is listed twice", 4, 1),
    ("flows_no_flows.csv", "flows", "no flows", 2, None),
    ("flows_flow_without_steps.csv", "flows", "'lonely' has no steps", 3, 2),
    ("flows_unknown_step.csv", "flows", "did you mean 'Add To Cart'?", 2, 4),
    ("flows_duplicate_name.csv", "flows", "'Browse' is defined twice", 3, 1),
    ("flows_unnamed_flow.csv", "flows", "no name", 2, 1),
    ("lookup_attribute_without_values.csv", "lookup", "'tier' has a header but no values", 1, 2),
    (
        "lookup_attribute_named_like_primary_key.csv",
        "lookup",
        "name of the primary shard key",
        1,
        2,
    ),
]


def _where(row: int | None, column: int | None) -> str:
    parts = [f"row {row}"] if row is not None else []
    if column is not None:
        parts.append(f"column {column}")
    return ", ".join(parts)


@pytest.mark.parametrize(
    ("fixture", "role", "words", "row", "column"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_broken_input_is_refused_with_one_message_and_status_2(
    fixture: str,
    role: str,
    words: str,
    row: int | None,
    column: int | None,
    tmp_path: os.PathLike[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = dict(GOOD)
    paths[role] = os.path.join(FIXTURES, "bad", fixture)
    out = os.path.join(os.fspath(tmp_path), "out")
    status = main(
        [
            "--events",
            paths["events"],
            "--flows",
            paths["flows"],
            "--lookup",
            paths["lookup"],
            "--users",
            "5",
            "--output",
            out,
            "--seed",
            "1",
            "--end",
            "2026-11-29",
        ]
    )
    captured = capsys.readouterr()
    assert status == 2
    message = captured.err.strip()
    assert message.count("\n") == 0, "one message, no traceback"
    assert message.startswith(f"error: {paths[role]}")
    assert words in message
    where = _where(row, column)
    if where:
        assert where in message
    assert not os.path.exists(out), "nothing is written before all three files load"


def test_missing_file_and_folder_given_as_file(
    tmp_path: os.PathLike[str], capsys: pytest.CaptureFixture[str]
) -> None:
    for bad, words in (
        (os.path.join(os.fspath(tmp_path), "nope.csv"), "file not found"),
        (os.fspath(tmp_path), "is a folder"),
    ):
        status = main(
            [
                "--events",
                bad,
                "--flows",
                GOOD["flows"],
                "--lookup",
                GOOD["lookup"],
                "--users",
                "5",
                "--output",
                os.path.join(os.fspath(tmp_path), "out"),
                "--seed",
                "1",
            ]
        )
        assert status == 2
        assert words in capsys.readouterr().err
