"""Pure logic: when a container's restarts make a crash loop, and when the loop is over.

The engine's restart count of a container (podman's RestartCount) only
grows. Restarts are counted from a baseline: the count when the monitor
first saw the container, moved up whenever the container has run steadily
(`clear_after` seconds without a restart). `threshold` restarts above the
baseline raise the alarm; a steady run or the container's removal clears
it. Unlike the Go service, no healthcheck is needed to clear it.
"""

from __future__ import annotations

from typing import NamedTuple

ALARM_TYPE = "container_crash_loop"
SEVERITY = "major"


class Verdict(NamedTuple):
    """`raise` (or raise again with a new count) or `clear`; `restarts` since the baseline."""

    action: str
    restarts: int


class _Track:
    __slots__ = ("alarmed", "baseline", "restarts", "running_since")

    def __init__(self, restarts: int) -> None:
        self.baseline = restarts
        self.restarts = restarts
        self.running_since: float | None = None
        self.alarmed = 0  # the count the alarm says; 0: no alarm


class CrashLoops:
    """Per service: its restart baseline, whether it runs since when, and the alarm raised."""

    def __init__(self, threshold: int, clear_after: float) -> None:
        self.threshold = max(1, int(threshold))
        self.clear_after = clear_after
        self._tracks: dict[str, _Track] = {}

    def observe(
        self, name: str, restarts: int, running: bool, now: float, history: bool = False
    ) -> Verdict | None:
        """The container was looked at: a verdict when the alarm must change.

        `history`: the container was found by a full sync, so restarts it
        already has happened before the monitor looked (they do not count);
        one that appears later counts from zero (it may have restarted a few
        times before its first event was handled).
        """
        track = self._tracks.get(name)
        if track is None:
            track = self._tracks[name] = _Track(restarts if history else 0)
        if restarts < track.baseline:  # a new container under the same name counts from zero
            track.baseline = restarts
        restarted = restarts != track.restarts
        track.restarts = restarts
        if not running:
            track.running_since = None
        elif track.running_since is None or restarted:
            track.running_since = now
        count = restarts - track.baseline
        if count >= self.threshold and count != track.alarmed:
            track.alarmed = count
            return Verdict("raise", count)
        return None

    def tick(self, now: float) -> list[tuple[str, Verdict]]:
        """Services whose container has now run steadily: their alarms are cleared, baselines moved."""
        cleared = []
        for name, track in self._tracks.items():
            if track.running_since is None or now - track.running_since < self.clear_after:
                continue
            track.baseline = track.restarts
            if track.alarmed:
                cleared.append((name, Verdict("clear", track.alarmed)))
                track.alarmed = 0
        return cleared

    def forget(self, name: str) -> bool:
        """The service is gone; True when it had an alarm (to be cleared)."""
        track = self._tracks.pop(name, None)
        return bool(track and track.alarmed)

    def alarmed(self) -> dict[str, int]:
        return {name: track.alarmed for name, track in self._tracks.items() if track.alarmed}


def alarm_text(name: str, restarts: int, clear_after: float) -> str:
    return (
        f"Container {name} is in a crash loop: the engine restarted it {restarts} times; "
        f"the alarm clears after it runs {clear_after:g} s without a restart."
    )
