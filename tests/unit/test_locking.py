"""One operation per module: real flock between real processes (no engine needed)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tedge_container.locking import LockTimeout, lock_path, module_lock

HOLD = """
import sys, time
from tedge_container.locking import module_lock
with module_lock("container", sys.argv[1], 5, *sys.argv[3:]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""
WAIT = """
from tedge_container.locking import module_lock
with module_lock("container", "web", 30, "remove"):
    print("got it", flush=True)
"""


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TEDGE_CONTAINER_PLUGIN_RUNTIME_DIR", str(tmp_path))
    return tmp_path


def holder(name: str, seconds: float, *operation: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, name, str(seconds), *operation],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    assert process.stdout is not None and process.stdout.readline() == "held\n"
    process.stdout.close()  # it prints nothing more
    return process


def test_a_second_operation_waits_then_names_the_holder() -> None:
    process = holder("web", 30)
    try:
        started = time.monotonic()
        with pytest.raises(LockTimeout) as failure, module_lock("container", "web", 0.3):
            pass
        assert time.monotonic() - started >= 0.3
        assert failure.value.exit_code == 3
        assert f"(process {process.pid}) still runs after 0.3 s" in str(failure.value)
    finally:
        process.kill()
        process.wait()


def test_the_kernel_releases_the_lock_of_a_killed_process() -> None:
    process = holder("web", 30)
    process.kill()
    process.wait()
    with module_lock("container", "web", 1):
        pass


def test_the_lock_is_taken_as_soon_as_it_is_free() -> None:
    process = holder("web", 0.5)
    try:
        with module_lock("container", "web", 10):
            assert process.poll() is not None or process.wait(1) == 0
    finally:
        process.wait()


def test_modules_and_types_do_not_share_a_lock(runtime_dir: Path) -> None:
    process = holder("web", 30)
    try:
        with module_lock("container", "db", 0.1), module_lock("container-group", "web", 0.1):
            pass
    finally:
        process.kill()
        process.wait()
    assert lock_path("container", "web") == str(runtime_dir / "locks" / "container" / "web.lock")
    odd = lock_path("container-group", "../x y")
    assert Path(odd).parent == runtime_dir / "locks" / "container-group" and "sha256-" in odd


def test_a_waiting_operation_says_once_whom_it_waits_for() -> None:
    """Issue 26: not a silent wait: one line naming the holder's pid and operation."""
    process = holder("web", 1.0, "install")
    try:
        waiter = subprocess.run(
            [sys.executable, "-c", WAIT],
            capture_output=True,
            text=True,
            env=os.environ,
            timeout=60,
            check=False,
        )
    finally:
        process.wait()
    assert (waiter.returncode, waiter.stdout) == (0, "got it\n"), waiter.stderr
    assert waiter.stderr.splitlines() == [
        f"info: waiting for PID {process.pid} (install web) to finish: it holds the lock of container web "
        "(at most container.lock_timeout = 30 s)"
    ]
