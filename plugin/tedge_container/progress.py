"""Progress of a long pull or archive load, for the operation log an operator reads in the cloud.

tedge-agent copies the plugin's stderr into the operation's log; without
this, a 2 GB pull is silent until it ends. The worker thread that talks to
the engine updates the counters; the thread waiting for it calls `tick()`,
which prints one line at most every `interval` seconds, and nothing at all
for an operation shorter than that.
"""

from __future__ import annotations

import time

from . import log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable


def size_text(count: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


class Progress:
    """Counters of one operation (`layers`, `done` of `total` bytes) and their periodic line."""

    def __init__(
        self,
        what: str,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        emit: Callable[[str], None] = log.info,
    ) -> None:
        self.what = what
        self.interval = interval
        self.clock = clock
        self.emit = emit
        self.started = self._last = clock()
        self.layers = 0  # image layers the engine has started to copy
        self.done = 0  # bytes handed to the engine
        self.total = 0  # bytes in all, 0 when unknown

    def tick(self) -> None:
        if self.interval <= 0:
            return
        now = self.clock()
        if now - self._last < self.interval:
            return
        self._last = now
        self.emit(self.line(now - self.started))

    def line(self, elapsed: float) -> str:
        parts = []
        if self.done:
            parts.append(
                f"{size_text(self.done)} of {size_text(self.total)}" if self.total else size_text(self.done)
            )
        if self.layers:
            parts.append(f"{self.layers} layer{'s' if self.layers != 1 else ''} so far")
        parts.append(f"{elapsed:.0f} s elapsed")
        return f"{self.what}: {', '.join(parts)}"
