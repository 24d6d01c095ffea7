"""Pure logic: podman events and inspect data → what thin-edge should know about each service.

Nothing here talks to podman or MQTT, so it is unit-tested with recorded
events and inspect data (tests/unit/test_monitor_state.py).

A container is a service when `container list` reports it (ContainerFilter),
named as the container; a compose container (labels
com.docker.compose.project / .service) is the service `PROJECT@SERVICE` of
type `container-group` (software/group/naming.py).
"""

from __future__ import annotations

from ..engine.model import Container
from ..labels import COMPOSE_PROJECT_LABEL, MODULE_VERSION_LABEL, TRANSIENT_SUFFIXES
from ..software.group.naming import COMPOSE_SERVICE_LABEL, container_service_name
from ..status.topics import fits_a_topic

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any, Callable, NamedTuple

    from ..software.container.list import ContainerFilter
else:
    from typing import NamedTuple

# podman's states on the way to another one within one operation (create → initialized → running;
# died → stopped → exited after the cleanup): worth a short wait for what follows (budget.HOLD).
PASSING_STATES = frozenset({"created", "configured", "initialized", "stopped", "stopping", "removing"})

CONTAINER_TYPE = "container"
GROUP_TYPE = "container-group"
SERVICE_TYPES = (CONTAINER_TYPE, GROUP_TYPE)

# Actions that change nothing thin-edge shows (and come in floods: exec, attach...).
IGNORED_ACTIONS = frozenset(
    {
        "attach",
        "checkpoint",
        "cleanup",
        "commit",
        "copy",
        "exec",
        "exec_died",
        "export",
        "import",
        "mount",
        "unmount",
        "sync",
        "prune",
    }
)


class Observed(NamedTuple):
    """One service as seen in one container's inspect data."""

    container_id: str
    name: str  # the service name
    type: str  # container or container-group
    twin: dict[str, Any]
    health: str  # up or down
    running: bool
    restarts: int
    commandable: bool = False  # a service plugin acts on it: its service commands are declared


class Change(NamedTuple):
    """What to tell thin-edge: `register` (registration and health), `health`, or `deregister`."""

    kind: str
    name: str
    observed: Observed | None = None


def is_passing(observed: Observed) -> bool:
    return observed.twin.get("container", {}).get("state") in PASSING_STATES


def event_action(event: Mapping[str, Any]) -> tuple[str, str] | None:
    """A container event → ("refresh" | "remove", container id); None when it changes nothing."""
    if (event.get("Type") or event.get("type") or "container") != "container":
        return None
    action = str(event.get("Action") or event.get("status") or "")
    actor = event.get("Actor") or {}
    container_id = str(actor.get("ID") or event.get("id") or "")
    if not container_id or action in IGNORED_ACTIONS:
        return None
    return ("remove" if action == "remove" else "refresh"), container_id


def _ports(settings: Mapping[str, Any]) -> str:
    """`0.0.0.0:8080->80/tcp, 443/tcp`, as `docker ps` shows them."""
    shown = []
    for container_port, bindings in sorted((settings.get("Ports") or {}).items()):
        if not bindings:
            shown.append(container_port)
            continue
        for binding in bindings:
            host = binding.get("HostIp") or "0.0.0.0"
            shown.append(f"{host}:{binding.get('HostPort', '')}->{container_port}")
    return ", ".join(shown)


def _status_text(state: Mapping[str, Any], health: str) -> str:
    """A short status that changes only with events (no `Up 5 minutes`: it would change every minute)."""
    status = str(state.get("Status") or "")
    if status == "running":
        return f"Up ({health})" if health else "Up"
    if status in ("exited", "stopped"):
        return f"Exited ({int(state.get('ExitCode') or 0)})"
    return status.capitalize()


def _container_health(state: Mapping[str, Any]) -> str:
    check = state.get("Health") or state.get("Healthcheck") or {}
    return str(check.get("Status") or "") if isinstance(check, dict) else ""


class Commands(NamedTuple):
    """What service commands mean to `observe`: where this plugin's groups live, and the records."""

    group_root: str = ""  # <data_dir>/compose: a compose container there is a group of ours
    records: str = ""  # <data_dir>/service-commands (service/record.py)


def observe(
    data: Mapping[str, Any],
    accepts: ContainerFilter,
    use_module_name: bool = False,
    commands: Commands | None = None,
) -> Observed | None:
    """The service one container stands for, or None when it is none (filtered, transient, ...).

    `use_module_name`: name group services after the module (container_group.use_module_name).
    `commands`: where to tell which services take service commands (None: none do).
    """
    container = Container.from_inspect(data)
    labels = container.labels
    project, service = labels.get(COMPOSE_PROJECT_LABEL, ""), labels.get(COMPOSE_SERVICE_LABEL, "")
    group_service = container_service_name(labels, use_module_name)
    if group_service:
        if container.name.endswith(TRANSIENT_SUFFIXES) or is_excluded(container, accepts):
            return None
        name, service_type = group_service, GROUP_TYPE
    elif accepts.accepts(container):
        name, service_type = container.name, CONTAINER_TYPE
    else:
        return None
    state = data.get("State") or {}
    config = data.get("Config") or {}
    host = data.get("HostConfig") or {}
    settings = data.get("NetworkSettings") or {}
    checked = _container_health(state)
    running = state.get("Status") == "running" and not state.get("Restarting")
    health = "up" if running and checked != "unhealthy" else "down"
    command = config.get("Cmd") or []
    fields = {
        "containerId": container.id,
        "containerName": container.name,
        "state": str(state.get("Status") or ""),
        "containerStatus": _status_text(state, checked),
        "image": container.image,
        "ports": _ports(settings),
        "createdAt": str(data.get("Created") or ""),
        "command": " ".join(command) if isinstance(command, list) else str(command),
        "networkMode": str(host.get("NetworkMode") or ""),
        "networks": ", ".join(sorted(settings.get("Networks") or {})),
    }
    if labels.get(MODULE_VERSION_LABEL):
        fields["moduleVersion"] = labels[MODULE_VERSION_LABEL]
    if service_type == GROUP_TYPE:
        # `project`/`service` as the container-group installer reports them; the Go names too.
        fields.update(project=project, service=service, projectName=project, serviceName=service)
    commandable = False
    if commands is not None:
        from ..service.capabilities import commandable as takes_commands

        commandable = takes_commands(service_type, labels, commands.group_root)
        if commandable and not running and commands.records:
            from ..service.record import twin_fields
            from ..software.group.checks import parse_time

            started = parse_time(str(state.get("StartedAt") or ""))
            fields.update(twin_fields(commands.records, name, fields["state"], started))
    return Observed(
        container.id,
        name,
        service_type,
        {"container": fields},
        health,
        running,
        int(data.get("RestartCount") or 0),
        commandable,
    )


def is_excluded(container: Container, accepts: ContainerFilter) -> bool:
    """filter.exclude.* applies to compose containers too (`tedge.ignore` hides one)."""
    if any(pattern.search(container.name) for pattern in accepts.exclude_names):
        return True
    for selector in accepts.exclude_labels:
        key, eq, value = selector.partition("=")
        if key in container.labels and (not eq or container.labels[key] == value):
            return True
    return False


class Picture:
    """The services thin-edge has been told about, and the container behind each.

    `unfit(container name, service name, type)` is called for a container whose service name
    cannot be an MQTT topic level (a compose label with '/', '+' or '#'): it is no service.
    """

    def __init__(
        self,
        use_module_name: bool = False,
        unfit: Callable[[str, str, str], None] | None = None,
        commands: Callable[[], Commands] | None = None,
    ) -> None:
        self.services: dict[str, Observed] = {}
        self.use_module_name = use_module_name  # how group services are named (observe)
        self.unfit = unfit
        self.commands = commands  # None: service commands are off

    def observe(self, data: Mapping[str, Any], accepts: ContainerFilter) -> Observed | None:
        """observe(), and None for a service whose name cannot be a topic level (told to `unfit`)."""
        commands = self.commands() if self.commands is not None else None
        observed = observe(data, accepts, self.use_module_name, commands)
        if observed is None or fits_a_topic(observed.name):
            return observed
        if self.unfit is not None:
            name = str(data.get("Name") or "").lstrip("/") or observed.container_id[:12]
            self.unfit(name, observed.name, observed.type)
        return None

    def name_of(self, container_id: str, besides: str = "") -> str:
        """The service of a container (events and inspect data carry the full id); '' when none."""
        for name, seen in self.services.items():
            if seen.container_id == container_id and name != besides:
                return name
        return ""

    def update(self, container_id: str, observed: Observed | None) -> list[Change]:
        """One container was looked at again (None: it is gone, or no longer a service)."""
        if observed is None:
            name = self.name_of(container_id)
            if not name:
                return []
            del self.services[name]
            return [Change("deregister", name)]
        previous = self.services.get(observed.name)
        self.services[observed.name] = observed
        changes = []
        old_name = self.name_of(container_id, besides=observed.name)
        if old_name:  # renamed: the old service goes
            del self.services[old_name]
            changes.append(Change("deregister", old_name))
        if previous is None or previous.twin != observed.twin or previous.type != observed.type:
            changes.append(Change("register", observed.name, observed))
        elif previous.health != observed.health:
            changes.append(Change("health", observed.name, observed))
        return changes

    def refresh(
        self, container_id: str, data: Mapping[str, Any] | None, accepts: ContainerFilter
    ) -> list[Change]:
        """A container's fresh inspect data (None: it no longer exists) → changes.

        A container in the middle of the plugin's safe swap (NAME.tedge-new,
        NAME.tedge-old) changes nothing: the service stays registered while
        the new container takes over its name.
        """
        if data is None:
            return self.remove(container_id)
        if Container.from_inspect(data).name.endswith(TRANSIENT_SUFFIXES):
            return []
        return self.update(container_id, self.observe(data, accepts))

    def remove(self, container_id: str) -> list[Change]:
        return self.update(container_id, None)

    def sync(self, everything: Iterable[Observed]) -> list[Change]:
        """The whole picture again (after a (re)connection): changes, and what vanished meanwhile."""
        fresh = {observed.name: observed for observed in everything}
        changes = [Change("deregister", name) for name in self.services if name not in fresh]
        for name in [name for name in self.services if name not in fresh]:
            del self.services[name]
        for observed in fresh.values():
            changes.extend(self.update(observed.container_id, observed))
        return changes
