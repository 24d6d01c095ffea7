"""The named volumes a failed first install leaves: compose made them, and nothing deletes them then.

A failed first install takes its containers down but keeps the named volumes
(a volume may hold data an earlier attempt wrote; an upgrade never deletes
them either). The failure line names them, so that "nothing was left" is true:
the next install of the group uses them again, and removing the group
deletes them (unless `container_group.keep_volumes`); `podman volume rm` deletes them at once.
"""

from __future__ import annotations

from ...errors import PluginError
from ...labels import COMPOSE_PROJECT_LABEL

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .operations import Group

_SHOWN = 3  # volume names quoted in the line


def nothing_left(group: Group, project: str) -> str:
    """The sentence ending a failed first install's line: nothing left, or the volumes that are."""
    try:
        names = group.engine.volume_names(f"{COMPOSE_PROJECT_LABEL}={project}")
    except PluginError:
        names = []
    if not names:
        return "Nothing of it was left behind."
    more = len(names) - _SHOWN
    listed = ", ".join(names[:_SHOWN]) + (f" and {more} more" if more > 0 else "")
    plural = "s" if len(names) > 1 else ""
    return (
        f"Nothing of it was left behind but its named volume{plural} {listed}: the next install of the "
        f"group uses {'them' if plural else 'it'} again and removing the group then deletes "
        f"{'them' if plural else 'it'} (`podman volume rm {' '.join(names[:_SHOWN])}` deletes "
        f"{'them' if plural else 'it'} now)."
    )
