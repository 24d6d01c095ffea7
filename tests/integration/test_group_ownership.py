"""One module never harms another (issue 22), on the real podman service.

Compose project names collide after compose's normalisation (case, dots, a
`name:` key); `container_name` is global on the engine; a `container` module
and a group's container share one name space. Each collision is refused
before anything runs (exit 2, the last line naming the other module), and
nothing of the other module changes: same container id, still running, its
volume's data still there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.test_mqtt import unique
from tests.support.group import Group, app, compose, file_of, last_line, states
from tests.support.images import TestImages

pytestmark = pytest.mark.integration


def _ids(group: Group, project: str) -> dict[str, str]:
    return {service: c["id"] for service, c in group.containers(project).items()}


def _volume_file(group: Group, project: str, volume: str) -> str:
    """The text of keep in `volume` (still there), read from the volume's directory on the host.

    podman 5's service runs chrooted: its volumes are not at their mountpoint on the host, and the
    file is read in the container. `podman --remote exec` loses a short output now and then on a
    loaded machine (an empty answer with exit 0; seen on podman 4.3, and on podman 5 with a core kept
    busy), so an empty answer is asked again: a file really emptied stays empty, and fails the test.
    """
    assert group.podman.cli("volume", "exists", volume, check=False).returncode == 0
    mountpoint = group.podman.cli("volume", "inspect", "--format", "{{.Mountpoint}}", volume).stdout.strip()
    keep = Path(mountpoint) / "keep"
    if keep.exists():
        return keep.read_text()
    web = group.containers(project)["web"]["id"]  # a mount the host does not see at that path
    for _ in range(5):
        result = group.podman.cli("exec", web, "cat", "/data/keep", check=False)
        if result.returncode != 0 or result.stdout:
            break
    return result.stdout


def _install_with_data(group: Group, test_images: TestImages, tmp_path: Path, name: str) -> str:
    """Group `name` with a named volume holding a file; returns the volume's engine name."""
    services = {"web": app(test_images.app1, volumes=["data:/data"])}
    result = group.install(
        name, "1.0", file_of(tmp_path, f"{name}.yaml", compose(services, volumes={"data": {}}))
    )
    assert result.returncode == 0, result.stderr
    volume = f"{name.lower()}_data"
    web = group.containers(name.lower())["web"]["id"]
    group.podman.cli("exec", web, "sh", "-c", "echo precious > /data/keep")
    assert _volume_file(group, name.lower(), volume) == "precious\n"  # written: what follows keeps it
    return volume


@pytest.mark.parametrize("collision", ["case", "dots", "name key"])
def test_a_project_name_collision_is_refused_and_the_other_groups_volume_keeps_its_data(
    group: Group, test_images: TestImages, tmp_path: Path, collision: str
):
    first = unique("shop")
    if collision == "case":
        second, top = first.capitalize(), {}
    elif collision == "dots":
        first = unique("myapp")
        second, top = "my.app" + first[len("myapp") :], {}
    else:
        second, top = unique("other"), {"name": first}
    volume = _install_with_data(group, test_images, tmp_path, first)
    before = _ids(group, first)

    services = {"web": app(test_images.app2, volumes=["data:/data"])}
    spec = file_of(tmp_path, "second.yaml", compose(services, volumes={"data": {}}, **top))
    result = group.install(second, "1.0", spec)
    assert result.returncode == 2, result.stderr
    assert f"group {first}" in last_line(result) and "name:" in last_line(result)
    assert group.modules() == f"{first}\t1.0\n"

    result = group.run("remove", second, "--module-version", "1.0")
    assert result.returncode == 0, result.stderr
    assert _ids(group, first) == before and states(group, first) == {"web": "running"}
    assert _volume_file(group, first, volume) == "precious\n"
    assert group.modules() == f"{first}\t1.0\n"


def test_container_name_held_by_a_container_module_is_refused_and_left_running(
    group: Group, test_images: TestImages, tmp_path: Path
):
    held = unique("held")
    result = group.plugin.run("install", held, "--module-version", test_images.app1)
    assert result.returncode == 0, result.stderr
    container_id = group.podman.cli("inspect", "--format", "{{.Id}}", held).stdout.strip()

    name = unique("grp")
    spec = file_of(tmp_path, "g.yaml", compose({"web": app(test_images.app2, container_name=held)}))
    result = group.install(name, "1.0", spec)
    assert result.returncode == 2, result.stderr
    assert f"container module {held}" in last_line(result) and "container_name" in last_line(result)
    result = group.run("remove", name, "--module-version", "1.0")
    assert result.returncode == 0, result.stderr
    inspect = group.podman.cli("inspect", "--format", "{{.Id}} {{.State.Status}}", held).stdout.split()
    assert inspect == [container_id, "running"]
    assert group.modules() == ""


def test_container_name_held_by_another_group_is_refused(
    group: Group, test_images: TestImages, tmp_path: Path
):
    shared = unique("shared")
    first, second = unique("first"), unique("second")
    result = group.install(
        first,
        "1.0",
        file_of(tmp_path, "a.yaml", compose({"web": app(test_images.app1, container_name=shared)})),
    )
    assert result.returncode == 0, result.stderr
    before = _ids(group, first)

    spec = file_of(tmp_path, "b.yaml", compose({"api": app(test_images.app2, container_name=shared)}))
    result = group.install(second, "1.0", spec)
    assert result.returncode == 2, result.stderr
    assert f"group {first}" in last_line(result)
    result = group.run("remove", second, "--module-version", "1.0")
    assert result.returncode == 0, result.stderr
    assert _ids(group, first) == before and states(group, first) == {"web": "running"}
    assert group.modules() == f"{first}\t1.0\n"


@pytest.mark.parametrize("named", [True, False], ids=["container_name", "derived name"])
def test_a_container_module_never_replaces_or_removes_a_groups_container(
    group: Group, test_images: TestImages, tmp_path: Path, named: bool
):
    name = unique("grp")
    container = unique("web") if named else f"{name}_web_1"
    extra = {"container_name": container} if named else {}
    result = group.install(
        name, "1.0", file_of(tmp_path, "g.yaml", compose({"web": app(test_images.app1, **extra)}))
    )
    assert result.returncode == 0, result.stderr
    before = _ids(group, name)

    for args in (("install", container, "--module-version", test_images.app2), ("remove", container)):
        result = group.plugin.run(*args)
        assert result.returncode == 2, result.stderr
        assert f"belongs to group {name}" in last_line(result)
        assert _ids(group, name) == before and states(group, name) == {"web": "running"}
    result = group.run("remove", name, "--module-version", "1.0")
    assert result.returncode == 0, result.stderr
    assert group.containers(name) == {}


def test_a_groups_remove_leaves_a_container_module_of_a_derived_name(
    group: Group, test_images: TestImages, tmp_path: Path
):
    """A container module named like compose's derived name is refused as that name's holder."""
    name = unique("grp")
    held = f"{name}_web_1"
    result = group.plugin.run("install", held, "--module-version", test_images.app1)
    assert result.returncode == 0, result.stderr
    result = group.install(name, "1.0", file_of(tmp_path, "g.yaml", compose({"web": app(test_images.app2)})))
    assert result.returncode == 2, result.stderr
    assert f"container module {held}" in last_line(result) and "name:" in last_line(result)
    assert group.podman.cli("inspect", "--format", "{{.State.Status}}", held).stdout.strip() == "running"


@pytest.mark.parametrize("shape", ["second replica", "compat separator"])
def test_a_derived_name_compose_would_give_a_replica_or_with_dashes_is_checked_too(
    group: Group, test_images: TestImages, tmp_path: Path, shape: str
):
    """compose names replicas PROJECT_SERVICE_2, ..., and with docker_compose_compat PROJECT-SERVICE-1:
    a container module holding such a name is refused too, and keeps running (same id)."""
    name = unique("grp")
    if shape == "second replica":
        held, services, top = f"{name}_web_2", {"web": app(test_images.app2, scale=2)}, {}
    else:
        held, services, top = (
            f"{name}-web-1",
            {"web": app(test_images.app2)},
            {"x-podman": {"docker_compose_compat": True}},
        )
    result = group.plugin.run("install", held, "--module-version", test_images.app1)
    assert result.returncode == 0, result.stderr
    container_id = group.podman.cli("inspect", "--format", "{{.Id}}", held).stdout.strip()
    result = group.install(name, "1.0", file_of(tmp_path, "g.yaml", compose(services, **top)))
    assert result.returncode == 2, result.stderr
    assert f"container module {held}" in last_line(result) and "name:" in last_line(result)
    inspect = group.podman.cli("inspect", "--format", "{{.Id}} {{.State.Status}}", held).stdout.split()
    assert inspect == [container_id, "running"]


def test_a_failed_first_install_leaves_no_network(group: Group, test_images: TestImages, tmp_path: Path):
    """Compose cannot parse the file once the project's networks exist: the rollback takes them too."""
    name = unique("netgrp")
    # podman-compose refuses a network the file does not declare; the plugin reads the file.
    services = {"web": app(test_images.app1, networks=["back", "ghost"])}
    spec = file_of(tmp_path, "g.yaml", compose(services, networks={"back": {}}))
    result = group.install(name, "1.0", spec)
    assert result.returncode == 2, result.stderr
    networks = group.podman.cli("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert [network for network in networks if network.startswith(name)] == []
    assert group.modules() == ""


@pytest.fixture()
def small_data_dir(group: Group) -> Iterator[Path]:
    """The group's data_dir on its own 2 MiB tmpfs (the space guard off: it is filled on purpose).

    podman 5's chroot (tests/support/trixie.py) binds the directory without the mounts below it:
    there the filler writes to the disk beneath, and the test shows only that nothing breaks.
    """
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    group.data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(group.data_dir)], check=True)
    group.plugin.set("container", "min_free_space", 0)
    try:
        yield group.data_dir
    finally:
        group.podman.remove_all_containers()  # their bind mounts hold the tmpfs
        subprocess.run(["umount", "-l", str(group.data_dir)], check=False)


def _filler(image: str, marker: str) -> dict:
    """A service that fills the filesystem of the group's working directory as it starts."""
    script = f"dd if=/dev/zero of=/fill/{marker} bs=64k 2>/dev/null; exec sleep 100000"
    return app(image, entrypoint=["sh", "-c", script], volumes=["./:/fill"])


@pytest.mark.parametrize("upgrade", [False, True], ids=["first install", "upgrade"])
def test_a_data_dir_filled_after_up_ends_in_success_or_rollback(
    group: Group, test_images: TestImages, tmp_path: Path, small_data_dir: Path, upgrade: bool
):
    name = unique("full")
    if upgrade:
        result = group.install(
            name, "1.0", file_of(tmp_path, "v1.yaml", compose({"web": app(test_images.app1)}))
        )
        assert result.returncode == 0, result.stderr
    result = group.install(
        name, "2.0", file_of(tmp_path, "v2.yaml", compose({"web": _filler(test_images.app2, "x")}))
    )
    running = {
        service: c["image"] for service, c in group.containers(name).items() if c["state"] == "running"
    }
    if result.returncode == 0:  # the record was prepared before `up`: recording it needed no space
        assert group.modules() == f"{name}\t2.0\n" and running == {"web": test_images.app2}
    else:  # or rolled back: what list names is what runs
        assert result.returncode == 2, result.stderr
        if upgrade:
            assert group.modules() == f"{name}\t1.0\n" and running == {"web": test_images.app1}
        else:
            assert group.modules() == "" and running == {}


def test_groups_that_already_share_a_project_keep_running_and_remove_only_their_own(
    group: Group, test_images: TestImages, tmp_path: Path
):
    """As an older plugin left them: `Shop` installed beside `shop`, one compose project for both."""
    first = unique("shop")
    volume = _install_with_data(group, test_images, tmp_path, first)
    before = _ids(group, first)
    second = first.capitalize()
    root = group.data_dir / "compose"
    shutil.copytree(root / first, root / second)
    (root / second / "version").write_text(f"1.0\n{second}\n")
    assert group.modules() == f"{second}\t1.0\n{first}\t1.0\n"

    # An upgrade of either is refused, naming the other group.
    v2 = compose({"web": app(test_images.app2, volumes=["data:/data"])}, volumes={"data": {}})
    spec = file_of(tmp_path, "v2.yaml", v2)
    result = group.install(second, "2.0", spec)
    assert result.returncode == 2, result.stderr
    assert f"group {first}" in last_line(result)
    # Its remove takes only what it owns: none of the first group's containers, nor the volume they use.
    result = group.run("remove", second, "--module-version", "1.0")
    assert result.returncode == 0, result.stderr
    assert group.modules() == f"{first}\t1.0\n"
    assert _ids(group, first) == before and states(group, first) == {"web": "running"}
    assert _volume_file(group, first, volume) == "precious\n"
    # The first group then upgrades and removes as ever; its volume goes with it.
    result = group.install(first, "2.0", spec)
    assert result.returncode == 0, result.stderr
    result = group.run("remove", first, "--module-version", "2.0")
    assert result.returncode == 0, result.stderr
    assert group.containers(first) == {}
    assert group.podman.cli("volume", "exists", volume, check=False).returncode == 1
