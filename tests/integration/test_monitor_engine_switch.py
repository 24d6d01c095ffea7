"""The monitor follows the sm-plugins to another engine (their record `<data_dir>/engine` rewritten).

Two real podman services, A (the session's) and B (`other_podman`), and the
monitor as its unit runs it: root without `container.host`, so the engine is
the one the sm-plugins recorded. When the record names B, the monitor
reconnects within `container.engine_probe_interval` (2 s here) and what an
operator sees on the broker is B's containers (also those started while it
switched) and no longer A's: they vanished (deregistered; docs/monitor.md,
"Reconnecting"). A busy engine A (a crash loop: events many times a second)
must not hold the monitor on it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.monitor import (
    Monitor,
    Watch,
    podman,
    remove_crash_loop,
    running,
    service_topic,
    unique,
    wait_until,
)
from tests.support.podman import PodmanService

pytestmark = pytest.mark.integration

PROBE_INTERVAL = 2  # container.engine_probe_interval: how soon a switch must be noticed
SWITCHED_WITHIN = 20  # seconds: the interval, a reconnection and a resync on a loaded 2-core machine


def record(monitor: Monitor, engine: PodmanService) -> None:
    """Record `engine` as the sm-plugins do: the socket path, one line, replaced atomically."""
    monitor.data_dir.mkdir(parents=True, exist_ok=True)
    temporary = monitor.data_dir / "engine.tmp"
    temporary.write_text(f"{engine.socket_path}\n")
    os.replace(temporary, monitor.data_dir / "engine")


@pytest.fixture()
def switching_monitor(
    plugin: Any, broker: Any, watch: Watch, other_podman: PodmanService, tmp_path: Path
) -> Iterator[Monitor]:
    """The monitor on engine A through the sm-plugins' record (no container.host), probing every 2 s."""
    plugin.set_config("container", "host", None)
    plugin.set_config("container", "engine_probe_interval", PROBE_INTERVAL)
    plugin.set_config("metrics", "interval", 0)
    plugin.set_config("delete_from_cloud", "enabled", False)  # no proxy here; vanished.py is not at stake
    monitor = Monitor(plugin, broker, tmp_path / "monitor.log")
    record(monitor, plugin.podman)
    try:
        with running(monitor, watch):
            yield monitor
    finally:
        other_podman.remove_all_containers()


def deregistered(watch: Watch, name: str) -> bool:
    return watch.state.get(service_topic(name)) == "" and watch.health(name) == ""


def test_the_monitor_moves_to_the_engine_the_sm_plugins_recorded(
    plugin, test_images, other_podman, switching_monitor, watch
) -> None:
    a1, b1, b3 = (unique(prefix) for prefix in ("a1", "b1", "b3"))
    podman(plugin, "run", "-d", "--name", a1, test_images.app1)
    other_podman.cli("run", "-d", "--name", b1, test_images.app1)
    wait_until(f"{a1} up on engine A", lambda: watch.health(a1) == "up")
    assert watch.json(service_topic(b1)) is None  # B is not followed yet

    record(switching_monitor, other_podman)
    # Containers started one after another while the monitor moves: before it looks, between
    # leaving A and B's stream, after. None may be lost between the look and the new stream.
    during, after_leaving = [], 0
    window_ends = time.monotonic() + PROBE_INTERVAL + 3
    while time.monotonic() < window_ends:
        during.append(unique("b-during"))
        other_podman.cli("run", "-d", "--name", during[-1], test_images.app1)
        after_leaving += "the engine is now" in switching_monitor.output()
    print(f"{len(during)} containers started during the switch, {after_leaving} once the monitor left A")
    wait_until(f"{b1} up", lambda: watch.health(b1) == "up", timeout=SWITCHED_WITHIN)
    wait_until(
        f"every one of {during} (started during the switch) up",
        lambda: all(watch.health(name) == "up" for name in during),
        timeout=5,
    )
    wait_until(f"{a1} deregistered", lambda: deregistered(watch, a1), timeout=5)
    assert podman(plugin, "container", "inspect", "--format", "{{.State.Status}}", a1) == "running"

    other_podman.cli("run", "-d", "--name", b3, test_images.app1)  # B's event stream is followed
    wait_until(f"{b3} up", lambda: watch.health(b3) == "up", timeout=5)
    other_podman.cli("stop", "-t", "0", b1)
    wait_until(f"{b1} down after a stop on B", lambda: watch.health(b1) == "down", timeout=5)
    podman(plugin, "stop", "-t", "0", a1)  # on A, no longer followed: seen when the monitor is back

    record(switching_monitor, plugin.podman)  # and back
    wait_until(f"{a1} registered again", lambda: watch.health(a1) == "down", timeout=SWITCHED_WITHIN)
    wait_until(f"{b3} deregistered", lambda: deregistered(watch, b3), timeout=5)
    assert "monitor: the engine is now " in switching_monitor.output()


def test_a_busy_engine_does_not_hold_the_monitor_on_it(
    plugin, test_images, other_podman, switching_monitor, watch
) -> None:
    # podman restarts an exiting container at once: events several times a second, no silence on A.
    looping, b1 = unique("loop"), unique("b1")
    podman(plugin, "run", "-d", "--restart", "always", "--name", looping, test_images.exits)
    other_podman.cli("run", "-d", "--name", b1, test_images.app1)
    try:
        alarm = f"{service_topic(looping)}/a/container_crash_loop"
        wait_until(f"{looping}'s crash-loop alarm", lambda: watch.json(alarm) is not None, timeout=30)
        recorded_at = time.monotonic()
        record(switching_monitor, other_podman)
        wait_until(f"{b1} up", lambda: watch.health(b1) == "up", timeout=SWITCHED_WITHIN)
        print(f"{b1} up {time.monotonic() - recorded_at:.1f} s after the record named B")
        wait_until(f"{looping} deregistered", lambda: deregistered(watch, looping), timeout=5)
        assert watch.state[alarm] == ""  # no alarm left of an engine the device no longer uses
    finally:
        remove_crash_loop(plugin, looping)
