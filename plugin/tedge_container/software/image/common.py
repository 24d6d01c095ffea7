"""What install, list and remove of container-image share: the switch, the module's reference."""

from __future__ import annotations

from ...config import CONFIG_FILE_NAME
from ...errors import PluginError, UsageError
from ...images import references

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ...config import Config
    from ...images.references import Reference


def require_enabled(config: Config, doing: str, name: str) -> None:
    """`doing`: `Installing` or `Removing`."""
    if not config.get("container_image.enabled"):
        raise PluginError(
            f"{doing} image {name} failed: the container-image type is off; set "
            f"`enabled = true` under [container_image] in {config.path or CONFIG_FILE_NAME} "
            "(or CONTAINER_CONTAINER_IMAGE_ENABLED=true) to manage images with it."
        )


def module_reference(name: str, version: str) -> Reference:
    """`NAME` + `TAG` (or `@sha256:...`) → the image reference; a port in NAME stays in the registry."""
    if not name or name.startswith("-") or any(c.isspace() for c in name):
        raise UsageError(f"{name!r} is not an image repository (e.g. ghcr.io/acme/web).")
    if "@" in name or ":" in name.rpartition("/")[2]:
        raise UsageError(
            f"{name!r} carries a tag or digest: the module name is the repository alone "
            "(e.g. ghcr.io/acme/web), the version its tag (e.g. 1.4) or digest (@sha256:...)."
        )
    version = version or "latest"
    text = f"{name}{version}" if version.startswith("@") else f"{name}:{version}"
    return references.parse(text)
