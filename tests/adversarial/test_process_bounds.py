"""Hostile input that reaches processes, names and the engine's state (issue 15, items 5, 7, 8, 9).

Built for real in each test against the session's podman service: a FIFO given
as `--file`, module names longer than a hostname may be, a group install killed
while podman-compose brings its project up, a container caught between the two
renames of a swap, an engine storage fuller than container.min_free_space
allows. Each test asserts the exit code, the last stderr line and
what did not change outside; the plugin's peak memory is bounded too
(`resource.getrusage(RUSAGE_CHILDREN)` in a small process that runs it, see
tests/support/measure.py), not timed.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import signal
import time
from pathlib import Path

import pytest
from tests.conftest import Plugin
from tests.support.group import Group, app, compose, last_line, tar_of
from tests.support.images import TestImages
from tests.support.measure import Measured, run_measured
from tests.support.proc import group_members, live_processes, wait_until

pytestmark = pytest.mark.integration  # real podman: marked as the tests in tests/integration are

APP1 = TestImages.app1
APP2 = TestImages.app2
SOFTWARE_TYPES = ("container", "container-image", "container-group")
PEAK_RSS_BOUND_KB = 100 * 1024  # the plugin's peak RSS: podman-py and PyYAML loaded, nothing more


@pytest.fixture(autouse=True)
def _quiet(plugin: Plugin) -> None:
    plugin.set_config("container", "pruneimages", False)
    plugin.set_config("report", "enabled", False)


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
    plugin.set_config("container_image", "enabled", True)
    version = "1" if software == "container-image" else APP1
    argv = plugin.run_argv(
        "install", "web", "--module-version", version, "--file", str(fifo), software=software
    )
    with open(lock_file, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.monotonic()
        result = Measured(plugin, argv, {"TEDGE_CONTAINER_PLUGIN_RUNTIME_DIR": str(runtime)}).finish(20)
        waited = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    assert last_line(result) == (
        f"--file {fifo} is a FIFO (named pipe), not a regular file: give the path of the archive "
        "or compose file itself (nothing was changed)."
    )
    assert waited < 15, "refused before waiting for the module's lock (lock_timeout is 30 s)"
    assert result.peak_kb < PEAK_RSS_BOUND_KB
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
    seen = podman_service.container_hostname(name)
    assert seen == hostname
    assert container_names(podman_service) == [name]


# -- disk guard: pulls and archive loads ----------------------------------------------------


def engine_storage(podman_service) -> tuple[str, int]:
    """podman's graph root (as its info says) and the free bytes of its filesystem now."""
    status, body = podman_service.api("GET", "/v4.0.0/libpod/info")
    assert status == 200, body
    root = json.loads(body)["store"]["graphRoot"]
    stats = os.statvfs(root)
    return root, stats.f_bavail * stats.f_frsize


def image_exists(podman_service, reference: str) -> bool:
    return podman_service.cli("image", "exists", reference, check=False).returncode == 0


def refuse_below_free_space(plugin: Plugin, podman_service) -> tuple[str, str]:
    """container.min_free_space above what the engine's filesystem has free: every pull must stop.

    Returns the graph root and the margin as the message prints it. 1 GiB above the free
    space, so that other writers on the machine cannot make it fit meanwhile.
    """
    root, free = engine_storage(podman_service)
    margin = free + (1 << 30)
    plugin.set_config("container", "min_free_space", margin)
    from tedge_container.config.values import format_size

    return root, format_size(margin)


# container-group pulls through the same pulling.pull (unit: test_credentials_pull.py), but here its
# data_dir shares the engine's filesystem, so the unpack's own disk guard refuses first.
@pytest.mark.parametrize("software", ["container", "container-image"])
def test_a_pull_is_refused_when_the_engine_storage_is_nearly_full(
    plugin: Plugin, podman_service, test_images, open_registry, tmp_path: Path, software: str
) -> None:
    repository = f"tedge/diskguard-{software}"
    remote = test_images.push(APP1, open_registry, f"{repository}:1")
    assert not image_exists(podman_service, remote)  # a push tags nothing locally
    plugin.set("", "data_dir", str(tmp_path / "data"))
    plugin.set_config("container_image", "enabled", True)
    root, margin = refuse_below_free_space(plugin, podman_service)
    before = container_names(podman_service)
    if software == "container-image":
        args = [remote.rsplit(":", 1)[0], "--module-version", "1"]
        doing = f"Installing image {args[0]} failed: "
    else:
        args = ["web", "--module-version", remote]
        doing = "Installing web failed: "
    result = run_measured(plugin, software, "install", *args)
    assert result.returncode == 2, result.stderr
    line = last_line(result)
    assert line.startswith(f"{doing}Not enough disk space to pull {remote}: {root} has "), line
    assert line.endswith(
        f"free, container.min_free_space = {margin} to keep free. Free space on it: remove images no "
        "container uses (`podman rmi IMAGE`; `podman image prune -a` also deletes the offline images "
        "container-image installed) or modules that are no longer needed, or lower "
        "container.min_free_space (0 turns the check off)."
    ), line
    assert not image_exists(podman_service, remote), "nothing was pulled"
    assert container_names(podman_service) == before
    assert result.peak_kb < PEAK_RSS_BOUND_KB


@pytest.mark.parametrize("software", ["container", "container-image"])
def test_an_archive_load_is_refused_when_the_engine_storage_is_nearly_full(
    plugin: Plugin, podman_service, test_images, tmp_path: Path, software: str
) -> None:
    image = f"localhost/tedge-test/diskguard-{software}:1"
    podman_service.cli("tag", APP1, image)
    archive = test_images.save_archive(image, tmp_path / "app.tar.gz", gzip=True)
    podman_service.cli("rmi", image)
    # A second gzip member of 64 MiB of zeros: tar ignores it, the trailer's ISIZE tells 64 MiB.
    padding = tmp_path / "zeros.gz"
    with gzip.open(padding, "wb", compresslevel=1) as stream:
        for _ in range(64):
            stream.write(bytes(1 << 20))
    with open(archive, "ab") as out:
        out.write(padding.read_bytes())
    plugin.set_config("container_image", "enabled", True)
    root, margin = refuse_below_free_space(plugin, podman_service)
    if software == "container":
        args = ["web", "--module-version", image]
        doing = "Installing web failed: "
    else:
        args = [image.rsplit(":", 1)[0], "--module-version", "1"]
        doing = f"Installing image {args[0]} failed: "
    result = run_measured(plugin, software, "install", *args, "--file", str(archive))
    assert result.returncode == 2, result.stderr
    line = last_line(result)
    assert line.startswith(f"{doing}Not enough disk space to load {archive}: {root} has "), line
    assert f" free, 64 MiB needed plus container.min_free_space = {margin} to keep free." in line
    assert not image_exists(podman_service, image), "nothing was loaded"
    assert container_names(podman_service) == []
    assert result.peak_kb < PEAK_RSS_BOUND_KB


# -- item 9: a container caught between the two renames of a swap ------------------------------


def test_list_shows_a_module_caught_mid_swap_then_the_next_install_heals_it(
    plugin: Plugin, podman_service, test_images
) -> None:
    assert plugin.run("install", "web", "--module-version", APP1).returncode == 0
    assert plugin.run("install", "db", "--module-version", APP2).returncode == 0
    # What a kill between the renames leaves: web was moved aside, web.tedge-new (made and
    # labelled as install makes it) had not taken the name; db's first install had not renamed it.
    podman_service.cli("rename", "web", "web.tedge-old")
    podman_service.cli(
        "run", "-d", "--name", "web.tedge-new",
        "--label", "io.thin-edge.container.managed-by=tedge-container-plugin",
        "--label", f"io.thin-edge.module.version={APP2}",
        APP2,
    )  # fmt: skip
    podman_service.cli("rename", "db", "db.tedge-new")
    assert plugin.run("list").stdout == f"db\t{APP2}\nweb\t{APP1}\n"

    result = plugin.run("install", "web", "--module-version", APP2)
    assert result.returncode == 0, result.stderr
    result = plugin.run("install", "db", "--module-version", APP1)
    assert result.returncode == 0, result.stderr
    assert plugin.run("list").stdout == f"db\t{APP1}\nweb\t{APP2}\n"
    assert container_names(podman_service) == ["db", "web"]
    assert inspect(podman_service, "web")["State"]["Running"]


# -- item 8: podman-compose lives and dies with the plugin -----------------------------------


# How the plugin ends while podman-compose runs, its exit code and its last stderr line.
ENDINGS = {
    "SIGKILL": (-9, ""),
    "SIGINT": (3, "Interrupted; run the command again to finish the operation."),
    "compose_timeout": (3, "Installing group slow 2 failed: podman-compose up did not finish within 4 s;"),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_a_killed_group_install_leaves_no_podman_compose_running(
    group: Group, test_images, tmp_path: Path, ending: str
) -> None:
    v1 = tmp_path / "v1.yaml"
    v1.write_text(compose({"web": app(APP1)}))
    assert group.install("slow", "1", v1).returncode == 0
    # 2's `up` waits (in a `podman wait` that compose runs) for a setup service that takes a minute.
    wait_a_minute = "trap 'exit 0' TERM; sleep 60 & wait $!"  # stops at once when taken down
    setup = {"image": APP1, "command": ["/bin/sh", "-c", wait_a_minute], "restart": "no"}
    web = app(APP2, depends_on={"setup": {"condition": "service_completed_successfully"}})
    slow = tar_of(tmp_path / "v2.tar", {"compose.yaml": compose({"setup": setup, "web": web})})
    if ending == "compose_timeout":
        group.plugin.set("container_group", "compose_timeout", 4)
    argv = group.plugin.run_argv(
        "install", "slow", "--module-version", "2", "--file", str(slow), software="container-group"
    )
    plugin_process = Measured(group.plugin, argv)
    try:
        plugin_pid = plugin_process.plugin_pid()
        children: list[int] = []

        def compose_runs() -> bool:
            table = live_processes()
            children[:] = [pid for pid, (ppid, _, _) in table.items() if ppid == plugin_pid]
            if not children or ending == "compose_timeout":  # its bound ends it wherever it is
                return bool(children)
            return any(
                " wait --condition=stopped" in command
                for _, pgid, command in table.values()
                if pgid == table[children[0]][1]
            )

        wait_until(compose_runs, timeout=60, what="podman-compose to wait for the setup service")
        compose_group = live_processes()[children[0]][1]
        assert compose_group != os.getpgid(plugin_pid), "compose runs in its own process group"
        if ending != "compose_timeout":
            os.kill(plugin_pid, getattr(signal, ending))
        plugin_process.finish(timeout=60)
        # Bounded poll: the whole group (podman-compose and the podman it runs) goes with the plugin.
        wait_until(
            lambda: group_members(compose_group) == [], timeout=10, what="compose's process group to end"
        )
    finally:
        if plugin_process.returncode is None:
            plugin_process.kill()
    code, line = ENDINGS[ending]
    stderr = plugin_process.stderr
    assert plugin_process.returncode == code, stderr
    lines = stderr.strip().splitlines()
    assert (lines[-1] if lines else "").startswith(line), stderr
    assert plugin_process.peak_kb < PEAK_RSS_BOUND_KB
    if ending == "compose_timeout":  # the plugin rolled back itself
        assert lines[-1].endswith("The previous version 1 runs again."), lines[-1]
    assert group.modules() == "slow\t1\n", "listed as the version it runs or is repaired to"
    if ending != "SIGKILL":
        return  # the next install repairs what an interruption left alike: once is enough
    v3 = tmp_path / "v3.yaml"
    v3.write_text(compose({"web": app(APP2)}))
    result = group.install("slow", "3", v3)
    assert result.returncode == 0, result.stderr
    assert group.modules() == "slow\t3\n"
    containers = group.containers("slow")
    assert {service: c["state"] for service, c in containers.items()} == {"web": "running"}
    assert containers["web"]["image"] == APP2
