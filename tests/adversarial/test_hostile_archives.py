"""Compose archives that try to write outside the project, through links made by earlier entries."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import Plugin
from tests.support.group import Group, app, compose, last_line, tar_entries, tar_of
from tests.support.hostile import gzip_bomb, huge_extended_header
from tests.support.images import TestImages

from tedge_container.software.group.archive import layout, staging
from tedge_container.software.group.archive.limits import LimitExceeded, Limits
from tedge_container.software.group.archive.tree import SafeTree, UnsafeArchive
from tedge_container.software.group.errors import ProjectError

DEEP = "a/b/c/d/e/f/g/h"  # eight levels: `l` below it points back at the project's root


def link(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def chained_link_archive(path: Path, compose_text: str, victim: Path) -> Path:
    """The issue's archive: `l` is the root (lexically deep), so `l/...` lands at the top, physically."""
    with tarfile.open(path, "w") as tar:
        data = compose_text.encode()
        info = tarfile.TarInfo("docker-compose.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        tar.addfile(link(f"{DEEP}/l", "../" * 8))
        # Nine levels up lexically is the root again; physically (at the top) it is `/`.
        tar.addfile(link(f"{DEEP}/l/version.tedge-tmp", "../" * 9 + str(victim).lstrip("/")))
        tar.addfile(link(f"{DEEP}/l/x", "../" * 9))
    return path


def links_out(directory: Path) -> list[str]:
    root = directory.resolve()
    return [
        str(path)
        for path in directory.rglob("*")
        if path.is_symlink() and root not in (path.resolve(), *path.resolve().parents)
    ]


def test_chained_links_cannot_write_outside_the_project(
    group: Group, test_images: TestImages, tmp_path: Path
):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    archive = chained_link_archive(tmp_path / "chained.tar", compose({"web": app(test_images.app1)}), victim)
    result = group.install("chained", "1", archive)
    assert victim.read_text() == "precious\n"
    assert result.returncode == 2, result.stderr
    assert "written through the link" in last_line(result), last_line(result)
    assert "refused" in last_line(result)
    compose_root = group.data_dir / "compose"
    assert links_out(compose_root) == []
    assert list(compose_root.iterdir()) == []
    assert group.modules() == ""


def test_a_gzip_bomb_is_refused_before_its_bytes_are_written(
    plugin: Plugin, test_images: TestImages, tmpfs, tmp_path: Path
):
    data_dir = tmpfs(48)  # a bomb unpacked past the limit would fill it: "No space left", not the limit
    group = Group(plugin, data_dir)
    plugin.set("container_group", "max_unpacked_size", "16MiB")
    plugin.set("container", "min_free_space", 0)
    bomb = gzip_bomb(tmp_path / "bomb.tar.gz", 3 << 30, compose({"web": app(test_images.app1)}))
    assert bomb.stat().st_size < 4 << 20  # 3 GiB of zeros in about 3 MB
    result = group.install("bomb", "1", bomb)
    assert result.returncode == 2, result.stderr
    assert last_line(result) == (
        "Installing group bomb 1 failed: bomb.tar.gz unpacks to more than 16 MiB "
        "(the limit container_group.max_unpacked_size); refused. "
        "Raise it if the project really is that large."
    )
    assert [path.name for path in data_dir.rglob("*")] == ["compose"]
    assert group.modules() == ""


def test_a_nearly_full_data_dir_is_refused_naming_the_filesystem(
    plugin: Plugin, test_images: TestImages, tmpfs, tmp_path: Path
):
    data_dir = tmpfs(8)
    group = Group(plugin, data_dir)
    plugin.set("container", "min_free_space", "4MiB")
    (data_dir / "filler").write_bytes(b"\1" * (5 << 20))  # about 3 MiB stay free
    project = tmp_path / "project.tar"
    tar_of(project, {"compose.yaml": compose({"web": app(test_images.app1)}), "data.bin": b"\2" * (1 << 20)})
    result = group.install("full", "1", project)
    assert result.returncode == 2, result.stderr
    line = last_line(result)
    head = "Installing group full 1 failed: Not enough disk space to unpack project.tar"
    assert line.startswith(f"{head}: {data_dir}/compose has "), line
    assert "1.0 MiB needed plus container.min_free_space = 4 MiB to keep free" in line, line
    assert sorted(path.name for path in data_dir.rglob("*")) == ["compose", "filler"]
    # With room, the same project installs.
    plugin.set("container", "min_free_space", "1MiB")
    result = group.install("full", "1", project)
    assert result.returncode == 0, result.stderr
    assert group.modules() == "full\t1\n"


# -- in-process: pure unpacking on real files, no engine needed -----------------------------------


def test_too_many_entries_are_refused_while_reading_headers(tmp_path: Path):
    entries = [("compose.yaml", b"services: {}")] + [(f"f{index}", b"") for index in range(60)]
    archive = tar_entries(tmp_path / "many.tar", entries)
    with pytest.raises(LimitExceeded) as caught:
        staging.unpack(str(archive), str(tmp_path / "staging"), Limits(entries=50))
    assert (
        str(caught.value)
        == "many.tar holds more than 50 entries (the limit container_group.max_entries); refused."
    )
    assert not (tmp_path / "staging").exists()


def test_unpacked_bytes_are_counted_as_they_are_written_not_taken_from_headers(tmp_path: Path):
    class Endless(io.RawIOBase):  # a member whose data never ends (what a lying header would give)
        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            buffer[:] = b"\0" * len(buffer)
            return len(buffer)

    root = tmp_path / "staging"
    root.mkdir()
    tree = SafeTree(str(root), "endless.tar", Limits(unpacked_size=3 << 20))
    with pytest.raises(LimitExceeded, match="more than 3 MiB"):
        tree.file("zeros", io.BufferedReader(Endless()), 0o644)
    assert (root / "zeros").stat().st_size <= 3 << 20


def test_the_chained_link_zip_is_refused_too(tmp_path: Path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    archive = tmp_path / "chained.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("compose.yaml", "services: {}")
        for name, target in ((f"{DEEP}/l", "../" * 8), (f"{DEEP}/l/version.tedge-tmp", "../" * 9 + "x")):
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zipped.writestr(info, target)
    with pytest.raises(UnsafeArchive, match="written through the link 'a/b/c/d/e/f/g/h/l'"):
        staging.unpack(str(archive), str(tmp_path / "staging"))
    assert not (tmp_path / "staging").exists() and victim.read_text() == "precious\n"


def test_a_link_that_a_later_link_turns_outward_is_refused(tmp_path: Path):
    # `x -> d/..` is the root when made; `d -> .` then makes it the root's parent.
    entries = [("compose.yaml", b"services: {}"), link("x", "d/.."), link("d", ".")]
    with pytest.raises(UnsafeArchive, match=r"'x'.*leads out of the project through other links"):
        staging.unpack(str(tar_entries(tmp_path / "turn.tar", entries)), str(tmp_path / "staging"))
    assert not (tmp_path / "staging").exists()


# -- any layout: hypothesis ---------------------------------------------------------------------

_NAMES = st.sampled_from(["a", "b", "l", "x", "version.tedge-tmp"])
_STEPS = st.sampled_from(["..", "..", ".", "a", "b", "l", "x", "outside", "victim"])
_ENTRY = st.tuples(
    st.sampled_from(["file", "dir", "link", "link", "hardlink"]),
    st.lists(_NAMES, min_size=1, max_size=4).map("/".join),
    st.lists(_STEPS, min_size=1, max_size=7).map("/".join),
)


def snapshot(directory: Path) -> dict[str, str]:
    found = {}
    for path in sorted(directory.rglob("*")):
        if path.is_symlink():
            found[str(path)] = "-> " + os.readlink(path)
        elif path.is_file():
            found[str(path)] = path.read_text()
        else:
            found[str(path)] = "dir"
    return found


def nearby(directory: Path) -> set[str]:
    """Entries named like archive entries in every directory above `directory` (where an escape lands)."""
    names = {"a", "b", "l", "x", "version.tedge-tmp"}
    found = set()
    for parent in directory.parents:
        with contextlib.suppress(OSError):
            found |= {str(parent / name) for name in os.listdir(parent) if name in names}
    return found


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ENTRY, max_size=8))
def test_no_layout_writes_outside_or_leaves_a_link_out(entries):
    with tempfile.TemporaryDirectory() as scratch:
        box = Path(scratch)
        (box / "outside").mkdir()
        (box / "outside" / "victim").write_text("precious\n")
        root = box / "compose" / ".g.tedge-staging"
        members: list[tarfile.TarInfo | tuple[str, bytes]] = [("compose.yaml", b"services: {}")]
        for kind, name, target in entries:
            if kind == "file":
                members.append((name, b"written by the archive\n"))
            elif kind == "dir":
                members.append(directory_entry(name))
            else:
                member = link(name, target)
                if kind == "hardlink":
                    member.type = tarfile.LNKTYPE
                members.append(member)
        archive = tar_entries(box / "layout.tar", members)
        before, around = snapshot(box / "outside"), nearby(root)
        try:
            staging.unpack(str(archive), str(root))
        except ProjectError:
            assert not root.exists()
        else:
            real_root = root.resolve()
            for path in root.rglob("*"):
                if path.is_symlink():
                    resolved = Path(os.path.realpath(path))
                    assert resolved == real_root or real_root in resolved.parents, (path, os.readlink(path))
        assert snapshot(box / "outside") == before
        assert nearby(root) == around


def directory_entry(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info


def test_records_are_never_written_through_a_planted_link(tmp_path: Path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    working = tmp_path / "working"
    working.mkdir()
    (working / "version.tedge-tmp").symlink_to(victim)
    (working / "version").symlink_to(victim)
    layout.write_version(str(working), "2", "shop")
    assert victim.read_text() == "precious\n"
    assert not (working / "version").is_symlink()
    assert (working / "version").read_text() == "2\nshop\n"
    assert not (working / "version.tedge-tmp").exists()


@pytest.mark.parametrize("kind", [tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME], ids=["pax", "gnu-long-name"])
def test_an_extended_header_is_bounded_before_tarfile_holds_it(tmp_path: Path, kind: bytes):
    # 300 MiB of zeros in a 300 KB tar.gz: tarfile read the header whole, 326 MB of peak RSS
    # (631 MB when a stream reader read it too).
    archive = huge_extended_header(tmp_path / "header.tar.gz", "services: {}\n", 300 << 20, kind)
    assert archive.stat().st_size < 1 << 20
    what = "a pax header" if kind == tarfile.XHDTYPE else "a GNU long-name header"
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeArchive) as refused:
            staging.unpack(str(archive), str(tmp_path / "staging"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(refused.value) == f"header.tar.gz: {what} of 314572800 bytes, more than 65536; refused."
    assert peak < 8 << 20, peak
    assert not (tmp_path / "staging").exists()


SPARSE_KINDS = {"gnu": ["--format=gnu"], "pax-1.0": ["--format=pax", "--sparse-version=1.0"],
                "pax-0.1": ["--format=pax", "--sparse-version=0.1"]}  # fmt: skip


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar makes the sparse archives")
@pytest.mark.parametrize("options", list(SPARSE_KINDS.values()), ids=list(SPARSE_KINDS))
def test_a_sparse_file_is_refused_while_its_header_is_read(tmp_path: Path, options: list[str]):
    # Its map is read as long as the archive says it goes on: megabytes of blocks, gigabytes of map.
    project = tmp_path / "project"
    project.mkdir()
    (project / "compose.yaml").write_text("services: {}\n")
    with open(project / "data.img", "wb") as image:
        image.truncate(10 << 20)
        image.seek(5 << 20)
        image.write(b"data")
    archive = tmp_path / "sparse.tar.gz"
    subprocess.run(["tar", "--sparse", *options, "-czf", str(archive), "-C", str(project), "."], check=True)
    with pytest.raises(UnsafeArchive) as refused:
        staging.unpack(str(archive), str(tmp_path / "staging"))
    assert str(refused.value).startswith("sparse.tar.gz: entry './"), refused.value
    assert str(refused.value).endswith("data.img' is a sparse file (made with tar --sparse); refused.")
    assert not (tmp_path / "staging").exists()
    plain = options[:1]  # --sparse-version implies --sparse
    subprocess.run(["tar", *plain, "-czf", str(archive), "-C", str(project), "."], check=True)
    staging.unpack(str(archive), str(tmp_path / "staging"))  # the same project packed without --sparse
    assert (tmp_path / "staging" / "data.img").stat().st_size == 10 << 20
