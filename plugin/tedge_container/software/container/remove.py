"""`remove NAME [--module-version V] [--file F]`: stop (bounded) and remove container NAME.

An unknown name succeeds: the module is already gone.
"""

from __future__ import annotations

from ...config import Config
from ...engine import Container, Engine
from ...labels import TRANSIENT_SUFFIXES, check_container_name
from ...ownership import refuse_group_container
from .install import remove_unused_image


def remove(config: Config, name: str, engine: Engine | None = None) -> Container | None:
    """Remove container `name`; returns what was removed, None when there was nothing."""
    check_container_name(name)
    engine = engine or Engine(config)
    existing = engine.get_container(name)
    if existing is not None:  # a group's container is never a container module's
        refuse_group_container(name, existing.labels, "remove")
    for suffix in TRANSIENT_SUFFIXES:  # left by an interrupted install
        engine.remove_container(name + suffix)
    container = existing  # the module's lock is held: nothing else renamed or removed it since
    if container is None:
        return None
    engine.remove_container(name)
    if config.get("container.pruneimages"):
        remove_unused_image(engine, config, container)
    return container
