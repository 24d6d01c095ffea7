"""Reading a tar archive from the cloud so that no header makes tarfile hold more than a bounded amount.

tarfile reads an extended header (pax, or GNU's long name and link) into
memory whole, whatever size its own header claims: 300 MiB of zeros in a
300 KB tar.gz became 300 MiB of memory (600 MiB with a stream reader)
before the member after it was looked at. A sparse file's map is read the
same way, as long as the archive says it goes on. So extended headers are
bounded (MAX_EXTENDED_HEADER: a group's entry names are at most 2 KB anyway),
and sparse files (`tar --sparse`, which projects have no use for) are
refused, while the headers are read, before anything past them is held
(the pax 0.x kinds, whose maps are in a bounded header, once read: the group's
staging.py). Used for group archives, their bundles' image archives, and
`container --file` image archives: BoundedHeader as tarfile's `tarinfo`.
"""

from __future__ import annotations

import tarfile

# Bytes of one pax or GNU long-name header: a few names and attributes (2 KB names, xattrs).
MAX_EXTENDED_HEADER = 64 << 10

# A compressed tar, by its first bytes: tarfile's mode for it.
COMPRESSION = {b"\x1f\x8b": "r:gz", b"BZh": "r:bz2", b"\xfd7zXZ": "r:xz"}


class HeaderRefused(Exception):
    """A header tarfile would read into memory unbounded; the text says which (the caller adds the file).

    Not a tarfile.TarError: tarfile takes a bad header after the first for the end of the archive.
    """


class BoundedHeader(tarfile.TarInfo):
    """tarfile's own header reader, refusing what it would hold unbounded."""

    def _proc_pax(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        self._bounded("a pax header")
        return super()._proc_pax(archive)  # type: ignore[misc]

    def _proc_gnulong(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        self._bounded("a GNU long-name header")
        return super()._proc_gnulong(archive)  # type: ignore[misc]

    def _bounded(self, what: str) -> None:
        if self.size > MAX_EXTENDED_HEADER:
            raise HeaderRefused(f"{what} of {self.size} bytes, more than {MAX_EXTENDED_HEADER}")

    def _proc_sparse(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        raise HeaderRefused(sparse(self.name))

    def _proc_gnusparse_10(self, member: tarfile.TarInfo, *arguments: object) -> None:
        raise HeaderRefused(sparse(member.name))


def sparse(name: str) -> str:
    return f"entry {name!r} is a sparse file (made with tar --sparse)"


def tar_mode(file: str) -> str:
    """The mode for `file`, from its first bytes ("r:*" would try each and list every failure)."""
    with open(file, "rb") as stream:
        head = stream.read(6)
    return next((mode for magic, mode in COMPRESSION.items() if head.startswith(magic)), "r:")


def open_tar(file: str) -> tarfile.TarFile:
    """`file` for random access (its headers read in place, its members' data where they are)."""
    return tarfile.open(file, mode=tar_mode(file), tarinfo=BoundedHeader)


def decompression_errors() -> tuple[type[Exception], ...]:
    """Corrupt data as the decompressors say it (read in random access, it is not a tarfile error)."""
    import zlib

    try:
        from lzma import LZMAError
    except ImportError:  # a Python built without lzma reads no .tar.xz: tarfile says so
        return (zlib.error,)
    return (zlib.error, LZMAError)
