"""Resource metrics: every `metrics.interval`, one `resource_usage` measurement per running service.

One stats request for all containers (the Go service asks once per
container), and `netio` counts bytes received and sent (the Go service
reports only sent bytes).
"""

from __future__ import annotations

import time

from .. import log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ..engine import Engine
    from ..status.topics import Topics
    from .link import Link
    from .state import Picture

MEASUREMENT_TYPE = "resource_usage"
STATS_TIMEOUT = 10.0


def usage(entry: Mapping[str, Any]) -> dict[str, Any]:
    """podman's stats entry → `{"container": {"cpu": %, "memory": %, "netio": bytes}}`."""
    return {
        "container": {
            "cpu": round(float(entry.get("CPU") or 0.0), 4),
            "memory": round(float(entry.get("MemPerc") or 0.0), 4),
            "netio": int(entry.get("NetInput") or 0) + int(entry.get("NetOutput") or 0),
        }
    }


class Metrics:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.due = time.monotonic() + min(interval, 5.0)  # a first sample soon after the start

    def maybe_publish(self, engine: Engine, picture: Picture, link: Link, topics: Topics) -> None:
        now = time.monotonic()
        if now < self.due:
            return
        self.due = now + self.interval
        if not link.connected.is_set():
            return  # measurements are not queued while the broker is away
        try:
            entries = engine.container_stats(STATS_TIMEOUT)
        except Exception as error:  # one missed sample; the next interval tries again
            log.warning(f"monitor: no resource metrics this time: {error}")
            return
        by_id = {}
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict):
                by_id[str(entry.get("ContainerID") or entry.get("ContainerId") or "")] = entry
        for observed in picture.services.values():
            entry = by_id.get(observed.container_id)
            if entry is None or not observed.running:
                continue
            try:
                measured = usage(entry)
            except (TypeError, ValueError) as error:  # a malformed answer: this container's sample skipped
                log.warning(f"monitor: container {observed.name}: its stats are not understood ({error})")
                continue
            link.send(topics.measurement(observed.name, MEASUREMENT_TYPE), measured)
