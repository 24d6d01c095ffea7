"""child_guard.py for real, without podman: a parent starts a guarded shell that starts a child of its
own, in a new session as runner.py starts podman-compose; the parent dies; nothing of the group stays."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


# The parents import this checkout's plugin, whatever the environment has installed.
PARENT_ENV = {**os.environ, "PYTHONPATH": str(Path(child_guard.__file__).resolve().parents[1])}


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def dies_with_its_parent(parent_argv: list[str], members: int, signum: int) -> None:
    """Start the parent; once its guard's group has `members` processes, send the parent `signum`:
    nothing of the group may stay."""
    parent = subprocess.Popen(
        parent_argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=PARENT_ENV
    )
    try:
        group = int(parent.stdout.readline())  # type: ignore[union-attr]
        assert wait_for(lambda: len(group_members(group)) == members, 10), group_members(group)
        parent.send_signal(signum)
        parent.wait(timeout=10)
        assert wait_for(lambda: group_members(group) == [], 5), group_members(group)
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.stdin.close()  # type: ignore[union-attr]
        parent.stdout.close()  # type: ignore[union-attr]


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_the_guarded_group_dies_with_its_parent(signum: int) -> None:
    dies_with_its_parent([sys.executable, "-c", PARENT], 4, signum)  # guard, sh and two sleeps


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


# The parent, with a guard started ahead of its command (child_guard.Standby, as install starts
# podman-compose's): argv[1] "now" hands the command over at once, "never" never does.
STANDBY_PARENT = """
import os, sys
from tedge_container.child_guard import Standby
standby = Standby()
print(standby.process.pid, flush=True)
if sys.argv[1] == "now":
    child = standby.start(["/bin/sh", "-c", "sleep 60 & sleep 61"], "/", dict(os.environ))
    child.wait()
else:
    sys.stdin.read()
"""


@pytest.mark.parametrize("handed", ["now", "never"])
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_standby_guard_dies_with_its_parent(signum: int, handed: str) -> None:
    members = 4 if handed == "now" else 1  # guard, sh and two sleeps; or the waiting guard
    dies_with_its_parent([sys.executable, "-c", STANDBY_PARENT, handed], members, signum)


def test_a_standby_guard_runs_what_it_is_handed(tmp_path) -> None:
    standby = child_guard.Standby()
    script = 'pwd; echo "$ONLY"; env | wc -l; cat; echo done; exit 5'
    child = standby.start(["/bin/sh", "-c", script], str(tmp_path), {"ONLY": "this", "PATH": "/usr/bin:/bin"})
    assert child is not None
    output, _ = child.communicate(timeout=10)
    # Its cwd and environment are the ones handed over (nothing of the caller's), its stdin is
    # empty (/dev/null, not the pipe the command came through), its code is passed on.
    lines = output.decode().split()
    assert lines[:2] == [str(tmp_path), "this"]
    assert int(lines[2]) <= 4  # ONLY, PATH and what sh itself sets (PWD, SHLVL)
    assert lines[3:] == ["done"]
    assert child.returncode == 5
    assert standby.start(["/bin/true"], "/", {}) is None  # handed once: a second run starts its own


def test_a_standby_guard_not_needed_ends_without_running_anything(tmp_path) -> None:
    marker = tmp_path / "ran"
    standby = child_guard.Standby()
    process = standby.process
    assert process is not None
    standby.close()
    assert process.returncode == 0
    assert not marker.exists()


def test_a_standby_guard_that_is_gone_hands_nothing_back() -> None:
    standby = child_guard.Standby()
    assert standby.process is not None
    os.killpg(standby.process.pid, signal.SIGKILL)
    standby.process.wait(timeout=10)
    assert standby.start(["/bin/true"], "/", {}) is None


def test_a_standby_guard_reports_a_missing_directory(tmp_path) -> None:
    child = child_guard.Standby().start(["/bin/true"], str(tmp_path / "gone"), {"PATH": "/bin"})
    assert child is not None
    output, _ = child.communicate(timeout=10)
    assert child.returncode == 127
    assert (
        output.decode().strip() == f"child_guard: cannot enter {tmp_path / 'gone'}: No such file or directory"
    )


def test_a_standby_guard_holds_nothing_of_the_callers_environment(monkeypatch) -> None:
    # The plugin's environment may carry registry credentials (the environment provider): the
    # guard waiting for its command must not hold them; the command gets only what it is handed.
    monkeypatch.setenv("TEDGE_TEST_REGISTRY_PASSWORD", "s3cret-value")
    standby = child_guard.Standby()
    try:
        assert standby.process is not None
        environ = Path(f"/proc/{standby.process.pid}/environ").read_bytes()
        assert b"s3cret-value" not in environ
        child = standby.start(["/bin/sh", "-c", "env"], "/", {"PATH": "/usr/bin:/bin"})
        assert child is not None
        output, _ = child.communicate(timeout=10)
        assert b"s3cret-value" not in output and b"PATH=/usr/bin:/bin" in output
    finally:
        standby.close()
