"""Images the plugin cannot bring back are never deleted by it (issue 26), on the real podman service.

With `container.pruneimages` on, a removed or upgraded module's image goes only when the plugin
pulled or loaded it, or a registry can give it back; each removal is one info line.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def has_image(podman_service, image: str) -> bool:
    return podman_service.cli("image", "exists", image, check=False).returncode == 0


@pytest.fixture()
def own(plugin, podman_service, test_images):
    """Images of this test alone (unique ids), removed after it; pruning on."""
    plugin.set_config("container", "pruneimages", True)
    plugin.set_config("report", "enabled", False)
    made: list[str] = []
    tag = uuid.uuid4().hex[:8]

    def build(name: str) -> str:
        image = f"localhost/tedge-provenance/{name}-{tag}:1"
        made.append(test_images.variant(image, f"{name} {tag}"))
        return image

    yield build
    podman_service.remove_all_containers()
    for image in made:
        podman_service.cli("rmi", "-f", image, check=False)


def test_a_hand_loaded_image_stays_through_upgrade_and_removal(plugin, podman_service, own) -> None:
    first, second = own("hand"), own("hand2")  # `podman import`: as `podman load` by hand, never recorded
    assert plugin.run("install", "web", "--module-version", first).returncode == 0
    result = plugin.run("install", "web", "--module-version", second)
    assert result.returncode == 0, result.stderr
    assert has_image(podman_service, first)
    kept = "no longer uses it: the plugin did not pull or load it and no registry can give it back"
    assert f"info: image {first} is kept although container web {kept}" in result.stderr
    result = plugin.run("remove", "web")
    assert result.returncode == 0, result.stderr
    assert has_image(podman_service, second)
    assert f"info: image {second} is kept although container web {kept}" in result.stderr
    assert plugin.run("finalize").returncode == 0
    assert has_image(podman_service, first) and has_image(podman_service, second)


def test_an_image_the_plugin_loaded_is_removed_with_one_line(
    plugin, podman_service, test_images, own, tmp_path: Path
) -> None:
    image = own("loaded")
    archive = test_images.save_archive(image, tmp_path / "loaded.tar")
    podman_service.cli("rmi", image)
    assert plugin.run("install", "web", "--module-version", image, "--file", str(archive)).returncode == 0
    result = plugin.run("remove", "web")
    assert result.returncode == 0, result.stderr
    assert not has_image(podman_service, image)
    removed = [line for line in result.stderr.splitlines() if f"image {image}" in line]
    assert removed == [f"info: image {image} removed: container web used it and no container uses it now"]


def test_an_upgrade_from_a_pulled_image_says_it_removed_the_old_name(
    plugin, podman_service, test_images, own, open_registry
) -> None:
    local = own("pulled")
    pulled = test_images.push(local, open_registry, f"provenance-{uuid.uuid4().hex[:8]}/app:1")
    podman_service.cli("rmi", local)  # the registry alone has it
    assert plugin.run("install", "web", "--module-version", pulled).returncode == 0
    result = plugin.run("install", "web", "--module-version", own("next"))
    assert result.returncode == 0, result.stderr
    assert not has_image(podman_service, pulled)
    assert f"info: image {pulled} removed: container web used it and no container uses it now" in (
        result.stderr
    )
