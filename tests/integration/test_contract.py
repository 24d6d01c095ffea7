"""The sm-plugin contract against a real podman service and a real registry.

Each test drives `sm-plugins/container` as tedge-agent does and checks what an
operator would see: the container runs, `list` shows the exact version, the
exit code and the last stderr line.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

APP1 = "localhost/tedge-test/app:1"
APP2 = "localhost/tedge-test/app:2"
NOCMD = "localhost/tedge-test/nocmd:1"


@pytest.fixture(autouse=True)
def _keep_shared_images(plugin) -> None:
    """The session's test images are shared: only the pruning test lets the plugin remove images."""
    plugin.set_config("container", "pruneimages", False)
    plugin.set_config("report", "enabled", False)


def inspect(podman_service, name: str) -> dict | None:
    result = podman_service.cli("container", "inspect", name, check=False)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout)[0]


def names(podman_service) -> list[str]:
    result = podman_service.cli("ps", "-a", "--format", "{{.Names}}")
    return sorted(result.stdout.split())


def last_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else ""


def assert_runs(podman_service, name: str, image: str) -> dict:
    data = inspect(podman_service, name)
    assert data is not None, f"container {name} does not exist"
    assert data["State"]["Running"], data["State"]
    assert data["ImageName"] == image
    return data


def test_list_empty_engine(plugin) -> None:
    result = plugin.run("list")
    assert (result.returncode, result.stdout) == (0, "")


def test_install_local_image_then_list_shows_exact_version(plugin, podman_service, test_images) -> None:
    result = plugin.run("install", "web", "--module-version", APP1)
    assert result.returncode == 0, result.stderr
    data = assert_runs(podman_service, "web", APP1)
    assert data["Config"]["Labels"]["io.thin-edge.module.version"] == APP1
    assert data["Config"]["Labels"]["io.thin-edge.container.managed-by"] == "tedge-container-plugin"
    assert data["HostConfig"]["RestartPolicy"]["Name"] == "always"
    assert "tedge" in data["NetworkSettings"]["Networks"]
    assert data["NetworkSettings"]["Ports"].get("8080/tcp"), "exposed port is published"
    assert plugin.run("list").stdout == f"web\t{APP1}\n"


def test_version_is_reported_verbatim(plugin, podman_service, test_images, open_registry) -> None:
    remote = test_images.push(APP1, open_registry, "tedge/verbatim:1")
    short = remote.rsplit(":", 1)[0]  # no tag means latest, but the label keeps what was given
    test_images.push(APP1, open_registry, "tedge/verbatim:latest")
    result = plugin.run("install", "web", "--module-version", short)
    assert result.returncode == 0, result.stderr
    assert plugin.run("list").stdout == f"web\t{short}\n"
    assert_runs(podman_service, "web", f"{short}:latest")


def test_install_pulls_a_missing_image(plugin, podman_service, test_images, open_registry) -> None:
    remote = test_images.push(APP2, open_registry, "tedge/pulled:2")
    podman_service.cli("rmi", "-f", remote, check=False)
    result = plugin.run("install", "pulled", "--module-version", remote)
    assert result.returncode == 0, result.stderr
    assert_runs(podman_service, "pulled", remote)


def test_reinstall_same_version_and_upgrade(plugin, podman_service, test_images) -> None:
    assert plugin.run("install", "web", "--module-version", APP1).returncode == 0
    again = plugin.run("install", "web", "--module-version", APP1)
    assert again.returncode == 0, again.stderr
    assert_runs(podman_service, "web", APP1)
    upgrade = plugin.run("install", "web", "--module-version", APP2)
    assert upgrade.returncode == 0, upgrade.stderr
    assert_runs(podman_service, "web", APP2)
    assert names(podman_service) == ["web"], "no temporary or old container is left"
    assert plugin.run("list").stdout == f"web\t{APP2}\n"


def test_failed_create_keeps_the_old_container(plugin, podman_service, test_images) -> None:
    assert plugin.run("install", "web", "--module-version", APP1).returncode == 0
    before = inspect(podman_service, "web")
    result = plugin.run("install", "web", "--module-version", NOCMD)
    assert result.returncode == 2
    assert "Installing web failed" in last_line(result)
    assert "was left as it was" in last_line(result)
    after = assert_runs(podman_service, "web", APP1)
    assert after["Id"] == before["Id"], "the very same container still runs"
    assert names(podman_service) == ["web"]
    assert "Traceback" not in result.stderr


def test_failed_start_keeps_the_old_container(plugin, podman_service, test_images) -> None:
    podman_service.cli("create", "--name", "badcmd-src", APP1)
    podman_service.cli(
        "commit", "--change", 'CMD ["/does/not/exist"]', "badcmd-src", "localhost/tedge-test/badcmd:1"
    )
    podman_service.cli("rm", "-f", "badcmd-src")
    assert plugin.run("install", "web", "--module-version", APP1).returncode == 0
    result = plugin.run("install", "web", "--module-version", "localhost/tedge-test/badcmd:1")
    assert result.returncode == 2
    assert_runs(podman_service, "web", APP1)
    assert names(podman_service) == ["web"]


def test_first_install_that_fails_leaves_nothing(plugin, podman_service, test_images) -> None:
    result = plugin.run("install", "web", "--module-version", NOCMD)
    assert result.returncode == 2
    assert names(podman_service) == []


def test_interrupted_swap_is_repaired(plugin, podman_service, test_images) -> None:
    """A power loss between the two renames leaves only NAME.tedge-old; the next install recovers it."""
    assert plugin.run("install", "web", "--module-version", APP1).returncode == 0
    podman_service.cli("rename", "web", "web.tedge-old")
    assert plugin.run("list").stdout == f"web\t{APP1}\n"  # listed as what the next install restores
    result = plugin.run("install", "web", "--module-version", APP2)
    assert result.returncode == 0, result.stderr
    assert_runs(podman_service, "web", APP2)
    assert names(podman_service) == ["web"]


def test_replaced_image_is_removed_only_when_unused(plugin, podman_service, test_images, tmp_path) -> None:
    podman_service.cli("tag", APP1, "localhost/tedge-test/prune:1")
    archive = test_images.save_archive("localhost/tedge-test/prune:1", tmp_path / "prune.tar")
    podman_service.cli("rmi", "localhost/tedge-test/prune:1")  # the plugin loads it: it may prune it
    plugin.set_config("container", "pruneimages", True)
    install = ("install", "web", "--module-version", "localhost/tedge-test/prune:1", "--file", str(archive))
    assert plugin.run(*install).returncode == 0
    podman_service.cli("tag", APP1, "localhost/tedge-test/offline:1")  # an image loaded for offline use
    assert plugin.run("install", "web", "--module-version", APP2).returncode == 0
    assert podman_service.cli("image", "exists", "localhost/tedge-test/prune:1", check=False).returncode == 1
    assert (
        podman_service.cli("image", "exists", "localhost/tedge-test/offline:1", check=False).returncode == 0
    )
    assert plugin.run("finalize").returncode == 0
    assert (
        podman_service.cli("image", "exists", "localhost/tedge-test/offline:1", check=False).returncode == 0
    )
    podman_service.cli("rmi", "localhost/tedge-test/offline:1")


def test_network_alias_is_the_module_name(plugin, podman_service, test_images) -> None:
    assert plugin.run("install", "web", "--module-version", APP1).returncode == 0
    assert plugin.run("install", "web", "--module-version", APP2).returncode == 0
    # aardvark-dns may answer a moment late on a busy machine (busybox's nslookup gives up after 5 s):
    # asked again, for up to 10 tries.
    lookup = "for i in 1 2 3 4 5 6 7 8 9 10; do nslookup web && exit 0; sleep 1; done; exit 1"
    probe = podman_service.cli(
        "run", "--rm", "--network", "tedge", APP1, "sh", "-c", lookup, check=False, timeout=120
    )
    web_ip = inspect(podman_service, "web")["NetworkSettings"]["Networks"]["tedge"]["IPAddress"]
    assert web_ip in probe.stdout, probe.stdout + probe.stderr


@pytest.mark.parametrize(
    ("fmt", "compress"), [("docker-archive", False), ("docker-archive", True), ("oci-archive", False)]
)
def test_install_from_archive(plugin, podman_service, test_images, tmp_path: Path, fmt, compress) -> None:
    image = f"localhost/tedge-test/archived-{fmt}-{int(compress)}:1"
    podman_service.cli("tag", APP1, image)
    path = test_images.save_archive(image, tmp_path / "image.tar", fmt=fmt, gzip=compress)
    podman_service.cli("rmi", image)
    result = plugin.run("install", "arch", "--module-version", image, "--file", str(path))
    assert result.returncode == 0, result.stderr
    assert_runs(podman_service, "arch", image)
    assert "elapsed" not in result.stderr  # a short load prints no progress line


def test_long_load_prints_progress(plugin, podman_service, test_images, tmp_path: Path) -> None:
    """Progress lines name the bytes sent of the archive's size (interval shortened from its 5 s)."""
    image = test_images.big_image(64)
    path = test_images.save_archive(image, tmp_path / "big.tar")
    podman_service.cli("rmi", image)
    plugin.set_config("container", "progress_interval", 0.1)
    plugin.set_config("container", "min_ready", 0)  # the image exits at once
    result = plugin.run("install", "big", "--module-version", image, "--file", str(path))
    assert result.returncode == 0, result.stderr
    total = f"of {path.stat().st_size / (1 << 20):.1f} MB"
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"info: Loading {path}: ")]
    assert lines, result.stderr
    assert all(total in line and line.endswith("s elapsed") for line in lines), lines


def test_archive_alone_names_the_image(plugin, podman_service, test_images, tmp_path: Path) -> None:
    image = "localhost/tedge-test/alone:1"
    podman_service.cli("tag", APP1, image)
    path = test_images.save_archive(image, tmp_path / "image.tar")
    podman_service.cli("rmi", image)
    result = plugin.run("install", "alone", "--file", str(path))
    assert result.returncode == 0, result.stderr
    assert plugin.run("list").stdout == f"alone\t{image}\n"


def test_archive_mismatch_loads_and_pulls_nothing(
    plugin, podman_service, test_images, tmp_path: Path
) -> None:
    image = "localhost/tedge-test/mismatch:1"
    podman_service.cli("tag", APP1, image)
    path = test_images.save_archive(image, tmp_path / "image.tar")
    podman_service.cli("rmi", image)
    result = plugin.run(
        "install", "m", "--module-version", "localhost/tedge-test/other:1", "--file", str(path)
    )
    assert result.returncode == 2
    assert "does not hold localhost/tedge-test/other:1" in last_line(result)
    assert podman_service.cli("image", "exists", image, check=False).returncode == 1
    assert names(podman_service) == []


def test_garbage_archive(plugin, podman_service, tmp_path: Path) -> None:
    path = tmp_path / "garbage.tar.gz"
    path.write_bytes(b"\x1f\x8b" + b"not really gzip" * 100)
    result = plugin.run("install", "g", "--module-version", APP1, "--file", str(path))
    assert result.returncode == 2
    assert "not a readable image archive" in last_line(result)
    assert names(podman_service) == []


def test_remove_and_unknown_remove(plugin, podman_service, test_images) -> None:
    assert plugin.run("install", "web", "--module-version", APP1).returncode == 0
    result = plugin.run("remove", "web", "--module-version", APP1)
    assert result.returncode == 0, result.stderr
    assert names(podman_service) == []
    assert plugin.run("remove", "never-installed").returncode == 0


def test_list_leaves_out_compose_and_ignored(plugin, podman_service, test_images) -> None:
    podman_service.cli("create", "--name", "composed", "--label", "com.docker.compose.project=shop", APP1)
    podman_service.cli("create", "--name", "hidden", "--label", "tedge.ignore", APP1)
    podman_service.cli("create", "--name", "manual", APP1)
    assert plugin.run("list").stdout == f"manual\t{APP1}\n"


def test_update_list_attempts_every_line(plugin, podman_service, test_images, open_registry) -> None:
    assert plugin.run("install", "old", "--module-version", APP1).returncode == 0
    missing = f"{open_registry.host}/tedge/does-not-exist:1"
    stdin = (
        f"install\tfirst\t{APP1}\t\n"
        f"install\tbroken\t{missing}\t\n"
        "bogus line\n"
        "remove\told\t\t\n"
        f"install\tlast\t{APP2}\t\n"
        "remove\tnever-there\t1\n"
    )
    result = plugin.run("update-list", stdin=stdin)
    assert result.returncode == 2
    failures = result.stderr.strip().splitlines()
    assert any(line.startswith("install broken: Pulling") for line in failures), failures
    assert any(line.startswith("line 3:") for line in failures), failures
    assert names(podman_service) == ["first", "last"]


def test_update_list_names_each_module_once(plugin) -> None:
    """A module that fails inside install and a line without a name: one plain line each."""
    result = plugin.run("update-list", stdin="install\tb1\t\t\ninstall\t\tnginx:1\t\n")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-2:] == [
        "install b1: give --module-version IMAGE, --file ARCHIVE, or both.",
        "line 2: install without a module name (the second field is empty)",
    ]


def test_update_list_success(plugin, podman_service, test_images) -> None:
    result = plugin.run("update-list", stdin=f"install\ta\t{APP1}\t\ninstall\tb\t{APP2}\t\nremove\ta\t\t\n")
    assert result.returncode == 0, result.stderr
    assert plugin.run("list").stdout == f"b\t{APP2}\n"


def test_pull_not_found_is_a_failure(plugin, podman_service, open_registry) -> None:
    result = plugin.run("install", "nf", "--module-version", f"{open_registry.host}/tedge/nothing:1")
    assert result.returncode == 2
    assert "check that the image name and tag exist" in last_line(result)


def test_unreachable_registry_is_retry_later(plugin, podman_service) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = plugin.run("install", "nr", "--module-version", f"127.0.0.1:{port}/tedge/app:1")
    assert result.returncode == 3, result.stderr
    assert f"127.0.0.1:{port}" in last_line(result)


def test_missing_engine_socket_fails_fast(plugin, tmp_path: Path) -> None:
    plugin.set_config("container", "host", f"unix://{tmp_path}/absent.sock")
    started = time.monotonic()
    result = plugin.run("install", "web", "--module-version", APP1)
    assert result.returncode == 3
    assert time.monotonic() - started < 10
    assert f"{tmp_path}/absent.sock" in last_line(result)
    assert "systemctl enable --now podman.socket" in last_line(result)


def test_dead_engine_socket_fails_fast(plugin, tmp_path: Path) -> None:
    dead = tmp_path / "dead.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(dead))  # a socket file with nobody accepting: connection refused
    plugin.set_config("container", "host", f"unix://{dead}")
    result = plugin.run("list")
    assert result.returncode == 3
    assert "connection refused" in last_line(result)


def test_usage_errors(plugin) -> None:
    assert plugin.run("install", "web").returncode == 1
    assert plugin.run("install").returncode == 1
    assert plugin.run("frobnicate").returncode == 1


def test_silent_engine_socket_is_bounded(plugin, tmp_path: Path) -> None:
    """A socket that accepts connections but never answers (a hung service) costs connect_timeout."""
    silent = tmp_path / "silent.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(silent))
        sock.listen(8)  # connections queue up; nobody ever reads or answers
        plugin.set_config("container", "host", f"unix://{silent}")
        plugin.set_config("container", "connect_timeout", 1)
        started = time.monotonic()
        result = plugin.run("install", "web", "--module-version", APP1)
        elapsed = time.monotonic() - started
    assert result.returncode == 3
    assert "no answer in time" in last_line(result)
    assert elapsed < 8, elapsed


def test_list_on_a_silent_engine_socket_is_bounded_by_connect_timeout(plugin, tmp_path: Path) -> None:
    silent = tmp_path / "silent.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(silent))
        sock.listen(8)
        plugin.set_config("container", "host", f"unix://{silent}")
        plugin.set_config("container", "connect_timeout", 1)
        started = time.monotonic()
        result = plugin.run("list")
        elapsed = time.monotonic() - started
    assert result.returncode == 3
    assert elapsed < 8, elapsed
