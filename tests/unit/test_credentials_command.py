"""`tedge-container-plugin credentials IMAGE`: which credentials, without pulling or printing secrets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tedge_container.cli import main

SECRET_FILE = "file-pw-4c0ffee9"
SECRET_ENV = "env-pw-90b1d00d"
SECRET_AUTH = "auth-pw-77aa11ee"


@pytest.fixture()
def device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    creds = tmp_path / "credentials.toml"
    creds.write_text(
        f'[registry1]\nrepo = "https://ghcr.io/acme/"\nusername = "acme-bot"\npassword = "{SECRET_FILE}"\n'
    )
    creds.chmod(0o600)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "tedge-container-plugin.toml").write_text(
        f'[registry]\nhelper = ""\ncredentials_path = "{creds}"\n'
    )
    (tmp_path / "auth.json").write_text(
        json.dumps({"auths": {"quay.io": {"auth": "dXNlcjphdXRoLXB3LTc3YWExMWVl"}}})  # user:SECRET_AUTH
    )
    monkeypatch.setenv("TEDGE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(tmp_path / "auth.json"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CONTAINER_REGISTRY2_REPO", "ghcr.io")
    monkeypatch.setenv("CONTAINER_REGISTRY2_USERNAME", "env-user")
    monkeypatch.setenv("CONTAINER_REGISTRY2_PASSWORD", SECRET_ENV)
    return tmp_path


def run(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["tedge-container-plugin", *args])
    out, err = capfd.readouterr()
    for secret in (SECRET_FILE, SECRET_ENV, SECRET_AUTH):
        assert secret not in out and secret not in err
    return code, out, err


def test_names_provider_entry_and_user(device: Path, capfd: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capfd, "credentials", "ghcr.io/acme/app:1")
    assert code == 0, err
    assert out.splitlines()[:6] == [
        "image:    ghcr.io/acme/app:1",
        "registry: ghcr.io",
        f"provider: file {device / 'credentials.toml'}",
        "entry:    [registry1] repo 'https://ghcr.io/acme/'",
        "username: acme-bot",
        "password: (set, not shown)",
    ]
    assert "  helper (disabled): disabled (registry.helper is empty)" in out
    assert "  environment: CONTAINER_REGISTRY2_* repo 'ghcr.io' user 'env-user' (not used)" in out
    assert err == ""


def test_other_sources(device: Path, capfd: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capfd, "credentials", "ghcr.io/other/app")
    assert code == 0 and "provider: environment" in out and "username: env-user" in out
    code, out, _ = run(capfd, "credentials", "quay.io/x/y:2")
    assert code == 0 and "provider: auth file" in out
    assert f"entry:    {device / 'auth.json'} auths['quay.io']" in out
    code, out, _ = run(capfd, "credentials", "nginx")
    assert code == 0
    assert "image:    docker.io/library/nginx:latest" in out
    assert "provider: none: the pull is anonymous" in out


def test_usage_and_bad_references(device: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert run(capfd, "credentials")[0] == 1
    assert run(capfd, "credentials", "a", "b")[0] == 1
    code, _, err = run(capfd, "credentials", "Bad Image")
    assert code == 2 and "not a valid image reference" in err.strip().splitlines()[-1]


def test_warnings_go_to_stderr(device: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (device / "credentials.toml").chmod(0o644)
    code, out, err = run(capfd, "credentials", "ghcr.io/acme/app:1")
    assert code == 0 and "username: acme-bot" in out
    assert f"run `chmod 600 {device / 'credentials.toml'}`" in err


def test_not_an_sm_plugin_command(device: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["container", "credentials", "nginx"]) == 1
    assert "unknown command 'credentials'" in capfd.readouterr().err


def test_credentials_import_stays_out_of_list(tmp_path: Path) -> None:
    """`list` must not pay for the credential code."""
    code = (
        "import sys; from tedge_container import cli; "
        "print(any(m.startswith('tedge_container.credentials') for m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
