"""Which module a container belongs to, told from its labels, for refusals across software types.

A container with a compose project label belongs to a group (the one whose
working directory compose ran in: the label `com.docker.compose.project.working_dir`),
whatever its name; any other container is the `container` module of its name.
Neither type ever replaces or removes a container of the other.
"""

from __future__ import annotations

import os

from .errors import PluginError
from .labels import COMPOSE_PROJECT_LABEL, COMPOSE_WORKING_DIR_LABEL, MANAGED_BY, MANAGED_LABEL

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

# A group's directories besides its working one (software/group/archive/layout.py).
_GROUP_DIR_SUFFIXES = (".tedge-staging", ".tedge-previous")


class OwnedElsewhere(PluginError):
    """What this module would create or remove belongs to another module (exit 2)."""


def group_of(working_dir: str) -> str:
    """The group module a compose working directory `<data_dir>/compose/NAME` stands for."""
    name = os.path.basename(working_dir.rstrip("/"))
    for suffix in _GROUP_DIR_SUFFIXES:
        if name.startswith(".") and name.endswith(suffix):
            return name[1 : -len(suffix)]
    return name


def owner_of(name: str, labels: Mapping[str, str]) -> str:
    """Who container `name` (with `labels`) belongs to, as the operator knows it: 'group shop', ..."""
    project = labels.get(COMPOSE_PROJECT_LABEL, "")
    if project:
        working = labels.get(COMPOSE_WORKING_DIR_LABEL, "")
        if working and os.path.basename(os.path.dirname(working.rstrip("/"))) == "compose":
            return f"group {group_of(working)}"
        where = f" started from {working}" if working else ""
        return f"compose project {project}{where}"
    if labels.get(MANAGED_LABEL) == MANAGED_BY:
        return f"container module {name}"
    return f"container {name} (not made by this plugin)"


def refuse_group_container(name: str, labels: Mapping[str, str], action: str) -> None:
    """A `container` module may not be a group's container: refuse `action` on it (exit 2)."""
    if labels.get(COMPOSE_PROJECT_LABEL):
        raise OwnedElsewhere(
            f"Cannot {action} container module {name}: container {name} belongs to {owner_of(name, labels)}; "
            "manage it through that group, or give the container module another name."
        )
