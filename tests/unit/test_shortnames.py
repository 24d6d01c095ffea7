"""Short names resolved as podman resolves them (issue 12 cases 1 to 3): the pure part.

podman (containers/image shortnames, c/common libimage): a local `localhost/`
image first, then the unqualified-search registries; pulls only from those.
The Go plugin talks to podman's Docker-compatible API, which reads a short
name as Docker Hub (`docker.io/library/...`): that stays the last candidate.
The engine round trips are in tests/integration/test_dropin.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_archive import docker_archive

from tedge_container.errors import ArchiveError, PullError
from tedge_container.images import archive
from tedge_container.images.references import parse
from tedge_container.images.shortnames import local_candidates, not_found, pull_candidates


def fulls(refs) -> list[str]:
    return [ref.full for ref in refs]


def test_short_and_qualified_references() -> None:
    assert parse("accept-app:1.0").short
    assert parse("acme/app").short
    assert not parse("docker.io/acme/app").short
    assert not parse("localhost/accept-app:1.0").short
    assert not parse("127.0.0.1:5000/app").short


def test_candidates_without_search_registries() -> None:
    ref = parse("accept-app:1.0")
    hub = "docker.io/library/accept-app:1.0"
    assert fulls(local_candidates(ref, [])) == ["localhost/accept-app:1.0", hub]
    assert fulls(pull_candidates(ref, [])) == ["docker.io/library/accept-app:1.0"]


def test_candidates_follow_the_search_registries_in_order() -> None:
    ref = parse("acme/app")
    registries = ["registry.example.com:5000", "docker.io"]
    assert fulls(local_candidates(ref, registries)) == [
        "localhost/acme/app:latest",
        "registry.example.com:5000/acme/app:latest",
        "docker.io/acme/app:latest",
    ]
    assert fulls(pull_candidates(ref, registries)) == [
        "registry.example.com:5000/acme/app:latest",
        "docker.io/acme/app:latest",
    ]
    # the helper and the chain get the candidate's full name (its registry), not the short one
    assert pull_candidates(ref, registries)[0].text == "registry.example.com:5000/acme/app:latest"


def test_docker_hub_short_names_get_library() -> None:
    assert fulls(pull_candidates(parse("nginx:1"), ["docker.io"])) == ["docker.io/library/nginx:1"]


def test_qualified_references_are_their_own_candidate() -> None:
    ref = parse("quay.io/acme/app:1")
    assert local_candidates(ref, ["docker.io"]) == [ref] == pull_candidates(ref, ["docker.io"])


def test_archive_of_a_local_image_matches_its_short_name(tmp_path: Path) -> None:
    # issue 12 case 2: `podman save localhost/accept-app:2.0`, installed as accept-app:2.0 (Go: exit 0).
    path = docker_archive(tmp_path / "a2.tar", ["localhost/accept-app:2.0"])
    wanted = local_candidates(parse("accept-app:2.0"), [])
    assert archive.select_image(str(path), "accept-app:2.0", wanted).full == "localhost/accept-app:2.0"


def test_archive_saved_by_docker_matches_the_docker_hub_reading(tmp_path: Path) -> None:
    path = docker_archive(tmp_path / "d.tar", ["accept-app:2.0"])  # docker save writes familiar names
    wanted = local_candidates(parse("accept-app:2.0"), [])
    chosen = archive.select_image(str(path), "accept-app:2.0", wanted)
    assert chosen.full == "docker.io/library/accept-app:2.0"


def test_archive_mismatch_names_the_candidates(tmp_path: Path) -> None:
    path = docker_archive(tmp_path / "a.tar", ["localhost/other:1"])
    wanted = local_candidates(parse("accept-app:2.0"), [])
    with pytest.raises(
        ArchiveError, match=r"as localhost/accept-app:2\.0, docker\.io/library/accept-app:2\.0"
    ):
        archive.select_image(str(path), "accept-app:2.0", wanted)


def test_not_found_is_a_failure_naming_the_candidates() -> None:
    # issue 12 case 3: Go and our old code said "check network" with exit 3.
    ref = parse("accept-app:9")
    candidate = pull_candidates(ref, [])[0]
    network = PullError(
        f"Pulling {candidate.full} failed: dial tcp: lookup registry-1.docker.io: no such host; "
        "check the network.",
        kind="network",
    )
    error = not_found(ref, [], [(candidate, network)])
    assert error.exit_code == 2
    text = str(error)
    assert "localhost/accept-app:9" in text
    assert "docker.io/library/accept-app:9: dial tcp: lookup registry-1.docker.io: no such host" in text
    assert text.endswith("give its full name, e.g. docker.io/library/accept-app:9.")


def test_a_registry_asking_to_wait_keeps_exit_3() -> None:
    ref = parse("nginx")
    candidate = pull_candidates(ref, [])[0]
    limited = PullError("Pulling x failed: toomanyrequests; retry later.", kind="rate_limit")
    assert not_found(ref, [], [(candidate, limited)]).exit_code == 3
