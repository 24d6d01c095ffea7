"""The `container-image` software type on a real podman service and real registries.

Images pre-loaded for offline use: pulled (with the credential chain) or
loaded from an archive, listed only when this type installed them, never
removed while a container uses them, and never pruned by the container type.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

APP1 = "localhost/tedge-test/app:1"
APP2 = "localhost/tedge-test/app:2"
RUN = secrets.token_hex(3)


@pytest.fixture()
def images(plugin, tmp_path: Path):
    """The type switched on, its records in a fresh data_dir, reporting off."""
    plugin.set_config("container_image", "enabled", True)
    plugin.set_config("", "data_dir", str(tmp_path / "data"))
    plugin.set_config("report", "enabled", False)

    def run(*args: str):
        return plugin.run_type("container-image", *args)

    return run


def last_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else ""


def has_image(podman_service, reference: str) -> bool:
    return podman_service.cli("image", "exists", reference, check=False).returncode == 0


def test_off_by_default_lists_nothing_and_says_how_to_enable(plugin, test_images) -> None:
    result = plugin.run_type("container-image", "list")
    assert (result.returncode, result.stdout) == (0, "")
    result = plugin.run_type("container-image", "install", "ghcr.io/acme/web", "--module-version", "1")
    assert result.returncode == 2
    assert last_line(result).startswith(
        "Installing image ghcr.io/acme/web failed: the container-image type is off"
    )
    assert "`enabled = true` under [container_image]" in last_line(result)
    result = plugin.run_type("container-image", "remove", "ghcr.io/acme/web", "--module-version", "1")
    assert result.returncode == 2


def test_pull_from_a_registry_with_a_port_list_and_upgrade(
    images, podman_service, test_images, open_registry
) -> None:
    one = test_images.push(APP1, open_registry, f"img-{RUN}/app:1")
    two = test_images.push(APP2, open_registry, f"img-{RUN}/app:2")
    name = one.rpartition(":")[0]  # 127.0.0.1:PORT/img-RUN/app: the port stays in the name
    for reference in (one, two):
        podman_service.cli("rmi", "-f", reference, check=False)
    assert images("list").stdout == ""  # the session's other images are not modules
    result = images("install", name, "--module-version", "1")
    assert result.returncode == 0, result.stderr
    assert has_image(podman_service, one)
    assert images("list").stdout == f"{name}\t1\n"
    result = images("install", name, "--module-version", "2")
    assert result.returncode == 0, result.stderr
    assert f"info: the previous image name {one} removed" in result.stderr  # issue 26: said, every type
    assert images("list").stdout == f"{name}\t2\n"
    assert has_image(podman_service, two) and not has_image(podman_service, one)
    assert images("remove", name, "--module-version", "2").returncode == 0
    assert not has_image(podman_service, two)
    assert images("list").stdout == ""
    result = images("remove", name, "--module-version", "2")  # already gone: fine
    assert result.returncode == 0, result.stderr


def test_private_registry_with_credentials_toml(
    plugin, images, podman_service, test_images, auth_registry_a, tmp_path: Path
) -> None:
    reference = test_images.push(APP1, auth_registry_a, f"private-{RUN}/app:7")
    podman_service.cli("rmi", "-f", reference, check=False)
    host, _, repository = reference.rpartition(":")[0].partition("/")
    credentials = tmp_path / "credentials.toml"
    credentials.write_text(
        f'[registry1]\nrepo = "{host}"\nusername = "{auth_registry_a.username}"\n'
        f'password = "{auth_registry_a.password}"\n'
    )
    credentials.chmod(0o600)
    plugin.set_config("registry", "credentials_path", str(credentials))
    result = images("install", f"{host}/{repository}", "--module-version", "7")
    assert result.returncode == 0, result.stderr
    assert auth_registry_a.password not in result.stderr
    assert has_image(podman_service, reference)
    assert images("list").stdout == f"{host}/{repository}\t7\n"
    assert images("remove", f"{host}/{repository}").returncode == 0  # the recorded version


def test_archive_is_checked_then_loaded(images, podman_service, test_images, tmp_path: Path) -> None:
    reference = f"localhost/tedge-test/offline-{RUN}:3"
    podman_service.cli("tag", APP1, reference)
    archive = test_images.save_archive(reference, tmp_path / "offline.tar", gzip=True)
    podman_service.cli("rmi", reference)
    name = reference.rpartition(":")[0]
    result = images("install", name, "--module-version", "4", "--file", str(archive))
    assert result.returncode == 2
    assert f"does not hold {name}:4" in last_line(result)
    assert not has_image(podman_service, reference)
    result = images("install", name, "--module-version", "3", "--file", str(archive))
    assert result.returncode == 0, result.stderr
    assert images("list").stdout == f"{name}\t3\n"


def test_an_image_in_use_stays_and_survives_its_containers_pruning(
    plugin, images, podman_service, test_images
) -> None:
    reference = f"localhost/tedge-test/inuse-{RUN}:1"
    podman_service.cli("tag", APP1, reference)
    name = reference.rpartition(":")[0]
    assert images("install", name, "--module-version", "1").returncode == 0
    assert plugin.run("install", "user", "--module-version", reference).returncode == 0
    result = images("remove", name, "--module-version", "1")
    assert result.returncode == 2
    assert last_line(result).startswith(f"Removing image {name} failed: container user uses {reference}")
    # The container type prunes the image of a container it removes, but not a pre-loaded one.
    plugin.set_config("container", "pruneimages", True)
    assert plugin.run("remove", "user").returncode == 0
    assert has_image(podman_service, reference)
    assert images("list").stdout == f"{name}\t1\n"
    assert images("remove", name, "--module-version", "1").returncode == 0
    assert not has_image(podman_service, reference)


def test_a_module_name_with_a_tag_is_a_usage_error(images) -> None:
    result = images("install", "ghcr.io/acme/web:1", "--module-version", "1")
    assert result.returncode == 1
    assert "the module name is the repository alone" in last_line(result)


def test_removing_a_name_other_containers_do_not_use_only_untags_it(
    plugin, images, podman_service, test_images
) -> None:
    """Issue 18: containers started from another name of the same image are not this module's users."""
    tag_a, tag_b = f"localhost/tedge-test/shared-{RUN}:a", f"localhost/tedge-test/shared-{RUN}:b"
    for tag in (tag_a, tag_b):
        podman_service.cli("tag", APP1, tag)
    name = tag_a.rpartition(":")[0]
    assert images("install", name, "--module-version", "a").returncode == 0
    assert plugin.run("install", "from-b", "--module-version", tag_b).returncode == 0
    result = images("remove", name, "--module-version", "a")
    assert result.returncode == 0, result.stderr
    assert not has_image(podman_service, tag_a)
    assert has_image(podman_service, tag_b)
    state = podman_service.cli("inspect", "--format", "{{.State.Status}}", "from-b").stdout.strip()
    assert state == "running"
    assert images("list").stdout == ""


def test_a_name_many_containers_use_names_three_of_them(images, podman_service, test_images) -> None:
    reference = f"localhost/tedge-test/busy-{RUN}:1"
    podman_service.cli("tag", APP1, reference)
    name = reference.rpartition(":")[0]
    assert images("install", name, "--module-version", "1").returncode == 0
    for number in range(1, 6):
        podman_service.cli("create", "--name", f"busy-{number}", reference)
    result = images("remove", name, "--module-version", "1")
    assert result.returncode == 2
    assert last_line(result) == (
        f"Removing image {name} failed: containers busy-1, busy-2, busy-3 and 2 more use {reference}; "
        "remove or upgrade them first, then remove the image."
    )
    assert has_image(podman_service, reference)


def test_a_name_removed_by_hand_is_no_module_any_more(images, podman_service, test_images, tmp_path) -> None:
    reference = f"localhost/tedge-test/byhand-{RUN}:1"
    podman_service.cli("tag", APP1, reference)
    name = reference.rpartition(":")[0]
    assert images("install", name, "--module-version", "1").returncode == 0
    assert images("list").stdout == f"{name}\t1\n"
    podman_service.cli("untag", reference, reference)  # that name only: the image keeps its others
    assert has_image(podman_service, APP1)
    assert images("list").stdout == ""
    assert list((tmp_path / "data" / "images").iterdir()) == []  # the record is dropped
    result = images("remove", name, "--module-version", "1")
    assert result.returncode == 0, result.stderr
