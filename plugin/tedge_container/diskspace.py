"""Never the last byte: free space is checked before a pull, a load or an unpack.

An edge device with a few GB of flash that fills up stops booting cleanly
(the journal, the package database, tedge's own files). So before writing,
the filesystem that will receive the data (the engine's storage for pulls
and loads, data_dir for unpacked projects) must keep
`container.min_free_space` free after the operation: what it needs (an
archive's size, known before writing; nothing for a pull, whose size podman
does not tell beforehand) plus that margin. Not enough: exit 2 before
anything is written, naming the filesystem, the free and the needed space,
and what to prune.
"""

from __future__ import annotations

import os

from . import log
from .config.values import format_size
from .errors import PluginError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .config import Config
    from .engine import Engine

MIN_FREE_KEY = "container.min_free_space"

# `podman image prune -a` alone would also take the offline images the container-image type keeps.
ENGINE_PRUNE_HINT = (
    "free space on it: remove images no container uses (`podman rmi IMAGE`; `podman image prune -a` "
    "also deletes the offline images container-image installed) or modules that are no longer needed"
)


class NotEnoughSpace(PluginError):
    """The filesystem that would receive the data is too full (exit 2)."""


def free_bytes(path: str) -> tuple[str, int] | None:
    """The free space (for unprivileged writers, as podman's files are) of the filesystem holding `path`.

    `path` may not exist yet (a project directory about to be made): its
    nearest existing parent is measured. None when nothing can be measured.
    """
    probe = os.path.abspath(path)
    while True:
        try:
            stats = os.statvfs(probe)
        except FileNotFoundError:
            parent = os.path.dirname(probe)
            if parent == probe:
                return None
            probe = parent
            continue
        except OSError:
            return None
        return probe, stats.f_bavail * stats.f_frsize


def require(config: Config, path: str, needed: int, what: str, hint: str) -> None:
    """Raise NotEnoughSpace unless `path`'s filesystem keeps `container.min_free_space` after `needed` bytes.

    `what` completes "Not enough disk space to ..." (`load app.tar`);
    `hint` says what to prune. Off when the key is 0; a path that cannot be
    measured is not refused (logged at debug).
    """
    margin = int(config.get(MIN_FREE_KEY))
    if margin <= 0 or not path:
        return
    measured = free_bytes(path)
    if measured is None:
        log.debug(f"disk space of {path} not measured: not checked")
        return
    _, free = measured
    wanted = max(needed, 0) + margin
    log.debug(f"disk space of {path}: {format_size(free)} free, {format_size(wanted)} wanted")
    if free < wanted:
        needs = f"{format_size(needed)} needed plus " if needed > 0 else ""
        raise NotEnoughSpace(
            f"Not enough disk space to {what}: {path} has {format_size(free)} free, "
            f"{needs}{MIN_FREE_KEY} = {format_size(margin)} to keep free. "
            f"{hint[:1].upper()}{hint[1:]}, or lower {MIN_FREE_KEY} (0 turns the check off)."
        )


def require_in_engine(config: Config, engine: Engine, needed: int, what: str) -> None:
    """`require` on the engine's image storage (podman's graph root), for pulls and loads."""
    if int(config.get(MIN_FREE_KEY)) <= 0:
        return  # off: not even the info request
    root = engine.storage_root()
    if not root:
        log.debug("podman did not tell its storage root: disk space not checked")
        return
    from .engine.discovery import rootless_uid, user_name

    uid = rootless_uid(getattr(engine, "socket_path", ""))
    hint = ENGINE_PRUNE_HINT
    if uid is not None:  # a rootless engine: its images are the user's, pruned by that user
        hint = hint.replace("free space on it:", f"free space on it, as user {user_name(uid)}:", 1)
    require(config, root, needed, what, hint)
