"""Zip archives whose central directory would be the cost: bounded before zipfile reads it.

zipfile reads the whole central directory and makes an object of every record before
anything can be counted (a 100 MB zip of a million empty entries: 600 MB and 5 s of CPU to
refuse it). The plugin walks the directory itself first (archive/zipdirectory.py). Real zips,
made by zipfile, in-process: memory measured with tracemalloc.
"""

from __future__ import annotations

import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from tedge_container.software.group.archive import staging, zipdirectory
from tedge_container.software.group.archive.limits import LimitExceeded, Limits
from tedge_container.software.group.archive.tree import UnsafeArchive
from tedge_container.software.group.bundle.members import is_bundled_image
from tedge_container.software.group.errors import ProjectError

COMPOSE = "services:\n  web:\n    image: localhost/app:1\n"


def zip_of(path: Path, names: list[str], extra: bytes = b"", prefix: bytes = b"") -> Path:
    """A zip of compose.yaml and empty entries `names` (each with `extra`), after `prefix` bytes."""
    with open(path, "wb") as raw:
        raw.write(prefix)
        with zipfile.ZipFile(raw, "w") as archive:
            archive.writestr("compose.yaml", COMPOSE)
            for name in names:
                info = zipfile.ZipInfo(name)
                info.extra = extra
                archive.writestr(info, b"")
    return path


def unpacked_peak(archive: Path, staging_dir: Path, limits: Limits) -> tuple[BaseException | None, int]:
    """What unpacking `archive` raised (None: it unpacked) and its peak of traced memory."""
    tracemalloc.start()
    try:
        try:
            staging.unpack(str(archive), str(staging_dir), limits, skip=is_bundled_image)
            raised = None
        except (LimitExceeded, UnsafeArchive) as error:
            raised = error
        return raised, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_zip64_directory_of_70000_entries_is_refused_before_zipfile_reads_it(tmp_path: Path):
    # More than 65,535 entries: zipfile writes zip64's end records, which are read as zipfile reads them.
    archive = zip_of(tmp_path / "many.zip", [f"f{index}" for index in range(70_000)])
    refused, peak = unpacked_peak(archive, tmp_path / "staging", Limits())
    assert (
        str(refused)
        == "many.zip holds more than 10000 entries (the limit container_group.max_entries); refused."
    )
    assert peak < 4 << 20, peak  # 44 MB traced when zipfile read it all first
    assert not (tmp_path / "staging").exists()


def test_images_entries_count_on_their_own(tmp_path: Path):
    limits = Limits(entries=50)
    fits = zip_of(tmp_path / "fits.zip", [f"images/{i}" for i in range(50)] + [f"f{i}" for i in range(49)])
    raised, _ = unpacked_peak(fits, tmp_path / "staging", limits)
    assert raised is None and (tmp_path / "staging" / "f48").is_file()
    too_many = zip_of(tmp_path / "images.zip", [f"images/{i}" for i in range(51)])
    refused, _ = unpacked_peak(too_many, tmp_path / "staging2", limits)
    assert (
        str(refused)
        == "images.zip holds more than 50 entries (the limit container_group.max_entries); refused."
    )


def test_a_directory_larger_than_its_entries_need_is_refused(tmp_path: Path):
    # 40 entries (50 allowed) with 4 KiB of extra field each: 164 KB of directory, 100 KiB allowed.
    archive = zip_of(
        tmp_path / "extra.zip", [f"f{i}" for i in range(40)], extra=b"\xfe\xca\x00\x10" + bytes(4096)
    )
    refused, _ = unpacked_peak(archive, tmp_path / "staging", Limits(entries=50))
    assert isinstance(refused, LimitExceeded)
    assert str(refused).startswith("extra.zip: its central directory is ")
    assert str(refused).endswith(
        " bytes, more than the 102400 that container_group.max_entries allows; refused."
    )


def test_a_name_longer_than_a_path_may_be_is_refused_unread(tmp_path: Path):
    archive = zip_of(tmp_path / "long.zip", ["x" * 3000])
    refused, _ = unpacked_peak(archive, tmp_path / "staging", Limits())
    assert str(refused) == "long.zip: an entry's path is 3000 bytes long, more than 2048; refused."


@pytest.mark.parametrize("kind", ["plain", "prefixed", "zip64"])
def test_the_stand_in_reads_the_directory_where_zipfile_does(tmp_path: Path, kind: str):
    # zipdirectory asks zipfile's private end-record reader; should a Python drop it, its own
    # reading takes over. Both must find the same directory (a missing reader can't be made for real).
    names = [f"f{i}" for i in range(70_000 if kind == "zip64" else 30)]
    archive = zip_of(tmp_path / "a.zip", names, prefix=b"x" * 4000 if kind == "prefixed" else b"")
    with open(archive, "rb") as raw:
        theirs = zipdirectory._directory(raw)
        ours = zipdirectory._own_directory(raw)
    with zipfile.ZipFile(archive) as opened:
        assert theirs == ours == (opened.start_dir, ours[1])  # type: ignore[index]


def test_a_zip_spanning_disks_is_refused_in_one_line(tmp_path: Path):
    # A zip64 locator before the end record claiming two disks: zipfile's reader refuses it, and that
    # refusal is the operator's line (it was "Unexpected BadZipFile ...; please report this").
    archive = zip_of(tmp_path / "multi.zip", [])
    data = archive.read_bytes()
    end = data.rfind(b"PK\x05\x06")
    archive.write_bytes(data[:end] + struct.pack("<4sLQL", b"PK\x06\x07", 0, 0, 2) + data[end:])
    with pytest.raises(ProjectError) as refused:
        staging.unpack(str(archive), str(tmp_path / "staging"), Limits(), skip=is_bundled_image)
    assert str(refused.value).startswith("multi.zip is not a readable zip archive (zipfiles that span")
    assert not (tmp_path / "staging").exists()


def test_a_directory_record_not_where_the_directory_says_is_refused(tmp_path: Path):
    # Should a zipfile ever find the directory elsewhere than the walk (a Python's patched reader),
    # the walk refuses rather than leave zipfile to read a directory it did not count.
    archive = zip_of(tmp_path / "moved.zip", [f"f{i}" for i in range(3)])
    data = bytearray(archive.read_bytes())
    first = data.find(b"PK\x01\x02")
    data[first : first + 4] = b"PK\x09\x09"
    archive.write_bytes(bytes(data))
    with pytest.raises(ProjectError) as refused:
        staging.unpack(str(archive), str(tmp_path / "staging"), Limits(), skip=is_bundled_image)
    assert (
        str(refused.value)
        == f"moved.zip is not a readable zip archive (no directory record at byte {first})."
    )
