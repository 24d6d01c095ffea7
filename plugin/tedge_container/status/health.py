"""A container's health as thin-edge sees it: `up` or `down`, from podman's inspect data."""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable

POLL_INTERVAL = 0.1


def health_of(data: Mapping[str, Any] | None) -> str:
    """`up` only for a container that runs, is not restarting and has not restarted since it started."""
    if not data:
        return "down"
    state = data.get("State") or {}
    running = state.get("Status") == "running" or (state.get("Running") and not state.get("Status"))
    if not running or state.get("Restarting") or state.get("Dead") or state.get("OOMKilled"):
        return "down"
    if int(data.get("RestartCount") or 0) > 0:  # a fresh container that already restarted crashes
        return "down"
    return "up"


def observe_health(
    probe: Callable[[], Mapping[str, Any] | None],
    settled_at: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Look at the container until `settled_at` (a `clock` time); `down` as soon as it is seen down.

    A container that exits at once may still look "running" right after the
    start, so one look is not enough: it must stay up until `settled_at`.
    """
    while True:
        status = health_of(probe())
        remaining = settled_at - clock()
        if status == "down" or remaining <= 0:
            return status
        sleep(min(POLL_INTERVAL, remaining))
