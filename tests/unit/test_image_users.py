"""Who needs an image name the container-image type is asked to remove (pure logic of common.py)."""

from __future__ import annotations

from tedge_container.engine.model import Container
from tedge_container.software.image.common import describe_users, users_through

A, B = "127.0.0.1:5000/team/app:1", "127.0.0.1:5000/team/app:2"


def container(name: str, image: str, image_id: str = "sha256:9") -> Container:
    return Container(name, name, image, image_id, {}, "running")


def test_only_containers_started_from_the_name_need_it_while_others_remain() -> None:
    containers = [
        container("from-a", A),
        container("from-b", B),
        container("by-id", "sha256:9"),
        container("other-image", A, image_id="sha256:1"),
        container("short", "docker.io/library/nginx:1"),
    ]
    image = {"Id": "sha256:9", "RepoTags": [A, B]}
    assert [c.name for c in users_through(containers, A, image)] == ["from-a"]


def test_the_last_name_is_needed_by_every_container_of_the_image() -> None:
    containers = [container("from-b", B), container("by-id", "sha256:9"), container("x", A, "sha256:1")]
    assert [c.name for c in users_through(containers, A, {"Id": "sha256:9", "RepoTags": [A]})] == [
        "from-b",
        "by-id",
    ]


def test_at_most_three_containers_are_named() -> None:
    assert describe_users([container("a", A)]) == "container a"
    assert describe_users([container(n, A) for n in "edcba"]) == "containers a, b, c and 2 more"
    assert describe_users([container(n, A) for n in "cba"]) == "containers a, b, c"
