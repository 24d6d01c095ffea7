"""A directory tree that can only grow inside itself: how archive entries are written (staging.py).

Checking an entry's name as text is not enough: a link written by an earlier
entry changes where a later, harmless-looking name lands (`l -> ../..`, then
`l/x`). So each entry is placed against the real tree built so far:
- every component above it is looked at with lstat: missing ones become
  directories, a link or a file there refuses the entry. Nothing is ever
  created under, or written through, a link (a link inside the project too);
- a file is created with O_EXCL | O_NOFOLLOW, so an existing name (a link
  above all) is never written through or replaced;
- a link must resolve inside the project, every link on its way resolved
  (as the kernel would: at most MAX_LINK_HOPS links), when it is made and
  again once the last entry is in: a later link can change where an earlier
  one leads;
- unpacked bytes and entries are counted while streaming, against the
  `container_group.max_*` limits, before the bytes past a limit are written.

Every cost is bounded by the archive's size, not multiplied by it: an
entry's depth and path length are bounded (check_shape, also asked while
the headers are read, before anything is written); directories already
looked at are remembered, so placing an entry costs O(its depth), not
O(depth²); links are resolved from what this tree wrote (no syscall, no
recursion: os.path.realpath recurses once per link on Python < 3.13), within
a step budget for the whole archive.
"""

from __future__ import annotations

import os
import posixpath
import stat

from ....safefiles import create_exclusive
from ..errors import ProjectError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

    from .limits import Limits

_CHUNK = 1 << 20
# Path components of an entry: real projects (node_modules included) stay far below.
MAX_DEPTH = 128
# Bytes of an entry's name or a link's target: the whole path then stays below PATH_MAX (4096).
MAX_PATH = 2048
# Links followed to resolve one path: the kernel's own limit (MAXSYMLINKS, then ELOOP).
MAX_LINK_HOPS = 40
# Path components looked at resolving all the archive's links, twice each: honest archives need
# a few per link; a maze of chained links is refused here, not after minutes of CPU.
MAX_LINK_STEPS = 1_000_000


class UnsafeArchive(ProjectError):
    """An archive entry would escape the staging directory or is a device (exit 2)."""


def check_shape(display: str, name: str, target: str = "") -> None:
    """Refuse a name deeper than MAX_DEPTH components or longer than MAX_PATH bytes (a link's target too)."""
    for text, what in ((name, "path"), (target, "link target")):
        size = len(text.encode("utf-8", "surrogateescape"))
        if size > MAX_PATH:
            raise UnsafeArchive(
                f"{display}: an entry's {what} is {size} bytes long, more than {MAX_PATH} "
                f"({text[:40]!r}...); refused."
            )
    depth = name.count("/") + name.count("\\") + 1
    if depth > MAX_DEPTH and len(_split(name)) > MAX_DEPTH:
        raise UnsafeArchive(
            f"{display}: entry {name[:60]!r}... is more than {MAX_DEPTH} directories deep; refused."
        )


def _split(name: str) -> list[str]:
    return [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]


class SafeTree:
    """The staging directory being filled from an archive named `display`."""

    def __init__(self, root: str, display: str, limits: Limits) -> None:
        self.root = os.path.realpath(root)
        self.display = display
        self.limits = limits
        self.written = 0
        self.entries = 0
        self._links: dict[str, str] = {}  # link (relative to root) → its target, as written
        self._directories: set[str] = {""}  # real directories (relative to root) already looked at
        self._steps = 0  # path components looked at resolving links (MAX_LINK_STEPS)

    def _refuse(self, name: str, why: str) -> UnsafeArchive:
        return UnsafeArchive(f"{self.display}: entry {name!r} {why}; refused.")

    def _count(self) -> None:
        self.entries += 1
        if self.entries > self.limits.entries:
            raise self.limits.too_many(self.display)

    def _parts(self, name: str) -> list[str]:
        check_shape(self.display, name)
        normalized = name.replace("\\", "/")
        if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":"):
            raise self._refuse(name, "has an absolute path")
        parts = _split(normalized)
        if ".." in parts:
            raise self._refuse(name, "leads out of the project with '..'")
        return parts

    def _directory(self, name: str, parts: list[str]) -> str:
        """The real directory `parts` names, made where missing; refuses links and files on the way.

        Directories looked at before are not looked at again: the deepest known one is found
        first, and only the components below it are checked (each directory made counts as an
        entry: a deep name cannot make thousands of directories for one entry).
        """
        known = len(parts)
        relative = "/".join(parts)
        while relative not in self._directories:  # from the deepest: usually found at once
            known -= 1
            relative = relative.rpartition("/")[0] if known else ""
        for depth in range(known + 1, len(parts) + 1):
            relative = f"{relative}/{parts[depth - 1]}" if relative else parts[depth - 1]
            current = os.path.join(self.root, relative)
            try:
                mode = os.lstat(current).st_mode
            except FileNotFoundError:
                self._count()
                os.mkdir(current, 0o755)
                mode = stat.S_IFDIR
            if stat.S_ISLNK(mode):
                raise self._refuse(name, f"would be written through the link {relative!r}")
            if not stat.S_ISDIR(mode):
                raise self._refuse(name, f"would be written below the file {relative!r}")
            self._directories.add(relative)
        return os.path.join(self.root, relative) if relative else self.root

    def _new_path(self, name: str) -> str:
        parts = self._parts(name)
        if not parts:
            raise self._refuse(name, "names the project's directory itself")
        path = os.path.join(self._directory(name, parts[:-1]), parts[-1])
        if os.path.islink(path):
            raise self._refuse(name, "replaces a link")
        if os.path.lexists(path):
            raise self._refuse(name, "is there twice")
        return path

    def directory(self, name: str) -> None:
        self._directory(name, self._parts(name))  # counted when it is made

    def file(self, name: str, source: IO[bytes], mode: int) -> None:
        self._count()
        self._stream(self._new_path(name), source, mode)

    def _stream(self, path: str, source: IO[bytes], mode: int) -> None:
        descriptor = create_exclusive(path, 0o600)
        try:
            while True:
                chunk = source.read(_CHUNK)
                if not chunk:
                    break
                if self.written + len(chunk) > self.limits.unpacked_size:
                    raise self.limits.too_large(self.display)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(descriptor, view) :]
                self.written += len(chunk)
            os.fchmod(descriptor, (mode & 0o777) or 0o644)  # never setuid, setgid or sticky
        finally:
            os.close(descriptor)

    def symlink(self, name: str, target: str) -> None:
        self._count()
        link = f"{self.display}: link {name!r}"
        check_shape(self.display, name, target)
        if not target or target.startswith("/"):
            raise UnsafeArchive(f"{link} points to the absolute path {target!r}; refused.")
        path = self._new_path(name)
        # The link's directory holds no link (checked above): its path here is its real path.
        relative = os.path.relpath(path, self.root)
        lexical = posixpath.normpath(posixpath.join(posixpath.dirname(relative), target))
        if lexical == ".." or lexical.startswith("../"):
            raise UnsafeArchive(f"{link} points out of the project ({target!r}); refused.")
        os.symlink(target, path)
        self._links[relative] = target
        self._check_link(name, relative)

    def _check_link(self, name: str, relative: str) -> None:
        if self._resolve(name, relative) is None:
            raise UnsafeArchive(
                f"{self.display}: link {name!r} ({self._links[relative]!r}) leads out of the project "
                "through other links; refused."
            )

    def _resolve(self, name: str, relative: str) -> str | None:
        """Where the path `relative` leads, relative to the root, every link resolved; None: out of it.

        What os.path.realpath does, from the links this tree made (they are the only ones in it),
        without recursion: a stack of the components still to walk.
        """
        pending = relative.split("/")[::-1]
        current, hops = "", 0
        while pending:
            part = pending.pop()
            self._steps += 1
            if self._steps > MAX_LINK_STEPS:
                raise UnsafeArchive(
                    f"{self.display}: its links chain into each other more than {MAX_LINK_STEPS} "
                    "steps in all; refused."
                )
            if part in ("", "."):
                continue
            if part == "..":
                if not current:
                    return None
                current = current.rpartition("/")[0]
                continue
            here = f"{current}/{part}" if current else part
            target = self._links.get(here)
            if target is None:
                current = here
                continue
            hops += 1
            if hops > MAX_LINK_HOPS:
                raise UnsafeArchive(
                    f"{self.display}: link {name!r} goes through more than {MAX_LINK_HOPS} links "
                    "(the kernel would not follow it); refused."
                )
            if target.startswith("/"):
                return None
            pending.extend(reversed(target.split("/")))  # from the link's directory: `current`
        return current

    def hardlink(self, name: str, linked: str, mode: int) -> None:
        """A hard link to a file that is an entry before it: a link on disk as in the archive, or a copy
        where the file system refuses one. The disk guard weighs it as that file either way (staging.py)."""
        self._count()
        parts = self._parts(linked)
        source = os.path.join(self._directory(linked, parts[:-1]), parts[-1]) if parts else self.root
        try:
            is_file = stat.S_ISREG(os.lstat(source).st_mode)
        except FileNotFoundError:
            is_file = False
        if not is_file:
            raise UnsafeArchive(f"{self.display}: hard link {name!r} has no file to point to.")
        path = self._new_path(name)
        try:  # no link on the source's way (checked above), and none followed at its end
            os.link(source, path, follow_symlinks=False)
            return
        except OSError:  # EMLINK, EPERM (no hard links on this file system): written as a copy
            pass
        descriptor = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(descriptor, "rb") as stream:
            self._stream(path, stream, mode)

    def finish(self) -> None:
        """Every link once more, now that the tree is complete: a later link may have moved where it leads."""
        for relative in self._links:
            self._check_link(relative, relative)
