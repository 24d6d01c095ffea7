"""child_guard.py for real, without podman: a parent starts a guarded shell that starts a child of its
own, in a new session as runner.py starts podman-compose; the parent dies; nothing of the group stays."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from tests.support.proc import group_members

from tedge_container import child_guard

# The parent: starts `sh` (which starts a `sleep` of its own) under the guard, says the group, waits.
PARENT = """
import subprocess, sys
from tedge_container.child_guard import guarded
child = subprocess.Popen(guarded(["/bin/sh", "-c", "sleep 60 & sleep 61"]), start_new_session=True)
print(child.pid, flush=True)
child.wait()
"""


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_the_guarded_group_dies_with_its_parent(signum: int) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        group = int(parent.stdout.readline())  # type: ignore[union-attr]
        assert wait_for(lambda: len(group_members(group)) == 4, 10), "guard, sh and two sleeps run"
        parent.send_signal(signum)
        parent.wait(timeout=10)
        assert wait_for(lambda: group_members(group) == [], 5), group_members(group)
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.stdout.close()  # type: ignore[union-attr]


def test_the_guard_passes_the_exit_code_on() -> None:
    def code(script: str) -> int:
        argv = child_guard.guarded(["/bin/sh", "-c", script])
        return subprocess.run(argv, check=False, start_new_session=True, timeout=10).returncode

    assert code("exit 7") == 7
    assert code("kill -9 $$") == 128 + 9


def test_a_guard_started_in_the_callers_group_makes_its_own() -> None:
    # Without a session of its own, the guard's group kill must still never reach its caller.
    argv = child_guard.guarded([sys.executable, "-c", "import os; print(os.getpgrp())"])
    result = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=10)
    assert result.returncode == 0
    assert int(result.stdout) != os.getpgrp()
