"""`remove NAME [--module-version TAG]`: remove that image name, unless a container needs it.

An image that is not there succeeds (the module is already gone). When the
image has other names, only this one goes (podman untags it) and the image
stays for them; containers started from those names are not this module's
concern. A name containers were started from, or an image's last name
while containers use the image, fails with exit 2 naming (at most three of)
them: removing it would leave them unable to restart after a reboot on an
offline device.
"""

from __future__ import annotations

from ...engine import Engine
from ...errors import PluginError, add_context
from ..base import Outcome
from . import records
from .common import describe_users, image_names, module_reference, require_enabled, users_through

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ...config import Config


def remove(config: Config, name: str, version: str = "", engine: Engine | None = None) -> Outcome:
    require_enabled(config, "Removing", name)
    record = records.find(config, name)
    version = version or (record.version if record else "")
    reference = (
        record.reference if record and record.version == version else module_reference(name, version).full
    )
    engine = engine or Engine(config)
    try:
        data = engine.find_image(reference)
        if data is None:
            records.delete(config, name)
            return Outcome(f"image {reference} was not installed")
        users = users_through(engine.list_containers(), reference, data)
        if users:
            many = len(users) > 1
            raise PluginError(
                f"{describe_users(users)} {'use' if many else 'uses'} {reference}; remove or upgrade "
                f"{'them' if many else 'the container'} first, then remove the image."
            )
        others = sorted(image_names(data) - {reference})
        if others and "@" in reference:  # a digest is no name to untag: deleting it would take the others
            records.delete(config, name)
            return Outcome(f"image {reference} stays as {', '.join(others[:3])}; module dropped")
        if not engine.remove_image(reference):
            raise PluginError(f"podman refused to remove {reference}; see `podman image inspect {reference}`")
        records.delete(config, name)
    except PluginError as error:
        raise add_context(error, prefix=f"Removing image {name} failed: ") from None
    if others:  # podman only untagged it: the image stays for its other names
        return Outcome(f"image name {reference} removed; the image stays as {', '.join(others[:3])}")
    return Outcome(f"image {reference} removed")
