"""A rolled-back group install leaves no network of its own behind; another module's stays. Real podman.

The new version declares a network the running one does not (`extra`, which
podman-compose creates as PROJECT_extra) and a service that exits at once:
the install fails after `up` and is rolled back. A device retrying such an
update every day must not collect networks, and a network another module's
container uses must never go.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.test_mqtt import unique
from tests.support.group import Group, app, compose, file_of, last_line, states
from tests.support.images import TestImages

pytestmark = pytest.mark.integration


def _networks(group: Group) -> list[str]:
    return group.podman.cli("network", "ls", "--format", "{{.Name}}").stdout.split()


def _broken(test_images: TestImages, extra: dict) -> str:
    """Version 2.0: web as before, and a service on a new network and volume that exits at once."""
    crash = app(test_images.exits, networks=["extra"], volumes=["cache:/cache"])
    services = {"web": _web(test_images), "crash": crash}
    return compose(services, networks={"default": {}, "extra": extra}, volumes={"data": {}, "cache": {}})


def _web(test_images: TestImages) -> dict:
    return app(test_images.app1, volumes=["data:/data"])


@pytest.mark.parametrize("upgrade", [True, False], ids=["upgrade", "first install"])
def test_a_rolled_back_install_removes_the_network_only_it_declared(
    group: Group, test_images: TestImages, tmp_path: Path, upgrade: bool
):
    name = unique("rollnet")
    if upgrade:
        v1 = file_of(tmp_path, "v1.yaml", compose({"web": _web(test_images)}, volumes={"data": {}}))
        result = group.install(name, "1.0", v1)
        assert result.returncode == 0, result.stderr

    result = group.install(name, "2.0", file_of(tmp_path, "v2.yaml", _broken(test_images, {})))
    assert result.returncode == 2, result.stderr
    assert last_line(result).startswith(f"Installing group {name} 2.0 failed: service crash "), result.stderr
    networks = _networks(group)
    assert f"{name}_extra" not in networks
    volume = f"{name}_cache"  # kept: a failed install deletes no data (the next attempt uses it again)
    assert group.podman.cli("volume", "exists", volume, check=False).returncode == 0
    if upgrade:
        assert last_line(result).endswith("The previous version 1.0 runs again."), result.stderr
        assert f"removed network {name}_extra of project {name}:" in result.stderr
        assert f"kept named volume {volume} of project {name}, which no container uses" in result.stderr
        assert f"{name}_data" not in result.stderr  # web uses it
        assert group.modules() == f"{name}\t1.0\n"
        assert states(group, name) == {"web": "running"}
        assert f"{name}_default" in networks  # the running version's
    else:
        assert group.modules() == ""
        assert [network for network in networks if network.startswith(name)] == []

    result = group.run("remove", name)
    assert result.returncode == 0, result.stderr
    if upgrade:  # removing the group deletes its volumes, that one too
        assert group.podman.cli("volume", "exists", volume, check=False).returncode == 1
    for left in (volume, f"{name}_data"):
        group.podman.cli("volume", "rm", "-f", left, check=False)


@pytest.mark.parametrize("labelled", [True, False], ids=["labelled as this project", "another group's"])
def test_a_network_another_module_uses_stays_after_the_rollback(
    group: Group, test_images: TestImages, tmp_path: Path, labelled: bool
):
    """The new version's `extra` is a network another group's container is on. Whether it carries
    this project's label (made by hand, or by a hostile file) or the other group's, it stays, and so
    does that container."""
    name, other = unique("rollnet"), unique("othernet")
    shared = f"{name}_extra"
    v1 = file_of(tmp_path, "v1.yaml", compose({"web": app(test_images.app1)}))
    assert group.install(name, "1.0", v1).returncode == 0
    if labelled:  # this project's label: its sweep finds it, and podman refuses (in use)
        group.podman.cli("network", "create", "--label", f"com.docker.compose.project={name}", shared)
        networks = {"shared": {"external": True, "name": shared}}
    else:  # the other group's compose file makes it, under the name this project's `extra` gets
        networks = {"shared": {"name": shared}}
    services = {"web": app(test_images.app1, networks=["shared"])}
    result = group.install(
        other, "1.0", file_of(tmp_path, "other.yaml", compose(services, networks=networks))
    )
    assert result.returncode == 0, result.stderr
    others = group.containers(other)["web"]["id"]

    result = group.install(name, "2.0", file_of(tmp_path, "v2.yaml", _broken(test_images, {})))
    assert result.returncode == 2, result.stderr
    assert last_line(result).endswith("The previous version 1.0 runs again."), result.stderr
    assert shared in _networks(group)
    assert states(group, other) == {"web": "running"} and group.containers(other)["web"]["id"] == others
    assert states(group, name) == {"web": "running"}

    for module in (name, other):
        result = group.run("remove", module)
        assert result.returncode == 0, result.stderr
    group.podman.cli("network", "rm", shared, check=False)
