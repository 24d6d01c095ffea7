"""A bundle's service image that its `images/` does not hold: said first, whatever happens next.

With `container_group.bundle_pull = true` (the default) such an image is pulled
from its registry as without a bundle; when that fails, the line names the
missing image first (a device meant to be offline would otherwise read
"check the network"), keeping the pull's exit code. With `false` the bundle
is meant to be complete: the install fails at once (exit 2), nothing pulled.
"""

from __future__ import annotations

from ....errors import PluginError
from .members import BundleError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ....images.references import Reference
    from .images import Bundle

PULL_KEY = "container_group.bundle_pull"
_SHOWN = 5  # image names quoted from the bundle: one readable line


def holdings(bundle: Bundle) -> str:
    """`a:1, b:2 and 3 more`: the image names the bundle's archives hold."""
    names = sorted({name for archive in bundle.archives for name in archive.contents.names})
    more = len(names) - _SHOWN
    return ", ".join(names[:_SHOWN]) + (f" and {more} more" if more > 0 else "") if names else "no image"


def lacking(bundle: Bundle, service: str, reference: Reference, error: PluginError | None) -> PluginError:
    """The error for `reference` (service `service`), which the bundle lacks; `error`: its pull's failure.

    Without `error` (bundle_pull = false): exit 2. With it: its class (and exit code) is kept.
    """
    head = (
        f"{reference.full} (service {service}) is not among {bundle.display}'s images/ "
        f"(it holds {holdings(bundle)})"
    )
    if error is None:
        return BundleError(
            f"{head} and {PULL_KEY} = false: add it to the bundle (`podman save -o images/NAME.tar "
            f"{reference.full}`), or set {PULL_KEY} = true to pull what the bundle lacks."
        )
    said = str(error)
    prefix = f"Pulling {reference.full} failed: "
    said = said[len(prefix) :] if said.startswith(prefix) else said
    error.args = (f"{head}; pulling it from {reference.domain} failed: {said}",)
    return error
