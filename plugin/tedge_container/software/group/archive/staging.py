"""Unpacking `--file` into the staging directory: a compose file, or a tar/tar.gz/zip of a project.

Nothing in an archive may land outside the staging directory: absolute
names, `..` components, links that lead out of it (through other links too),
writing through any link, device files and FIFOs are all refused (exit 2,
naming the entry); see tree.py. Modes are kept without setuid/setgid bits.
Entries are written by this code, not by `tarfile.extractall`, so the rules
are the same on every Python version. The size an archive unpacks to and its
number of entries are bounded (limits.py), and the disk guard is asked first.
The headers are read once (a 10,000-entry archive of long names is seconds of
pure-Python parsing per read): the checks, the extraction and the members set
aside for another reader (SetAside: the bundle's images/) all use that read.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator
from typing import NamedTuple

from .... import log
from ..errors import ProjectError
from ..project import COMPOSE_FILES
from .layout import VERSION_FILE
from .removal import remove_tree
from .tree import SafeTree, UnsafeArchive, check_shape

TYPE_CHECKING = False
if TYPE_CHECKING:
    import tarfile
    import zipfile
    from typing import Any

    from .limits import Limits

__all__ = ["PLAIN_FILE_NAME", "SetAside", "Skip", "UnsafeArchive", "archive_kind", "unpack"]

# A compose file given as such is stored under the Go plugin's name for it.
PLAIN_FILE_NAME = "docker-compose.yaml"

# `skip(name)`: True for an entry that is not part of the project's files (not
# unpacked, not counted against the project's limits), e.g. one another step reads;
# such entries are counted apart, against the same limit on entries (each is kept).
Skip = Callable[[str], bool]


class SetAside(NamedTuple):
    """The members `skip` set aside, found by the same read of the archive's headers as the rest: whoever
    reads them (bundle/members.py) opens the archive at them, without parsing its headers again."""

    kind: str  # archive_kind's answer: "tar", "zip" or "yaml" (nothing set aside)
    members: list[Any]  # tarfile.TarInfo or zipfile.ZipInfo, in the archive's order


def _never(name: object) -> bool:
    return False


def _tar_members(tar: tarfile.TarFile, limits: Limits, display: str, skip: Skip) -> tuple[list, list, int]:
    """(members to unpack, members set aside by `skip`, the size the first unpack to), from one read
    of the headers; refused at once past a limit (a header is an upper bound: the bytes are counted again
    while they are written). A hard link weighs what the file it names weighs: the disk guard counts
    it so whether it is written as a link or as a copy. Names too deep or too long are refused here
    too, before a byte is written."""
    from ....tarheaders import sparse

    total = entries = 0
    sizes: dict[str, int] = {}  # file member → its size, for the hard links to it
    kept: list[tarfile.TarInfo] = []
    set_aside: list[tarfile.TarInfo] = []
    for member in tar:  # read lazily: stops at the first member past a limit
        member.pax_headers = {}  # a copy of its long name, read already: 20 MB for 10,000 2 KB names
        if skip(member.name):
            set_aside.append(member)
            if len(set_aside) > limits.entries:  # kept for their reader: bounded as the others are
                raise limits.too_many(display)
            continue
        entries += 1
        if entries > limits.entries:
            raise limits.too_many(display)
        check_shape(display, member.name, member.linkname if member.issym() else "")
        if member.sparse is not None:  # the other kinds are refused while tarfile reads them
            raise UnsafeArchive(f"{display}: {sparse(member.name)}; refused.")
        if member.isfile():
            size = sizes[_key(member.name)] = member.size
        elif member.islnk():
            size = sizes[_key(member.name)] = sizes.get(_key(member.linkname), 0)
        else:
            size = 0
        total += size
        if total > limits.unpacked_size:
            raise limits.too_large(display)
        kept.append(member)
    return kept, set_aside, total


def _key(name: str) -> str:
    return "/".join(part for part in name.replace("\\", "/").split("/") if part not in ("", "."))


def _extract_tar(tar: tarfile.TarFile, members: list, tree: SafeTree) -> None:
    """Write `members` (headers read already: _tar_members); the data is read in the archive's order."""
    for member in members:
        if member.isdir():
            tree.directory(member.name)
        elif member.isfile():
            source = tar.extractfile(member)
            if source is None:
                raise UnsafeArchive(f"{tree.display}: entry {member.name!r} cannot be read.")
            tree.file(member.name, source, member.mode)
        elif member.issym():
            tree.symlink(member.name, member.linkname)
        elif member.islnk():
            tree.hardlink(member.name, member.linkname, member.mode)
        else:
            kind = "FIFO" if member.isfifo() else "device" if member.isdev() else "special file"
            raise UnsafeArchive(f"{tree.display}: entry {member.name!r} is a {kind}; refused.")


def _zip_size(members: list[zipfile.ZipInfo], limits: Limits, display: str) -> int:
    if len(members) > limits.entries:
        raise limits.too_many(display)
    for info in members:
        check_shape(display, info.filename)
    total = sum(info.file_size for info in members)
    if total > limits.unpacked_size:
        raise limits.too_large(display)
    return total


def _extract_zip(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], tree: SafeTree) -> None:
    for info in members:
        mode = info.external_attr >> 16
        if info.is_dir():
            tree.directory(info.filename)
        elif stat.S_ISLNK(mode):
            with archive.open(info) as source:  # a link's target is its content: read, bounded
                target = source.read(4096).decode("utf-8", "replace")
            tree.symlink(info.filename, target)
        elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # zip tools often record no type
            raise UnsafeArchive(f"{tree.display}: entry {info.filename!r} is a special file; refused.")
        else:
            with archive.open(info) as source:
                tree.file(info.filename, source, mode & 0o777)


_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ")  # gzip, bzip2, xz: a compressed tar (tarheaders.py)


def archive_kind(path: str) -> str:
    """What `path` holds, from its first bytes: "zip", "tar", "yaml", or "" when none fits.

    Sniffed here, so that a plain compose file needs neither tarfile nor zipfile; bundle/images.py
    reads the same file by the same answer.
    """
    with open(path, "rb") as stream:
        head = stream.read(4096)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(_COMPRESSED) or head[257:262] == b"ustar":
        return "tar"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    return "yaml" if b"\x00" not in head else ""


def unpack(
    file: str,
    staging: str,
    limits: Limits | None = None,
    reserve: Callable[[int], None] | None = None,
    skip: Skip | None = None,
) -> SetAside:
    """Put the project of `file` into `staging` (made afresh); what `skip` set aside (SetAside).

    `reserve(size)` is called with what the files will take (the members' sizes,
    or the file's) before anything is written: the disk guard. `skip`: see Skip.
    The archive's headers are read once: the limits, the extraction and the
    members set aside all use that one read.
    """
    from .limits import Limits

    limits, skip = limits or Limits(), skip or _never
    display = os.path.basename(file)
    if not os.path.isfile(file):
        raise ProjectError(f"{file} does not exist or is not a file.")
    remove_tree(staging)
    os.makedirs(staging, mode=0o750)
    tree = SafeTree(staging, display, limits)
    try:
        set_aside = _fill(file, tree, reserve, skip)
    except BaseException:
        with contextlib.suppress(OSError):
            remove_tree(staging)  # nothing half-checked is left (links above all)
        raise
    recorded = os.path.join(tree.root, VERSION_FILE)
    if os.path.lexists(recorded):  # the plugin's record of the installed version
        log.warning(f"{display}: the top-level file {VERSION_FILE!r} is replaced by the version record.")
        remove_tree(recorded)
    return set_aside


def _fill(file: str, tree: SafeTree, reserve: Callable[[int], None] | None, skip: Skip) -> SetAside:
    display, limits = tree.display, tree.limits
    set_aside: list[Any] = []
    try:
        kind = archive_kind(file)
        if kind == "zip":
            set_aside = _unpack_zip(file, tree, reserve, skip)
        elif kind == "tar":
            set_aside = _unpack_tar(file, tree, reserve, skip)
        elif kind == "yaml":
            needed = os.path.getsize(file)
            limits.check_compose_size(display, needed)  # before a byte of it is copied
            if reserve is not None:
                reserve(needed)
            with open(file, "rb") as source:
                tree.file(PLAIN_FILE_NAME, source, 0o644)
        else:
            raise ProjectError(
                f"{display} is neither a compose file (YAML) nor a tar, tar.gz or zip archive "
                f"holding one of {', '.join(COMPOSE_FILES)}."
            )
        tree.finish()
    except (EOFError, OSError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ProjectError(f"{display} cannot be unpacked: {reason}.") from None
    return SetAside(kind, set_aside)


@contextlib.contextmanager
def _readable(display: str, kind: str, *error_types: type[Exception]) -> Iterator[None]:
    """The archive library's own error as the operator's line."""
    try:
        yield
    except error_types as error:
        raise ProjectError(f"{display} is not a readable {kind} archive ({error}).") from None


def _unpack_tar(file: str, tree: SafeTree, reserve: Callable[[int], None] | None, skip: Skip) -> list[Any]:
    import tarfile

    from ....tarheaders import HeaderRefused, decompression_errors, open_tar

    # Random access, not a stream: tarfile's stream reader copies its whole buffer for each
    # 512-byte header (quadratic in a gzip stream's decompressed buffer); this one reads headers in
    # place, and going back to the first member's data decompresses the archive once more, in order.
    try:
        with _readable(tree.display, "tar", tarfile.TarError, *decompression_errors()), open_tar(file) as tar:
            kept, set_aside, size = _tar_members(tar, tree.limits, tree.display, skip)
            (reserve or _never)(size)
            _extract_tar(tar, kept, tree)
    except HeaderRefused as refused:
        raise UnsafeArchive(f"{tree.display}: {refused}; refused.") from None
    return set_aside


def _unpack_zip(file: str, tree: SafeTree, reserve: Callable[[int], None] | None, skip: Skip) -> list[Any]:
    import zipfile

    from .zipdirectory import check_directory

    with _readable(tree.display, "zip", zipfile.BadZipFile):
        check_directory(file, tree.limits, tree.display, skip)  # before zipfile reads it whole
        with zipfile.ZipFile(file) as archive:
            kept, set_aside = [], []
            for info in archive.infolist():
                (set_aside if skip(info.filename) else kept).append(info)
            if len(set_aside) > tree.limits.entries:
                raise tree.limits.too_many(tree.display)
            (reserve or _never)(_zip_size(kept, tree.limits, tree.display))
            _extract_zip(archive, kept, tree)
    return set_aside
