"""What install, list and remove of container-image share: the switch, the module's reference."""

from __future__ import annotations

from ...config import CONFIG_FILE_NAME
from ...errors import PluginError, UsageError
from ...images import references

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    from ...config import Config
    from ...engine.model import Container
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


def image_names(image: Mapping[str, Any]) -> set[str]:
    """The names (`repo:tag`) an image's inspect data gives it."""
    return {str(name) for name in image.get("RepoTags") or image.get("Names") or []}


def users_through(
    containers: Iterable[Container], reference: str, image: Mapping[str, Any]
) -> list[Container]:
    """The containers that keep `reference` in use: removing that name would take their image.

    A container started from another name of the same image, or from its id, does
    not need this name while the image keeps another one; when `reference` is
    the image's last name, every container of the image needs it.
    """
    image_id = str(image.get("Id") or "")
    last_name = image_names(image) <= {reference}
    return [
        container
        for container in containers
        if container.image_id == image_id and (last_name or _normalised(container.image) == reference)
    ]


def describe_users(users: list[Container], shown: int = 3) -> str:
    """`container a`, `containers a, b, c and 2 more`: never a line naming a hundred containers."""
    names = sorted(container.name for container in users)
    more = len(names) - shown
    listed = ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")
    return f"container{'s' if len(names) > 1 else ''} {listed}"


def _normalised(name: str) -> str:
    """`name` as the engine names images (`app:1` → `docker.io/library/app:1`); unchanged when not a name."""
    try:
        return references.parse(name).full
    except PluginError:
        return name
