from __future__ import annotations

import pytest

from tedge_container.errors import InvalidReference
from tedge_container.images import references


@pytest.mark.parametrize(
    ("text", "full", "domain"),
    [
        ("nginx", "docker.io/library/nginx:latest", "docker.io"),
        ("nginx:1.25", "docker.io/library/nginx:1.25", "docker.io"),
        ("library/nginx", "docker.io/library/nginx:latest", "docker.io"),
        ("docker.io/nginx", "docker.io/library/nginx:latest", "docker.io"),
        ("index.docker.io/acme/app:2", "docker.io/acme/app:2", "docker.io"),
        ("registry-1.docker.io/nginx", "docker.io/library/nginx:latest", "docker.io"),
        ("myhost/ns/app", "docker.io/myhost/ns/app:latest", "docker.io"),
        ("localhost/app", "localhost/app:latest", "localhost"),
        ("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000"),
        ("quay.io/x/y:tag", "quay.io/x/y:tag", "quay.io"),
        ("127.0.0.1:5000/a/b:1", "127.0.0.1:5000/a/b:1", "127.0.0.1:5000"),
        ("Registry.Example.com/app", "Registry.Example.com/app:latest", "Registry.Example.com"),
        (
            "myreg.example.com:8443/ns/app@sha256:" + "a" * 64,
            "myreg.example.com:8443/ns/app@sha256:" + "a" * 64,
            "myreg.example.com:8443",
        ),
        ("ghcr.io/x/y:1@sha256:" + "b" * 64, "ghcr.io/x/y@sha256:" + "b" * 64, "ghcr.io"),
    ],
)
def test_normalises_like_distribution(text: str, full: str, domain: str) -> None:
    reference = references.parse(text)
    assert reference.full == full
    assert reference.domain == domain


@pytest.mark.parametrize(
    "text",
    ["", "  ", "Nginx", "docker.io/Library/nginx", "nginx:", "nginx:bad tag", "a@sha256:xyz", "-x/y", "x//y"],
)
def test_rejects_invalid(text: str) -> None:
    with pytest.raises(InvalidReference):
        references.parse(text)


def test_upper_case_path_says_lower_case() -> None:
    with pytest.raises(InvalidReference, match="lower case"):
        references.parse("ghcr.io/Acme/app")


def test_equal_forms_compare_equal() -> None:
    assert references.parse("nginx") == references.parse("docker.io/library/nginx:latest")
    assert references.parse("nginx:1") != references.parse("nginx:2")
