"""MQTT status reporting against a real mosquitto (plain and TLS) and a real podman service.

What an operator sees with `mosquitto_sub -t 'te/#' -v`: an installed
container appears as a service with its true health, disappears on remove,
and failures arrive as events; the broker never changes an operation's outcome.

The brokers live for the whole session, so each test uses its own container
names (retained messages of other tests do not interfere).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

pytestmark = pytest.mark.integration

APP1 = "localhost/tedge-test/app:1"
EXITS = "localhost/tedge-test/exits:1"
MISSING = "localhost/tedge-test/missing:1"

Messages = list[tuple[str, bytes, bool]]  # (topic, payload, retain flag) in arrival order


# -- helpers -----------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def last_line(result: Any) -> str:
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else ""


def warnings(result: Any) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


class Collector:
    """A test-side MQTT client that records (topic, payload, retain) of everything under `topic_filter`."""

    def __init__(self, broker: Any, topic_filter: str, tls: bool = False) -> None:
        import paho.mqtt.client as mqtt

        kwargs: dict[str, Any] = {"client_id": unique("test-collector")}
        if hasattr(mqtt, "CallbackAPIVersion"):
            kwargs["callback_api_version"] = mqtt.CallbackAPIVersion.VERSION2
        self.client = mqtt.Client(**kwargs)
        if tls:
            self.client.tls_set(
                ca_certs=str(broker.ca_file), certfile=str(broker.cert_file), keyfile=str(broker.key_file)
            )
        self.messages: Messages = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.on_connect = lambda client, *args: client.subscribe(topic_filter, qos=1)
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()
        if not subscribed.wait(10):
            self.close()
            raise AssertionError(f"could not subscribe to {topic_filter} on {broker.host}:{broker.port}")

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))

    def wait_for(self, predicate: Callable[[Messages], bool], timeout: float = 10) -> Messages:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                snapshot = list(self.messages)
            if predicate(snapshot):
                return snapshot
            time.sleep(0.05)
        raise AssertionError(f"timed out; messages so far: {self.messages}")

    def topics(self) -> list[str]:
        with self._lock:
            return [topic for topic, _, _ in self.messages]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def retained(broker: Any, topic_filter: str, wait: float = 1.0, tls: bool = False) -> dict[str, bytes]:
    """The retained messages under `topic_filter` right now (as a fresh subscriber sees them)."""
    with Collector(broker, topic_filter, tls=tls) as collector:
        time.sleep(wait)
        return {topic: payload for topic, payload, retain in collector.messages if retain and payload}


def use_broker(plugin: Any, broker: Any, tedge_toml: str = "", tls: bool = False) -> None:
    """Point the plugin at `broker` the way a device does: through $TEDGE_CONFIG_DIR/tedge.toml."""
    auth = ""
    if tls:
        auth = (
            f'[mqtt.client.auth]\nca_file = "{broker.ca_file}"\n'
            f'cert_file = "{broker.cert_file}"\nkey_file = "{broker.key_file}"\n'
        )
    text = f'[mqtt.client]\nhost = "{broker.host}"\nport = {broker.port}\n{auth}{tedge_toml}'
    (Path(plugin.config_dir) / "tedge.toml").write_text(text)
    # The plugin's own keys override tedge.toml: make sure they are unset here.
    plugin.set_config("client.mqtt", "host", "")
    plugin.set_config("client.mqtt", "port", 0)
    plugin.set_config("report", "enabled", True)
    # Removes must not prune the session's test images that later tests use.
    plugin.set_config("container", "pruneimages", False)


def inspect_id(podman_service: Any, name: str) -> str:
    return podman_service.cli("container", "inspect", "--format", "{{.Id}}", name).stdout.strip()


# -- install / remove ----------------------------------------------------------------------


def test_install_registers_the_service_then_its_health(
    plugin, podman_service, test_images, mqtt_broker
) -> None:
    use_broker(plugin, mqtt_broker)
    name = unique("web")
    service = f"te/device/main/service/{name}"
    started = time.time()
    result = plugin.run("install", name, "--module-version", APP1)
    assert result.returncode == 0, result.stderr
    assert not warnings(result), result.stderr

    # Both are retained: a subscriber that comes later (the mapper after a restart) sees them.
    registration = json.loads(retained(mqtt_broker, service)[service])
    assert registration == {
        "@type": "service",
        "name": name,
        "type": "container",
        "container": {
            "image": APP1,
            "moduleVersion": APP1,
            "containerId": inspect_id(podman_service, name),
        },
    }
    health = json.loads(retained(mqtt_broker, f"{service}/#")[f"{service}/status/health"])
    assert health["status"] == "up"
    assert started - 1 <= health["time"] <= time.time() + 1


def test_registration_is_published_before_health(plugin, test_images, mqtt_broker) -> None:
    use_broker(plugin, mqtt_broker)
    name = unique("order")
    service = f"te/device/main/service/{name}"
    with Collector(mqtt_broker, "te/device/main/service/#") as collector:
        result = plugin.run("install", name, "--module-version", APP1)
        assert result.returncode == 0, result.stderr
        messages = collector.wait_for(lambda m: any(t == f"{service}/status/health" for t, _, _ in m))
    mine = [topic for topic, _, _ in messages if topic.startswith(service)]
    # then its service commands (test_service_capabilities.py), if they came already
    assert mine[:2] == [service, f"{service}/status/health"]
    assert all(topic.startswith(f"{service}/cmd/") for topic in mine[2:])


def test_exiting_at_once_is_installed_with_the_gate_off(plugin, test_images, mqtt_broker) -> None:
    """With the readiness gate off (min_ready = 0), such a container is installed; its health is one
    look when the report is sent (`up` or `down`, whichever podman says at that moment: nothing is
    watched, as the operator chose; the monitor keeps it live afterwards, test_one_observation.py)."""
    use_broker(plugin, mqtt_broker)
    plugin.set("container", "min_ready", 0)
    name = unique("exits")
    result = plugin.run("install", name, "--module-version", EXITS)
    assert result.returncode == 0, result.stderr
    assert "readiness not checked" in result.stderr.splitlines()[-1]
    health_topic = f"te/device/main/service/{name}/status/health"
    health = json.loads(retained(mqtt_broker, health_topic)[health_topic])
    assert health["status"] in ("up", "down")
    # The plugin's remove copes with a container that keeps restarting (a bulk `podman rm` may race it).
    result = plugin.run("remove", name)
    assert result.returncode == 0, result.stderr


def test_a_rejected_install_registers_nothing_and_sends_an_event(plugin, test_images, mqtt_broker) -> None:
    use_broker(plugin, mqtt_broker)
    name = unique("rejected")
    with Collector(mqtt_broker, "te/device/main///e/#") as events:
        result = plugin.run("install", name, "--module-version", EXITS)
        assert result.returncode == 2
        events.wait_for(lambda m: len(m) >= 1)
    assert "did not prove itself" in json.loads(events.messages[0][1])["text"]
    assert retained(mqtt_broker, f"te/device/main/service/{name}") == {}


def test_remove_deregisters_the_service(plugin, test_images, mqtt_broker) -> None:
    use_broker(plugin, mqtt_broker)
    name = unique("gone")
    service = f"te/device/main/service/{name}"
    assert plugin.run("install", name, "--module-version", APP1).returncode == 0
    assert set(retained(mqtt_broker, f"{service}/#")) | set(retained(mqtt_broker, service)) == {
        service,
        f"{service}/status/health",
        *(f"{service}/cmd/{action}" for action in ("start", "stop", "restart", "pause", "unpause")),
    }
    with Collector(mqtt_broker, f"{service}/#") as live, Collector(mqtt_broker, service) as entity:
        live.messages.clear()
        entity.messages.clear()
        result = plugin.run("remove", name)
        assert result.returncode == 0, result.stderr
        entity.wait_for(lambda m: (service, b"", False) in m or any(p == b"" for _, p, _ in m))
        live.wait_for(lambda m: any(t.endswith("/status/health") and p == b"" for t, p, _ in m))
    assert retained(mqtt_broker, f"{service}/#") == {}
    assert retained(mqtt_broker, service) == {}


def test_remove_of_an_unknown_container_still_clears_a_stale_service(plugin, mqtt_broker) -> None:
    use_broker(plugin, mqtt_broker)
    name = unique("stale")
    service = f"te/device/main/service/{name}"
    with Collector(mqtt_broker, service) as seed:
        seed.client.publish(service, b'{"@type":"service","type":"container"}', qos=1, retain=True)
        seed.wait_for(lambda m: len(m) >= 1)
    result = plugin.run("remove", name)
    assert result.returncode == 0, result.stderr
    assert retained(mqtt_broker, service) == {}


def test_failed_install_sends_an_event(plugin, test_images, mqtt_broker) -> None:
    use_broker(plugin, mqtt_broker)
    name = unique("broken")
    topic = "te/device/main///e/container_install_failed"
    with Collector(mqtt_broker, topic) as events:
        result = plugin.run("install", name, "--module-version", MISSING)
        assert result.returncode != 0
        messages = events.wait_for(lambda m: any(name.encode() in p for _, p, _ in m))
    assert last_line(result).startswith(f"Installing {name} failed"), result.stderr
    assert not warnings(result), result.stderr
    [(_, payload, retain)] = [m for m in messages if name.encode() in m[1]]
    event = json.loads(payload)
    assert not retain
    assert event["text"].startswith(f"Installing {name} failed: ")
    assert MISSING in event["text"]
    assert event["text"] == " ".join(last_line(result).split())[:1000]
    assert abs(event["time"] - time.time()) < 30
    assert event["container"] == name and event["moduleVersion"] == MISSING
    assert retained(mqtt_broker, f"te/device/main/service/{name}/#") == {}


def test_failed_remove_sends_an_event(plugin, mqtt_broker, tmp_path) -> None:
    use_broker(plugin, mqtt_broker)
    plugin.set_config("container", "host", f"unix://{tmp_path}/absent.sock")
    name = unique("unremovable")
    with Collector(mqtt_broker, "te/device/main///e/container_remove_failed") as events:
        result = plugin.run("remove", name)
        assert result.returncode == 3, result.stderr
        messages = events.wait_for(lambda m: any(name.encode() in p for _, p, _ in m))
    event = json.loads(next(p for _, p, _ in messages if name.encode() in p))
    assert event["text"].startswith(f"Removing {name} failed: Cannot reach podman")
    assert last_line(result).startswith("Cannot reach podman"), result.stderr


def test_update_list_reports_every_module(plugin, podman_service, test_images, mqtt_broker) -> None:
    use_broker(plugin, mqtt_broker)
    good, bad, removed = unique("batch-ok"), unique("batch-bad"), unique("batch-rm")
    assert plugin.run("install", removed, "--module-version", APP1).returncode == 0
    stdin = f"install\t{good}\t{APP1}\t\ninstall\t{bad}\t{MISSING}\t\nremove\t{removed}\t{APP1}\t\n"
    with Collector(mqtt_broker, "te/device/main/#") as collector:
        result = plugin.run("update-list", stdin=stdin)
        assert result.returncode == 2, result.stderr
        collector.wait_for(
            lambda m: (
                any(t.endswith(f"{good}/status/health") for t, _, _ in m)
                and any(bad.encode() in p for _, p, _ in m)
                and any(t.endswith(f"service/{removed}") and p == b"" for t, p, _ in m)
            )
        )
    assert last_line(result).startswith(f"install {bad}:"), result.stderr
    service = f"te/device/main/service/{good}"
    assert json.loads(retained(mqtt_broker, f"{service}/#")[f"{service}/status/health"])["status"] == "up"
    assert retained(mqtt_broker, f"te/device/main/service/{removed}/#") == {}
    assert retained(mqtt_broker, f"te/device/main/service/{removed}") == {}


# -- configuration ----------------------------------------------------------------------------


def test_topic_root_and_device_topic_id_from_tedge_toml(plugin, test_images, mqtt_broker) -> None:
    root = unique("plant")
    use_broker(plugin, mqtt_broker, f'[mqtt]\ntopic_root = "{root}"\ndevice_topic_id = "device/child01//"\n')
    name = unique("child")
    with Collector(mqtt_broker, f"{root}/#") as collector:
        assert plugin.run("install", name, "--module-version", APP1).returncode == 0
        assert plugin.run("install", unique("x"), "--module-version", MISSING).returncode != 0
        messages = collector.wait_for(lambda m: any("/e/" in t for t, _, _ in m))
    topics = {topic for topic, _, _ in messages}
    assert f"{root}/device/child01/service/{name}" in topics
    assert f"{root}/device/child01/service/{name}/status/health" in topics
    assert f"{root}/device/child01///e/container_install_failed" in topics


def test_plugin_keys_override_tedge_toml(plugin, test_images, mqtt_broker) -> None:
    use_broker(plugin, mqtt_broker)
    (Path(plugin.config_dir) / "tedge.toml").write_text(
        '[mqtt]\ntopic_root = "ignored"\n[mqtt.client]\nhost = "192.0.2.1"\nport = 1\n'
    )
    plugin.set_config("client.mqtt", "host", mqtt_broker.host)
    plugin.set_config("client.mqtt", "port", mqtt_broker.port)
    root = unique("custom")
    # topic_root / topic_id are top-level plugin keys; the environment overrides them like any key.
    env = {"CONTAINER_TOPIC_ROOT": root, "CONTAINER_TOPIC_ID": "device/gw01"}
    name = unique("over")
    health = f"{root}/device/gw01/service/{name}/status/health"
    with Collector(mqtt_broker, f"{root}/#") as collector:
        result = plugin.run("install", name, "--module-version", APP1, env=env)
        assert result.returncode == 0, result.stderr
        assert not warnings(result), result.stderr
        collector.wait_for(lambda m: any(t == health for t, _, _ in m))


def test_disabled_reporting_publishes_nothing(plugin, test_images, mqtt_broker) -> None:
    use_broker(plugin, mqtt_broker)
    plugin.set_config("report", "enabled", False)
    name = unique("quiet")
    with Collector(mqtt_broker, "te/#") as collector:
        assert plugin.run("install", name, "--module-version", APP1).returncode == 0
        assert plugin.run("install", unique("q"), "--module-version", MISSING).returncode != 0
        time.sleep(0.5)
    assert not [t for t in collector.topics() if name in t or "/e/" in t]


# -- best effort, bounded -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Host:
    def __init__(self, port: int) -> None:
        self.host, self.port = "127.0.0.1", port


def timed(plugin: Any, *args: str) -> tuple[Any, float]:
    start = time.monotonic()
    result = plugin.run(*args)
    return result, time.monotonic() - start


def test_broker_down_install_succeeds_within_the_bound(plugin, test_images) -> None:
    use_broker(plugin, Host(free_port()))  # nothing listens: connection refused
    plugin.set_config("report", "enabled", False)
    baseline_result, baseline = timed(plugin, "install", unique("base"), "--module-version", APP1)
    assert baseline_result.returncode == 0, baseline_result.stderr
    plugin.set_config("report", "enabled", True)
    name = unique("nobroker")
    result, elapsed = timed(plugin, "install", name, "--module-version", APP1)
    assert result.returncode == 0, result.stderr
    assert len(warnings(result)) == 1 and "Connection refused" in warnings(result)[0], result.stderr
    assert elapsed < baseline + 2, (elapsed, baseline)
    result, _ = timed(plugin, "remove", name)
    assert result.returncode == 0 and len(warnings(result)) == 1, result.stderr


def test_silent_broker_costs_at_most_report_timeout(plugin, test_images) -> None:
    with socket.socket() as listener:  # TCP connects (backlog) but no MQTT answer ever
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        use_broker(plugin, Host(listener.getsockname()[1]))
        plugin.set_config("report", "timeout", 2.0)
        plugin.set_config("report", "enabled", False)
        baseline_result, baseline = timed(plugin, "install", unique("base"), "--module-version", APP1)
        assert baseline_result.returncode == 0, baseline_result.stderr
        plugin.set_config("report", "enabled", True)
        result, elapsed = timed(plugin, "install", unique("blackhole"), "--module-version", APP1)
        assert result.returncode == 0, result.stderr
        assert len(warnings(result)) == 1 and "no answer" in warnings(result)[0], result.stderr
        failed = plugin.run("install", unique("bh"), "--module-version", MISSING)
    # 2 s of reporting at most, plus slack for a loaded machine.
    assert 1.5 < elapsed - baseline < 2.0 + 1.5, (elapsed, baseline)
    assert failed.returncode != 0
    assert last_line(failed).startswith("Installing"), "the operation's error stays the last line"
    assert len(warnings(failed)) == 1, failed.stderr


def test_failed_install_with_broker_down_keeps_its_error_last(plugin, test_images) -> None:
    use_broker(plugin, Host(free_port()))
    result = plugin.run("install", unique("x"), "--module-version", MISSING)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Installing"), result.stderr
    assert any(line.startswith("warning: container status not reported") for line in lines[:-1])


# -- TLS ----------------------------------------------------------------------------------------


def test_tls_with_a_client_certificate(plugin, test_images, mqtt_broker_tls) -> None:
    use_broker(plugin, mqtt_broker_tls, tls=True)
    name = unique("tls")
    service = f"te/device/main/service/{name}"
    with Collector(mqtt_broker_tls, f"{service}/#", tls=True) as collector:
        result = plugin.run("install", name, "--module-version", APP1)
        assert result.returncode == 0, result.stderr
        assert not warnings(result), result.stderr
        collector.wait_for(lambda m: any(t.endswith("/status/health") for t, _, _ in m))
    assert service in retained(mqtt_broker_tls, service, tls=True)


def test_tls_with_a_wrong_ca_fails_soft(plugin, test_images, mqtt_broker_tls, tmp_path) -> None:
    from tests.support.pki import Pki

    other = Pki.create(tmp_path / "other-ca")
    use_broker(plugin, mqtt_broker_tls, tls=True)
    toml = Path(plugin.config_dir) / "tedge.toml"
    toml.write_text(toml.read_text().replace(str(mqtt_broker_tls.ca_file), str(other.ca_file)))
    name = unique("wrongca")
    result, elapsed = timed(plugin, "install", name, "--module-version", APP1)
    assert result.returncode == 0, result.stderr
    [warning] = warnings(result)
    assert "TLS" in warning and "ca_file" in warning, warning
    assert elapsed < 15
    assert retained(mqtt_broker_tls, f"te/device/main/service/{name}", tls=True) == {}


def test_tls_without_a_client_certificate_fails_soft(plugin, test_images, mqtt_broker_tls) -> None:
    use_broker(plugin, mqtt_broker_tls)
    (Path(plugin.config_dir) / "tedge.toml").write_text(
        f'[mqtt.client]\nhost = "{mqtt_broker_tls.host}"\nport = {mqtt_broker_tls.port}\n'
        f'[mqtt.client.auth]\nca_file = "{mqtt_broker_tls.ca_file}"\n'
    )
    result = plugin.run("install", unique("nocert"), "--module-version", APP1)
    assert result.returncode == 0, result.stderr
    [warning] = warnings(result)
    assert "client certificate" in warning, warning
