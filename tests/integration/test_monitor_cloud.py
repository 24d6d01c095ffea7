"""The monitor deletes removed services in Cumulocity through tedge's local proxy.

Real podman, a real mosquitto and the monitor as a subprocess; the proxy is
a stand-in HTTP server on loopback (tests/support/c8y_proxy.py), since the
real one needs a Cumulocity tenant. What is asserted is what the cloud would
see: which managed objects are deleted, and which are left alone.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.c8y_proxy import CumulocityStub
from tests.support.monitor import (
    Monitor,
    Watch,
    own_health,
    podman,
    service_topic,
    unique,
    wait_until,
)

pytestmark = pytest.mark.integration

DEVICE = "dev-" + uuid.uuid4().hex[:6]
DELAY = 1.0  # delete_from_cloud.delay for these tests (30 s by default)


def xid(name: str) -> str:
    """thin-edge's external id of the main device's service `name`."""
    return f"{DEVICE}:device:main:service:{name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def proxy() -> Iterator[CumulocityStub]:
    stub = CumulocityStub(DEVICE).start()
    try:
        yield stub
    finally:
        stub.stop()


def start_monitor(plugin: Any, broker: Any, watch: Watch, tmp_path: Path, proxy_port: int) -> Monitor:
    plugin.set("metrics", "interval", 0)
    plugin.set("delete_from_cloud", "delay", DELAY)
    monitor = Monitor(plugin, broker, tmp_path / "monitor.log")
    tedge_toml = Path(plugin.config_dir) / "tedge.toml"  # where tedge keeps the proxy's address
    tedge_toml.write_text(
        tedge_toml.read_text() + f'\n[c8y.proxy.client]\nhost = "127.0.0.1"\nport = {proxy_port}\n'
    )
    monitor.start()
    wait_until("the monitor's health is up", lambda: own_health(watch) == "up")
    return monitor


@pytest.fixture()
def stop_monitors() -> Iterator[list[Monitor]]:
    started: list[Monitor] = []
    try:
        yield started
    finally:
        for monitor in started:
            if monitor.proc is not None and monitor.proc.poll() is None:
                monitor.stop()
            print(monitor.output())


def test_a_removed_service_is_deleted_in_the_cloud_and_a_replaced_one_kept(
    plugin, test_images, broker, watch, proxy, stop_monitors, tmp_path
) -> None:
    stop_monitors.append(start_monitor(plugin, broker, watch, tmp_path, proxy.port))
    gone, replaced, foreign = unique("gone"), unique("replaced"), unique("foreign")
    for name in (gone, replaced, foreign):
        podman(plugin, "run", "-d", "--name", name, test_images.app1)
        wait_until(f"{name} up", lambda name=name: watch.health(name) == "up")
        # What the Cumulocity mapper does on registration; `foreign` is no service object.
        proxy.add_service(xid(name), "c8y_Service" if name != foreign else "c8y_Device")

    podman(plugin, "rm", "-f", "-t", "0", gone)
    podman(plugin, "rm", "-f", "-t", "0", foreign)
    podman(plugin, "rm", "-f", "-t", "0", replaced)  # ... and created again at once, as an upgrade does
    podman(plugin, "run", "-d", "--name", replaced, test_images.app1)

    wait_until(f"{gone} deleted in the cloud", lambda: not proxy.has(xid(gone)))
    time.sleep(DELAY + 1.0)  # past the delay of the other two
    assert proxy.has(xid(replaced)), "a service created again within the delay keeps its cloud object"
    assert proxy.has(xid(foreign)), "only service objects are ever deleted"
    assert len(proxy.deletes()) == 1
    assert ("GET", "/c8y/user/currentUser") in proxy.requests  # the device's id, from the proxy's user
    assert watch.health(replaced) == "up"


def test_deletions_wait_for_the_proxy_survive_a_restart_and_go_when_the_bridge_is_up(
    plugin, test_images, broker, watch, stop_monitors, tmp_path
) -> None:
    port = free_port()  # nobody listens yet: no mapper on this device for now
    monitor = start_monitor(plugin, broker, watch, tmp_path, port)
    stop_monitors.append(monitor)
    name = unique("later")
    podman(plugin, "run", "-d", "--name", name, test_images.app1)
    wait_until(f"{name} up", lambda: watch.health(name) == "up")
    podman(plugin, "rm", "-f", "-t", "0", name)
    wait_until(f"{name} deregistered", lambda: watch.state.get(service_topic(name)) == "")
    time.sleep(DELAY + 0.5)  # one attempt failed: the proxy is not there
    assert "Traceback" not in monitor.output()
    assert "cannot be deleted" not in monitor.output()  # no proxy: quiet

    # The monitor restarts meanwhile: the pending deletion is kept on disk.
    assert monitor.stop() == 0
    pending = json.loads((tmp_path / "data" / "monitor-cloud-deletions.json").read_text())
    assert pending == [name]
    monitor.start()
    wait_until("the monitor's health is up again", lambda: own_health(watch) == "up")
    time.sleep(DELAY + 0.5)  # its first attempt after the restart fails too: the next waits 30 s

    stub = CumulocityStub(DEVICE, port=port)
    stub.add_service(xid(name))
    stub.start()
    try:
        # The bridge says it is up: the deletion is tried at once, not after its 30 s pause.
        publisher = watch.client
        publisher.publish(
            "te/device/main/service/tedge-mapper-c8y/status/health", '{"status":"up"}', qos=1, retain=True
        )
        wait_until(f"{name} deleted once the bridge is up", lambda: not stub.has(xid(name)), timeout=10)
        wait_until(
            "nothing pending any more",
            lambda: json.loads((tmp_path / "data" / "monitor-cloud-deletions.json").read_text()) == [],
        )
    finally:
        stub.stop()


def test_without_delete_from_cloud_nothing_is_asked(
    plugin, test_images, broker, watch, proxy, stop_monitors, tmp_path
) -> None:
    plugin.set("delete_from_cloud", "enabled", False)
    stop_monitors.append(start_monitor(plugin, broker, watch, tmp_path, proxy.port))
    name = unique("kept")
    podman(plugin, "run", "-d", "--name", name, test_images.app1)
    wait_until(f"{name} up", lambda: watch.health(name) == "up")
    proxy.add_service(xid(name))
    podman(plugin, "rm", "-f", "-t", "0", name)
    wait_until(f"{name} deregistered", lambda: watch.state.get(service_topic(name)) == "")
    time.sleep(DELAY + 1.0)
    assert proxy.requests == [] and proxy.has(xid(name))


def test_services_that_vanish_in_numbers_keep_their_cloud_objects_until_removed_or_back(
    plugin, test_images, broker, watch, proxy, stop_monitors, tmp_path
) -> None:
    """Their containers removed behind the monitor's back while it was stopped (as an empty or a
    different engine looks): more than delete_from_cloud.max_vanished (3) go at once."""
    monitor = start_monitor(plugin, broker, watch, tmp_path, proxy.port)
    stop_monitors.append(monitor)
    names = [unique("many") for _ in range(4)]
    for name in names:
        podman(plugin, "run", "-d", "--name", name, test_images.app1)
        proxy.add_service(xid(name))
    for name in names:
        wait_until(f"{name} up", lambda name=name: watch.health(name) == "up")
    assert monitor.stop() == 0
    for name in names:
        podman(plugin, "rm", "-f", "-t", "0", name)
    monitor.start()

    alarm_topic = "te/device/main///a/container_services_vanished"
    alarm = wait_until("the vanished-services alarm", lambda: watch.json(alarm_topic))
    assert alarm["text"].startswith("4 container services vanished at once")
    assert "max_vanished = 3" in alarm["text"] and "kept" in alarm["text"]
    for name in names:
        wait_until(f"{name} deregistered", lambda name=name: watch.state.get(service_topic(name)) == "")
    time.sleep(DELAY + 1.5)  # past the delay: nothing is deleted
    assert proxy.deletes() == []
    assert all(proxy.has(xid(name)) for name in names)

    # The operator removes two of them from the cloud (the sm-plugin's remove): deleted there now.
    plugin.set("report", "enabled", True)
    for name in names[:2]:
        result = plugin.run("remove", name)
        assert result.returncode == 0, result.stderr
    for name in names[:2]:
        wait_until(f"{name} deleted in the cloud", lambda name=name: not proxy.has(xid(name)))
    wait_until("2 left in the alarm", lambda: watch.json(alarm_topic)["text"].startswith("2 container"))
    # The other two come back (the right engine again): the alarm is cleared, they stay in the cloud.
    for name in names[2:]:
        podman(plugin, "run", "-d", "--name", name, test_images.app1)
    wait_until("the alarm cleared", lambda: watch.state.get(alarm_topic) == "")
    assert proxy.has(xid(names[2])) and proxy.has(xid(names[3]))
    assert len(proxy.deletes()) == 2
