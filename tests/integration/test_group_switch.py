"""What a group keeps when the device switches from the Go plugin: host names, and no pod left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.test_container_group import compose_by_hand
from tests.support.group import Group, app, compose, file_of, states

from tedge_container.software.group.hosts import NATIVE_SINCE

pytestmark = pytest.mark.integration


def hosts_of(group: Group, container: str) -> dict[str, str]:
    """name → address, as the container's /etc/hosts says."""
    found = {}
    for line in group.podman.container_file(container, "/etc/hosts").splitlines():
        address, *names = line.split("#", 1)[0].split()
        for name in names:
            found.setdefault(name, address)
    return found


def test_group_services_reach_the_host_as_host_docker_internal_unless_the_file_says_otherwise(
    group: Group, test_images, tmp_path: Path
):
    own, other = "192.0.2.7", "192.0.2.9"
    services = {
        "web": app(test_images.app1),  # the project's default network
        # A network with settings (compose makes it); extra_hosts in the mapping form.
        "tuned": app(test_images.app1, networks=["tuned"], extra_hosts={"other.example": other}),
        "own": app(test_images.app1, extra_hosts=[f"host.docker.internal:{own}"]),  # the file sets it
        "mapped": app(test_images.app1, extra_hosts={"host.docker.internal": own}),  # the same, as a mapping
    }
    networks = {"default": {}, "tuned": {"labels": ["org.example.purpose=test"]}}
    result = group.install("hosts", "1.0", file_of(tmp_path, "c.yaml", compose(services, networks=networks)))
    assert result.returncode == 0, result.stderr
    assert set(states(group, "hosts").values()) == {"running"}

    working = group.data_dir / "compose" / "hosts"
    if tuple(int(part) for part in group.podman.version.split(".")[:2]) >= NATIVE_SINCE:
        # podman >= 4.7 adds host.docker.internal itself: the plugin's override only hands
        # podman-compose the mapping forms as lists. (The chrooted podman 5 of the test suite
        # gives containers the sandbox's own /etc/hosts, so the override is what is checked.)
        override = (working / ".tedge-hosts.compose.yaml").read_text()
        assert "host.docker.internal:" not in override.replace(f"host.docker.internal:{own}", "")
        assert f'extra_hosts: !override ["other.example:{other}"]' in override
        assert f'extra_hosts: !override ["host.docker.internal:{own}"]' in override
    else:
        gateways = {}
        for service in ("web", "tuned"):
            hosts = hosts_of(group, f"hosts_{service}_1")
            assert hosts.get("host.docker.internal") == hosts["host.containers.internal"], (service, hosts)
            gateways[service] = hosts["host.docker.internal"]
        assert gateways["web"] != gateways["tuned"]  # each the gateway of its own network, as podman's name
        assert hosts_of(group, "hosts_tuned_1")["other.example"] == other
        for service in ("own", "mapped"):  # the file wins
            assert hosts_of(group, f"hosts_{service}_1")["host.docker.internal"] == own, service

    # The operator's file is as it was given; the plugin's override sits beside it.
    assert (working / "docker-compose.yaml").read_text() == (tmp_path / "c.yaml").read_text()
    made = {p.name for p in working.iterdir()} - {".tedge-hosts.compose.yaml"}  # none on podman >= 4.7
    assert made == {"docker-compose.yaml", "version"}


def test_upgrading_a_group_the_go_plugin_installed_leaves_no_pod_behind(
    group: Group, test_images, tmp_path: Path
):
    # As the Go plugin left it: podman-compose's defaults (a pod `pod_PROJECT`), its version file.
    legacy = group.data_dir / "compose" / "gopod"
    legacy.mkdir(parents=True)
    service = {"web": app(test_images.app1)}
    (legacy / "docker-compose.yml").write_text(compose(service))
    compose_by_hand(group.podman, legacy, "up", "-d")
    (legacy / "version").write_text("0.9\ngopod\n")
    assert group.podman.cli("pod", "exists", "pod_gopod", check=False).returncode == 0

    # The same service, unchanged: compose alone would keep its container (in the pod).
    result = group.install("gopod", "1.0", file_of(tmp_path, "v1.yaml", compose(service)))
    assert result.returncode == 0, result.stderr
    assert group.modules() == "gopod\t1.0\n"
    assert states(group, "gopod") == {"web": "running"}
    assert group.podman.cli("pod", "exists", "pod_gopod", check=False).returncode == 1
    assert group.podman.cli("pod", "ps", "-q").stdout == ""
