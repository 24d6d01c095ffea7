"""The command line: parsing and exit codes, without an engine (none is reachable here)."""

from __future__ import annotations

import pytest

from tedge_container import __version__
from tedge_container.cli import main
from tedge_container.errors import UsageError
from tedge_container.software.contract import parse_module_args


def test_module_arguments() -> None:
    assert parse_module_args("install", ["web", "--module-version", "nginx:1", "--file", "/tmp/a"]) == (
        "web",
        "nginx:1",
        "/tmp/a",
    )
    assert parse_module_args("remove", ["web"]) == ("web", "", "")
    assert parse_module_args("install", ["web", "--module-version=nginx"]) == ("web", "nginx", "")


@pytest.mark.parametrize(
    "args",
    [[], ["--module-version", "x"], ["web", "--bogus", "1"], ["web", "--file"], ["web", "extra"]],
)
def test_bad_module_arguments(args: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_module_args("install", args)


@pytest.mark.parametrize(
    "argv",
    [
        ["container"],
        ["container", "bogus"],
        ["container", "list", "extra"],
        ["container", "install"],
        ["container", "install", "web"],
        ["container", "remove", "web", "--nope"],
        ["container", "credentials", "nginx"],
    ],
)
def test_usage_errors_exit_1(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.strip(), "a usage error explains itself"
    assert "Traceback" not in err


def test_prepare_and_finalize_succeed_without_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTAINER_HOST", "unix:///nonexistent/podman.sock")
    assert main(["/etc/tedge/sm-plugins/container", "prepare"]) == 0
    assert main(["/etc/tedge/sm-plugins/container", "finalize"]) == 0


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tedge-container-plugin", "--version"]) == 0
    assert capsys.readouterr().out == f"tedge-container-plugin {__version__}\n"


def test_unreachable_engine_exits_3_naming_socket(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEDGE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("CONTAINER_HOST", "unix:///nonexistent/podman.sock")
    assert main(["container", "list"]) == 3
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "/nonexistent/podman.sock" in last
    assert "systemctl enable --now podman.socket" in last


def test_invalid_version_fails_before_engine(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEDGE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("CONTAINER_HOST", "unix:///nonexistent/podman.sock")
    assert main(["container", "install", "web", "--module-version", "Bad/Name"]) == 2
    assert "not a valid image reference" in capsys.readouterr().err
