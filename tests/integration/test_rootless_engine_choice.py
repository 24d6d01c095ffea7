"""A rootless device's engine is never swapped for root's: dead or missing sockets, with and without
the record the sm-plugins keep (engine/discovery.py). Each plugin run gets a mount namespace of its
own where /run holds what the test wants (root's engine, a dead socket, nothing); nothing changes
outside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.podman import PodmanService
from tests.support.rootless import RootlessPodman
from tests.support.rootless_plugin import (  # noqa: F401 - fixtures `plugin`, `refs`
    RUN,
    RootlessPlugin,
    beside_roots_engine,
    dead_socket,
    in_private_mounts,
    last_line,
    rootless_plugin,
    rootless_refs,
)


@pytest.mark.parametrize("state", ["dead", "missing"])
def test_a_dead_rootless_socket_beside_a_live_root_socket_exits_3_and_leaves_root_alone(
    plugin: RootlessPlugin,
    rootless_podman: RootlessPodman,
    podman_service: PodmanService,
    refs: dict[str, str],
    tmp_path: Path,
    state: str,
) -> None:
    name = f"pinned-{RUN}"
    result = plugin.run("install", name, "--module-version", refs["app1"])  # the device's engine, recorded
    assert result.returncode == 0, result.stderr
    # In a mount namespace of the plugin's own: root's engine at /run/podman/podman.sock (the test's
    # root service); the user's socket dead (a killed service) or gone (podman.socket stopped, no
    # linger). Nothing changes outside.
    own = rootless_podman.socket_path
    script = beside_roots_engine(podman_service)
    if state == "dead":
        script += (
            f"mkdir -p {own.parent}\ntouch {own}\nmount --bind {dead_socket(tmp_path / 'dead.sock')} {own}\n"
        )
    argv = in_private_mounts(
        script, plugin.run_argv("install", f"{name}-2", "--module-version", refs["app2"])
    )
    result = plugin._exec(argv, None, None, 120)
    assert result.returncode == 3, result.stderr
    line = last_line(result)
    reason = "connection refused" if state == "dead" else "the socket does not exist"
    assert line.startswith(
        f"Installing {name}-2 failed: Cannot reach podman at {own}, the engine this device has been "
        f"using (recorded in {plugin.record}) ({reason}"
    ), line
    user = rootless_podman.user
    assert (
        f"(as {user}: systemctl --user enable --now podman.socket; as root: loginctl enable-linger {user})"
        in line
    )
    assert "set container.host" in line
    assert podman_service.cli("ps", "-a", "--format", "{{.Names}}").stdout.split() == []  # root's untouched
    assert rootless_podman.container_names() == [name]


def test_a_switching_device_stays_on_its_users_engine_while_the_socket_is_down(
    plugin: RootlessPlugin,
    rootless_podman: RootlessPodman,
    podman_service: PodmanService,
    refs: dict[str, str],
) -> None:
    """Nothing recorded yet (the Go plugin wrote no record), the user's socket missing, root's there."""
    script = beside_roots_engine(podman_service)
    argv = in_private_mounts(
        script, plugin.run_argv("install", f"sw-{RUN}", "--module-version", refs["app1"])
    )
    result = plugin._exec(argv, None, None, 120)
    assert result.returncode == 3, result.stderr
    line = last_line(result)
    assert line.startswith(
        f"Installing sw-{RUN} failed: Cannot reach podman at {rootless_podman.socket_path} "
        f"(the socket does not exist), the rootless engine of user {rootless_podman.user}, "
        "who keeps podman's store in "
    ), line
    assert "set container.host" in line
    assert podman_service.cli("ps", "-a", "--format", "{{.Names}}").stdout.split() == []
    assert not plugin.record.exists()


def test_without_a_record_a_missing_rootless_socket_names_only_the_paths_tried(
    plugin: RootlessPlugin, rootless_podman: RootlessPodman, tmp_path: Path
) -> None:
    script = "mount -t tmpfs tmpfs /run\n"  # no engine at all: neither the user's nor root's
    result = plugin._exec(in_private_mounts(script, plugin.run_argv("list")), None, None, 60)
    assert result.returncode == 3, result.stderr
    uid, user = rootless_podman.uid, rootless_podman.user
    assert last_line(result) == (
        f"Cannot reach podman: none of /run/user/{uid}/podman/podman.sock, "
        f"/tmp/storage-run-{uid}/podman/podman.sock, /run/podman/podman.sock, "
        "/run/user/0/podman/podman.sock exists; start the rootless podman API socket "
        f"of user {user} (as {user}: systemctl --user enable --now podman.socket; "
        f"as root: loginctl enable-linger {user}), or start podman's API socket "
        "(as root: systemctl enable --now podman.socket)."
    )
    assert not plugin.record.exists()


def test_container_host_moves_the_device_and_the_record_follows(
    plugin: RootlessPlugin,
    rootless_podman: RootlessPodman,
    podman_service: PodmanService,
    refs: dict[str, str],
) -> None:
    name = f"moved-{RUN}"
    result = plugin.run("install", name, "--module-version", refs["app1"])
    assert result.returncode == 0, result.stderr
    assert plugin.record.read_text() == f"{rootless_podman.socket_path}\n"
    try:
        plugin.set("container", "host", podman_service.url)  # the deliberate move to root's engine
        # No network on root's side: root engines of parallel test runs share the host's network
        # namespace (their bridges and DNS can collide), and the point here is the engine choice.
        plugin.set("container", "network", "")
        result = plugin.run("install", f"{name}-root", "--module-version", refs["app1"])
        assert result.returncode == 0, result.stderr
        assert plugin.record.read_text() == f"{podman_service.socket_path}\n"
        plugin.set("container", "host", None)  # unpinned again: the device stays where it was moved
        assert plugin.run("list").stdout.splitlines() == [f"{name}-root\t{refs['app1']}"]
        assert rootless_podman.container_names() == [name]
    finally:
        podman_service.cli("rm", "--force", "--time", "0", f"{name}-root", check=False)
