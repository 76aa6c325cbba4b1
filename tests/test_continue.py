"""Continuing a run (--continue): the same events and states as one longer run, new users in
proportion to the time that passed, and a folder that is never left broken."""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from typing import Any

import orjson
import pytest

from event_generator import main
from generator import (
    OutputError,
    OutputExistsError,
    Product,
    UsageError,
    iso,
    load_product,
    parse_iso,
)
from generator import output as output_module
from generator.clock import DAY_MS
from generator.formats import FORMATS
from generator.layout import STAGING
from generator.params import Params
from generator.population import Population
from generator.record import UserNames, read_user, user_bytes
from generator.walker import Walker, WalkStats
from tests.helpers import (
    SMALL_CHUNKS,
    continue_run,
    example,
    run_examples,
    saved_users,
    tree_bytes,
)

SEED = 11
T1 = "2026-11-20T13:37:00Z"  # mid-day: most active users have their last day cut


def examples_product() -> Product:
    return load_product(example("events.csv"), example("flows.csv"), example("lookup_table.csv"))


def first_run(folder: str, users: int = 60, end: str = T1, **kwargs: Any) -> None:
    run_examples(folder, users, SEED, end_ms=parse_iso(end), workers=1, **kwargs)


def one_long_run(users: int, first_end: str, last_end: str, fmt: str = "json"):
    """Users created as a run to ``first_end`` creates them, walked in one go to ``last_end``."""
    product = examples_product()
    params = Params()
    population = Population(product, params, SEED, parse_iso(first_end))
    walker = Walker(product, params, SEED, parse_iso(last_end), FORMATS[fmt].encoder(product, SEED))
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


@pytest.mark.parametrize("fmt", ["json", "posthog"])
@pytest.mark.parametrize("cut", [T1, "2026-11-21T00:00:00Z"])
def test_a_walk_cut_and_continued_equals_one_walk(fmt: str, cut: str) -> None:
    """Walker level, through the saved JSON state: T1 then T2 gives the same lines and states."""
    last = "2026-12-09T08:00:00Z"
    product, whole, whole_states = one_long_run(300, cut, last, fmt)
    params = Params()
    population = Population(product, params, SEED, parse_iso(cut))
    names = UserNames.of(product)
    encoder = FORMATS[fmt].encoder
    early = Walker(product, params, SEED, parse_iso(cut), encoder(product, SEED))
    late = Walker(product, params, SEED, parse_iso(last), encoder(product, SEED))
    resumed = 0
    for index in range(300):
        user = population.create(index)
        before: list[str] = []
        early.simulate(user, before, WalkStats.for_product(product))
        entry = orjson.loads(user_bytes(user, names))
        resumed += "resume" in entry
        again = read_user(entry, names, index, parse_iso(cut), "user_id_list.json")
        again.user_props = population.user_props(index)  # drawn again, never read back
        after: list[str] = []
        late.simulate(again, after, WalkStats.for_product(product), parse_iso(cut) - 1)
        assert before + after == whole[user.user_id]
        assert user_bytes(again, names) == user_bytes(whole_states[index], names)
    if cut == T1:
        assert resumed > 10, "the test must cover users whose day the end time cut"


def test_daily_continues_give_the_events_and_states_of_one_long_run(tmp_path) -> None:
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
    names = UserNames.of(examples_product())
    assert saved[:60] == [orjson.loads(user_bytes(s, names)) for s in states]
    with open(os.path.join(folder, "config", "run.json"), "rb") as handle:
        run = orjson.loads(handle.read())
    assert run["end"] == ends[-1] and [c["run"] for c in run["continued"]] == [1, 2, 3, 4, 5, 6]
    assert run["events_written"] == sum(len(v) for v in got.values())
    names_on_disk = sorted(os.listdir(os.path.join(folder, "events")))
    assert names_on_disk == ["part-00000-000.json"] + [
        f"run-{n:03d}-part-00000-000.json" for n in range(1, 7)
    ]


def test_new_users_arrive_in_proportion_to_the_time_passed(tmp_path) -> None:
    folder = os.path.join(tmp_path, "out")
    first_run(folder, users=300)
    middle = iso(parse_iso(T1) + 10 * DAY_MS)
    last = iso(parse_iso(T1) + 45 * DAY_MS)
    continue_run(folder, middle)
    continue_run(folder, last)
    users = saved_users(folder)
    params = Params()
    per_period = 300 * params.continue_new_users_share
    period = params.continue_new_users_period_days
    expected_first = int(per_period * 10 / period)  # 10
    expected_total = int(per_period * 45 / period)  # 45, fractions carried over
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


def test_a_continue_with_no_time_passed_changes_nothing(tmp_path) -> None:
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


def test_continuing_keeps_the_format_and_the_seed(tmp_path) -> None:
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
        continue_run(folder, "2026-11-24T00:00:00Z", seed=5)
    with pytest.raises(UsageError, match="before the end"):
        continue_run(folder, "2026-11-22T00:00:00Z")


def test_command_line_continue(tmp_path, capsys) -> None:
    folder = os.path.join(tmp_path, "out")
    assert main(["--continue", "--output", folder, "--end", "2026-11-25"]) == 2
    assert "nothing to continue" in capsys.readouterr().err
    first_run(folder, users=30)
    assert main(["--continue", "--output", folder, "--end", "2026-11-25", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert f"seed {SEED}" in out.lower() and "2026-11-25T00:00:00.000Z" in out
    assert main(["--continue", "--force", "--output", folder]) == 2
    assert main(["--continue"]) == 2


@pytest.mark.parametrize("model", [None, 2, 3])
def test_a_run_of_another_user_model_is_not_continued(tmp_path, capsys, model) -> None:
    """A run of the first edition (no "model"), of model 2 (streams per user-day, not draws by
    address: its saved days cannot be replayed) or of model 3 (another chance of a `final` exit:
    its days would not continue as one longer run) is refused, naming the models, folder
    untouched."""
    folder = os.path.join(tmp_path, "out")
    first_run(folder, users=10)
    path = os.path.join(folder, "config", "run.json")
    with open(path, "rb") as handle:
        record = orjson.loads(handle.read())
    if model is None:
        del record["model"]
    else:
        record["model"] = model
    with open(path, "wb") as handle:
        handle.write(orjson.dumps(record))
    before = tree_bytes(folder)
    assert main(["--continue", "--output", folder, "--end", "2026-11-25"]) == 2
    err = capsys.readouterr().err
    assert f"model {model or 1}; this generator has model 4" in err and "start a new run" in err
    assert tree_bytes(folder) == before


def test_a_continue_on_an_empty_folder_is_refused(tmp_path, capsys) -> None:
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
    tmp_path,
    monkeypatch,
) -> None:
    clean = os.path.join(tmp_path, "clean")
    folder = os.path.join(tmp_path, "killed")
    first_run(clean, users=21, days=20, chunk_users=SMALL_CHUNKS)  # two chunks: two new files
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

    def killed(staging: output_module.Staging, run_number: int) -> None:
        """A kill runs no cleanup at all; only the kernel releases the folder's lock."""
        if staging.lock.descriptor is not None:
            os.close(staging.lock.descriptor)
            staging.lock.descriptor = None

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(output_module, "roll_back_continue", killed)
    with pytest.raises(_Killed):
        continue_run(folder, later)
    monkeypatch.undo()
    assert os.path.exists(os.path.join(folder, "config")) == (moment == "before the config swap")
    assert any(n.startswith("run-001-") for n in os.listdir(os.path.join(folder, "events")))

    continue_run(folder, later)
    assert tree_bytes(folder) == expected


def _kill_at_rename(monkeypatch: pytest.MonkeyPatch, folder: str, moment: int) -> None:
    """Die (as SIGKILL would: no cleanup, only the lock released by the kernel) at the
    ``moment``-th rename of a continue's publishing: every state a kill can leave."""
    real_replace = os.replace
    renames = [0]

    def replace(src: str, dst: str) -> None:
        if STAGING in src or STAGING in dst:
            renames[0] += 1
            if renames[0] == moment:
                raise _Killed
        real_replace(src, dst)

    def killed(staging: output_module.Staging, run_number: int) -> None:
        if staging.lock.descriptor is not None:
            os.close(staging.lock.descriptor)
            staging.lock.descriptor = None

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(output_module, "roll_back_continue", killed)
    monkeypatch.setattr(output_module, "finish", lambda staging: killed(staging, 0))


def test_a_continue_killed_at_any_rename_is_undone_to_the_byte(tmp_path, monkeypatch) -> None:
    """Whatever rename a kill lands on, the next continue first puts the run back exactly as it
    was (a continue to its own end: nothing added), then a real continue gives the same bytes as
    one never interrupted.  A kill while the events moved in once cost the lookup table."""
    clean = os.path.join(tmp_path, "clean")
    first_run(clean, users=41, days=20, format="mixpanel", chunk_users=SMALL_CHUNKS)
    before = tree_bytes(clean)
    later = "2026-12-20T06:00:00Z"  # a month: new users, so a new profiles file too
    moments = 0
    for moment in range(1, 40):
        folder = os.path.join(tmp_path, f"killed-{moment}")
        shutil.copytree(clean, folder)
        with monkeypatch.context() as patched:
            _kill_at_rename(patched, folder, moment)
            try:
                continue_run(folder, later)
            except _Killed:
                moments += 1
            else:
                break  # past the last rename: the continue completed
        continue_run(folder, T1)  # nothing to add: only the repair of the interrupted one
        repaired = tree_bytes(folder)
        committed = "continued" in orjson.loads(repaired["config/run.json"])
        if not committed:  # killed before its commit point: the run exactly as it was
            assert repaired == before, f"killed at rename {moment}"
    assert moments > 5, "the test must land on the renames of the events, lookup and config"
    continue_run(clean, later)
    continue_run(folder, later)
    assert tree_bytes(folder) == tree_bytes(clean)


def test_a_continue_that_fails_leaves_the_previous_run(tmp_path, monkeypatch) -> None:
    folder = os.path.join(tmp_path, "out")
    first_run(folder, users=21, days=20, chunk_users=SMALL_CHUNKS)
    before = tree_bytes(folder)
    real_replace = os.replace
    failed: list[str] = []

    def replace(src: str, dst: str) -> None:
        if dst == os.path.join(folder, "config") and not failed:
            failed.append(dst)
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OutputError):
        continue_run(folder, "2026-12-01T00:00:00Z")
    monkeypatch.undo()
    assert tree_bytes(folder) == before
    assert sorted(os.listdir(folder)) == ["config", "events", "lookup_table"]


def test_the_number_of_workers_never_changes_a_continue(tmp_path) -> None:
    one = os.path.join(tmp_path, "one")
    two = os.path.join(tmp_path, "two")
    first_run(one, users=41, days=20, format="mixpanel", chunk_users=SMALL_CHUNKS)
    shutil.copytree(one, two)
    later = "2026-12-20T06:00:00Z"  # a month: new users (and a profiles file) too
    continue_run(one, later, workers=1)
    continue_run(two, later, workers=2)
    assert tree_bytes(one) == tree_bytes(two)
    assert "lookup_table/run-001-profiles-mixpanel.jsonl" in tree_bytes(one)


def test_a_continue_never_writes_through_a_symbolic_link(tmp_path) -> None:
    folder = os.path.join(tmp_path, "out")
    first_run(folder, users=10)
    elsewhere = os.path.join(tmp_path, "elsewhere")
    os.replace(os.path.join(folder, "events"), elsewhere)
    os.symlink(elsewhere, os.path.join(folder, "events"))
    before = tree_bytes(elsewhere)
    with pytest.raises(UsageError, match="symbolic link named 'events'"):
        continue_run(folder, "2026-11-25T00:00:00Z")
    assert tree_bytes(elsewhere) == before


def test_ctrl_c_after_a_continue_is_in_place_keeps_it(tmp_path, monkeypatch) -> None:
    """An interrupt that lands while the finished continue is being tidied up rolls nothing back."""
    import signal

    folder = os.path.join(tmp_path, "out")
    first_run(folder, users=10)
    real_finish, real_publish = output_module.finish, output_module.publish_continue
    publishing: list[bool] = []
    pressed: list[bool] = []

    def publish(staging: output_module.Staging) -> None:
        publishing.append(True)
        real_publish(staging)

    def finish_with_ctrl_c(staging: output_module.Staging) -> None:
        if publishing and not pressed:  # the tidying up after the commit point
            pressed.append(True)
            signal.raise_signal(signal.SIGINT)  # Ctrl-C, as the terminal would send it
        real_finish(staging)

    monkeypatch.setattr(output_module, "publish_continue", publish)
    monkeypatch.setattr(output_module, "finish", finish_with_ctrl_c)
    result = continue_run(folder, "2026-11-25T00:00:00Z")
    assert pressed and result.stats.events > 0
    with open(os.path.join(folder, "config", "run.json"), "rb") as handle:
        assert [c["run"] for c in orjson.loads(handle.read())["continued"]] == [1]
    names = os.listdir(os.path.join(folder, "events"))
    assert any(name.startswith("run-001-") for name in names)
    assert not os.path.exists(os.path.join(folder, STAGING))


def test_a_continue_checks_the_end_time_and_can_go_back_to_the_default_file_size(
    tmp_path,
) -> None:
    folder = os.path.join(tmp_path, "out")
    first_run(folder, users=10, max_file_mb=1.0)
    with pytest.raises(UsageError, match="must fall between"):
        continue_run(folder, "9999-06-01T00:00:00Z")
    continue_run(folder, "2026-11-22T00:00:00Z", max_file_mb=256.0)
    with open(os.path.join(folder, "config", "run.json"), "rb") as handle:
        assert "max_file_mb" not in orjson.loads(handle.read())


def test_a_continue_shows_the_sheet_warnings_too(tmp_path, capsys) -> None:
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


def test_a_continue_checks_first_and_deletes_nothing_that_is_not_its_own(tmp_path) -> None:
    folder = os.path.join(tmp_path, "out")
    first_run(folder, users=10)
    later = "2026-11-25T00:00:00Z"
    # events/ is a link to another folder that holds files named like a continue's.
    elsewhere = os.path.join(tmp_path, "elsewhere")
    os.makedirs(elsewhere)
    for name in ("run-001-part-00000-000.json", "run-002-notes.txt"):
        with open(os.path.join(elsewhere, name), "w") as handle:
            handle.write("precious")
    real_events = os.path.join(tmp_path, "events-aside")
    os.replace(os.path.join(folder, "events"), real_events)
    os.symlink(elsewhere, os.path.join(folder, "events"))
    with pytest.raises(UsageError, match="symbolic link"):
        continue_run(folder, later)
    assert sorted(os.listdir(elsewhere)) == ["run-001-part-00000-000.json", "run-002-notes.txt"]
    os.unlink(os.path.join(folder, "events"))
    os.replace(real_events, os.path.join(folder, "events"))
    # A folder of the user's own, named like a continue's files, inside events/.
    backup = os.path.join(folder, "events", "run-005-my-backup")
    os.makedirs(backup)
    with open(os.path.join(backup, "keep.json"), "w") as handle:
        handle.write("[]")
    before = tree_bytes(folder)
    with pytest.raises(OutputExistsError, match="did not write"):
        continue_run(folder, later)
    assert tree_bytes(folder) == before
    assert main(["--continue", "--output", folder, "--end", later]) == 2
    assert tree_bytes(folder) == before


def test_a_manifest_naming_the_run_s_own_files_deletes_none_of_them(tmp_path) -> None:
    """Recovery removes only files named for the interrupted continue (run-001- here), whatever
    a damaged manifest names: never the first run's events or its lookup table."""
    folder = os.path.join(tmp_path, "out")
    first_run(folder, users=10)
    before = tree_bytes(folder)
    staging = os.path.join(folder, STAGING)
    os.makedirs(os.path.join(staging, "config"))  # an uncommitted continue's new config/
    names = sorted(os.listdir(os.path.join(folder, "events")))
    with open(os.path.join(staging, "publishing.json"), "wb") as handle:
        handle.write(orjson.dumps({"events": names, "lookup": ["lookup_table.csv"]}))
    continue_run(folder, T1)  # nothing to add: only the repair
    assert tree_bytes(folder) == before
