"""Compose archives that try to write outside the project, through links made by earlier entries."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from tests.support.group import Group, app, compose, last_line
from tests.support.images import TestImages

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
