"""thin-edge MQTT topics and payloads: services, health, events, alarms, measurements.

Shared by every software type and the monitor, so that all of them speak
to thin-edge in one voice.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

MAX_TEXT = 1000
_TOPIC_FORBIDDEN = frozenset("+#\x00")


def fits_a_topic(name: str) -> bool:
    """Whether a service name can be one level of an MQTT topic (no '/', no wildcard, not empty)."""
    return bool(name) and "/" not in name and not any(c in _TOPIC_FORBIDDEN for c in name)


class ReportError(Exception):
    """Why the report could not be (fully) delivered; one line, no secrets."""


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
        if not fits_a_topic(name):
            raise ReportError(f"{name!r} cannot be part of an MQTT topic")
        return f"{self.root}/{self._service_prefix}{name}"

    def service_topic_id(self, name: str) -> str:
        """`device/main/service/NAME`: the entity's topic id (its cloud external id derives from it)."""
        return self.service(name)[len(self.root) + 1 :]

    def health(self, name: str) -> str:
        return self.service(name) + "/status/health"

    def capability(self, name: str, action: str) -> str:
        """A service command the service supports: `te/device/main/service/NAME/cmd/ACTION`."""
        return f"{self.service(name)}/cmd/{action}"

    def event(self, event_type: str) -> str:
        return f"{self.root}/{self.device_topic_id}/e/{event_type}"

    def device_alarm(self, alarm_type: str) -> str:
        """An alarm on the device itself: `te/device/main///a/TYPE`."""
        return f"{self.root}/{self.device_topic_id}/a/{alarm_type}"

    def service_alarm(self, name: str, alarm_type: str) -> str:
        return f"{self.service(name)}/a/{alarm_type}"

    def measurement(self, name: str, measurement_type: str) -> str:
        return f"{self.service(name)}/m/{measurement_type}"

    def health_check_filter(self) -> str:
        """Health check requests to any service of the device (`+` is the service name)."""
        return f"{self.root}/{self._service_prefix}+/cmd/health/check"

    def service_filter(self) -> str:
        """Every service registration of the device (retained)."""
        return f"{self.root}/{self._service_prefix}+"

    def service_name_of(self, topic: str) -> str:
        """The service name in a service (or service sub-) topic; '' when `topic` is not one."""
        prefix = f"{self.root}/{self._service_prefix}"
        return topic[len(prefix) :].split("/", 1)[0] if topic.startswith(prefix) else ""

    def agent_signal(self, signal: str) -> str:
        """A signal to tedge-agent (`sync_log_upload`: re-read the log plugins)."""
        return f"{self.root}/{self._service_prefix}tedge-agent/signal/{signal}"


def registration_payload(name: str, service_type: str, twin: Mapping[str, Any]) -> dict[str, Any]:
    """Entity registration; every key besides @type, name and type becomes twin data."""
    return {"@type": "service", "name": name, "type": service_type, **twin}


def health_payload(status: str, now: float | None = None) -> dict[str, Any]:
    return {"status": status, "time": int(time.time() if now is None else now)}


def alarm_payload(text: str, severity: str, now: float | None = None) -> dict[str, Any]:
    text = " ".join(str(text).split())
    text = text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."
    return {"text": text, "severity": severity, "time": int(time.time() if now is None else now)}


def failure_text(verb: str, name: str, message: str) -> str:
    """One line saying what failed and why: `Installing web failed: ...`."""
    doing = {"install": "Installing", "remove": "Removing"}.get(verb, verb.capitalize())
    text = " ".join(str(message).split())
    head, said, _ = text.partition(" failed: ")
    # `Installing group shop 2.0 failed: ...` already says it: never `Installing shop failed: Installing ...`.
    if not (said and head.startswith(f"{doing} ") and name in head.split()):
        text = f"{doing} {name} failed: {text}"
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


def event_type(service_type: str, verb: str) -> str:
    """`container_install_failed`, `container-group_remove_failed`, ..."""
    return f"{service_type}_{verb}_failed"
