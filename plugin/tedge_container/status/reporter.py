"""Tell thin-edge, over MQTT, what an operation did to its services.

Every software type describes what it installed as `Service`s: a container
of the `container` type is one, each container of a `container-group` is
one (`NAME@SERVICE`). After a successful install each becomes a thin-edge
service: a retained registration on `<root>/<device>/service/NAME`, then a
retained health message with the container's state as the operation itself
last saw it (the readiness gate, the group's check after compose): one
observation per operation, never a second watch. Only a service that comes
without one is looked at, once, when its messages are produced. A remove
deregisters it (empty retained messages on the entity and health topics). A
failed install or remove sends an event on
`<root>/<device topic id>/e/<type>_<verb>_failed`.

Reporting is best effort and bounded: the operation's outcome is decided
before anything is published; everything here (reading tedge's settings,
connecting, looking at the container, waiting for the broker's
acknowledgements) ends within `report.timeout` seconds, and any failure is
one warning line on stderr. The messages go out in one write and their
acknowledgements come back together (publisher.py: no MQTT library, no
import to wait for); nothing of this is imported for `list`, `prepare` or
`finalize`.
"""

from __future__ import annotations

import time

from .. import log
from ..service.capabilities import declarations, withdrawals
from .health import health_of
from .topics import ReportError, Topics, event_payload, event_type, health_payload, registration_payload

TYPE_CHECKING = False  # no `typing` at run time: it costs an install ~5-30 ms
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable

    from ..config import Config
    from ..engine import Engine


class Service:
    """One thin-edge service backed by one container."""

    __slots__ = ("container_id", "health", "name", "twin", "type")

    def __init__(
        self, name: str, type: str, twin: dict[str, Any], container_id: str = "", health: str | None = None
    ) -> None:
        self.name = name  # the service name: the module name, or NAME@SERVICE for a group's service
        self.type = type  # the service type: the software type that made it
        self.twin = twin  # twin data: every key of the registration besides @type, name and type
        self.container_id = container_id
        self.health = health  # `up`/`down` as the operation saw it (the readiness gate); None: one look here


class _Entry:
    """One thing to publish, in the operation's order."""

    __slots__ = ("kind", "message", "name", "service", "verb", "version")

    def __init__(
        self,
        kind: str,
        name: str,
        service: Service | None = None,
        verb: str = "",
        message: str = "",
        version: str = "",
    ) -> None:
        self.kind = kind
        self.name = name
        self.service = service
        self.verb = verb
        self.message = message
        self.version = version


class Reporter:
    """Collects what an operation did, then publishes it in one bounded MQTT session (`flush`)."""

    def __init__(self, config: Config, service_type: str = "container", engine: Engine | None = None) -> None:
        self.config = config
        self.service_type = service_type
        self.enabled = bool(config.get("report.enabled")) and float(config.get("report.timeout")) > 0
        self.timeout = float(config.get("report.timeout"))
        self._engine = engine
        self._entries: list[_Entry] = []

    def use_engine(self, engine: Engine) -> None:
        """The operation's own engine client: the report asks podman through it, no second connection."""
        if self._engine is None:
            self._engine = engine

    # What happened (cheap: nothing is imported or contacted here).

    def installed(self, service: Service) -> None:
        if self.enabled:
            self._entries.append(_Entry("installed", service.name, service=service))

    def removed(self, name: str) -> None:
        """Service `name` is gone: deregister it."""
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
        from ..errors import PluginError
        from .publisher import Session
        from .settings import mqtt_settings

        try:
            settings = mqtt_settings(self.config, timeout=min(2.0, self.timeout / 2))
        except PluginError as error:
            raise ReportError(str(error)) from None
        topics = Topics(settings.topic_root, settings.device_topic_id)
        session = Session(settings, deadline)

        actions = self._actions(entries)

        def messages() -> Any:
            for entry in entries:
                if entry.kind == "installed":
                    service = entry.service
                    assert service is not None
                    payload = registration_payload(service.name, service.type, service.twin)
                    yield topics.service(service.name), payload, True
                    status = service.health or health_of(self._probe(service)())
                    yield topics.health(service.name), health_payload(status), True
                    yield from declarations(topics, service.name, actions)
                elif entry.kind == "removed":
                    yield from withdrawals(topics, entry.name, actions)
                    yield topics.health(entry.name), None, True
                    yield topics.service(entry.name), None, True
                else:
                    payload = event_payload(entry.verb, entry.name, entry.message, entry.version)
                    yield topics.event(event_type(self.service_type, entry.verb)), payload, False

        session.run(messages())

    def _actions(self, entries: list[_Entry]) -> list[str]:
        """The service commands declared with each registration (service/capabilities.py); [] when off."""
        from ..service import SERVICE_TYPES
        from ..service.capabilities import configured, supported

        if self.service_type not in SERVICE_TYPES or not configured(self.config):
            return []
        if not any(entry.kind == "installed" for entry in entries):
            return configured(self.config)  # withdrawn: every action that may have been declared
        return supported(self.config, self._engine_now(), timeout=min(2.0, self.timeout / 2))

    def _engine_now(self) -> Engine:
        if self._engine is None:
            from ..engine import Engine

            self._engine = Engine(self.config)
        return self._engine

    def _probe(self, service: Service) -> Callable[[], Mapping[str, Any] | None]:
        engine = self._engine_now()
        target = service.container_id or service.name

        def probe() -> Mapping[str, Any] | None:
            try:
                return engine.inspect_container(target, timeout=1.0)
            except Exception:  # the engine's trouble is not a broker's; the state is unknown: down
                return None

        return probe
