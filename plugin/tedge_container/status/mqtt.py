"""One bounded MQTT session: connect (TLS, login), publish, wait for every acknowledgement.

paho-mqtt (1.6 or 2.x) is imported only here and only when something is
published, never for `list`, `prepare` or `finalize`.
"""

from __future__ import annotations

import json
import os
import time

from .. import log
from .health import POLL_INTERVAL
from .topics import ReportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .settings import MqttSettings


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


def new_client(settings: MqttSettings, connect_timeout: float, clean_session: bool = True) -> Any:
    """A paho client (1.6 or 2.x) with TLS and login set up from `settings`; not yet connected.

    Shared by the one-shot `Session` and the monitor's long-lived link.
    """
    import paho.mqtt.client as mqtt

    kwargs: dict[str, Any] = {"client_id": client_id(), "clean_session": clean_session}
    if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2.x
        kwargs["callback_api_version"] = mqtt.CallbackAPIVersion.VERSION2
    client = mqtt.Client(**kwargs)
    if hasattr(type(client), "connect_timeout"):
        client.connect_timeout = connect_timeout
    else:  # paho-mqtt 1.6 has the attribute but no property
        client._connect_timeout = connect_timeout
    client.max_inflight_messages_set(100)
    if settings.tls:
        client.tls_set_context(tls_context(settings))
    if settings.username:
        client.username_pw_set(settings.username, read_password(settings))
    return client


def read_password(settings: MqttSettings) -> str | None:
    if not settings.password_file:
        return None
    try:
        with open(settings.password_file, encoding="utf-8") as stream:
            return stream.read().strip()
    except OSError as error:
        raise ReportError(f"cannot read mqtt.client.auth.password_file ({error.strerror})") from None


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
        from ..threads import call_with_deadline

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
        return new_client(self.settings, connect_timeout=max(0.1, self._remaining()))

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
        connecting = log.Step(f"MQTT: connect to {settings.address}").start()
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
            if is_failure(answer[0]):
                raise ReportError(f"the broker at {settings.address} refused the connection ({answer[0]})")
            connecting.done()
            self.stage = "publishing"
            infos = []
            acknowledging = log.Step("MQTT: acknowledgements").start()
            for topic, payload, retain in messages:
                data = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
                infos.append(client.publish(topic, data, qos=1, retain=retain))
                log.debug(f"MQTT: publish {topic} ({len(data)} bytes{', retained' if retain else ''})")
                self.sent += 1
                self._loop(client, 0)
            while self._remaining() > 0:
                self.acked = sum(1 for info in infos if info.is_published())
                if self.acked == len(infos):
                    break
                self._loop(client)
            if self.acked < len(infos):
                raise ReportError(self._late())
            acknowledging.done(f"{self.acked} of {self.sent}")
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


def is_failure(reason: Any) -> bool:
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
