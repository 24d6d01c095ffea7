"""A list of service names kept in a JSON file under the data directory (so a restart loses none)."""

from __future__ import annotations

import json

from .. import log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable


def load_names(path: str) -> list[str]:
    """The names in `path`; [] when there is no (readable, valid) file."""
    if not path:
        return []
    try:
        with open(path, encoding="utf-8") as stream:
            names = json.load(stream)
    except (OSError, ValueError):
        return []
    return [name for name in names if isinstance(name, str) and name] if isinstance(names, list) else []


def save_names(path: str, names: Iterable[str], what: str) -> None:
    """Replace `path` atomically, never through a link (safefiles.py); a failure is a debug line
    (`what` says what is then kept in memory only)."""
    if not path:
        return
    from ..safefiles import write_atomically

    try:
        write_atomically(path, json.dumps(sorted(names)).encode(), temporary_suffix=".tmp")
    except OSError as error:
        log.debug(f"monitor: cannot keep {what} in {path}: {error}")
