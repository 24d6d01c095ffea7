"""The monitor's main loop: engine events and MQTT requests in, thin-edge messages out.

Four threads: the engine watcher (watch.py), paho's network thread
(link.py), the cloud clean-up (cloud.py), and this loop, the only one that
changes state or publishes (through announce.py). They meet in one bounded
queue. Every second (or sooner, when a coalesced state may go: budget.py)
the loop also runs its timers: waiting states, crash-loop alarms, metrics.

Nothing one container does ends the loop: a container whose service name
cannot be a topic is skipped (one warning), and an unexpected error while
handling one container or one message is logged and the loop goes on.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time

from .. import log
from ..engine import ENABLE_HINT
from ..labels import COMPOSE_PROJECT_LABEL
from ..software.container.list import ContainerFilter
from ..status.topics import alarm_payload
from .announce import Announce
from .cloud import bridge_health_topics, bridge_is_up, new_cloud_cleanup
from .crashloop import CrashLoops
from .link import SERVICE_NAME, Link
from .state import GROUP_TYPE, SERVICE_TYPES, Picture, event_action
from .vanished import Vanished
from .watch import EngineWatcher

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ..config import Config
    from ..engine import Engine
    from ..status.settings import MqttSettings
    from ..status.topics import Topics
    from .state import Change, Observed

ENGINE_ALARM = "container_engine_unreachable"
TICK = 1.0
QUEUE_SIZE = 10000
MAX_RETRIES = 5  # inspecting a container that failed is tried again this often, a round apart
MAX_BATCH = 500  # events handled per round; duplicates of one container are looked at once
MIN_WAIT = 0.05  # the shortest wait for the next round (a coalesced state due very soon)
SETTLE = 1.0  # seconds after the broker's connection before the first sync (its retained registrations)
SETTLE_MAX = 10.0  # ... but no longer than this after the start, when the broker is away
MAX_WARNED = 10000


class Monitor:
    def __init__(
        self, config: Config, settings: MqttSettings, topics: Topics, tedge: Mapping[str, str] | None = None
    ) -> None:
        self.config = config
        self.topics = topics
        self.accepts = ContainerFilter(config)
        self.picture = Picture(bool(config.get("container_group.use_module_name")), unfit=self._unfit)
        self.unfit_warned: set[str] = set()  # containers skipped for their name, warned about once
        self.started_at = time.monotonic()
        self.connected_at: float | None = None
        self.resync_wanted = False
        self.queue: queue.Queue[Any] = queue.Queue(QUEUE_SIZE)
        self.stop = threading.Event()
        self.engine: Engine | None = None
        self.synced = False
        self.engine_problem = ""
        self.retry: dict[str, int] = {}  # container id → failed inspections in a row
        self.stale: set[str] = set()  # registrations on the broker to check against the engine
        self.cloud = new_cloud_cleanup(
            config, topics, tedge, on_revived=lambda name: self._put(("revived", name))
        )
        self.bridge_topics = frozenset(bridge_health_topics(topics.root) if self.cloud else ())
        self.link = Link(
            settings,
            topics,
            on_connected=lambda: self._put(("mqtt-connected",)),
            on_message=self._mqtt_message,
            subscriptions=[
                topics.health_check_filter(),
                topics.service_filter(),
                self._device_health_check(),
                *sorted(self.bridge_topics),
            ],
        )
        crash_loops = CrashLoops(
            int(config.get("container.crash_loop_threshold")),
            float(config.get("container.crash_loop_clear_after")),
            float(config.get("container.crash_loop_update_interval")),
        )
        self.announce = Announce(self.link, topics, crash_loops, self.cloud)
        self.vanished: Vanished | None = None
        if self.cloud is not None:  # without deletions in the cloud, nothing is at stake
            limit = int(config.get("delete_from_cloud.max_vanished"))
            self.vanished = Vanished(self.link, topics, limit, os.path.dirname(self.cloud.state_path))
        self.watcher = EngineWatcher(config, self.queue, self.stop)
        self.metrics = None
        interval = float(config.get("metrics.interval"))
        if config.get("metrics.enabled") and interval > 0:
            from .metrics import Metrics

            self.metrics = Metrics(interval)

    def _device_health_check(self) -> str:
        return f"{self.topics.root}/{self.topics.device_topic_id}/cmd/health/check"

    def _put(self, item: tuple[Any, ...]) -> None:
        try:
            self.queue.put(item, timeout=1.0)
        except queue.Full:  # the loop is far behind; a resync will set things right
            log.warning("monitor: work queue full; an item was dropped")

    # -- running ---------------------------------------------------------------

    def run(self) -> int:
        log.info(f"monitor: publishing to {self.link.settings.address}, engine events from podman")
        self.link.start()
        self.watcher.start()
        try:
            while not self.stop.is_set():
                try:
                    self._round()
                except Exception as error:  # a bug must not end the service; the next round goes on
                    log.warning(f"monitor: unexpected {type(error).__name__}: {error}")
                    self.stop.wait(MIN_WAIT)
        finally:
            self.watcher.close()
            if self.cloud is not None:
                self.cloud.stop()
            self.link.stop()
        log.info("monitor: stopped")
        return 0

    def _wait(self) -> float:
        """How long the next round may wait for work: TICK, or until a waiting state may go."""
        due = self.announce.next_due(time.monotonic())
        if due is None:
            return TICK
        return min(TICK, max(MIN_WAIT, due - time.monotonic()))

    def _round(self) -> None:
        try:
            items = [self.queue.get(timeout=self._wait())]
        except queue.Empty:
            items = []
        while items and len(items) < MAX_BATCH:
            try:
                items.append(self.queue.get_nowait())
            except queue.Empty:
                break
        # container id → action, in arrival order, each once; failed inspections first
        refresh: dict[str, str] = dict.fromkeys(self.retry, "refresh")
        for item in items:
            kind = item[0]
            if kind == "event":
                try:
                    action = event_action(item[1])
                except Exception as error:  # a malformed event: that one is skipped
                    log.warning(f"monitor: an event podman sent is not understood ({error!r}); skipped")
                    continue
                if action is not None:
                    refresh.pop(action[1], None)
                    refresh[action[1]] = action[0]
                continue
            self._flush_refresh(refresh)
            refresh = {}
            try:
                self._handle(item)
            except Exception as error:
                log.warning(f"monitor: handling {kind} failed unexpectedly: {type(error).__name__}: {error}")
        self._flush_refresh(refresh)
        # After (re)connecting to podman; or for registrations without a container (not while podman is away).
        wanted = self.resync_wanted or (self.stale and self.synced and not self.engine_problem)
        if wanted and self.engine is not None and self._registrations_known():
            self._resync()
        self._timers()

    def _handle(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "engine-up":
            self.engine = item[1]
            self.resync_wanted = True  # at the end of the round, once the broker's registrations are in
        elif kind == "engine-down":
            self._engine_down(item[1])
        elif kind == "mqtt-connected":
            log.info(f"monitor: connected to {self.link.settings.address}")
            self.connected_at = time.monotonic()
            self.link.republish()
        elif kind == "health-check":
            self._health_check(item[1])
        elif kind == "registration":
            self._check_stale(item[1])
        elif kind == "deregistration":
            vanished, cloud = self.vanished, self.cloud
            if vanished and cloud and vanished.cleared(item[1], time.monotonic()):  # an sm-plugin's remove
                cloud.deregistered(item[1])
        elif kind == "revived":
            observed = self.picture.services.get(item[1])
            if observed is not None:
                self.announce.register_again(observed)
        elif kind == "stop":
            self.stop.set()

    # -- the engine --------------------------------------------------------------

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
            for container in engine.list_containers():
                data = engine.inspect_container(container.id, timeout=self._timeout())
                observed = self._observe(container.name, data) if data else None
                if observed is not None:
                    seen.append(observed)
        except Exception as error:  # the watcher notices a dead engine; this round is skipped
            log.warning(f"monitor: cannot read the containers: {error}")
            return False
        self._engine_up()
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

    def _timeout(self) -> float:
        return float(self.config.get("container.connect_timeout"))

    def _flush_refresh(self, refresh: dict[str, str]) -> None:
        if not refresh or self.engine is None:
            return
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
        if message != self.engine_problem:
            log.warning(f"monitor: {message}")
            self.engine_problem = message
            text = message if ENABLE_HINT in message else f"{message}; {ENABLE_HINT}."
            self.link.retain(self.topics.device_alarm(ENGINE_ALARM), alarm_payload(text, "critical"))

    def _engine_up(self) -> None:
        if self.engine_problem:
            log.info("monitor: podman answers again")
        self.engine_problem = ""
        self.link.retain(self.topics.device_alarm(ENGINE_ALARM), None)  # cleared (also a stale one)

    def _timers(self) -> None:
        now = time.monotonic()
        self.announce.crash_loop_timers(now, self.picture.services)
        self.announce.flush(now)
        if self.metrics is not None and self.engine is not None and not self.engine_problem:
            self.metrics.maybe_publish(self.engine, self.picture, self.link, self.topics)

    # -- MQTT requests (paho's thread) ---------------------------------------------

    def _mqtt_message(self, topic: str, payload: bytes, retained: bool) -> None:
        if topic in self.bridge_topics:
            if self.cloud is not None and bridge_is_up(payload):
                self.cloud.bridge_up()
            return
        if topic.endswith("/cmd/health/check"):
            if not retained:
                self._put(("health-check", self.topics.service_name_of(topic)))
            return
        name = self.topics.service_name_of(topic)
        if not name or name == SERVICE_NAME:
            return
        if not payload:  # deregistered: by this monitor, or by an sm-plugin's remove (vanished.py)
            if self.vanished is not None and self.vanished.names:
                self._put(("deregistration", name))
            return
        try:
            registration = json.loads(payload)
        except ValueError:
            return
        if isinstance(registration, dict) and registration.get("type") in SERVICE_TYPES:
            self._put(("registration", name))

    def _health_check(self, name: str) -> None:
        """`name` '' is the device-level check: every service answers."""
        if name in ("", SERVICE_NAME):
            self.link.say_up()
        targets = list(self.picture.services.values()) if not name else [self.picture.services.get(name)]
        for observed in targets:
            if observed is None:
                continue
            self._flush_refresh({observed.container_id: "refresh"})
            current = self.picture.services.get(observed.name)
            if current is not None:  # answered even when nothing changed
                self.announce.now(current)

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
