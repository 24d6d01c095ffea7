"""The pull seam: the chain, exactly one refresh retry on auth failures, the final messages.

A fake engine stands in for podman; the chain is real (helper scripts in tmp_path).
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from tedge_container import log
from tedge_container.cli import main
from tedge_container.config import DEFAULTS, Config
from tedge_container.credentials import Chain, Credentials, Found, build_chain
from tedge_container.engine import pull_error
from tedge_container.errors import PullError
from tedge_container.images import pulling
from tedge_container.images.references import parse

STALE = "stale-pw-31d0c2aa"
FRESH = "fresh-pw-8e77b1f4"
SECRETS = [STALE, FRESH]


@pytest.fixture(autouse=True)
def never_leak(capfd: pytest.CaptureFixture[str]):
    log.set_level("debug")
    pulling._logged.clear()
    yield
    log.set_level("info")
    out, err = capfd.readouterr()
    for secret in SECRETS:
        assert secret not in out and secret not in err, f"a secret was printed: {out}\n{err}"


class FakeEngine:
    """Answers pulls from a script: the password that works, or a fixed engine message."""

    def __init__(self, good_password: str | None = None, message: str = "") -> None:
        self.good_password = good_password
        self.message = message
        self.calls: list[dict[str, str] | None] = []

    def storage_root(self) -> str:
        return ""  # the disk guard (diskspace.py) measures nothing: not what these tests are about

    def pull(self, reference: str, registry: str, auth: dict[str, str] | None = None) -> str:
        self.calls.append(auth)
        if self.message:
            raise pull_error(reference, registry, self.message)
        if self.good_password is None or (auth or {}).get("password") == self.good_password:
            return "sha256:" + "1" * 64
        raise pull_error(
            reference,
            registry,
            f"initializing source docker://{reference}: reading manifest latest in {registry}/app: "
            "unauthorized: authentication required",
        )


def helper_chain(tmp_path: Path, body: str) -> tuple[Chain, Path]:
    calls = tmp_path / "calls.log"
    helper = tmp_path / "registry-credentials"
    helper.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n' + textwrap.dedent(body))
    helper.chmod(0o755)
    values = dict(DEFAULTS)
    values["registry.helper"] = str(helper)
    values["registry.credentials_path"] = str(tmp_path / "absent.toml")
    environ = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path)}
    return build_chain(Config(values, "", ""), environ=environ), calls


STALE_THEN_FRESH = f"""
if [ "$3" = "--refresh" ]; then pw={FRESH}; else pw={STALE}; fi
printf '{{"username": "aws", "password": "%s"}}' "$pw"
"""


def test_stale_token_one_refresh_then_success(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    chain, calls = helper_chain(tmp_path, STALE_THEN_FRESH)
    engine = FakeEngine(good_password=FRESH)
    image_id = pulling.pull(engine, parse("ecr.example.com/app:1"), Config.defaults(), chain)  # type: ignore[arg-type]
    assert image_id.startswith("sha256:")
    assert calls.read_text().splitlines() == [
        "get ecr.example.com/app:1",
        "get ecr.example.com/app:1 --refresh",
    ]
    assert [c["password"] for c in engine.calls if c] == [STALE, FRESH]
    err = capfd.readouterr().err
    helper = tmp_path / "registry-credentials"
    assert f"info: credentials for ecr.example.com: helper {helper} (user 'aws')" in err
    assert f"info: credentials for ecr.example.com (refreshed): helper {helper} (user 'aws')" in err


def test_good_credentials_pull_once(tmp_path: Path) -> None:
    chain, calls = helper_chain(tmp_path, STALE_THEN_FRESH)
    engine = FakeEngine(good_password=STALE)
    pulling.pull(engine, parse("ecr.example.com/app:1"), Config.defaults(), chain)  # type: ignore[arg-type]
    assert calls.read_text().splitlines() == ["get ecr.example.com/app:1"]
    assert len(engine.calls) == 1


def test_always_wrong_exactly_two_attempts_then_exit_2(tmp_path: Path) -> None:
    chain, calls = helper_chain(tmp_path, STALE_THEN_FRESH)
    engine = FakeEngine(good_password="something-else")
    with pytest.raises(PullError) as caught:
        pulling.pull(engine, parse("ecr.example.com/team/app:1"), Config.defaults(), chain)  # type: ignore[arg-type]
    assert len(engine.calls) == 2 and len(calls.read_text().splitlines()) == 2
    error = caught.value
    assert (error.kind, error.exit_code, error.registry) == ("auth", 2, "ecr.example.com")
    message = str(error)
    assert (
        "authentication with ecr.example.com failed twice, the second time with refreshed credentials"
        in message
    )
    assert f"helper {tmp_path / 'registry-credentials'} (user 'aws')" in message
    assert "may read team/app" in message
    assert "tedge-container-plugin credentials ecr.example.com/team/app:1" in message


@pytest.mark.parametrize(
    ("message", "kind", "exit_code"),
    [
        ("reading manifest 1 in ecr.example.com/app: manifest unknown", "not_found", 2),
        ("pinging container registry ecr.example.com: dial tcp: connection refused", "network", 3),
        ("x509: certificate signed by unknown authority", "tls", 2),
        ("toomanyrequests: slow down", "rate_limit", 3),
    ],
)
def test_other_failures_are_not_retried(tmp_path: Path, message: str, kind: str, exit_code: int) -> None:
    chain, calls = helper_chain(tmp_path, STALE_THEN_FRESH)
    engine = FakeEngine(message=message)
    with pytest.raises(PullError) as caught:
        pulling.pull(engine, parse("ecr.example.com/app:1"), Config.defaults(), chain)  # type: ignore[arg-type]
    assert (caught.value.kind, caught.value.exit_code) == (kind, exit_code)
    assert len(engine.calls) == 1
    assert calls.read_text().splitlines() == ["get ecr.example.com/app:1"]


def test_no_credentials_for_a_private_image(tmp_path: Path) -> None:
    chain, calls = helper_chain(tmp_path, 'echo \'{"username": "", "password": ""}\'\n')
    engine = FakeEngine(good_password=FRESH)
    with pytest.raises(PullError) as caught:
        pulling.pull(engine, parse("private.example.com/app:1"), Config.defaults(), chain)  # type: ignore[arg-type]
    assert engine.calls == [None]  # anonymous, and not again: nothing new to try
    assert calls.read_text().splitlines() == [
        "get private.example.com/app:1",
        "get private.example.com/app:1 --refresh",
    ]
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert "private.example.com requires authentication and no credentials were found for it" in message
    assert "/data/tedge-container-plugin/credentials.toml" in message


def test_refresh_finds_credentials_where_there_were_none(tmp_path: Path) -> None:
    chain, _ = helper_chain(
        tmp_path,
        f"""
        if [ "$3" = "--refresh" ]; then echo '{{"username": "u", "password": "{FRESH}"}}'; fi
        """,
    )
    engine = FakeEngine(good_password=FRESH)
    pulling.pull(engine, parse("private.example.com/app:1"), Config.defaults(), chain)  # type: ignore[arg-type]
    assert engine.calls == [None, {"username": "u", "password": FRESH}]


def test_engine_message_echoing_a_secret_is_scrubbed(tmp_path: Path) -> None:
    chain, _ = helper_chain(tmp_path, STALE_THEN_FRESH)
    engine = FakeEngine(message=f"manifest unknown (sent {STALE})")
    with pytest.raises(PullError) as caught:
        pulling.pull(engine, parse("ecr.example.com/app:1"), Config.defaults(), chain)  # type: ignore[arg-type]
    assert STALE not in str(caught.value) and "(sent ***)" in str(caught.value)


def test_provider_failures_are_named_in_the_final_error(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    chain, _ = helper_chain(tmp_path, "echo garbage; exit 0\n")
    engine = FakeEngine(good_password=FRESH)
    with pytest.raises(PullError) as caught:
        pulling.pull(engine, parse("private.example.com/app:1"), Config.defaults(), chain)  # type: ignore[arg-type]
    # The source is named as what is broken, not "add an entry".
    message = str(caught.value)
    helper_path = tmp_path / "registry-credentials"
    assert f"a credential source is broken: The credentials helper {helper_path} answered" in message
    assert "add an entry" not in message
    err = capfd.readouterr().err
    helper = tmp_path / "registry-credentials"
    assert f"warning: The credentials helper {helper} answered `get private.example.com/app:1` with" in err
    assert "answered `get private.example.com/app:1 --refresh` with" in err


def test_install_exit_codes_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI maps the final auth failure to exit 2 with one last line; no traceback."""
    import tedge_container.software.container.install as install_module

    def failing_install(config: Config, name: str, version: str, file: str, engine: object = None) -> None:
        raise pulling.auth_failure(parse(version), _resolution(), _resolution(), config)

    monkeypatch.setattr(install_module, "install", failing_install)
    monkeypatch.setenv("TEDGE_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("CONTAINER_REPORT_ENABLED", "false")
    assert main(["container", "install", "web", "--module-version", "ecr.example.com/app:1"]) == 2


def _resolution():
    from tedge_container.credentials import Resolution

    resolution = Resolution("ecr.example.com")
    resolution.credentials = Credentials("aws", STALE)
    resolution.provider = "helper /usr/bin/registry-credentials"
    return resolution


def test_identity_token_is_sent_as_identitytoken() -> None:
    class Token:
        name = "auth file"

        def lookup(self, reference: object, refresh: bool) -> Found:
            return Found(Credentials("", "", identity_token=FRESH), "x")

    engine = FakeEngine()
    pulling.pull(engine, parse("quay.io/a"), Config.defaults(), Chain([Token()]))  # type: ignore[arg-type]
    assert engine.calls == [{"identitytoken": FRESH}]


def test_the_disk_guard_stops_every_pull_before_the_engine_is_asked(tmp_path: Path) -> None:
    """pulling.pull is the one pull of every type (container-group's pull_images included): with
    podman's storage below container.min_free_space, nothing is pulled, not even credentials asked.
    (Integration: tests/adversarial/test_process_bounds.py; there a group's unpack guard, on the
    same filesystem, refuses first.)"""
    from tedge_container.diskspace import NotEnoughSpace

    class FullEngine(FakeEngine):
        def storage_root(self) -> str:
            return str(tmp_path)

    chain, calls = helper_chain(tmp_path, STALE_THEN_FRESH)
    engine = FullEngine(good_password=FRESH)
    stats = os.statvfs(tmp_path)
    margin = stats.f_bavail * stats.f_frsize + (1 << 30)
    config = Config({**DEFAULTS, "container.min_free_space": margin}, "", "")
    with pytest.raises(NotEnoughSpace) as refused:
        pulling.pull(engine, parse("ecr.example.com/app:1"), config, chain)  # type: ignore[arg-type]
    assert str(refused.value).startswith(
        f"Not enough disk space to pull ecr.example.com/app:1: {tmp_path} has "
    )
    assert engine.calls == [] and not calls.exists()
