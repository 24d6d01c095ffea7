"""What the monitor tells thin-edge about services: registrations, health, crash-loop alarms,
and (through cloud.py) the cloud deletion of services that went away.

Called from the monitor's loop only (service.py), which decides what changed.
Registrations and health go through each service's publish budget
(budget.py): a change waits, coalesced with later ones (the latest state
wins), while its service has no tokens left; `flush` publishes what may go.
While a container is in a crash loop its health stays `down` (no flapping),
until it has run steadily and the alarm is cleared.
"""

from __future__ import annotations

import time

from .. import log
from ..status.topics import alarm_payload, health_payload, registration_payload
from .budget import BURST, HOLD, Budget
from .crashloop import ALARM_TYPE as CRASH_LOOP_ALARM
from .crashloop import SEVERITY as CRASH_LOOP_SEVERITY
from .crashloop import CrashLoops, alarm_text
from .state import is_passing

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

    from ..status.topics import Topics
    from .cloud import CloudCleanup
    from .link import Link
    from .state import Change, Observed


class Announce:
    def __init__(
        self,
        link: Link,
        topics: Topics,
        crash_loops: CrashLoops,
        cloud: CloudCleanup | None,
        budget: Budget | None = None,
        actions: list[str] | None = None,
        last_words: Callable[[str], str] | None = None,
    ):
        self.last_words = last_words  # container id → its exit code and last output, for the alarm
        self.link = link
        self.topics = topics
        self.crash_loops = crash_loops
        self.cloud = cloud
        # Service commands declared once per registration (service/capabilities.py); the burst
        # grows by what the declaration costs, so it never holds back a service's first state.
        self.actions = list(actions or [])
        self.budget = budget or Budget(burst=BURST + len(self.actions))
        self.declared: set[str] = set()  # services whose commands are declared
        self.waiting: dict[str, Observed] = {}  # the latest state of a service, not published yet
        self.shown: dict[str, tuple[dict[str, Any], str]] = {}  # what was published: registration, health

    def apply(self, changes: list[Change], now: float | None = None) -> None:
        """Record what changed; deregistrations go at once, the rest when `flush` finds the budget."""
        now = time.monotonic() if now is None else now
        went = False
        for change in changes:
            if change.kind == "deregister":
                self.deregister(change.name)
                went = True
                continue
            observed = change.observed
            assert observed is not None
            if change.kind == "register" and self.cloud is not None:
                self.cloud.registered(observed.name)
            self.waiting[observed.name] = observed
            self.budget.changed(observed.name, now)
        if went:
            self.sync_log_types()

    def health_of(self, observed: Observed) -> str:
        return "down" if self.crash_loops.looping(observed.name) else observed.health

    def _cost(self, observed: Observed) -> int:
        """Messages the service's latest state needs: 2 with its registration (health follows it), 1, 0."""
        shown = self.shown.get(observed.name)
        registration = registration_payload(observed.name, observed.type, observed.twin)
        if shown is None or shown[0] != registration:
            return 2 + self._declaration_cost(observed)
        return 0 if shown[1] == self.health_of(observed) else 1

    def _declaration_cost(self, observed: Observed) -> int:
        """Messages its service commands still need: one per action, once per registration."""
        if not self.actions or not observed.commandable or observed.name in self.declared:
            return 0
        return len(self.actions)

    def flush(self, now: float) -> None:
        """Publish every waiting state its budget allows."""
        came = False
        for name, observed in list(self.waiting.items()):
            cost = self._cost(observed)
            if not self.budget.allow(name, cost, now, self._hold(observed), self._final_only(name)):
                continue
            del self.waiting[name]
            if cost >= 2:
                came = came or self.topics.service(name) not in self.link.retained
                self._register(observed)
            if cost:
                self._health(observed)
        if came:
            self.sync_log_types()

    def next_due(self, now: float) -> float | None:
        """When a waiting state may go at the earliest; None when nothing waits."""
        times = [
            self.budget.next_try(
                name, max(1, self._cost(seen)), now, self._hold(seen), self._final_only(name)
            )
            for name, seen in self.waiting.items()
        ]
        return min(times) if times else None

    def _final_only(self, name: str) -> bool:
        """In a crash loop, once its health `down` is out, only the state the loop ends in goes."""
        shown = self.shown.get(name)
        return self.crash_loops.looping(name) and shown is not None and shown[1] == "down"

    @staticmethod
    def _hold(observed: Observed) -> float:
        return HOLD if is_passing(observed) else 0.0

    def sync_log_types(self) -> None:
        """Ask tedge-agent to read the log plugins' types again (containers came or went)."""
        self.link.send(self.topics.agent_signal("sync_log_upload"), {})

    def deregister(self, name: str, cloud: bool = True) -> None:
        """`cloud`: delete its cloud object too (False: a service that vanished in a mass, see service.py)."""
        shown, waited = self.shown.pop(name, None), self.waiting.pop(name, None)
        known = shown is not None or waited is not None
        if name in self.declared or (self.actions and not known):  # not known: an sm-plugin's registration
            self.declared.discard(name)
            for action in self.actions:
                self.link.retain(self.topics.capability(name, action), None)
        if self.crash_loops.forget(name):
            self.link.retain(self.topics.service_alarm(name, CRASH_LOOP_ALARM), None)
        self.link.retain(self.topics.health(name), None)
        self.link.retain(self.topics.service(name), None)
        if cloud and self.cloud is not None:
            self.cloud.deregistered(name)

    def register_again(self, observed: Observed) -> None:
        """Its cloud object was deleted just as it came back: register it anew, so the mapper makes one."""
        self.link.retain(self.topics.service(observed.name), None)
        self.declared.discard(observed.name)  # the new cloud object needs them too
        self._register(observed)
        self._health(observed)

    def now(self, observed: Observed) -> None:
        """Its latest state at once, whatever the budget: a health check asked for it, or a crash
        loop ended (at most once per crash_loop_clear_after)."""
        self.waiting.pop(observed.name, None)
        if self._cost(observed) >= 2:
            self._register(observed)
        self._health(observed)

    def _register(self, observed: Observed) -> None:
        payload = registration_payload(observed.name, observed.type, observed.twin)
        self.shown[observed.name] = (payload, "")
        self.link.retain(self.topics.service(observed.name), payload)
        if self._declaration_cost(observed):
            self.declared.add(observed.name)
            for action in self.actions:
                self.link.retain(self.topics.capability(observed.name, action), {})

    def _health(self, observed: Observed) -> None:
        health = self.health_of(observed)
        self.shown[observed.name] = (self.shown[observed.name][0], health)
        self.link.retain(self.topics.health(observed.name), health_payload(health))

    def watch_restarts(self, observed: Observed, history: bool, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        verdict = self.crash_loops.observe(observed.name, observed.restarts, observed.running, now, history)
        if verdict is not None:
            self._raise(observed.name, verdict.restarts, observed.container_id)
            self.waiting.setdefault(observed.name, observed)  # its health goes `down` now

    def _raise(self, name: str, restarts: int, container_id: str = "") -> None:
        text = alarm_text(name, restarts, self.crash_loops.clear_after)
        if self.last_words is not None and container_id:
            text += self.last_words(container_id)
        log.warning(f"monitor: {text}")
        payload = alarm_payload(text, CRASH_LOOP_SEVERITY)
        self.link.retain(self.topics.service_alarm(name, CRASH_LOOP_ALARM), payload)

    def crash_loop_timers(self, now: float, services: Mapping[str, Observed]) -> None:
        """Alarm counts whose update interval passed; alarms of containers that now run steadily."""
        for name, verdict in self.crash_loops.tick(now):
            if verdict.action == "raise":
                looping = services.get(name)
                self._raise(name, verdict.restarts, looping.container_id if looping else "")
                continue
            log.info(f"monitor: {name} runs steadily again; crash-loop alarm cleared")
            self.link.retain(self.topics.service_alarm(name, CRASH_LOOP_ALARM), None)
            observed = services.get(name)
            if observed is not None:  # its health is `up` again
                self.now(observed)
        self.budget.forget_idle(now, keep=set(self.waiting))
