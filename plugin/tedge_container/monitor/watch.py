"""The engine watcher: a thread that follows podman's event stream and tells the monitor.

It puts on the monitor's queue:
- ("engine-up", Engine) each time the stream is (re)opened: the monitor then
  resynchronises everything (events missed while away are not replayed);
- ("event", dict) for each container event;
- ("engine-down", message) when podman does not answer (the message names the
  socket and how to enable it), then retries with bounded backoff.

A silent stream is probed with a ping every `probe_interval` seconds, so a
hung engine is noticed even when no event comes; as often, busy or not, the
engine is chosen again (the settings are read at the start: only the record
`<data_dir>/engine` that the sm-plugins rewrite can change it), and when it is
another, the stream is left for that engine's: its "engine-up" resynchronises
everything.
"""

from __future__ import annotations

import socket
import threading
import time

from .. import log
from ..engine import Engine, enable_hint
from ..engine.discovery import choose
from ..engine.events import EventStream
from ..errors import EngineError, EngineUnavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    import queue
    from typing import Any

    from ..config import Config

BACKOFF_MIN = 0.5
BACKOFF_MAX = 30.0


class EngineWatcher:
    def __init__(self, config: Config, out: queue.Queue[Any], stop: threading.Event) -> None:
        self.config = config
        self.out = out
        self.stop = stop
        # Not below the stream's own wake-up (a second): it could not be kept anyway.
        self.probe_interval = max(1.0, float(config.get("container.engine_probe_interval")))
        self.thread = threading.Thread(target=self._run, name="engine-events", daemon=True)
        self._stream: EventStream | None = None

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        stream = self._stream
        if stream is not None:
            stream.close()

    def _run(self) -> None:
        delay = BACKOFF_MIN
        while not self.stop.is_set():
            try:
                opened_at = time.monotonic()
                if self._follow():
                    delay = BACKOFF_MIN
                    continue  # the sm-plugins moved to another engine: no fault, followed at once
                if time.monotonic() - opened_at > BACKOFF_MAX:
                    delay = BACKOFF_MIN  # it ran a good while: a restart of the engine, not a loop
            except EngineUnavailable as error:
                self.out.put(("engine-down", str(error)))
            except (EngineError, OSError) as error:
                self.out.put(("engine-down", f"podman's event stream failed: {error}"))
            except Exception as error:  # the watcher must survive anything the engine sends
                log.warning(f"monitor: event stream: unexpected {type(error).__name__}: {error}")
            self.stop.wait(delay)
            delay = min(BACKOFF_MAX, delay * 2)

    def _follow(self) -> bool:
        """Follow one engine's stream until it ends; True when another engine is chosen now."""
        engine = Engine(self.config)
        engine.ping()  # bounded by container.connect_timeout; raises EngineUnavailable
        stream = EventStream(engine.socket_path, float(self.config.get("container.connect_timeout")))
        try:
            stream.open()
        except (OSError, socket.timeout) as error:
            where = engine.socket_path
            raise EngineUnavailable(
                f"podman at {where} refused the event stream ({error}); {enable_hint(where)}."
            ) from None
        self._stream = stream
        moved = False
        try:
            self.out.put(("engine-up", engine))
            heard = looked = time.monotonic()

            def chosen_still() -> bool:
                """Whether the sm-plugins' engine is still this one: looked up every probe_interval,
                busy or silent (a container's events every few seconds must not hold the monitor here)."""
                nonlocal looked, moved
                if time.monotonic() - looked < self.probe_interval:
                    return True
                looked = time.monotonic()
                path = choose(self.config).path  # the record the sm-plugins rewrite
                if path != engine.socket_path:
                    log.info(f"monitor: the engine is now {path or '-'}; reconnecting")
                    moved = True
                return not moved

            def on_idle() -> bool:
                nonlocal heard
                if self.stop.is_set() or not chosen_still():
                    return False
                if time.monotonic() - heard >= self.probe_interval:
                    heard = time.monotonic()
                    engine.ping(again=True)  # EngineUnavailable when it hangs or went
                return True

            for event in stream.events(on_idle):
                heard = time.monotonic()
                self.out.put(("event", event))
                if not chosen_still():
                    break
        finally:
            self._stream = None
            stream.close()
        if not self.stop.is_set() and not moved:
            log.info("monitor: podman closed the event stream; reconnecting")
        return moved
