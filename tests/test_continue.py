"""Continuing a run (--continue): the same events and states as one longer run, new users in
proportion to the time that passed, and a folder that is never left broken."""

from __future__ import annotations

import os
import shutil
from collections import defaultdict

import orjson
import pytest

from event_generator import main
from generator import OutputError, RunConfig, UsageError, generate
from generator import output as output_module
from generator import runner as runner_module
from generator.clock import iso, parse_iso
from generator.continuation import NEW_USERS_PERIOD_DAYS, NEW_USERS_SHARE
from generator.formats import encoder_for
from generator.loaders import load_product
from generator.params import DAY_MS, Params
from generator.users import Population, UserState, flow_names
from generator.walker import Walker, WalkStats
from tests.conftest import example, tree_bytes

SEED = 11
T1 = "2026-11-20T13:37:00Z"  # mid-day: most active users have their last day cut


def examples_product():  # type: ignore[no-untyped-def]
    return load_product(example("events.csv"), example("flows.csv"), example("lookup_table.csv"))


def first_run(folder: str, users: int = 60, end: str = T1, **kwargs: object) -> None:
    generate(
        RunConfig(
            events_path=example("events.csv"),
            flows_path=example("flows.csv"),
            lookup_path=example("lookup_table.csv"),
            users=users,
            output_dir=folder,
            seed=SEED,
            end_ms=parse_iso(end),
            workers=1,
            **kwargs,  # type: ignore[arg-type]
        )
    )


def continue_run(folder: str, end: str, **kwargs: object) -> runner_module.RunResult:
    return generate(
        RunConfig("", "", "", 0, folder, -1, parse_iso(end), continue_run=True, **kwargs)  # type: ignore[arg-type]
    )


def one_long_run(users: int, first_end: str, last_end: str, fmt: str = "json"):  # type: ignore[no-untyped-def]
    """Users created as a run to ``first_end`` creates them, walked in one go to ``last_end``."""
    product = examples_product()
    params = Params()
    population = Population(product, params, SEED, parse_iso(first_end))
    walker = Walker(product, params, SEED, parse_iso(last_end), encoder_for(fmt, product, SEED))
    lines: dict[str, list[str]] = {}
    states = []
    for index in range(users):
        user = population.create(index)
        out: list[str] = []
        walker.simulate(user, out, WalkStats.for_product(product))
        lines[user.user_id] = out
        states.append(user)
    return product, lines, states


def events_by_user(folder: str) -> dict[str, list[dict[str, object]]]:
    """Every event of a json-format run, grouped by user, in file name order."""
    grouped: dict[str, list[dict[str, object]]] = defaultdict(list)
    for name in sorted(os.listdir(os.path.join(folder, "events"))):
        with open(os.path.join(folder, "events", name), "rb") as handle:
            for event in orjson.loads(handle.read()):
                grouped[str(event["userId"])].append(event)
    return grouped


def saved_users(folder: str) -> list[dict[str, object]]:
    with open(os.path.join(folder, "config", "user_id_list.json"), "rb") as handle:
        users: list[dict[str, object]] = orjson.loads(handle.read())
    return users


@pytest.mark.parametrize("fmt", ["json", "posthog"])
@pytest.mark.parametrize("cut", [T1, "2026-11-21T00:00:00Z"])
def test_a_walk_cut_and_continued_equals_one_walk(fmt: str, cut: str) -> None:
    """Walker level, through the saved JSON state: T1 then T2 gives the same lines and states."""
    last = "2026-12-09T08:00:00Z"
    product, whole, whole_states = one_long_run(300, cut, last, fmt)
    params = Params()
    population = Population(product, params, SEED, parse_iso(cut))
    names = (
        tuple(a.name for a in product.lookup.attributes),
        product.events.secondary_keys,
        flow_names(product),
    )
    early = Walker(product, params, SEED, parse_iso(cut), encoder_for(fmt, product, SEED))
    late = Walker(product, params, SEED, parse_iso(last), encoder_for(fmt, product, SEED))
    resumed = 0
    for index in range(300):
        user = population.create(index)
        before: list[str] = []
        early.simulate(user, before, WalkStats.for_product(product))
        entry = orjson.loads(orjson.dumps(user.to_json(*names)))
        resumed += "resume" in entry
        again = UserState.from_json(entry, *names)
        after: list[str] = []
        late.simulate(again, after, WalkStats.for_product(product), parse_iso(cut) - 1)
        assert before + after == whole[user.user_id]
        assert again.to_json(*names) == whole_states[index].to_json(*names)
    if cut == T1:
        assert resumed > 10, "the test must cover users whose day the end time cut"


def test_daily_continues_give_the_events_and_states_of_one_long_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = os.path.join(tmp_path, "out")
    first_run(folder, users=60)
    ends = [T1]
    for day in range(1, 6):  # five daily continues, at a different hour each day
        ends.append(iso(parse_iso(T1) + day * DAY_MS + day * 3_600_000))
        continue_run(folder, ends[-1])
    ends.append(iso(parse_iso(ends[-1]) + 2 * 3_600_000))  # and one later the same day
    continue_run(folder, ends[-1])
    _, whole, states = one_long_run(60, T1, ends[-1])
    got = events_by_user(folder)
    for user_id, lines in whole.items():
        assert got.get(user_id, []) == [orjson.loads(line) for line in lines]
    saved = saved_users(folder)
    product = examples_product()
    names = (
        tuple(a.name for a in product.lookup.attributes),
        product.events.secondary_keys,
        flow_names(product),
    )
    assert saved[:60] == [orjson.loads(orjson.dumps(s.to_json(*names))) for s in states]
    with open(os.path.join(folder, "config", "run.json"), "rb") as handle:
        run = orjson.loads(handle.read())
    assert run["end"] == ends[-1] and [c["run"] for c in run["continued"]] == [1, 2, 3, 4, 5, 6]
    assert run["events_written"] == sum(len(v) for v in got.values())
    names_on_disk = sorted(os.listdir(os.path.join(folder, "events")))
    assert names_on_disk == ["part-00000-000.json"] + [
        f"run-{n:03d}-part-00000-000.json" for n in range(1, 7)
    ]


def test_new_users_arrive_in_proportion_to_the_time_passed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = os.path.join(tmp_path, "out")
    first_run(folder, users=300)
    middle = iso(parse_iso(T1) + 10 * DAY_MS)
    last = iso(parse_iso(T1) + 45 * DAY_MS)
    continue_run(folder, middle)
    continue_run(folder, last)
    users = saved_users(folder)
    per_period = 300 * NEW_USERS_SHARE
    expected_first = int(per_period * 10 / NEW_USERS_PERIOD_DAYS)  # 10
    expected_total = int(per_period * 45 / NEW_USERS_PERIOD_DAYS)  # 45, fractions carried over
    assert len(users) == 300 + expected_total
    assert [u["index"] for u in users] == list(range(len(users)))
    created = [parse_iso(str(u["created_time"])) for u in users]
    assert all(parse_iso(T1) <= c < parse_iso(middle) for c in created[300 : 300 + expected_first])
    assert all(parse_iso(middle) <= c < parse_iso(last) for c in created[300 + expected_first :])
    with open(os.path.join(folder, "lookup_table", "lookup_table.csv"), "rb") as handle:
        rows = handle.read().decode().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == [u["id"] for u in users]
    new_ids = {u["id"] for u in users[300:]}
    events = events_by_user(folder)
    assert sum(1 for user_id in new_ids if events.get(str(user_id))) >= expected_total // 2
    for user in users[300:]:
        for event in events.get(str(user["id"]), []):
            assert parse_iso(str(event["ts"])) >= parse_iso(str(user["created_time"]))


def test_a_continue_with_no_time_passed_changes_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = os.path.join(tmp_path, "out")
    first_run(folder)
    before = tree_bytes(folder)
    result = continue_run(folder, T1)
    assert result.stats.events == 0 and tree_bytes(folder) == before
    later = "2026-11-24T09:00:00Z"
    continue_run(folder, later)
    once = tree_bytes(folder)
    continue_run(folder, later)
    assert tree_bytes(folder) == once, "continuing twice to the same end = continuing once"


def test_continuing_keeps_the_format_and_the_seed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = os.path.join(tmp_path, "out")
    first_run(folder, format="segment", gzip=True)
    continue_run(folder, "2026-11-23T00:00:00Z")
    names = sorted(os.listdir(os.path.join(folder, "events")))
    assert names == ["part-00000-000.jsonl.gz", "run-001-part-00000-000.jsonl.gz"]
    assert sorted(os.listdir(os.path.join(folder, "lookup_table"))) == [
        "lookup_table.csv",
        "profiles-segment.jsonl",
    ]  # no new users in 3 days of 60: no new identify file
    with pytest.raises(UsageError, match="--format"):
        continue_run(folder, "2026-11-24T00:00:00Z", format="json")
    with pytest.raises(UsageError, match="--seed"):
        generate(RunConfig("", "", "", 0, folder, 5, parse_iso("2026-11-24"), continue_run=True))
    with pytest.raises(UsageError, match="before the end"):
        continue_run(folder, "2026-11-22T00:00:00Z")


def test_command_line_continue(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = os.path.join(tmp_path, "out")
    assert main(["--continue", "--output", folder, "--end", "2026-11-25"]) == 2
    assert "nothing to continue" in capsys.readouterr().err
    first_run(folder, users=30)
    assert main(["--continue", "--output", folder, "--end", "2026-11-25", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert f"seed {SEED}" in out.lower() and "2026-11-25T00:00:00.000Z" in out
    assert main(["--continue", "--force", "--output", folder]) == 2
    assert main(["--continue"]) == 2


def test_a_continue_on_an_empty_folder_is_refused(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = os.path.join(tmp_path, "empty")
    os.makedirs(folder)
    assert main(["--continue", "--output", folder, "--end", "2026-11-25"]) == 2
    assert "no finished run to continue" in capsys.readouterr().err
    assert os.listdir(folder) == []


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no cleanup."""


@pytest.mark.parametrize("moment", ["before the config swap", "inside the config swap"])
def test_a_continue_killed_while_publishing_is_repaired_by_the_next(
    moment: str,
    tmp_path,  # type: ignore[no-untyped-def]
    monkeypatch,
) -> None:
    clean = os.path.join(tmp_path, "clean")
    folder = os.path.join(tmp_path, "killed")
    first_run(clean, users=1001, days=20)  # two chunks: two new events files to move
    shutil.copytree(clean, folder)
    later = "2026-12-01T18:00:00Z"
    continue_run(clean, later)
    expected = tree_bytes(clean)

    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        if moment == "before the config swap" and src == os.path.join(folder, "config"):
            raise _Killed  # new events and lookup table in place, config/ untouched
        if dst == os.path.join(folder, "config"):
            raise _Killed  # between moving the old config/ away and the new one in
        real_replace(src, dst)

    # A kill runs no cleanup at all.
    monkeypatch.setattr(output_module.os, "replace", replace)
    monkeypatch.setattr(runner_module.output, "recover", lambda folder: None)
    monkeypatch.setattr(runner_module.output, "drop_later_runs", lambda folder, runs: [])
    monkeypatch.setattr(runner_module.output, "discard", lambda staging: None)
    with pytest.raises(_Killed):
        continue_run(folder, later)
    monkeypatch.undo()
    assert os.path.exists(os.path.join(folder, "config")) == (moment == "before the config swap")
    assert any(n.startswith("run-001-") for n in os.listdir(os.path.join(folder, "events")))

    continue_run(folder, later)
    assert tree_bytes(folder) == expected


def test_a_continue_that_fails_leaves_the_previous_run(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = os.path.join(tmp_path, "out")
    first_run(folder, users=1001, days=20)
    before = tree_bytes(folder)
    real_replace = os.replace
    failed = []

    def replace(src: str, dst: str) -> None:
        if dst == os.path.join(folder, "config") and not failed:
            failed.append(dst)
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(output_module.os, "replace", replace)
    with pytest.raises(OutputError):
        continue_run(folder, "2026-12-01T00:00:00Z")
    monkeypatch.undo()
    assert tree_bytes(folder) == before
    assert sorted(os.listdir(folder)) == ["config", "events", "lookup_table"]


def test_the_number_of_workers_never_changes_a_continue(tmp_path) -> None:  # type: ignore[no-untyped-def]
    one = os.path.join(tmp_path, "one")
    two = os.path.join(tmp_path, "two")
    first_run(one, users=1001, days=20, format="mixpanel")
    shutil.copytree(one, two)
    later = "2026-12-20T06:00:00Z"  # a month: new users (and a profiles file) too
    continue_run(one, later, workers=1)
    continue_run(two, later, workers=2)
    assert tree_bytes(one) == tree_bytes(two)
    assert "lookup_table/run-001-profiles-mixpanel.jsonl" in tree_bytes(one)


def test_a_continue_never_writes_through_a_symbolic_link(tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = os.path.join(tmp_path, "out")
    first_run(folder, users=10)
    elsewhere = os.path.join(tmp_path, "elsewhere")
    os.replace(os.path.join(folder, "events"), elsewhere)
    os.symlink(elsewhere, os.path.join(folder, "events"))
    before = tree_bytes(elsewhere)
    with pytest.raises(UsageError, match="symbolic link named 'events'"):
        generate(RunConfig("", "", "", 0, folder, -1, parse_iso("2026-11-25"), continue_run=True))
    assert tree_bytes(elsewhere) == before


def test_ctrl_c_after_a_continue_is_in_place_keeps_it(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An interrupt that lands while the finished continue is being tidied up rolls nothing back."""
    import signal

    folder = os.path.join(tmp_path, "out")
    first_run(folder, users=10)
    real_discard, real_publish = output_module.discard, output_module.publish_continue
    publishing: list[bool] = []
    pressed: list[bool] = []

    def publish(folder: str, staging: str) -> None:
        publishing.append(True)
        real_publish(folder, staging)

    def discard_with_ctrl_c(staging: str) -> None:
        if publishing and not pressed:  # the tidying up after the commit point
            pressed.append(True)
            signal.raise_signal(signal.SIGINT)  # Ctrl-C, as the terminal would send it
        real_discard(staging)

    monkeypatch.setattr(output_module, "publish_continue", publish)
    monkeypatch.setattr(output_module, "discard", discard_with_ctrl_c)
    result = generate(
        RunConfig("", "", "", 0, folder, -1, parse_iso("2026-11-25"), continue_run=True)
    )
    assert pressed and result.stats.events > 0
    with open(os.path.join(folder, "config", "run.json"), "rb") as handle:
        assert [c["run"] for c in orjson.loads(handle.read())["continued"]] == [1]
    names = os.listdir(os.path.join(folder, "events"))
    assert any(name.startswith("run-001-") for name in names)
    assert not os.path.exists(os.path.join(folder, output_module.STAGING))


def test_a_continue_checks_the_end_time_and_can_go_back_to_the_default_file_size(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    folder = os.path.join(tmp_path, "out")
    first_run(folder, users=10, max_file_mb=1.0)
    with pytest.raises(UsageError, match="must fall between"):
        generate(RunConfig("", "", "", 0, folder, -1, parse_iso("9999-06-01"), continue_run=True))
    end = parse_iso("2026-11-22")
    generate(RunConfig("", "", "", 0, folder, -1, end, max_file_mb=256.0, continue_run=True))
    with open(os.path.join(folder, "config", "run.json"), "rb") as handle:
        assert "max_file_mb" not in orjson.loads(handle.read())


def test_a_continue_shows_the_sheet_warnings_too(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = os.path.join(tmp_path, "out")
    lookup = os.path.join(tmp_path, "lookup.csv")
    with open(lookup, "w") as handle:
        handle.write("shardkeys\nuserId\n")  # no attributes: a warning, not an error
    flags = ["--events", example("events.csv"), "--flows", example("flows.csv"), "--lookup", lookup]
    first = [*flags, "--users", "5", "--output", folder, "--seed", "1", "--end", T1]
    assert main(first) == 0
    assert "no attributes" in capsys.readouterr().err
    assert main(["--continue", "--output", folder, "--end", "2026-11-22"]) == 0
    assert "no attributes" in capsys.readouterr().err


def test_a_run_of_the_first_edition_model_is_not_continued(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Its saved states mean something else (a streak counter, a flow position): refused, and
    the folder is left as it was."""
    from generator import InputError

    folder = os.path.join(tmp_path, "out")
    first_run(folder, users=10)
    path = os.path.join(folder, "config", "run.json")
    with open(path, "rb") as handle:
        record = orjson.loads(handle.read())
    assert record["model"] == 2
    del record["model"]  # as the first edition wrote it
    with open(path, "wb") as handle:
        handle.write(orjson.dumps(record))
    before = tree_bytes(folder)
    with pytest.raises(InputError, match=r"earlier user model .*start a new run"):
        continue_run(folder, "2026-11-25T00:00:00Z")
    assert tree_bytes(folder) == before
