"""Registry credentials against real registries: two TLS + htpasswd registries and an open one.

Every install here really pulls (the pushed image is removed from the
service's store first). Every test uses distinctive secrets (the registries'
passwords are replaced for this module) and checks that none of them — nor
the base64 `auth` values made from them — appears in anything the plugin
printed, at debug log level.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

APP1 = "localhost/tedge-test/app:1"
RUN = secrets.token_hex(4)
USER_A, PASS_A = "cred-user-a", f"pwA-{RUN}-c0ffee"
USER_B, PASS_B = "cred-user-b", f"pwB-{RUN}-beef00"
WRONG = f"wrong-{RUN}-dead11"
STALE = f"stale-{RUN}-0ld0ld"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


SECRETS = [PASS_A, PASS_B, WRONG, STALE] + [
    b64(f"{user}:{pw}") for user in (USER_A, USER_B) for pw in (PASS_A, PASS_B, WRONG, STALE)
]


@dataclass
class Images:
    a_cred: str  # auth_registry_a/cred/app:1
    a_team: str  # auth_registry_a/team/app:1
    a_other: str  # auth_registry_a/other/app:1
    b_cred: str  # auth_registry_b/cred/app:1
    open_app: str  # open_registry/cred/app:1
    all: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def images(auth_registry_a, auth_registry_b, open_registry, test_images) -> Iterator[Images]:
    """Distinctive credentials on both registries for this module, and the images pushed there."""
    originals = [(r, r.username, r.password) for r in (auth_registry_a, auth_registry_b)]
    auth_registry_a.set_credentials(USER_A, PASS_A)
    auth_registry_b.set_credentials(USER_B, PASS_B)
    try:
        pushed = Images(
            a_cred=test_images.push(APP1, auth_registry_a, f"cred-{RUN}/app:1"),
            a_team=test_images.push(APP1, auth_registry_a, f"team-{RUN}/app:1"),
            a_other=test_images.push(APP1, auth_registry_a, f"other-{RUN}/app:1"),
            b_cred=test_images.push(APP1, auth_registry_b, f"cred-{RUN}/app:1"),
            open_app=test_images.push(APP1, open_registry, f"cred-{RUN}/app:1"),
        )
        pushed.all = [pushed.a_cred, pushed.a_team, pushed.a_other, pushed.b_cred, pushed.open_app]
        yield pushed
    finally:
        for registry, username, password in originals:
            registry.set_credentials(username, password)


@dataclass
class Device:
    """The plugin with isolated credential sources: no auth files, no helper, unless a test adds them."""

    plugin: object
    podman: object
    root: Path
    env: dict[str, str]
    results: list = field(default_factory=list)

    @property
    def credentials_toml(self) -> Path:
        return self.root / "credentials.toml"

    @property
    def auth_json(self) -> Path:
        return self.root / "run" / "containers" / "auth.json"

    def write_credentials(self, entries: dict[str, tuple[str, str, str]], mode: int = 0o600) -> None:
        text = "".join(
            f'[{name}]\nrepo = "{repo}"\nusername = "{user}"\npassword = "{pw}"\n\n'
            for name, (repo, user, pw) in entries.items()
        )
        self.credentials_toml.write_text(text)
        self.credentials_toml.chmod(mode)

    def write_auth_json(self, data: dict) -> None:
        self.auth_json.parent.mkdir(parents=True, exist_ok=True)
        self.auth_json.write_text(json.dumps(data))
        self.auth_json.chmod(0o600)

    def helper(self, body: str, name: str = "registry-credentials") -> tuple[Path, Path]:
        """A helper script that logs its arguments to a call log, then runs `body`."""
        calls = self.root / f"{name}.calls"
        path = self.root / "bin" / name
        path.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n' + textwrap.dedent(body))
        path.chmod(0o755)
        self.plugin.set_config("registry", "helper", str(path))
        return path, calls

    def install(self, name: str, image: str, **env: str):
        self.podman.cli("rmi", "-f", image, check=False)  # so that the install really pulls
        result = self.plugin.run("install", name, "--module-version", image, env={**self.env, **env})
        self.results.append(result)
        return result

    def credentials(self, image: str):
        result = self.plugin.cli("credentials", image, env=self.env)
        self.results.append(result)
        return result


@pytest.fixture()
def device(plugin, podman_service, images, tmp_path: Path) -> Iterator[Device]:
    root = tmp_path / "device"
    (root / "bin").mkdir(parents=True)
    (root / "home").mkdir()
    (root / "tmp").mkdir()
    env = {
        "HOME": str(root / "home"),
        "XDG_RUNTIME_DIR": str(root / "run"),
        "REGISTRY_AUTH_FILE": str(root / "no-auth-file.json"),
        "DOCKER_CONFIG": str(root / "home" / ".docker"),
        "TMPDIR": str(root / "tmp"),
        "PATH": f"{root / 'bin'}:{os.environ['PATH']}",
        "CONTAINER_LOG_LEVEL": "debug",
    }
    plugin.set_config("registry", "helper", "")
    plugin.set_config("registry", "credentials_path", str(root / "credentials.toml"))
    plugin.set_config("report", "enabled", False)
    dev = Device(plugin, podman_service, root, env)
    yield dev
    for result in dev.results:
        for secret in SECRETS:
            assert secret not in result.stdout and secret not in result.stderr, (
                f"a secret was printed by {result.args}:\n{result.stdout}\n{result.stderr}"
            )
    assert list((root / "tmp").iterdir()) == [], "temporary files were left behind"


def last_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else ""


def host_of(image: str) -> str:
    return image.split("/", 1)[0]


def calls_of(calls: Path) -> list[str]:
    return calls.read_text().splitlines() if calls.exists() else []


# -- each provider alone ------------------------------------------------------------------


def test_static_file_alone_six_entries_namespaces_and_aliases(device: Device, images: Images) -> None:
    a, b = host_of(images.a_cred), host_of(images.b_cred)
    device.write_credentials(
        {
            "registry1": ("docker.io", "hub-user", WRONG),
            "registry2": ("quay.io", "quay-user", WRONG),
            "registry3": (f"https://{a}/", USER_A, WRONG),  # the registry: wrong password
            "team": (f"{a}/team-{RUN}", USER_A, PASS_A),  # a namespace below it: right
            "cred-ns": (f"{a.upper()}/cred-{RUN}/", USER_A, PASS_A),
            "registry6": (f"https://{b}/v2/", USER_B, PASS_B),
            "registry7": ("ghcr.io/acme", "gh", WRONG),
        }
    )
    result = device.install("cred-file-a", images.a_cred)
    assert result.returncode == 0, result.stderr
    assert f"credentials for {a}: file {device.credentials_toml} [cred-ns]" in result.stderr
    assert f"(user '{USER_A}')" in result.stderr
    result = device.install("cred-file-team", images.a_team)
    assert result.returncode == 0, result.stderr
    assert "[team]" in result.stderr
    result = device.install("cred-file-b", images.b_cred)
    assert result.returncode == 0, result.stderr
    assert "[registry6]" in result.stderr
    # the most specific entry for other-*/ is the registry's own, with a wrong password
    result = device.install("cred-file-other", images.a_other)
    assert result.returncode == 2
    assert "[registry3]" in last_line(result) and "authentication" in last_line(result)
    # Docker Hub aliases all land on the docker.io entry (no pull: this machine is offline)
    for image in (
        "nginx",
        "index.docker.io/library/nginx:1",
        "registry-1.docker.io/acme/app",
        "docker.io/x/y",
    ):
        result = device.credentials(image)
        assert result.returncode == 0, result.stderr
        assert "entry:    [registry1] repo 'docker.io'" in result.stdout, result.stdout


def test_environment_alone(device: Device, images: Images) -> None:
    env = {
        "CONTAINER_REGISTRY9_REPO": host_of(images.b_cred),
        "CONTAINER_REGISTRY9_USERNAME": USER_B,
        "CONTAINER_REGISTRY9_PASSWORD": PASS_B,
    }
    result = device.install("cred-env", images.b_cred, **env)
    assert result.returncode == 0, result.stderr
    assert f"credentials for {host_of(images.b_cred)}: environment CONTAINER_REGISTRY9_*" in result.stderr


def test_environment_overrides_a_file_table_per_key(device: Device, images: Images) -> None:
    device.write_credentials({"registry1": (host_of(images.a_cred), USER_A, WRONG)})
    result = device.install("cred-env-override", images.a_cred, CONTAINER_REGISTRY1_PASSWORD=PASS_A)
    assert result.returncode == 0, result.stderr
    assert "[registry1] (with CONTAINER_REGISTRY1_* overrides)" in result.stderr


def test_auth_json_alone(device: Device, images: Images) -> None:
    a = host_of(images.a_cred)
    device.write_auth_json(
        {
            "auths": {
                a: {"auth": b64(f"{USER_A}:{WRONG}")},  # less specific: not used
                f"{a}/cred-{RUN}": {"auth": b64(f"{USER_A}:{PASS_A}")},
                f"https://{host_of(images.b_cred)}/v2/": {"auth": b64(f"{USER_B}:{PASS_B}")},
            }
        }
    )
    result = device.install("cred-auth-a", images.a_cred)
    assert result.returncode == 0, result.stderr
    assert f"auth file {device.auth_json} auths['{a}/cred-{RUN}']" in result.stderr
    result = device.install("cred-auth-b", images.b_cred)
    assert result.returncode == 0, result.stderr


def test_docker_credential_helper_from_cred_helpers(device: Device, images: Images) -> None:
    b = host_of(images.b_cred)
    (device.root / "secret-b").write_text(PASS_B)
    _, calls = device.helper(
        f"""
        read server
        echo "server=$server" >> "{device.root}/docker-credential-test.calls"
        secret=$(cat "{device.root}/secret-b")
        printf '{{"ServerURL": "%s", "Username": "{USER_B}", "Secret": "%s"}}' "$server" "$secret"
        """,
        name="docker-credential-test",
    )
    device.plugin.set_config("registry", "helper", "")
    device.auth_json.parent.mkdir(parents=True)
    docker = Path(device.env["DOCKER_CONFIG"])
    docker.mkdir(parents=True)
    (docker / "config.json").write_text(json.dumps({"credHelpers": {b: "test"}}))
    result = device.install("cred-dch", images.b_cred)
    assert result.returncode == 0, result.stderr
    assert calls_of(calls) == ["get", f"server={b}"]
    assert f"credHelpers '{b}' → docker-credential-test" in result.stderr


def test_helper_alone_called_with_exact_arguments(device: Device, images: Images) -> None:
    (device.root / "secret-a").write_text(PASS_A)
    helper, calls = device.helper(
        f"""
        echo "helper: fetching a token for $2" >&2
        printf '{{"username": "{USER_A}", "password": "%s"}}' "$(cat {device.root}/secret-a)"
        """
    )
    result = device.install("cred-helper", images.a_cred)
    assert result.returncode == 0, result.stderr
    assert calls_of(calls) == [f"get {images.a_cred}"]
    assert f"credentials for {host_of(images.a_cred)}: helper {helper} (user '{USER_A}')" in result.stderr
    assert f"debug: {helper}: helper: fetching a token for {images.a_cred}" in result.stderr


def test_helper_found_by_name_on_path(device: Device, images: Images) -> None:
    (device.root / "secret-a").write_text(PASS_A)
    helper, calls = device.helper(
        f"""printf '{{"username": "{USER_A}", "password": "%s"}}' "$(cat {device.root}/secret-a)"\n"""
    )
    device.plugin.set_config("registry", "helper", "registry-credentials")  # the default: found on PATH
    result = device.install("cred-helper-path", images.a_cred)
    assert result.returncode == 0, result.stderr
    assert f"helper {helper} (user '{USER_A}')" in result.stderr
    assert len(calls_of(calls)) == 1


# -- precedence ------------------------------------------------------------------------------


def test_helper_beats_file_beats_environment_beats_auth_json(device: Device, images: Images) -> None:
    a, b = host_of(images.a_cred), host_of(images.b_cred)
    (device.root / "secret-a").write_text(PASS_A)
    helper, _ = device.helper(
        f"""
        case "$2" in
          {a}/*) printf '{{"username": "{USER_A}", "password": "%s"}}' "$(cat {device.root}/secret-a)" ;;
          *) echo '{{"username": "", "password": ""}}' ;;
        esac
        """
    )
    device.write_credentials({"registry1": (a, USER_A, WRONG), "registry2": (b, USER_B, PASS_B)})
    env = {
        "CONTAINER_REGISTRY5_REPO": b,
        "CONTAINER_REGISTRY5_USERNAME": USER_B,
        "CONTAINER_REGISTRY5_PASSWORD": WRONG,
    }
    device.write_auth_json(
        {"auths": {a: {"auth": b64(f"{USER_A}:{WRONG}")}, b: {"auth": b64(f"{USER_B}:{WRONG}")}}}
    )
    result = device.install("cred-prec-a", images.a_cred, **env)
    assert result.returncode == 0, result.stderr
    assert f"credentials for {a}: helper {helper}" in result.stderr
    result = device.install("cred-prec-b", images.b_cred, **env)
    assert result.returncode == 0, result.stderr
    assert f"credentials for {b}: file {device.credentials_toml} [registry2]" in result.stderr


def test_environment_beats_auth_json_and_a_wrong_winner_is_not_skipped(
    device: Device, images: Images
) -> None:
    b = host_of(images.b_cred)
    device.write_auth_json({"auths": {b: {"auth": b64(f"{USER_B}:{PASS_B}")}}})
    env = {
        "CONTAINER_REGISTRY5_REPO": b,
        "CONTAINER_REGISTRY5_USERNAME": USER_B,
        "CONTAINER_REGISTRY5_PASSWORD": PASS_B,
    }
    result = device.install("cred-prec-env", images.b_cred, **env)
    assert result.returncode == 0, result.stderr
    assert f"credentials for {b}: environment" in result.stderr
    # The first source that answers is the one used, even when a later one would work.
    result = device.install("cred-prec-env2", images.b_cred, **{**env, "CONTAINER_REGISTRY5_PASSWORD": WRONG})
    assert result.returncode == 2
    assert "environment CONTAINER_REGISTRY5_*" in last_line(result)


# -- the refresh retry -----------------------------------------------------------------------


def test_stale_cached_token_one_refresh_retry_then_success(device: Device, images: Images) -> None:
    source, cache = device.root / "token-source", device.root / "token-cache"
    source.write_text(PASS_A)
    cache.write_text(STALE)  # what the helper cached before the password was rotated
    _, calls = device.helper(
        f"""
        if [ "$3" = "--refresh" ]; then echo "minting a new token" >&2; cp "{source}" "{cache}"; fi
        printf '{{"username": "{USER_A}", "password": "%s"}}' "$(cat "{cache}")"
        """
    )
    result = device.install("cred-refresh", images.a_cred)
    assert result.returncode == 0, result.stderr
    assert calls_of(calls) == [f"get {images.a_cred}", f"get {images.a_cred} --refresh"]
    assert f"credentials for {host_of(images.a_cred)} (refreshed)" in result.stderr


def test_always_wrong_exactly_two_attempts_then_exit_2(device: Device, images: Images) -> None:
    (device.root / "wrong").write_text(WRONG)
    helper, calls = device.helper(
        f"""printf '{{"username": "{USER_A}", "password": "%s"}}' "$(cat {device.root}/wrong)"\n"""
    )
    result = device.install("cred-wrong", images.a_cred)
    assert result.returncode == 2
    assert calls_of(calls) == [f"get {images.a_cred}", f"get {images.a_cred} --refresh"]
    line = last_line(result)
    a = host_of(images.a_cred)
    assert line.startswith("Installing cred-wrong failed: Pulling")
    assert f"authentication with {a} failed twice" in line
    assert f"helper {helper} (user '{USER_A}')" in line
    assert f"tedge-container-plugin credentials {images.a_cred}" in line


def test_no_credentials_for_a_private_image(device: Device, images: Images) -> None:
    result = device.install("cred-none", images.b_cred)
    assert result.returncode == 2
    line = last_line(result)
    assert f"{host_of(images.b_cred)} requires authentication and no credentials were found" in line
    assert str(device.credentials_toml) in line


def test_not_found_and_network_failures_are_not_retried(device: Device, images: Images) -> None:
    (device.root / "secret-a").write_text(PASS_A)
    _, calls = device.helper(
        f"""printf '{{"username": "{USER_A}", "password": "%s"}}' "$(cat {device.root}/secret-a)"\n"""
    )
    missing = f"{host_of(images.a_cred)}/cred-{RUN}/missing:1"
    result = device.install("cred-missing", missing)
    assert result.returncode == 2, result.stderr
    assert "check that the image name and tag exist" in last_line(result)
    assert calls_of(calls) == [f"get {missing}"]

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        unreachable = f"127.0.0.1:{sock.getsockname()[1]}/cred/app:1"
    calls.unlink()
    result = device.install("cred-unreachable", unreachable)
    assert result.returncode == 3, result.stderr
    assert calls_of(calls) == [f"get {unreachable}"]


def test_open_insecure_registry_with_and_without_credentials(device: Device, images: Images) -> None:
    result = device.install("cred-open", images.open_app)
    assert result.returncode == 0, result.stderr
    assert "no credentials (anonymous pull" in result.stderr
    (device.root / "secret-a").write_text(PASS_A)
    device.helper(
        f"""printf '{{"username": "{USER_A}", "password": "%s"}}' "$(cat {device.root}/secret-a)"\n"""
    )
    result = device.install("cred-open2", images.open_app)
    assert result.returncode == 0, result.stderr


# -- failing helpers ---------------------------------------------------------------------------


def test_hanging_helper_is_bounded_killed_and_falls_through(device: Device, images: Images) -> None:
    pidfile = device.root / "child.pid"
    helper, calls = device.helper(f'sleep 300 &\necho $! > "{pidfile}"\nwait\n')
    device.plugin.set_config("registry", "helper_timeout", 2)
    device.write_credentials({"registry1": (host_of(images.a_cred), USER_A, PASS_A)})
    started = time.monotonic()
    result = device.install("cred-hang", images.a_cred)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert f"The credentials helper {helper} did not answer `get {images.a_cred}` within 2 s" in result.stderr
    assert f"file {device.credentials_toml} [registry1]" in result.stderr
    assert elapsed < 30, elapsed
    child = int(pidfile.read_text())
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
    assert len(calls_of(calls)) == 1


def test_hanging_helper_env_timeout(device: Device, images: Images) -> None:
    device.helper("exec sleep 300\n")
    device.write_credentials({"registry1": (host_of(images.a_cred), USER_A, PASS_A)})
    result = device.install("cred-hang-env", images.a_cred, CONTAINER_REGISTRY_HELPER_TIMEOUT="1")
    assert result.returncode == 0, result.stderr
    assert "within 1 s and was killed" in result.stderr


def test_garbage_helper_is_a_clear_error_and_falls_through(device: Device, images: Images) -> None:
    helper, calls = device.helper(f"echo 'Traceback: token={WRONG}' >&2\necho 'this is not json'\n")
    device.write_credentials({"registry1": (host_of(images.b_cred), USER_B, PASS_B)})
    result = device.install("cred-garbage", images.b_cred)
    assert result.returncode == 0, result.stderr
    assert f"warning: The credentials helper {helper} answered `get {images.b_cred}` with" in result.stderr
    assert "that are not JSON" in result.stderr
    assert f"file {device.credentials_toml} [registry1]" in result.stderr
    assert len(calls_of(calls)) == 1


def test_broken_credentials_file_names_file_and_line(device: Device, images: Images) -> None:
    device.credentials_toml.write_text(
        f'[registry1]\nrepo = "{host_of(images.b_cred)}"\npassword = "{PASS_B}\n'
    )
    device.credentials_toml.chmod(0o600)
    result = device.install("cred-broken", images.b_cred)
    assert result.returncode == 2
    assert f"{device.credentials_toml} is not valid TOML" in result.stderr and "line 3" in result.stderr
    # The file is named as what is broken (issue 11), not "add an entry".
    assert f"a credential source is broken: {device.credentials_toml} is not valid TOML" in last_line(result)
    assert "add an entry" not in last_line(result)


def test_group_readable_file_is_used_with_a_warning(device: Device, images: Images) -> None:
    device.write_credentials({"registry1": (host_of(images.b_cred), USER_B, PASS_B)}, mode=0o644)
    result = device.install("cred-mode", images.b_cred)
    assert result.returncode == 0, result.stderr
    assert f"run `chmod 600 {device.credentials_toml}`" in result.stderr


# -- the operator's command --------------------------------------------------------------------


def test_credentials_command_names_provider_entry_and_user(device: Device, images: Images) -> None:
    a = host_of(images.a_cred)
    device.write_credentials({"registry1": (a, USER_A, WRONG), "acme": (f"{a}/team-{RUN}", USER_A, PASS_A)})
    before = device.podman.cli("images", "--format", "{{.Repository}}").stdout
    result = device.credentials(images.a_team)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2:6] == [
        f"provider: file {device.credentials_toml}",
        f"entry:    [acme] repo '{a}/team-{RUN}'",
        f"username: {USER_A}",
        "password: (set, not shown)",
    ]
    assert device.podman.cli("images", "--format", "{{.Repository}}").stdout == before  # nothing pulled
    result = device.credentials(images.open_app)
    assert "provider: none" in result.stdout


# -- secrets never printed, never in argv, never over MQTT -----------------------------------


def test_secrets_never_in_output_argv_or_mqtt(device: Device, images: Images, mqtt_broker) -> None:
    device.plugin.set_config("report", "enabled", True)
    device.plugin.set_config("client.mqtt", "host", mqtt_broker.host)
    device.plugin.set_config("client.mqtt", "port", mqtt_broker.port)
    cache = device.root / "cache"
    cache.write_text(STALE)
    (device.root / "source").write_text(PASS_A)
    _, calls = device.helper(
        f"""
        ps -ww -eo args >> "{device.root}/ps.txt"  # -ww: whole lines, not 80 columns
        echo "password={STALE} Authorization: Basic {b64(USER_A + ":" + STALE)}" >&2
        if [ "$3" = "--refresh" ]; then cp "{device.root}/source" "{cache}"; fi
        printf '{{"username": "{USER_A}", "password": "%s"}}' "$(cat "{cache}")"
        """
    )
    device.write_credentials({"registry1": (host_of(images.b_cred), USER_B, WRONG)})
    with mqtt_broker.subscribe("#") as subscription:
        ok = device.install("cred-leak-ok", images.a_cred)
        failed = device.install("cred-leak-fail", images.b_cred)
        subscription.wait_for(lambda topic, payload: "cred-leak-fail" in topic or "cred-leak-fail" in payload)
        time.sleep(0.5)
        payloads = [f"{topic} {payload}" for topic, payload in subscription.messages]
    assert ok.returncode == 0, ok.stderr
    assert failed.returncode == 2
    assert len(calls_of(calls)) == 4  # a: stale then refreshed; b: the helper has b's user, wrong twice
    ps = (device.root / "ps.txt").read_text()
    assert "cred-leak-ok" in ps  # the plugin's own command line was captured
    for secret in SECRETS:
        assert secret not in ps, "a secret is in a process's arguments"
        assert not any(secret in p for p in payloads), "a secret was published over MQTT"
