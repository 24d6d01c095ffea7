"""Fixtures of the integration tests that several test modules share: the monitor's own broker,
a live watch of it, the monitor, and a container-group runner with its own data_dir."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Plugin
from tests.support.group import Group
from tests.support.images import TestImages
from tests.support.monitor import Monitor, Watch, running
from tests.support.mqtt import Broker
from tests.support.podman import PodmanService


@pytest.fixture(scope="module")
def other_podman(test_images: Any) -> Iterator[PodmanService]:
    """A second podman service with its own store (the base test images loaded): another engine."""
    # Short, as the session's (tests/support/services.py): podman refuses a runroot of over 50 characters.
    service = PodmanService(Path(tempfile.mkdtemp(prefix="tedge-test-")))
    try:
        service.start()
        TestImages(service, service.workdir / "images").build()  # from the archive test_images left
        yield service
    finally:
        service.stop()
        shutil.rmtree(service.workdir, ignore_errors=True)


@pytest.fixture()
def broker(tmp_path: Path) -> Iterator[Broker]:
    broker = Broker("monitor", tmp_path / "broker").start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture()
def watch(broker: Broker) -> Iterator[Watch]:
    watch = Watch(broker)
    try:
        yield watch
    finally:
        watch.close()


@pytest.fixture()
def monitor(plugin: Any, broker: Broker, watch: Watch, tmp_path: Path) -> Iterator[Monitor]:
    plugin.set_config("container", "crash_loop_threshold", 3)
    plugin.set_config("container", "crash_loop_clear_after", 2)
    plugin.set_config("metrics", "interval", 0)
    with running(Monitor(plugin, broker, tmp_path / "monitor.log"), watch) as monitor:
        yield monitor


@pytest.fixture()
def group(plugin: Plugin) -> Iterator[Group]:
    # Below the service's own directory: podman 5's service runs chrooted (tests/support/trixie.py)
    # and sees only that, and compose bind-mounts files of the working directory.
    data_dir = plugin.podman.workdir / "group-data" / uuid.uuid4().hex[:8]
    try:
        yield Group(plugin, data_dir)
    finally:
        plugin.podman.remove_all_containers()
        shutil.rmtree(data_dir, ignore_errors=True)
