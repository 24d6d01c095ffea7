"""The monitor (`tedge-container-plugin monitor`) against real podman and a real mosquitto.

What an operator sees with `mosquitto_sub -t 'te/#' -v` while containers
are stopped, started, crash and are removed by hand, while the broker
restarts (its retained messages lost) and when the monitor is stopped.

The monitor runs as a subprocess (as systemd runs it) against its own broker,
so the session broker's retained messages of other tests do not interfere.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from tests.support.group import app, compose, file_of
from tests.support.monitor import (
    ENGINE_ALARM,
    OWN_HEALTH,
    Monitor,
    Watch,
    own_health,
    podman,
    restart_on_its_port,
    service_topic,
    unique,
    wait_until,
)
from tests.support.proc import live_processes

pytestmark = pytest.mark.integration


def test_stop_start_and_removal_by_hand_are_reflected(plugin, test_images, monitor, watch) -> None:
    name = unique("app")
    container_id = podman(plugin, "run", "-d", "--name", name, test_images.app1)
    wait_until(f"{name} registered with health up", lambda: watch.health(name) == "up")
    registration = watch.json(service_topic(name))
    assert registration is not None
    assert registration["@type"] == "service" and registration["type"] == "container"
    twin = registration["container"]
    assert twin["containerId"] == container_id
    assert twin["state"] == "running"
    assert twin["image"] == test_images.app1
    assert twin["createdAt"] and twin["networkMode"]
    assert "8080" in twin["command"] or twin["command"]

    podman(plugin, "stop", "-t", "2", name)
    wait_until(f"{name} down after a stop by hand", lambda: watch.health(name) == "down", timeout=5)
    assert watch.json(service_topic(name))["container"]["state"] == "exited"

    podman(plugin, "start", name)
    wait_until(f"{name} up after a start by hand", lambda: watch.health(name) == "up", timeout=5)

    podman(plugin, "rm", "-f", "-t", "0", name)
    wait_until(f"{name} deregistered", lambda: watch.state.get(service_topic(name)) == "", timeout=5)
    assert ("te/device/main/service/tedge-agent/signal/sync_log_upload", "{}") in watch.live


def test_broker_restart_republishes_everything(plugin, test_images, broker, monitor, watch) -> None:
    name = unique("app")
    podman(plugin, "run", "-d", "--name", name, test_images.app1)
    wait_until(f"{name} up", lambda: watch.health(name) == "up")
    port = broker.port
    broker.stop()  # persistence is off: every retained message is lost
    watch.state.clear()
    restart_on_its_port(broker)
    assert broker.port == port
    wait_until(f"{name} registered again", lambda: watch.json(service_topic(name)) is not None, timeout=40)
    wait_until(f"{name} health again", lambda: watch.health(name) == "up")
    wait_until("the monitor's own health up again", lambda: own_health(watch) == "up")


def test_sigterm_exits_0_and_says_down(plugin, monitor, watch) -> None:
    assert monitor.stop() == 0
    wait_until("the monitor's health down", lambda: own_health(watch) == "down")


def test_a_crash_loop_raises_then_clears_the_alarm(plugin, test_images, monitor, watch) -> None:
    name = unique("loop")
    # Crashes 4 times (the file survives restarts), then runs steadily.
    script = "n=$(cat /n 2>/dev/null || echo 0); echo $((n+1)) > /n; [ $n -ge 4 ] || exit 1; exec sleep 600"
    command = ["/bin/sh", "-c", script]
    podman(plugin, "run", "-d", "--restart", "always", "--name", name, test_images.app1, *command)
    alarm_topic = f"{service_topic(name)}/a/container_crash_loop"
    alarm = wait_until("the crash-loop alarm", lambda: watch.json(alarm_topic), timeout=30)
    assert alarm["severity"] == "major"
    assert name in alarm["text"] and "restarted it" in alarm["text"]
    wait_until("the alarm cleared after a steady run", lambda: watch.state.get(alarm_topic) == "", timeout=15)
    wait_until("its health up once the alarm is cleared", lambda: watch.health(name) == "up", timeout=2)


def test_engine_unreachable_raises_then_clears_the_alarm(plugin, broker, watch, tmp_path) -> None:
    link = tmp_path / "podman.sock"
    plugin.set_config("container", "host", f"unix://{link}")
    monitor = Monitor(plugin, broker, tmp_path / "monitor.log").start()
    try:
        alarm = wait_until("the engine alarm", lambda: watch.json(ENGINE_ALARM))
        assert str(link) in alarm["text"] and "podman.socket" in alarm["text"]
        assert alarm["severity"] == "critical"
        os.symlink(plugin.podman.socket_path, link)
        wait_until("the engine alarm cleared", lambda: watch.state.get(ENGINE_ALARM) == "", timeout=20)
    finally:
        assert monitor.stop() == 0
        print(monitor.output())


def _podman_service_pids(plugin) -> list[int]:
    """The podman service's own processes (its process group, without the containers' conmon)."""
    group = plugin.podman.process.popen.pid  # the service runs in a session of its own
    return [
        pid
        for pid, (_, pgid, command) in live_processes().items()
        if pgid == group and "system service" in command
    ]


def test_a_hung_engine_raises_the_alarm_while_its_stream_is_silent(plugin, broker, watch, tmp_path) -> None:
    # podman stopped (SIGSTOP: its socket still accepts, nothing answers) while no event comes: only
    # the probe of a silent stream can tell. It answered once, so the probe must really ask again.
    plugin.set_config("container", "engine_probe_interval", 1)
    plugin.set_config("container", "connect_timeout", 1)
    monitor = Monitor(plugin, broker, tmp_path / "monitor.log").start()
    try:
        wait_until("the monitor's health up", lambda: own_health(watch) == "up")
        time.sleep(2)  # the first sync is done and the stream has been silent a while
        frozen = _podman_service_pids(plugin)
        assert frozen, "the podman service's processes"
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        try:
            alarm = wait_until("the engine alarm", lambda: watch.json(ENGINE_ALARM), timeout=20)
            assert str(plugin.podman.socket_path) in alarm["text"] and "no answer in time" in alarm["text"]
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)
        wait_until("the engine alarm cleared", lambda: watch.state.get(ENGINE_ALARM) == "", timeout=30)
    finally:
        assert monitor.stop() == 0
        print(monitor.output())


def test_a_monitor_that_never_reached_the_engine_stops_cleanly(plugin, broker, watch, tmp_path) -> None:
    plugin.set_config("container", "host", f"unix://{tmp_path / 'nothing.sock'}")
    monitor = Monitor(plugin, broker, tmp_path / "monitor.log").start()
    wait_until("the engine alarm", lambda: watch.json(ENGINE_ALARM))
    assert monitor.stop() == 0
    assert "Traceback" not in monitor.output()
    assert own_health(watch) == "down"


def test_metrics_arrive_every_interval_for_running_containers(
    plugin, test_images, broker, watch, tmp_path
) -> None:
    plugin.set_config("metrics", "interval", "1s")  # a Go duration, as the Go plugin's file has it
    monitor = Monitor(plugin, broker, tmp_path / "monitor.log").start()
    name = unique("app")
    try:
        podman(plugin, "run", "-d", "--name", name, test_images.app1)
        topic = f"{service_topic(name)}/m/resource_usage"
        wait_until(
            "two resource_usage measurements", lambda: [t for t, _ in watch.live if t == topic][1:], 20
        )
        measured = json.loads(next(payload for t, payload in watch.live if t == topic))["container"]
        assert set(measured) == {"cpu", "memory", "netio"}
        assert measured["memory"] > 0 and isinstance(measured["netio"], int)
    finally:
        assert monitor.stop() == 0
        print(monitor.output())


class EngineDoor:
    """A unix-socket relay in front of the session's podman that the test can shut and reopen.

    Shutting it closes the event stream and refuses connections, exactly what
    the monitor sees when podman's service restarts; the real service is
    shared by the whole session, so restarting it here would disturb other
    tests. Containers keep running behind it, and change meanwhile.
    """

    def __init__(self, path: Path, target: str) -> None:
        self.path = path
        self.target = target
        self.server: socket.socket | None = None
        self.connections: list[socket.socket] = []

    def open(self) -> None:
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(self.path))
        self.server.listen(16)
        threading.Thread(target=self._accept, args=(self.server,), daemon=True).start()

    def shut(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        self.path.unlink(missing_ok=True)
        for connection in self.connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self.connections.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            self.connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def test_an_engine_restart_mid_stream_resynchronises(plugin, test_images, broker, watch, tmp_path) -> None:
    door = EngineDoor(tmp_path / "engine.sock", str(plugin.podman.socket_path))
    door.open()
    plugin.set_config("container", "host", f"unix://{door.path}")
    kept, removed = unique("kept"), unique("gone")
    podman(plugin, "run", "-d", "--name", kept, test_images.app1)
    podman(plugin, "run", "-d", "--name", removed, test_images.app1)
    monitor = Monitor(plugin, broker, tmp_path / "monitor.log").start()
    try:
        wait_until("both services up", lambda: watch.health(kept) == watch.health(removed) == "up")
        door.shut()  # the engine goes away mid-stream...
        wait_until("the engine alarm", lambda: watch.json(ENGINE_ALARM))
        podman(plugin, "rm", "-f", "-t", "0", removed)  # ...and things change meanwhile
        podman(plugin, "stop", "-t", "0", kept)
        door.open()
        wait_until("the engine alarm cleared", lambda: watch.state.get(ENGINE_ALARM) == "", timeout=40)
        wait_until(f"{removed} deregistered", lambda: watch.state.get(service_topic(removed)) == "")
        wait_until(f"{kept} down", lambda: watch.health(kept) == "down")
    finally:
        door.shut()
        assert monitor.stop() == 0
        print(monitor.output())


def test_a_health_check_is_answered(plugin, test_images, broker, monitor, watch) -> None:
    name = unique("app")
    podman(plugin, "run", "-d", "--name", name, test_images.app1)
    wait_until(f"{name} up", lambda: watch.health(name) == "up")
    health = f"{service_topic(name)}/status/health"
    before = len([t for t, _ in watch.live if t == health])
    broker.publish(f"{service_topic(name)}/cmd/health/check", "{}")
    broker.publish(f"{service_topic('tedge-container-plugin')}/cmd/health/check", "{}")
    wait_until("the service's health again", lambda: len([t for t, _ in watch.live if t == health]) > before)
    wait_until("the monitor's own health again", lambda: [t for t, _ in watch.live if t == OWN_HEALTH][1:])


def test_a_broker_that_is_down_at_start_is_waited_for(plugin, test_images, broker, tmp_path) -> None:
    name = unique("app")
    podman(plugin, "run", "-d", "--name", name, test_images.app1)
    broker.stop()  # the monitor starts with no broker at all...
    monitor = Monitor(plugin, broker, tmp_path / "monitor.log").start()
    try:
        time.sleep(1.5)
        assert monitor.proc is not None and monitor.proc.poll() is None, "the monitor gave up"
        restart_on_its_port(broker)  # ...which comes later
        watch = Watch(broker)
        try:
            wait_until(f"{name} registered", lambda: watch.health(name) == "up", timeout=40)
            assert own_health(watch) == "up"
        finally:
            watch.close()
    finally:
        assert monitor.stop() == 0
        print(monitor.output())


def test_group_services_have_one_name_for_the_installer_the_monitor_and_the_log_plugin(
    plugin,
    test_images,
    monitor,
    watch,
    group,
    tmp_path,
) -> None:
    """Go's naming, PROJECT@SERVICE, everywhere; MODULE@SERVICE with use_module_name everywhere.

    The module name has capitals, so its project name (lower case) differs.
    """
    from tests.integration.test_log_plugin import log_plugin

    plugin.set("report", "enabled", True)  # the installer reports to the monitor's broker too
    module = unique("Shop")
    project = module.lower()
    compose_file = file_of(tmp_path, "compose.yaml", compose({"web": app(test_images.app1)}))

    def group_services() -> set[str]:
        return {
            topic
            for topic, payload in watch.state.items()
            if payload and '"container-group"' in payload and "/status/" not in topic
        }

    result = group.install(module, "1.0", compose_file)
    assert result.returncode == 0, result.stderr
    expected = service_topic(f"{project}@web")
    wait_until(f"{project}@web up", lambda: watch.health(f"{project}@web") == "up")
    time.sleep(1.5)  # room for a second name to appear, were the monitor to name it otherwise
    assert group_services() == {expected}
    assert log_plugin(plugin, "list", name="container-group").stdout.splitlines() == [f"{project}@web"]
    # tedge-agent re-reads every log plugin on this one signal: container-group's types too.
    assert ("te/device/main/service/tedge-agent/signal/sync_log_upload", "{}") in watch.live

    monitor.stop()
    plugin.set("container_group", "use_module_name", True)
    monitor.start()
    result = group.install(module, "2.0", compose_file)
    assert result.returncode == 0, result.stderr
    wait_until(f"{module}@web up", lambda: watch.health(f"{module}@web") == "up")
    wait_until(f"{project}@web gone", lambda: group_services() == {service_topic(f"{module}@web")})
    assert log_plugin(plugin, "list", name="container-group").stdout.splitlines() == [f"{module}@web"]
