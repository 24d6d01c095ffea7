"""MQTT connection settings put to use: TLS context, login, client id; the monitor's paho client.

paho-mqtt (1.6 or 2.x) is imported only here, and only for the monitor's
long-lived link: an sm-plugin's report goes through publisher.py, which
needs no library.
"""

from __future__ import annotations

import os

from .topics import ReportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .settings import MqttSettings


def client_id() -> str:
    # os.urandom, not `secrets`: its import (random, hashlib) costs a report ~6 ms.
    return f"tedge-container-plugin-{os.getpid()}-{os.urandom(4).hex()}"


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

    The monitor's long-lived link (monitor/link.py).
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


def is_failure(reason: Any) -> bool:
    failure = getattr(reason, "is_failure", None)  # paho 2.x ReasonCode
    if failure is not None:
        return bool(failure)
    return int(reason) != 0  # paho 1.6: the CONNACK return code


def tls_reason(error: BaseException) -> str:
    """What went wrong in the TLS handshake, with a hint at the setting to check."""
    import ssl

    reason = getattr(error, "verify_message", None) or getattr(error, "reason", None) or str(error)
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"{reason}; check mqtt.client.auth.ca_file / ca_dir"
    return f"{reason}; does the broker require a client certificate (mqtt.client.auth.cert_file, key_file)?"
