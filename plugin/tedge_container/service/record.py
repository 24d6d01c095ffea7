"""Which services were stopped (or paused) by a service command, and when.

One small JSON file per service, `<data_dir>/service-commands/NAME.json`:
`{"action": "stop", "time": "2026-12-07T01:02:03Z", "type": "container"}`.
Written before the container is stopped (so the monitor's look at the
stopped container finds it), removed by `start`, `restart`, `unpause` after
a pause, a new install and a remove of the module. The monitor adds it to
the service's twin data (`stoppedBy`, `stoppedAt`) while the container is
not running, so the cloud tells a stop by command from a crash. Kept on
disk: a stop survives a reboot of the device.
"""

from __future__ import annotations

import contextlib
import json
import os
import time

from ..safefiles import open_no_follow, write_atomically

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..config import Config

DIRECTORY = "service-commands"
MAX_SIZE = 4096


def directory(config: Config, create: bool = False) -> str:
    """`<data_dir>/service-commands`; '' when there is no data directory (nothing recorded)."""
    from ..config import resolve_data_dir

    data_dir = resolve_data_dir(config, create=create)
    return os.path.join(data_dir, DIRECTORY) if data_dir else ""


def _path(where: str, name: str) -> str:
    """The record's file; '' for a name that is not a plain file name (never a service of ours)."""
    if not name or "/" in name or name.startswith(".") or "\x00" in name:
        return ""
    return os.path.join(where, f"{name}.json")


def write(config: Config, name: str, service_type: str, action: str) -> None:
    where = directory(config, create=True)
    os.makedirs(where, mode=0o755, exist_ok=True)
    now = time.time()
    payload = {
        "action": action,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "unix": now,
        "type": service_type,
    }
    path = _path(where, name)
    if path:
        write_atomically(path, json.dumps(payload).encode())


def clear(config: Config, name: str) -> None:
    where = directory(config)
    path = _path(where, name) if where else ""
    if path:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def read(where: str, name: str) -> dict[str, Any] | None:
    """The record of service `name` in directory `where` (see `directory`); None when there is none."""
    path = _path(where, name) if where else ""
    if not path:
        return None
    try:
        fd = open_no_follow(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        data = json.loads(os.read(fd, MAX_SIZE) or b"null")
    except ValueError:
        return None
    finally:
        os.close(fd)
    if not isinstance(data, dict) or data.get("action") not in ("stop", "pause"):
        return None
    try:
        unix = float(data.get("unix") or 0)
    except (TypeError, ValueError):
        unix = 0.0
    return {"action": str(data["action"]), "time": str(data.get("time") or ""), "unix": unix}


def twin_fields(where: str, name: str, state: str, started_at: float = 0.0) -> dict[str, str]:
    """`stoppedBy`/`stoppedAt` (or `pausedBy`/`pausedAt`) for the twin, while a command's stop (pause) holds.

    `state` is podman's, `started_at` when the container last started (unix
    time, 0: unknown): a record that the container's state contradicts, or
    one older than its last start (started by hand since, or by podman's
    restart service at boot), adds nothing.
    """
    record = read(where, name)
    if record is None or (started_at and record["unix"] and started_at > record["unix"]):
        return {}
    if record["action"] == "stop" and state in ("exited", "stopped", "created", "configured"):
        return {"stoppedBy": "command", "stoppedAt": record["time"]}
    if record["action"] == "pause" and state == "paused":
        return {"pausedBy": "command", "pausedAt": record["time"]}
    return {}
