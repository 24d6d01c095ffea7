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

from .archive.limits import Limits
from .errors import ProjectError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


# The compose specification's order of preference.
COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
# Policies under which a container that exited on its own is not restarted (compose's default: "no").
NO_RESTART = frozenset({"no", "on-failure"})

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?\Z", re.S)
_PROJECT_NAME_STRIP = re.compile(r"[^-_a-z0-9]")  # as podman-compose normalises project names


class ServiceSpec:
    __slots__ = ("builds", "image", "name", "restart")

    def __init__(self, name: str, image: str, restart: str, builds: bool) -> None:
        self.name = name
        self.image = image  # interpolated; "" when only built
        self.restart = restart  # "no", "always", "unless-stopped", "on-failure[:N]"
        self.builds = builds

    @property
    def may_exit(self) -> bool:
        """True when exiting with code 0 is a normal end (a one-shot job), not a failure."""
        return self.restart.split(":", 1)[0] in NO_RESTART


class Project:
    __slots__ = ("compose_file", "directory", "name", "pod_declared", "services", "unset")

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


def interpolate(value: Any, variables: Mapping[str, str], where: str, missing: set[str] | None = None) -> Any:
    """Compose's `$VAR`, `${VAR}`, `${VAR:-def}`, `${VAR-def}`, `${VAR:?error}`, `${VAR:+alt}`, `$$`.

    A block shared through YAML aliases is walked once, and shared in the result
    too (memoised by id): nested aliases never get copied out into a huge tree.
    `missing`, when given, collects the variables used without a default that are not set.
    """
    done: dict[int, Any] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, (dict, list)):
            key = id(node)
            if key not in done:
                if isinstance(node, dict):
                    done[key] = {name: walk(item) for name, item in node.items()}
                else:
                    done[key] = [walk(item) for item in node]
            return done[key]
        if not isinstance(node, str) or "$" not in node:
            return node
        return _expand(node, variables, where, missing)

    return walk(value)


def _expand(text: str, variables: Mapping[str, str], where: str, missing: set[str] | None = None) -> str:
    out = []
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        following = text[index + 1] if index + 1 < length else ""
        if char != "$" or not following:
            out.append(char)
            index += 1
        elif following == "$":
            out.append("$")
            index += 2
        elif following == "{":  # to the matching brace: defaults may hold ${...} themselves
            depth, end = 1, index + 2
            while end < length and depth:
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            if depth:
                raise ProjectError(f"{where}: unclosed interpolation {text[index:]!r}.")
            out.append(_braced(text[index + 2 : end - 1], variables, where, missing))
            index = end
        else:
            name = _NAME.match(text, index + 1)
            if name and missing is not None and name.group(0) not in variables:
                missing.add(name.group(0))
            out.append(variables.get(name.group(0), "") if name else "$")
            index = name.end() if name else index + 1
    return "".join(out)


def _braced(body: str, variables: Mapping[str, str], where: str, missing: set[str] | None = None) -> str:
    braced = _BRACED.match(body)
    if not braced:
        raise ProjectError(f"{where}: invalid interpolation ${{{body}}}.")
    name, operator, argument = braced.groups()
    current = variables.get(name, "")
    if not operator:
        if missing is not None and name not in variables:
            missing.add(name)
        return current
    # With ':' an empty value counts as unset.
    is_set = bool(current) if operator.startswith(":") else name in variables
    kind = operator[-1]
    if kind == "-":
        return current if is_set else _expand(argument or "", variables, where, missing)
    if kind == "+":
        return _expand(argument or "", variables, where, missing) if is_set else ""
    if not is_set:  # "?"
        raise ProjectError(f"{where}: required variable {name} is missing: {argument or 'not set'}.")
    return current


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
    except OSError as error:
        raise ProjectError(f"Cannot read {path}: {error.strerror}.") from None


def variables(directory: str, environ: Mapping[str, str]) -> dict[str, str]:
    """`.env` of the project, overridden by the environment compose runs with (as compose does)."""
    found: dict[str, str] = {}
    dotenv_path = os.path.join(directory, ".env")
    if os.path.isfile(dotenv_path):
        from dotenv import dotenv_values

        found.update({key: value or "" for key, value in dotenv_values(dotenv_path).items()})
    found.update(environ)
    return found


def load(
    directory: str, module_name: str, environ: Mapping[str, str], limits: Limits | None = None
) -> Project:
    """Read and check the compose project in `directory` (installed as module `module_name`).

    `limits` (default: the keys' defaults) bound the compose file's size and its nodes.
    """

    limits = limits or Limits()
    compose_file = find_compose_file(directory)
    document = read_yaml(os.path.join(directory, compose_file), limits)
    if not isinstance(document, dict):
        raise ProjectError(f"{compose_file} does not hold a compose project (a mapping with `services`).")
    limits.check_nodes(document, compose_file)
    values = variables(directory, environ)
    raw = document
    missing: set[str] = set()
    document = interpolate(document, values, compose_file, missing)
    raw_name = document.get("name") or module_name
    name = project_name(str(raw_name))
    if not name:
        raise ProjectError(f"{compose_file}: the project name {raw_name!r} has no usable character.")
    services = document.get("services")
    if not isinstance(services, dict) or not services:
        raise ProjectError(f"{compose_file} defines no services; a group needs at least one.")
    specs = []
    for service, body in services.items():
        if not isinstance(body, dict):
            raise ProjectError(f"{compose_file}: service {service!r} is not a mapping.")
        image = str(body.get("image") or "")
        builds = "build" in body
        if not image and not builds:
            raise ProjectError(f"{compose_file}: service {service!r} has neither `image` nor `build`.")
        # An unquoted `restart: no` is YAML 1.1's false: "no" too.
        restart = str(body.get("restart") or "no")
        specs.append(ServiceSpec(str(service), image, restart, builds))
    extension = document.get("x-podman")
    pod_declared = isinstance(extension, dict) and "in_pod" in extension
    project = Project(directory, compose_file, name, specs, pod_declared)
    if missing:
        project.unset = _users(raw.get("services"), values, compose_file, missing)
    return project


def _users(services: Any, values: Mapping[str, str], where: str, missing: set[str]) -> dict[str, list[str]]:
    """Each unset variable → the services using it (none: used outside services).

    Nodes shared through YAML anchors are looked at once (memoised by id), however
    many services alias them.
    """
    seen: dict[int, frozenset[str]] = {}

    def used_in(node: Any) -> frozenset[str]:
        key = id(node)
        if key not in seen:
            names: set[str] = set()
            if isinstance(node, dict):
                names.update(*(used_in(item) for item in node.values()))
            elif isinstance(node, list):
                names.update(*(used_in(item) for item in node))
            elif isinstance(node, str) and "$" in node:
                _expand(node, values, where, names)
            seen[key] = frozenset(names)
        return seen[key]

    users: dict[str, list[str]] = {name: [] for name in sorted(missing)}
    for service, body in services.items() if isinstance(services, dict) else ():
        for name in sorted(used_in(body)):
            users[name].append(str(service))
    return users
