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
from ..service.capabilities import configured
from ..software.container.list import ContainerFilter
from .announce import Announce
from .cloud import bridge_health_topics, bridge_is_up, new_cloud_cleanup
from .crashloop import CrashLoops
from .last_words import ExitCodes, last_words
from .link import SERVICE_NAME, Link
from .overflow import Overflow
from .state import SERVICE_TYPES, Commands, Picture, event_action
from .sync import QUEUE_SIZE, EngineSync
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

TICK = 1.0
MAX_BATCH = 500  # events handled per round; duplicates of one container are looked at once
MIN_WAIT = 0.05  # the shortest wait for the next round (a coalesced state due very soon)


class Monitor(EngineSync):
    def __init__(
        self, config: Config, settings: MqttSettings, topics: Topics, tedge: Mapping[str, str] | None = None
    ) -> None:
        self.config = config
        self.topics = topics
        self.accepts = ContainerFilter(config)
        self.actions = configured(config)  # service commands; pause goes when the engine cannot
        self._commands = Commands()
        self.picture = Picture(
            bool(config.get("container_group.use_module_name")),
            unfit=self._unfit,
            commands=self._command_places if self.actions else None,
        )
        self.unfit_warned: set[str] = set()  # containers skipped for their name, warned about once
        self.started_at = time.monotonic()
        self.connected_at: float | None = None
        self.resync_wanted = False
        self.queue: queue.Queue[Any] = queue.Queue(QUEUE_SIZE)
        self.overflow = Overflow(QUEUE_SIZE)
        self.stop = threading.Event()
        self.engine: Engine | None = None
        self.synced = False
        self.engine_problem = ""
        self.retry: dict[str, int] = {}  # container id → failed inspections in a row
        self.exit_codes = ExitCodes()  # how each container's last run ended, for the crash-loop alarm
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
        self.announce = Announce(
            self.link, topics, crash_loops, self.cloud, actions=self.actions, last_words=self._last_words
        )
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

    def _command_places(self) -> Commands:
        """Where groups and service-command records live; looked up again while they do not exist yet."""
        places = self._commands
        if not (places.group_root and places.records):
            from ..service.record import directory
            from ..software.group.archive.layout import compose_root

            try:
                places = self._commands = Commands(
                    compose_root(self.config, create=False), directory(self.config)
                )
            except Exception as error:  # an unusable data_dir: no group is ours, nothing recorded
                log.debug(f"monitor: data_dir: {error}")
        return places

    def _last_words(self, container_id: str) -> str:
        """A crash-looping container's exit code and last output line, for its alarm (last_words.py)."""
        return last_words(self.engine, container_id, self.exit_codes.get(container_id))

    def _device_health_check(self) -> str:
        return f"{self.topics.root}/{self.topics.device_topic_id}/cmd/health/check"

    def _put(self, item: tuple[Any, ...]) -> None:
        try:
            self.queue.put_nowait(item)  # never holds paho's network thread
        except queue.Full:  # the loop is far behind: kept aside, coalesced per service (overflow.py)
            self.overflow.add(item)

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
        items += self._overflowed()
        # container id → action, in arrival order, each once; failed inspections first
        refresh: dict[str, str] = dict.fromkeys(self.retry, "refresh")
        for item in items:
            kind = item[0]
            if kind == "event":
                try:
                    action = event_action(item[1])
                    self.exit_codes.note(item[1], action[1] if action and action[0] == "remove" else "")
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
        wanted = wanted and time.monotonic() >= self.resync_due  # after a failed one: its backoff
        if wanted and self.engine is not None and self._registrations_known():
            self._resync()
        self._timers()

    def _overflowed(self) -> list[tuple[Any, ...]]:
        """The requests the full queue could not take: the latest per service, or a resync for all."""
        items, resync, coalesced = self.overflow.take()
        if coalesced:
            more = "; a resync follows" if resync else ""
            log.info(f"monitor: work queue full; {coalesced} requests kept as {len(items)}{more}")
        if resync:
            self.resync_wanted = True
        return items

    def _handle(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "engine-up":
            self.engine = item[1]
            self._check_pause(item[1])
            self.resync_wanted = True  # at the end of the round, once the broker's registrations are in
            self.resync_due = 0.0  # a fresh connection is read at once, whatever failed before
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
        if self._moved():  # the old engine's picture: the resync at the end of this round answers
            targets = []
        for observed in targets:
            if observed is None:
                continue
            self._flush_refresh({observed.container_id: "refresh"})
            current = self.picture.services.get(observed.name)
            if current is not None:  # answered even when nothing changed
                self.announce.now(current)
