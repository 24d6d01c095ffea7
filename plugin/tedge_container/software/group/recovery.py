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
Runs first in every install and remove of that group.
"""

from __future__ import annotations

import os

from ... import log
from ...errors import PluginError
from .archive.layout import Layout, read_version, sync_directory
from .project import project_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .operations import Group


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
    except PluginError as error:
        log.warning(f"bringing the previous version of {layout.name} up again failed: {error}")
        return f"The previous version {version} was put back but does not run: {error}."
    return f"The previous version {version} runs again."


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
