"""``--send``: every event reaches the tool exactly once, through 429s, 500s, 413s, refusals,
interruptions and kills; what a tool would reject or hide is refused before any request.

The tools are stood in for by :mod:`tests.standin`, a local server that checks each documented
request shape, key and limit.  Waits go through a fake clock, so the retry schedule runs in no
time; only the kill test (slow) runs a real process against the real clock.
"""

from __future__ import annotations

import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import orjson
import pytest

import event_generator
from generator import RunConfig, RunRecord, generate
from generator.delivery import SendConfig, send_run
from generator.delivery.http import HttpxPoster
from generator.delivery.send import MAX_ATTEMPTS
from generator.delivery.tools import tool_for
from generator.errors import DeliveryError, InputError, UsageError
from tests.helpers import END, END_MS, ROOT, example
from tests.standin import Fault, StandIn

TOOLS = ("amplitude", "mixpanel", "segment", "posthog")
KEY = "k3y-s3cret-value"
NOW_MS = END_MS + 3_600_000  # the send happens an hour after the run's end
DAY_MS = 86_400_000


class FakeClock:
    """Monotonic time that only moves when the sender sleeps; the stand-in reads it too."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def made_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One small run (30 users, about 5,200 events) per tool format, made once."""
    base = tmp_path_factory.mktemp("runs")
    runs = {}
    for tool in TOOLS:
        folder = str(base / tool)
        config = RunConfig(
            example("events.csv"), example("flows.csv"), example("lookup_table.csv"), 30,
            folder, 5, END_MS, workers=1, format=tool, max_file_mb=0.6,
        )  # fmt: skip
        generate(config)
        runs[tool] = folder
    return runs


@pytest.fixture
def run_of(made_runs: dict[str, str], tmp_path: Any) -> Callable[[str], str]:
    """A fresh copy of the tool's run (a send writes its journal into the folder)."""

    def copy(tool: str) -> str:
        target = str(tmp_path / tool)
        shutil.copytree(made_runs[tool], target)
        return target

    return copy


def ids_in(folder: str, tool: str) -> tuple[list[str], list[str]]:
    """The dedup ids of every event, and the user of every profile, as written in the run."""
    field = {"amplitude": "insert_id", "segment": "messageId", "posthog": "uuid"}
    events: list[str] = []
    for name in sorted(os.listdir(os.path.join(folder, "events"))):
        with open(os.path.join(folder, "events", name), "rb") as handle:
            for line in handle:
                item = orjson.loads(line)
                if tool == "mixpanel":
                    events.append(item["properties"]["$insert_id"])
                else:
                    events.append(item[field[tool]])
    profiles: list[str] = []
    path = os.path.join(folder, "lookup_table", f"profiles-{tool}.jsonl")
    if os.path.exists(path):
        with open(path, "rb") as handle:
            profiles = [
                orjson.loads(line).get("$distinct_id") or orjson.loads(line)["userId"]
                for line in handle
            ]
    return events, profiles


_POSTER: list[HttpxPoster] = []


def send(folder: str, tool: str, server: StandIn, clock: FakeClock, **kwargs: Any) -> Any:
    """Send with the real HTTP client (one for all tests: building its TLS context costs 0.1 s)
    and the fake clock."""
    if not _POSTER:
        _POSTER.append(HttpxPoster(lambda: 0.0))
    config = SendConfig(folder, tool, KEY, endpoint=server.url, now_ms=NOW_MS, **kwargs)
    return send_run(
        config, clock=clock, sleep=clock.sleep, draw=random.Random(7).random, poster=_POSTER[0]
    )


def assert_exactly_once(server: StandIn, folder: str, tool: str) -> None:
    events, profiles = ids_in(folder, tool)
    assert server.refusals == []
    assert len(events) == len(set(events)) > 2000
    assert dict(server.items) == dict.fromkeys(events, 1)
    assert dict(server.profiles) == dict.fromkeys(profiles, 1)


@pytest.mark.parametrize("tool", TOOLS)
def test_every_event_arrives_once_through_429_500_and_413(
    tool: str, run_of: Callable[[str], str]
) -> None:
    folder = run_of(tool)
    clock = FakeClock()
    faults = {
        2: Fault(429, {"Retry-After": "7"}),
        3: Fault(500),
        4: Fault(500),
        5: Fault(413, body=b'{"code":413,"error":"Payload too large"}'),
    }
    with StandIn(tool, KEY, faults, clock=clock) as server:
        result = send(folder, tool, server, clock)
    assert_exactly_once(server, folder, tool)
    assert result.events_sent == len(ids_in(folder, tool)[0]) and result.retries == 3
    assert result.splits == 1 and not result.already_complete
    # The 429 asked for 7 s: the wait after it was at least that (plus at most 1 s of jitter).
    retry_waits = [s for s in clock.sleeps if s >= 1 or tool != "posthog"]
    assert any(7 <= s < 8 for s in retry_waits)
    with open(result.journal, "rb") as handle:
        journal = handle.read()
    assert KEY.encode() not in journal


@pytest.mark.parametrize("tool", TOOLS)
def test_a_400_stops_the_send_and_the_same_command_continues_with_that_batch(
    tool: str, run_of: Callable[[str], str]
) -> None:
    folder = run_of(tool)
    clock = FakeClock()
    echo = b'{"error":"bad batch for key ' + KEY.encode() + b'"}'
    with StandIn(tool, KEY, {3: Fault(400, body=echo)}, clock=clock) as server:
        with pytest.raises(DeliveryError) as stopped:
            send(folder, tool, server, clock)
        message = str(stopped.value)
        assert "HTTP 400" in message and "bad batch for key ***" in message
        assert KEY not in message and "lines" in message
        assert stopped.value.exit_status == 1
        accepted_before = sum(server.items.values()) + sum(server.profiles.values())
        assert accepted_before > 0
        result = send(folder, tool, server, clock)  # the fault is gone: the rest goes
    assert_exactly_once(server, folder, tool)
    assert result.events_before + result.profiles_before == accepted_before


def test_a_finished_send_sends_nothing_unless_resend(run_of: Callable[[str], str]) -> None:
    folder = run_of("segment")
    clock = FakeClock()
    with StandIn("segment", KEY, clock=clock) as server:
        send(folder, "segment", server, clock)
        requests = server.requests
        again = send(folder, "segment", server, clock)
        assert again.already_complete and server.requests == requests
        assert again.events_sent == 0 and again.events_before == again.events_total
        resent = send(folder, "segment", server, clock, resend=True)
    assert resent.events_sent == resent.events_total and not resent.already_complete
    assert set(server.items.values()) == {2}


def test_a_replaced_run_is_not_taken_as_sent(
    run_of: Callable[[str], str], made_runs: dict[str, str], tmp_path: Any
) -> None:
    folder = run_of("posthog")
    clock = FakeClock()
    with StandIn("posthog", KEY, clock=clock) as server:
        send(folder, "posthog", server, clock)
        # Another run (another seed) under the same file names: nothing of it was sent.
        other = str(tmp_path / "other")
        generate(RunConfig(
            example("events.csv"), example("flows.csv"), example("lookup_table.csv"), 30,
            other, 6, END_MS, workers=1, format="posthog", max_file_mb=0.6,
        ))  # fmt: skip
        for name in ("events", "lookup_table", "config"):
            shutil.rmtree(os.path.join(folder, name))
            shutil.copytree(os.path.join(other, name), os.path.join(folder, name))
        result = send(folder, "posthog", server, clock)
    assert result.events_before == 0 and result.events_sent == result.events_total


def test_retries_back_off_exponentially_with_jitter_then_stop(
    run_of: Callable[[str], str],
) -> None:
    folder = run_of("mixpanel")
    clock = FakeClock()
    faults = {n: Fault(503) for n in range(2, 2 + MAX_ATTEMPTS)}
    stopped = pytest.raises(DeliveryError, match=f"after {MAX_ATTEMPTS} tries")
    with StandIn("mixpanel", KEY, faults, clock=clock) as server, stopped:
        send(folder, "mixpanel", server, clock)
    # Mixpanel's documented schedule: 2 s doubling up to 60 s, plus 1 to 5 s of jitter.
    waits = [s for s in clock.sleeps if s >= 1]
    assert len(waits) == MAX_ATTEMPTS - 1
    for attempt, wait in enumerate(waits, 1):
        base = min(60.0, 2.0 * 2 ** (attempt - 1))
        assert base + 1 <= wait <= base + 5
    assert sum(server.profiles.values()) == 30  # the profiles went before the events failed


def test_amplitude_429_without_retry_after_waits_the_documented_15_s() -> None:
    answer = tool_for("amplitude").judge(
        "events", 429, {}, b'{"code":429,"throttled_users":{"u1":1200},"eps_threshold":1000}'
    )
    assert answer.wait_s == 15.0 and "throttled 1 user" in answer.message


def _synthetic_run(folder: str, tool: str, lines: list[dict[str, Any]]) -> None:
    """A finished run folder holding ``lines`` as its events."""
    for name in ("events", "lookup_table", "config"):
        os.makedirs(os.path.join(folder, name), exist_ok=True)
    with open(os.path.join(folder, "config", "run.json"), "wb") as handle:
        handle.write(RunRecord("e.csv", "f.csv", "l.csv", 1, 1, END_MS, format=tool).to_bytes())
    with open(os.path.join(folder, "lookup_table", "lookup_table.csv"), "w") as handle:
        handle.write("userId\n")
    with open(os.path.join(folder, "events", "part-00000-000.jsonl"), "wb") as handle:
        handle.write(b"".join(orjson.dumps(line) + b"\n" for line in lines))


def test_amplitude_keeps_each_user_under_1000_events_per_second(tmp_path: Any) -> None:
    folder = str(tmp_path / "heavy")
    events = [
        {"user_id": "heavy-user-1" if i % 10 else "light-user-2", "event_type": "Tap",
         "time": END_MS - 10_000_000 + i * 1000, "insert_id": f"id-{i}"}
        for i in range(4500)
    ]  # fmt: skip
    _synthetic_run(folder, "amplitude", events)
    clock = FakeClock()
    with StandIn("amplitude", KEY, clock=clock) as server:  # answers 429 past 1,000/s per user
        result = send(folder, "amplitude", server, clock)
    assert set(server.statuses) == {200} and result.retries == 0
    assert len(server.items) == 4500 and max(server.batch_sizes) <= 2000
    assert clock.now >= 3.0  # 4,050 events of one user need at least 4 one-second windows


@pytest.mark.parametrize(
    ("tool", "event", "said"),
    [
        ("mixpanel", {"bucket": "a"}, "'bucket' is a name Mixpanel reserves"),
        ("mixpanel", {"$ignore": True}, "'$ignore' is a name Mixpanel reserves (it would drop"),
        ("mixpanel", {"ip": "1.2.3.4"}, "'ip' is a name Mixpanel reserves"),
        ("mixpanel", {"time": NOW_MS + 2 * 3_600_000}, "more than 1 hour(s) after now"),
        ("mixpanel", {"note": "x" * 300}, "Mixpanel truncates strings to 255"),
        ("posthog", {"timestamp": "2026-12-01T12:00:00.000Z"}, "more than 23 hour(s)"),
        ("posthog", {"distinct_id": ""}, "no usable distinct_id"),
        ("segment", {"properties": {"blob": "x" * 40_000}}, "Segment takes at most 32,000"),
        ("amplitude", {"user_id": "abc"}, "shorter than 5 characters"),
    ],
)
def test_what_the_tool_rejects_or_hides_is_refused_before_any_request(
    tool: str, event: dict[str, Any], said: str, tmp_path: Any
) -> None:
    bases: dict[str, dict[str, Any]] = {
        "mixpanel": {"event": "Tap", "properties": {
            "distinct_id": "user-1", "time": END_MS, "$insert_id": "abc-1"}},
        "posthog": {"event": "Tap", "distinct_id": "user-1", "timestamp": END,
                    "uuid": "0190a0f0-0000-7000-8000-000000000001", "properties": {}},
        "segment": {"type": "track", "userId": "user-1", "event": "Tap", "messageId": "m-1",
                    "timestamp": END, "properties": {}},
        "amplitude": {"user_id": "user-1", "event_type": "Tap", "time": END_MS,
                      "insert_id": "i-1"},
    }  # fmt: skip
    base = bases[tool]
    bad = dict(base)
    if tool == "mixpanel":
        bad["properties"] = {**base["properties"], **event}
    else:
        bad.update(event)
    folder = str(tmp_path / "run")
    _synthetic_run(folder, tool, [base, bad])
    clock = FakeClock()
    with StandIn(tool, KEY, clock=clock) as server, pytest.raises(InputError) as refused:
        send(folder, tool, server, clock)
    assert server.requests == 0
    assert said in str(refused.value) and "line 2" in str(refused.value)
    assert refused.value.exit_status == 2


def test_a_run_in_another_format_or_unfinished_is_refused(
    run_of: Callable[[str], str], tmp_path: Any
) -> None:
    clock = FakeClock()
    with StandIn("posthog", KEY, clock=clock) as server:
        with pytest.raises(UsageError, match="made in the 'segment' format"):
            send(run_of("segment"), "posthog", server, clock)
        with pytest.raises(UsageError, match="holds no run"):
            send(str(tmp_path / "nothing"), "posthog", server, clock)
        folder = run_of("posthog")
        os.remove(os.path.join(folder, "config", "run.json"))
        with pytest.raises(UsageError, match="incomplete run"):
            send(folder, "posthog", server, clock)
    assert server.requests == 0


def test_historical_migration_only_for_batches_older_than_48_hours(
    run_of: Callable[[str], str],
) -> None:
    folder = run_of("posthog")
    clock = FakeClock()
    with StandIn("posthog", KEY, clock=clock) as server:
        send(folder, "posthog", server, clock)
    flags = {flag for flag, _latest in server.historical}
    assert flags == {True, False}  # the run's last two days are not a historical migration
    for flag, latest in server.historical:
        assert flag == (latest <= NOW_MS - 2 * DAY_MS)


def test_the_command_line_sends_after_a_run_and_shows_the_summary(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = str(tmp_path / "out")
    monkeypatch.setenv("SEGMENT_WRITE_KEY", KEY)
    flags = ["--events", example("events.csv"), "--flows", example("flows.csv"), "--lookup",
             example("lookup_table.csv"), "--users", "5", "--output", folder, "--seed", "2",
             "--end", END, "--workers", "1"]  # fmt: skip
    with StandIn("segment", KEY) as server:
        status = event_generator.main([*flags, "--send", "segment", "--endpoint", server.url])
        out = capsys.readouterr().out
        assert status == 0
        assert "Sent " in out and "to Segment" in out and KEY not in out
        events, profiles = ids_in(folder, "segment")
        assert dict(server.items) == dict.fromkeys(events, 1)
        assert dict(server.profiles) == dict.fromkeys(profiles, 1)
        # Later, on the finished folder: nothing left to send.
        again = ["--send", "segment", "--output", folder, "--endpoint", server.url]
        assert event_generator.main(again) == 0
        assert "already sent" in capsys.readouterr().out
    for name in os.listdir(os.path.join(folder, "config")):
        with open(os.path.join(folder, "config", name), "rb") as handle:
            assert KEY.encode() not in handle.read()


def test_a_stopped_send_after_a_run_names_the_send_only_command_which_sends_the_rest(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It said "run the same command again", and the same command (which makes the run) then
    refused the folder that now holds the run.  The send-only command continues the send."""
    folder = str(tmp_path / "ph")
    monkeypatch.setenv("SEGMENT_WRITE_KEY", KEY)
    flags = ["--events", example("events.csv"), "--flows", example("flows.csv"), "--lookup",
             example("lookup_table.csv"), "--users", "5", "--output", folder, "--seed", "3",
             "--end", END, "--workers", "1", "--send", "segment"]  # fmt: skip
    with StandIn("segment", KEY, {2: Fault(400, body=b'{"error":"bad batch"}')}) as server:
        argv = [*flags, "--endpoint", server.url]
        assert event_generator.main(argv) == 1
        err = capsys.readouterr().err
        assert "HTTP 400" in err and "Fix the cause and send again: it continues with" in err
        assert "same command" not in err
        lines = err.splitlines()
        assert lines[-2] == "To send the rest:"
        command = shlex.split(lines[-1])
        assert command == ["python3", "event_generator.py", "--send", "segment", "--output",
                           folder, "--endpoint", server.url]  # fmt: skip
        assert event_generator.main(argv) == 2  # the command that made the run: refused
        assert "already holds a previous run" in capsys.readouterr().err
        assert event_generator.main(command[2:]) == 0  # the command it named: the rest goes
        assert "skipped" in capsys.readouterr().out
        events, profiles = ids_in(folder, "segment")
        assert dict(server.items) == dict.fromkeys(events, 1)
        assert dict(server.profiles) == dict.fromkeys(profiles, 1)


def test_a_cancel_after_a_run_names_the_send_only_command(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C during the send, or during the summary of the run before it: the run is complete,
    so the way on is the send alone."""
    import frontend.send
    from generator import SendProgress

    def interrupted(config: Any, progress: Any, **kwargs: Any) -> Any:
        progress(SendProgress("sending", 1, 1, 40, 100))
        raise KeyboardInterrupt

    folder = str(tmp_path / "ph")
    flags = ["--events", example("events.csv"), "--flows", example("flows.csv"), "--lookup",
             example("lookup_table.csv"), "--users", "3", "--output", folder, "--seed", "3",
             "--end", END, "--workers", "1", "--send", "posthog", "--api-key", KEY]  # fmt: skip
    monkeypatch.setattr(frontend.send, "send_run", interrupted)
    assert event_generator.main(flags) == 130
    err = capsys.readouterr().err
    assert err.splitlines()[-3:] == [
        "Cancelled: 40 of 100 items delivered",
        "To send the rest (with your key for KEY):",
        f"  python3 event_generator.py --send posthog --output {folder} --api-key KEY",
    ]
    assert KEY not in err

    def summary_interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(event_generator, "print_summary", summary_interrupted)
    assert event_generator.main([*flags, "--output", folder + "-2"]) == 130
    lines = capsys.readouterr().err.splitlines()
    assert lines[-3] == f"Cancelled (the run in {folder}-2 is complete)"
    assert lines[-1].endswith(f"--send posthog --output {folder}-2 --api-key KEY")


def test_the_send_only_command_keeps_the_send_s_flags_and_never_shows_the_key() -> None:
    from frontend.send import send_command

    args = event_generator.build_parser().parse_args(
        ["--users", "60", "--output", "ph", "--seed", "3", "--end", END, "--send", "mixpanel",
         "--region", "eu", "--endpoint", "http://127.0.0.1:9/x", "--api-key", KEY, "--resend"]
    )  # fmt: skip
    assert send_command(args, "ph") == (
        "python3 event_generator.py --send mixpanel --output ph --region eu --endpoint "
        "http://127.0.0.1:9/x --api-key KEY"
    )  # no run flag, no --resend (sent again, a stopped send continues), no key


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--send", "posthog", "--output", "x"], "set POSTHOG_API_KEY"),
        (["--send", "posthog", "--api-key", "k"], "needs --output"),
        (["--send", "posthog", "--api-key", "k", "--format", "json", "--users", "5"],
         "needs a run made with --format posthog"),
        (["--send", "segment", "--api-key", "k", "--region", "in", "--output", "x"],
         "no region 'in'"),
        (["--send", "amplitude", "--api-key", "k", "--endpoint", "ftp://x", "--output", "x"],
         "not an http"),
    ],
)  # fmt: skip
def test_send_flags_are_checked_before_anything_runs(
    flags: list[str], said: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.delenv("POSTHOG_API_KEY", raising=False)
    assert event_generator.main(flags) == 2
    assert said in capsys.readouterr().err


def test_a_plain_run_never_loads_httpx(tmp_path: Any) -> None:
    flags = ["--events", example("events.csv"), "--flows", example("flows.csv"), "--lookup",
             example("lookup_table.csv"), "--users", "3", "--output", str(tmp_path / "o"),
             "--seed", "1", "--end", END, "--workers", "1"]  # fmt: skip
    code = (
        "import sys, event_generator\n"
        f"status = event_generator.main({flags!r})\n"
        "print(status, 'httpx' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.stdout.strip().splitlines()[-1] == "0 False"


def _send_process(folder: str, url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "POSTHOG_API_KEY": KEY}
    return subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "event_generator.py"), "--send", "posthog",
         "--output", folder, "--endpoint", url],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.slow
def test_a_send_killed_at_random_points_delivers_everything_once_when_run_again(
    run_of: Callable[[str], str],
) -> None:
    """SIGKILL a real send at random requests, before a batch is accepted or after it is
    accepted and before the answer (the worst moment); run it again each time.  Every event
    arrives; only a batch that was accepted but not answered arrives twice."""
    folder = run_of("posthog")
    rng = random.Random(int(os.environ.get("SEND_KILL_SEED", "13")))
    events, _profiles = ids_in(folder, "posthog")
    batches = -(-len(events) // 1000)
    plan = sorted(rng.sample(range(2, batches + 1), 3))
    moments = [rng.choice(("before", "after")) for _ in plan]
    process: list[subprocess.Popen[bytes]] = []
    killed = threading.Event()
    doubled: list[int] = []

    def on_request(number: int, moment: str) -> bool:
        if not (plan and number == plan[0] and moment == moments[0]):
            return False
        plan.pop(0)
        moments.pop(0)
        if moment == "after":
            doubled.append(number)
        os.kill(process[-1].pid, signal.SIGKILL)
        killed.set()
        return True  # "before": the batch is not accepted (its sender is dead)

    with StandIn("posthog", KEY, on_request=on_request) as server:
        kills = 0
        while True:
            killed.clear()
            process.append(_send_process(folder, server.url))
            status = process[-1].wait(timeout=120)
            if status == 0:
                break
            assert status == -signal.SIGKILL and killed.is_set()
            kills += 1
        assert kills == 3
        assert server.refusals == []
        assert set(server.items) == set(events)
        # Only a batch accepted but not answered came again (once per such kill), nothing else.
        extra = sum(count - 1 for count in server.items.values())
        assert extra <= 1000 * len(doubled)
        if not doubled:
            assert extra == 0


def test_the_progress_bar_shows_items_rate_retries_and_waits() -> None:
    import io

    from rich.console import Console

    from frontend.send import _progress_shown, _Shown
    from generator.delivery import SendProgress

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=160)
    now = [0.0]
    with _progress_shown(console, "PostHog", _Shown(), get_time=lambda: now[0]) as show:
        show(SendProgress("checking", 1, 3, 0, 0))
        now[0] = 1.0
        show(SendProgress("sending", 0, 3, 1000, 5000, 1, 0))
        now[0] = 2.0
        show(SendProgress("sending", 1, 3, 2000, 5000, 2, 1, 7.0, "HTTP 429"))
    text = screen.getvalue()
    assert "sending to PostHog" in text and "2,000/5,000 items" in text
    assert "waiting 7 s: HTTP 429" in text and "500 items/s" in text
    assert "2 batches 1 retry " in text  # a count's noun in its number: not "1 retries"


def test_a_send_is_refused_while_a_run_holds_the_folder(tmp_path: Any) -> None:
    """A run that replaced or continued the folder mid-send would change the files under the
    journal's feet: the folder's lock keeps them apart."""
    from generator import OutputInUseError
    from generator.output import locked

    folder = str(tmp_path / "run")
    _synthetic_run(folder, "posthog", [])
    clock = FakeClock()
    with StandIn("posthog", KEY, clock=clock) as server, locked(folder):
        with pytest.raises(OutputInUseError, match="in use by"):
            send(folder, "posthog", server, clock)
        assert server.requests == 0


def test_the_rate_limiter_never_lets_a_batch_through_on_a_rounding() -> None:
    """At these times, ``at + 1 - now`` rounds to 0 while ``at <= now - 1`` is false: the window
    still holds the first batch, so the limiter must say to wait (it once said 0)."""
    from generator.delivery.http import RateLimiter

    now = [15.776550884837372]
    limiter = RateLimiter(1000, 1.0, lambda: now[0])
    limiter.add({"u": 1000})
    now[0] = 16.77655088483737
    assert now[0] - 1.0 < 15.776550884837372 and 15.776550884837372 + 1.0 - now[0] == 0.0
    assert limiter.wait({"u": 90}) > 0
    now[0] += limiter.wait({"u": 90})
    assert limiter.wait({"u": 90}) == 0


def test_a_replay_in_another_format_is_refused_before_it_is_made(tmp_path: Any) -> None:
    """--replay of a jsonl run with --send posthog would make the whole run, then refuse it."""
    from event_generator import main

    first = str(tmp_path / "first")
    flags = ["--events", example("events.csv"), "--flows", example("flows.csv"), "--lookup"]
    flags += [example("lookup_table.csv"), "--users", "3", "--seed", "1", "--end", END]
    assert main([*flags, "--output", first, "--format", "jsonl"]) == 0
    again = str(tmp_path / "again")
    args = ["--replay", first, "--output", again, "--send", "posthog", "--api-key", "k" * 20]
    assert main(args) == 2
    assert not os.path.exists(again)
