"""A bundle that lacks a registry image says so first (issue 26), on the real podman service.

The registry image is on 127.0.0.1:1, where nothing listens: a device that reaches no registry.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.test_group_bundles import Images, bundle, images  # noqa: F401 (fixture)
from tests.support.group import Group, app, compose, last_line

pytestmark = pytest.mark.integration

UNREACHABLE = "127.0.0.1:1/acme/db:1"


def _bundle(own: Images, tmp_path: Path) -> tuple[Path, str]:
    web = own.build("web")
    archive = bundle(
        tmp_path / "b.tar",
        compose({"web": app(web), "db": app(UNREACHABLE)}),
        {"images/web.tar": own.save(web)},
    )
    own.forget(web)
    return archive, web


def test_a_missing_image_is_named_first_when_its_pull_fails(
    group: Group,
    images: Images,  # noqa: F811
    tmp_path: Path,
):
    archive, web = _bundle(images, tmp_path)
    result = group.install("lacks", "1.0", archive)
    assert result.returncode == 3, result.stderr  # the pull's own code: the network may come back
    assert last_line(result).startswith(
        f"Installing group lacks 1.0 failed: {UNREACHABLE} (service db) is not among b.tar's images/ "
        f"(it holds {web}:latest); pulling it from 127.0.0.1:1 failed: "
    ), result.stderr
    assert "lacks" not in group.modules()


def test_an_offline_bundle_that_lacks_an_image_fails_at_once_without_pulling(
    group: Group,
    images: Images,  # noqa: F811
    tmp_path: Path,
):
    group.plugin.set("container_group", "bundle_pull", False)
    archive, web = _bundle(images, tmp_path)
    result = group.install("offline", "1.0", archive)
    assert result.returncode == 2, result.stderr
    assert last_line(result) == (
        f"Installing group offline 1.0 failed: {UNREACHABLE} (service db) is not among b.tar's images/ "
        f"(it holds {web}:latest) and container_group.bundle_pull = false: add it to the bundle "
        f"(`podman save -o images/NAME.tar {UNREACHABLE}`), or set container_group.bundle_pull = true "
        "to pull what the bundle lacks."
    )
    assert "Pulling" not in result.stderr and "credentials for" not in result.stderr  # nothing pulled
    assert images.image_id(web) == ""  # nothing loaded either
    assert "offline" not in group.modules()
