"""`finalize`: deliberately prunes nothing.

The Go plugin pruned every unused image here, destroying images loaded for
offline use. This plugin removes only the image of a container it replaced or
removed itself, right when it does so (`container.pruneimages`).
"""

from __future__ import annotations


def run() -> None:
    return None
