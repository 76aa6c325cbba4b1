"""Workers, progress, Ctrl-C and a Dask cluster: never a different byte, never a half-done run."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import threading
from typing import Any

import pytest

from generator import OutputError, ProgressUpdate, RunConfig, UsageError, generate
from generator import distributed as dask_runner
from generator.layout import STAGING
from tests.helpers import (
    END,
    END_MS,
    EXAMPLE_FILES,
    ROOT,
    SMALL_CHUNKS,
    alive,
    children,
    example,
    examples_config,
    tree_bytes,
    wait_gone,
    wait_until,
)


def _config(folder: str, users: int, **kwargs: object) -> RunConfig:
    return examples_config(folder, users, 12, **kwargs)


def test_progress_with_several_workers_counts_every_user_and_event(tmp_path) -> None:
    updates: list[ProgressUpdate] = []
    config = _config(str(tmp_path / "out"), 230, workers=2, chunk_users=SMALL_CHUNKS * 10)
    result = generate(config, progress=updates.append)
    done = [u.users_done for u in updates]
    assert done == sorted(done) and done[-1] == 230
    assert len(updates) >= 3, "workers report every 100 users, not only at the end of a chunk"
    assert [u.events for u in updates] == sorted(u.events for u in updates)
    assert updates[-1].events == result.stats.events
    assert all(u.users_total == 230 for u in updates)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads worker processes from /proc")
def test_ctrl_c_stops_every_worker_and_leaves_nothing_complete_looking(tmp_path) -> None:
    out = str(tmp_path / "out")
    command = [
        sys.executable,
        os.path.join(ROOT, "event_generator.py"),
        *EXAMPLE_FILES,
        "--users",
        "200000",
        "--output",
        out,
        "--seed",
        "3",
        "--end",
        END,
        "--workers",
        "2",
    ]
    # Its own process group, so that the SIGINT reaches it and its workers as a terminal's would.
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        # Both workers forked and writing (on a loaded machine the first writes before the
        # second is forked).
        wait_until(
            lambda: (
                len(children(process.pid)) >= 2
                and bool(glob.glob(os.path.join(out, STAGING, "events", "*")))
            ),
            process,
        )
        workers = children(process.pid)
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    wait_gone(workers)
    assert not any(alive(pid) for pid in workers), "a worker outlived Ctrl-C"
    left = os.listdir(out) if os.path.isdir(out) else []
    assert not set(left) & {"events", "config", "lookup_table", STAGING}, left


def test_ctrl_c_while_the_workers_are_forked_takes_effect_after_it() -> None:
    """A KeyboardInterrupt raised inside ``os.fork``'s at-fork hooks once hung a run (the
    logging lock left held): while workers are forked a signal is only noted, then raised."""
    from generator.pool import _signals_held

    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), _signals_held():
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # the Python handler runs between bytecodes: give it many
            pass
        reached = True  # no KeyboardInterrupt inside
    assert reached and signal.getsignal(signal.SIGINT) is handler
    with _signals_held():  # nothing noted, nothing raised
        pass


def _sleep_in_a_worker(started: Any) -> None:
    started.set()
    while True:
        signal.pause()  # until the signal that ends it (a SIGINT only wakes it)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are forked")
def test_a_worker_forked_while_signals_are_held_ignores_ctrl_c_and_dies_of_sigterm() -> None:
    """Until a worker sets its own handlers it has the parent's noting one: a SIGTERM it only
    noted left it running while the run waited for it (a hang, once in CI)."""
    import multiprocessing

    from generator.pool import _signals_held

    context = multiprocessing.get_context("fork")
    started = context.Event()
    with _signals_held():
        worker = context.Process(target=_sleep_in_a_worker, args=(started,), daemon=True)
        worker.start()
    try:
        # Once it runs Python: a signal in the first instants after fork is lost (CPython clears
        # the flags a handler set), which is why the pool kills a worker that outlives SIGTERM.
        assert started.wait(30) and worker.pid is not None
        os.kill(worker.pid, signal.SIGINT)  # ignored: Ctrl-C is the parent's to handle
        os.kill(worker.pid, signal.SIGTERM)  # (delivered after SIGINT: lower numbers first)
        worker.join(30)
        assert worker.exitcode == -signal.SIGTERM, "a KeyboardInterrupt would exit 1"
    finally:
        if worker.is_alive():
            worker.kill()
            worker.join()


def test_a_missing_dask_install_is_one_clear_message(tmp_path, monkeypatch) -> None:
    def missing() -> None:
        raise ImportError("No module named 'distributed'")

    monkeypatch.setattr(dask_runner, "_module", missing)
    out = str(tmp_path / "out")
    with pytest.raises(UsageError, match=r"pip install 'event-generator\[dask\]'"):
        generate(_config(out, 10, dask="tcp://127.0.0.1:8786"))
    assert not os.path.exists(out), "nothing is written when the cluster cannot be used"


def test_an_unreachable_scheduler_is_refused_before_anything_is_written(
    tmp_path, monkeypatch
) -> None:
    pytest.importorskip("distributed")
    monkeypatch.setattr(dask_runner, "CONNECT_TIMEOUT", "1s")
    out = str(tmp_path / "out")
    with pytest.raises(UsageError, match="cannot reach a Dask scheduler"):
        generate(_config(out, 10, dask="tcp://127.0.0.1:9"))
    assert not os.path.exists(out)


@pytest.mark.parametrize("address", ["nonsense", "tcp://", "http://host:8786/path", ""])
def test_a_dask_address_that_cannot_be_one_is_refused_at_once(tmp_path, address: str) -> None:
    """Dask would try ``nonsense`` for 40 s and end in a traceback: refused before it is asked."""
    out = str(tmp_path / "out")
    with pytest.raises(UsageError, match="is not a scheduler address"):
        generate(_config(out, 10, dask=address or " "))
    assert not os.path.exists(out)


@pytest.mark.slow
def test_a_dask_cluster_writes_the_same_bytes_as_a_local_run(tmp_path, monkeypatch) -> None:
    distributed = pytest.importorskip("distributed")
    local = str(tmp_path / "local")
    remote = str(tmp_path / "remote")
    generate(_config(local, 45, workers=1, chunk_users=SMALL_CHUNKS))
    generate(_config(str(tmp_path / "local-segment"), 300, format="segment", gzip=True))
    # ":0", not None: None still takes 8787, and two such tests at once (xdist) collide on it.
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
    ) as cluster:
        updates: list[ProgressUpdate] = []
        result = generate(
            _config(remote, 45, dask=cluster.scheduler_address, chunk_users=SMALL_CHUNKS),
            progress=updates.append,
        )
        # A relative output folder (the workers have working folders of their own) and a format.
        monkeypatch.chdir(tmp_path)
        address = cluster.scheduler_address
        generate(_config("remote-segment", 300, format="segment", gzip=True, dask=address))
    assert tree_bytes(str(tmp_path / "remote-segment")) == tree_bytes(
        str(tmp_path / "local-segment")
    )
    assert tree_bytes(remote) == tree_bytes(local)
    assert len(os.listdir(os.path.join(remote, "events"))) == 3
    assert updates[-1].users_done == 45 and updates[-1].events == result.stats.events


def test_the_walker_builds_the_same_lines_as_the_encoder_would() -> None:
    """The walker builds JSON lines in place from ``day_parts``; any other encoder gets calls."""
    from generator.encoders import FlatJsonEncoder
    from generator.loaders import load_product
    from generator.params import Params
    from generator.population import Population
    from generator.walker import Walker, WalkStats

    class CallsPerLine(FlatJsonEncoder):
        def line(self, prefix: str, event: int, ms: int) -> str:
            return super().line(prefix, event, ms)

    product = load_product(example("events.csv"), example("flows.csv"), example("lookup_table.csv"))
    params = Params()
    population = Population(product, params, 4, END_MS)
    slow = CallsPerLine(product.events)
    assert slow.day_parts(20_000) is None
    outputs = []
    for encoder in (FlatJsonEncoder(product.events), slow):
        walker = Walker(product, params, 4, END_MS, encoder=encoder)
        stats = WalkStats.for_product(product)
        lines: list[str] = []
        for index in range(60):
            walker.simulate(population.create(index), lines, stats)
        outputs.append((lines, stats))
    assert outputs[0] == outputs[1] and len(outputs[0][0]) > 1000


@pytest.mark.slow
def test_a_dask_worker_lost_ends_the_run_with_one_message(tmp_path) -> None:
    """As a local worker killed: exit status 1 naming what happened, nothing left staged."""
    distributed = pytest.importorskip("distributed")
    out = str(tmp_path / "out")
    staged = os.path.join(out, STAGING, "events")
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
    ) as cluster:
        victim = next(iter(cluster.workers.values())).process.pid
        killed = threading.Event()

        def kill_when_writing() -> None:
            while not (os.path.isdir(staged) and os.listdir(staged)):
                if killed.wait(0.02):  # the run ended first
                    return
            os.kill(victim, signal.SIGKILL)
            killed.set()

        killer = threading.Thread(target=kill_when_writing, daemon=True)
        killer.start()
        config = _config(out, 2000, chunk_users=SMALL_CHUNKS, dask=cluster.scheduler_address)
        with pytest.raises(OutputError, match="left the cluster"):
            generate(config)
        killed.set()
        killer.join()
    assert not os.path.exists(out)
