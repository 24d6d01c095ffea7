"""A zip's central directory, bounded before zipfile reads it (staging.py).

`zipfile.ZipFile` reads the whole central directory into memory and makes an
object of every record in it before anything can be counted: a 100 MB zip of a
million empty entries took 600 MB and 5 s of CPU to be refused. This reads the
end record as zipfile finds it (its own reader of it, zip64's included), then
walks the records from the file, one at a time, as zipfile will: it stops at
the first record past `container_group.max_entries` (for the project's files,
and again for a bundle's `images/`), at a name longer than an entry's path may
be, and refuses a directory larger than 1 KiB per entry allowed. A record it
does not find where the directory says is refused too (zipfile.BadZipFile), so
a zipfile that would read the directory elsewhere is never left to read it
whole.
"""

from __future__ import annotations

import struct
import zipfile

from .limits import MAX_ENTRIES_KEY, LimitExceeded
from .tree import MAX_PATH, UnsafeArchive

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO

    from .limits import Limits

# The records, as zipfile reads them (APPNOTE.TXT 4.3.12, 4.3.14-16).
_END = struct.Struct("<4s4H2LH")  # end of central directory
_END_SIGNATURE = b"PK\x05\x06"
_MAX_COMMENT = 0xFFFF
_LOCATOR = struct.Struct("<4sLQL")  # zip64 end of central directory locator
_LOCATOR_SIGNATURE = b"PK\x06\x07"
_END64 = struct.Struct("<4sQ2H2L4Q")  # zip64 end of central directory
_END64_SIGNATURE = b"PK\x06\x06"
_RECORD = struct.Struct("<4s4B4HL2L5H2L")  # central directory file header
_RECORD_SIGNATURE = b"PK\x01\x02"
_UTF8_FLAG = 0x800
BYTES_PER_ENTRY = 1024  # of central directory, per entry max_entries allows


def check_directory(path: str, limits: Limits, display: str, skip: Callable[[str], bool]) -> None:
    """Refuse a zip whose central directory zipfile should not be asked to read (see above)."""
    with open(path, "rb") as archive:
        found = _directory(archive)
        if found is None:  # not a zip zipfile can read: its own error says so
            return
        start, size = found
        allowed = 2 * limits.entries * BYTES_PER_ENTRY  # the project's entries and a bundle's images/
        if size > allowed:
            raise LimitExceeded(
                f"{display}: its central directory is {size} bytes, more than the {allowed} that "
                f"{MAX_ENTRIES_KEY} allows; refused."
            )
        archive.seek(start)
        _walk(archive, size, limits, display, skip)


def _directory(archive: BinaryIO) -> tuple[int, int] | None:
    """(offset, size) of the central directory as zipfile finds it; None when there is no end record.

    zipfile's own end-record reader (private, the same from 3.9 to 3.13) is asked first, so
    that both read the same record; `_own_directory` stands in should it ever go."""
    end_record = getattr(zipfile, "_EndRecData", None)
    if end_record is None:
        return _own_directory(archive)
    fields = end_record(archive)
    if not fields:
        return None
    size, offset, location = (
        fields[zipfile._ECD_SIZE],
        fields[zipfile._ECD_OFFSET],
        fields[zipfile._ECD_LOCATION],
    )
    concat = location - size - offset
    if fields[zipfile._ECD_SIGNATURE] == _END64_SIGNATURE:
        concat -= _END64.size + _LOCATOR.size
    start = offset + concat
    return (start, size) if start >= 0 else None


def _own_directory(archive: BinaryIO) -> tuple[int, int] | None:
    """_directory's reading without zipfile's help: the last end record, and zip64's before it."""
    file_size = archive.seek(0, 2)
    tail_size = min(file_size, _END.size + _MAX_COMMENT)
    archive.seek(file_size - tail_size)
    tail = archive.read(tail_size)
    at = tail.rfind(_END_SIGNATURE)
    if at < 0 or len(tail) - at < _END.size:
        return None
    end_offset = file_size - tail_size + at
    size = _END.unpack_from(tail, at)[5]
    if end_offset >= _LOCATOR.size:  # zipfile takes zip64's record whenever its locator is there
        archive.seek(end_offset - _LOCATOR.size)
        locator = archive.read(_LOCATOR.size)
        if locator[:4] == _LOCATOR_SIGNATURE and end_offset >= _LOCATOR.size + _END64.size:
            archive.seek(end_offset - _LOCATOR.size - _END64.size)
            end64 = archive.read(_END64.size)
            if end64[:4] == _END64_SIGNATURE:
                fields64 = _END64.unpack(end64)
                size = fields64[8]
                end_offset -= _LOCATOR.size + _END64.size
    # zipfile reads the directory just before the end record (an archive may have a prefix).
    start = end_offset - size
    return (start, size) if start >= 0 else None


def _walk(archive: BinaryIO, size: int, limits: Limits, display: str, skip: Callable[[str], bool]) -> None:
    """Count the records (as zipfile will make them) without keeping them."""
    kept = set_aside = walked = 0
    while walked < size:
        header = archive.read(_RECORD.size)
        if len(header) < _RECORD.size or header[:4] != _RECORD_SIGNATURE:  # refused, whatever zipfile
            raise zipfile.BadZipFile(f"no directory record at byte {archive.tell() - len(header)}")
        fields = _RECORD.unpack(header)
        flags, name_size, extra_size, comment_size = fields[5], fields[12], fields[13], fields[14]
        if name_size > MAX_PATH:
            raise UnsafeArchive(
                f"{display}: an entry's path is {name_size} bytes long, more than {MAX_PATH}; refused."
            )
        raw = archive.read(name_size)
        name = raw.decode("utf-8" if flags & _UTF8_FLAG else "cp437", "replace")
        if skip(name):
            set_aside += 1
        else:
            kept += 1
        if kept > limits.entries or set_aside > limits.entries:
            raise limits.too_many(display)
        archive.seek(extra_size + comment_size, 1)
        walked += _RECORD.size + name_size + extra_size + comment_size
