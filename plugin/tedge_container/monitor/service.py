"""The monitor's main loop: engine events and MQTT requests in, thin-edge messages out.

Four threads: the engine watcher (watch.py), paho's network thread
(link.py), the cloud clean-up (cloud.py), and this loop, the only one that
changes state or publishes (through announce.py). They meet in one bounded
queue. Every second (or sooner) the loop also runs its timers: crash-loop
clearing and metrics.
"""

from __future__ import annotations

import json
import queue
import threading
import time

from .. import log
from ..engine import ENABLE_HINT
from ..software.container.list import ContainerFilter
from ..status.topics import alarm_payload, health_payload
from .announce import Announce
from .cloud import bridge_health_topics, bridge_is_up, new_cloud_cleanup
from .crashloop import CrashLoops
from .link import SERVICE_NAME, Link
from .state import SERVICE_TYPES, Picture, event_action, observe
from .watch import EngineWatcher

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ..config import Config
    from ..engine import Engine
    from ..status.settings import MqttSettings
    from ..status.topics import Topics

ENGINE_ALARM = "container_engine_unreachable"
TICK = 1.0
QUEUE_SIZE = 10000
MAX_RETRIES = 5  # inspecting a container that failed is tried again this often, a round apart
MAX_BATCH = 500  # events handled per round; duplicates of one container are looked at once


class Monitor:
    def __init__(
        self, config: Config, settings: MqttSettings, topics: Topics, tedge: Mapping[str, str] | None = None
    ) -> None:
        self.config = config
        self.topics = topics
        self.accepts = ContainerFilter(config)
        self.picture = Picture(bool(config.get("container_group.use_module_name")))
        self.queue: queue.Queue[Any] = queue.Queue(QUEUE_SIZE)
        self.stop = threading.Event()
        self.engine: Engine | None = None
        self.synced = False
        self.engine_problem = ""
        self.retry: dict[str, int] = {}  # container id → failed inspections in a row
        self.stale: set[str] = set()  # registrations seen on the broker before the first sync
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
        )
        self.announce = Announce(self.link, topics, crash_loops, self.cloud)
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
                self._round()
        finally:
            self.watcher.close()
            if self.cloud is not None:
                self.cloud.stop()
            self.link.stop()
        log.info("monitor: stopped")
        return 0

    def _round(self) -> None:
        try:
            items = [self.queue.get(timeout=TICK)]
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
                action = event_action(item[1])
                if action is not None:
                    refresh.pop(action[1], None)
                    refresh[action[1]] = action[0]
                continue
            self._flush_refresh(refresh)
            refresh = {}
            self._handle(item)
        self._flush_refresh(refresh)
        self._timers()

    def _handle(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "engine-up":
            self.engine = item[1]
            self._resync()
        elif kind == "engine-down":
            self._engine_down(item[1])
        elif kind == "mqtt-connected":
            log.info(f"monitor: connected to {self.link.settings.address}")
            self.link.republish()
        elif kind == "health-check":
            self._health_check(item[1])
        elif kind == "registration":
            self._check_stale(item[1])
        elif kind == "revived":
            observed = self.picture.services.get(item[1])
            if observed is not None:
                self.announce.register_again(observed)
        elif kind == "stop":
            self.stop.set()

    # -- the engine --------------------------------------------------------------

    def _resync(self) -> bool:
        """Read every container again; False when the engine did not answer."""
        engine = self.engine
        if engine is None:
            return False
        try:
            containers = engine.list_containers()
            seen = []
            for container in containers:
                data = engine.inspect_container(container.id, timeout=self._timeout())
                observed = observe(data, self.accepts, self.picture.use_module_name) if data else None
                if observed is not None:
                    seen.append(observed)
        except Exception as error:  # the watcher notices a dead engine; this round is skipped
            log.warning(f"monitor: cannot read the containers: {error}")
            return False
        self._engine_up()
        self.retry.clear()  # every container was just looked at
        self.announce.apply(self.picture.sync(seen))
        for observed in seen:
            self.announce.watch_restarts(observed, history=True)
        if self.cloud is not None and not self.synced:  # deletions only once the picture is known
            self.cloud.start()
        self.synced = True
        stale, self.stale = self.stale, set()
        for name in stale:
            self._check_stale(name, fresh=True)
        log.info(
            f"monitor: {len(self.picture.services)} services in sync with podman at {engine.socket_path}"
        )
        return True

    def _timeout(self) -> float:
        return float(self.config.get("container.connect_timeout"))

    def _flush_refresh(self, refresh: dict[str, str]) -> None:
        if not refresh or self.engine is None:
            return
        for container_id, action in refresh.items():
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
                    continue
            self.retry.pop(container_id, None)
            self.announce.apply(self.picture.refresh(container_id, data, self.accepts))
            name = self.picture.name_of(container_id) if data is not None else ""
            if name:  # every look counts: a quick restart may leave the twin as it was
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
        self.announce.clear_steady_crash_loops(time.monotonic())
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
        if not name or not payload or name == SERVICE_NAME:
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
                self.link.retain(self.topics.health(current.name), health_payload(current.health))

    def _check_stale(self, name: str, fresh: bool = False) -> None:
        """A container service registered on the broker: deregister it when no container stands behind it.

        An sm-plugin may have registered it a moment before its event reaches
        us, so the picture is read again from the engine before deciding.
        """
        if not self.synced:
            if len(self.stale) < 10000:
                self.stale.add(name)
            return
        if name in self.picture.services or self.engine_problem:
            return
        if not fresh and not self._resync():
            return
        if name not in self.picture.services:
            log.info(f"monitor: {name} has no container any more; deregistered")
            self.announce.deregister(name)
            self.announce.sync_log_types()
