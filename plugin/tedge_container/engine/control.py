"""Starting, stopping, restarting, pausing and unpausing existing containers (the service commands).

Every call is bounded: a stop by the container's own stop timeout (its
`StopTimeout`, else `container.stop_timeout`) plus `container.api_timeout`
for the engine's answer, the rest by `container.api_timeout`.
"""

from __future__ import annotations

from .connection import quoted
from .info import InfoCalls
from .sockets import API_PREFIX

# podman answers 304 when the container already is in the state asked for: done, too.
_NOT_MODIFIED = 304


class ControlCalls(InfoCalls):
    """The five actions on one existing container, by its full id or exact name."""

    def _control(self, what: str, target: str, timeout: float | None = None) -> None:
        self._raw_change(what, "POST", f"{API_PREFIX}/containers/{target}", timeout=timeout)

    def start_existing(self, name: str) -> None:
        self._control(f"start container {name}", f"{quoted(name)}/start")

    def stop_existing(self, name: str, stop_timeout: float) -> None:
        """Stop: SIGTERM (or the image's stop signal), SIGKILL after `stop_timeout` seconds."""
        seconds = max(0, int(stop_timeout))
        timeout = seconds + float(self.config.get("container.api_timeout"))
        self._control(f"stop container {name}", f"{quoted(name)}/stop?timeout={seconds}", timeout)

    def restart_existing(self, name: str, stop_timeout: float) -> None:
        seconds = max(0, int(stop_timeout))
        timeout = seconds + float(self.config.get("container.api_timeout"))
        self._control(f"restart container {name}", f"{quoted(name)}/restart?t={seconds}", timeout)

    def pause_existing(self, name: str) -> None:
        self._control(f"pause container {name}", f"{quoted(name)}/pause")

    def unpause_existing(self, name: str) -> None:
        self._control(f"unpause container {name}", f"{quoted(name)}/unpause")
