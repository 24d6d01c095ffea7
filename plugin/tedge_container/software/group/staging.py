"""Unpacking `--file` into the staging directory: a compose file, or a tar/tar.gz/zip of a project.

Nothing in an archive may land outside the staging directory: absolute
names, `..` components, links whose target leaves it, writing through a link,
device files and FIFOs are all refused (exit 2, naming the entry). Modes are
kept without setuid/setgid bits. Entries are written by this code, not by
`tarfile.extractall`, so the rules are the same on every Python version.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat

from ... import log
from .bundle import is_bundled_image
from .layout import VERSION_FILE
from .project import COMPOSE_FILES, ProjectError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import tarfile
    import zipfile
    from typing import IO

# A compose file given as such is stored under the Go plugin's name for it.
PLAIN_FILE_NAME = "docker-compose.yaml"
_CHUNK = 1 << 20


class UnsafeArchive(ProjectError):
    """An archive entry would escape the staging directory or is a device (exit 2)."""


def _member_path(root: str, name: str, display: str) -> str:
    """The absolute path of archive member `name` below `root`; refuses escapes."""
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":"):
        raise UnsafeArchive(f"{display}: entry {name!r} has an absolute path; refused.")
    parts = [part for part in normalized.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchive(f"{display}: entry {name!r} leads out of the project with '..'; refused.")
    if not parts:
        return root
    path = os.path.join(root, *parts)
    # A link extracted earlier must not be written through.
    parent = os.path.realpath(os.path.dirname(path))
    if parent != root and not parent.startswith(root + os.sep):
        raise UnsafeArchive(f"{display}: entry {name!r} would be written through a link out of the project.")
    if os.path.islink(path):
        raise UnsafeArchive(f"{display}: entry {name!r} replaces a link; refused.")
    return path


def _check_link_target(root: str, path: str, target: str, name: str, display: str) -> None:
    if not target or target.startswith("/"):
        raise UnsafeArchive(f"{display}: link {name!r} points to the absolute path {target!r}; refused.")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(os.path.relpath(path, root)), target))
    if resolved == ".." or resolved.startswith("../"):
        raise UnsafeArchive(f"{display}: link {name!r} points out of the project ({target!r}); refused.")


def _write(path: str, source: IO[bytes], mode: int) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "xb") as target:
        shutil.copyfileobj(source, target, _CHUNK)
    os.chmod(path, (mode & 0o777) or 0o644)


def _extract_tar(path: str, root: str, display: str) -> None:
    import tarfile

    try:
        with tarfile.open(path, mode="r:*") as tar:
            _extract_tar_members(tar, root, display)
    except tarfile.TarError as error:
        raise ProjectError(f"{display} is not a readable tar archive ({error}).") from None


def _extract_tar_members(tar: tarfile.TarFile, root: str, display: str) -> None:
    for member in tar:
        if is_bundled_image(member.name):  # image archives: streamed to the engine by bundle.py
            continue
        target = _member_path(root, member.name, display)
        if member.isdir():
            os.makedirs(target, exist_ok=True)
        elif member.isfile():
            source = tar.extractfile(member)
            if source is None:
                raise UnsafeArchive(f"{display}: entry {member.name!r} cannot be read.")
            _write(target, source, member.mode)
        elif member.issym():
            _check_link_target(root, target, member.linkname, member.name, display)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.symlink(member.linkname, target)
        elif member.islnk():
            linked = _member_path(root, member.linkname, display)
            if not os.path.isfile(linked) or os.path.islink(linked):
                raise UnsafeArchive(f"{display}: hard link {member.name!r} has no file to point to.")
            with open(linked, "rb") as source:
                _write(target, source, member.mode)
        else:
            kind = "FIFO" if member.isfifo() else "device" if member.isdev() else "special file"
            raise UnsafeArchive(f"{display}: entry {member.name!r} is a {kind}; refused.")


def _extract_zip(path: str, root: str, display: str) -> None:
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            _extract_zip_members(archive, root, display)
    except zipfile.BadZipFile as error:
        raise ProjectError(f"{display} is not a readable zip archive ({error}).") from None


def _extract_zip_members(archive: zipfile.ZipFile, root: str, display: str) -> None:
    for info in archive.infolist():
        if is_bundled_image(info.filename):  # image archives: streamed to the engine by bundle.py
            continue
        target = _member_path(root, info.filename, display)
        mode = info.external_attr >> 16
        if info.is_dir():
            os.makedirs(target, exist_ok=True)
        elif stat.S_ISLNK(mode):
            link = archive.read(info).decode("utf-8", "replace")
            _check_link_target(root, target, link, info.filename, display)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.symlink(link, target)
        elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # zip tools often record no type
            raise UnsafeArchive(f"{display}: entry {info.filename!r} is a special file; refused.")
        else:
            with archive.open(info) as source:
                _write(target, source, mode & 0o777)


_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ")  # gzip, bzip2, xz: a compressed tar


def _kind(path: str) -> str:
    """What `path` holds, from its first bytes: "zip", "tar", "yaml", or "" when none fits.

    Sniffed here, so that a plain compose file needs neither tarfile nor zipfile.
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


def unpack(file: str, staging: str) -> None:
    """Put the project of `file` into `staging` (made afresh)."""
    display = os.path.basename(file)
    if not os.path.isfile(file):
        raise ProjectError(f"{file} does not exist or is not a file.")
    if os.path.lexists(staging):
        shutil.rmtree(staging)
    os.makedirs(staging, mode=0o750)
    root = os.path.realpath(staging)
    try:
        kind = _kind(file)
        if kind == "zip":
            _extract_zip(file, root, display)
        elif kind == "tar":
            _extract_tar(file, root, display)
        elif kind == "yaml":
            with open(file, "rb") as source:
                _write(os.path.join(root, PLAIN_FILE_NAME), source, 0o644)
        else:
            raise ProjectError(
                f"{display} is neither a compose file (YAML) nor a tar, tar.gz or zip archive "
                f"holding one of {', '.join(COMPOSE_FILES)}."
            )
    except (EOFError, OSError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ProjectError(f"{display} cannot be unpacked: {reason}.") from None
    recorded = os.path.join(root, VERSION_FILE)
    if os.path.lexists(recorded):  # the plugin's record of the installed version
        log.warning(f"{display}: the top-level file {VERSION_FILE!r} is replaced by the version record.")
        if os.path.isdir(recorded) and not os.path.islink(recorded):
            shutil.rmtree(recorded)
        else:
            os.unlink(recorded)
