"""Hostile input that reaches processes, names and the engine's state (issue 15, items 5, 7, 8, 9).

Built for real in each test against the session's podman service: a FIFO given
as `--file`, module names longer than a hostname may be, a group install killed
while podman-compose brings its project up, a container caught between the two
renames of a swap. Each test asserts the exit code, the last stderr line and
what did not change outside; the children's peak memory is bounded too
(`resource.getrusage(RUSAGE_CHILDREN)`, not timed).
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import time
import uuid
from pathlib import Path

import pytest
from tests.conftest import Plugin
from tests.support.group import Group, last_line
from tests.support.images import TestImages

pytestmark = pytest.mark.integration  # real podman: marked as the tests in tests/integration are

APP1 = TestImages.app1
APP2 = TestImages.app2
SOFTWARE_TYPES = ("container", "container-image", "container-group")
PEAK_RSS_BOUND_KB = 150 * 1024  # the plugin child's peak RSS: podman-py and PyYAML loaded, nothing more


@pytest.fixture(autouse=True)
def _quiet(plugin: Plugin) -> None:
    plugin.set_config("container", "pruneimages", False)
    plugin.set_config("report", "enabled", False)


@pytest.fixture()
def group(plugin: Plugin) -> Group:
    # As tests/integration/conftest.py's: below the service's directory (podman 5 runs chrooted).
    return Group(plugin, plugin.podman.workdir / "group-data" / uuid.uuid4().hex[:8])


def peak_children_rss_kb() -> int:
    """The largest peak RSS of any child this test process waited for (Linux: KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def container_names(podman_service) -> list[str]:
    return sorted(podman_service.cli("ps", "-a", "--format", "{{.Names}}").stdout.split())


def inspect(podman_service, name: str) -> dict:
    return json.loads(podman_service.cli("container", "inspect", name).stdout)[0]


# -- item 5: a FIFO as --file ------------------------------------------------------------


@pytest.mark.parametrize("software", SOFTWARE_TYPES)
def test_fifo_as_file_is_refused_at_once_before_the_lock(
    plugin: Plugin, podman_service, tmp_path: Path, software: str
) -> None:
    plugin.set("", "data_dir", str(tmp_path / "data"))
    fifo = tmp_path / "archive.tar"
    os.mkfifo(fifo)
    # Another operation holds the module's lock (locking.py's file): a check after the lock would wait.
    plugin.set_config("container", "lock_timeout", 30)
    runtime = tmp_path / "runtime"
    lock_file = runtime / "locks" / software / "web.lock"
    lock_file.parent.mkdir(parents=True)
    version = "web:1" if software == "container-image" else APP1
    argv = plugin.run_argv(
        "install", "web", "--module-version", version, "--file", str(fifo), software=software
    )
    with open(lock_file, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.monotonic()
        result = plugin._exec(argv, None, {"TEDGE_CONTAINER_PLUGIN_RUNTIME_DIR": str(runtime)}, timeout=20)
        waited = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    assert last_line(result) == (
        f"--file {fifo} is a FIFO (named pipe), not a regular file: give the path of the archive "
        "or compose file itself (nothing was changed)."
    )
    assert waited < 15, "refused before waiting for the module's lock (lock_timeout is 30 s)"
    assert container_names(podman_service) == []
    assert not (tmp_path / "data" / "compose" / "web").exists()


# -- item 7: names longer than a hostname ---------------------------------------------------


@pytest.mark.parametrize("length", [64, 65])
def test_name_longer_than_a_hostname_installs_and_upgrades(
    plugin: Plugin, podman_service, test_images, length: int
) -> None:
    name = ("long-name-" * 10)[: length - 2] + "-x"  # a '-' at the cut: stripped from the hostname
    assert len(name) == length
    for version in (APP1, APP2):  # an install, then the upgrade a switching device must manage
        result = plugin.run("install", name, "--module-version", version)
        assert result.returncode == 0, result.stderr
        assert plugin.run("list").stdout == f"{name}\t{version}\n"
    data = inspect(podman_service, name)
    assert data["State"]["Running"], data["State"]
    hostname = name[:63].rstrip("-._")
    assert data["Config"]["Hostname"] == hostname
    assert len(hostname) <= 63 and hostname[-1].isalnum()
    seen = podman_service.cli("exec", name, "hostname").stdout.strip()
    assert seen == hostname
    assert container_names(podman_service) == [name]
