"""This package replaces the Go project's packages, and they replace it back.

In the Debian 11 root (see test_package_bullseye.py) with the stand-ins of
standins.py: for each of tedge-container-plugin 1.3.0 and
tedge-container-plugin-ng, install it, install ours over it with dpkg (our
Conflicts + Replaces remove it), install it back with dpkg, then ours again. Through every swap
the configuration file keeps the operator's edits and the container ours
installed keeps running, the same container. dpkg runs with --force-confold,
as unattended upgrades do: without it, dpkg asks the operator whether to keep
an edited configuration file. rpm and apk are checked by metadata in
test_package_contents.py (no rpm database or apk on this machine).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import standins
from chroot_support import SOCKET_MOUNT, in_root
from pkg_support import LEGACY_PACKAGE, NG_PACKAGE, PACKAGE, optional_fixture, plugin_test_config

pytestmark = pytest.mark.packaging

CONFIG = standins.CONFIG.lstrip("/")
PLUGIN = "/etc/tedge/sm-plugins/container"
LAUNCHER = "/usr/bin/tedge-container-plugin"
LEFTOVERS = (
    "etc/tedge",
    "usr/lib/tedge-container-plugin",
    "usr/bin/tedge-container-plugin",
    "usr/bin/tedge-container",
    "usr/bin/container-monitor",
)


def status(root: Path, package: str) -> str:
    result = in_root(root, "dpkg-query", "-W", "-f", "${db:Status-Abbrev}", package, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def gone(root: Path, package: str) -> bool:
    """Not installed: unknown to dpkg, or its status (the 2nd letter) "n" or "c" (conffiles kept)."""
    abbrev = status(root, package)
    return abbrev == "" or abbrev[1:2] in ("n", "c")


def purge_all(root: Path) -> None:
    for package in (PACKAGE, LEGACY_PACKAGE, NG_PACKAGE):
        if status(root, package):
            in_root(root, "dpkg", "--purge", package)


@pytest.fixture(scope="module")
def standin_debs(bullseye_root: Path, packages: dict[str, Path]) -> dict[str, str]:
    """{name: path inside the root} of ours and both stand-ins, copied into the root's /tmp."""
    built = standins.build(bullseye_root / "tmp" / "standins")
    inside = {name: f"/tmp/standins/{path.name}" for name, path in built.items()}
    shutil.copyfile(packages["deb"], bullseye_root / "tmp" / "standins" / packages["deb"].name)
    inside[PACKAGE] = f"/tmp/standins/{packages['deb'].name}"
    yield inside
    shutil.rmtree(bullseye_root / "tmp" / "standins", ignore_errors=True)


@pytest.mark.parametrize("other", [LEGACY_PACKAGE, NG_PACKAGE])
def test_swap_with_the_go_packages_keeps_config_and_containers(
    bullseye_root: Path, standin_debs: dict[str, str], other: str, request: pytest.FixtureRequest
) -> None:
    podman_service = optional_fixture(request, "podman_service")
    open_registry = optional_fixture(request, "open_registry")
    test_images = optional_fixture(request, "test_images")
    root = bullseye_root
    sockets = Path(podman_service.socket_path).parent
    socket_url = f"unix://{SOCKET_MOUNT}/{Path(podman_service.socket_path).name}"
    image = test_images.push("localhost/tedge-test/app:1", open_registry, "packaging/swap-app:1")
    name = "tedge-packaging-swap"
    purge_all(root)  # an interrupted earlier run
    try:
        in_root(root, "dpkg", "-i", standin_debs[other])
        assert status(root, other) == "ii"
        if other == NG_PACKAGE:  # the operator's edits of its configuration file
            plugin_test_config(root / CONFIG, socket_url)
            edited = (root / CONFIG).read_text()

        # Ours over theirs, with dpkg alone.
        in_root(root, "dpkg", "--force-confold", "-i", standin_debs[PACKAGE])
        assert status(root, PACKAGE) == "ii"
        assert gone(root, other), f"{other} still installed"
        for link in (PLUGIN, "/usr/bin/tedge-container"):
            assert (root / link.lstrip("/")).is_symlink(), link
            assert str((root / link.lstrip("/")).readlink()) == LAUNCHER, link
        assert not (root / "usr/bin/container-monitor").exists()
        if other == NG_PACKAGE:  # their configuration file stays, as the operator left it
            assert (root / CONFIG).read_text() == edited
        plugin_test_config(root / CONFIG, socket_url)
        kept = (root / CONFIG).read_text()
        in_root(root, PLUGIN, "install", name, "--module-version", image, socket_dir=sockets, timeout=300)
        container_id = podman_service.cli("container", "inspect", "--format", "{{.Id}}", name).stdout.strip()

        # Theirs back. They know nothing of ours: ours is removed first, as
        # apt does it (apt's resolver needs a repository, not a file).
        in_root(root, "dpkg", "--remove", PACKAGE)
        in_root(root, "dpkg", "--force-confold", "-i", standin_debs[other])
        assert status(root, other) == "ii"
        assert gone(root, PACKAGE)
        assert (root / CONFIG).read_text() == kept

        # And ours again.
        in_root(root, "dpkg", "--force-confold", "-i", standin_debs[PACKAGE])
        assert status(root, PACKAGE) == "ii"
        assert gone(root, other)
        assert (root / CONFIG).read_text() == kept
        listed = in_root(root, PLUGIN, "list", socket_dir=sockets).stdout.splitlines()
        assert f"{name}\t{image}" in listed
        state = podman_service.cli("container", "inspect", "--format", "{{.Id}} {{.State.Running}}", name)
        assert state.stdout.split() == [container_id, "true"]
    finally:
        podman_service.cli("rm", "--force", "--time", "0", name, check=False)
        purge_all(root)
    left = [path for path in LEFTOVERS if (root / path).exists()]
    assert not left, f"left in the Debian 11 root after purging every package: {left}"
