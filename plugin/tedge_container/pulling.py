"""Getting an image from its registry: the seam where registry credentials come in.

Today: an anonymous pull, so the engine's own login (`podman login`) applies.
The credential provider chain plugs in here, with its single refresh retry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Config
    from .engine import Engine
    from .references import Reference


def pull(engine: Engine, reference: Reference, config: Config) -> str:
    """Pull `reference` and return the image id; raises PullError classified by kind."""
    return engine.pull(reference.full, reference.domain)
