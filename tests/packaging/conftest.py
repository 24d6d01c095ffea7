"""Fixtures of the packaging tests: the packages, built once per session.

The tests that install the .deb write to /etc and /usr of this machine (and
purge it again): they run as root only, as in CI. Tools that CI installs
(dpkg-deb, rpm, debootstrap) skip a test when missing on a developer's
machine, and fail it under CI=true.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from chroot_support import ROOT_NAME, SOCKET_MOUNT
from pkg_support import BUILD_SCRIPT, REPO, need_root, need_tool, plugin_version

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.debian_root import cached_root
from tests.support.netns import in_machine_network


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "packaging: builds the deb/rpm/apk packages with nfpm, checks them, and installs "
        "the .deb on this machine and in a Debian 11 chroot (root)",
    )


PACKAGING_DIR = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's, which reads xdist_group into the test ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # These tests install the .deb on this machine (dpkg's database, /usr, /etc/tedge) and share one
    # package build: under pytest-xdist (`--dist loadgroup`, scripts/test) they run one after another
    # on one worker, never side by side.
    for item in items:
        if PACKAGING_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.xdist_group("packaging"))


@pytest.fixture(scope="session")
def version() -> str:
    return plugin_version()


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The .deb, .rpm and .apk made by scripts/build-packages (once per session).

    TEDGE_TEST_PACKAGES=DIR takes them from DIR instead, built there beforehand
    by `scripts/build-packages --output DIR`. The build needs the package
    registry: it runs in the machine's network namespace (tests/support/netns.py).
    """
    prebuilt = os.environ.get("TEDGE_TEST_PACKAGES")
    output = Path(prebuilt) if prebuilt else tmp_path_factory.mktemp("dist")
    if not prebuilt:
        result = subprocess.run(
            in_machine_network([sys.executable, str(BUILD_SCRIPT), "--output", str(output)]),
            capture_output=True,
            text=True,
            timeout=900,
            cwd=str(REPO),
        )
        if result.returncode != 0:
            pytest.fail(f"scripts/build-packages failed:\n{result.stdout}\n{result.stderr}")
    built = {}
    for fmt in ("deb", "rpm", "apk"):
        files = sorted(output.glob(f"*.{fmt}"))
        assert len(files) == 1, f"expected one .{fmt} in {output}: {files}"
        built[fmt] = files[0]
    return built


@pytest.fixture(scope="session")
def bullseye_root(pytestconfig: pytest.Config) -> Path:
    need_root()
    debootstrap = need_tool("debootstrap")
    need_tool("unshare")
    root, note = cached_root(ROOT_NAME, "bullseye", ["python3"], debootstrap)
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if note and reporter is not None:
        reporter.write_line(f"\n{note}; cached in {root}")
    (root / SOCKET_MOUNT.lstrip("/")).mkdir(parents=True, exist_ok=True)
    return root
