"""The corpus of broken inputs: each file in ``tests/fixtures/bad/``, a bad value for every flag.

Each case either loads correctly (``*_ok_*`` files) or is refused with one message that names the
file (and row and column where there is one), exit status 2, no traceback and nothing written.
``tests/test_loaders.py`` holds the first refusals of the core; the cases here extend them.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any

import pytest

from event_generator import main
from generator import load_product
from tests.helpers import FIXTURES, example

BAD = os.path.join(FIXTURES, "bad")
GOOD = {
    "events": example("events.csv"),
    "flows": example("flows.csv"),
    "lookup": example("lookup_table.csv"),
}
APP_OPEN_FLOWS = os.path.join(BAD, "flows_ok_app_open_only.csv")  # for events files of their own


def bad(name: str) -> str:
    return os.path.join(BAD, name)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def file_flags(paths: dict[str, str]) -> list[str]:
    return ["--events", paths["events"], "--flows", paths["flows"], "--lookup", paths["lookup"]]


def run_flags(paths: dict[str, str], out: str) -> list[str]:
    return [
        *file_flags(paths),
        "--users",
        "3",
        "--output",
        out,
        "--seed",
        "1",
        "--end",
        "2026-11-29",
    ]


def assert_one_message(status: int, err: str, start: str, words: str) -> None:
    assert status == 2, err
    message = err.strip()
    assert "Traceback" not in message
    assert message.count("\n") == 0, f"one message, no traceback: {message}"
    assert message.startswith(start), message
    if words.startswith("re:"):  # where the front and the core may each say it first
        assert re.search(words[3:], message), message
    else:
        assert words in message, message


# (fixture, which input it replaces, words the message must hold, "row R, column C" or "")
REFUSED = [
    ("events_utf16_no_bom.csv", "events", "UTF-16 text without a byte-order mark", ""),
    ("events_pdf.csv", "events", "a PDF document, not CSV text", ""),
    ("events_gzip.csv", "events", "a gzip file, not CSV text", ""),
    ("events_xls.csv", "events", "an .xls spreadsheet, not CSV text", ""),
    ("events_html.csv", "events", "a web page (HTML/XML), not CSV text", ""),
    ("events_enormous_cell.csv", "events", "cell has 120,000 characters", "row 2, column 3"),
    ("events_enormous_field.csv", "events", "more than 131,072 characters", "row 2"),
    ("events_open_quote_swallows_file.csv", "events", "quote left open", ""),
    ("events_bom_only.csv", "events", "file is empty", ""),
    ("events_whitespace_only.csv", "events", "file is empty", ""),
    ("events_header_only.csv", "events", "no primary shard key", "row 2, column 1"),
    ("events_semicolons.csv", "events", "this file uses ';' between cells, not commas", "row 1"),
    ("events_tabs.csv", "events", "this file uses tabs between cells, not commas", "row 1"),
    ("flows_semicolons.csv", "flows", "uses ';' between cells, not commas; export", "row 1"),
    ("flows_tabs.csv", "flows", "uses tabs between cells, not commas; export", "row 1"),
    ("lookup_semicolons.csv", "lookup", "uses ';' between cells, not commas; export", "row 1"),
    ("lookup_tabs.csv", "lookup", "uses tabs between cells, not commas; export", "row 1"),
    ("lookup_semicolons_decimal_commas.csv", "lookup", "uses ';' between cells", "row 1"),
    ("events_duplicate_property.csv", "events", "'Platform' appears twice", "row 1, column 4"),
    ("events_two_event_columns.csv", "events", "a second 'event' column", "row 1, column 3"),
    ("events_two_shardkeys_columns.csv", "events", "second 'shardkeys' column", "row 1, column 3"),
    ("events_property_named_ts.csv", "events", "same name as the field 'ts'", "row 1, column 3"),
    ("events_shard_key_named_ts.csv", "events", "shard key 'ts' has the name of", "row 4"),
    (
        "events_primary_key_named_event.csv",
        "events",
        "shard key 'Event' has the name of the field 'event'",
        "row 2, column 1",
    ),
    ("events_session_as_primary.csv", "events", "'session_id' is the session id", "row 2"),
    ("events_two_session_keys.csv", "events", "'sessionId' is listed twice", "row 4, column 1"),
    ("events_no_event_names.csv", "events", "has no event names", "row 2, column 2"),
    ("flows_empty.csv", "flows", "file is empty", ""),
    ("flows_step_case_typo.csv", "flows", "did you mean 'Browse Menu'?", "row 2, column 3"),
    ("flows_step_spelling_typo.csv", "flows", "did you mean 'Browse Menu'?", "row 2, column 3"),
    ("flows_step_unknown_no_suggestion.csv", "flows", "unknown event 'Teleport To Mars'", "row 2"),
    ("flows_duplicate_name_other_case.csv", "flows", "'browse' is defined twice", "row 3"),
    ("flows_xlsx.csv", "flows", "spreadsheet (a ZIP file), not CSV text", ""),
    ("flows_open_quote.csv", "flows", "quote that is never closed", ""),
    ("flows_only_names.csv", "flows", "'buying' has no steps", "row 2, column 2"),
    ("lookup_empty.csv", "lookup", "file is empty", ""),
    ("lookup_duplicate_attribute.csv", "lookup", "'Age' appears twice", "row 1, column 3"),
    ("lookup_value_under_blank_header.csv", "lookup", "under a blank header", "row 2, column 2"),
    ("lookup_binary.csv", "lookup", "binary file, not CSV text", ""),
    ("lookup_utf16_nul.csv", "lookup", "a NUL character (U+0000) at line 3", "row 3"),
    ("events_utf16_be_nul.csv", "events", "a NUL character (U+0000) at line 3", "row 3"),
    ("lookup_not_utf8.csv", "lookup", "not UTF-8 text (byte 0xe9 at line 2)", "row 2"),
    ("lookup_enormous_cell.csv", "lookup", "quote left open", "row 2"),
]


@pytest.mark.parametrize(
    ("fixture", "role", "words", "where"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_a_broken_file_is_refused_with_one_message_and_nothing_written(
    fixture: str,
    role: str,
    words: str,
    where: str,
    tmp_path: os.PathLike[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = dict(GOOD)
    paths[role] = bad(fixture)
    out = os.path.join(os.fspath(tmp_path), "out")
    status, _, err = run(run_flags(paths, out), capsys)
    assert_one_message(status, err, f"error: {paths[role]}", words)
    assert where in err
    assert not os.path.exists(out), "nothing is written before all three files load"
    # --check refuses it the same way, with the same message.
    assert run(["--check", *file_flags(paths)], capsys) == (2, "", err)


def test_a_messy_real_export_loads_as_written() -> None:
    product = load_product(bad("events_ok_messy.csv"), APP_OPEN_FLOWS, GOOD["lookup"])
    spec = product.events
    assert (spec.primary_key, spec.secondary_keys) == ("userId", ("deviceId",))
    assert spec.events == ("App Open", "Browse\r\nMenu")
    assert [(p.name, p.values) for p in spec.properties] == [("Platform", ("ios", "web, mobile"))]


def test_unicode_quotes_and_control_characters_load_exactly() -> None:
    product = load_product(bad("events_ok_unicode.csv"), APP_OPEN_FLOWS, GOOD["lookup"])
    spec = product.events
    assert spec.primary_key == "ユーザーID"  # control characters inside a value are kept
    assert spec.events == ("App Open", "開く 🚀 عربى", "\x01ct\x1frl")
    assert spec.properties[0].values == ('say "hi"', "e\u0301\u200d", "se\u2028p")


def test_other_exports_that_load() -> None:
    def events_of(name: str) -> tuple[str, ...]:
        return load_product(bad(name), APP_OPEN_FLOWS, GOOD["lookup"]).events.events

    assert events_of("events_ok_utf16_bom.csv") == ("App Open", "Browse Menu")
    assert events_of("events_ok_old_mac_line_ends.csv") == ("App Open", "Browse Menu")
    numbers = load_product(bad("events_ok_numbers_as_text.csv"), APP_OPEN_FLOWS, GOOD["lookup"])
    assert [p.values for p in numbers.events.properties] == [("4.99", "12"), ("02134", "1e5")]
    formulas = load_product(bad("events_ok_formula_values.csv"), APP_OPEN_FLOWS, GOOD["lookup"])
    assert formulas.events.properties[0].values == ('=HYPERLINK("http://x")', "+1", "-5")
    duplicate = load_product(bad("events_ok_duplicate_event.csv"), APP_OPEN_FLOWS, GOOD["lookup"])
    assert duplicate.events.events == ("App Open", "Browse Menu")
    assert len(duplicate.warnings) == 1 and "listed twice" in duplicate.warnings[0]
    ragged = load_product(GOOD["events"], bad("flows_ok_ragged.csv"), GOOD["lookup"])
    assert [(f.name, f.steps) for f in ragged.flows.flows] == [
        ("buying", ("App Open", "Browse Menu")),
        ("browsing", ("View Recipe",)),
    ]
    only_keys = load_product(GOOD["events"], GOOD["flows"], bad("lookup_ok_only_shardkeys.csv"))
    assert only_keys.lookup.attributes == () and "no attributes" in only_keys.warnings[0]


def test_semicolons_and_tabs_inside_the_cells_of_a_comma_separated_file_load() -> None:
    """Only a first row that is one cell, split by ';' or a tab outside quotes, is refused."""
    lookup = load_product(GOOD["events"], GOOD["flows"], bad("lookup_ok_semicolons_in_cells.csv"))
    assert [(a.name, a.values) for a in lookup.lookup.attributes] == [
        ("tags", ("a;b", "c;d", ";x")),
        ("tier", ("gold", "silver")),
    ]
    one = load_product(
        GOOD["events"], GOOD["flows"], bad("lookup_ok_one_quoted_column_with_semicolon.csv")
    )
    assert [(a.name, a.values) for a in one.lookup.attributes] == [
        ("age;group", ("18-24", "25;34"))
    ]
    flows = load_product(
        bad("events_ok_messy.csv"), bad("flows_ok_semicolon_in_name.csv"), GOOD["lookup"]
    )
    assert [(f.name, f.steps) for f in flows.flows.flows] == [("buy; then leave", ("App Open",))]


def _role(name: str) -> str:
    return name.split("_", 1)[0]


@pytest.mark.parametrize("fixture", sorted(os.listdir(BAD)))
def test_every_corpus_file_in_every_place_loads_or_is_refused_cleanly(
    fixture: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files given in the wrong place (a flows file as the lookup table...) are inputs too."""
    for role in ("events", "flows", "lookup"):
        paths = dict(GOOD)
        paths[role] = bad(fixture)
        if _role(fixture) == "events" and role == "events":
            paths["flows"] = APP_OPEN_FLOWS
        status, out, err = run(["--check", *file_flags(paths)], capsys)
        if status == 0:
            assert out.rstrip().endswith("nothing was generated.") and err == ""
            expected_ok = "_ok_" in fixture or role != _role(fixture)
            assert expected_ok, f"{fixture} as {role} should be refused"
        else:
            assert status == 2
            assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
            assert "_ok_" not in fixture or role != _role(fixture), err


# A bad value for every flag: (extra flags, words the message must hold).  The files are good.
FLAG_CASES = [
    (["--users", "0"], "--users must be a whole number"),
    (["--users", "-5"], "--users must be a whole number"),
    (["--users", "ten"], "--users must be a whole number"),
    (["--users", "1.5"], "--users must be a whole number"),
    (["--users", ""], "--users must be a whole number"),
    (["--users"], "expected one argument"),
    (["--seed", "-1"], "--seed must be a whole number"),
    (["--seed", "abc"], "--seed must be a whole number"),
    (["--seed", str(2**64)], "re:seed must be a whole number (from|of)"),
    (["--end", "yesterday"], "--end must be an ISO 8601 date"),
    (["--end", "2026-13-45"], "--end must be an ISO 8601 date"),
    (["--end", "2026-11-29T25:00"], "--end must be an ISO 8601 date"),
    (["--end", ""], "--end must be an ISO 8601 date"),
    (["--end", "0001-01-01"], "must fall between 1900-01-01 and 9999-01-01"),
    (["--end", "2999-12-31"], "is in the future"),
    (["--end", "9999-12-31"], "must fall between 1900-01-01 and 9999-01-01"),
    (["--end", "9999-12-31", "--allow-future"], "must fall between 1900-01-01 and 9999-01-01"),
    # Ends that Python can parse but not turn into a date of the calendar (year 0, year 10000).
    (["--end", "0001-01-01T00:00:00+01:00"], "must fall between 1900-01-01 and 9999-01-01"),
    (
        ["--end", "9999-12-31T23:59:59-23:59", "--allow-future"],
        "must fall between 1900-01-01 and 9999-01-01",
    ),
    (["--days", "0"], "--days must be a whole number"),
    (["--days", "-3"], "--days must be a whole number"),
    (["--days", "many"], "--days must be a whole number"),
    (["--days", "99999999999"], "re:(backfill window|--days) must be (at most|a whole number)"),
    (["--workers", "0"], "--workers must be a whole number"),
    (["--workers", "two"], "--workers must be a whole number"),
    # Numbers that are floats to Python but overflow (or are not numbers) once made bytes.
    (["--max-file-mb", "1e303"], "--max-file-mb must be a number of megabytes from 0.001 to"),
    (["--max-file-mb", "1e308"], "--max-file-mb must be a number of megabytes from 0.001 to"),
    (["--max-file-mb", "1e400"], "--max-file-mb must be a number of megabytes from 0.001 to"),
    (["--max-file-mb", "nan"], "--max-file-mb must be a number of megabytes from 0.001 to"),
    (["--max-file-mb=-inf"], "--max-file-mb must be a number of megabytes from 0.001 to"),
    (["--max-file-mb", "1e-300"], "--max-file-mb must be a number of megabytes from 0.001 to"),
    # Separators out of place are a typo, never read as another number (10,0000 was 100,000).
    *(
        ([flag, text], f"{flag}: {text!r} is not a number as written; ',' or '_' go between groups")
        for flag in ("--users", "--seed", "--days", "--workers", "--max-file-mb")
        for text in ("10,0000", "2,00", "1,0,0", "1_0", "1,000_000", "12,", ",100")
    ),
    (["--max-file-mb", "1,0.5"], "'1,0.5' is not a number as written"),
    (["--force=yes"], "ignored explicit argument"),
    (["--check=1"], "ignored explicit argument"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["stray.csv"], "unrecognized arguments: stray.csv"),
]


@pytest.mark.parametrize(("extra", "words"), FLAG_CASES, ids=[" ".join(c[0]) for c in FLAG_CASES])
def test_a_bad_flag_value_is_refused_with_one_message(
    extra: list[str], words: str, tmp_path: os.PathLike[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = os.path.join(os.fspath(tmp_path), "out")
    status, _, err = run([*run_flags(GOOD, out), *extra], capsys)
    assert_one_message(status, err, "error: ", words)
    assert not os.path.exists(out)


def test_bad_file_flags(tmp_path: os.PathLike[str], capsys: pytest.CaptureFixture[str]) -> None:
    base = os.fspath(tmp_path)
    out = os.path.join(base, "out")
    cases = [
        ("events", os.path.join(base, "missing.csv"), "file not found"),
        ("events", "", "re:no file name given|--events"),
        ("flows", base, "this is a folder, not a CSV file"),
        ("lookup", os.devnull, "this is a device, not a file"),
        ("lookup", "/dev/zero", "this is a device, not a file"),
        ("events", "bad\x00name.csv", "file not found"),
    ]
    for role, value, words in cases:
        paths = dict(GOOD)
        paths[role] = value
        status, _, err = run(run_flags(paths, out), capsys)
        assert_one_message(status, err, "error: ", words)
        assert not os.path.exists(out)
    for flag in ("--events", "--flows", "--lookup"):
        argv = [a for a in file_flags(GOOD) if a not in (flag, GOOD[flag[2:]])]
        status, _, err = run(["--check", *argv], capsys)
        assert_one_message(status, err, "error: ", f"--check needs {flag}")


@pytest.mark.parametrize(
    ("flag", "text", "value"),
    [
        *((flag, text, 1000) for flag in ("--users", "--seed", "--days") for text in
          ("1000", "1,000", "1_000", " 1000 ")),
        ("--users", "1,000,000", 1_000_000),
        ("--users", "12,345,678", 12_345_678),
        ("--seed", "9_223_372_036_854_775_807", 2**63 - 1),
        ("--workers", "2", 2),
        ("--max-file-mb", "1,000.5", 1000.5),
        ("--max-file-mb", "1_000", 1000.0),
        ("--max-file-mb", "0.5", 0.5),
    ],
)  # fmt: skip
def test_numbers_grouped_in_threes_read_as_written(flag: str, text: str, value: float) -> None:
    from frontend.values import parse_flag, size_mb

    name = flag[2:]
    assert (size_mb(text) if name == "max-file-mb" else parse_flag(name, text)) == value


def test_bad_output_folders(tmp_path: os.PathLike[str], capsys: pytest.CaptureFixture[str]) -> None:
    base = os.fspath(tmp_path)
    a_file = os.path.join(base, "a_file")
    with open(a_file, "w") as handle:
        handle.write("mine")
    link = os.path.join(base, "link")
    os.symlink(os.path.join(base, "elsewhere"), link)
    cases = [
        (a_file, "is a file; give a folder"),
        (os.path.join(a_file, "sub"), "cannot create the output folder"),
        ("", "re:the output folder is empty|--output"),
        (link, "is a symbolic link"),
        ("/proc/version/out", "cannot create the output folder"),
    ]
    if os.path.isfile("/proc/version"):  # Linux: /proc takes no new folder, even from root
        cases.append(("/proc/out", "output folder /proc/out cannot be created: /proc takes no"))
    for out, words in cases:
        status, printed, err = run(run_flags(GOOD, out), capsys)
        assert_one_message(status, err, "error: ", words)
        assert printed == "", "refused before the estimate and the announcement"
    if os.path.isfile("/proc/version"):  # --force does not try it either (it was status 1)
        status, printed, err = run([*run_flags(GOOD, "/proc/out"), "--force"], capsys)
        assert_one_message(status, err, "error: ", "/proc/out cannot be created")
        assert printed == ""
    assert not os.path.exists(os.path.join(base, "elsewhere"))
    with open(a_file) as handle:
        assert handle.read() == "mine"


def test_check_shows_what_the_files_hold(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(["--check", *file_flags(GOOD)], capsys)
    assert (status, err) == (0, "")
    assert "primary shard key: userId" in out
    assert "secondary shard keys: deviceId, installId" in out
    assert "app_version (column 4, 6 values)" in out
    assert "'4.2.0'                            40%" in out  # the rank bands of a 6-value column
    assert "'3.9.1'                           2.5%" in out
    assert "'59.94'                            40%  (number)" in out
    assert "row 2: 'weekly order' (conversion 12%): 'App Open' > 'Browse Menu' >" in out
    assert "row 8: 'leave' (final, conversion 20%): 'Contact Support' >" in out
    assert "local time: from lookup attribute 'country'" in out
    assert "(US America/New_York, GB Europe/London, DE Europe/Berlin," in out  # each country's zone
    assert "Lookup table:" in out and "(written as lookup_table/lookup_table.csv)" in out
    assert "Warnings: none" in out


def test_check_report_data(tmp_path: os.PathLike[str]) -> None:
    from generator.check import check_inputs

    report = check_inputs(
        bad("events_ok_duplicate_event.csv"), APP_OPEN_FLOWS, bad("lookup_ok_only_shardkeys.csv")
    )
    assert report.primary_key == "userId" and report.session_key == "session_id"
    assert report.events == ("App Open", "Browse Menu") and report.event_shares == (0.6, 0.4)
    assert report.events_in_no_flow == ("Browse Menu",)
    assert [(f.name, f.steps) for f in report.flows] == [("open", ("App Open",))]
    assert report.attributes == () and len(report.warnings) == 2
    full = check_inputs(GOOD["events"], GOOD["flows"], GOOD["lookup"])
    for column in (*full.properties, *full.attributes):
        assert len(column.shares) == column.count and abs(sum(column.shares) - 1) < 1e-9
        assert list(column.shares) == sorted(column.shares, reverse=True), "ranked by position"
    price = next(p for p in full.properties if p.name == "plan_price")
    assert price.numbers == (True,) * price.count and full.attributes[0].numbers == ()


@pytest.mark.parametrize(
    ("seed", "days", "end", "words"),
    [
        (2**63, 90, "2026-11-29", "the seed must be a whole number from 0 to"),
        (1, 3_661, "2026-11-29", "must be a whole number from 1 to 3,660"),
        (1, 90, "1900-02-01", "must fall between 1900-01-01 and 9999-01-01"),
        (1, 1, "9999-06-01", "must fall between 1900-01-01 and 9999-01-01"),
    ],
)
def test_the_core_refuses_numbers_past_its_bounds(
    seed: int, days: int, end: str, words: str
) -> None:
    """Whatever front gathers them (flags, replay file, prompts), the core checks the bounds."""
    from generator import RunConfig, UsageError
    from generator.clock import parse_iso

    config = RunConfig(
        GOOD["events"], GOOD["flows"], GOOD["lookup"], 5, "out", seed, parse_iso(end), days=days
    )
    with pytest.raises(UsageError, match=re.escape(words)):
        config.check()
    RunConfig(GOOD["events"], GOOD["flows"], GOOD["lookup"], 5, "out", 2**63 - 1, 0).check()


@pytest.mark.parametrize(
    ("flag", "check", "lowest", "highest"),
    [
        ("users", "check_users", 1, "MAX_USERS"),
        ("seed", "check_seed", 0, "MAX_SEED"),
        ("days", "check_days", 1, "MAX_DAYS"),
        ("workers", "check_workers", 1, "MAX_WORKERS"),
    ],
)
def test_every_flag_has_the_core_s_bounds(flag: str, check: str, lowest: int, highest: str) -> None:
    """The front parses a flag within exactly the bounds the core enforces on a run."""
    from frontend.values import NUMBER_FLAGS, parse_flag
    from generator import UsageError, limits

    top = getattr(limits, highest)
    core = getattr(limits, check)
    assert NUMBER_FLAGS[flag] == (lowest, top)
    for value in (lowest, top):
        assert parse_flag(flag, str(value)) == value and core(value) == value
    for value in (lowest - 1, top + 1):
        with pytest.raises(UsageError):
            parse_flag(flag, str(value))
        with pytest.raises(UsageError):
            core(value)


def test_the_file_size_flag_has_the_core_s_bounds() -> None:
    from frontend.values import size_mb
    from generator import UsageError, limits

    top = limits.MAX_FILE_MB
    assert size_mb(str(top)) == top == limits.check_max_file_mb(top)
    for text in (str(top * 1.0001), "0", "-1", "nan", "inf", "1e303", "1e999"):
        with pytest.raises(UsageError):
            size_mb(text)
        with pytest.raises(UsageError):
            limits.check_max_file_mb(float(text))


def test_every_flag_s_bound_reaches_a_run() -> None:
    """A run made through the library with a value the command line refuses is refused too."""
    from generator import RunConfig, UsageError, limits

    config = RunConfig(GOOD["events"], GOOD["flows"], GOOD["lookup"], 5, "out", 1, 0)
    changes: tuple[tuple[str, Any], ...] = (
        ("users", limits.MAX_USERS + 1),
        ("days", limits.MAX_DAYS + 1),
        ("seed", limits.MAX_SEED + 1),
        ("workers", limits.MAX_WORKERS + 1),
        ("max_file_mb", limits.MAX_FILE_MB * 2),
        ("chunk_users", 0),
    )
    for field, value in changes:
        with pytest.raises(UsageError):
            dataclasses.replace(config, **{field: value}).check()
    config.check()


@pytest.mark.parametrize("size", [1e303, 1e308, float("inf"), float("nan"), 0.0, -1.0, 1e-300])
def test_the_core_refuses_a_file_size_limit_past_its_bounds(size: float) -> None:
    """1e303 MB is a float, but as bytes it overflows; NaN passes every `> 0` test."""
    from generator import RunConfig, UsageError

    config = RunConfig(
        GOOD["events"], GOOD["flows"], GOOD["lookup"], 5, "out", 1, 0, max_file_mb=size
    )
    with pytest.raises(
        UsageError,
        match=re.escape("the file size limit must be a number of megabytes from 0.001 to"),
    ):
        config.check()


@pytest.mark.parametrize(
    ("fmt", "key"), [("mixpanel", "time"), ("mixpanel", "distinct_id"), ("posthog", "$set")]
)
def test_a_shard_key_named_like_a_field_the_format_sets_is_refused(
    fmt: str, key: str, tmp_path: os.PathLike[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A secondary key is written beside the properties: a tool field of its name, twice."""
    events = os.path.join(os.fspath(tmp_path), "events.csv")
    with open(events, "w") as handle:
        handle.write(f"shardkeys,event\nuserId,App Open\n{key},Browse Menu\n")
    paths = dict(GOOD, events=events, flows=APP_OPEN_FLOWS)
    out = os.path.join(os.fspath(tmp_path), "out")
    status, _, err = run([*run_flags(paths, out), "--format", fmt], capsys)
    assert_one_message(status, err, f"error: {events}", f"shard key '{key}' is a field {fmt} sets")
    assert not os.path.exists(out)
    status, _, err2 = run(["--check", "--format", fmt, *file_flags(paths)], capsys)
    assert (status, err2) == (2, err)


@pytest.mark.parametrize(("stem", "loads"), [(243, True), (244, False), (249, False)])
def test_a_lookup_file_name_too_long_to_write_back_is_refused_before_the_run(
    stem: int, loads: bool, tmp_path: os.PathLike[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """lookup_table/<stem>.csv is written as <stem>.csv.partial first: 12 bytes more than the
    stem, so a legal 249-character name passed --check and failed after generating."""
    lookup = os.path.join(os.fspath(tmp_path), "l" * stem + ".csv")
    with open(GOOD["lookup"], "rb") as source, open(lookup, "wb") as target:
        target.write(source.read())
    paths = dict(GOOD, lookup=lookup)
    out = os.path.join(os.fspath(tmp_path), "out")
    status, _, err = run(run_flags(paths, out), capsys)
    if loads:
        assert status == 0, err
        assert os.path.isfile(os.path.join(out, "lookup_table", "l" * stem + ".csv"))
        return
    assert_one_message(status, err, f"error: {lookup}", "written as lookup_table/")
    assert f"a name of {stem + 12} bytes while it is written" in err and "rename" in err
    assert not os.path.exists(out)
    assert run(["--check", *file_flags(paths)], capsys) == (2, "", err)


def test_a_lookup_name_is_checked_against_the_output_folder_s_own_limit(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some file systems allow shorter names than 255 bytes (eCryptfs: 143)."""
    from generator import InputError
    from generator import check_lookup_name as check_output_names
    from generator.spec import LookupSpec

    lookup = LookupSpec("/sheets/" + "l" * 140 + ".csv", "l" * 140, ())
    out = os.path.join(os.fspath(tmp_path), "not", "yet", "made")  # its nearest folder decides
    check_output_names(lookup, out)
    asked: list[str] = []

    def pathconf(path: str, name: str) -> int:
        asked.append(path)
        return 143 if name == "PC_NAME_MAX" else os.pathconf(path, name)

    monkeypatch.setattr(os, "pathconf", pathconf)
    with pytest.raises(InputError, match="the file system of the output folder allows 143"):
        check_output_names(lookup, out)
    assert asked == [os.fspath(tmp_path)]
    check_output_names(LookupSpec("l.csv", "l" * 131, ()), out)  # 131 + 12 = 143 bytes


def test_check_names_the_zone_of_each_country_and_counts_the_rest() -> None:
    """zone.tab starts Australia at Lord Howe: --check says so before the data does."""
    from generator.localtime import LocalTimeSource

    countries = tuple(f"C{i}" for i in range(14))
    source = LocalTimeSource(0, "country", "country", ("Z",) * 14, (), countries)
    text = source.describe()
    assert text.startswith("from lookup attribute 'country' (country): 1 zone (C0 Z, C1 Z,")
    assert text.endswith("C11 Z, and 2 more)")
    zones = LocalTimeSource(0, "tz", "timezone", ("Europe/Paris",), (), ("Europe/Paris",))
    assert zones.describe() == "from lookup attribute 'tz' (timezone): 1 zone"
