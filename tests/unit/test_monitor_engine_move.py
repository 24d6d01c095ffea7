"""The monitor's loop when the sm-plugins moved it to another engine (service.py, sync.py).

The real move is tested against two podman services
(tests/integration/test_monitor_engine_switch.py). Here, a request that
arrives in the same round as the new engine, before the picture was read from
it: no real engine can be timed to hit that moment, so the engines are
stand-ins that answer from a dict (inspect data recorded from podman 4.3).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tedge_container.config import Config
from tedge_container.engine.model import Container

RECORDED = json.loads((Path(__file__).parent / "data" / "monitor_recorded_podman4.json").read_text())


class StandInEngine:
    """An engine at `socket_path` holding `containers` (id → inspect data); nothing else is asked."""

    def __init__(self, socket_path: str, containers: dict[str, dict[str, Any]]) -> None:
        self.socket_path = socket_path
        self.containers = containers

    def list_containers(self) -> list[Container]:
        return [
            Container(id, data["Name"], data["ImageName"], data["Image"], data["Config"]["Labels"], "running")
            for id, data in self.containers.items()
        ]

    def inspect_container(self, container_id: str, timeout: float) -> dict[str, Any] | None:
        return self.containers.get(container_id)


def running(name: str) -> tuple[str, dict[str, Any]]:
    data = copy.deepcopy(RECORDED["inspect_running"])
    data["Name"], data["Id"] = name, f"{name}-id".ljust(64, "0")
    return data["Id"], data


def test_a_health_check_right_after_a_move_deletes_nothing_of_the_old_engine_in_the_cloud(
    tmp_path: Path,
) -> None:
    from tedge_container.monitor.service import Monitor
    from tedge_container.status.settings import mqtt_settings
    from tedge_container.status.topics import Topics

    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "tedge-container-plugin.toml").write_text(f'data_dir = "{tmp_path}"\n')
    config = Config.load(environ={"TEDGE_CONFIG_DIR": str(tmp_path)})
    monitor = Monitor(config, mqtt_settings(config, tedge={}), Topics("te", "device/main//"), tedge={})
    names = [f"web{i}" for i in range(5)]  # more than delete_from_cloud.max_vanished (3)
    try:
        monitor.engine = StandInEngine("/run/podman/podman.sock", dict(map(running, names)))
        assert monitor._resync()
        assert sorted(monitor.picture.services) == names

        # The sm-plugins moved to a user's engine, without those containers; a device-wide health
        # check comes in the same round as the watcher's "engine-up".
        monitor.queue.put(("engine-up", StandInEngine("/run/user/1000/podman/podman.sock", {})))
        monitor.queue.put(("health-check", ""))
        monitor._round()

        assert monitor.picture.services == {}  # deregistered on the device
        deletions = tmp_path / "monitor-cloud-deletions.json"
        assert not deletions.exists() or not set(names) & set(json.loads(deletions.read_text()))
        assert sorted(json.loads((tmp_path / "monitor-vanished.json").read_text())) == names  # kept, alarmed
    finally:
        if monitor.cloud is not None:
            monitor.cloud.stop()


class FailingOnce(StandInEngine):
    """An engine that answers pings but whose first container listings fail (a fault a real podman
    cannot be made to produce on cue: seen when its database is locked by a long operation)."""

    def __init__(self, socket_path: str, containers: dict[str, dict[str, Any]], failures: int) -> None:
        super().__init__(socket_path, containers)
        self.failures = failures
        self.listings = 0

    def list_containers(self) -> list[Container]:
        self.listings += 1
        if self.listings <= self.failures:
            raise OSError("database is locked")
        return super().list_containers()


def _clocked_monitor(tmp_path: Path, monkeypatch: Any) -> tuple[Any, list[float]]:
    """A Monitor whose clock is `clock[0]` (moved by the test), its broker's registrations known,
    and a round that waits for work no longer than 10 ms."""
    from tedge_container.monitor import service, sync
    from tedge_container.monitor.service import Monitor
    from tedge_container.status.settings import mqtt_settings
    from tedge_container.status.topics import Topics

    clock = [1000.0]
    monkeypatch.setattr(service.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(sync.time, "monotonic", lambda: clock[0])
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "tedge-container-plugin.toml").write_text(f'data_dir = "{tmp_path}"\n')
    config = Config.load(environ={"TEDGE_CONFIG_DIR": str(tmp_path)})
    monitor = Monitor(config, mqtt_settings(config, tedge={}), Topics("te", "device/main//"), tedge={})
    monitor.started_at = clock[0] - 60
    monkeypatch.setattr(monitor, "_wait", lambda: 0.01)
    return monitor, clock


def test_a_listing_that_failed_is_tried_again_with_backoff(tmp_path: Path, monkeypatch) -> None:
    monitor, clock = _clocked_monitor(tmp_path, monkeypatch)
    engine = FailingOnce("/run/podman/podman.sock", dict([running("web")]), failures=2)
    try:
        monitor.queue.put(("engine-up", engine))
        monitor._round()
        assert engine.listings == 1 and monitor.picture.services == {}
        monitor._round()  # within the backoff (2 s): not asked again
        assert engine.listings == 1
        clock[0] += 2.1
        monitor._round()  # asked again, fails again: next in 4 s
        assert engine.listings == 2
        clock[0] += 2.1
        monitor._round()
        assert engine.listings == 2
        clock[0] += 2.1
        monitor._round()  # without a new "engine-up" from the watcher, the picture is read
        assert engine.listings == 3 and sorted(monitor.picture.services) == ["web"]
        clock[0] += 100
        monitor._round()  # once read, nothing more is asked
        assert engine.listings == 3
    finally:
        if monitor.cloud is not None:
            monitor.cloud.stop()


def test_a_failed_listing_waits_for_the_watcher_once_the_engine_went(tmp_path: Path, monkeypatch) -> None:
    # While the watcher says podman is down, the loop does not keep asking it (each try could hang
    # for connect_timeout, holding up health checks); its next "engine-up" is read at once.
    monitor, clock = _clocked_monitor(tmp_path, monkeypatch)
    engine = FailingOnce("/run/podman/podman.sock", dict([running("web")]), failures=1)
    try:
        monitor.queue.put(("engine-up", engine))
        monitor._round()
        assert engine.listings == 1
        monitor.queue.put(
            ("engine-down", "Cannot reach podman at /run/podman/podman.sock (no answer in time)")
        )
        monitor._round()
        clock[0] += 600
        monitor._round()
        assert engine.listings == 1  # not asked while it is down
        monitor.queue.put(("engine-up", engine))
        monitor._round()
        assert engine.listings == 2 and sorted(monitor.picture.services) == ["web"]
    finally:
        if monitor.cloud is not None:
            monitor.cloud.stop()
