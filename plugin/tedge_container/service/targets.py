"""A service name → the containers a service command acts on, only those this plugin manages.

`container`: the service is the container of the same name, installed by
this plugin (its labels, labels.is_managed), never a compose container.
`container-group`: the service `PROJECT@SERVICE` (or `MODULE@SERVICE` with
`container_group.use_module_name`) is every container of that compose
service whose working directory is a group this plugin installed
(`<data_dir>/compose/<module>`); projects started by hand are not ours.
"""

from __future__ import annotations

import os

from ..errors import PluginError
from ..labels import COMPOSE_PROJECT_LABEL, TRANSIENT_SUFFIXES, is_managed, is_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ..config import Config
    from ..engine import Engine

MAX_NAME = 200
_SHOWN = 80  # characters of a refused name quoted in the message


class Target:
    """The containers behind one service, and the module whose lock guards them."""

    __slots__ = ("containers", "lock_name", "lock_type", "name", "type")

    def __init__(self, service_type: str, name: str, lock_name: str, containers: list[str]) -> None:
        self.type = service_type
        self.name = name
        self.lock_type = service_type  # the sm-plugin type: installs of the module take the same lock
        self.lock_name = lock_name
        self.containers = containers  # full ids (a name could be taken over meanwhile)


class NotOurs(PluginError):
    """No such service among the ones this plugin manages (exit 1, nothing touched)."""


def shown(name: str) -> str:
    return repr(name if len(name) <= _SHOWN else name[: _SHOWN - 3] + "...")


def check_service_name(service_type: str, name: str) -> None:
    """Refuse a name no service of this type can have, before the engine is asked."""
    parts = name.split("@") if service_type == "container-group" else [name]
    expected = "PROJECT@SERVICE" if service_type == "container-group" else "a container name"
    if len(name) > MAX_NAME or not all(is_name(part) for part in parts) or len(parts) > 2:
        raise NotOurs(
            f"{shown(name)} is not the name of a {service_type} service ({expected}: letters, digits, "
            f"'_', '.' and '-', starting with a letter or digit); nothing was changed."
        )
    if service_type == "container-group" and len(parts) != 2:
        raise NotOurs(
            f"{shown(name)} is not a container-group service name (PROJECT@SERVICE); nothing was changed."
        )
    if service_type == "container" and name.endswith(TRANSIENT_SUFFIXES):
        raise NotOurs(
            f"{shown(name)} is a container the plugin uses only during an install; nothing was changed."
        )


def is_plain_module(labels: Mapping[str, str]) -> bool:
    return COMPOSE_PROJECT_LABEL not in labels and is_managed(labels)


def group_module_of(labels: Mapping[str, str], group_root: str) -> str:
    """The group module whose working directory the compose container runs in, '' when none of ours."""
    from ..software.group.naming import COMPOSE_WORKING_DIR_LABEL

    working = labels.get(COMPOSE_WORKING_DIR_LABEL, "")
    if not working or not group_root:
        return ""
    parent, module = os.path.split(os.path.normpath(working))
    if os.path.normpath(parent) != os.path.normpath(group_root) or not is_name(module):
        return ""
    return module


def find(config: Config, engine: Engine, service_type: str, name: str) -> Target:
    check_service_name(service_type, name)
    if service_type == "container":
        return _container(engine, name)
    return _group_service(config, engine, name)


def _not_found(service_type: str, name: str, why: str) -> NotOurs:
    listing = "container list" if service_type == "container" else "container-group list"
    return NotOurs(
        f"No {service_type} service {shown(name)} {why}; use the name the service has in the cloud "
        f"(`{listing}` shows the modules); nothing was changed."
    )


def _container(engine: Engine, name: str) -> Target:
    container = engine.get_container(name)
    if container is None:
        raise _not_found("container", name, "exists on this device")
    if not is_plain_module(container.labels):
        raise _not_found(
            "container", name, "is managed by this plugin (the container was not installed by it)"
        )
    return Target("container", name, name, [container.id])


def _group_service(config: Config, engine: Engine, name: str) -> Target:
    from ..software.group.archive.layout import compose_root
    from ..software.group.naming import COMPOSE_SERVICE_LABEL, container_service_name

    service = name.split("@")[1]
    root = compose_root(config, create=False)
    by_module = bool(config.get("container_group.use_module_name"))
    entries: list[Mapping[str, Any]] = engine.container_entries(f"{COMPOSE_SERVICE_LABEL}={service}")
    ids, modules, foreign = [], set(), False
    for entry in entries:
        labels = entry.get("Labels") or {}
        if container_service_name(labels, by_module) != name:
            continue
        module = group_module_of(labels, root)
        if not module:
            foreign = True
            continue
        modules.add(module)
        ids.append(str(entry.get("Id") or ""))
    if not ids:
        why = (
            "is managed by this plugin (a compose project started by hand)"
            if foreign
            else "exists on this device"
        )
        raise _not_found("container-group", name, why)
    if len(modules) > 1:  # two groups naming their project alike: which one is meant cannot be told
        raise NotOurs(
            f"The service {shown(name)} is in more than one group ({', '.join(sorted(modules))}); "
            "nothing was changed: give the groups distinct compose project names."
        )
    return Target("container-group", name, modules.pop(), sorted(filter(None, ids)))
