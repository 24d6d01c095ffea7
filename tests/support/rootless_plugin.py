"""The plugin as tedge-agent runs it on a rootless device, for tests/integration/test_rootless*.py.

No `container.host` (finding the engine is what is tested), data_dir of the
test's own, the sm-plugins run by root with `SUDO_UID` of the engine's user,
the monitor as its unit starts it (root, no `SUDO_UID`). tedge's config
directory belongs to the user, as `tedge init` leaves /etc/tedge.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Plugin
from tests.support.podman import PodmanService
from tests.support.registry import Registry
from tests.support.rootless import RootlessPodman

RUN = secrets.token_hex(3)


class RootlessPlugin(Plugin):
    """The plugin with no container.host, data_dir of its own, run by root for the user in SUDO_UID."""

    def __init__(self, config_dir: Path, podman: PodmanService, rootless: RootlessPodman, data_dir: Path):
        self._sudo = False
        self.root_home = "/root"  # root's HOME, as sudo sets it
        super().__init__(config_dir, podman)
        self.rootless = rootless
        self.set("container", "host", None)
        self.set("", "data_dir", str(data_dir))
        self.set("report", "enabled", False)
        os.chown(config_dir, rootless.uid, rootless.gid)  # as `tedge init` leaves /etc/tedge

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Root's environment as a systemd unit gives it (no SUDO_UID, no XDG_RUNTIME_DIR); while a
        plugin runs (`_exec`), what `sudo -n` gives a plugin that the user's tedge-agent runs."""
        env = {
            key: value
            for key, value in super().env(extra).items()
            if not key.startswith(("SUDO_", "XDG_", "DOCKER_", "REGISTRY_AUTH"))
        }
        env["HOME"] = self.root_home
        if self._sudo:
            user = self.rootless
            env.update(SUDO_UID=str(user.uid), SUDO_GID=str(user.gid), SUDO_USER=user.user)
        return env

    def sudo_env(self) -> dict[str, str]:
        self._sudo = True
        try:
            return self.env()
        finally:
            self._sudo = False

    def _exec(
        self, argv: list[str], stdin: str | None, env: Mapping[str, str] | None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        self._sudo = True
        try:
            return super()._exec(argv, stdin, env, timeout)
        finally:
            self._sudo = False

    @property
    def record(self) -> Path:
        return Path(self._sections[""]["data_dir"]) / "engine"


@pytest.fixture(name="plugin")
def rootless_plugin(
    tmp_path: Path, podman_service: PodmanService, rootless_podman: RootlessPodman
) -> Iterator[RootlessPlugin]:
    config_dir = tmp_path / "tedge"
    config_dir.mkdir()
    try:
        yield RootlessPlugin(config_dir, podman_service, rootless_podman, tmp_path / "data")
    finally:
        rootless_podman.remove_all_containers()


@pytest.fixture(name="refs", scope="module")
def rootless_refs(test_images: Any, open_registry: Registry) -> dict[str, str]:
    """app:1, app:2 and exits:1 in the open registry, for the rootless engine to pull."""
    return {
        "app1": test_images.push(test_images.app1, open_registry, f"rootless-{RUN}/app:1"),
        "app2": test_images.push(test_images.app2, open_registry, f"rootless-{RUN}/app:2"),
        "exits": test_images.push(test_images.exits, open_registry, f"rootless-{RUN}/exits:1"),
    }


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    return lines[-1] if lines else ""


def inspect(rootless: RootlessPodman, name: str) -> dict[str, Any]:
    return json.loads(rootless.cli("inspect", "--type", "container", name).stdout)[0]


def beside_roots_engine(podman_service: PodmanService) -> str:
    """The mounts of a device where root's engine answers at /run/podman/podman.sock (the test's
    root service) and nothing else is in /run: no rootless socket."""
    return (
        "mount -t tmpfs tmpfs /run\n"
        "mkdir -p /run/podman\n"
        "touch /run/podman/podman.sock\n"
        f"mount --bind {podman_service.socket_path} /run/podman/podman.sock\n"
    )


def in_private_mounts(script: str, argv: list[str]) -> list[str]:
    """`argv` in a mount namespace of its own where `script` (sh) ran first as root: nothing leaks out."""
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-ec",
        script + '\nexec "$@"',
        "sh",
        *argv,
    ]


def dead_socket(path: Path) -> Path:
    """A unix socket file that nobody listens on any more (a killed service's): connect is refused."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.close()
    return path
