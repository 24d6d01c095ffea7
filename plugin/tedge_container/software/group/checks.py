"""After compose ran: does every service's container really run? (podman-compose's exit code is not trusted.)

A service passes when its container is running and has kept running for
`settle_seconds` without a restart (`container_group.settle_time` when set,
else `container.min_ready`: a group proves itself as a container does), or
when it exited with code 0 and its restart policy lets it stay exited (`no`,
compose's default, or `on-failure`: a one-shot job). A running service whose
image or compose entry defines a HEALTHCHECK must instead report `healthy`
within `container.health_timeout` (the container type's readiness gate, run
on demand; 0: not waited for, the settling applies). Everything else fails
the install, naming the service and what its container did.

What this check saw last of each service is its health for the MQTT report
(`Checked.health`): nothing looks at the containers again after it.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from ... import log
from ...errors import PluginError
from ...labels import COMPOSE_PROJECT_LABEL
from ...status.health import health_of
from ..readiness import has_healthcheck, until_healthy
from .naming import COMPOSE_SERVICE_LABEL

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ...config import Config
    from ...engine import Engine
    from .project import Project, ServiceSpec

_POLL_SECONDS = 0.1
# How long a container may stay in a passing state (starting, stopping, restarting).
_TRANSITION_SECONDS = 30.0
_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?")


class ServiceFailed(PluginError):
    """A service's container does not run after compose (exit 2)."""


class Checked:
    """What the check saw: each service's container entry, and its inspect data when last looked at."""

    __slots__ = ("containers", "inspected")

    def __init__(
        self, containers: dict[str, dict[str, Any]], inspected: dict[str, Mapping[str, Any]]
    ) -> None:
        self.containers = containers
        self.inspected = inspected

    @property
    def health(self) -> dict[str, str]:
        """`up`/`down` of each service as last seen: what the MQTT report publishes."""
        return {service: health_of(data) for service, data in self.inspected.items()}


def settle_seconds(config: Config) -> float:
    """How long each service must run unrestarted: `container_group.settle_time` when set, else
    `container.min_ready` (the container type's readiness gate, 3 s)."""
    key = (
        "container_group.settle_time"
        if config.is_set("container_group.settle_time")
        else "container.min_ready"
    )
    return max(0.0, float(config.get(key)))


def parse_time(text: str) -> float:
    """An engine timestamp (RFC 3339, nanoseconds) as Unix seconds; 0 when unreadable."""
    match = _TIMESTAMP.match(text or "")
    if not match:
        return 0.0
    # The fields by hand: strptime imports _strptime (locale, calendar; ~2 ms) for a fixed format.
    stamp = datetime(*map(int, re.split("[-T:]", match.group(1))))  # type: ignore[misc]
    zone = match.group(3) or "Z"
    offset = 0 if zone == "Z" else (int(zone[1:3]) * 60 + int(zone[4:6])) * (1 if zone[0] == "+" else -1)
    seconds = stamp.replace(tzinfo=timezone.utc).timestamp() - offset * 60
    return seconds + float(match.group(2) or 0)


def project_containers(engine: Engine, project: str) -> dict[str, list[dict[str, Any]]]:
    """The project's containers by service, newest first."""
    by_service: dict[str, list[dict[str, Any]]] = {}
    for entry in engine.container_entries(f"{COMPOSE_PROJECT_LABEL}={project}"):
        service = (entry.get("Labels") or {}).get(COMPOSE_SERVICE_LABEL, "")
        by_service.setdefault(service, []).append(entry)
    for entries in by_service.values():
        entries.sort(key=lambda entry: entry.get("Created") or 0, reverse=True)
    return by_service


def _judge(
    spec: ServiceSpec,
    inspect: Mapping[str, Any],
    since: float,
    settle: float,
    now: float,
    healthcheck_gate: bool = False,
) -> tuple[str, str, float]:
    """("ok" | "wait" | "failed", why, seconds worth waiting) for one service's container.

    `healthcheck_gate`: a running container with a HEALTHCHECK passes here; its check decides
    (prove_healthy), as the container type's gate does.
    """
    state = inspect.get("State") or {}
    status = state.get("Status", "")
    restarts = int(inspect.get("RestartCount") or 0)
    fresh = parse_time(inspect.get("Created", "")) >= since - 1
    if status == "running":
        if fresh and restarts:
            return "failed", f"service {spec.name} keeps restarting ({restarts} restarts since created)", 0
        if healthcheck_gate and has_healthcheck(inspect):
            return "ok", "", 0
        remaining = parse_time(state.get("StartedAt", "")) + settle - now
        if remaining > 0:
            return "wait", "", remaining
        return "ok", "", 0
    if status in ("exited", "stopped"):
        code = state.get("ExitCode")
        if code == 0 and spec.may_exit:
            return "ok", "", 0
        error = f": {state['Error']}" if state.get("Error") else ""
        return "failed", f"service {spec.name} exited with code {code}{error}", 0
    if status in ("created", "configured", "initialized"):
        error = f": {state['Error']}" if state.get("Error") else ""
        return "failed", f"service {spec.name} was created but not started{error}", 0
    return "wait", f"service {spec.name} is still {status or 'in an unknown state'}", _POLL_SECONDS


def verify(
    engine: Engine, project: Project, since: float, settle: float, healthcheck_gate: bool = False
) -> Checked:
    """Wait (bounded) until every service passes; returns what was seen of each.

    `since` is when compose started (Unix seconds): a container created after
    it that has restarted at all is crash-looping. `healthcheck_gate`: see _judge.
    """
    api_timeout = float(engine.config.get("container.api_timeout"))
    deadline = time.monotonic() + settle + _TRANSITION_SECONDS
    while True:
        containers = project_containers(engine, project.name)
        chosen: dict[str, dict[str, Any]] = {}
        inspected: dict[str, Mapping[str, Any]] = {}
        waiting = []
        pause = 0.0
        for spec in project.services:
            entries = containers.get(spec.name)
            if not entries:
                raise ServiceFailed(f"service {spec.name} has no container: compose did not create it")
            entry = chosen[spec.name] = entries[0]
            inspect = engine.inspect_container(entry.get("Id", ""), timeout=api_timeout)
            if inspect is None:
                raise ServiceFailed(f"service {spec.name}'s container vanished")
            inspected[spec.name] = inspect
            verdict, why, remaining = _judge(spec, inspect, since, settle, time.time(), healthcheck_gate)
            if verdict == "failed":
                raise ServiceFailed(why)
            if verdict == "wait":
                waiting.append(why or f"service {spec.name} is starting")
                pause = max(pause, remaining)
        if not waiting:
            return Checked(chosen, inspected)
        if time.monotonic() >= deadline:
            raise ServiceFailed(waiting[0] + f" after {settle + _TRANSITION_SECONDS:g} s")
        # Until the youngest container has settled, not longer; transitions are polled.
        time.sleep(min(max(pause, 0.02), _POLL_SECONDS * 3) + 0.005)


def prove_healthy(engine: Engine, project: Project, checked: Checked, health_timeout: float) -> None:
    """Every running service with a HEALTHCHECK turns `healthy`, all within `health_timeout` seconds.

    Starts from what `verify` saw (no new look for services without a check); what the
    health check saw last replaces it in `checked`.
    """
    if health_timeout <= 0:
        return
    api_timeout = min(float(engine.config.get("container.api_timeout")), 10.0)
    started, since = time.monotonic(), time.time() - 1
    for spec in project.services:
        container_id = str(checked.containers[spec.name].get("Id") or "")
        data = checked.inspected.get(spec.name)
        if not data or not has_healthcheck(data) or (data.get("State") or {}).get("Status") != "running":
            continue  # no check to pass, or a one-shot job that has done its work
        seen: list[Mapping[str, Any]] = []

        def inspect(container_id: str = container_id, seen: list = seen) -> Any:
            answer = engine.inspect_container(container_id, timeout=api_timeout)
            seen[:] = [answer] if answer else []
            return answer

        def run_healthcheck(container_id: str = container_id) -> str:
            return engine.run_healthcheck(container_id, timeout=api_timeout + health_timeout)

        def last_exit(container_id: str = container_id) -> int | None:
            return engine.last_exit_code(container_id, since)

        verdict = until_healthy(inspect, run_healthcheck, health_timeout, started, last_exit=last_exit)
        if not verdict.ready:
            raise ServiceFailed(f"service {spec.name}: {verdict.detail}")
        if seen:
            checked.inspected[spec.name] = seen[0]
        log.debug(f"service {spec.name}: {verdict.detail}")
