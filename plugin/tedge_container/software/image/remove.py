"""`remove NAME [--module-version TAG]`: remove that image tag, unless a container uses it.

An image that is not there succeeds (the module is already gone). An image in
use fails with exit 2 naming the containers: removing it would leave them
unable to restart after a reboot on an offline device.
"""

from __future__ import annotations

from ...engine import Engine
from ...errors import PluginError, add_context
from ..base import Outcome
from . import records
from .common import module_reference, require_enabled

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
        users = engine.containers_using_image(str(data.get("Id") or ""))
        if users:
            names = ", ".join(sorted(c.name for c in users))
            raise PluginError(
                f"container {names} uses {reference}; remove or upgrade the container first, "
                "then remove the image"
            )
        if not engine.remove_image(reference):
            raise PluginError(f"podman refused to remove {reference}; see `podman image inspect {reference}`")
        records.delete(config, name)
    except PluginError as error:
        raise add_context(error, prefix=f"Removing image {name} failed: ") from None
    return Outcome(f"image {reference} removed")
