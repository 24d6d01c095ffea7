"""The monitor's picture of the engine, kept in sync: full resyncs, one container at a time,
services that vanish, containers that cannot be services (part of the Monitor, service.py).

Every container is handled on its own: malformed inspect data or an
unexpected error is logged with the container's name, and the others go on.
"""

from __future__ import annotations

import time

from .. import log
from ..engine import ENABLE_HINT
from ..labels import COMPOSE_PROJECT_LABEL, stands_for
from ..service.capabilities import PAUSE_ACTIONS, pause_refusal
from ..status.topics import alarm_payload
from .state import GROUP_TYPE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ..config import Config
    from ..engine import Engine
    from ..software.container.list import ContainerFilter
    from ..status.topics import Topics
    from .announce import Announce
    from .cloud import CloudCleanup
    from .link import Link
    from .state import Change, Observed, Picture
    from .vanished import Vanished

ENGINE_ALARM = "container_engine_unreachable"
QUEUE_SIZE = 10000
MAX_RETRIES = 5  # inspecting a container that failed is tried again this often, a round apart
SETTLE = 1.0  # seconds after the broker's connection before the first sync (its retained registrations)
SETTLE_MAX = 10.0  # ... but no longer than this after the start, when the broker is away
MAX_WARNED = 10000
# A resync the engine did not answer is tried again after this long, doubling (the watcher brings a
# fresh "engine-up" when the engine itself went; this is for one that answers pings, not listings).
RESYNC_RETRY_MIN = 2.0
RESYNC_RETRY_MAX = 60.0


class EngineSync:
    """The engine side of the Monitor (a mixin: the Monitor sets these attributes)."""

    config: Config
    topics: Topics
    link: Link
    accepts: ContainerFilter
    picture: Picture
    announce: Announce
    cloud: CloudCleanup | None
    vanished: Vanished | None
    engine: Engine | None
    engine_problem: str
    synced: bool
    resync_wanted: bool
    retry: dict[str, int]
    stale: set[str]
    unfit_warned: set[str]
    started_at: float
    connected_at: float | None
    picture_of = ""  # the socket of the engine the picture was read from ('' before the first sync)
    resync_due = 0.0  # monotonic time before which a wanted resync waits (after a failed one)
    resync_retry = RESYNC_RETRY_MIN

    def _registrations_known(self) -> bool:
        """Whether the broker has had time to send its retained registrations (checked by the first sync)."""
        if self.synced:
            return True
        now = time.monotonic()
        connected = self.connected_at is not None and now - self.connected_at >= SETTLE
        return connected or now - self.started_at >= SETTLE_MAX

    def _resync(self) -> bool:
        """Read every container again; False when the engine did not answer.

        Services that vanished (no container behind them any more, or a
        registration on the broker without one) are deregistered in one go
        (`_vanish`).
        """
        engine = self.engine
        if engine is None:
            return False
        self.resync_wanted = False
        seen = []
        try:
            containers = engine.list_containers()
            names = {container.name for container in containers}
            for container in containers:
                data = engine.inspect_container(container.id, timeout=self._timeout())
                module = stands_for(container.name, container.labels, names) if data else ""
                if module and module != container.name:  # caught mid-swap: its module, as in `list`
                    data = {**data, "Name": module}
                observed = self._observe(container.name, data) if data else None
                if observed is not None:
                    seen.append(observed)
        except Exception as error:  # the watcher notices a dead engine; this round is skipped
            log.warning(
                f"monitor: cannot read the containers: {error}; trying again in {self.resync_retry:g} s"
            )
            self.resync_wanted = True  # the picture stays the old one until then
            self.resync_due = time.monotonic() + self.resync_retry
            self.resync_retry = min(RESYNC_RETRY_MAX, self.resync_retry * 2)
            return False
        self.resync_due, self.resync_retry = 0.0, RESYNC_RETRY_MIN
        self._engine_up()
        self.picture_of = engine.socket_path
        self.retry.clear()  # every container was just looked at
        changes = self.picture.sync(seen)
        vanished = [change.name for change in changes if change.kind == "deregister"]
        stale, self.stale = self.stale, set()
        vanished += sorted(name for name in stale - set(vanished) if name not in self.picture.services)
        self._apply([change for change in changes if change.kind != "deregister"])
        self._vanish(vanished, engine.socket_path)
        for observed in seen:
            self.announce.watch_restarts(observed, history=True)
        if self.cloud is not None and not self.synced:  # deletions only once the picture is known
            self.cloud.start()
        if self.vanished is not None and not self.synced:
            self.vanished.first_sync()
        self.synced = True
        log.info(
            f"monitor: {len(self.picture.services)} services in sync with podman at {engine.socket_path}"
        )
        return True

    def _observe(self, container_name: str, data: Mapping[str, Any]) -> Observed | None:
        try:
            return self.picture.observe(data, self.accepts)
        except Exception as error:  # malformed inspect data: this container is skipped, the rest goes on
            log.warning(f"monitor: container {container_name}: inspect data not understood ({error!r})")
            return None

    def _vanish(self, names: list[str], where: str) -> None:
        """Deregister services without a container; their cloud objects go only when few vanished at once."""
        if not names:
            return
        cloud = self.vanished is None or self.vanished.decide(names, where, time.monotonic())
        for name in names:
            log.info(f"monitor: {name} has no container any more; deregistered")
            self.announce.deregister(name, cloud=cloud)
        self.announce.sync_log_types()

    def _apply(self, changes: list[Change]) -> None:
        self.announce.apply(changes)
        if self.vanished is not None:
            for change in changes:
                if change.kind == "register":
                    self.vanished.came_back(change.name)

    def _unfit(self, container: str, name: str, service_type: str) -> None:
        """A container whose service name cannot be a topic level: said once per container."""
        if container in self.unfit_warned:
            return
        if len(self.unfit_warned) >= MAX_WARNED:
            self.unfit_warned.clear()
        self.unfit_warned.add(container)
        rename = (
            f"its compose service or project (labels com.docker.compose.service, {COMPOSE_PROJECT_LABEL})"
            if service_type == GROUP_TYPE
            else "it"
        )
        log.warning(
            f"monitor: container {container} is not followed: its service name {name!r} cannot be part "
            f"of an MQTT topic (no '/', '+', '#'); rename {rename}"
        )

    def _check_pause(self, engine: Engine) -> None:
        """pause/unpause are declared only where the engine can pause (once, before the first sync)."""
        if self.synced or not PAUSE_ACTIONS.intersection(self.announce.actions):
            return
        refusal = pause_refusal(engine)
        if refusal:
            log.info(f"monitor: pause and unpause are not declared: {refusal}")
            self.announce.actions = [
                action for action in self.announce.actions if action not in PAUSE_ACTIONS
            ]

    def _timeout(self) -> float:
        return float(self.config.get("container.connect_timeout"))

    def _moved(self) -> bool:
        """Whether the engine is another than the picture's (the sm-plugins moved): until the resync
        that follows, a container of the picture is not looked up on the new engine, where it would
        seem removed (and its cloud object deleted, past the guard against mass deletion)."""
        return bool(self.picture_of and self.engine and self.engine.socket_path != self.picture_of)

    def _flush_refresh(self, refresh: dict[str, str]) -> None:
        if not refresh or self.engine is None or self._moved():
            return  # after a move, the resync reads everything (events of the new engine included)
        for container_id, action in refresh.items():
            try:
                self._refresh_one(container_id, action)
            except Exception as error:  # one container's trouble is logged; the others go on
                name = self.picture.name_of(container_id) or container_id[:12]
                log.warning(f"monitor: container {name}: unexpected {type(error).__name__}: {error}")

    def _refresh_one(self, container_id: str, action: str) -> None:
        assert self.engine is not None
        data = None
        if action == "refresh":
            try:
                data = self.engine.inspect_container(container_id, timeout=self._timeout())
            except Exception as error:  # engine trouble (the watcher says so) or a busy moment
                attempts = self.retry.get(container_id, 0) + 1
                log.debug(f"monitor: inspect {container_id[:12]} failed ({attempts}): {error}")
                if attempts <= MAX_RETRIES and len(self.retry) < QUEUE_SIZE:
                    self.retry[container_id] = attempts  # looked at again next round
                else:  # given up: the next event or resync looks again
                    self.retry.pop(container_id, None)
                return
        self.retry.pop(container_id, None)
        self._apply(self.picture.refresh(container_id, data, self.accepts))
        name = self.picture.name_of(container_id) if data is not None else ""
        if name:  # every look counts: a quick restart may leave the twin as it was
            self.announce.budget.touched(name, time.monotonic())
            self.announce.watch_restarts(self.picture.services[name], history=False)

    def _engine_down(self, message: str) -> None:
        if self.resync_due:  # a failed resync is not tried again on an engine that went: the watcher's
            self.resync_due = float("inf")  # next "engine-up" asks at once
        if message != self.engine_problem:
            log.warning(f"monitor: {message}")
            self.engine_problem = message
            text = message if "podman.socket" in message else f"{message}; {ENABLE_HINT}."
            self.link.retain(self.topics.device_alarm(ENGINE_ALARM), alarm_payload(text, "critical"))

    def _engine_up(self) -> None:
        if self.engine_problem:
            log.info("monitor: podman answers again")
        self.engine_problem = ""
        self.link.retain(self.topics.device_alarm(ENGINE_ALARM), None)  # cleared (also a stale one)

    def _check_stale(self, name: str) -> None:
        """A container service registered on the broker: deregister it when no container stands behind it.

        An sm-plugin may have registered it a moment before its event reaches
        us, so the picture is read again from the engine before deciding, at
        the end of the round: the registrations of one burst (after a restart
        of the monitor or of the broker) are decided together (`_resync`).
        """
        if name in self.picture.services:
            return
        if len(self.stale) < QUEUE_SIZE:
            self.stale.add(name)
