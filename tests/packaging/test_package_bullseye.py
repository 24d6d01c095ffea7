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

import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from pkg_support import (
    PACKAGE,
    SYSTEM_ENV,
    need_root,
    need_tool,
    optional_fixture,
    plugin_test_config,
    run,
)

pytestmark = pytest.mark.packaging

CACHE_DIR = Path(os.environ.get("TEDGE_CONTAINER_PLUGIN_CI_CACHE") or "/var/cache/tedge-container-plugin-ci")
ROOT_NAME = "bullseye-root"
READY_MARK = ".tedge-ci-ready"
SOCKET_MOUNT = "/run/tedge-test-podman"  # where the podman socket's directory appears
DEFAULT_MIRROR = "http://deb.debian.org/debian"
CONFIG = "etc/tedge/plugins/tedge-container-plugin.toml"
LEFTOVERS = ("etc/tedge", "usr/lib/tedge-container-plugin", "usr/bin/tedge-container-plugin")


def debian_mirror() -> str:
    """$DEBIAN_MIRROR, or the Debian mirror this machine's apt uses."""
    if os.environ.get("DEBIAN_MIRROR"):
        return os.environ["DEBIAN_MIRROR"]
    sources = [Path("/etc/apt/sources.list")]
    sources += sorted(Path("/etc/apt/sources.list.d").glob("*.list"))
    sources += sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    for source in sources:
        try:
            lines = source.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            words = line.split("#", 1)[0].split()
            if words[:1] == ["URIs:"]:
                uris = words[1:]
            elif words[:1] == ["deb"]:
                uris = [w for w in words[1:] if "://" in w][:1]
            else:
                continue
            for uri in uris:
                if uri.rstrip("/").endswith("/debian"):
                    return uri.rstrip("/")
    return DEFAULT_MIRROR


def mounts_below(path: Path) -> list[str]:
    prefix = str(path.resolve()) + "/"
    with open("/proc/self/mountinfo") as mountinfo:
        points = [line.split()[4] for line in mountinfo]
    return [point for point in points if point.startswith(prefix)]


def remove_tree(path: Path) -> None:
    """rm -rf, but never through a mount (a bind-mounted podman store!)."""
    if path.exists():
        mounted = mounts_below(path)
        assert not mounted, f"refusing to delete {path}: mounts below it {mounted}"
        shutil.rmtree(path)


@pytest.fixture(scope="session")
def bullseye_root(pytestconfig: pytest.Config) -> Path:
    need_root()
    debootstrap = need_tool("debootstrap")
    need_tool("unshare")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    root = CACHE_DIR / ROOT_NAME
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    with open(CACHE_DIR / f"{ROOT_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / READY_MARK).is_file():
            partial = CACHE_DIR / f"{ROOT_NAME}.partial"
            remove_tree(root)
            remove_tree(partial)
            mirror = debian_mirror()
            env = {**SYSTEM_ENV, **{k: v for k, v in os.environ.items() if k.lower().endswith("_proxy")}}
            started = time.monotonic()
            run(
                [debootstrap, "--variant=minbase", "--include=python3", "bullseye", partial, mirror],
                env=env,
                timeout=1800,
            )
            took = time.monotonic() - started
            note = f"debootstrap bullseye from {mirror} took {took:.0f} s"
            (partial / READY_MARK).write_text(note + "\n")
            partial.rename(root)
            if reporter is not None:
                reporter.write_line(f"\n{note}; cached in {root}")
    (root / SOCKET_MOUNT.lstrip("/")).mkdir(parents=True, exist_ok=True)
    return root


def in_root(
    root: Path, *argv: str, socket_dir: Path | None = None, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ARGV in the chroot with a clean environment, the socket's directory bind-mounted."""
    script = (
        'set -e; if [ -n "$2" ]; then mount --bind "$2" "$1$3"; fi; root=$1; shift 3; '
        'exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot "$root" "$@"'
    )
    return run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
         str(root), str(socket_dir or ""), SOCKET_MOUNT, *argv],
        check=check,
        timeout=timeout,
    )  # fmt: skip


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
