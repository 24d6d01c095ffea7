"""The report costs one MQTT round trip, however many messages it holds.

Counted on the wire, not timed: a TCP relay between the plugin and the real
mosquitto forwards what the plugin sends at once, but holds every byte of the
broker's answers (CONNACK, PUBACKs) back until the plugin has sent the PUBLISH
packets the test expects (or `HOLD` seconds pass). A client that waits for an
answer before it sends the next thing (paho waited for CONNACK, then for the
acknowledgements) has sent no PUBLISH when the answers are let through; a
pipelined one has sent them all.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from typing import Any

import pytest
from tests.integration.test_mqtt import retained, unique, use_broker, warnings

pytestmark = pytest.mark.integration

APP1 = "localhost/tedge-test/app:1"
HOLD = 3.0  # the longest the answers are held (the report's own bound is 5 s)
PUBLISH = 0x30


def packet_types(buffer: bytearray) -> list[int]:
    """The MQTT packet types complete at the start of `buffer`, taken out of it."""
    types = []
    while len(buffer) >= 2:
        length, shift, index = 0, 0, 1
        while index < len(buffer) and buffer[index] & 0x80:
            length |= (buffer[index] & 0x7F) << shift
            shift, index = shift + 7, index + 1
        if index >= len(buffer):
            break
        length |= buffer[index] << shift
        end = index + 1 + length
        if len(buffer) < end:
            break
        types.append(buffer[0] & 0xF0)
        del buffer[:end]
    return types


class HoldingRelay:
    """One connection relayed to `broker`; the broker's bytes held until `expected` PUBLISHes came."""

    def __init__(self, broker: Any, expected: int) -> None:
        self.broker = broker
        self.expected = expected
        self.publishes = 0  # PUBLISH packets the plugin sent in all
        self.publishes_before_answer: int | None = None  # ... before it got any answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = "127.0.0.1", self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._relay, daemon=True)
        self.thread.start()

    def _relay(self) -> None:
        self.listener.settimeout(60)
        client, _ = self.listener.accept()
        upstream = socket.create_connection((self.broker.host, self.broker.port))
        held, sent = bytearray(), bytearray()
        started = time.monotonic()
        with client, upstream:
            while True:
                holding = self.publishes_before_answer is None
                if holding and (self.publishes >= self.expected or time.monotonic() - started > HOLD):
                    self.publishes_before_answer = self.publishes
                    client.sendall(held)
                    holding = False
                readable, _, _ = select.select([client, upstream], [], [], 0.05)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is client:
                        upstream.sendall(data)
                        sent += data
                        self.publishes += packet_types(sent).count(PUBLISH)
                    elif holding:
                        held += data
                    else:
                        client.sendall(data)

    def close(self) -> None:
        self.listener.close()
        self.thread.join(10)


def test_an_install_report_is_one_round_trip(plugin: Any, test_images: Any, mqtt_broker: Any) -> None:
    plugin.set_config("container", "min_ready", 0)
    # registration, health, five service commands
    relay = HoldingRelay(mqtt_broker, expected=7)
    use_broker(plugin, relay)
    name = unique("rtt")
    try:
        result = plugin.run("install", name, "--module-version", APP1)
    finally:
        relay.close()
    assert result.returncode == 0, result.stderr
    assert not warnings(result), result.stderr
    assert relay.publishes == 7, relay.publishes
    assert relay.publishes_before_answer == 7, "the plugin waited for the broker before publishing"
    assert f"te/device/main/service/{name}" in retained(mqtt_broker, f"te/device/main/service/{name}")


def test_an_update_list_report_is_one_round_trip(plugin: Any, test_images: Any, mqtt_broker: Any) -> None:
    plugin.set_config("container", "min_ready", 0)
    plugin.set_config("service_commands", "actions", [])  # registration and health only
    names = [unique("batch") for _ in range(3)]
    relay = HoldingRelay(mqtt_broker, expected=2 * len(names))
    use_broker(plugin, relay)
    try:
        result = plugin.run("update-list", stdin="".join(f"install\t{n}\t{APP1}\t\n" for n in names))
    finally:
        relay.close()
    assert result.returncode == 0, result.stderr
    assert not warnings(result), result.stderr
    assert relay.publishes_before_answer == relay.publishes == 6, relay.publishes
