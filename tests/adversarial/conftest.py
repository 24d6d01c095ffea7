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
from collections.abc import Callable, Iterator
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
