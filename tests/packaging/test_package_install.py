"""The .deb installed on this machine with dpkg, run with the system python3.

Runs as root (CI). The package writes /usr/bin, /usr/lib, /usr/share/doc and
/etc/tedge; every test purges it again and checks that the machine is as it
was. dpkg's rules for a conffile: `dpkg -r` removes the package's files but
keeps every conffile (changed or not; status "rc"), `dpkg -P` deletes them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pkg_support import (
    EPOCH,
    PACKAGE,
    SYSTEM_ENV,
    need_root,
    need_tool,
    optional_fixture,
    plugin_test_config,
    processes_running,
    run,
)

pytestmark = pytest.mark.packaging

LAUNCHER = Path("/usr/bin/tedge-container-plugin")
SYMLINK = Path("/etc/tedge/sm-plugins/container")
CONFIG = Path("/etc/tedge/plugins/tedge-container-plugin.toml")
LIB = Path("/usr/lib/tedge-container-plugin")
DOC = Path("/usr/share/doc/tedge-container-plugin")
TEDGE_DIR = Path("/etc/tedge")
LOG_PLUGIN = Path("/usr/share/tedge/log-plugins/container")
LOG_PLUGINS = (LOG_PLUGIN, LOG_PLUGIN.with_name("container-group"))
IMAGE_TYPE = Path("/etc/tedge/sm-plugins/container-image")
OTHER_TYPES = (Path("/etc/tedge/sm-plugins/container-group"), IMAGE_TYPE)
SERVICE_PLUGINS = (
    Path("/usr/share/tedge/service-plugins/container"),
    Path("/usr/share/tedge/service-plugins/container-group"),
)
WORKFLOWS = tuple(
    Path(f"/etc/tedge/operations/service_{action}.toml") for action in ("start", "stop", "pause", "unpause")
)
UNIT = Path("/usr/lib/systemd/system/tedge-container-plugin.service")
WANTS = Path("/etc/systemd/system/multi-user.target.wants/tedge-container-plugin.service")


def dpkg_status() -> str:
    """'ii', 'rc', or '' when dpkg knows nothing of the package."""
    result = run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", PACKAGE], check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def tree(path: Path) -> set[str]:
    return {str(p) for p in path.rglob("*")} | {str(path)} if path.exists() else set()


@pytest.fixture
def installed_deb(packages: dict[str, Path]):
    """The .deb installed with `dpkg -i`; purged afterwards, whatever happened."""
    need_root()
    need_tool("dpkg")
    if dpkg_status():
        pytest.skip(f"{PACKAGE} is already known to dpkg here ({dpkg_status()}): not touching it")
    before = tree(TEDGE_DIR)
    try:
        run(["dpkg", "-i", packages["deb"]])
        yield before
    finally:
        run(["dpkg", "--purge", PACKAGE], check=False)


def assert_purged(before: set[str]) -> None:
    assert dpkg_status() == ""
    for path in (LAUNCHER, LIB, DOC):
        assert not path.exists(), f"{path} left after purge"
    assert tree(TEDGE_DIR) == before, "/etc/tedge is not as before the install"
    assert not processes_running((str(LAUNCHER), str(LIB), str(SYMLINK)))


def test_install_reinstall_remove_purge(
    installed_deb: set[str], packages: dict[str, Path], version: str, tmp_path: Path
) -> None:
    assert dpkg_status() == "ii"
    assert os.readlink(SYMLINK) == str(LAUNCHER)
    assert LAUNCHER.stat().st_mode & 0o777 == 0o755
    assert CONFIG.is_file()
    # postinst byte-compiled the bundle for this python3.
    assert list(LIB.glob("tedge_container/__pycache__/cli.*.pyc"))
    # The monitor's unit, enabled (systemctl enables without a running systemd,
    # as in CI; nothing is started then), and the log plugins.
    assert UNIT.is_file()
    for log_plugin in LOG_PLUGINS:
        assert os.readlink(log_plugin) == str(LAUNCHER)
    for software_type in OTHER_TYPES:  # the other software types, beside `container`
        assert os.readlink(software_type) == str(LAUNCHER)
    # container-image is off by default: its list answers, empty, without asking podman.
    result = run([IMAGE_TYPE, "list"], check=False)
    assert (result.returncode, result.stdout) == (0, ""), result
    if Path("/usr/bin/systemctl").exists():
        assert WANTS.is_symlink(), "postinst did not enable tedge-container-plugin.service"
    # The service plugins: root's regular files, 755, in a directory only root can write.
    for service_plugin in SERVICE_PLUGINS:
        info = service_plugin.lstat()
        assert service_plugin.is_file() and not service_plugin.is_symlink()
        assert (info.st_uid, info.st_gid, info.st_mode & 0o7777) == (0, 0, 0o755), service_plugin
    directory = SERVICE_PLUGINS[0].parent.stat()
    assert directory.st_uid == 0 and not directory.st_mode & 0o022
    result = run([SERVICE_PLUGINS[0], "reload", "web"], check=False)
    assert result.returncode == 2 and "not supported" in result.stderr, result
    for workflow in WORKFLOWS:
        assert workflow.is_file() and workflow.stat().st_mode & 0o777 == 0o644
        assert 'type = "service"' in workflow.read_text()

    # The system python3, nothing from the project's virtualenv; -I in the
    # launcher ignores PYTHONPATH even when the environment carries one.
    decoy = tmp_path / "tedge_container"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("raise SystemExit('the decoy on PYTHONPATH was imported')\n")
    result = run([LAUNCHER, "--version"], env={**SYSTEM_ENV, "PYTHONPATH": str(tmp_path)})
    assert result.stdout.strip() == f"tedge-container-plugin {version}"
    assert run(["dpkg-query", "-W", "-f", "${Version}", PACKAGE]).stdout == f"{EPOCH}:{version}-1"
    # The Go plugin's program name, for scripts: `tedge-container container ...`.
    go_program = run(["/usr/bin/tedge-container", "container", "prepare", "-v"], check=False)
    assert go_program.returncode == 0, go_program

    # Sudo-like call through the sm-plugins symlink: the program acts as the
    # `container` plugin; without a podman socket it must fail cleanly.
    plugin_test_config(CONFIG, "unix:///nonexistent/podman.sock")
    changed = CONFIG.read_text()
    result = run([SERVICE_PLUGINS[1], "stop", "shop@web"], check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("Stopping container-group service shop@web failed: ")
    )
    # An edited workflow and a deleted one: an upgrade keeps both as the owner left them.
    edited = WORKFLOWS[1].read_text().replace("timeout_second = 180", "timeout_second = 60")
    WORKFLOWS[1].write_text(edited)
    WORKFLOWS[3].unlink()
    result = run([SYMLINK, "list"], check=False)
    assert result.returncode in (2, 3), result
    assert "Traceback" not in result.stderr
    assert result.stderr.strip(), "a failed list says why on stderr"

    # Reinstalling runs the upgrade path of the maintainer scripts (prerm
    # upgrade, postrm upgrade, postinst configure); the changed conffile stays.
    run(["dpkg", "-i", packages["deb"]])
    assert dpkg_status() == "ii"
    assert CONFIG.read_text() == changed
    assert WORKFLOWS[1].read_text() == edited
    assert not WORKFLOWS[3].exists()
    assert WORKFLOWS[0].is_file()
    assert SYMLINK.is_symlink()
    assert list(LIB.glob("tedge_container/__pycache__/cli.*.pyc"))

    # Remove: program, bundle (with the .pyc files python made), symlink and
    # docs go; the conffile stays until purge.
    run(["dpkg", "-r", PACKAGE])
    assert dpkg_status() == "rc"
    gone = (
        LAUNCHER,
        LIB,
        DOC,
        SYMLINK,
        *OTHER_TYPES,
        Path("/usr/bin/tedge-container"),
        UNIT,
        *LOG_PLUGINS,
        *SERVICE_PLUGINS,
        WANTS,
    )
    for path in gone:
        assert not path.exists() and not path.is_symlink(), f"{path} left after remove"
    assert not list(Path("/etc").glob("rc?.d/*tedge-container-plugin")), "runlevel links left after remove"
    assert CONFIG.read_text() == changed
    assert WORKFLOWS[1].read_text() == edited  # conffiles stay until the purge

    run(["dpkg", "-P", PACKAGE])
    assert not CONFIG.exists()
    assert not any(workflow.exists() for workflow in WORKFLOWS)
    assert not Path("/var/log/tedge-container-plugin.log").exists()  # the SysV monitor's log, if it ran
    assert_purged(installed_deb)


def test_installed_plugin_installs_and_removes_from_registry(
    installed_deb: set[str], request: pytest.FixtureRequest
) -> None:
    """tedge-agent's calls, through the installed symlink, against the test podman and registry."""
    podman_service = optional_fixture(request, "podman_service")
    open_registry = optional_fixture(request, "open_registry")
    test_images = optional_fixture(request, "test_images")
    image = test_images.push("localhost/tedge-test/app:1", open_registry, "packaging/host-app:1")
    name = "tedge-packaging-host"
    plugin_test_config(CONFIG, podman_service.url)
    try:
        assert run([SYMLINK, "list"]).returncode == 0
        run([SYMLINK, "install", name, "--module-version", image], timeout=300)
        listed = run([SYMLINK, "list"]).stdout.splitlines()
        assert f"{name}\t{image}" in listed
        state = podman_service.cli("container", "inspect", "--format", "{{.State.Running}}", name)
        assert state.stdout.strip() == "true"
        run([SYMLINK, "remove", name, "--module-version", image], timeout=120)
        assert f"{name}\t{image}" not in run([SYMLINK, "list"]).stdout.splitlines()
        gone = podman_service.cli("container", "exists", name, check=False)
        assert gone.returncode != 0
    finally:
        podman_service.cli("rm", "--force", "--time", "0", name, check=False)

    run(["dpkg", "-P", PACKAGE])
    assert_purged(installed_deb)
