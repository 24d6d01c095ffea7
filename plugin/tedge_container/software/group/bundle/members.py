"""A group archive's `images/` members: which they are, and reading them as streams (images.py).

Shared by the install (`is_bundled_image`: archive/staging.py never unpacks them, and sets them
aside in the same read of the archive's headers) and images.py (inspect and load). They are read
from the group archive, tar (plain or compressed) or zip, where unpacking found them, as streams:
nothing is copied into data_dir.
"""

from __future__ import annotations

import stat

from ....images import references
from ..errors import ProjectError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import IO

    from ....images import contents  # imported where an archive is read: tarfile, gzip (~5 ms)
    from ..archive.staging import SetAside

IMAGES_DIR = "images"


def member_path(name: str) -> str:
    """A member's name as the path it stands for (`./images//a.tar` is `images/a.tar`)."""
    return "/".join(part for part in name.replace("\\", "/").split("/") if part not in ("", "."))


def is_bundled_image(name: str) -> bool:
    """True for a group archive member under `images/`: an image archive, loaded here, never unpacked."""
    return member_path(name).split("/", 1)[0] == IMAGES_DIR


class BundleError(ProjectError):
    """A bundle that cannot be installed, found before anything running is touched (exit 2)."""


class ImageArchive:
    """One member under images/: what it holds, and what became of it."""

    __slots__ = ("contents", "display", "load", "member", "stored")

    def __init__(self, member: str, stored: int, display: str, held: contents.Contents) -> None:
        self.member = member
        self.stored = stored  # bytes in the group archive (compressed, for a gzip member)
        self.display = display
        self.contents = held
        self.load = True  # False when the engine has every image of it, with the same id

    def references(self) -> dict[str, str]:
        """Full name → the id it was saved with ("" when the archive does not say)."""
        from ....images.contents import plain_id

        found = {}
        for name in self.contents.names:
            parsed = references.try_parse(name)
            if parsed is not None:
                found[parsed.full] = plain_id(self.contents.ids.get(name, ""))
        return found


def members(file: str, display: str, set_aside: SetAside) -> Iterator[tuple[str, int, IO[bytes]]]:
    """(name, stored size, stream) of every image archive in the group archive, in its order.

    `set_aside`: the members under images/ that unpacking found (archive/staging.py); the group
    archive is opened at them, its headers are not read again. Nothing set aside: not opened at all.
    """
    zipped = set_aside.kind == "zip"
    entries = [entry for entry in set_aside.members if not (entry.is_dir() if zipped else entry.isdir())]
    if not entries:
        return
    if zipped:
        import zipfile

        with zipfile.ZipFile(file) as archive:
            for info in entries:
                if stat.S_IFMT(info.external_attr >> 16) not in (0, stat.S_IFREG):
                    raise BundleError(
                        f"{display}: {info.filename} is not a file; images/ holds image archives."
                    )
                with archive.open(info) as source:  # read decompressed: its size is file_size
                    yield info.filename, info.file_size, source
        return
    from ....tarheaders import open_tar

    with open_tar(file) as tar:  # reads the first header; the rest are known
        for member in entries:
            source = tar.extractfile(member) if member.isfile() else None
            if source is None:
                raise BundleError(f"{display}: {member.name} is not a file; images/ holds image archives.")
            yield member.name, member.size, source
