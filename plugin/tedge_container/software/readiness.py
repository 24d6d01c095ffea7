"""The readiness gate: a new container proves itself before the old one goes.

When its image defines a HEALTHCHECK, the container must report `healthy`
within `container.health_timeout`; otherwise it must keep running, never
restarted, for `container.min_ready` seconds (0 turns the gate off). The
gate runs the healthcheck itself through the engine: podman schedules
healthchecks with systemd timers, which devices without systemd (and
containers in containers) never fire.

Pure logic over three callables (inspect, run the healthcheck, a clock), so
the rules are unit-tested without an engine; container/install.py wires in
the real one. A group's services with a HEALTHCHECK pass the same health
check (`until_healthy`, from group/checks.py).
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable

POLL_SECONDS = 0.2
MAX_HEALTH_INTERVAL = 1.0  # run the healthcheck at least this often while waiting


class Verdict:
    """What the gate saw: `ready`, and a phrase for the log or the failure line."""

    __slots__ = ("checked", "detail", "ready")

    def __init__(self, ready: bool, detail: str, checked: bool = True) -> None:
        self.ready = ready
        self.detail = detail
        self.checked = checked  # False when the gate is off: nothing was observed

    @property
    def health(self) -> str | None:
        """The MQTT health this observation proves, None when nothing was observed."""
        if not self.checked:
            return None
        return "up" if self.ready else "down"


def has_healthcheck(data: Mapping[str, Any]) -> bool:
    test = ((data.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
    return bool(test) and test[0] != "NONE"


def _restarts(data: Mapping[str, Any]) -> int:
    try:
        return int(data.get("RestartCount") or 0)
    except (TypeError, ValueError):
        return 0


def failure_of(data: Mapping[str, Any] | None, last_exit: Callable[[], int | None] | None = None) -> str:
    """Why the container is not running steadily, '' when it is.

    `last_exit` asks the engine for the code of the last exit: once the engine
    has restarted a container, its inspect data says exit code 0.
    """
    if not data:
        return "it disappeared"
    state = data.get("State") or {}
    restarts = _restarts(data)
    restarted = f" and was restarted {restarts} time{'s' if restarts != 1 else ''}" if restarts else ""
    status = state.get("Status") or ("running" if state.get("Running") else "")
    if state.get("OOMKilled"):
        return f"it was killed for lack of memory{restarted}"
    if status != "running" or state.get("Restarting"):
        return f"it exited with code {state.get('ExitCode', '?')}{restarted}"
    if restarts:  # running again after the engine restarted it
        code = last_exit() if last_exit is not None else None
        return f"it exited{f' with code {code}' if code is not None else ''}{restarted}"
    return ""


def health_status(data: Mapping[str, Any]) -> str:
    """`starting`, `healthy` or `unhealthy` (podman 4.3 and 5 name the field differently)."""
    state = data.get("State") or {}
    health = state.get("Health") or state.get("Healthcheck") or {}
    return str(health.get("Status") or "starting")


def prove(
    inspect: Callable[[], Mapping[str, Any] | None],
    run_healthcheck: Callable[[], str],
    min_ready: float,
    health_timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    last_exit: Callable[[], int | None] | None = None,
) -> Verdict:
    """Watch a freshly started container until it proves itself or fails; never longer than the bounds."""
    if min_ready <= 0:
        return Verdict(True, "started (readiness not checked: container.min_ready = 0)", checked=False)
    started = clock()
    data = inspect()
    if data and has_healthcheck(data):
        return until_healthy(inspect, run_healthcheck, health_timeout, started, clock, sleep, last_exit)
    deadline = started + min_ready
    while True:
        problem = failure_of(data, last_exit)
        if problem:
            return Verdict(False, f"{problem} ({clock() - started:.1f} s after it started)")
        remaining = deadline - clock()
        if remaining <= 0:
            return Verdict(True, f"running, not restarted, for {min_ready:g} s")
        sleep(min(POLL_SECONDS, remaining))
        data = inspect()


def until_healthy(
    inspect: Callable[[], Mapping[str, Any] | None],
    run_healthcheck: Callable[[], str],
    health_timeout: float,
    started: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    last_exit: Callable[[], int | None] | None = None,
) -> Verdict:
    """Run the healthcheck until `healthy`, at the latest `health_timeout` after `started`."""
    deadline = started + health_timeout
    while True:
        data = inspect()
        problem = failure_of(data, last_exit)
        if problem:
            return Verdict(False, f"{problem} ({clock() - started:.1f} s after it started)")
        # The engine's own record when the check could not be run on demand.
        status = run_healthcheck() or health_status(data or {})
        if status == "healthy":
            return Verdict(True, f"healthy after {clock() - started:.1f} s")
        remaining = deadline - clock()
        if remaining <= 0:
            return Verdict(
                False,
                f"its HEALTHCHECK did not pass within {health_timeout:g} s (last status: {status}; "
                "container.health_timeout sets the wait)",
            )
        sleep(min(MAX_HEALTH_INTERVAL, remaining))
