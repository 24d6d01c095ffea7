"""`remove NAME`: take the group's project down and delete its working directory.

Only groups in `<data_dir>/compose` are touched; the directory deleted is
always `<data_dir>/compose/NAME`, never one read from a container label.
A group that is not installed succeeds. Named volumes of the project are
deleted (as the Go plugin does) unless `container_group.keep_volumes`.
"""

from __future__ import annotations

import os

from ...errors import PluginError, add_context
from .archive.layout import Layout, check_module_name, compose_root
from .bundle.record import prune, read_record
from .project import project_name
from .recovery import repair

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ...config import Config
    from ...engine import Engine


def remove(config: Config, name: str, engine: Engine | None = None) -> tuple[str, list[str]] | None:
    """Remove group `name`; returns its project name and services, None when it was not installed."""
    from ...engine import Engine
    from .operations import Group

    check_module_name(name)
    root = compose_root(config, create=False)
    layout = Layout(root, name) if root else None
    if layout is None or not layout.exists():
        return None
    try:
        group = Group(config, engine or Engine(config))
        repair(group, layout)
        if not os.path.isdir(layout.working):
            return project_name(name), []
        project = group.try_load(layout.working, name)
        taken_down = project.name if project is not None else project_name(name)
        services = group.take_down(
            project, taken_down, volumes=not config.get("container_group.keep_volumes")
        )
        brought = read_record(layout.working)
        layout.trash(layout.working)
        prune(group.engine, config, brought, {})  # the images its bundle brought, unless still used
    except PluginError as error:
        raise add_context(error, prefix=f"Removing group {name} failed: ") from None
    except OSError as error:
        raise PluginError(
            f"Removing group {name} failed: {error.strerror or error} ({error.filename or root})."
        ) from None
    return taken_down, services
