"""A container's health as thin-edge sees it: `up` or `down`, from podman's inspect data."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


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
