"""Group bundles on the real podman service: a compose file and the images it uses, in one archive.

Every test builds its own small busybox images, saves them with `podman save`
and removes them from the engine, so only the bundle has them: no registry
serves `localhost/` names, and `container.alwayspull` is on to prove that the
bundle's images are never pulled.
"""

from __future__ import annotations

import gzip
import io
import sys
import tarfile
import uuid
import zipfile
from pathlib import Path

import pytest
from tests.integration.test_log_plugin import log_plugin
from tests.support.group import GROUP_SCRIPT, Group, app, compose, last_line, states
from tests.support.hostile import run_limited
from tests.support.images import TestImages

pytestmark = pytest.mark.integration


class Images:
    """This test's own images (unique ids), saved to archives and removed from the engine."""

    def __init__(self, test_images: TestImages, tmp_path: Path) -> None:
        self.test_images = test_images
        self.podman = test_images.podman
        self.tmp_path = tmp_path
        self.tag = uuid.uuid4().hex[:8]

    def build(self, name: str, exits: bool = False) -> str:
        image = f"localhost/tedge-bundle/{name}-{self.tag}"
        return self.test_images.variant(image, f"{name} {self.tag}", exits=exits)

    def save(self, image: str, gzip: bool = False) -> bytes:
        path = self.tmp_path / f"save-{uuid.uuid4().hex[:6]}.tar"
        self.test_images.save_archive(image, path, gzip=gzip)
        data = path.read_bytes()
        path.unlink()
        return data

    def image_id(self, image: str) -> str:
        result = self.podman.cli("image", "inspect", "--format", "{{.Id}}", image, check=False)
        return result.stdout.strip() if result.returncode == 0 else ""

    def forget(self, *images: str) -> None:
        for image in images:
            self.podman.cli("rmi", "-f", image, check=False)


def bundle(path: Path, compose_text: str, images: dict[str, bytes]) -> Path:
    """A group bundle: the compose file at the root, `images` (name → bytes) below it; .zip or tar(.gz)."""
    files = {"compose.yaml": compose_text.encode(), **images}
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
        return path
    with tarfile.open(path, "w:gz" if path.name.endswith(".gz") else "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture()
def images(test_images: TestImages, tmp_path: Path, group: Group):
    own = Images(test_images, tmp_path)
    group.plugin.set("container", "alwayspull", True)
    group.plugin.set("container", "pruneimages", True)
    group.plugin.set("container", "progress_interval", 0.01)
    yield own
    group.plugin.podman.remove_all_containers()
    for line in own.podman.cli("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split():
        if own.tag in line:
            own.forget(line)


def test_bundle_installs_offline_and_an_upgrade_prunes_what_only_the_first_bundle_brought(
    group: Group, images: Images, test_images: TestImages, open_registry, tmp_path: Path
):
    web1, web2, db = images.build("web:1"), images.build("web:2"), images.build("db:1")
    saved = {"web1": images.save(web1), "web2": images.save(web2), "db": images.save(db, gzip=True)}
    ids = {image: images.image_id(image) for image in (web1, web2, db)}
    images.forget(web1, web2, db)
    # A service whose image is in no archive, on a registry: pulled with the credential chain, as ever.
    cache = test_images.push(test_images.app1, open_registry, f"tedge-test/bundle-cache:{images.tag}")

    v1 = compose({"web": app(web1), "db": app(db), "cache": app(cache)})
    first = bundle(
        tmp_path / "shop-1.tar.gz", v1, {"images/web.tar": saved["web1"], "images/db.tar.gz": saved["db"]}
    )
    result = group.install("shop", "1.0", first)
    assert result.returncode == 0, result.stderr
    assert states(group, "shop") == {"web": "running", "db": "running", "cache": "running"}
    assert f"credentials for {open_registry.host}" in result.stderr  # cache was pulled
    assert "credentials for localhost" not in result.stderr  # the bundle's images were not
    assert group.modules() == "shop\t1.0\n"
    assert images.image_id(web1) == ids[web1] and images.image_id(db) == ids[db]
    working = group.data_dir / "compose" / "shop"
    assert not (working / "images").exists()  # streamed into podman, not unpacked
    assert "Loading shop-1.tar.gz: images/db.tar.gz: " in result.stderr  # progress, as other loads
    # The log plugin sees the bundle's services as any group's.
    listed = log_plugin(group.plugin, "list", name="container-group")
    assert sorted(listed.stdout.split()) == ["shop@cache", "shop@db", "shop@web"], listed.stderr

    # 2.0 (a zip) brings web:2 and db:1 again; web:1, which only 1.0's bundle brought, goes.
    v2 = compose({"web": app(web2), "db": app(db)})
    second = bundle(
        tmp_path / "shop-2.zip", v2, {"images/web.tar": saved["web2"], "images/db.tar.gz": saved["db"]}
    )
    result = group.install("shop", "2.0", second)
    assert result.returncode == 0, result.stderr
    running = group.containers("shop")
    assert running["web"]["image"] == web2 and running["web"]["state"] == "running"
    assert images.image_id(web1) == ""
    assert images.image_id(web2) == ids[web2] and images.image_id(db) == ids[db]
    assert images.image_id(cache) != ""  # dropped with 1.0's cache service, but no bundle brought it
    assert group.modules() == "shop\t2.0\n"

    # 3.0 has no bundle: db:1 is still used, web:2 is not any more, and goes.
    v3 = compose({"db": app(db)})
    plain = tmp_path / "shop-3.yaml"
    plain.write_text(v3)
    result = group.install("shop", "3.0", plain)
    assert result.returncode == 0, result.stderr
    assert images.image_id(web2) == "" and images.image_id(db) == ids[db]

    # Removing the group removes what its bundles brought and nothing uses any more.
    assert group.run("remove", "shop").returncode == 0
    assert images.image_id(db) == ""


def test_a_failed_bundle_upgrade_restores_the_first_version_with_its_images(
    group: Group, images: Images, test_images: TestImages, tmp_path: Path
):
    web1, web2 = images.build("web:1"), images.build("web:2")
    saved1, saved2 = images.save(web1), images.save(web2)
    images.forget(web1, web2)
    first = bundle(tmp_path / "keep-1.tar", compose({"web": app(web1)}), {"images/web.tar": saved1})
    assert group.install("keep", "1.0", first).returncode == 0
    before = group.containers("keep")["web"]["id"]

    crashing = compose({"web": app(web2), "crash": app(test_images.exits)})
    second = bundle(tmp_path / "keep-2.tar", crashing, {"images/web.tar": saved2})
    result = group.install("keep", "2.0", second)
    assert result.returncode == 2, result.stderr
    assert last_line(result).startswith("Installing group keep 2.0 failed: service crash ")
    assert last_line(result).endswith("The previous version 1.0 runs again."), last_line(result)
    running = group.containers("keep")
    assert list(running) == ["web"] and running["web"]["state"] == "running"
    assert running["web"]["image"] == web1
    assert images.image_id(web1) != ""
    assert images.image_id(web2) == ""  # what the failed install loaded went with it
    assert group.modules() == "keep\t1.0\n"
    assert running["web"]["id"] == before or running["web"]["image"] == web1

    # The same name, other content (a rebuilt `:1`): the name goes back to 1.0's image.
    first_id = images.image_id(web1)
    other = images.build("rebuilt:1")
    images.podman.cli("tag", other, web1)
    rebuilt = images.save(web1)  # web:1, with the other image's id
    images.podman.cli("tag", first_id, web1)
    images.forget(other)
    assert images.image_id(web1) == first_id and images.image_id(other) == ""
    third = bundle(tmp_path / "keep-3.tar", crashing.replace(web2, web1), {"images/web.tar": rebuilt})
    result = group.install("keep", "3.0", third)
    assert result.returncode == 2, result.stderr
    assert last_line(result).endswith("The previous version 1.0 runs again."), last_line(result)
    assert images.image_id(web1) == first_id
    running = group.containers("keep")
    assert list(running) == ["web"] and running["web"]["state"] == "running"
    inspected = images.podman.cli("inspect", "--format", "{{.Image}}", group.containers("keep")["web"]["id"])
    assert inspected.stdout.strip() == first_id


def test_broken_bundles_fail_before_anything_running_changes(group: Group, images: Images, tmp_path: Path):
    web1, web2, db = images.build("web:1"), images.build("web:2"), images.build("db:1")
    saved1, saved2, saved_db = images.save(web1), images.save(web2), images.save(db)
    images.forget(web1, web2, db)
    first = bundle(tmp_path / "app-1.tar", compose({"web": app(web1)}), {"images/web.tar": saved1})
    assert group.install("app", "1.0", first).returncode == 0
    before = group.containers("app")["web"]["id"]
    v2 = compose({"web": app(web2), "db": app(db)})

    def unchanged() -> None:
        running = group.containers("app")
        assert list(running) == ["web"] and running["web"]["id"] == before
        assert running["web"]["state"] == "running"
        assert group.modules() == "app\t1.0\n"
        assert images.image_id(web2) == "" and images.image_id(db) == ""  # nothing was loaded
        assert sorted(p.name for p in (group.data_dir / "compose").iterdir()) == ["app"]

    # db:1 is in no archive of the bundle, and podman does not have it.
    missing = bundle(tmp_path / "app-2.tar", v2, {"images/web.tar": saved2})
    result = group.install("app", "2.0", missing)
    assert result.returncode == 2, result.stderr
    line = last_line(result)
    assert f"service db uses {db}, which none of its image archives holds" in line, line
    assert f"images/web.tar holds {web2}" in line, line
    unchanged()

    # A truncated image archive (half of what `podman save` wrote).
    truncated = bundle(
        tmp_path / "app-2.tar.gz",
        v2,
        {"images/web.tar": saved2, "images/db.tar": saved_db[: len(saved_db) // 2]},
    )
    result = group.install("app", "2.0", truncated)
    assert result.returncode == 2, result.stderr
    assert "app-2.tar.gz: images/db.tar is not a whole image archive" in last_line(result), last_line(result)
    unchanged()

    # Not an image archive at all.
    notes = bundle(tmp_path / "app-2.zip", v2, {"images/web.tar": saved2, "images/db.tar": b"just notes\n"})
    result = group.install("app", "2.0", notes)
    assert result.returncode == 2, result.stderr
    assert "app-2.zip: images/db.tar is not a whole image archive" in last_line(result), last_line(result)
    unchanged()

    # Without a bundle, a localhost/ image podman lacks is exit 2 at once, not a pull and exit 3.
    plain = tmp_path / "app-2.yaml"
    plain.write_text(v2)
    result = group.install("app", "2.0", plain)
    assert result.returncode == 2, result.stderr
    assert f"service web: {web2} is not in podman's image store" in last_line(result), last_line(result)
    unchanged()


def test_a_gzip_bomb_in_a_bundle_stops_at_max_images_size_in_little_memory(group: Group, tmp_path: Path):
    """128 MiB of zeros (well under 1 MB of gzip) against a 32 MiB bound: refused while reading."""
    bomb = tmp_path / "zeros.tar.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as packed, tarfile.open(fileobj=packed, mode="w|") as tar:
        info = tarfile.TarInfo("layer.tar")
        info.size = 128 << 20
        tar.addfile(info, _Zeros())
    group.plugin.set("container_group", "max_images_size", "32MiB")
    compose_text = compose({"web": app("localhost/tedge-bundle/zeros:1")})
    archive = bundle(tmp_path / "zeros-1.tar", compose_text, {"images/zeros.tar.gz": bomb.read_bytes()})
    argv = [
        sys.executable,
        str(GROUP_SCRIPT),
        "install",
        "zeros",
        "--module-version",
        "1",
        "--file",
        str(archive),
    ]
    result = run_limited(argv, group.plugin.env(None))  # the plugin's own peak, not pytest's
    assert result.returncode == 2, result.last_line
    assert "zeros-1.tar: the image archives under images/ hold more than" in result.last_line, (
        result.last_line
    )
    assert "container_group.max_images_size = 32 MiB" in result.last_line, result.last_line
    assert result.peak_rss_mb < 64, f"peak RSS {result.peak_rss_mb:.0f} MB"
    assert group.modules() == ""


class _Zeros:
    def read(self, size: int = -1) -> bytes:
        return bytes(size if size >= 0 else 1 << 20)
