"""The `container-group` software type: a compose project per module, version = free text.

Modules: `list.py`, `install.py` (stage, pull, swap, check, record),
`remove.py`; underneath `archive/layout.py` (directories, version record),
`archive/` (safe unpacking, bounds), `bundle/` (offline images), `project.py` (reading the compose file),
`runner.py` (podman-compose as a separate program), `checks.py` (the engine
check after compose), `operations.py` (up/down steps), `recovery.py`
(repairing interrupted installs). Each service is a thin-edge service
`PROJECT@SERVICE` of type `container-group` (`naming.py`).
"""

from __future__ import annotations

from ..base import Outcome, SoftwareType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ...config import Config
    from ...engine import Engine
    from .install import Installed

NAME = "container-group"


def installed_services(installed: Installed, use_module_name: bool) -> list:
    from ...status.reporter import Service
    from .naming import group_service_name

    services = []
    for spec in installed.project.services:
        entry = installed.containers.get(spec.name) or {}
        container_id = str(entry.get("Id", ""))
        twin = {
            "container": {
                "project": installed.project.name,
                "service": spec.name,
                "image": str(entry.get("Image") or spec.image),
                "containerId": container_id,
                "moduleVersion": installed.version,
            }
        }
        name = group_service_name(installed.project.name, installed.name, spec.name, use_module_name)
        services.append(Service(name, NAME, twin, container_id))
    return services


def list_modules(config: Config) -> str:
    from .list import run

    return run(config)


def install_module(
    config: Config, name: str, version: str, file: str, engine: Engine | None = None
) -> Outcome:
    from .install import install as install_group
    from .naming import group_service_name

    installed = install_group(config, name, version, file, engine=engine)
    services = installed.project.service_names()
    by_module = bool(config.get("container_group.use_module_name"))
    return Outcome(
        f"group {name} {installed.version} runs {', '.join(services)}",
        services=installed_services(installed, by_module),
        removed=[
            group_service_name(installed.project.name, name, service, by_module)
            for service in installed.dropped
        ],
    )


def remove_module(config: Config, name: str, engine: Engine | None = None, version: str = "") -> Outcome:
    """Remove group `name`, whatever its version."""
    from .naming import group_service_name
    from .remove import remove as remove_group

    removed = remove_group(config, name, engine=engine)
    if removed is None:
        return Outcome(f"group {name} was not installed")
    project, services = removed
    by_module = bool(config.get("container_group.use_module_name"))
    names = [group_service_name(project, name, service, by_module) for service in services]
    return Outcome(f"group {name} removed", removed=names)


SOFTWARE_TYPE = SoftwareType(NAME, "VERSION", list_modules, install_module, remove_module)
