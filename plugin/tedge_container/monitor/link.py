"""The monitor's long-lived MQTT connection (paho 1.6 or 2.x, built by status/mqtt.py).

paho's own network thread connects in the background and reconnects with
bounded backoff, so the monitor never blocks on the broker, at start or
later. The link keeps every retained message it stands for (registrations,
health, alarms) and publishes all of them again after each (re)connection:
a restarted broker has lost them. Nothing is queued while the broker is
away (measurements are dropped), so memory stays flat however long it is.
"""

from __future__ import annotations

import contextlib
import json
import threading

from ..status.mqtt import is_failure, new_client
from ..status.topics import health_payload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from ..status.settings import MqttSettings
    from ..status.topics import Topics

SERVICE_NAME = "tedge-container-plugin"
RECONNECT_MIN = 1
RECONNECT_MAX = 30
KEEPALIVE = 30


def encode(payload: Any) -> bytes:
    if payload is None:
        return b""
    return json.dumps(payload, separators=(",", ":")).encode()


class Link:
    """Retained state plus a paho client; `on_connected` and `on_message` run in paho's thread."""

    def __init__(
        self,
        settings: MqttSettings,
        topics: Topics,
        on_connected: Callable[[], None],
        on_message: Callable[[str, bytes, bool], None],
        subscriptions: list[str],
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.own_health = topics.health(SERVICE_NAME)
        self.retained: dict[str, bytes] = {}
        self.connected = threading.Event()
        self._on_connected = on_connected
        self._on_message = on_message
        self._subscriptions = subscriptions
        self.client = new_client(settings, connect_timeout=5.0)  # bounds a stop during a connect
        self.client.max_queued_messages_set(1000)  # bounded, whatever happens to the broker
        self.client.reconnect_delay_set(RECONNECT_MIN, RECONNECT_MAX)
        self.client.will_set(self.own_health, encode({"status": "down"}), qos=1, retain=True)
        self.client.on_connect = self._connected
        self.client.on_disconnect = self._disconnected
        self.client.on_message = self._message

    def start(self) -> None:
        """Connect in the background; returns at once (a broker that is down is retried forever)."""
        self.client.connect_async(self.settings.host, self.settings.port, keepalive=KEEPALIVE)
        self.client.loop_start()

    def stop(self, timeout: float = 2.0) -> None:
        """Say `down` on the monitor's own health (bounded wait), then disconnect."""
        if self.connected.is_set():
            info = self.client.publish(self.own_health, encode(health_payload("down")), qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):  # the connection went meanwhile
                info.wait_for_publish(timeout)
        self.client.disconnect()
        self.client.loop_stop()

    # -- publishing (from the monitor's thread) ---------------------------------

    def retain(self, topic: str, payload: Any) -> None:
        """Set a retained message (None: clear it) and publish it when connected."""
        data = encode(payload)
        if payload is None:
            self.retained.pop(topic, None)
        else:
            self.retained[topic] = data
        self._publish(topic, data, retain=True)

    def send(self, topic: str, payload: Any) -> None:
        """A message that is not retained (measurements, signals); dropped when offline."""
        self._publish(topic, encode(payload), retain=False)

    def republish(self) -> None:
        """Everything retained again, then `up` (after every connection)."""
        for topic, data in list(self.retained.items()):
            self._publish(topic, data, retain=True)
        self._publish(self.own_health, encode(health_payload("up")), retain=True)

    def say_up(self) -> None:
        self._publish(self.own_health, encode(health_payload("up")), retain=True)

    def _publish(self, topic: str, data: bytes, retain: bool) -> None:
        if self.connected.is_set():
            self.client.publish(topic, data, qos=1, retain=retain)

    # -- paho's thread ---------------------------------------------------------

    def _connected(self, client: Any, _userdata: Any, _flags: Any, reason: Any, *_rest: Any) -> None:
        if is_failure(reason):
            return
        for topic_filter in self._subscriptions:
            client.subscribe(topic_filter, qos=1)
        self.connected.set()
        self._on_connected()

    def _disconnected(self, *_args: Any) -> None:
        self.connected.clear()

    def _message(self, _client: Any, _userdata: Any, message: Any) -> None:
        self._on_message(message.topic, bytes(message.payload), bool(message.retain))
