"""What podman-compose (1.x) derives from a compose file the way it derives it: its `x-podman`
settings and the names of the containers it creates.

The plugin checks names before `up` (another module's container must never be taken over:
ownership.py) and writes the hosts override for the networks compose creates (hosts.py), so
both must see the names compose will use, not a simplified guess:

- `x-podman.docker_compose_compat` turns on `name_separator_compat`,
  `default_net_behavior_compat` and turns off `in_pod`, where those are not set;
- a service's containers are PROJECT_SERVICE_1, _2, ... (`-` with `name_separator_compat`),
  one per replica: `scale:`, else `deploy.replicas` with `deploy.mode: replicated`; the first
  takes `container_name:` when one is given;
- `PODMAN_COMPOSE_*` variables in podman-compose's environment are not read: the plugin runs
  it with tedge-agent's environment, which sets none.

Replicas are bounded (MAX_REPLICAS): each is a container, and each name is checked.
"""

from __future__ import annotations

from .errors import ProjectError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

MAX_REPLICAS = 100
_COMPAT_DEFAULTS = {"name_separator_compat": True, "default_net_behavior_compat": True, "in_pod": False}


def truthy(value: Any) -> bool:
    """podman-compose's reading of a boolean setting (true, "true", "1", 1)."""
    return value is True or str(value).lower() in ("true", "1")


def settings(document: Mapping[str, Any]) -> dict[str, Any]:
    """The file's `x-podman` settings with what `docker_compose_compat` implies."""
    extension = document.get("x-podman")
    found = dict(extension) if isinstance(extension, dict) else {}
    if truthy(found.get("docker_compose_compat")):
        for key, value in _COMPAT_DEFAULTS.items():
            found.setdefault(key, value)
    return found


def name_separator(effective: Mapping[str, Any]) -> str:
    return "-" if truthy(effective.get("name_separator_compat")) else "_"


def replicas(service: str, body: Mapping[str, Any], where: str) -> int:
    """How many containers compose makes for the service (0 for a negative count, as compose)."""
    if "scale" in body:
        count = _int(body.get("scale"))
    else:
        deploy = body.get("deploy")
        deploy = deploy if isinstance(deploy, dict) else {}
        replicated = "replicas" in deploy and deploy.get("mode", "") == "replicated"
        count = _int(deploy.get("replicas")) if replicated else 1
    if count > MAX_REPLICAS:
        raise ProjectError(
            f"{where}: service {service!r} asks for {count} containers (scale or deploy.replicas); "
            f"a group's service may have at most {MAX_REPLICAS}."
        )
    return max(count, 0)


def container_names(
    project: str, service: str, body: Mapping[str, Any], effective: Mapping[str, Any], where: str
) -> tuple[str, ...]:
    """The names of the service's containers, in compose's order."""
    separator = name_separator(effective)
    names = [
        separator.join((project, service, str(number)))
        for number in range(1, replicas(service, body, where) + 1)
    ]
    given = body.get("container_name")
    if names and given:
        names[0] = str(given)
    return tuple(names)


def _int(value: Any) -> int:
    """podman-compose's try_int(value, fallback=1)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1
