"""Tell thin-edge, over MQTT, what an operation did to a container.

After a successful install the container becomes a thin-edge service: a
retained registration on `<root>/<device>/service/NAME`, then a retained
health message with the container's real state. A remove deregisters it
(empty retained messages on the entity and health topics). A failed install
or remove sends an event on `<root>/<device topic id>/e/container_<verb>_failed`.

Reporting is best effort and bounded: the operation's outcome is decided
before anything is published; everything here (reading tedge's settings,
connecting, looking at the container, waiting for the broker's
acknowledgements) ends within `report.timeout` seconds, and any failure is
one warning line on stderr. paho-mqtt (1.6 or 2.x) is imported only when
there is something to publish, never for `list`, `prepare` or `finalize`.
"""

from __future__ import annotations

import json
import os
import time

from . import log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable

    from .commands.install import Installed
    from .config import Config
    from .engine import Engine
    from .tedge_config import MqttSettings

SERVICE_TYPE = "container"
# How long a freshly started container must keep running to be reported `up`.
SETTLE_SECONDS = 1.0
POLL_INTERVAL = 0.1
MAX_TEXT = 1000
_TOPIC_FORBIDDEN = frozenset("+#\x00")


class ReportError(Exception):
    """Why the report could not be (fully) delivered; one line, no secrets."""


# -- topics and payloads ---------------------------------------------------


class Topics:
    """thin-edge MQTT topics for one device, in the default topic scheme."""

    def __init__(self, root: str, device_topic_id: str) -> None:
        segments = device_topic_id.split("/")
        if len(segments) != 4 or not all(segments[:2]) or any(segments[2:]) or not root:
            raise ReportError(
                f"the device topic id {device_topic_id!r} is not of the form device/NAME// "
                "(mqtt.device_topic_id, or topic_id in the plugin's settings)"
            )
        if any(c in _TOPIC_FORBIDDEN for c in device_topic_id + root):
            raise ReportError(
                f"the topic root {root!r} or device topic id {device_topic_id!r} holds MQTT wildcards"
            )
        self.root = root
        self.device_topic_id = device_topic_id
        # Services of a device live under its first two segments: device/child01// → device/child01/service/X.
        self._service_prefix = "/".join(segments[:2]) + "/service/"

    def service(self, name: str) -> str:
        if not name or "/" in name or any(c in _TOPIC_FORBIDDEN for c in name):
            raise ReportError(f"{name!r} cannot be part of an MQTT topic")
        return f"{self.root}/{self._service_prefix}{name}"

    def health(self, name: str) -> str:
        return self.service(name) + "/status/health"

    def event(self, event_type: str) -> str:
        return f"{self.root}/{self.device_topic_id}/e/{event_type}"


def registration_payload(installed: Installed) -> dict[str, Any]:
    """Entity registration; every key besides @type, name and type becomes twin data."""
    return {
        "@type": "service",
        "name": installed.name,
        "type": SERVICE_TYPE,
        "container": {
            "image": installed.image,
            "moduleVersion": installed.version,
            "containerId": installed.container_id,
        },
    }


def health_payload(status: str, now: float | None = None) -> dict[str, Any]:
    return {"status": status, "time": int(time.time() if now is None else now)}


def failure_text(verb: str, name: str, message: str) -> str:
    """One line saying what failed and why: `Installing web failed: ...`."""
    doing = {"install": "Installing", "remove": "Removing"}.get(verb, verb.capitalize())
    prefix = f"{doing} {name} failed: "
    text = " ".join(str(message).split())
    if not text.startswith(prefix):
        text = prefix + text
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def event_payload(
    verb: str, name: str, message: str, version: str = "", now: float | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "text": failure_text(verb, name, message),
        "time": int(time.time() if now is None else now),
        "container": name,
    }
    if version:
        payload["moduleVersion"] = version
    return payload


def event_type(verb: str) -> str:
    return f"container_{verb}_failed"


# -- the container's real state ----------------------------------------------


def health_of(data: Mapping[str, Any] | None) -> str:
    """`up` only for a container that runs, is not restarting and has not restarted since it started."""
    if not data:
        return "down"
    state = data.get("State") or {}
    running = state.get("Status") == "running" or (state.get("Running") and not state.get("Status"))
    if not running or state.get("Restarting") or state.get("Dead") or state.get("OOMKilled"):
        return "down"
    if int(data.get("RestartCount") or 0) > 0:  # a fresh container that already restarted crashes
        return "down"
    return "up"


def observe_health(
    probe: Callable[[], Mapping[str, Any] | None],
    settled_at: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Look at the container until `settled_at` (a `clock` time); `down` as soon as it is seen down.

    A container that exits at once may still look "running" right after the
    start, so one look is not enough: it must stay up until `settled_at`.
    """
    while True:
        status = health_of(probe())
        remaining = settled_at - clock()
        if status == "down" or remaining <= 0:
            return status
        sleep(min(POLL_INTERVAL, remaining))


# -- what an operation has to say ---------------------------------------------


class _Entry:
    """One thing to publish, in the operation's order."""

    __slots__ = ("installed", "kind", "message", "name", "started", "verb", "version")

    def __init__(
        self,
        kind: str,
        name: str,
        installed: Installed | None = None,
        verb: str = "",
        message: str = "",
        version: str = "",
    ) -> None:
        self.kind = kind
        self.name = name
        self.installed = installed
        self.verb = verb
        self.message = message
        self.version = version
        self.started = time.monotonic()


class Reporter:
    """Collects what an operation did, then publishes it in one bounded MQTT session (`flush`)."""

    def __init__(self, config: Config, engine: Engine | None = None) -> None:
        self.config = config
        self.enabled = bool(config.get("report.enabled")) and float(config.get("report.timeout")) > 0
        self.timeout = float(config.get("report.timeout"))
        self._engine = engine
        self._entries: list[_Entry] = []

    # What happened (cheap: nothing is imported or contacted here).

    def installed(self, installed: Installed) -> None:
        if self.enabled:
            self._entries.append(_Entry("installed", installed.name, installed=installed))

    def removed(self, name: str) -> None:
        if self.enabled:
            self._entries.append(_Entry("removed", name))

    def failed(self, verb: str, name: str, error: BaseException | str, version: str = "") -> None:
        if self.enabled:
            self._entries.append(_Entry("failed", name, verb=verb, message=str(error), version=version))

    # Saying it.

    def flush(self) -> bool:
        """Publish everything collected; at most one warning line, never an exception.

        Returns True when every message was acknowledged by the broker (or
        there was nothing to say).
        """
        entries, self._entries = self._entries, []
        if not self.enabled or not entries:
            return True
        deadline = time.monotonic() + self.timeout
        try:
            self._publish(entries, deadline)
        except ReportError as error:
            log.warning(f"container status not reported on MQTT: {error}")
            return False
        except Exception as error:  # reporting never decides the operation's outcome
            log.warning(f"container status not reported on MQTT: unexpected {type(error).__name__}: {error}")
            return False
        return True

    def _publish(self, entries: list[_Entry], deadline: float) -> None:
        from .errors import PluginError
        from .tedge_config import mqtt_settings

        try:
            settings = mqtt_settings(self.config, timeout=min(2.0, self.timeout / 2))
        except PluginError as error:
            raise ReportError(str(error)) from None
        topics = Topics(settings.topic_root, settings.device_topic_id)
        session = Session(settings, deadline)
        settle_limit = time.monotonic() + self.timeout / 2

        def messages() -> Any:
            for entry in entries:
                if entry.kind == "installed":
                    assert entry.installed is not None
                    name = entry.name
                    yield topics.service(name), registration_payload(entry.installed), True
                    settled_at = min(entry.started + SETTLE_SECONDS, settle_limit)
                    status = observe_health(self._probe(entry.installed), settled_at)
                    yield topics.health(name), health_payload(status), True
                elif entry.kind == "removed":
                    yield topics.health(entry.name), None, True
                    yield topics.service(entry.name), None, True
                else:
                    payload = event_payload(entry.verb, entry.name, entry.message, entry.version)
                    yield topics.event(event_type(entry.verb)), payload, False

        session.run(messages())

    def _probe(self, installed: Installed) -> Callable[[], Mapping[str, Any] | None]:
        if self._engine is None:
            from .engine import Engine

            self._engine = Engine(self.config)
        engine = self._engine
        target = installed.container_id or installed.name

        def probe() -> Mapping[str, Any] | None:
            try:
                return engine.inspect_container(target, timeout=1.0)
            except Exception:  # the engine's trouble is not a broker's; the state is unknown: down
                return None

        return probe


# -- MQTT ----------------------------------------------------------------------


def client_id() -> str:
    import secrets

    return f"tedge-container-plugin-{os.getpid()}-{secrets.token_hex(4)}"


def tls_context(settings: MqttSettings) -> Any:
    import ssl

    try:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=settings.ca_file or None, capath=settings.ca_dir or None
        )
        if settings.cert_file:
            context.load_cert_chain(settings.cert_file, settings.key_file or None)
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or str(error)
        raise ReportError(f"cannot load the TLS files of mqtt.client.auth ({reason})") from None
    return context


class Session:
    """One MQTT connection, run in a worker thread that the caller stops waiting for at `deadline`.

    paho's own timeouts bound each step (TCP connect, TLS handshake); the
    thread bounds the whole, whatever blocks inside paho.
    """

    def __init__(self, settings: MqttSettings, deadline: float) -> None:
        self.settings = settings
        self.deadline = deadline
        self.sent = 0
        self.acked = 0
        self.stage = "connecting"

    def run(self, messages: Any) -> None:
        from .threads import call_with_deadline

        seconds = max(0.0, self.deadline - time.monotonic()) + 0.05
        call_with_deadline(
            lambda: self._work(messages), seconds, "mqtt-report", lambda: ReportError(self._late())
        )

    def _late(self) -> str:
        where = self.settings.address
        if self.stage == "connecting":
            return f"no answer from the broker at {where} in time"
        return f"{self.sent - self.acked} of {self.sent} messages not acknowledged in time by {where}"

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _client(self) -> Any:
        import paho.mqtt.client as mqtt

        kwargs: dict[str, Any] = {"client_id": client_id(), "clean_session": True}
        if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2.x
            kwargs["callback_api_version"] = mqtt.CallbackAPIVersion.VERSION2
        client = mqtt.Client(**kwargs)
        timeout = max(0.1, self._remaining())
        if hasattr(type(client), "connect_timeout"):
            client.connect_timeout = timeout
        else:  # paho-mqtt 1.6 has the attribute but no property
            client._connect_timeout = timeout
        client.max_inflight_messages_set(100)
        if self.settings.tls:
            client.tls_set_context(tls_context(self.settings))
        if self.settings.username:
            client.username_pw_set(self.settings.username, self._password())
        return client

    def _password(self) -> str | None:
        if not self.settings.password_file:
            return None
        try:
            with open(self.settings.password_file, encoding="utf-8") as stream:
                return stream.read().strip()
        except OSError as error:
            raise ReportError(f"cannot read mqtt.client.auth.password_file ({error.strerror})") from None

    def _work(self, messages: Any) -> None:
        import socket
        import ssl

        settings = self.settings
        client = self._client()
        answer: list[Any] = []

        def on_connect(_client: Any, _userdata: Any, _flags: Any, reason: Any, *_rest: Any) -> None:
            answer.append(reason)

        client.on_connect = on_connect
        keepalive = max(5, int(self._remaining()) + 1)  # paho 1.6 bounds the TLS handshake with it
        try:
            client.connect(settings.host, settings.port, keepalive=keepalive)
        except ssl.SSLError as error:
            reason = _tls_reason(error)
            raise ReportError(f"TLS with the broker at {settings.address} failed ({reason})") from None
        except socket.timeout:
            raise ReportError(f"no answer from the broker at {settings.address} in time") from None
        except OSError as error:
            reason = error.strerror or str(error) or type(error).__name__
            raise ReportError(f"cannot connect to the broker at {settings.address} ({reason})") from None
        try:
            while not answer and self._remaining() > 0:
                self._loop(client)
            if not answer:
                raise ReportError(f"no answer from the broker at {settings.address} in time")
            if _is_failure(answer[0]):
                raise ReportError(f"the broker at {settings.address} refused the connection ({answer[0]})")
            self.stage = "publishing"
            infos = []
            for topic, payload, retain in messages:
                data = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
                infos.append(client.publish(topic, data, qos=1, retain=retain))
                self.sent += 1
                self._loop(client, 0)
            while self._remaining() > 0:
                self.acked = sum(1 for info in infos if info.is_published())
                if self.acked == len(infos):
                    break
                self._loop(client)
            if self.acked < len(infos):
                raise ReportError(self._late())
        finally:
            self._disconnect(client)

    def _loop(self, client: Any, timeout: float = POLL_INTERVAL) -> None:
        import ssl

        where = self.settings.address
        try:
            rc = client.loop(timeout=min(timeout, max(0.0, self._remaining())))
        except ssl.SSLError as error:  # paho 1.6 raises what 2.x reports as a lost connection
            raise ReportError(f"TLS with the broker at {where} failed ({_tls_reason(error)})") from None
        except OSError as error:
            reason = error.strerror or str(error) or type(error).__name__
            raise ReportError(f"the connection to the broker at {where} failed ({reason})") from None
        if rc:  # MQTT_ERR_SUCCESS is 0; anything else means the connection is gone
            if self.stage == "connecting":
                hint = ": does it require a client certificate or a login?" if self.settings.tls else ""
                raise ReportError(f"the broker at {where} closed the connection{hint}")
            raise ReportError(f"the connection to the broker at {where} was lost")

    def _disconnect(self, client: Any) -> None:
        try:
            client.disconnect()
            end = min(self.deadline, time.monotonic() + 0.2)
            while client.is_connected() and time.monotonic() < end:
                client.loop(timeout=0.05)
        except Exception:  # the socket is closed either way when the process ends
            pass


def _is_failure(reason: Any) -> bool:
    failure = getattr(reason, "is_failure", None)  # paho 2.x ReasonCode
    if failure is not None:
        return bool(failure)
    return int(reason) != 0  # paho 1.6: the CONNACK return code


def _tls_reason(error: BaseException) -> str:
    """What went wrong in the TLS handshake, with a hint at the setting to check."""
    import ssl

    reason = getattr(error, "verify_message", None) or getattr(error, "reason", None) or str(error)
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"{reason}; check mqtt.client.auth.ca_file / ca_dir"
    return f"{reason}; does the broker require a client certificate (mqtt.client.auth.cert_file, key_file)?"
