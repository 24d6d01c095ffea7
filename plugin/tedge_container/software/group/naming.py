"""The thin-edge service name of a group's container: `PROJECT@SERVICE`, as the Go plugin names it.

The compose project name is the module name (lower-cased, as compose
normalises it) unless the compose file sets `name:`. With
`container_group.use_module_name = true` (the Go plugin's key) the module
name recorded in the group's `version` file is used instead of the
project's. The sm-plugin, the monitor and the log plugin all name services
here, so a group never shows up under two names.
"""

from __future__ import annotations

from ...labels import COMPOSE_PROJECT_LABEL

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

COMPOSE_SERVICE_LABEL = "com.docker.compose.service"
COMPOSE_WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"


def service_name(project: str, service: str) -> str:
    return f"{project}@{service}"


def group_service_name(project: str, module: str, service: str, use_module_name: bool) -> str:
    """The name of a service of an installed group (`module` as the cloud knows it)."""
    return service_name(module if use_module_name else project, service)


def container_service_name(labels: Mapping[str, str], use_module_name: bool) -> str:
    """The service name of a compose container from its labels; "" for any other container."""
    project = labels.get(COMPOSE_PROJECT_LABEL, "")
    service = labels.get(COMPOSE_SERVICE_LABEL, "")
    if not (project and service):
        return ""
    if use_module_name:
        from .archive.layout import read_module_name

        project = read_module_name(labels.get(COMPOSE_WORKING_DIR_LABEL, "")) or project
    return service_name(project, service)
