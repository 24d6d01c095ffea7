"""Deleting a directory tree however deep it is: staging, trash, previous versions, working directories.

`shutil.rmtree` recurses once per level (Python < 3.13): a tree more than about
1,000 levels deep ends in RecursionError, and a module whose staging directory
cannot be deleted can never be installed or removed again. This walk keeps its
own stack instead and holds one directory descriptor at a time, going down with
`openat(O_NOFOLLOW)` and back up with `..`, so neither the recursion limit, the
descriptor limit nor PATH_MAX bound how deep a tree it can delete. Links are
unlinked, never followed.
"""

from __future__ import annotations

import contextlib
import os
import stat

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def remove_tree(path: str) -> None:
    """Delete `path`: a file or link is unlinked, a directory deleted with everything below it."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(mode):
        os.unlink(path)
        return
    descriptor = os.open(path, _DIRECTORY)
    # (name in its parent, subdirectories still to delete) of each directory from `path` down.
    stack: list[tuple[str, list[str]]] = [("", _empty_but_directories(descriptor))]
    try:
        while stack:
            pending = stack[-1][1]
            if pending:
                child = pending.pop()
                try:
                    below = os.open(child, _DIRECTORY, dir_fd=descriptor)
                except FileNotFoundError:
                    continue
                except OSError:  # not a directory (any more): a link or a file in its place
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(child, dir_fd=descriptor)
                    continue
                os.close(descriptor)
                descriptor = below
                stack.append((child, _empty_but_directories(descriptor)))
                continue
            name = stack.pop()[0]
            if not stack:
                break
            above = os.open("..", _DIRECTORY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = above
            os.rmdir(name, dir_fd=descriptor)
    finally:
        os.close(descriptor)
    os.rmdir(path)


def _empty_but_directories(descriptor: int) -> list[str]:
    """Unlink every non-directory in the directory `descriptor`; the names of its subdirectories."""
    directories = []
    with os.scandir(descriptor) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                directories.append(entry.name)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.name, dir_fd=descriptor)
    return directories
