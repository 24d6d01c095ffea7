"""The five actions on the containers of one service, and the check that `start`/`restart` worked.

Every action is idempotent: a start of a running container, a stop of a
stopped one, a pause of a paused one succeed without touching it. `start`
and `restart` then hold the container to the install's readiness rule
(software/readiness.py: `container.min_ready` seconds running without a
restart, or its HEALTHCHECK passing within `container.health_timeout`):
one that exits at once fails, naming its exit code and last output.
"""

from __future__ import annotations

import time

from .. import log
from ..errors import PluginError
from ..software import readiness

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ..config import Config
    from ..engine import Engine

RUNNING = "running"
PAUSED = "paused"
ACTIVE = frozenset({RUNNING, PAUSED, "restarting", "stopping"})


class Unsupported(PluginError):
    """The action cannot be done here at all (exit 2, the contract's "not supported")."""


class ActionFailed(PluginError):
    """The action ran and failed (exit 1)."""


def _status(data: Mapping[str, Any]) -> str:
    state = data.get("State") or {}
    if state.get("Paused"):
        return PAUSED
    return str(state.get("Status") or "")


def _restarts(data: Mapping[str, Any]) -> int:
    try:
        return int(data.get("RestartCount") or 0)
    except (TypeError, ValueError):
        return 0


def stop_timeout(config: Config, data: Mapping[str, Any]) -> float:
    """The container's own stop timeout (`--stop-timeout`, podman's default 10), else the plugin's."""
    value = (data.get("Config") or {}).get("StopTimeout")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return float(config.get("container.stop_timeout"))
    return seconds if seconds >= 0 else float(config.get("container.stop_timeout"))


class Actions:
    """The actions on one container (its full id), named `shown` in messages."""

    def __init__(self, config: Config, engine: Engine, container: str, shown: str) -> None:
        self.config = config
        self.engine = engine
        self.container = container
        self.shown = shown
        self.api_timeout = float(config.get("container.api_timeout"))

    def inspect(self) -> Mapping[str, Any]:
        data = self.engine.inspect_container(self.container, timeout=min(self.api_timeout, 10.0))
        if not data:
            raise ActionFailed(f"container {self.shown} is gone (removed meanwhile)")
        return data

    def run(self, action: str) -> str:
        """Do `action`; returns what was done, for the log."""
        return getattr(self, f"_{action}")(self.inspect())

    def _start(self, data: Mapping[str, Any]) -> str:
        status = _status(data)
        baseline, since = _restarts(data), time.time() - 1
        if status == PAUSED:
            self.engine.unpause_existing(self.container)
            done = "unpaused"
        elif status == RUNNING:
            done = "already running"
        else:
            self.engine.start_existing(self.container)
            done = "started"
        return f"{done}; {self.prove(baseline, since)}"

    def _restart(self, data: Mapping[str, Any]) -> str:
        baseline, since = _restarts(data), time.time() - 1
        if _status(data) == PAUSED:  # podman restarts no paused container
            self.engine.unpause_existing(self.container)
        self.engine.restart_existing(self.container, stop_timeout(self.config, data))
        return f"restarted; {self.prove(baseline, since)}"

    def _stop(self, data: Mapping[str, Any]) -> str:
        if _status(data) not in ACTIVE:
            return "already stopped"
        self.engine.stop_existing(self.container, stop_timeout(self.config, data))
        return "stopped"

    def _pause(self, data: Mapping[str, Any]) -> str:
        status = _status(data)
        if status == PAUSED:
            return "already paused"
        if status != RUNNING:
            raise ActionFailed(
                f"container {self.shown} is not running ({status or 'unknown state'}): start it first"
            )
        self.engine.pause_existing(self.container)
        return "paused"

    def _unpause(self, data: Mapping[str, Any]) -> str:
        status = _status(data)
        if status == RUNNING:
            return "already running"
        if status != PAUSED:
            raise ActionFailed(
                f"container {self.shown} is not paused ({status or 'unknown state'}): use start"
            )
        self.engine.unpause_existing(self.container)
        return "unpaused"

    def prove(self, baseline: int, since: float) -> str:
        """The install's readiness rule, counting only restarts after the action."""
        engine, container = self.engine, self.container

        def inspect() -> Mapping[str, Any] | None:
            data = engine.inspect_container(container, timeout=min(self.api_timeout, 10.0))
            return {**data, "RestartCount": max(0, _restarts(data) - baseline)} if data else None

        def run_healthcheck() -> str:
            return engine.run_healthcheck(container, timeout=min(self.api_timeout, 65.0))

        def last_exit() -> int | None:
            return engine.last_exit_code(container, since)

        min_ready = float(self.config.get("container.min_ready"))
        verdict = readiness.prove(
            inspect,
            run_healthcheck,
            min_ready,
            float(self.config.get("container.health_timeout")),
            last_exit=last_exit,
        )
        # With the gate off (min_ready = 0) it must at least run now.
        problem = (
            (verdict.detail if not verdict.ready else "")
            if verdict.checked
            else readiness.failure_of(inspect(), last_exit)
        )
        if problem and self.completed():
            return "ran to completion (exit code 0; its restart policy does not restart it)"
        if problem:
            raise ActionFailed(f"container {self.shown}: {problem}{self.last_output()}")
        log.debug(f"service command: {self.shown}: {verdict.detail}")
        return verdict.detail

    def completed(self) -> bool:
        """A one-shot container (restart policy no / on-failure) that ran and exited 0: done, not failed."""
        data = self.engine.inspect_container(self.container, timeout=min(self.api_timeout, 10.0)) or {}
        policy = str(((data.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or "")
        state = data.get("State") or {}
        exited = state.get("Status") in ("exited", "stopped") and state.get("ExitCode") == 0
        return exited and policy in ("", "no", "on-failure")

    def last_output(self) -> str:
        from ..software.container.install import last_output

        return last_output(self.engine, self.container)
