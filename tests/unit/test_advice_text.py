"""Advice chosen for an engine's message (pure text; the real faults: tests/integration/test_advice.py)."""

from __future__ import annotations

import pytest

from tedge_container.engine.pull_errors import classify_pull_error, pull_error
from tedge_container.engine.sockets import answer_text, not_podman


def test_plain_http_registry_gets_the_insecure_advice_not_the_ca_advice() -> None:
    error = pull_error(
        "reg.local:5000/app:1",
        "reg.local:5000",
        'Get "https://reg.local:5000/v2/": http: server gave HTTP response to HTTPS client',
    )
    assert error.kind == "insecure" and error.exit_code == 2
    assert 'location = "reg.local:5000" and insecure = true' in str(error)
    assert "ca.crt" not in str(error)


def test_a_full_disk_names_the_storage() -> None:
    message = "writing blob: storing blob to file: write /var/tmp/x: no space left on device"
    error = pull_error("a/b:1", "docker.io", message, storage="/var/lib/containers/storage")
    assert error.kind == "no_space"
    assert str(error).endswith(
        "podman's storage (/var/lib/containers/storage) is full: free space there or remove "
        "unused images (`podman image prune`), then retry."
    )


@pytest.mark.parametrize(
    "image",
    [
        "127.0.0.1:54013/cred-47ecca44/missing:1",  # a port holding 401: the CI flake of stop 13
        "reg.local:5000/team-a401b/missing:1",
        "reg.local:5000/app-404/eof:1",
    ],
)
def test_numbers_and_words_inside_the_image_name_never_decide_the_kind(image: str) -> None:
    registry = image.split("/")[0]
    name = image.rsplit(":", 1)[0]
    message = f"reading manifest 1 in {name}: manifest unknown"
    assert pull_error(image, registry, message).kind == "not_found"


def test_status_codes_count_only_as_whole_numbers() -> None:
    assert classify_pull_error("unexpected http code 401 from the registry") == "auth"
    assert classify_pull_error("invalid status code from registry 404") == "not_found"
    assert classify_pull_error("copied 40123 bytes, then: unknown blob") == "unknown"
    via_mirror = "pinging mirror.local:4010/v2/: dial tcp: connection refused"
    assert classify_pull_error(via_mirror) == "network"


def test_engine_answers_are_text_never_bytes() -> None:
    assert answer_text(b'{"cause":"x","message":"no such image"}\n') == "no such image"
    assert answer_text(b"\xff oops\n\n") == "\ufffd oops"
    assert answer_text(b"") == "an empty answer"
    assert "is Docker's" in not_podman("/run/docker.sock", 404, b'{"message":"page not found"}\n')
    assert "Docker" not in not_podman("/x.sock", 500, b"boom")
