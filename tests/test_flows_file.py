"""The flows file's second-edition columns (SPEC section 1): `kind` and `conversion`, a file
exported without its header row, and what --check shows of them."""

from __future__ import annotations

import pytest

from generator.check import report_from_product, report_lines
from generator.errors import InputError
from generator.loaders import parse_events, parse_flows, parse_lookup
from generator.localtime import local_time_source, local_time_warnings
from generator.spec import FINAL, FIRST, ONCE, REPEAT, Product

EVENTS = parse_events(
    "shardkeys,event\nuserId,Sign Up\n,Login\n,View Item\n,Add To Cart\n,Purchase\n"
    ",Open Settings\n,Cancel Subscription\n,View Plans\n,Upgrade\n",
    "events.csv",
)
SPEC_EXAMPLE = (
    "flow,kind,conversion,step 1,step 2,step 3,step 4\n"
    "onboarding,first,60%,Sign Up,View Item\n"
    "purchase,,8%,Login,View Item,Add To Cart,Purchase\n"
    "upgrade,once,,View Plans,Upgrade\n"
    "leave,final,25%,Open Settings,Cancel Subscription\n"
)


def flows(text: str, warnings: list[str] | None = None):
    return parse_flows(text, "flows.csv", EVENTS, warnings)


def test_the_spec_example_loads_with_its_kinds_and_conversions() -> None:
    spec = flows(SPEC_EXAMPLE)
    assert [(f.name, f.kind, f.conversion) for f in spec.flows] == [
        ("onboarding", FIRST, 0.6),
        ("purchase", REPEAT, 0.08),
        ("upgrade", ONCE, None),
        ("leave", FINAL, 0.25),
    ]
    assert spec.flows[1].steps == ("Login", "View Item", "Add To Cart", "Purchase")


def test_kind_and_conversion_columns_may_stand_anywhere_in_any_spelling() -> None:
    text = "Flow,Step 1,CONVERSION,Step 2, Kind \nbuy,Login, 12.5 % ,Purchase,ONCE\nsee,View Item\n"
    spec = flows(text)
    assert (spec.flows[0].steps, spec.flows[0].kind, spec.flows[0].conversion) == (
        ("Login", "Purchase"),
        ONCE,
        0.125,
    )
    assert (spec.flows[1].kind, spec.flows[1].conversion) == (REPEAT, None)
    assert flows("flow,kind,s1\nbuy,Repeat,Login\n").flows[0].kind == REPEAT
    assert flows("flow,conversion,s1,s2\nbuy,0.12,Login,Purchase\n").flows[0].conversion == 0.12


def test_an_unknown_kind_is_refused_with_the_closest() -> None:
    with pytest.raises(InputError) as caught:
        flows("flow,kind,s1\nbuy,fnal,Login\n")
    message = str(caught.value)
    assert (
        "row 2, column 2" in message and "'fnal'" in message and "did you mean 'final'" in message
    )


@pytest.mark.parametrize("value", ["0", "0%", "120%", "1.5", "-5%", "many", "nan", "inf"])
def test_a_conversion_outside_0_to_100_percent_is_refused(value: str) -> None:
    with pytest.raises(InputError, match=r"row 2, column 3: conversion"):
        flows(f"flow,kind,conversion,s1,s2\nbuy,,{value},Login,Purchase\n")


def test_a_conversion_written_as_a_whole_percentage_suggests_the_sign() -> None:
    with pytest.raises(InputError, match=r"did you mean 12%\?"):
        flows("flow,conversion,s1,s2\nbuy,12,Login,Purchase\n")
    assert flows("flow,conversion,s1,s2\nbuy,100%,Login,Purchase\n").flows[0].conversion == 1.0


def test_two_kind_columns_are_refused() -> None:
    with pytest.raises(InputError, match="a second 'kind' column"):
        flows("flow,kind,Kind,s1\nbuy,,,Login\n")


def test_a_file_without_its_header_row_keeps_its_first_flow_with_a_warning() -> None:
    warnings: list[str] = []
    spec = flows("buy,Login,View Item,Purchase\nsee,View Item\n", warnings)
    assert [f.name for f in spec.flows] == ["buy", "see"]
    assert spec.flows[0].row == 1
    assert len(warnings) == 1 and "row 1" in warnings[0] and "read as a flow" in warnings[0]
    # A real header (its cells are not all events) is still a header, without a warning.
    warnings.clear()
    assert [f.name for f in flows("flow,step 1\nbuy,Login\n", warnings).flows] == ["buy"]
    assert warnings == []


def test_a_first_edition_file_loads_unchanged() -> None:
    spec = flows("flow,step 1,step 2\nbuy,Login,Purchase\nsign up,Sign Up,Login\n")
    assert all(f.kind == REPEAT and f.conversion is None for f in spec.flows)


def test_sheets_that_will_not_show_what_they_say_are_warned_about() -> None:
    warnings: list[str] = []
    flows(
        "flow,kind,conversion,s1,s2\nbuy,,,Login,Purchase\nonce,once,,Login,Upgrade\n"
        "solo,,50%,View Item\n",
        warnings,
    )
    assert any("'Login', a step of the 'once' flow 'once'" in w for w in warnings)
    assert any("has one step, so its conversion is always 100%" in w for w in warnings)


def test_check_shows_kinds_conversions_and_local_time() -> None:
    lookup = parse_lookup("timezone,tier\nEurope/Paris,a\nMars/Olympus,b\n", "lookup.csv", EVENTS)
    product = Product(EVENTS, flows(SPEC_EXAMPLE), lookup, tuple(local_time_warnings(lookup)))
    text = "\n".join(report_lines(report_from_product(product)))
    assert "row 2: 'onboarding' (first, conversion 60%): 'Sign Up' > 'View Item'" in text
    assert "row 3: 'purchase' (conversion 8%): 'Login' >" in text
    assert "row 4: 'upgrade' (once): 'View Plans' > 'Upgrade'" in text
    assert "row 5: 'leave' (final, conversion 25%)" in text
    assert "'Sign Up'                       never a background event" in text
    assert "local time: from lookup attribute 'timezone' (timezone): 2 zones" in text
    assert "'Mars/Olympus'" in text and "those users live on UTC" in text


def test_countries_and_zones_come_from_the_packages() -> None:
    lookup = parse_lookup(
        "country\nFR\nUnited Kingdom\nUSA\njapan\nSouth Korea\nAtlantis\n", "lookup.csv", EVENTS
    )
    source = local_time_source(lookup)
    assert source.zones == (
        "Europe/Paris",
        "Europe/London",
        "America/New_York",
        "Asia/Tokyo",
        "Asia/Seoul",
        "UTC",
    )
    assert source.unknown == ("Atlantis",)
    assert local_time_source(parse_lookup("tier\na\n", "l.csv", EVENTS)).attribute is None
