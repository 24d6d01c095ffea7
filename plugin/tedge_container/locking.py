"""One operation per module: an exclusive file lock per software type and module name.

tedge-agent runs one operation at a time, but an operator at the shell, a
second agent operation or a resync can interleave with an install; two
concurrent swaps of one container can leave no container and, on podman 4.3,
a name the engine refuses for good. Every install, remove and update-list
line therefore holds `<runtime dir>/locks/<type>/<name>.lock` (flock) while it
changes the engine. The kernel releases the lock when the process dies, so a
killed operation never leaves a stale lock; the next one repairs what it left
(see software/container/install.py). `list` takes no lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import time

from .errors import RetryLaterError
from .safefiles import open_no_follow

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

# Root's runtime directory; an unprivileged run (tests, an operator without sudo) gets its own.
RUNTIME_DIRS = ("/run/tedge-container-plugin",)
POLL_SECONDS = 0.05
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,200}\Z")


class LockTimeout(RetryLaterError):
    """Another operation on the module still runs (exit 3: retry once it has finished)."""


def runtime_dir() -> str:
    """Where the locks live: /run/tedge-container-plugin as root, else a per-user directory."""
    override = os.environ.get("TEDGE_CONTAINER_PLUGIN_RUNTIME_DIR")
    if override:
        return override
    if os.geteuid() == 0:
        return RUNTIME_DIRS[0]
    base = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
    return os.path.join(base, f"tedge-container-plugin-{os.geteuid()}")


def lock_path(software_type: str, name: str) -> str:
    """The lock file of one module; names that are not plain file names are hashed."""
    if _SAFE_NAME.match(name):
        leaf = name
    else:
        import hashlib  # only for names that cannot be file names

        leaf = "sha256-" + hashlib.sha256(name.encode()).hexdigest()
    return os.path.join(runtime_dir(), "locks", software_type, leaf + ".lock")


def _holder(path: str) -> tuple[str, str]:
    """(pid, operation) the lock file names ("" when it does not say, as before this was written)."""
    try:
        with open(path, encoding="ascii", errors="replace") as stream:
            pid, _, operation = stream.read(128).strip().partition(" ")
    except OSError:
        return "", ""
    operation = "".join(char for char in operation if char.isalnum() or char in " ._@-")[:40]
    return (pid, operation) if pid.isdigit() else ("", "")


@contextlib.contextmanager
def module_lock(software_type: str, name: str, timeout: float, operation: str = "") -> Iterator[None]:
    """Hold the module's lock, waiting at most `timeout` seconds for another operation to end.

    `operation` (`install`, `remove`) is written beside the pid, for the line of whoever waits.
    """
    path = lock_path(software_type, name)
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    fd = open_no_follow(path, os.O_RDWR | os.O_CREAT, 0o644)  # a link planted there is refused
    try:
        deadline = time.monotonic() + max(0.0, timeout)
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
            if time.monotonic() >= deadline:
                holder = _holder(path)[0]
                who = f"process {holder}" if holder else "another process"
                raise LockTimeout(
                    f"Another operation on {software_type} {name} ({who}) still runs after "
                    f"{timeout:g} s; let it finish (or stop {who}), then retry. "
                    f"The lock is {path}; container.lock_timeout sets the wait."
                )
            if not said:  # once: the operator (or the agent's log) knows why nothing happens
                said = _say_waiting(path, software_type, name, timeout)
            time.sleep(POLL_SECONDS)
        # Who holds it and doing what, for the message of whoever waits next.
        os.ftruncate(fd, 0)
        record = f"{os.getpid()} {operation} {name}" if operation else str(os.getpid())
        os.pwrite(fd, (record + "\n").encode("ascii", "replace"), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _say_waiting(path: str, software_type: str, name: str, timeout: float) -> bool:
    """The line `waiting for PID N (install web) to finish`; False while the holder has not written it."""
    from . import log

    pid, operation = _holder(path)
    if not pid:
        return False
    doing = f" ({operation})" if operation else ""
    log.info(
        f"waiting for PID {pid}{doing} to finish: it holds the lock of {software_type} {name} "
        f"(at most container.lock_timeout = {timeout:g} s)"
    )
    return True
