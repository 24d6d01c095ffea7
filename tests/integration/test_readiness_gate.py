"""Upgrades that prove themselves, and one operation per module, on a real podman service.

The readiness gate (software/container/readiness.py) must keep the old
container running untouched (same id, never stopped) whenever the new one
fails to prove itself; the module lock (locking.py) must serialise
concurrent operations on one module, so that they end in exactly one
container.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

APP1 = "localhost/tedge-test/app:1"
APP2 = "localhost/tedge-test/app:2"
CRASH = "localhost/tedge-test/gate-crash:1"
NEVER_HEALTHY = "localhost/tedge-test/gate-never-healthy:1"
SLOW_HEALTHY = "localhost/tedge-test/gate-slow-healthy:1"

_LOOP = 'trap "exit 0" TERM; {pre}while true; do sleep 1 & wait $!; done'


@pytest.fixture(scope="module")
def gate_images(podman_service, test_images) -> None:
    """Images built on app:1: one that crashes with a message, two with a HEALTHCHECK."""
    containerfiles = {
        CRASH: 'CMD ["/bin/sh", "-c", "echo starting; echo error: FOO is not set >&2; exit 3"]',
        NEVER_HEALTHY: "HEALTHCHECK --interval=1s --timeout=2s CMD false\n"
        f"CMD {json.dumps(['/bin/sh', '-c', _LOOP.format(pre='')])}",
        # Healthy once its web server answers, 2 s after the start. (A file test would do, but the
        # podman 5 test root runs checks outside the container's filesystem; its network is right.)
        SLOW_HEALTHY: "HEALTHCHECK --interval=1s --timeout=2s "
        "CMD /bin/busybox wget -q -O /dev/null http://127.0.0.1:8080/version\n"
        f"CMD {json.dumps(['/bin/sh', '-c', _LOOP.format(pre='sleep 2; httpd -p 8080 -h /www; ')])}",
    }
    for image, body in containerfiles.items():
        # Below the temporary directory: the podman 5 root sees it there (tests/support/trixie.py).
        with tempfile.TemporaryDirectory() as context:
            Path(context, "Containerfile").write_text(f"FROM {APP1}\n{body}\n")
            # Docker format: the OCI image format has no HEALTHCHECK.
            podman_service.cli(
                "build", "--format", "docker", "--pull=never", "-t", image, context, timeout=300
            )


@pytest.fixture(autouse=True)
def _quiet(plugin) -> None:
    plugin.set_config("report", "enabled", False)


def inspect(podman_service, name: str) -> dict | None:
    result = podman_service.cli("container", "inspect", name, check=False)
    return json.loads(result.stdout)[0] if result.returncode == 0 else None


def names(podman_service) -> list[str]:
    return sorted(podman_service.cli("ps", "-a", "--format", "{{.Names}}").stdout.split())


def last_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else ""


def install_v1(plugin, podman_service) -> dict:
    assert plugin.run("install", "web", "--module-version", APP1).returncode == 0
    before = inspect(podman_service, "web")
    assert before is not None and before["State"]["Running"]
    return before


def assert_untouched(podman_service, before: dict) -> None:
    """The old container is the same one, never stopped, and the only one."""
    after = inspect(podman_service, "web")
    assert after is not None
    assert after["Id"] == before["Id"]
    assert after["State"]["Running"] and after["State"]["StartedAt"] == before["State"]["StartedAt"]
    assert after["RestartCount"] == 0
    assert names(podman_service) == ["web"]


def test_upgrade_to_an_image_that_exits_is_rejected(plugin, podman_service, gate_images) -> None:
    before = install_v1(plugin, podman_service)
    result = plugin.run("install", "web", "--module-version", CRASH)
    assert result.returncode == 2
    line = last_line(result)
    assert line.startswith(f"Installing web failed: the new container from {CRASH} did not prove itself: ")
    assert "it exited with code 3" in line
    assert "error: FOO is not set" in line
    assert line.endswith("The previous container web was left as it was.")
    assert_untouched(podman_service, before)
    assert plugin.run("list").stdout == f"web\t{APP1}\n"


def test_upgrade_whose_healthcheck_never_passes_is_rejected(plugin, podman_service, gate_images) -> None:
    plugin.set_config("container", "health_timeout", 3)
    before = install_v1(plugin, podman_service)
    result = plugin.run("install", "web", "--module-version", NEVER_HEALTHY)
    assert result.returncode == 2
    assert "its HEALTHCHECK did not pass within 3 s (last status: unhealthy" in last_line(result)
    assert_untouched(podman_service, before)


def test_upgrade_that_turns_healthy_is_accepted(plugin, podman_service, gate_images) -> None:
    install_v1(plugin, podman_service)
    result = plugin.run("install", "web", "--module-version", SLOW_HEALTHY)
    assert result.returncode == 0, result.stderr
    assert "healthy after" in result.stderr
    data = inspect(podman_service, "web")
    assert data is not None and data["ImageName"] == SLOW_HEALTHY
    assert plugin.run("list").stdout == f"web\t{SLOW_HEALTHY}\n"


def test_first_install_of_a_crashing_image_leaves_nothing(plugin, podman_service, gate_images) -> None:
    result = plugin.run("install", "web", "--module-version", CRASH)
    assert result.returncode == 2
    assert "did not prove itself: it exited with code 3" in last_line(result)
    assert names(podman_service) == []
    assert plugin.run("list").stdout == ""


def test_concurrent_installs_end_in_exactly_one_container(plugin, podman_service, test_images) -> None:
    install_v1(plugin, podman_service)
    argv = plugin.run_argv
    runs = [
        subprocess.Popen(
            argv("install", "web", "--module-version", image),
            env=plugin.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for image in (APP2, APP1, APP2)
    ]
    results = [(run.wait(120), run.communicate()[1]) for run in runs]
    assert [code for code, _ in results] == [0, 0, 0], results
    assert names(podman_service) == ["web"]
    listed = plugin.run("list").stdout
    data = inspect(podman_service, "web")
    assert data is not None and data["State"]["Running"]
    assert listed == f"web\t{data['ImageName']}\n"


def test_a_waiting_operation_gives_up_naming_the_holder(plugin, podman_service, gate_images) -> None:
    plugin.set_config("container", "health_timeout", 30)
    install_v1(plugin, podman_service)
    slow = start_slow_upgrade(plugin, podman_service)
    try:
        plugin.set_config("container", "lock_timeout", 0.5)
        result = plugin.run("remove", "web")
        assert result.returncode == 3
        assert f"Another operation on container web (process {slow.pid}) still runs after 0.5 s" in last_line(
            result
        )
    finally:
        slow.kill()
        slow.wait()


def test_a_killed_install_is_repaired_by_the_next(plugin, podman_service, gate_images) -> None:
    """Killed mid-gate (the new container exists under its temporary name): the next install cleans up."""
    plugin.set_config("container", "health_timeout", 30)
    install_v1(plugin, podman_service)
    slow = start_slow_upgrade(plugin, podman_service)
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait()
    assert names(podman_service) == ["web", "web.tedge-new"]
    result = plugin.run("install", "web", "--module-version", APP2)
    assert result.returncode == 0, result.stderr
    assert names(podman_service) == ["web"]
    assert plugin.run("list").stdout == f"web\t{APP2}\n"


def start_slow_upgrade(plugin, podman_service) -> subprocess.Popen:
    """An upgrade of `web` in the background, held in the readiness gate (its check never passes)."""
    slow = subprocess.Popen(
        plugin.run_argv("install", "web", "--module-version", NEVER_HEALTHY),
        env=plugin.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_container(podman_service, "web.tedge-new")
    return slow


def wait_for_container(podman_service, name: str, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if name in names(podman_service):
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} did not appear within {timeout} s")
