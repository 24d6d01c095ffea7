"""Advice chosen for an engine's message (pure text; the real faults: tests/integration/test_advice.py)."""

from __future__ import annotations

from tedge_container.engine.pull_errors import pull_error
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


def test_engine_answers_are_text_never_bytes() -> None:
    assert answer_text(b'{"cause":"x","message":"no such image"}\n') == "no such image"
    assert answer_text(b"\xff oops\n\n") == "\ufffd oops"
    assert answer_text(b"") == "an empty answer"
    assert "is Docker's" in not_podman("/run/docker.sock", 404, b'{"message":"page not found"}\n')
    assert "Docker" not in not_podman("/x.sock", 500, b"boom")
