"""xpodman.py: compose's container names and x-podman settings, as podman-compose 1.x derives them."""

from __future__ import annotations

import pytest

from tedge_container.software.group import project, xpodman
from tedge_container.software.group.errors import ProjectError


def names(body: dict, top: dict | None = None) -> tuple[str, ...]:
    return xpodman.container_names("proj", "web", body, xpodman.settings(top or {}), "c.yaml")


def test_one_container_by_default_named_project_service_1() -> None:
    assert names({}) == ("proj_web_1",)
    assert names({"container_name": "mine"}) == ("mine",)


def test_replicas_come_from_scale_or_a_replicated_deploy() -> None:
    assert names({"scale": 3}) == ("proj_web_1", "proj_web_2", "proj_web_3")
    assert names({"scale": "2", "container_name": "mine"}) == ("mine", "proj_web_2")  # the first only
    assert names({"deploy": {"replicas": 2, "mode": "replicated"}}) == ("proj_web_1", "proj_web_2")
    assert names({"deploy": {"replicas": 2}}) == ("proj_web_1",)  # compose wants mode: replicated
    assert names({"scale": "many"}) == ("proj_web_1",)  # compose's try_int falls back to 1
    assert names({"scale": -1}) == ()


def test_dashes_with_name_separator_compat_or_docker_compose_compat() -> None:
    assert names({}, {"x-podman": {"name_separator_compat": True}}) == ("proj-web-1",)
    assert names({}, {"x-podman": {"docker_compose_compat": "true"}}) == ("proj-web-1",)
    explicit = {"x-podman": {"docker_compose_compat": True, "name_separator_compat": False}}
    assert names({}, explicit) == ("proj_web_1",)
    assert xpodman.settings({"x-podman": {"docker_compose_compat": 1}})["in_pod"] is False


def test_replicas_are_bounded() -> None:
    assert len(names({"scale": xpodman.MAX_REPLICAS})) == xpodman.MAX_REPLICAS
    with pytest.raises(ProjectError, match=r"service 'web' asks for 101 containers .* at most 100"):
        names({"scale": 101})


def test_a_loaded_project_carries_every_replicas_name(tmp_path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "name: Shop\nx-podman: {name_separator_compat: true}\nservices: {web: {image: x, scale: 2}}\n"
    )
    loaded = project.load(str(tmp_path), "shop", {})
    assert loaded.services[0].container_names == ("shop-web-1", "shop-web-2")
