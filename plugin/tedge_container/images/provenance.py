"""Which images the plugin itself brought into the engine, and so which it may delete.

An image cannot carry a label of ours, so every image the plugin pulls, loads
from a `--file` archive or brings in a group bundle is recorded under data_dir:
`<data_dir>/obtained/<image id>`, one line per name it came under. When a
module is removed or upgraded (`container.pruneimages`), an image name is
deleted only when the plugin can bring it back:

- the plugin recorded the image (it pulled or loaded it), or
- the name is at a registry (`ghcr.io/acme/web:1`, `docker.io/library/nginx`):
  a pull brings it back. Images pulled by a plugin version before the record
  existed are of this kind.

Any other image (`localhost/...`, loaded with `podman load` or built on the
device) stays, with one info line saying why. The container-image type's images are
never pruned by another type (software/image/records.py).
"""

from __future__ import annotations

import os

from .. import log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import Config

SUBDIR = "obtained"
_MAX_RECORD = 4096  # bytes of one record read back: names, one a line


def _directory(config: Config, create: bool) -> str:
    from ..config import resolve_data_dir
    from ..errors import PluginError

    try:
        data_dir = resolve_data_dir(config, create=create)
    except PluginError:  # no writable data_dir: nothing recorded, so nothing but registry images pruned
        return ""
    return os.path.join(data_dir, SUBDIR) if data_dir else ""


def _plain(image_id: str) -> str:
    plain = image_id.split(":", 1)[-1].strip()
    return plain if plain and all(c in "0123456789abcdef" for c in plain) else ""


def remember(config: Config, image_id: str, name: str) -> None:
    """Record that the plugin brought image `image_id` in as `name`; best effort (a debug line when not)."""
    plain = _plain(image_id)
    if not plain:
        return
    directory = _directory(config, create=True)
    if not directory:
        return
    try:
        os.makedirs(directory, mode=0o755, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0)
        descriptor = os.open(os.path.join(directory, plain), flags, 0o644)
        try:
            os.write(descriptor, (" ".join(name.split())[:300] + "\n").encode())
        finally:
            os.close(descriptor)
    except OSError as error:
        log.debug(f"recording image {plain[:12]} as the plugin's failed: {error}")


def brought(config: Config, image_id: str) -> bool:
    """True when the plugin recorded bringing this image in."""
    plain = _plain(image_id)
    directory = _directory(config, create=False) if plain else ""
    return bool(directory) and os.path.isfile(os.path.join(directory, plain))


def forget(config: Config, image_id: str) -> None:
    """Drop the record of an image that is gone from the engine."""
    plain = _plain(image_id)
    directory = _directory(config, create=False) if plain else ""
    if directory:
        import contextlib

        with contextlib.suppress(OSError):
            os.unlink(os.path.join(directory, plain))


def at_registry(name: str) -> bool:
    """True when `name` names an image at a registry, which a pull can bring back."""
    from ..errors import PluginError
    from . import references, shortnames

    try:
        reference = references.parse(name)
    except PluginError:
        return False  # an id, or no name at all
    return not reference.short and reference.domain != shortnames.LOCALHOST


def kept_reason(config: Config, name: str, image_id: str) -> str:
    """Why the plugin must not delete image `name` (id `image_id`); "" when it may."""
    if brought(config, image_id) or at_registry(name):
        return ""
    return "the plugin did not pull or load it and no registry can give it back"
