"""Repairing a group whose install was interrupted (power loss, kill) before it finished.

The directories tell how far it got (see archive/layout.py and install.py):
- a staging directory: never live; deleted.
- `previous` beside a working directory with a version record: the new
  version was recorded, only the clean-up was interrupted; `previous` goes.
- `previous` beside a working directory without a record, or alone: the swap
  was interrupted; the new files and containers go, the previous files come
  back and the previous project is brought up again.
- a working directory without a record and no `previous`: a first install
  that never finished; its containers and files go.
Runs first in every install and remove of that group. Putting the previous
version back (here, or after a failed install) ends by removing the project's
networks it does not declare and nothing uses: the failed version's.
"""

from __future__ import annotations

import os

from ... import log
from ...errors import PluginError
from ...labels import COMPOSE_PROJECT_LABEL
from .archive.layout import Layout, read_version, sync_directory
from .hosts import declared_networks
from .project import project_name
from .volumes import name_volumes_left

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .operations import Group
    from .project import Project


def discard_working(group: Group, layout: Layout) -> None:
    """Take the unrecorded project in the working directory down and delete its files."""
    project = group.try_load(layout.working, layout.name)
    name = project.name if project is not None else project_name(layout.name)
    group.take_down(project, name, volumes=False)
    os.rename(layout.working, layout.staging)
    layout.trash(layout.staging)


def restore_previous(group: Group, layout: Layout) -> str:
    """Put the previous files back and bring them up; returns a sentence for the operator."""
    os.rename(layout.previous, layout.working)
    sync_directory(layout.root)
    version = read_version(layout.working)
    project = group.try_load(layout.working, layout.name)
    if project is None:
        return f"The previous files ({version or 'unrecorded version'}) are back, but cannot be brought up."
    try:
        group.up(project)
        said = f"The previous version {version} runs again."
    except PluginError as error:
        log.warning(f"bringing the previous version of {layout.name} up again failed: {error}")
        said = f"The previous version {version} was put back but does not run: {error}."
    remove_networks_left(group, project)
    name_volumes_left(group, project.name)
    return said


def remove_networks_left(group: Group, project: Project) -> list[str]:
    """Remove the networks of `project` (restored) that it does not declare and no container uses.

    The rolled-back version's own networks: compose keeps a project's networks, so a device
    retrying a broken update would collect them. Only those carrying the project's label
    (never another group's, whatever a compose file names), never forced (podman refuses one
    a container uses, whoever's); its named volumes stay (docs/container-group.md). Returns
    the networks removed.
    """
    removed = []
    try:
        declared = declared_networks(project, group.environ)
        for name in group.engine.labelled("network", f"{COMPOSE_PROJECT_LABEL}={project.name}"):
            if name not in declared and group.engine.remove_unused("network", name):
                removed.append(name)
    except (PluginError, OSError) as error:  # the rollback stands: what is left goes with a remove
        log.warning(f"removing the networks the rolled-back version left failed: {error}")
    if removed:
        plural = "s" if len(removed) > 1 else ""
        log.info(
            f"removed network{plural} {', '.join(removed)} of project {project.name}: the version put back "
            "does not declare it and no container uses it"
        )
    return removed


def repair(group: Group, layout: Layout) -> None:
    if os.path.lexists(layout.staging):
        layout.trash(layout.staging)
    has_previous = os.path.isdir(layout.previous)
    has_working = os.path.isdir(layout.working)
    recorded = has_working and read_version(layout.working) is not None
    if has_previous and recorded:
        layout.trash(layout.previous)
    elif has_previous:
        log.warning(f"group {layout.name}: an interrupted install is rolled back")
        if has_working:
            discard_working(group, layout)
        log.info(restore_previous(group, layout))
    elif has_working and not recorded:
        log.warning(f"group {layout.name}: an install that never finished is cleaned up")
        discard_working(group, layout)
