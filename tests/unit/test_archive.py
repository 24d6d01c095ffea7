"""Archive inspection on small hand-made archives (the real podman round trip is an integration test)."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import tracemalloc
from pathlib import Path

import pytest
from tests.support.hostile import huge_extended_header

from tedge_container.errors import ArchiveError
from tedge_container.images import archive


def make_archive(path: Path, members: dict[str, bytes], compress: bool = False) -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = buffer.getvalue()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def docker_archive(path: Path, tags: list[str], compress: bool = False) -> Path:
    manifest = json.dumps([{"Config": "c.json", "RepoTags": tags, "Layers": ["l.tar"]}]).encode()
    return make_archive(path, {"l.tar": b"x" * 2048, "manifest.json": manifest}, compress)


@pytest.mark.parametrize("compress", [False, True])
def test_docker_archive_names(tmp_path: Path, compress: bool) -> None:
    path = docker_archive(tmp_path / "a.tar", ["localhost/app:1", "app:latest"], compress)
    assert archive.image_names(str(path)) == ["localhost/app:1", "app:latest"]
    assert archive.select_image(str(path), "docker.io/library/app").full == "docker.io/library/app:latest"


def test_oci_archive_names(tmp_path: Path) -> None:
    index = {
        "manifests": [
            {"annotations": {"org.opencontainers.image.ref.name": "localhost/app:2"}},
            {"annotations": {"org.opencontainers.image.ref.name": "3"}},
        ]
    }
    path = make_archive(tmp_path / "o.tar", {"oci-layout": b"{}", "index.json": json.dumps(index).encode()})
    assert archive.image_names(str(path)) == ["localhost/app:2"]
    assert archive.select_image(str(path), None).full == "localhost/app:2"


def test_mismatch_names_both(tmp_path: Path) -> None:
    path = docker_archive(tmp_path / "a.tar", ["localhost/app:1"])
    with pytest.raises(ArchiveError, match=r"does not hold localhost/app:2 .*localhost/app:1"):
        archive.select_image(str(path), "localhost/app:2")


def test_untagged_archive(tmp_path: Path) -> None:
    path = docker_archive(tmp_path / "a.tar", [])
    with pytest.raises(ArchiveError, match="no tagged image"):
        archive.select_image(str(path), None)


def test_several_images_need_a_version(tmp_path: Path) -> None:
    manifest = json.dumps([{"RepoTags": ["localhost/a:1"]}, {"RepoTags": ["localhost/b:1"]}]).encode()
    path = make_archive(tmp_path / "a.tar", {"manifest.json": manifest})
    with pytest.raises(ArchiveError, match="several images"):
        archive.select_image(str(path), None)
    assert archive.select_image(str(path), "localhost/b:1").full == "localhost/b:1"


@pytest.mark.parametrize("content", [b"", b"garbage" * 1000, gzip.compress(b"garbage" * 1000, mtime=0)])
def test_garbage(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "g.tar"
    path.write_bytes(content)
    with pytest.raises(ArchiveError):
        archive.image_names(str(path))


def test_tar_without_manifest(tmp_path: Path) -> None:
    path = make_archive(tmp_path / "t.tar", {"etc/passwd": b"root:x:0:0"})
    with pytest.raises(ArchiveError, match=r"no manifest\.json or index\.json"):
        archive.image_names(str(path))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="Cannot read"):
        archive.image_names(str(tmp_path / "absent.tar"))


def test_stream_decompresses(tmp_path: Path) -> None:
    plain = docker_archive(tmp_path / "p.tar", ["localhost/app:1"])
    packed = docker_archive(tmp_path / "p.tar.gz", ["localhost/app:1"], compress=True)
    assert b"".join(archive.stream(str(packed))) == plain.read_bytes()


def test_a_huge_extended_header_is_refused_before_tarfile_holds_it(tmp_path: Path):
    # 300 MiB of zeros as a pax header, a 300 KB file: held whole by tarfile before.
    path = huge_extended_header(tmp_path / "image.tar.gz", "{}", 300 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(ArchiveError) as refused:
            archive.image_names(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "(a pax header of 314572800 bytes, more than 65536)" in str(refused.value)
    assert peak < 8 << 20, peak
