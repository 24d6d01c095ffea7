"""What a compose project holds, read by the plugin itself: its file, name, services and images.

The plugin needs this before compose runs (to pull every image through its
own credential chain, and to know which containers must run afterwards), so
it reads the compose file with PyYAML and interpolates `${VAR}` from `.env`
and the environment compose gets, as compose does. It never imports
podman-compose (GPL-2.0): that runs as a separate program (runner.py).
"""

from __future__ import annotations

import os
import re

from . import xpodman
from .archive.limits import Limits
from .compose_keys import UnknownKey, unknown_keys
from .errors import ProjectError
from .interpolation import Interpolation, interpolate
from .textfiles import check_referenced, dotenv_variables

__all__ = ["COMPOSE_FILES", "Project", "ServiceSpec", "interpolate", "load", "read_interpolated", "variables"]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


# The compose specification's order of preference.
COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
# Policies under which a container that exited on its own is not restarted (compose's default: "no").
NO_RESTART = frozenset({"no", "on-failure"})

_PROJECT_NAME_STRIP = re.compile(r"[^-_a-z0-9]")  # as podman-compose normalises project names


class ServiceSpec:
    __slots__ = ("builds", "container_name", "container_names", "image", "name", "restart")

    def __init__(
        self,
        name: str,
        image: str,
        restart: str,
        builds: bool,
        container_name: str = "",
        container_names: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.container_name = container_name  # `container_name:`, "" when compose derives it
        self.container_names = container_names  # every replica's, as compose names them (xpodman.py)
        self.image = image  # interpolated; "" when only built
        self.restart = restart  # "no", "always", "unless-stopped", "on-failure[:N]"
        self.builds = builds

    @property
    def may_exit(self) -> bool:
        """True when exiting with code 0 is a normal end (a one-shot job), not a failure."""
        return self.restart.split(":", 1)[0] in NO_RESTART


class Project:
    __slots__ = (
        "compose_file",
        "directory",
        "limits",
        "name",
        "pod_declared",
        "services",
        "unknown",
        "unset",
    )

    def __init__(
        self,
        directory: str,
        compose_file: str,
        name: str,
        services: list[ServiceSpec],
        pod_declared: bool = False,
    ) -> None:
        self.directory = directory
        self.compose_file = compose_file  # the file name, in `directory`
        self.name = name  # the compose project name (label com.docker.compose.project)
        self.services = services
        self.pod_declared = pod_declared  # the file chooses podman-compose's pod use (x-podman.in_pod)
        self.unset: dict[str, list[str]] = {}  # variable used but set nowhere → the services using it
        self.unknown: list[UnknownKey] = []  # keys compose would ignore (compose_keys.py)
        self.limits = Limits()  # the bounds it was read with (the hosts override reads it again)

    def service_names(self) -> list[str]:
        return [service.name for service in self.services]


def find_compose_file(directory: str) -> str:
    for name in COMPOSE_FILES:
        if os.path.isfile(os.path.join(directory, name)):
            return name
    try:
        found = sorted(os.listdir(directory))[:10]
    except OSError:
        found = []
    holds = f" (it holds {', '.join(found)})" if found else " (it is empty)"
    raise ProjectError(
        f"No compose file at the top of the project{holds}: expected one of {', '.join(COMPOSE_FILES)}."
    )


def project_name(raw: str) -> str:
    return _PROJECT_NAME_STRIP.sub("", raw.lower())


def _yaml_loader() -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        """Safe loading; compose's own tags (`!reset`, `!override`) keep their plain value."""

    def untagged(loader: Any, suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", untagged)
    return Loader


def read_yaml(path: str, limits: Limits | None = None) -> Any:
    """The document in `path`, refused (before parsing) past `limits.compose_size` bytes."""
    import yaml

    display = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as stream:
            if limits is not None:
                limits.check_compose_size(display, os.fstat(stream.fileno()).st_size)
            return yaml.load(stream, Loader=_yaml_loader())  # a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or type(error).__name__
        raise ProjectError(f"{display} is not valid YAML{where}: {problem}.") from None
    except RecursionError:
        raise ProjectError(f"{display} nests blocks too deeply to be a compose file; refused.") from None
    except UnicodeDecodeError:
        raise ProjectError(f"{display} is not UTF-8 text.") from None
    except (ValueError, OverflowError) as error:  # a value PyYAML's constructors cannot make (5,000 digits)
        reason = str(error).split(";")[0][:120]
        raise ProjectError(f"{display} holds a value that cannot be read ({reason}); refused.") from None
    except OSError as error:
        raise ProjectError(f"Cannot read {path}: {error.strerror}.") from None


def variables(directory: str, environ: Mapping[str, str], limits: Limits | None = None) -> dict[str, str]:
    """`.env` of the project, overridden by the environment compose runs with (as compose does)."""
    return dotenv_variables(directory, environ, limits)


def read_interpolated(
    directory: str,
    compose_file: str,
    environ: Mapping[str, str],
    limits: Limits | None = None,
    missing: set[str] | None = None,
) -> tuple[Any, Any, dict[str, str]]:
    """The compose file in `directory`, read, checked against `limits` and interpolated.

    Returns (raw document, interpolated document, variables). Every pass that reads the
    file for its values (load, the hosts override) comes here, with the same bounds.
    """
    limits = limits or Limits()
    document = read_yaml(os.path.join(directory, compose_file), limits)
    if not isinstance(document, dict):
        raise ProjectError(f"{compose_file} does not hold a compose project (a mapping with `services`).")
    limits.check_nodes(document, compose_file)
    values = variables(directory, environ, limits)
    interpolated = Interpolation(values, compose_file, missing, limits).document(document)
    return document, interpolated, values


def load(
    directory: str, module_name: str, environ: Mapping[str, str], limits: Limits | None = None
) -> Project:
    """Read and check the compose project in `directory` (installed as module `module_name`).

    `limits` (default: the keys' defaults) bound the compose file's size and its nodes.
    """

    limits = limits or Limits()
    compose_file = find_compose_file(directory)
    missing: set[str] = set()
    raw, document, values = read_interpolated(directory, compose_file, environ, limits, missing)
    check_referenced(document, directory, limits)
    raw_name = document.get("name") or module_name
    name = project_name(str(raw_name))
    if not name:
        raise ProjectError(f"{compose_file}: the project name {raw_name!r} has no usable character.")
    services = document.get("services")
    if not isinstance(services, dict) or not services:
        raise ProjectError(f"{compose_file} defines no services; a group needs at least one.")
    specs = []
    effective = xpodman.settings(document)
    for service, body in services.items():
        if not isinstance(body, dict):
            raise ProjectError(f"{compose_file}: service {service!r} is not a mapping.")
        image = str(body.get("image") or "")
        builds = "build" in body
        if not image and not builds:
            raise ProjectError(f"{compose_file}: service {service!r} has neither `image` nor `build`.")
        # An unquoted `restart: no` is YAML 1.1's false: "no" too.
        restart = str(body.get("restart") or "no")
        names = xpodman.container_names(name, str(service), body, effective, compose_file)
        given = str(body.get("container_name") or "")
        specs.append(ServiceSpec(str(service), image, restart, builds, given, names))
    pod_declared = "in_pod" in effective
    project = Project(directory, compose_file, name, specs, pod_declared)
    project.unknown = unknown_keys(raw)
    project.limits = limits
    if missing:
        project.unset = _users(raw.get("services"), values, compose_file, missing, limits)
    return project


def _users(
    services: Any, values: Mapping[str, str], where: str, missing: set[str], limits: Limits
) -> dict[str, list[str]]:
    """Each unset variable → the services using it (none: used outside services, or not worked out).

    Each string's variables are found once (memoised by id, however many services alias it);
    the walk is iterative and does at most `limits.compose_nodes` steps in all: past that,
    the remaining services are not attributed (the warning then names fewer users).
    """
    names_of: dict[int, frozenset[str]] = {}
    interpolation = Interpolation(values, where, None, limits)  # what the load's pass did: within bounds
    steps = limits.compose_nodes
    users: dict[str, list[str]] = {name: [] for name in sorted(missing)}
    for service, body in services.items() if isinstance(services, dict) else ():
        found: set[str] = set()
        visited: set[int] = set()
        pending = [body]
        while pending:
            node = pending.pop()
            if id(node) in visited:
                continue
            visited.add(id(node))
            if isinstance(node, dict):
                pending.extend(node.values())
            elif isinstance(node, list):
                pending.extend(node)
            elif isinstance(node, str) and "$" in node:
                if id(node) not in names_of:
                    names: set[str] = set()
                    interpolation.missing = names
                    interpolation.text(node)
                    names_of[id(node)] = frozenset(names)
                found |= names_of[id(node)]
                steps -= len(names_of[id(node)])
            steps -= 1
            if steps < 0:
                return users
        for name in sorted(found & missing):
            users[name].append(str(service))
    return users
