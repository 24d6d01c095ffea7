"""What the monitor's work queue could not take: coalesced per service, never silently lost.

MQTT requests (registrations seen, health checks, deregistrations, ...) come
from paho's and the cloud clean-up's threads. When the queue is full (the loop
far behind in a storm of engine events), such an item is kept here instead,
one per (kind, service): the latest wins, as a newer request for the same
service answers the older one. Past `bound` kept items, they are all dropped
for one resync, which sets every service right from the engine. The loop takes
them at the end of its next round. Thread-safe; pure (no I/O).
"""

from __future__ import annotations

import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Overflow:
    def __init__(self, bound: int) -> None:
        self.bound = bound
        self._items: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._resync = False
        self._coalesced = 0
        self._lock = threading.Lock()

    def add(self, item: tuple[Any, ...]) -> None:
        key = item[:2]  # (kind, service name); ("mqtt-connected",) alone
        with self._lock:
            self._coalesced += 1
            self._items.pop(key, None)
            if len(self._items) >= self.bound:
                self._items.clear()
                self._resync = True
            else:
                self._items[key] = item

    def take(self) -> tuple[list[tuple[Any, ...]], bool, int]:
        """(items kept, in arrival order; whether a resync replaces those dropped; how many came)."""
        with self._lock:
            items, resync, coalesced = list(self._items.values()), self._resync, self._coalesced
            self._items, self._resync, self._coalesced = {}, False, 0
        return items, resync, coalesced
