"""The named volumes a failed install leaves: compose made them, and nothing deletes them then.

A failed first install takes its containers down but keeps the named volumes
(a volume may hold data an earlier attempt wrote; an upgrade never deletes
them either). The failure line names them, so that "nothing was left" is true:
the next install of the group uses them again, and removing the group
deletes them (unless `container_group.keep_volumes`); `podman volume rm` deletes them at once.
A rolled-back upgrade keeps those of the failed version too, and one info line names them.
"""

from __future__ import annotations

from ... import log
from ...errors import PluginError
from ...labels import COMPOSE_PROJECT_LABEL

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .operations import Group

_SHOWN = 3  # volume names quoted in the line


def nothing_left(group: Group, project: str) -> str:
    """The sentence ending a failed first install's line: nothing left, or the volumes that are."""
    try:
        names = sorted(group.engine.labelled("volume", f"{COMPOSE_PROJECT_LABEL}={project}"))
    except PluginError:
        names = []
    if not names:
        return "Nothing of it was left behind."
    listed = _listed(names)
    plural = "s" if len(names) > 1 else ""
    return (
        f"Nothing of it was left behind but its named volume{plural} {listed}: the next install of the "
        f"group uses {'them' if plural else 'it'} again and removing the group then deletes "
        f"{'them' if plural else 'it'} (`podman volume rm {' '.join(names[:_SHOWN])}` deletes "
        f"{'them' if plural else 'it'} now)."
    )


def name_volumes_left(group: Group, project: str) -> list[str]:
    """After a rollback: one info line naming the project's volumes no container uses (the failed
    version's, or an older one's); returns them."""
    try:
        names = group.engine.labelled("volume", f"{COMPOSE_PROJECT_LABEL}={project}", unused=True)
    except PluginError:  # only a line is lost
        return []
    if names:
        them = "them" if len(names) > 1 else "it"
        log.info(
            f"kept named volume{'s' if len(names) > 1 else ''} {_listed(names)} of project {project}, which "
            f"no container uses: an install declaring {them} uses {them} again and removing the group "
            f"deletes {them} (`podman volume rm {' '.join(names[:_SHOWN])}` deletes {them} now)"
        )
    return names


def _listed(names: list[str]) -> str:
    more = len(names) - _SHOWN
    return ", ".join(names[:_SHOWN]) + (f" and {more} more" if more > 0 else "")
