"""Property headers that say what a property belongs to: ``name [items]`` (SPEC section 1)."""

from __future__ import annotations

import pytest

from generator import InputError
from generator.loaders import parse_events
from generator.spec import EVENT, FLOW, KEY, SESSION, USER

ROWS = [
    ("userId", "App Open", "ios", "US", "Free", "0", "59.94"),
    ("deviceId", "Add To Cart", "android", "GB", "Pro", "9.99", "79.92"),
    ("session_id", "Place Order", "web", "DE", "", "", ""),
]


def sheet(*headers: str) -> str:
    """An events file: shardkeys, event, then one property column per header (5 at most)."""
    lines = [",".join(["shardkeys", "event", *(f'"{h}"' for h in headers)])]
    for row in ROWS:
        lines.append(",".join(row[: 2 + len(headers)]))
    return "\n".join(lines) + "\n"


def test_a_header_says_scope_events_and_partner_and_the_field_keeps_the_bare_name() -> None:
    spec = parse_events(
        sheet(
            "platform [deviceId]",
            "country [user]",
            "plan [user]",
            "plan price [with plan]",
            "box price [Add To Cart, Place Order]",
        ),
        "events.csv",
    )
    got = {c.name: (c.scope, c.key, c.events, c.partner) for c in spec.properties}
    assert got == {
        "platform": (KEY, "deviceId", (), ""),
        "country": (USER, "", (), ""),
        "plan": (USER, "", (), ""),
        "plan price": (USER, "", (), "plan"),  # a with column has its partner's scope
        "box price": (FLOW, "", ("Add To Cart", "Place Order"), ""),
    }


@pytest.mark.parametrize(
    ("header", "scope"),
    [
        ("a", FLOW),
        ("a [SESSION]", SESSION),
        ("a [event]", EVENT),
        ("a [flow, App Open]", FLOW),
        ("a[user]", USER),
        ("a [ DeviceID ]", KEY),
    ],
)
def test_scope_words_and_key_names_are_matched_ignoring_case_and_spaces(
    header: str, scope: str
) -> None:
    assert parse_events(sheet(header), "events.csv").properties[0].scope == scope


REFUSALS = [
    (("a [usr]",), 3, "unknown item 'usr' (did you mean 'user'?)"),
    (("a [device]",), 3, "unknown item 'device' (did you mean 'deviceId'?)"),
    (("a [wiht b]", "b"), 3, "unknown item 'wiht b' (did you mean 'with b'?)"),
    (
        ("a [Add to cart]",),
        3,
        "'Add to cart' is not in the event column (did you mean 'Add To Cart'?)",
    ),
    (("a [Checkout]",), 3, "'Checkout' is not in the event column; an item is user"),
    (("a [user, session]",), 3, "has two scopes (user, session)"),
    (("a [user, deviceId]",), 3, "has two scopes (user, deviceId)"),
    (("a [with b]", "c"), 3, "no property column named 'b' to go 'with'"),
    (("a [with plna]", "plan"), 3, "(did you mean 'plan'?)"),
    (("a [with a]",), 3, "goes 'with' itself"),
    (("a [with b]", "b [with a]"), 3, "go round in a circle (a > b > a)"),
    (("a [session, with b]", "b [user]"), 3, "its scope (session) differs from that of 'b' (user)"),
    (("a [with b]", "b"), None, None),  # same length: accepted
    (("a [user]", "A [session]"), 4, "'A' appears twice (also column 3)"),
    (("a [user]", "a"), 4, "'a' appears twice"),
    (
        ("a [userId]",),
        3,
        "'userId' is not a scope; a property drawn once per user is written [user]",
    ),
    (("a [user",), 3, "is not 'name [item, item, ...]'"),
    (("a [user] b",), 3, "is not 'name [item, item, ...]'"),
    (("[user]",), 3, "is not 'name [item, item, ...]'"),
    (("a []",), 3, "has an empty item"),
    (("a [user,,App Open]",), 3, "has an empty item"),
    (("a [App Open, App Open]",), 3, "lists the event 'App Open' twice"),
    (("event [user]",), 3, "same name as the field 'event'"),
]


@pytest.mark.parametrize(("headers", "column", "words"), REFUSALS)
def test_every_header_mistake_is_refused_with_the_file_the_column_and_the_closest_name(
    headers: tuple[str, ...], column: int | None, words: str | None
) -> None:
    if words is None:
        parse_events(sheet(*headers), "events.csv")
        return
    with pytest.raises(InputError) as refused:
        parse_events(sheet(*headers), "events.csv")
    message = str(refused.value)
    assert message.startswith(f"events.csv, row 1, column {column}: "), message
    assert words in message, message


def test_an_event_missing_from_the_event_column_is_said_so_and_only_events_are_suggested() -> None:
    """The example sheet cut short: a header lists 'View Recipe', which the event column lost.
    It was 'unknown item ... (did you mean 'with recipe_category'?)': a column, for an event."""
    text = (
        'shardkeys,event,recipe_category,"recipe_rating [View Recipe, Add To Cart]"\n'
        "userId,App Open,Quick & Easy,5\n"
        ",Add To Cart,Vegetarian,4\n"
        ",View Recipes,,\n"
    )
    with pytest.raises(InputError) as refused:
        parse_events(text, "events.csv")
    message = str(refused.value)
    assert message.startswith("events.csv, row 1, column 4: header 'recipe_rating [View Recipe,")
    assert "'View Recipe' is not in the event column (did you mean 'View Recipes'?)" in message
    gone = text.replace(",View Recipes,,\n", "")  # nothing like it: no suggestion at all
    with pytest.raises(InputError) as refused:
        parse_events(gone, "events.csv")
    message = str(refused.value)
    assert "'View Recipe' is not in the event column;" in message and "did you mean" not in message


def test_a_with_column_of_another_length_is_refused() -> None:
    text = "shardkeys,event,plan,plan price [with plan]\nuserId,A,Free,0\n,B,Pro,\n"
    with pytest.raises(InputError, match="has 2 values, but it has 1"):
        parse_events(text, "events.csv")


def test_check_shows_each_property_s_scope_events_and_partner(tmp_path: object) -> None:
    import os

    from generator import check_inputs, report_lines

    folder = str(tmp_path)
    paths = {}
    for name, text in (
        (
            "events.csv",
            sheet("platform [deviceId]", "country [user]", "plan [user]", "plan price [with plan]"),
        ),
        ("flows.csv", "flow,step 1\nbuy,Add To Cart\n"),
        ("lookup.csv", "age\n18-24\n"),
    ):
        paths[name] = os.path.join(folder, name)
        with open(paths[name], "w") as handle:
            handle.write(text)
    lines = report_lines(check_inputs(paths["events.csv"], paths["flows.csv"], paths["lookup.csv"]))
    text = "\n".join(lines)
    assert "platform (column 3, 3 values)\n      drawn: one per deviceId value" in text
    assert "plan (column 5, 2 values)\n      drawn: once per user, for life" in text
    assert "drawn: with 'plan' (its row), once per user" in text
    assert text.count("written on: every event") == 4
