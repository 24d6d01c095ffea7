"""The monitor as a subprocess and a live view of the broker's retained state, for the monitor's tests."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

from tests.support.mqtt import Broker
from tests.support.proc import Process, port_open

OWN_HEALTH = "te/device/main/service/tedge-container-plugin/status/health"
ENGINE_ALARM = "te/device/main///a/container_engine_unreachable"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def service_topic(name: str) -> str:
    return f"te/device/main/service/{name}"


def wait_until(what: str, check: Callable[[], Any], timeout: float = 15) -> Any:
    """Poll `check` until it returns something true; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


class Watch:
    """The retained state of the broker as a fresh subscriber would see it, kept up to date live."""

    def __init__(self, broker: Broker) -> None:
        import paho.mqtt.client as mqtt

        kwargs: dict[str, Any] = {"client_id": unique("test-watch")}
        if hasattr(mqtt, "CallbackAPIVersion"):
            kwargs["callback_api_version"] = mqtt.CallbackAPIVersion.VERSION2
        self.client = mqtt.Client(**kwargs)
        self.state: dict[str, str] = {}  # retained topics: the last payload ('' = cleared)
        self.live: list[tuple[str, str]] = []  # every message, in order
        self.client.on_message = self._message
        self.client.on_connect = lambda client, *args: client.subscribe("#", qos=1)
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()

    def _message(self, _client: Any, _userdata: Any, message: Any) -> None:
        payload = bytes(message.payload).decode(errors="replace")
        self.live.append((message.topic, payload))
        if "/m/" not in message.topic and "/e/" not in message.topic:
            self.state[message.topic] = payload

    def json(self, topic: str) -> dict[str, Any] | None:
        payload = self.state.get(topic)
        return json.loads(payload) if payload else None

    def health(self, name: str) -> str:
        payload = self.json(f"{service_topic(name)}/status/health")
        return payload["status"] if payload else ""

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class Monitor:
    def __init__(self, plugin: Any, broker: Broker, log_path: Path) -> None:
        (Path(plugin.config_dir) / "tedge.toml").write_text(
            f'[mqtt.client]\nhost = "{broker.host}"\nport = {broker.port}\n'
        )
        self.plugin = plugin
        self.log_path = log_path
        self.data_dir = log_path.parent / "data"  # its pending cloud deletions; not the machine's
        plugin.set("", "data_dir", str(self.data_dir))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Monitor:
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tedge_container", "monitor"],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=self.plugin.env(),
            cwd=str(self.plugin.config_dir),
        )
        return self

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError("the monitor did not stop within 10 s of SIGTERM") from None
        finally:
            self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def restart_on_its_port(broker: Broker) -> None:
    """Start a stopped broker again on the same port (Broker.start would pick a new one)."""
    broker.process = Process(
        "mosquitto monitor",
        ["mosquitto", "-c", str(broker.workdir / "mosquitto.conf")],
        log_path=broker.workdir / "mosquitto.log",
    ).start()
    wait_until("the broker back on its port", lambda: port_open(broker.port))


def own_health(watch: Watch) -> str:
    return (watch.json(OWN_HEALTH) or {}).get("status", "")


@contextlib.contextmanager
def running(monitor: Monitor, watch: Watch) -> Iterator[Monitor]:
    """`monitor` started, its own health up; after, stopped (when still running) and its output printed."""
    monitor.start()
    try:
        wait_until("the monitor's health is up", lambda: own_health(watch) == "up")
        yield monitor
    finally:
        if monitor.proc is not None and monitor.proc.poll() is None:
            monitor.stop()
        print(monitor.output())


def podman(plugin: Any, *args: str) -> str:
    return plugin.podman.cli(*args).stdout.strip()


def remove_crash_loop(plugin: Any, name: str, timeout: float = 60) -> None:
    """`rm -f` a container the engine keeps restarting, until it is gone: podman 4.3 refuses
    the removal of a container caught mid-restart now and then."""
    wait_until(
        f"{name} removed",
        lambda: (
            plugin.podman.cli("rm", "-f", "-t", "0", name, check=False).returncode == 0
            and plugin.podman.cli("container", "exists", name, check=False).returncode == 1
        ),
        timeout=timeout,
    )
