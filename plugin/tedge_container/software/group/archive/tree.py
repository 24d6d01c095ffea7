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
  (os.path.realpath), when it is made and again once the last entry is in:
  a later link can change where an earlier one leads;
- unpacked bytes and entries are counted while streaming, against the
  `container_group.max_*` limits, before the bytes past a limit are written.
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


class UnsafeArchive(ProjectError):
    """An archive entry would escape the staging directory or is a device (exit 2)."""


class SafeTree:
    """The staging directory being filled from an archive named `display`."""

    def __init__(self, root: str, display: str, limits: Limits) -> None:
        self.root = os.path.realpath(root)
        self.display = display
        self.limits = limits
        self.written = 0
        self.entries = 0
        self._links: list[tuple[str, str]] = []

    def _refuse(self, name: str, why: str) -> UnsafeArchive:
        return UnsafeArchive(f"{self.display}: entry {name!r} {why}; refused.")

    def _count(self) -> None:
        self.entries += 1
        if self.entries > self.limits.entries:
            raise self.limits.too_many(self.display)

    def _parts(self, name: str) -> list[str]:
        normalized = name.replace("\\", "/")
        if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":"):
            raise self._refuse(name, "has an absolute path")
        parts = [part for part in normalized.split("/") if part not in ("", ".")]
        if ".." in parts:
            raise self._refuse(name, "leads out of the project with '..'")
        return parts

    def _directory(self, name: str, parts: list[str]) -> str:
        """The real directory `parts` names, made where missing; refuses links and files on the way."""
        current = self.root
        for depth, part in enumerate(parts, start=1):
            current = os.path.join(current, part)
            try:
                mode = os.lstat(current).st_mode
            except FileNotFoundError:
                os.mkdir(current, 0o755)
                continue
            if stat.S_ISLNK(mode):
                raise self._refuse(name, f"would be written through the link {'/'.join(parts[:depth])!r}")
            if not stat.S_ISDIR(mode):
                raise self._refuse(name, f"would be written below the file {'/'.join(parts[:depth])!r}")
        return current

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
        self._count()
        self._directory(name, self._parts(name))

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
        if not target or target.startswith("/"):
            raise UnsafeArchive(f"{link} points to the absolute path {target!r}; refused.")
        path = self._new_path(name)
        # The link's directory holds no link (checked above): its path here is its real path.
        directory = os.path.relpath(os.path.dirname(path), self.root)
        lexical = posixpath.normpath(posixpath.join(directory, target))
        if lexical == ".." or lexical.startswith("../"):
            raise UnsafeArchive(f"{link} points out of the project ({target!r}); refused.")
        os.symlink(target, path)
        self._links.append((name, path))
        self._check_link(name, path, target)

    def _check_link(self, name: str, path: str, target: str) -> None:
        resolved = os.path.realpath(path)
        if resolved != self.root and not resolved.startswith(self.root + os.sep):
            raise UnsafeArchive(
                f"{self.display}: link {name!r} ({target!r}) leads out of the project through other links; "
                "refused."
            )

    def hardlink(self, name: str, linked: str, mode: int) -> None:
        """A hard link is stored as a copy of the file it names (which must be an entry before it)."""
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
        descriptor = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(descriptor, "rb") as stream:
            self._stream(path, stream, mode)

    def finish(self) -> None:
        """Every link once more, now that the tree is complete: a later link may have moved where it leads."""
        for name, path in self._links:
            self._check_link(name, path, os.readlink(path))
