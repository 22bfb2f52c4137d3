"""ForkPool on its own (no PyCaret): results, errors, deaths, and nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import psutil

from caretflow_engine.forkpool import ForkPool, RemoteError


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def work(task):
    kind, arg = task
    if kind == "square":
        return arg * arg, os.getpid()
    if kind == "raise":
        raise ValueError(f"bad {arg}")
    if kind == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "grandchild":  # a process the helper starts, then the helper keeps working
        proc = subprocess.Popen(["sleep", "60"])
        with open(arg, "w") as fh:
            fh.write(str(proc.pid))
        time.sleep(60)
    if kind == "fds":
        links = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                links.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:  # the descriptor listdir itself used
                pass
        return links
    raise AssertionError(kind)


def run_all(pool: ForkPool, tasks: list) -> list:
    outcomes, queue = [], list(tasks)
    while queue or pool.busy_count():
        while queue and pool.idle_slots():
            pool.submit(queue.pop(0))
        outcomes.append(pool.next_outcome(timeout=30))
    return outcomes


def test_values_and_errors_come_back_and_helpers_are_reaped():
    children_before = {c.pid for c in psutil.Process().children()}
    with ForkPool(work, 2) as pool:
        outcomes = run_all(pool, [("square", 3), ("raise", 7), ("square", 4)])
        pids = pool.pids()
    by_task = {o.task: o for o in outcomes}
    assert by_task[("square", 3)].value[0] == 9 and by_task[("square", 4)].value[0] == 16
    assert {o.value[1] for o in outcomes if o.ok} <= set(pids) and os.getpid() not in pids
    error = by_task[("raise", 7)].error
    assert isinstance(error, RemoteError) and str(error) == "bad 7" and error.type_name == "ValueError"
    assert "ValueError" in error.remote_traceback
    assert {c.pid for c in psutil.Process().children()} == children_before
    assert all(gone(pid) for pid in pids)


def test_a_helper_that_dies_fails_its_task_and_is_replaced():
    with ForkPool(work, 1) as pool:
        outcomes = run_all(pool, [("die", 0), ("square", 5)])
    died, ok = outcomes
    assert died.task == ("die", 0) and "killed by SIGKILL" in died.died and "memory" in died.died
    assert ok.ok and ok.value[0] == 25


def test_close_kills_a_busy_helper_and_what_it_started(tmp_path):
    marker = tmp_path / "grandchild.pid"
    with ForkPool(work, 1) as pool:
        pool.submit(("grandchild", str(marker)))
        deadline = time.monotonic() + 10
        while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        helper = pool.pids()[0]
        grandchild = int(marker.read_text())
        assert not gone(grandchild)
        started = time.monotonic()
    assert time.monotonic() - started < 3
    assert gone(helper)
    deadline = time.monotonic() + 5
    while not gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gone(grandchild)


def test_helpers_hold_none_of_the_parents_descriptors(tmp_path):
    secret = tmp_path / "events.ndjson"
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with ForkPool(work, 1) as pool:
            (outcome,) = run_all(pool, [("fds", None)])
    finally:
        os.close(fd)
    assert outcome.ok and str(secret) not in outcome.value
    assert outcome.value.count(os.devnull) >= 1
