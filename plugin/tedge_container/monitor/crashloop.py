"""Pure logic: when a container's restarts make a crash loop, and when the loop is over.

The engine's restart count of a container (podman's RestartCount) only
grows. Restarts are counted from a baseline: the count when the monitor
first saw the container, moved up whenever the container has run steadily
(`clear_after` seconds without a restart). `threshold` restarts above the
baseline raise the alarm; a steady run or the container's removal clears
it. Unlike the Go service, no healthcheck is needed to clear it.

The alarm is raised at once, but its count (in its text) is updated at most
every `update_interval` seconds (container.crash_loop_update_interval): a
container restarting five times a second would otherwise send an alarm
update, and a log line, with every restart.
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
    __slots__ = ("alarmed", "alarmed_at", "baseline", "restarts", "running_since")

    def __init__(self, restarts: int) -> None:
        self.baseline = restarts
        self.restarts = restarts
        self.running_since: float | None = None
        self.alarmed = 0  # the count the alarm says; 0: no alarm
        self.alarmed_at = 0.0  # when the alarm was raised or last updated

    def due(self, threshold: int, update_interval: float, now: float) -> int:
        """The count to raise (or update) the alarm with now; 0: nothing to say."""
        count = self.restarts - self.baseline
        if count < threshold or count == self.alarmed:
            return 0
        if self.alarmed and now - self.alarmed_at < update_interval:
            return 0  # raised already: the new count waits for the interval
        return count


class CrashLoops:
    """Per service: its restart baseline, whether it runs since when, and the alarm raised."""

    def __init__(self, threshold: int, clear_after: float, update_interval: float = 60.0) -> None:
        self.threshold = max(1, int(threshold))
        self.clear_after = clear_after
        self.update_interval = update_interval
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
        return self._raise(track, now)

    def _raise(self, track: _Track, now: float) -> Verdict | None:
        count = track.due(self.threshold, self.update_interval, now)
        if not count:
            return None
        track.alarmed, track.alarmed_at = count, now
        return Verdict("raise", count)

    def tick(self, now: float) -> list[tuple[str, Verdict]]:
        """Alarms to change now: counts whose update interval has passed (`raise`), and
        services whose container has now run steadily (`clear`: baseline moved)."""
        verdicts = []
        for name, track in self._tracks.items():
            if track.running_since is None or now - track.running_since < self.clear_after:
                verdict = self._raise(track, now)
                if verdict is not None:
                    verdicts.append((name, verdict))
                continue
            track.baseline = track.restarts
            if track.alarmed:
                verdicts.append((name, Verdict("clear", track.alarmed)))
                track.alarmed = 0
        return verdicts

    def looping(self, name: str) -> bool:
        """Whether the service's container is in a crash loop (alarmed): its health stays `down`."""
        track = self._tracks.get(name)
        return bool(track and track.alarmed)

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
