"""Getting an image into the engine: from an archive, the local store, or its registry.

Shared by the `container` and `container-image` types: an archive is checked
for the wanted image before it is loaded; a short name is resolved as podman
resolves it (shortnames.py); a `localhost/` image is never pulled; anything
else is pulled with the credential chain (pulling.py) when it is missing, or
always with `container.alwayspull`.
"""

from __future__ import annotations

from ..diskspace import require_in_engine
from ..errors import PluginError
from . import pulling, references, shortnames

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import Config
    from ..engine import Engine


def obtain_image(engine: Engine, config: Config, version: str, file: str) -> str:
    """Make the image available in the engine; returns the reference to create from.

    Short names (`accept-app:1.0`) are resolved as podman resolves them (shortnames.py).
    """
    if file:
        from . import archive  # tarfile and gzip: only an install with an archive pays for them

        wanted = None
        if version:
            reference = references.parse(version)
            registries = engine.search_registries() if reference.short else ()
            wanted = shortnames.local_candidates(reference, registries)
        # First, as it reads nothing: podman stores layers uncompressed, so the archive's unpacked
        # size is what the load writes at least (a gzip bomb whose trailer tells is refused unread).
        require_in_engine(config, engine, archive.unpacked_size(file), f"load {file}")
        chosen = archive.select_image(file, version or None, wanted)
        progress = engine.progress(f"Loading {file}")
        engine.load(archive.stream(file, progress), progress)
        loaded = engine.find_image(chosen.full)
        if loaded is None:
            raise PluginError(
                f"Loading {file} did not produce {chosen.full}; check that the archive holds it."
            )
        from .provenance import remember

        remember(config, str(loaded.get("Id") or ""), chosen.full)  # the plugin may prune it later
        return chosen.full
    reference = references.parse(version)
    if reference.short:
        return shortnames.obtain(engine, config, reference)
    if reference.domain == shortnames.LOCALHOST:
        # No registry serves localhost/ names: they are built or loaded on the device.
        if not engine.image_exists(reference.full):
            raise shortnames.not_pullable(reference)
        return reference.full
    if config.get("container.alwayspull") or not engine.image_exists(reference.full):
        pulling.pull(engine, reference, config)
    return reference.full
