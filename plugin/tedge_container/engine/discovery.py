"""Which engine: the socket, where its path came from, and the advice when it does not answer.

One engine per device, with no configuration:
- `container.host` (or `CONTAINER_HOST`) pins it, alone;
- else the engine recorded in `<data_dir>/engine`: the one the plugins found
  and used before. It is never swapped for another engine that happens to be
  there: when it does not answer, the plugins exit 3 naming it;
- else the first socket that exists of the rootless engine of tedge's user,
  then root's; but never root's while the user keeps a rootless store
  (`~/.local/share/containers/storage`): a device switching from the Go
  plugin, whose user's socket is down, stays on the user's engine.
  tedge's user is `SUDO_UID` (tedge-agent runs the sm-plugins through sudo),
  the user itself when not root, and for root without sudo
  (the monitor, as its unit starts it) the owner of tedge's config directory
  (`/etc/tedge`, which `tedge init` gives to the user tedge-agent runs as).

The record is written by the sm-plugins and the CLI once the engine answered,
never by root without sudo: the monitor follows the sm-plugins, not the
reverse. A pinned `container.host` rewrites a record that names another engine,
so the device stays on it when the key is removed again.
"""

from __future__ import annotations

import os
import stat

from .. import log

TYPE_CHECKING = False  # `typing` itself costs ~5 ms, and `list` must start fast
if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..config import Config

RECORD_NAME = "engine"  # <data_dir>/engine: the socket path, one line
ROOT_ENABLE = "as root: systemctl enable --now podman.socket"
ENABLE_HINT = f"start podman's API socket ({ROOT_ENABLE})"


class Choice:
    """The socket chosen (`path`, '' when none), the paths looked at, and where the path came from.

    `origin`: "container.host", "CONTAINER_HOST", "record" (`<data_dir>/engine`), "found", or
    "storage" (the user's missing socket, chosen over root's because the user keeps a rootless store).
    """

    __slots__ = ("origin", "path", "record", "recorded", "tried", "uid")

    def __init__(
        self, path: str, tried: list[str], origin: str, uid: int, record: str, recorded: str
    ) -> None:
        self.path = path
        self.tried = tried
        self.origin = origin
        self.uid = uid  # whose rootless engine was looked for
        self.record = record  # the record file, '' when there is no data directory
        self.recorded = recorded  # the path it holds, '' when none

    def describe(self) -> str:
        """The debug line of the choice: which socket, and why that one."""
        if self.origin in ("container.host", "CONTAINER_HOST"):
            how = f"configured: {self.origin}"
        elif self.origin == "record":
            how = f"the engine this device has been using, recorded in {self.record}"
        elif self.origin == "storage":
            how = f"user {user_name(self.uid)}'s rootless engine: its store is there"
        elif self.path:
            how = f"the first that exists of {', '.join(self.tried)}"
        else:
            how = f"none of {', '.join(self.tried)} exists"
        return f"podman socket: {self.path or '-'} ({how})"


def engine_uid(environ: Mapping[str, str], euid: int, config_dir: str = "") -> int:
    """Whose rootless engine to look for: SUDO_UID, the user itself, or (root) the owner of tedge's config."""
    sudo_uid = environ.get("SUDO_UID", "")
    if sudo_uid.isdigit():
        return int(sudo_uid)
    if euid != 0 or not config_dir:
        return euid
    try:
        return os.stat(config_dir).st_uid
    except OSError:
        return 0


def candidate_sockets(environ: Mapping[str, str], euid: int, uid: int | None = None) -> list[str]:
    """podman socket paths in the order the Go plugin tries them, for the rootless engine of `uid`.

    `uid` defaults to `SUDO_UID`, else the effective uid.
    """
    if uid is None:
        uid = engine_uid(environ, euid)
    paths = [f"/run/user/{uid}/podman/podman.sock"]
    if environ.get("XDG_RUNTIME_DIR"):
        paths.append(os.path.join(environ["XDG_RUNTIME_DIR"], "podman", "podman.sock"))
    paths += [
        f"/tmp/storage-run-{uid}/podman/podman.sock",
        "/run/podman/podman.sock",
        "/run/user/0/podman/podman.sock",
    ]
    return list(dict.fromkeys(paths))


def choose(config: Config, environ: Mapping[str, str] | None = None) -> Choice:
    """The engine's socket for this process (see the module's doc)."""
    from .sockets import socket_path_of

    environ = os.environ if environ is None else environ
    euid = os.geteuid()
    uid = engine_uid(environ, euid, config.config_dir)
    record, recorded = read_record(config)
    host = config.get("container.host")
    if host or environ.get("CONTAINER_HOST"):
        path = socket_path_of(host or environ["CONTAINER_HOST"])
        return Choice(path, [path], "container.host" if host else "CONTAINER_HOST", uid, record, recorded)
    if recorded:
        return Choice(recorded, [recorded], "record", uid, record, recorded)
    tried: list[str] = []
    for path in candidate_sockets(environ, euid, uid):
        tried.append(path)
        if os.path.exists(path):
            if rootless_uid(path) is None and uid != 0 and rootless_storage(uid):
                # Nothing recorded (a device switching from the Go plugin, say), the user's
                # socket is missing, but the user keeps rootless podman's store: its engine.
                own = tried[0]
                return Choice(own, tried, "storage", uid, record, recorded)
            return Choice(path, tried, "found", uid, record, recorded)
    return Choice("", tried, "found", uid, record, recorded)


def rootless_storage(uid: int) -> str:
    """The rootless podman store of user `uid` ('' when it has none): a sign the user runs podman."""
    try:
        import pwd

        home = pwd.getpwuid(uid).pw_dir
    except (ImportError, KeyError):
        return ""
    for path in (".local/share/containers/storage", ".config/containers/storage.conf"):
        if os.path.exists(os.path.join(home, path)):
            return os.path.join(home, path)
    return ""


def read_record(config: Config) -> tuple[str, str]:
    """(the record file, the socket path it holds); '' for what is not there or unreadable."""
    from ..config import resolve_data_dir

    data_dir = resolve_data_dir(config, create=False)
    if not data_dir:
        return "", ""
    record = os.path.join(data_dir, RECORD_NAME)
    try:  # a regular file only: never through a link, never blocked on a FIFO
        descriptor = os.open(record, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return record, ""
    try:
        data = os.read(descriptor, 4097) if stat.S_ISREG(os.fstat(descriptor).st_mode) else b""
    except OSError:
        data = b""
    finally:
        os.close(descriptor)
    text = data.decode("utf-8", "replace").strip()
    if not text.startswith("/") or len(text) > 4096 or any(c in text for c in "\n\0"):
        log.warning(f"{record} holds no socket path: ignored (rewritten once an engine answers).")
        return record, ""
    return record, text


def remember(config: Config, choice: Choice, environ: Mapping[str, str] | None = None) -> None:
    """Record the engine that answered, when this process may (see the module's doc)."""
    environ = os.environ if environ is None else environ
    if choice.origin == "record" or choice.recorded == choice.path:
        return
    if choice.origin == "found" and os.geteuid() == 0 and not environ.get("SUDO_UID", "").isdigit():
        return  # root without sudo (the monitor) follows the record, never makes it
    if choice.origin != "found" and not choice.recorded:
        return  # pinned, and nothing recorded to correct
    from ..config import resolve_data_dir
    from ..errors import ConfigError
    from ..safefiles import write_atomically

    try:
        record = os.path.join(resolve_data_dir(config), RECORD_NAME)
        # Never through a link; two plugins at once each write a temporary file of their own.
        write_atomically(record, (choice.path + "\n").encode(), temporary_suffix=f".{os.getpid()}.tmp")
    except (OSError, ConfigError) as error:
        detail = getattr(error, "strerror", None) or str(error)
        log.warning(
            f"Cannot record the engine in data_dir ({detail}); set data_dir to a writable directory, "
            "or a later missing socket may let the plugins act on another engine."
        )
        return
    log.debug(f"podman socket {choice.path} recorded in {record}")


def user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def rootless_uid(path: str) -> int | None:
    """Whose rootless engine `path` is (`/run/user/UID/...`, `/tmp/storage-run-UID/...`); None: root's."""
    for prefix in ("/run/user/", "/tmp/storage-run-"):
        if path.startswith(prefix):
            uid = path[len(prefix) :].split("/", 1)[0]
            if uid.isdigit() and uid != "0":
                return int(uid)
    return None


def enable_hint(path: str) -> str:
    """How to start the engine at `path`: as its user for a rootless one, else as root."""
    uid = rootless_uid(path)
    if uid is None:
        return ENABLE_HINT
    user = user_name(uid)
    return (
        f"start the rootless podman API socket of user {user} (as {user}: "
        f"systemctl --user enable --now podman.socket; as root: loginctl enable-linger {user})"
    )


def unavailable_text(choice: Choice, reason: str) -> str:
    """The "Cannot reach podman" line: the path and where it came from, only the paths tried, the fix."""
    if choice.origin in ("container.host", "CONTAINER_HOST"):
        return (
            f"Cannot reach podman at {choice.path} (set by {choice.origin}) ({reason}); "
            f"{enable_hint(choice.path)}, or correct {choice.origin}."
        )
    if choice.origin == "record":
        return (
            f"Cannot reach podman at {choice.path}, the engine this device has been using "
            f"(recorded in {choice.record}) ({reason}); {enable_hint(choice.path)}. To move the "
            "device to another engine, set container.host (or delete that file)."
        )
    if choice.origin == "storage":
        return (
            f"Cannot reach podman at {choice.path} ({reason}), the rootless engine of user "
            f"{user_name(choice.uid)}, who keeps podman's store in {rootless_storage(choice.uid)}; "
            f"{enable_hint(choice.path)}. To use root's engine instead, set container.host."
        )
    if choice.path:
        return f"Cannot reach podman at {choice.path} ({reason}); {enable_hint(choice.path)}."
    hints = [enable_hint(choice.tried[0])] if rootless_uid(choice.tried[0]) is not None else []
    hints.append(ENABLE_HINT)
    return f"Cannot reach podman: none of {', '.join(choice.tried)} exists; {', or '.join(hints)}."
