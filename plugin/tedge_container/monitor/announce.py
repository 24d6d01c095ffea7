"""What the monitor tells thin-edge about services: registrations, health, crash-loop alarms,
and (through cloud.py) the cloud deletion of services that went away.

Called from the monitor's loop only (service.py), which decides what changed.
"""

from __future__ import annotations

import time

from .. import log
from ..status.topics import alarm_payload, health_payload, registration_payload
from .crashloop import ALARM_TYPE as CRASH_LOOP_ALARM
from .crashloop import SEVERITY as CRASH_LOOP_SEVERITY
from .crashloop import CrashLoops, alarm_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..status.topics import Topics
    from .cloud import CloudCleanup
    from .link import Link
    from .state import Change, Observed


class Announce:
    def __init__(self, link: Link, topics: Topics, crash_loops: CrashLoops, cloud: CloudCleanup | None):
        self.link = link
        self.topics = topics
        self.crash_loops = crash_loops
        self.cloud = cloud

    def apply(self, changes: list[Change]) -> None:
        came_or_went = False
        for change in changes:
            if change.kind == "deregister":
                self.deregister(change.name)
                came_or_went = True
                continue
            observed = change.observed
            assert observed is not None
            if change.kind == "register":
                if self.cloud is not None:
                    self.cloud.registered(observed.name)
                came_or_went = came_or_went or self.topics.service(observed.name) not in self.link.retained
                self._register(observed)
            self.link.retain(self.topics.health(observed.name), health_payload(observed.health))
        if came_or_went:
            self.sync_log_types()

    def sync_log_types(self) -> None:
        """Ask tedge-agent to read the log plugins' types again (containers came or went)."""
        self.link.send(self.topics.agent_signal("sync_log_upload"), {})

    def deregister(self, name: str) -> None:
        if self.crash_loops.forget(name):
            self.link.retain(self.topics.service_alarm(name, CRASH_LOOP_ALARM), None)
        self.link.retain(self.topics.health(name), None)
        self.link.retain(self.topics.service(name), None)
        if self.cloud is not None:
            self.cloud.deregistered(name)

    def register_again(self, observed: Observed) -> None:
        """Its cloud object was deleted just as it came back: register it anew, so the mapper makes one."""
        self.link.retain(self.topics.service(observed.name), None)
        self._register(observed)
        self.link.retain(self.topics.health(observed.name), health_payload(observed.health))

    def _register(self, observed: Observed) -> None:
        payload = registration_payload(observed.name, observed.type, observed.twin)
        self.link.retain(self.topics.service(observed.name), payload)

    def watch_restarts(self, observed: Observed, history: bool) -> None:
        verdict = self.crash_loops.observe(
            observed.name, observed.restarts, observed.running, time.monotonic(), history=history
        )
        if verdict is None:
            return
        text = alarm_text(observed.name, verdict.restarts, self.crash_loops.clear_after)
        log.warning(f"monitor: {text}")
        self.link.retain(
            self.topics.service_alarm(observed.name, CRASH_LOOP_ALARM),
            alarm_payload(text, CRASH_LOOP_SEVERITY),
        )

    def clear_steady_crash_loops(self, now: float) -> None:
        for name, _verdict in self.crash_loops.tick(now):
            log.info(f"monitor: {name} runs steadily again; crash-loop alarm cleared")
            self.link.retain(self.topics.service_alarm(name, CRASH_LOOP_ALARM), None)
