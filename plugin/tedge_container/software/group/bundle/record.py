"""What a version's bundle brought into the engine, recorded beside its version record, and pruned later.

`<working>/bundle-images` holds one `ID NAME` line per image the installed
version's bundle brought: the images its install loaded, plus those a
previous version's bundle had brought and this one carries again (same id).
Images the engine had before (loaded by hand, by container-image, or used by
other modules) are never in it. After a successful upgrade, with
`container.pruneimages`, the previous record's images that the new version
did not bring again and no container uses are removed; nothing else.
"""

from __future__ import annotations

import os

from .... import log
from ....errors import PluginError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from typing import Protocol

    from ....config import Config
    from ....engine import Engine
    from ..project import Project

    class Brought(Protocol):
        """What write_record needs of a bundle (images.Bundle): no import back into images.py."""

        images: Mapping[str, str]  # full name -> id, of every image the bundle holds
        loaded: Collection[str]  # the names its install loaded


RECORD_FILE = "bundle-images"


def image_id(engine: Engine, name: str) -> str:
    """The id of the image `name` names in the engine ("" when none)."""
    from ....images.contents import plain_id  # not at the top: tarfile, gzip for a plain compose file

    found = engine.find_image(name)
    return plain_id(str(found.get("Id") or "")) if found else ""


def remove_brought(engine: Engine, name: str, found: str) -> None:
    """Remove the name `name` of image `found`, and the image once no name is left on it."""
    if image_id(engine, name) == found:
        engine.remove_image(name)  # the image too when this was its last name
    image = engine.find_image(found)
    if image is not None and not image.get("RepoTags"):  # names nobody else gave it: none left
        engine.remove_image(found)
        image = engine.find_image(found)
    if image is None:  # gone: the plugin's record of having brought it goes too
        from ....images.provenance import forget

        forget(engine.config, found)


def read_record(directory: str) -> dict[str, str]:
    """Full name → id of the images a project directory's bundle brought (empty when none)."""
    images: dict[str, str] = {}
    try:
        with open(os.path.join(directory, RECORD_FILE), encoding="utf-8", errors="replace") as stream:
            for line in stream:
                found, _, name = line.strip().partition(" ")
                if found and name:
                    images[name] = found
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        pass
    return images


def write_record(
    directory: str, project: Project, bundle: Brought | None, previous: dict[str, str]
) -> dict[str, str]:
    """Record what `bundle` brought into the staged `directory`; returns the record.

    Images a previous bundle brought stay recorded while the new version's services name
    them (a version without a bundle may keep using them), so that they go once unused.
    """
    path = os.path.join(directory, RECORD_FILE)
    if os.path.lexists(path):
        log.warning(f"the top-level file {RECORD_FILE!r} of the archive is replaced by the plugin's record.")
        os.unlink(path)
    named = _service_images(project)
    record = {name: found for name, found in previous.items() if name in named}
    if bundle is not None:
        carried = set(previous.values())
        record.update(
            (name, found)
            for name, found in bundle.images.items()
            if name in bundle.loaded or found in carried
        )
    if record:
        with open(path, "x", encoding="utf-8") as stream:
            stream.writelines(f"{found} {name}\n" for name, found in sorted(record.items()))
    return record


def _service_images(project: Project) -> set[str]:
    """The full names the project's services may run (a short name: each name podman may read it as)."""
    from ....errors import InvalidReference
    from ....images import references, shortnames

    names = set()
    for spec in project.services:
        try:
            reference = references.parse(spec.image) if spec.image else None
        except InvalidReference:
            continue
        if reference is not None:
            names.update(candidate.full for candidate in shortnames.local_candidates(reference, ()))
    return names


def prune(engine: Engine, config: Config, previous: dict[str, str], current: dict[str, str]) -> None:
    """Remove the images of `previous` (a replaced or removed version's record) nothing needs any more."""
    kept = set(current.values())
    gone = {name: found for name, found in previous.items() if found not in kept}
    if not gone or not config.get("container.pruneimages"):
        return
    from ....images.contents import plain_id
    from ...image.records import protects

    try:
        used = {plain_id(container.image_id) for container in engine.list_containers()}
        for name, found in gone.items():
            if found in used or protects(config, name, found):
                continue
            remove_brought(engine, name, found)
            log.info(
                f"image {name} ({found[:12]}), which a replaced bundle brought, removed: nothing uses it"
            )
    except PluginError as error:
        log.warning(f"removing the images a replaced bundle brought failed: {error}")
