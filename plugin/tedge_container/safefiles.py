"""Files the plugin writes itself, opened so that they can never follow a link.

The plugin runs as root in directories that archives from the cloud were
unpacked into. `open(path, "w")` follows a link at `path` (and writes
wherever it points); `O_NOFOLLOW | O_EXCL` refuses a link and anything that
already exists. So every record is written to a fresh temporary file beside
it, synced, and renamed into place: a rename replaces a link, never writes
through it, and a power loss leaves the old record or the new one.
"""

from __future__ import annotations

import os

_EXCLUSIVE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def create_exclusive(path: str, mode: int = 0o600) -> int:
    """A descriptor of a new file at `path`: fails (FileExistsError) if anything, a link too, is there."""
    return os.open(path, _EXCLUSIVE, mode)


def write_atomically(
    path: str, data: bytes, mode: int = 0o644, temporary_suffix: str = ".tedge-tmp", sync: bool = True
) -> None:
    """Replace `path` with `data` (mode `mode`); never follows a link at `path` or at the temporary file.

    `sync=False` for a file that is derived again whenever it is needed (an fsync costs 3-20 ms).
    """
    temporary = path + temporary_suffix
    try:
        descriptor = create_exclusive(temporary, mode)
    except FileExistsError:  # left by an interrupted write, or planted: the name goes, not a link's target
        os.unlink(temporary)
        descriptor = create_exclusive(temporary, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        if sync:
            os.fsync(descriptor)
    except BaseException:
        os.close(descriptor)
        os.unlink(temporary)
        raise
    os.close(descriptor)
    os.replace(temporary, path)


def open_no_follow(path: str, flags: int, mode: int = 0o644) -> int:
    """`os.open` that refuses a link as the last component (for files kept open, such as locks)."""
    return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
