"""What a group owns, and the collisions refused before compose runs.

A group owns the containers carrying its compose project label whose working
directory label is one of its own directories (archive/layout.py): never a
container of a `container` module (no project label), of another group, or
of a project started by hand, even under the same project name. Its named
volumes, networks and pod carry only the project label: they are removed only
when no container uses them any more (engine/labelled.py), so an object another
module's container still uses is kept.

Before anything runs, an install is refused (exit 2, naming the other module) when
- another installed group has the same compose project name (compose lower-cases
  the name and keeps only a-z, 0-9, '_' and '-'; a top-level `name:` replaces it),
- containers of that project belong to someone else (another group, a project
  started by hand), or
- a service's container names (`container_name:`, or compose's PROJECT_SERVICE_N per replica,
  with the separator its x-podman settings choose: xpodman.py)
  is held by a container this group does not own;
- a bundle's image archive carries a name that podman has for another image, which a
  container of another module runs (its load would re-point that name).
"""

from __future__ import annotations

import os

from ...errors import PluginError
from ...labels import COMPOSE_PROJECT_LABEL, COMPOSE_WORKING_DIR_LABEL, is_name
from ...ownership import OwnedElsewhere, owner_of
from .project import project_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from .archive.layout import Layout
    from .bundle.images import Bundle
    from .operations import Group
    from .project import Project

_NORMALISED = (
    "compose lower-cases a project name and keeps only a-z, 0-9, '_' and '-' (a top-level `name:` "
    "replaces the module name)"
)


class Owner:
    """The directories of one group, as compose labels its containers with them."""

    __slots__ = ("directories",)

    def __init__(self, layout: Layout) -> None:
        paths = (layout.working, layout.staging, layout.previous)
        self.directories = {os.path.normpath(path) for path in paths} | {os.path.realpath(p) for p in paths}

    def owns(self, labels: Mapping[str, str], project: str | None = None) -> bool:
        """Whether a container with `labels` is this group's, in project `project` (None: any)."""
        if not labels.get(COMPOSE_PROJECT_LABEL) or project not in (None, labels[COMPOSE_PROJECT_LABEL]):
            return False
        working = labels.get(COMPOSE_WORKING_DIR_LABEL, "")
        return os.path.normpath(working) in self.directories if working else True


def installed_project(group: Group, root: str, module: str) -> str:
    """The compose project name of installed group `module` ("" when its files are unusable)."""
    directory = os.path.join(root, module)
    try:
        return group.load(directory, module).name
    except (PluginError, OSError):  # unusable files: what compose takes without a `name:`
        return project_name(module)


def check_collisions(group: Group, layout: Layout, project: Project) -> None:
    """Refuse `project` (staged for group `layout.name`) when it would act on another module's objects."""
    owner = Owner(layout)
    name = project.name
    try:
        others = sorted(os.listdir(layout.root))
    except OSError:
        others = []
    for other in others:
        if other == layout.name or not is_name(other) or not os.path.isdir(os.path.join(layout.root, other)):
            continue
        if installed_project(group, layout.root, other) == name:
            raise OwnedElsewhere(
                f"its compose project name {name} is group {other}'s too ({_NORMALISED}): set a distinct "
                "top-level `name:` in the compose file, or install it under another module name."
            )
    for entry in group.engine.container_entries(f"{COMPOSE_PROJECT_LABEL}={name}"):
        labels = entry.get("Labels") or {}
        if not owner.owns(labels, name):
            holder = owner_of(_name_of(entry), labels)
            raise OwnedElsewhere(
                f"its compose project name {name} is used by {holder} ({_NORMALISED}): set a distinct "
                "top-level `name:` in the compose file, or install it under another module name."
            )
    for spec in project.services:
        for number, container_name in enumerate(spec.container_names):
            holder_container = group.engine.get_container(container_name)
            if holder_container is None or owner.owns(holder_container.labels, name):
                continue
            fix = (
                "change or drop its `container_name:` in the compose file"
                if spec.container_name and number == 0
                else "set a distinct top-level `name:` in the compose file"
            )
            raise OwnedElsewhere(
                f"service {spec.name}'s container name {container_name} is held by "
                f"{owner_of(container_name, holder_container.labels)}: {fix}, or remove that module first."
            )


def _name_of(entry: Mapping[str, object]) -> str:
    names = entry.get("Names") or []
    return str(names[0]).lstrip("/") if isinstance(names, list) and names else str(entry.get("Id", ""))


def check_bundle_names(group: Group, layout: Layout, bundle: Bundle) -> None:
    """Refuse a bundle whose load would re-point an image name another module's container runs.

    `podman load` moves a name to the loaded image whatever it named before: the other
    module would run other code after its next recreate, and lose the image to a prune.
    """
    from ...images.contents import plain_id
    from .bundle.record import image_id

    owner = Owner(layout)
    taken: dict[str, tuple[str, str]] = {}  # image id a name has now → (the name, the archive)
    for archive in bundle.archives:
        saved = archive.references()
        present = {name: image_id(group.engine, name) for name in saved}
        if all(saved[name] and present[name] == saved[name] for name in saved):
            continue  # the engine has all of it already: not loaded
        for name, current in present.items():
            if current and current != saved[name]:
                taken.setdefault(current, (name, archive.display))
    if not taken:
        return
    for container in group.engine.list_containers():
        found = taken.get(plain_id(container.image_id))
        if found is None or owner.owns(container.labels):
            continue
        name, display = found
        holder = owner_of(container.name, container.labels)
        raise OwnedElsewhere(
            f"{display} carries {name}, which names another image that {holder} "
            "runs; loading it would re-point that name: save the bundle's image under a name of its own "
            "(podman tag, then podman save), or update that module first."
        )
