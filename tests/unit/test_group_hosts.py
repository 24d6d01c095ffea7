"""Which services get `host.docker.internal`, and on which network (pure parts of group/hosts.py)."""

from __future__ import annotations

import pytest

from tedge_container.software.group.hosts import _Networks, sets_host


@pytest.mark.parametrize(
    "extra_hosts",
    [
        ["host.docker.internal:192.0.2.7"],
        ["other:192.0.2.1", "host.docker.internal=192.0.2.7"],
        ["HOST.docker.internal:::1"],
        {"host.docker.internal": "192.0.2.7"},  # the mapping form
        "host.docker.internal:192.0.2.7",
    ],
)
def test_a_file_that_names_host_docker_internal_keeps_its_own(extra_hosts) -> None:
    assert sets_host(extra_hosts)


@pytest.mark.parametrize("extra_hosts", [None, [], ["other:192.0.2.1"], {"other": "192.0.2.1"}, 42])
def test_other_extra_hosts_do_not_count(extra_hosts) -> None:
    assert not sets_host(extra_hosts)


def test_services_join_the_networks_podman_compose_gives_them() -> None:
    plain = _Networks({"services": {}}, "shop")
    assert plain.of_service({}) == ["default"] and plain.engine_name("default") == "shop_default"

    declared = {"networks": {"back": {}, "ext": {"external": True, "name": "tedge"}, "named": {"name": "n1"}}}
    networks = _Networks(declared, "shop")
    assert networks.of_service({}) == []  # several networks, none `default`: podman's own network
    assert networks.of_service({"networks": {"back": {}, "ext": None}}) == ["back", "ext"]
    assert [networks.engine_name(key) for key in ("back", "ext", "named")] == ["shop_back", "tedge", "n1"]
    assert networks.is_plain("back") and networks.is_plain("named") and not networks.is_plain("ext")

    one = _Networks({"networks": {"only": {"driver": "bridge"}}}, "my-app")
    assert one.of_service({}) == ["only"] and not one.is_plain("only")  # the single network is the default

    settings = {"default_net_name_compat": True, "name_separator_compat": True}
    compat = {"networks": {"a": {}}, "x-podman": settings}
    assert _Networks(compat, "my-app").engine_name("a") == "myapp-a"
    behavior = _Networks({"networks": {"a": {}}, "x-podman": {"default_net_behavior_compat": True}}, "p")
    assert behavior.of_service({}) == ["default"]
