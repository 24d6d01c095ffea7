"""Hostile and broken input, built for real in each test (docs/container-group.md, "What is refused").

Tests here run in the normal `scripts/test` run (testpaths = tests). Those that need
the podman service (a `group` or `plugin` fixture) are marked `integration` as the
tests in tests/integration are; the others need nothing but the plugin's code. Every
child that could exhaust memory runs under `prlimit --as`, every one that could fill
a disk writes to a small tmpfs or under a small limit key.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

import pytest
from tests.conftest import Plugin
from tests.integration.conftest import group  # noqa: F401  (the fixture, shared)

ADVERSARIAL_DIR = Path(__file__).resolve().parent
_SERVICE_FIXTURES = {"podman_service", "plugin", "group", "test_images"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if ADVERSARIAL_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.adversarial)
            if _SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
                item.add_marker(pytest.mark.integration)


class Measured(NamedTuple):
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float

    @property
    def last_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


# Started by the test, it forks the command and reports the command's own peak RSS. Not measured
# from the test process directly: ru_maxrss survives fork and exec, so a child of a large
# pytest process would report pytest's size; this launcher's fresh, small process is the base.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_limited(
    argv: Sequence[str], env: dict[str, str], address_space_mb: int, timeout: float = 120
) -> Measured:
    """Run `argv` under `prlimit --as` (a regression fails the test, not the machine); its peak RSS.

    The peak is the command's own `ru_maxrss`, from the rusage wait4 returns for it.
    """
    with tempfile.TemporaryDirectory() as scratch:
        report = os.path.join(scratch, "maxrss")
        limited = [sys.executable, "-c", _LAUNCHER, report, "prlimit", f"--as={address_space_mb << 20}", "--"]
        result = subprocess.run(
            [*limited, *argv],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        with open(report) as stream:
            peak_kib = int(stream.read())
    return Measured(result.returncode, result.stdout, result.stderr, peak_kib / 1024)


@pytest.fixture()
def tmpfs(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """`tmpfs(size_mb)`: a fresh tmpfs of that size below tmp_path (the tests run as root)."""
    mounted: list[Path] = []

    def mount(size_mb: int, name: str = "small") -> Path:
        target = tmp_path / name
        target.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(target)
        return target

    try:
        yield mount
    finally:
        for target in mounted:
            subprocess.run(["umount", "-l", str(target)], check=False)
            os.rmdir(target)


class Offline(NamedTuple):
    """The plugin with no engine to reach (a socket that does not exist), its data_dir and lock dir."""

    plugin: Plugin
    data_dir: Path
    runtime_dir: Path

    def run(self, software: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {"TEDGE_CONTAINER_PLUGIN_RUNTIME_DIR": str(self.runtime_dir)}
        return self.plugin._exec(self.plugin.run_argv(*args, software=software), stdin, env, 60)

    def written(self) -> list[str]:
        """Every file or directory the plugin left in its data_dir or lock directory."""
        return sorted(str(path) for root in (self.data_dir, self.runtime_dir) for path in root.rglob("*"))


@pytest.fixture()
def offline(tmp_path: Path) -> Offline:
    """For input refused before the engine is needed: if it were not, the run would end with exit 3."""
    config_dir = tmp_path / "tedge"
    config_dir.mkdir()
    engine = SimpleNamespace(url=f"unix://{tmp_path}/no-podman.sock")
    plugin = Plugin(config_dir, engine)  # type: ignore[arg-type]  (only its url is used)
    plugin.set("container", "connect_timeout", 1)
    plugin.set("report", "enabled", False)
    plugin.set("container_image", "enabled", True)
    data_dir, runtime_dir = tmp_path / "data", tmp_path / "run"
    data_dir.mkdir()
    runtime_dir.mkdir()
    plugin.set("", "data_dir", str(data_dir))
    return Offline(plugin, data_dir, runtime_dir)
