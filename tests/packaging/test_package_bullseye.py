"""The oldest supported Python: the .deb in a Debian 11 root (python 3.9.2).

The root comes from `debootstrap --variant=minbase --include=python3 bullseye`
(about a minute and 250 MB from Debian's mirror) and is cached outside the
repository, in /var/cache/tedge-container-plugin-ci/bullseye-root (or
$TEDGE_CONTAINER_PLUGIN_CI_CACHE), made once under a lock and reused by later
runs. Each test installs the package there, purges it again and checks that
the root is clean for the next run.

Every command runs as `unshare --mount chroot ROOT ...`: the bind mount of the
podman socket's directory lives in a private mount namespace and disappears
with the command, so no mount ever outlives a test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from chroot_support import SOCKET_MOUNT, in_root
from pkg_support import (
    PACKAGE,
    optional_fixture,
    plugin_test_config,
    run,
)

pytestmark = pytest.mark.packaging

CONFIG = "etc/tedge/plugins/tedge-container-plugin.toml"
LEFTOVERS = ("etc/tedge", "usr/lib/tedge-container-plugin", "usr/bin/tedge-container-plugin")


def dpkg_status(root: Path) -> str:
    result = in_root(root, "dpkg-query", "-W", "-f", "${db:Status-Abbrev}", PACKAGE, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


@pytest.fixture
def installed_in_bullseye(bullseye_root: Path, packages: dict[str, Path]):
    """The .deb installed in the Debian 11 root with dpkg -i; purged afterwards."""
    root = bullseye_root
    if dpkg_status(root):  # an interrupted earlier run
        in_root(root, "dpkg", "--purge", PACKAGE)
    deb = root / "tmp" / packages["deb"].name
    shutil.copyfile(packages["deb"], deb)
    try:
        in_root(root, "dpkg", "-i", f"/tmp/{deb.name}")
        yield root
    finally:
        deb.unlink()
        in_root(root, "dpkg", "--purge", PACKAGE, check=False)
    assert dpkg_status(root) == ""
    left = [name for name in LEFTOVERS if (root / name).exists()]
    assert not left, f"left in the Debian 11 root after purge: {left}"


def test_debian_11_root_has_python_3_9(bullseye_root: Path) -> None:
    result = in_root(bullseye_root, "python3", "-c", "import sys; print(sys.version_info[:2])")
    assert result.stdout.strip() == "(3, 9)"


def test_deb_installs_and_runs_on_python_3_9(installed_in_bullseye: Path, version: str) -> None:
    root = installed_in_bullseye
    assert dpkg_status(root) == "ii"
    result = in_root(root, "tedge-container-plugin", "--version")
    assert result.stdout.strip() == f"tedge-container-plugin {version}"
    # postinst compiled the bundle with the chroot's python 3.9.
    cache = root / "usr/lib/tedge-container-plugin/tedge_container/__pycache__"
    assert list(cache.glob("*.cpython-39.pyc"))
    # The same scripts serve rpm, whose upgrade runs the OLD package's %preun
    # and %postun with "1" after the new %post: they must keep the bundle then.
    for script in ("prerm", "postrm"):
        in_root(root, "sh", f"/var/lib/dpkg/info/{PACKAGE}.{script}", "1")
    assert list(cache.glob("*.cpython-39.pyc"))
    # No podman socket in the chroot: `list` fails cleanly, without a traceback.
    plugin_test_config(root / CONFIG, f"unix://{SOCKET_MOUNT}/none.sock")
    result = in_root(root, "/etc/tedge/sm-plugins/container", "list", check=False)
    assert result.returncode in (2, 3), result
    assert "Traceback" not in result.stderr


def test_plugin_on_python_3_9_installs_from_registry(
    installed_in_bullseye: Path, request: pytest.FixtureRequest
) -> None:
    podman_service = optional_fixture(request, "podman_service")
    open_registry = optional_fixture(request, "open_registry")
    test_images = optional_fixture(request, "test_images")
    root = installed_in_bullseye
    socket_path = Path(podman_service.socket_path)
    plugin_test_config(root / CONFIG, f"unix://{SOCKET_MOUNT}/{socket_path.name}")
    image = test_images.push("localhost/tedge-test/app:1", open_registry, "packaging/bullseye-app:1")
    name = "tedge-packaging-bullseye"
    plugin = "/etc/tedge/sm-plugins/container"
    sockets = socket_path.parent
    try:
        in_root(root, plugin, "list", socket_dir=sockets)
        in_root(root, plugin, "install", name, "--module-version", image, socket_dir=sockets, timeout=300)
        listed = in_root(root, plugin, "list", socket_dir=sockets).stdout.splitlines()
        assert f"{name}\t{image}" in listed
        state = podman_service.cli("container", "inspect", "--format", "{{.State.Running}}", name)
        assert state.stdout.strip() == "true"
        in_root(root, plugin, "remove", name, "--module-version", image, socket_dir=sockets)
        listed = in_root(root, plugin, "list", socket_dir=sockets).stdout.splitlines()
        assert f"{name}\t{image}" not in listed
    finally:
        podman_service.cli("rm", "--force", "--time", "0", name, check=False)


# Debian 11 has no podman 4 client, and the host's podman needs a newer glibc:
# the host's podman CLI (used in remote mode only) runs in the root with the
# host's own loader and libraries, from the host's /usr bind-mounted there.
HOST_USR = "/run/tedge-test-host-usr"
HOST_LOADER = "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
PODMAN_SHIM = f"""#!/bin/sh
exec {HOST_USR}/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 \\
    --library-path {HOST_USR}/lib/x86_64-linux-gnu {HOST_USR}/bin/podman "$@"
"""


def in_root_with_host_podman(root: Path, *argv: str, socket_dir: Path, timeout: float = 300):
    script = (
        'set -e; mount --bind "$2" "$1$3"; mkdir -p "$1$4"; mount --bind /usr "$1$4"; root=$1; shift 4; '
        'exec env -i PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot "$root" "$@"'
    )
    return run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
         str(root), str(socket_dir), SOCKET_MOUNT, HOST_USR, *argv],
        timeout=timeout,
    )  # fmt: skip


def test_plugin_on_python_3_9_installs_a_group(installed_in_bullseye: Path, request: pytest.FixtureRequest):
    """container-group from the package: bundled podman-compose, pure PyYAML, python-dotenv on 3.9."""
    if not Path(HOST_LOADER).exists():
        pytest.skip(f"the host's podman cannot be borrowed here (no {HOST_LOADER})")
    podman_service = optional_fixture(request, "podman_service")
    open_registry = optional_fixture(request, "open_registry")
    test_images = optional_fixture(request, "test_images")
    root = installed_in_bullseye
    socket_path = Path(podman_service.socket_path)
    plugin_test_config(root / CONFIG, f"unix://{SOCKET_MOUNT}/{socket_path.name}")
    image = test_images.push("localhost/tedge-test/app:1", open_registry, "packaging/bullseye-group:1")
    shim = root / "usr/local/bin/podman"
    shim.write_text(PODMAN_SHIM)
    shim.chmod(0o755)
    (root / "tmp/group.yaml").write_text(f"services:\n  web:\n    image: {image}\n    restart: always\n")
    plugin, name = "/etc/tedge/sm-plugins/container-group", "bullseye-group"

    def plugin_run(*args: str, program: str = plugin):
        return in_root_with_host_podman(root, program, *args, socket_dir=socket_path.parent)

    try:
        plugin_run("install", name, "--module-version", "1.0", "--file", "/tmp/group.yaml")
        assert plugin_run("list").stdout == f"{name}\t1.0\n"
        state = podman_service.cli("container", "inspect", "--format", "{{.State.Running}}", f"{name}_web_1")
        assert state.stdout.strip() == "true"
        assert (root / "data/tedge-container-plugin/compose" / name / "version").exists()
        # Both log plugins, from the package: the group service under container-group only.
        log_plugins = "/usr/share/tedge/log-plugins"
        assert plugin_run("list", program=f"{log_plugins}/container-group").stdout == f"{name}@web\n"
        assert f"{name}@web" not in plugin_run("list", program=f"{log_plugins}/container").stdout.splitlines()
        for log_plugin in ("container", "container-group"):
            plugin_run("get", f"{name}@web", "--since", "1h", program=f"{log_plugins}/{log_plugin}")
        plugin_run("remove", name)
        assert plugin_run("list").stdout == ""
        assert (
            podman_service.cli("ps", "-aq", "--filter", f"label=com.docker.compose.project={name}").stdout
            == ""
        )
    finally:
        podman_service.cli("rm", "--force", "--time", "0", f"{name}_web_1", check=False)
        shim.unlink()
        (root / "tmp/group.yaml").unlink()
        shutil.rmtree(root / "data", ignore_errors=True)
