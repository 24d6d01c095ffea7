"""What podman's `/libpod/info` said, remembered for as long as that very podman service runs.

The disk guard (diskspace.py) needs podman's storage root before every pull
and load, and `/libpod/info` takes 0.1-0.5 s (podman 4.3 measures its whole
store to answer). The root only changes when the service restarts with
another configuration, so it is kept in the runtime directory (beside the
module locks) under the service's identity: the pid of the process listening
on the socket (the kernel's SO_PEERCRED) and that process's start time
(/proc/PID/stat). A restarted service never matches an old entry, so the
entry is never stale. Nothing is kept when the listener cannot be told: under
systemd socket activation the listener is systemd itself (pid 1), which stays
while podman restarts behind it; in another pid namespace the pid reads 0.

The file is trusted only when this user owns it and its directory and no one
else may write them (a per-user runtime directory may be under /tmp).
"""

from __future__ import annotations

import _socket  # `socket`'s C core: `socket` itself imports enum and selectors (~3 ms of every install)
import contextlib
import os
import stat
import struct

from .. import jsonio

CACHE_FILE = "engine-info.json"
KEPT_OTHERS = 7  # entries of other sockets kept beside the newest


def listener(socket_path: str, timeout: float = 1.0) -> tuple[int, int] | None:
    """(pid, uid) of the process listening on `socket_path` (the kernel's SO_PEERCRED); None when unknown."""
    if not hasattr(_socket, "SO_PEERCRED"):
        return None
    try:
        client = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            client.settimeout(timeout)
            client.connect(socket_path)
            credentials = client.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, struct.calcsize("3i"))
        finally:
            client.close()
        pid, uid, _gid = struct.unpack("3i", credentials)
    except (OSError, struct.error):
        return None
    return pid, uid


def listener_identity(socket_path: str, timeout: float = 1.0) -> str:
    """`PID:STARTTIME` of the process listening on `socket_path`, or "" when it cannot be told."""
    return identity_of(listener(socket_path, timeout))


def identity_of(peer: tuple[int, int] | None) -> str:
    """`PID:STARTTIME` of a socket's listener as `listener` told it, or "" when it cannot be told."""
    if peer is None:
        return ""
    pid = peer[0]
    try:
        if pid <= 1:  # another pid namespace (0), or systemd's socket activation (1)
            return ""
        with open(f"/proc/{pid}/stat", "rb") as stream:
            text = stream.read(4096)
        # Field 22 (starttime), counted after the command name's closing parenthesis.
        fields = text[text.rindex(b")") + 2 :].split()
        return f"{pid}:{int(fields[19])}"
    except (OSError, ValueError, IndexError, struct.error):
        return ""


def _path() -> str:
    from ..locking import runtime_dir

    return os.path.join(runtime_dir(), CACHE_FILE)


def _trusted(path: str) -> bool:
    """Owned by this user, writable by no one else: the file and its directory."""
    try:
        for target in (os.path.dirname(path), path):
            info = os.lstat(target)
            if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return False
            if target == path and not stat.S_ISREG(info.st_mode):
                return False
    except OSError:
        return False
    return True


def _entries(path: str) -> list[dict]:
    """The kept entries, newest first: the file's own (the newest) and its `others`; [] when unreadable."""
    try:
        with open(path, "rb") as stream:
            entry = jsonio.loads(stream.read(64 * 1024))
    except (OSError, ValueError):
        return []
    if not isinstance(entry, dict):
        return []
    others = entry.pop("others", None)
    if not isinstance(others, list):
        return [entry]
    return [entry, *(other for other in others if isinstance(other, dict))]


def recall(socket_path: str, identity: str, key: str) -> str:
    """The value kept for `key` from the service `identity` at `socket_path`; "" when none is."""
    return recall_all(socket_path, identity, (key,))[key]


def recall_all(socket_path: str, identity: str, keys: tuple[str, ...]) -> dict[str, str]:
    """Each of `keys` → its value kept from the service `identity` ("" when none is), from one read."""
    found = dict.fromkeys(keys, "")
    path = _path()
    if not identity or not _trusted(path):
        return found
    for entry in _entries(path):
        if entry.get("socket") == socket_path and entry.get("engine") == identity:
            for key in keys:
                value = entry.get(key)
                found[key] = value if isinstance(value, str) else ""
            break
    return found


def remember(socket_path: str, identity: str, values: dict[str, str]) -> None:
    """Keep `values` for the service `identity`; best effort (a failure only costs the next run a request).

    The newest entry is the file itself; those of up to KEPT_OTHERS other sockets stay in `others`,
    so that services used in turn (a rootful and a rootless podman) do not evict each other.
    """
    if not identity:
        return
    from ..safefiles import write_atomically

    path = _path()
    others = [e for e in _entries(path) if e.get("socket") != socket_path] if _trusted(path) else []
    entry = {"socket": socket_path, "engine": identity, **values, "others": others[:KEPT_OTHERS]}
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        write_atomically(path, jsonio.dumps(entry).encode("utf-8"), sync=False)  # a torn one is ignored
