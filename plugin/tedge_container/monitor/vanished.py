"""No mass deletion by mistake: services that vanish in numbers keep their cloud objects.

A service whose container this monitor saw removed (podman's `remove`
event), or that an sm-plugin `remove` deregistered, is deleted in the cloud
(cloud.py). One that merely vanished (a resync finds no container behind
it) may be a sign of the wrong engine (a changed `container.host`) or of
an engine whose storage was lost: when more than
`delete_from_cloud.max_vanished` vanish in one resync, they are
deregistered on the device but their cloud objects are kept, the device
alarm `container_services_vanished` says how many and why, and the names
are kept in `<data_dir>/monitor-vanished.json`. A name leaves that list when
its service comes back, or when an sm-plugin `remove` deregisters it (an
empty registration on the broker that is not this monitor's own): then it
is deleted in the cloud. The alarm is cleared when the list is empty.
"""

from __future__ import annotations

import os

from .. import log
from ..status.topics import alarm_payload
from .names_file import load_names, save_names

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..status.topics import Topics
    from .link import Link

ALARM_TYPE = "container_services_vanished"
SEVERITY = "major"
STATE_FILE = "monitor-vanished.json"
ECHO_WINDOW = 30.0  # seconds in which an empty registration is this monitor's own (sent back by the broker)
MAX_NAMES = 10000


class Vanished:
    """The names kept in the cloud after a mass vanishing, and their device alarm."""

    def __init__(self, link: Link, topics: Topics, limit: int, state_dir: str = "") -> None:
        self.link = link
        self.topics = topics
        self.limit = max(0, int(limit))
        self.state_path = os.path.join(state_dir, STATE_FILE) if state_dir else ""
        self.names: set[str] = set(load_names(self.state_path))
        self._own_clears: dict[str, float] = {}  # name → when this monitor deregistered it
        self._where = ""
        if self.names:  # the alarm is retained, but this monitor stands for it (a broker may restart)
            self._alarm()

    def decide(self, names: Iterable[str], where: str, now: float) -> bool:
        """Services vanished in one resync: True when few (delete them in the cloud), else kept, alarmed."""
        names = list(names)
        if len(names) <= self.limit:
            return True
        for name in names[:MAX_NAMES]:
            self._own_clears[name] = now  # deregistered by us now: the broker sends that back
        self._where = where
        self.names.update(names[: max(0, MAX_NAMES - len(self.names))])
        self._save()
        log.warning(
            f"monitor: {len(names)} services vanished at once from podman at {where} "
            f"(more than delete_from_cloud.max_vanished = {self.limit}): deregistered here, "
            "their cloud objects kept (alarm container_services_vanished)"
        )
        self._alarm()
        return False

    def first_sync(self) -> None:
        """The first picture is read: an alarm left from before, with nothing kept any more, is cleared."""
        if not self.names:
            self.link.retain(self.topics.device_alarm(ALARM_TYPE), None)

    def came_back(self, name: str) -> None:
        if name in self.names:
            self._drop(name)

    def cleared(self, name: str, now: float) -> bool:
        """An empty registration of `name` on the broker: True when it is an sm-plugin's `remove` of a
        kept service (delete it in the cloud now), False when it is our own or of another service."""
        deregistered_at = self._own_clears.pop(name, None)
        if self._own_clears:
            self._own_clears = {n: t for n, t in self._own_clears.items() if now - t < ECHO_WINDOW}
        if deregistered_at is not None and now - deregistered_at < ECHO_WINDOW:
            return False
        if name not in self.names:
            return False
        self._drop(name)
        log.info(f"monitor: {name} was removed; its cloud object is deleted now")
        return True

    def _drop(self, name: str) -> None:
        self.names.discard(name)
        self._save()
        if self.names:
            self._alarm()
        else:
            log.info("monitor: no vanished service is kept in the cloud any more; alarm cleared")
            self.link.retain(self.topics.device_alarm(ALARM_TYPE), None)

    def _alarm(self) -> None:
        where = f" from podman at {self._where}" if self._where else ""
        text = (
            f"{len(self.names)} container services vanished at once{where} (more than "
            f"delete_from_cloud.max_vanished = {self.limit}): a different engine may answer, or its storage "
            "was lost. They are deregistered on the device, but their cloud objects are kept; each is "
            "deleted in the cloud when its module is removed, and this alarm clears when they are back or "
            "removed."
        )
        self.link.retain(self.topics.device_alarm(ALARM_TYPE), alarm_payload(text, SEVERITY))

    def _save(self) -> None:
        save_names(self.state_path, self.names, "the services kept in the cloud")
