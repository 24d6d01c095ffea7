"""Deleting removed services in Cumulocity too, best effort, without ever holding the monitor up.

thin-edge forgets a deregistered service but its managed object stays in
the cloud. When the monitor deregisters a service, the name waits
`delete_from_cloud.delay` seconds (an upgrade re-creates a container under
the same name within that: the service is kept), then its object is deleted
through tedge's local Cumulocity proxy (status/c8y_proxy.py) in this
module's own thread. A failed attempt is retried with a growing pause
(30 s to 15 min), and at once when the Cumulocity bridge reports `up`.
Without a proxy (no mapper running) the attempts fail quietly (debug log).

Pending names are bounded (MAX_PENDING) and kept in a file under the data
directory, so a restart of the monitor does not lose them.
"""

from __future__ import annotations

import json
import os
import threading
import time

from .. import log
from ..status.c8y_proxy import ProxyError, external_id
from .names_file import load_names, save_names

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Callable

    from ..config import Config
    from ..status.c8y_proxy import CumulocityProxy
    from ..status.topics import Topics

MAX_PENDING = 1000
RETRY_MIN = 30.0
RETRY_MAX = 900.0
STATE_FILE = "monitor-cloud-deletions.json"
# The services of the Cumulocity bridge: their health `up` means deletions may work now.
BRIDGE_SERVICES = ("tedge-mapper-c8y", "tedge-mapper-bridge-c8y", "mosquitto-c8y-bridge")


class Pending:
    """Pure bookkeeping: which names wait until when, and how often each has failed."""

    def __init__(self, delay: float, limit: int = MAX_PENDING) -> None:
        self.delay = delay
        self.limit = limit
        self.due: dict[str, float] = {}
        self.failures: dict[str, int] = {}

    def add(self, name: str, now: float) -> bool:
        """Schedule `name`; False when the queue is full (the name is dropped)."""
        if name not in self.due and len(self.due) >= self.limit:
            return False
        self.due[name] = now + self.delay
        self.failures.pop(name, None)
        return True

    def cancel(self, name: str) -> bool:
        self.failures.pop(name, None)
        return self.due.pop(name, None) is not None

    def ready(self, now: float) -> list[str]:
        return sorted((name for name, due in self.due.items() if due <= now), key=self.due.__getitem__)

    def done(self, name: str) -> None:
        self.due.pop(name, None)
        self.failures.pop(name, None)

    def failed(self, name: str, now: float) -> float:
        """A failed attempt: the next one after a pause that doubles, RETRY_MIN to RETRY_MAX."""
        count = self.failures.get(name, 0) + 1
        self.failures[name] = count
        pause = min(RETRY_MAX, RETRY_MIN * 2 ** min(count - 1, 10))
        self.due[name] = now + pause
        return pause

    def hurry(self, now: float) -> None:
        """Everything that waits for a retry is tried now (the bridge came back)."""
        for name in self.failures:
            if name in self.due:
                self.due[name] = min(self.due[name], now)

    def next_due(self) -> float | None:
        return min(self.due.values()) if self.due else None


def bridge_health_topics(root: str) -> list[str]:
    return [f"{root}/device/main/service/{service}/status/health" for service in BRIDGE_SERVICES]


def bridge_is_up(payload: bytes) -> bool:
    """tedge's health `{"status": "up"}`, or the mosquitto bridge's `1`."""
    if payload.strip() == b"1":
        return True
    try:
        health = json.loads(payload)
    except ValueError:
        return False
    return isinstance(health, dict) and health.get("status") == "up"


class CloudCleanup:
    """The thread that deletes deregistered services in Cumulocity (see the module docstring)."""

    def __init__(
        self,
        proxy: CumulocityProxy,
        service_topic_id: Callable[[str], str],
        delay: float,
        device_id: str = "",
        state_dir: str = "",
        on_revived: Callable[[str], None] | None = None,
    ) -> None:
        self.proxy = proxy
        self.service_topic_id = service_topic_id
        self.configured_device_id = device_id
        self.pending = Pending(delay)
        self.state_path = os.path.join(state_dir, STATE_FILE) if state_dir else ""
        self.on_revived = on_revived
        self._lock = threading.Condition()
        self._stop = False
        self._in_flight = ""
        self._revived: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="cloud-cleanup", daemon=True)
        self._load()

    # -- the monitor's thread ---------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stop = True
            self._lock.notify_all()
        if self._thread.is_alive():  # not started when the monitor stops before its first sync
            self._thread.join(1.0)  # an attempt under way is bounded by the proxy's timeout anyway

    def deregistered(self, name: str) -> None:
        with self._lock:
            if not self.pending.add(name, time.monotonic()):
                log.warning(f"monitor: {MAX_PENDING} cloud deletions wait; {name} is left in the cloud")
                return
            self._revived.discard(name)
            self._save()
            self._lock.notify_all()

    def registered(self, name: str) -> None:
        """`name` is a service again: it stays in the cloud."""
        with self._lock:
            if self._in_flight == name:
                self._revived.add(name)
            if self.pending.cancel(name):
                self._save()

    def bridge_up(self) -> None:
        with self._lock:
            self.pending.hurry(time.monotonic())
            self._lock.notify_all()

    # -- its own thread -----------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._lock:
                name = self._next()
                if name is None:
                    return
                self._in_flight = name
            self._finish(name, self._delete(name))  # _delete never raises

    def _next(self) -> str | None:
        """The next name to delete (waiting for it); None once stopped. Called with the lock held."""
        while not self._stop:
            now = time.monotonic()
            ready = self.pending.ready(now)
            if ready:
                return ready[0]
            due = self.pending.next_due()
            self._lock.wait(None if due is None else max(0.05, due - now))
        return None

    def _delete(self, name: str) -> str:
        """The outcome: "deleted", "absent", "not a service", "retry" or "failed"."""
        try:
            xid = self.proxy.device_id(self.configured_device_id)
            return self.proxy.delete_service(external_id(xid, self.service_topic_id(name)))
        except ProxyError as error:
            if error.retry:
                log.debug(f"monitor: deleting {name} in the cloud failed, retried later: {error}")
                return "retry"
            log.warning(f"monitor: {name} cannot be deleted in the cloud: {error}")
            return "failed"
        except Exception as error:  # a bug must not end the thread: retried later, said once per try
            log.warning(f"monitor: deleting {name} in the cloud failed unexpectedly: {error!r}")
            return "retry"

    def _finish(self, name: str, outcome: str) -> None:
        with self._lock:
            # Under one lock with the bookkeeping: a registration comes before it (revived) or after.
            self._in_flight = ""
            if outcome == "retry" and name in self.pending.due:
                self.pending.failed(name, time.monotonic())
            elif outcome != "retry":
                self.pending.done(name)
            revived = outcome == "deleted" and name in self._revived
            self._revived.discard(name)
            self._save()
        if outcome == "deleted":
            log.info(f"monitor: {name} deleted in the cloud")
        elif outcome == "not a service":
            log.warning(f"monitor: the cloud object of {name} is not a service; left alone")
        if revived and self.on_revived is not None:  # registered again while it was being deleted
            self.on_revived(name)

    # -- the state file ----------------------------------------------------------------

    def _load(self) -> None:
        now = time.monotonic()
        for name in load_names(self.state_path):
            self.pending.add(name, now)  # after the delay: the first sync may register it again

    def _save(self) -> None:
        save_names(self.state_path, self.pending.due, "the pending cloud deletions")


def new_cloud_cleanup(
    config: Config, topics: Topics, tedge: Mapping[str, str] | None, on_revived: Callable[[str], None]
) -> CloudCleanup | None:
    """The monitor's clean-up, or None when `delete_from_cloud.enabled` is false.

    `tedge`: tedge's settings as read_tedge_config gives them (None: read them here).
    """
    if not config.get("delete_from_cloud.enabled"):
        return None
    from ..config import resolve_data_dir
    from ..errors import PluginError
    from ..status.c8y_proxy import CumulocityProxy, proxy_settings

    try:
        state_dir = resolve_data_dir(config)
    except PluginError as error:  # pending deletions are then kept in memory only
        log.warning(f"monitor: {error}")
        state_dir = ""
    settings = proxy_settings(config, tedge)
    log.debug(f"monitor: removed services are deleted in the cloud through {settings.address}")
    return CloudCleanup(
        CumulocityProxy(settings),
        topics.service_topic_id,
        float(config.get("delete_from_cloud.delay")),
        device_id=str(config.get("device_id")),
        state_dir=state_dir,
        on_revived=on_revived,
    )
