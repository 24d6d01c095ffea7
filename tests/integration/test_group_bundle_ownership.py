# ruff: noqa: F811  (the tests take the `images` fixture imported from test_group_bundles)
"""Bundles never re-point a name another module runs, and duplicate members are refused (issue 22).

`podman load` moves a name to the loaded image whatever it named before: a
bundle carrying a name that a `container` module runs, with other content,
would make that module run other code after its next recreate (and, with
`container.pruneimages`, lose the name when the group goes). Refused before
anything loads. An archive with a member twice is read from one copy and
would be loaded from the other: refused too.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from tests.integration.test_group_bundles import Images, bundle, images  # noqa: F401 (its fixture)
from tests.integration.test_mqtt import unique
from tests.support.group import Group, app, compose, last_line, tar_entries

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("prune", [False, True], ids=["keep images", "pruneimages"])
def test_a_bundle_carrying_a_name_another_module_runs_is_refused(
    group: Group, images: Images, tmp_path: Path, prune: bool
):
    group.plugin.set("container", "pruneimages", prune)
    shared = images.build("shared")
    first_id = images.image_id(shared)
    module = unique("runs")
    result = group.plugin.run("install", module, "--module-version", shared)
    assert result.returncode == 0, result.stderr

    # An archive carrying the same name for other content.
    other = images.build("other")
    images.podman.cli("tag", other, shared)
    saved = images.save(shared)
    images.podman.cli("tag", first_id, shared)  # the name is the module's image again
    assert images.image_id(shared) == first_id

    name = unique("bndl")
    archive = bundle(tmp_path / "b.tar", compose({"web": app(shared)}), {"images/web.tar": saved})
    result = group.install(name, "1.0", archive)
    assert result.returncode == 2, result.stderr
    assert f"container module {module}" in last_line(result) and shared in last_line(result)
    assert images.image_id(shared) == first_id
    result = group.run("remove", name, "--module-version", "1.0")
    assert result.returncode == 0, result.stderr
    assert images.image_id(shared) == first_id
    # The module can be sent again: its image is still there under its name.
    result = group.plugin.run("install", module, "--module-version", shared)
    assert result.returncode == 0, result.stderr
    running = group.podman.cli("inspect", "--format", "{{.Image}}", module).stdout.strip()
    assert running == first_id


def _merged(*archives: bytes) -> bytes:
    """One tar holding every member of `archives`, in order (duplicate names kept)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as merged:
        for data in archives:
            with tarfile.open(fileobj=io.BytesIO(data)) as source:
                for member in source.getmembers():
                    merged.addfile(member, source.extractfile(member) if member.isfile() else None)
    return out.getvalue()


def test_an_image_archive_with_two_manifests_is_refused_before_anything_loads(
    group: Group, images: Images, tmp_path: Path
):
    first, second = images.build("one"), images.build("two")
    doubled = _merged(images.save(first), images.save(second))
    images.forget(first, second)
    name = unique("dup")
    archive = bundle(tmp_path / "d.tar", compose({"web": app(first)}), {"images/web.tar": doubled})
    result = group.install(name, "1.0", archive)
    assert result.returncode == 2, result.stderr
    assert "manifest.json twice" in last_line(result)
    assert images.image_id(first) == "" and images.image_id(second) == ""
    assert group.modules() == ""


def test_a_bundle_with_one_image_archive_twice_is_refused(group: Group, images: Images, tmp_path: Path):
    first, second = images.build("one"), images.build("two")
    saved_first, saved_second = images.save(first), images.save(second)
    images.forget(first, second)
    entries = [
        ("compose.yaml", compose({"web": app(first)})),
        ("images/web.tar", saved_first),
        ("images/web.tar", saved_second),
    ]
    archive = tar_entries(tmp_path / "twice.tar", entries)
    result = group.install(unique("twice"), "1.0", archive)
    assert result.returncode == 2, result.stderr
    assert "images/web.tar twice" in last_line(result)
    assert images.image_id(first) == "" and images.image_id(second) == ""
