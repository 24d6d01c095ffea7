"""The last line of a failure sends the operator the right way: each fault produced for real.

Faults: the plugin run without root, a Docker socket, a plain-HTTP registry
that registries.conf does not mark insecure, podman's storage full, a broken
credentials.toml. Each test asserts the exit code and the last stderr line.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import PLUGIN_SCRIPT, PLUGIN_SOURCE, Plugin
from tests.support.images import TestImages
from tests.support.podman import PodmanService, unmount_below
from tests.support.registry import Registry

NOBODY = 65534


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert lines, f"nothing on stderr (exit {result.returncode})"
    assert "Traceback" not in result.stderr, result.stderr
    return lines[-1]


@pytest.fixture()
def readable_config_dir() -> Iterator[Path]:
    """A TEDGE_CONFIG_DIR that an unprivileged user can read (pytest's tmp_path is root's only)."""
    directory = Path(tempfile.mkdtemp(prefix="tedge-advice-"))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_without_root_the_advice_is_sudo(readable_config_dir: Path, podman_service: PodmanService) -> None:
    """tedge-agent runs plugins through sudo: run by hand as a user, the socket is not the problem."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv (util-linux) to run the plugin as an unprivileged user")
    plugin = Plugin(readable_config_dir, podman_service)
    plugin.config_file.chmod(0o644)
    (readable_config_dir / "plugins").chmod(0o755)
    # The system python (the test's may live under /root), this checkout's code and
    # the test virtualenv's packages, all readable by anyone.
    site = next(Path(sys.prefix, "lib").glob("python3*/site-packages"))
    env = {"PYTHONPATH": f"{PLUGIN_SOURCE}{os.pathsep}{site}"}
    argv = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "/usr/bin/python3",
            str(PLUGIN_SCRIPT), "list"]  # fmt: skip
    result = plugin._exec(argv, None, env, 60)
    line = last_line(result)
    assert result.returncode == 2, result
    assert f"Permission denied on podman's socket {podman_service.socket_path} for user" in line
    assert "sudo" in line
    assert "start podman's API socket" not in line


@contextlib.contextmanager
def docker_stub(path: Path) -> Iterator[None]:
    """A unix socket answering every request as Docker answers a path it does not know."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    server.settimeout(0.2)
    stop = threading.Event()
    body = b'{"message":"page not found"}\n'
    answer = (
        b"HTTP/1.1 404 Not Found\r\nApi-Version: 1.45\r\nContent-Type: application/json\r\n"
        b"Server: Docker/26.1.5 (linux)\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
        b"Connection: close\r\n\r\n" + body
    )

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except socket.timeout:
                continue
            with connection:
                connection.settimeout(2)
                with contextlib.suppress(OSError):
                    connection.recv(65536)
                    connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


def test_a_docker_socket_is_named_as_docker(plugin: Plugin, tmp_path: Path) -> None:
    path = tmp_path / "docker.sock"
    plugin.set_config("container", "host", f"unix://{path}")
    with docker_stub(path):
        result = plugin.run("list", timeout=60)
    line = last_line(result)
    assert result.returncode == 2, result
    assert line.startswith(f"The socket {path} is Docker's, not podman's"), line
    assert "this plugin needs podman" in line
    assert "b'" not in result.stderr and "\\n" not in result.stderr


def test_a_plain_http_registry_needs_insecure_in_registries_conf(plugin: Plugin, tmp_path: Path) -> None:
    """A registry of its own, plain HTTP, that the session's podman service was never told about."""
    registry = Registry("plain_http_registry", tmp_path / "plain-registry").start()
    try:
        image = f"{registry.host}/advice/plain-http:1"
        result = plugin.run("install", "advice-http", "--module-version", image, timeout=120)
    finally:
        registry.stop()
    line = last_line(result)
    assert result.returncode == 2, result
    assert f'location = "{registry.host}"' in line and "insecure = true" in line, line
    assert "registries.conf" in line
    assert "ca.crt" not in line and "certificate" not in line


def test_a_full_storage_is_named(
    tmp_path: Path, podman_service: PodmanService, open_registry: Registry, test_images: TestImages
) -> None:
    """A podman service of its own, all on a 24 MiB tmpfs; the image needs 32 MiB.

    The disk guard refuses the pull first (less than container.min_free_space is free);
    with the guard off, podman's own "no space left" is named as a full storage.
    """
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    image = test_images.push(test_images.big_image(32), open_registry, "advice/big:32m")
    # Not below /tmp: the podman 5 chroot binds /tmp without the mounts below it. podman
    # wants a runroot path under 50 characters.
    workdir = Path(tempfile.mkdtemp(prefix="tcp-full-", dir="/var/tmp"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(workdir)], check=True, timeout=30)
    # vfs: no storage-driver probe (it unmounts what is below the service's directory).
    small = PodmanService(workdir, insecure_registries=[open_registry], storage_driver="vfs")
    try:
        small.start()
        config_dir = tmp_path / "tedge"
        config_dir.mkdir()
        plugin = Plugin(config_dir, small)
        result = plugin.run("install", "advice-full", "--module-version", image, timeout=300)
        line = last_line(result)
        assert result.returncode == 2, result
        assert f"Not enough disk space to pull {image}: {small.root} has " in line, line
        assert "podman image prune" in line
        guard_off = {"CONTAINER_CONTAINER_MIN_FREE_SPACE": "0"}
        result = plugin.run("install", "advice-full", "--module-version", image, env=guard_off, timeout=300)
        line = last_line(result)
        assert result.returncode == 2, result
        assert f"podman's storage ({small.root}) is full" in line, line
        assert "podman image prune" in line
    finally:
        small.stop()
        unmount_below(workdir)  # the tmpfs too
        shutil.rmtree(workdir, ignore_errors=True)


def test_a_broken_credentials_file_is_named_as_broken(
    plugin: Plugin, auth_registry_a: Registry, test_images: TestImages, tmp_path: Path
) -> None:
    image = test_images.push(test_images.app1, auth_registry_a, "advice/private:1")
    registry = image.split("/", 1)[0]
    credentials = tmp_path / "credentials.toml"
    credentials.write_text(f'[registry1]\nrepo = "{registry}"\nusername = "user-a"\npassword = secret-a\n')
    credentials.chmod(0o600)
    plugin.set_config("registry", "credentials_path", str(credentials))
    plugin.set_config("registry", "helper", "")
    result = plugin.run("install", "advice-creds", "--module-version", image, timeout=120)
    line = last_line(result)
    assert result.returncode == 2, result
    assert f"a credential source is broken: {credentials} is not valid TOML" in line, line
    assert "at line 4" in line
    assert "add an entry" not in line
    assert "secret-a" not in result.stderr
