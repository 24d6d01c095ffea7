"""Group bundles, the parts that need no engine: reading image archives as streams, and unpacking.

The archives are built for real here with tarfile (the layouts of `podman save`
in docker-archive and oci-archive form); the engine side is in
tests/integration/test_group_bundles.py.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import tempfile
import time
import tracemalloc
from pathlib import Path

import pytest
from tests.support.hostile import huge_extended_header
from tests.unit.test_archive import make_archive

from tedge_container.errors import ArchiveError
from tedge_container.images import contents
from tedge_container.software.group.archive.limits import LimitExceeded, Limits
from tedge_container.software.group.archive.staging import unpack
from tedge_container.software.group.bundle.members import is_bundled_image, members

LAYER = b"layer bytes " * 100
CONFIG = b'{"architecture": "amd64"}'
CONFIG_ID = hashlib.sha256(CONFIG).hexdigest()
OVER = ArchiveError("over the limit")


def _tar(files: dict[str, bytes]) -> bytes:
    with tempfile.TemporaryDirectory() as directory:
        return make_archive(Path(directory) / "a.tar", files).read_bytes()


def docker_archive(
    tag: str | None = "localhost/app:1", layer: bytes = LAYER, with_layer: bool = True
) -> bytes:
    tags = [tag] if tag else None  # `docker save` of an untagged image: RepoTags null
    manifest = [{"Config": f"{CONFIG_ID}.json", "RepoTags": tags, "Layers": ["abc/layer.tar"]}]
    files = {f"{CONFIG_ID}.json": CONFIG}
    if with_layer:
        files["abc/layer.tar"] = layer
    files["manifest.json"] = json.dumps(manifest).encode()
    return _tar(files)


def oci_archive(tag: str = "localhost/db:2") -> bytes:
    manifest = json.dumps({"config": {"digest": f"sha256:{CONFIG_ID}"}, "layers": []}).encode()
    digest = hashlib.sha256(manifest).hexdigest()
    index = {
        "manifests": [
            {"digest": f"sha256:{digest}", "annotations": {"org.opencontainers.image.ref.name": tag}}
        ]
    }
    return _tar(
        {
            "oci-layout": b'{"imageLayoutVersion": "1.0.0"}',
            f"blobs/sha256/{digest}": manifest,
            f"blobs/sha256/{CONFIG_ID}": CONFIG,
            "index.json": json.dumps(index).encode(),
        }
    )


def inspect(data: bytes, limit: int = 1 << 30) -> contents.Contents:
    return contents.inspect(io.BytesIO(data), "b.tar: images/x.tar", limit, OVER)


def test_docker_and_oci_archives_give_names_ids_and_uncompressed_size():
    plain = docker_archive()
    held = inspect(plain)
    assert held.names == ["localhost/app:1"] and held.ids == {"localhost/app:1": CONFIG_ID}
    assert held.size == len(plain)
    zipped = inspect(gzip.compress(plain))  # gzip undone as a stream: the same size as the plain one
    assert (zipped.names, zipped.ids, zipped.size) == (held.names, held.ids, len(plain))
    oci = inspect(oci_archive())
    assert oci.names == ["localhost/db:2"] and oci.ids == {"localhost/db:2": CONFIG_ID}


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (docker_archive()[:3000], "is not a whole image archive"),  # cut inside a member
        (gzip.compress(docker_archive(), mtime=0)[:-20], "is not a whole image archive"),  # gzip cut short
        (docker_archive(with_layer=False), "is incomplete: it lacks abc/layer.tar"),
        (_tar({"notes.txt": b"hello"}), "is not an image archive: it has no manifest.json"),
        (b"just some text, not a tar at all\n" * 40, "is not a whole image archive"),
        (docker_archive(tag=None), "holds no tagged image"),
    ],
)
def test_broken_image_archives_are_refused_naming_them(data: bytes, says: str):
    with pytest.raises(ArchiveError) as raised:
        inspect(data)
    assert str(raised.value).startswith("b.tar: images/x.tar "), raised.value
    assert says in str(raised.value)


def test_the_size_limit_is_counted_on_the_uncompressed_stream():
    bomb = gzip.compress(docker_archive(layer=bytes(8 << 20)))  # 8 MiB of zeros: a few kB compressed
    assert len(bomb) < 100_000
    with pytest.raises(ArchiveError) as raised:
        inspect(bomb, limit=1 << 20)
    assert raised.value is OVER


def test_an_image_archive_of_many_small_members_is_read_in_linear_time():
    # 20,000 one-byte members (the bound is 100,000): 9.6 s of CPU when the stream's 1 MiB buffer
    # was copied for each 512-byte header; 100,000 would have taken ~50 s.
    buffer, image_file = io.BytesIO(), io.BytesIO(docker_archive())
    with tarfile.open(fileobj=image_file) as image, tarfile.open(fileobj=buffer, mode="w") as tar:
        for index in range(20_000):
            member = tarfile.TarInfo(f"padding/{index}")
            member.size = 1
            tar.addfile(member, io.BytesIO(b"x"))
        for member in image.getmembers():
            tar.addfile(member, image.extractfile(member))
    started = time.process_time()
    held = inspect(buffer.getvalue())
    spent = time.process_time() - started
    assert held.names == ["localhost/app:1"]
    assert spent < 3, f"{spent:.1f} s of CPU"


def test_only_members_under_images_are_bundle_images(tmp_path: Path):
    assert is_bundled_image("images/app.tar") and is_bundled_image("./images/sub/db.tar.gz")
    assert is_bundled_image("images/")
    assert not is_bundled_image("compose.yaml") and not is_bundled_image("conf/images/x.tar")
    assert not is_bundled_image("images.tar")
    archive = tmp_path / "bundle.tar"
    archive.write_bytes(
        _tar({"compose.yaml": b"services: {}\n", "images/app.tar": docker_archive(), "conf/a": b"x"})
    )
    unpack(str(archive), str(tmp_path / "staging"), skip=is_bundled_image)
    assert sorted(p.name for p in (tmp_path / "staging").iterdir()) == ["compose.yaml", "conf"]


@pytest.mark.parametrize("compressed", [False, True])
def test_image_archives_are_read_where_unpacking_found_them(tmp_path: Path, compressed: bool):
    image = docker_archive()
    tar = _tar({"compose.yaml": b"services: {}\n", "images/app.tar": image, "conf/a": b"x"})
    archive = tmp_path / ("bundle.tar.gz" if compressed else "bundle.tar")
    archive.write_bytes(gzip.compress(tar) if compressed else tar)
    set_aside = unpack(str(archive), str(tmp_path / "staging"), skip=is_bundled_image)
    assert [member.name for member in set_aside.members] == ["images/app.tar"]
    read = [(name, size, source.read()) for name, size, source in members(str(archive), "b", set_aside)]
    assert read == [("images/app.tar", len(image), image)]


def test_entries_under_images_are_bounded_in_number_too(tmp_path: Path):
    # Not unpacked, so not counted: 200,000 empty images/ entries (a 1.2 MB tar.gz) took 102 MB
    # and 10 s of CPU to read, before any image archive was looked at.
    archive = tmp_path / "many.tar"
    archive.write_bytes(_tar({"compose.yaml": b"services: {}\n", **{f"images/{n}": b"" for n in range(51)}}))
    with pytest.raises(LimitExceeded, match=r"^many.tar holds more than 50 entries \(the limit "):
        unpack(str(archive), str(tmp_path / "staging"), Limits(entries=50), skip=is_bundled_image)
    assert not (tmp_path / "staging").exists()
    unpack(str(archive), str(tmp_path / "staging"), Limits(entries=51), skip=is_bundled_image)


def test_a_group_archive_without_images_is_not_opened_again(tmp_path: Path):
    archive = tmp_path / "plain.tar"
    archive.write_bytes(_tar({"compose.yaml": b"services: {}\n", "conf/a": b"x"}))
    set_aside = unpack(str(archive), str(tmp_path / "staging"), skip=is_bundled_image)
    archive.unlink()  # what reads it again fails
    assert list(members(str(archive), "plain.tar", set_aside)) == []


def test_a_huge_extended_header_in_an_image_archive_is_refused_in_little_memory(tmp_path: Path):
    data = huge_extended_header(tmp_path / "x.tar.gz", "{}", 300 << 20).read_bytes()
    tracemalloc.start()
    try:
        with pytest.raises(ArchiveError) as refused:
            inspect(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(refused.value).startswith(
        "b.tar: images/x.tar is not a whole image archive (a pax header of 314572800 bytes, more than 65536)"
    )
    assert peak < 8 << 20, peak
