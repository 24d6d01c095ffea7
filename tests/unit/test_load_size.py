"""What the disk guard counts for an archive load: a lower bound of its unpacked size, read without
unpacking it (images/archive.py's `unpacked_size`), from real files."""

from __future__ import annotations

import gzip
from pathlib import Path

from tedge_container.images.archive import unpacked_size
from tedge_container.labels import hostname_for


def test_a_plain_archive_counts_its_size(tmp_path: Path) -> None:
    plain = tmp_path / "app.tar"
    plain.write_bytes(b"x" * 5000)
    assert unpacked_size(str(plain)) == 5000


def test_a_gzip_archive_counts_what_its_trailer_says(tmp_path: Path) -> None:
    packed = tmp_path / "app.tar.gz"
    with gzip.open(packed, "wb") as stream:
        stream.write(bytes(3 << 20))  # 3 MiB of zeros: a few KiB packed
    assert packed.stat().st_size < 1 << 16
    assert unpacked_size(str(packed)) == 3 << 20


def test_a_gzip_trailer_smaller_than_the_file_counts_the_file(tmp_path: Path) -> None:
    # Random bytes do not shrink: the packed file is the larger bound (ISIZE also wraps at 4 GiB).
    packed = tmp_path / "random.tar.gz"
    data = bytes(range(256)) * 4
    packed.write_bytes(gzip.compress(data, compresslevel=0) + gzip.compress(b"", compresslevel=0))
    assert unpacked_size(str(packed)) == packed.stat().st_size


def test_a_missing_archive_counts_nothing(tmp_path: Path) -> None:
    assert unpacked_size(str(tmp_path / "gone.tar")) == 0


def test_hostnames_are_cut_to_a_dns_label() -> None:
    assert hostname_for("web") == "web"
    assert hostname_for("a" * 63) == "a" * 63
    assert hostname_for("a" * 62 + "-b") == "a" * 62
    assert hostname_for("a" * 61 + "._-x") == "a" * 61
    assert len(hostname_for("b" * 200)) == 63
