"""Each credential provider alone and the chain's precedence, with files and fake helpers in tmp_path.

Every test uses distinctive secrets, runs with debug logging, and the autouse
fixture asserts that none of them appears in anything written to stdout or
stderr (by this process or a helper).
"""

from __future__ import annotations

import base64
import json
import os
import stat
import textwrap
import time
from pathlib import Path

import pytest

from tedge_container import log
from tedge_container.config import DEFAULTS, Config
from tedge_container.credentials import Chain, Credentials, Found, ProviderError, build_chain
from tedge_container.credentials.authfiles import AuthFilesProvider, auth_file_paths
from tedge_container.credentials.helper import HelperProvider
from tedge_container.credentials.process import HelperTimeout, run_bounded
from tedge_container.credentials.static import EnvironmentProvider, StaticFile, StaticFileProvider
from tedge_container.images.references import parse

SECRETS = [f"sEcReT-{n}-7c41d9" for n in range(10)]
TOKEN = "idtok-5b2e8a9f-UNIQUE"
ALL_SECRETS = [*SECRETS, TOKEN]


@pytest.fixture(autouse=True)
def never_leak(capfd: pytest.CaptureFixture[str]):
    log.set_level("debug")
    yield
    log.set_level("info")
    out, err = capfd.readouterr()
    for secret in ALL_SECRETS:
        assert secret not in out and secret not in err, f"a secret was printed: {out}\n{err}"


def write_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(textwrap.dedent(text))
    path.chmod(mode)
    return path


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


def config(**values: object) -> Config:
    merged = dict(DEFAULTS)
    merged.update({k.replace("__", "."): v for k, v in values.items()})
    return Config(merged, "", "")


# -- the static file -----------------------------------------------------------------


def test_static_file_any_number_of_entries_most_specific_wins(tmp_path: Path) -> None:
    path = write_file(
        tmp_path / "credentials.toml",
        f"""
        [registry1]
        repo = "docker.io"
        username = "hub"
        password = "{SECRETS[0]}"
        [registry2]
        repo = "https://GHCR.io/"
        username = "gh-all"
        password = "{SECRETS[1]}"
        [registry3]
        repo = "ghcr.io/acme"
        username = "gh-acme"
        password = "{SECRETS[2]}"
        [registry4]
        repo = "ghcr.io/acme/team"
        username = "gh-team"
        password = "{SECRETS[3]}"
        [registry5]
        repo = "quay.io"
        username = "quay"
        password = "{SECRETS[4]}"
        [company]
        repo = "registry.example.com:8443/v2/"
        username = "company"
        password = "{SECRETS[5]}"
        [edge_lab]
        repo = "127.0.0.1:5000"
        username = "lab"
        password = "{SECRETS[6]}"
        """,
    )
    provider = StaticFileProvider(str(path), environ={})

    def user(image: str) -> str | None:
        found = provider.lookup(parse(image), refresh=False)
        return found.credentials.username if found else None

    assert user("nginx") == "hub"
    assert user("index.docker.io/library/nginx:1") == "hub"
    assert user("registry-1.docker.io/acme/app") == "hub"
    assert user("ghcr.io/other/app:1") == "gh-all"
    assert user("ghcr.io/acme/app:1") == "gh-acme"
    assert user("ghcr.io/acme/team/app:1") == "gh-team"
    assert user("ghcr.io/acmecorp/app:1") == "gh-all"
    assert user("quay.io/x/y") == "quay"
    assert user("REGISTRY.example.com:8443/app") == "company"
    assert user("127.0.0.1:5000/app") == "lab"
    assert user("127.0.0.1:5001/app") is None
    found = provider.lookup(parse("ghcr.io/acme/app"), refresh=False)
    assert found is not None
    assert found.entry == "[registry3] repo 'ghcr.io/acme'"
    assert found.credentials.password == SECRETS[2]
    assert provider.warnings == []


def test_static_file_group_readable_warns_with_the_fix(tmp_path: Path) -> None:
    path = write_file(
        tmp_path / "c.toml", f'[r]\nrepo = "quay.io"\nusername = "u"\npassword = "{SECRETS[0]}"\n', 0o644
    )
    provider = StaticFileProvider(str(path), environ={})
    assert provider.lookup(parse("quay.io/a"), refresh=False) is not None
    assert provider.warnings == [f"{path} can be read by other users (mode 644); run `chmod 600 {path}`."]


def test_static_file_broken_names_file_and_line(tmp_path: Path) -> None:
    path = write_file(tmp_path / "c.toml", f'[r]\nrepo = "quay.io"\npassword = "{SECRETS[0]}\n')
    provider = StaticFileProvider(str(path), environ={})
    with pytest.raises(ProviderError) as caught:
        provider.lookup(parse("quay.io/a"), refresh=False)
    assert str(path) in str(caught.value) and "line 3" in str(caught.value)
    assert SECRETS[0] not in str(caught.value)


def test_static_file_missing_is_no_entries(tmp_path: Path) -> None:
    assert (
        StaticFileProvider(str(tmp_path / "absent.toml"), environ={}).lookup(parse("a.io/b"), False) is None
    )


def test_static_file_bad_entries_are_reported_and_skipped(tmp_path: Path) -> None:
    path = write_file(
        tmp_path / "c.toml",
        f"""
        top = 1
        [norepo]
        username = "u"
        password = "{SECRETS[0]}"
        [numeric]
        repo = "quay.io"
        username = "u"
        password = 1234
        [nopassword]
        repo = "quay.io/ns"
        username = "u"
        password = ""
        [good]
        repo = "quay.io"
        username = "good"
        password = "{SECRETS[1]}"
        """,
    )
    provider = StaticFileProvider(str(path), environ={})
    found = provider.lookup(parse("quay.io/ns/app"), refresh=False)
    assert found is not None and found.credentials.username == "good"
    text = "\n".join(provider.warnings)
    assert "'top' is not a table" in text
    assert "[norepo] has no repo" in text
    assert "[numeric]: password must be text" in text
    assert "[nopassword] repo 'quay.io/ns' matches quay.io but has no password; skipped" in text
    assert "1234" not in text


def test_static_file_is_reread_on_each_lookup(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    provider = StaticFileProvider(str(path), environ={})
    assert provider.lookup(parse("quay.io/a"), False) is None
    write_file(path, f'[r]\nrepo = "quay.io"\nusername = "new"\npassword = "{SECRETS[0]}"\n')
    found = provider.lookup(parse("quay.io/a"), True)
    assert found is not None and found.credentials.username == "new"


# -- the environment -----------------------------------------------------------------


def test_environment_overrides_file_tables_per_key(tmp_path: Path) -> None:
    path = write_file(
        tmp_path / "c.toml",
        f"""
        [registry1]
        repo = "quay.io"
        username = "from-file"
        password = "{SECRETS[0]}"
        [registry2]
        repo = "ghcr.io"
        username = "gh"
        password = "{SECRETS[1]}"
        """,
    )
    environ = {
        "CONTAINER_REGISTRY1_PASSWORD": SECRETS[2],  # only the password is overridden
        "CONTAINER_REGISTRY2_REPO": "registry.example.com",  # the table moves to another registry
        "CONTAINER_REGISTRY_HELPER_TIMEOUT": "3",  # a config key, not an entry
    }
    provider = StaticFileProvider(str(path), environ=environ)
    found = provider.lookup(parse("quay.io/a"), False)
    assert found is not None
    assert (found.credentials.username, found.credentials.password) == ("from-file", SECRETS[2])
    assert "CONTAINER_REGISTRY1_* overrides" in found.entry
    assert provider.lookup(parse("ghcr.io/a"), False) is None
    found = provider.lookup(parse("registry.example.com/a"), False)
    assert found is not None and found.credentials.username == "gh"
    # and none of these is an entry of the environment provider: their n has a table
    assert EnvironmentProvider(provider.file, environ).lookup(parse("quay.io/a"), False) is None


def test_environment_alone_any_n(tmp_path: Path) -> None:
    environ = {
        "CONTAINER_REGISTRY7_REPO": "https://quay.io/",
        "CONTAINER_REGISTRY7_USERNAME": "seven",
        "CONTAINER_REGISTRY7_PASSWORD": SECRETS[7],
        "CONTAINER_REGISTRY12_REPO": "quay.io/ns",
        "CONTAINER_REGISTRY12_USERNAME": "twelve",
        "CONTAINER_REGISTRY12_PASSWORD": SECRETS[8],
        "CONTAINER_REGISTRY3_REPO": "docker.io",  # incomplete: reported, skipped
        "CONTAINER_REGISTRY3_USERNAME": "three",
    }
    provider = EnvironmentProvider(StaticFile(str(tmp_path / "absent.toml"), environ), environ)
    found = provider.lookup(parse("quay.io/other/x"), False)
    assert found is not None and found.credentials.username == "seven"
    assert found.entry == "CONTAINER_REGISTRY7_* repo 'https://quay.io/'"
    found = provider.lookup(parse("quay.io/ns/x"), False)
    assert found is not None and found.credentials.username == "twelve"
    assert provider.lookup(parse("nginx"), False) is None
    assert (
        "CONTAINER_REGISTRY3_* repo 'docker.io' matches docker.io but has no password" in provider.warnings[0]
    )


def test_environment_still_works_when_the_file_is_broken(tmp_path: Path) -> None:
    path = write_file(tmp_path / "c.toml", "[registry1\n")
    environ = {
        "CONTAINER_REGISTRY1_REPO": "quay.io",
        "CONTAINER_REGISTRY1_USERNAME": "env",
        "CONTAINER_REGISTRY1_PASSWORD": SECRETS[0],
    }
    chain = Chain(
        [StaticFileProvider(str(path), environ), EnvironmentProvider(StaticFile(str(path), environ), environ)]
    )
    resolution = chain.lookup(parse("quay.io/a"))
    assert resolution.provider == "environment" and resolution.credentials.username == "env"
    assert str(path) in resolution.warnings[0] and "line 1" in resolution.warnings[0]


# -- the helper ----------------------------------------------------------------------


def fake_helper(tmp_path: Path, body: str) -> tuple[Path, Path]:
    calls = tmp_path / "calls.log"
    path = script(tmp_path / "registry-credentials", f'echo "$@" >> "{calls}"\n' + textwrap.dedent(body))
    return path, calls


def test_helper_called_with_exact_arguments_and_refresh(tmp_path: Path) -> None:
    helper, calls = fake_helper(
        tmp_path,
        f"""
        echo "helper: password is {SECRETS[0]} token=abc{SECRETS[1]}" >&2
        if [ "$3" = "--refresh" ]; then pw={SECRETS[1]}; else pw={SECRETS[0]}; fi
        printf '{{"username": "aws", "password": "%s"}}' "$pw"
        """,
    )
    provider = HelperProvider(str(helper), 5, environ=dict(os.environ))
    found = provider.lookup(parse("ghcr.io/acme/app:1"), refresh=False)
    assert found is not None and found.credentials == Credentials("aws", SECRETS[0])
    found = provider.lookup(parse("nginx"), refresh=True)
    assert found is not None and found.credentials.password == SECRETS[1]
    assert calls.read_text().splitlines() == [
        "get ghcr.io/acme/app:1",
        "get nginx --refresh",  # the image as the module version gave it, as the Go plugin does
    ]


def test_helper_found_by_name_on_path(tmp_path: Path) -> None:
    helper, _ = fake_helper(tmp_path, f'echo \'{{"username": "u", "password": "{SECRETS[0]}"}}\'\n')
    provider = HelperProvider("registry-credentials", 5, environ={"PATH": f"/nonexistent:{tmp_path}"})
    assert provider.path == str(helper)
    assert provider.name == f"helper {helper}"
    assert provider.lookup(parse("quay.io/a"), False) is not None


def test_helper_default_missing_is_silent_explicit_missing_warns(tmp_path: Path) -> None:
    provider = HelperProvider("registry-credentials", 5, environ={"PATH": str(tmp_path)})
    if provider.path is None:  # unless this machine has one in /usr/bin
        assert provider.lookup(parse("quay.io/a"), False) is None
    explicit = HelperProvider("my-ecr-helper", 5, environ={"PATH": str(tmp_path)})
    with pytest.raises(ProviderError, match=r"'my-ecr-helper' \(registry.helper\) was not found"):
        explicit.lookup(parse("quay.io/a"), False)
    with pytest.raises(ProviderError, match="not found"):
        HelperProvider(str(tmp_path / "absent"), 5, environ={}).lookup(parse("quay.io/a"), False)
    assert HelperProvider("", 5, environ={}).lookup(parse("quay.io/a"), False) is None
    assert HelperProvider("", 5, environ={}).unavailable() == "disabled (registry.helper is empty)"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("echo 'not json at all'\n", "bytes that are not JSON"),
        ("echo '[1, 2]'\n", "JSON that is not an object"),
        ('echo \'{"username": "u"}\'\n', "JSON without 'password'"),
        ('echo \'{"user": "u", "pass": "p"}\'\n', "JSON without 'username' and 'password'"),
        ('echo \'{"username": "u", "password": 5}\'\n', "not a string"),
        ('echo \'{"username": "", "password": "x"}\'\n', "an empty username"),
        ("echo 'cannot reach STS' >&2; exit 4\n", "failed on `get quay.io/a` (exit 4)"),
        ("head -c 2000000 /dev/zero\n", "more than 1 MiB"),
    ],
)
def test_helper_garbage_is_a_clear_error(tmp_path: Path, body: str, message: str) -> None:
    helper, _ = fake_helper(tmp_path, body)
    with pytest.raises(ProviderError) as caught:
        HelperProvider(str(helper), 5, environ=dict(os.environ)).lookup(parse("quay.io/a"), False)
    assert message in str(caught.value)
    assert str(helper) in str(caught.value)


def test_helper_no_credentials_for_this_image(tmp_path: Path) -> None:
    for body in ("true\n", 'echo \'{"username": "", "password": ""}\'\n'):
        helper, _ = fake_helper(tmp_path, body)
        assert (
            HelperProvider(str(helper), 5, environ=dict(os.environ)).lookup(parse("quay.io/a"), False) is None
        )


def test_helper_hanging_is_bounded_and_killed_with_its_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    helper, _ = fake_helper(tmp_path, f'sleep 300 &\necho $! > "{pidfile}"\nwait\n')
    provider = HelperProvider(str(helper), 1, environ=dict(os.environ))
    started = time.monotonic()
    with pytest.raises(ProviderError, match=r"did not answer `get quay.io/a` within 1 s and was killed"):
        provider.lookup(parse("quay.io/a"), False)
    assert time.monotonic() - started < 3
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child), "the helper's child survived"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            return stat_file.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_helper_that_leaves_a_background_child_returns_promptly(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    helper, _ = fake_helper(
        tmp_path,
        f'sleep 300 &\necho $! > "{pidfile}"\necho \'{{"username": "u", "password": "{SECRETS[0]}"}}\'\n',
    )
    started = time.monotonic()
    found = HelperProvider(str(helper), 10, environ=dict(os.environ)).lookup(parse("quay.io/a"), False)
    assert found is not None
    assert time.monotonic() - started < 3
    time.sleep(0.2)
    assert not _alive(int(pidfile.read_text()))


def test_helper_stderr_is_logged_at_debug_redacted(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    helper, _ = fake_helper(
        tmp_path,
        f"""
        echo "fetching a token for quay.io" >&2
        echo "got {SECRETS[0]}" >&2
        echo "Authorization: Basic {SECRETS[4]}" >&2
        echo '{{"username": "u", "password": "{SECRETS[0]}"}}'
        """,
    )
    HelperProvider(str(helper), 5, environ=dict(os.environ)).lookup(parse("quay.io/a"), False)
    err = capfd.readouterr().err
    assert f"debug: {helper}: fetching a token for quay.io" in err
    assert f"debug: {helper}: got ***" in err
    assert f"debug: {helper}: Authorization: ***" in err


def test_run_bounded_gives_stdin_and_bounds() -> None:
    result = run_bounded(["sh", "-c", 'read server; echo "server=$server"'], 5, stdin_data=b"quay.io\n")
    assert result.stdout == b"server=quay.io\n" and result.returncode == 0
    with pytest.raises(HelperTimeout):
        run_bounded(["sleep", "10"], 0.3)


# -- containers-auth.json and Docker config --------------------------------------------


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def auth_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "XDG_RUNTIME_DIR": str(tmp_path / "run"), "PATH": f"{tmp_path}:/usr/bin:/bin"}


def test_auth_file_paths_in_containers_image_order() -> None:
    environ = {
        "HOME": "/h",
        "REGISTRY_AUTH_FILE": "/a.json",
        "XDG_RUNTIME_DIR": "/run/user/5",
        "DOCKER_CONFIG": "/d",
    }
    assert auth_file_paths(environ, 5) == [
        ("/a.json", False),
        ("/run/user/5/containers/auth.json", False),
        ("/h/.config/containers/auth.json", False),
        ("/d/config.json", False),
        ("/h/.dockercfg", True),
    ]
    assert auth_file_paths({"HOME": "/root"}, 0) == [
        ("/run/containers/0/auth.json", False),
        ("/root/.config/containers/auth.json", False),
        ("/root/.docker/config.json", False),
        ("/root/.dockercfg", True),
    ]


def test_auth_files_matching_and_order(tmp_path: Path) -> None:
    environ = auth_env(tmp_path)
    runtime = tmp_path / "run" / "containers"
    runtime.mkdir(parents=True)
    (runtime / "auth.json").write_text(
        json.dumps(
            {
                "auths": {
                    "myreg:5000": {"auth": b64(f"reg:{SECRETS[0]}")},
                    "myreg:5000/ns1": {"auth": b64(f"ns1:{SECRETS[1]}")},
                    "myreg:5000/ns2": {},  # empty: this file has nothing for ns2
                    "https://index.docker.io/v1/": {"auth": b64(f"hub:{SECRETS[2]}:with:colons")},
                    "quay.io": {"auth": "", "identitytoken": TOKEN},
                }
            }
        )
    )
    docker = Path(environ["HOME"]) / ".docker"
    docker.mkdir()
    (docker / "config.json").write_text(
        json.dumps({"auths": {"myreg:5000/ns2": {"auth": b64(f"docker-ns2:{SECRETS[3]}")}}})
    )
    (Path(environ["HOME"]) / ".dockercfg").write_text(
        json.dumps({"https://legacy.example.com/v1/": {"auth": b64(f"legacy:{SECRETS[4]}"), "email": "x"}})
    )
    provider = AuthFilesProvider(5, environ, uid=0)

    def who(image: str) -> tuple[str, str] | None:
        found = provider.lookup(parse(image), False)
        return (found.credentials.username, found.entry) if found else None

    auth_json = str(runtime / "auth.json")
    assert who("myreg:5000/app") == ("reg", f"{auth_json} auths['myreg:5000']")
    assert who("myreg:5000/ns1/sub/app") == ("ns1", f"{auth_json} auths['myreg:5000/ns1']")
    assert who("myreg:5000/ns2/app")[0] == "docker-ns2"  # type: ignore[index]
    assert who("nginx")[0] == "hub"  # type: ignore[index]
    assert who("registry-1.docker.io/library/nginx")[0] == "hub"  # type: ignore[index]
    assert who("legacy.example.com/app")[0] == "legacy"  # type: ignore[index]
    assert who("other.io/app") is None
    found = provider.lookup(parse("nginx"), False)
    assert found is not None and found.credentials.password == f"{SECRETS[2]}:with:colons"
    found = provider.lookup(parse("quay.io/a"), False)
    assert found is not None and found.credentials.auth_config() == {"identitytoken": TOKEN}
    assert provider.warnings == []


def test_auth_files_broken_file_is_reported_and_skipped(tmp_path: Path) -> None:
    environ = auth_env(tmp_path)
    environ["REGISTRY_AUTH_FILE"] = str(tmp_path / "broken.json")
    (tmp_path / "broken.json").write_text('{"auths": {\n  "quay.io": {"auth": "' + b64(f"u:{SECRETS[0]}"))
    (tmp_path / "bad-b64.json").write_text(json.dumps({"auths": {"quay.io": {"auth": "%%%" + SECRETS[1]}}}))
    config_dir = Path(environ["HOME"]) / ".config" / "containers"
    config_dir.mkdir(parents=True)
    (config_dir / "auth.json").write_text(
        json.dumps({"auths": {"quay.io": {"auth": b64(f"good:{SECRETS[2]}")}}})
    )
    provider = AuthFilesProvider(5, environ, uid=0)
    found = provider.lookup(parse("quay.io/a"), False)
    assert found is not None and found.credentials.username == "good"
    assert provider.warnings == [f"{tmp_path / 'broken.json'} is not valid JSON (line 2); it is skipped."]
    environ["REGISTRY_AUTH_FILE"] = str(tmp_path / "bad-b64.json")
    provider = AuthFilesProvider(5, environ, uid=0)
    assert provider.lookup(parse("quay.io/a"), False) is not None
    assert "not base64" in provider.warnings[0] and SECRETS[1] not in provider.warnings[0]


def test_docker_credential_helpers(tmp_path: Path) -> None:
    environ = auth_env(tmp_path)
    calls = tmp_path / "cred-calls.log"
    script(
        tmp_path / "docker-credential-fake",
        f"""
        read server
        echo "$* $server" >> "{calls}"
        case "$server" in
          ecr.example.com) echo '{{"ServerURL": "x", "Username": "AWS", "Secret": "{SECRETS[5]}"}}' ;;
          gcr.example.com) echo '{{"ServerURL": "x", "Username": "<token>", "Secret": "{TOKEN}"}}' ;;
          broken.example.com) echo "keychain locked" >&2; exit 1 ;;
          *) echo "credentials not found in native keychain"; exit 1 ;;
        esac
        """,
    )
    runtime = tmp_path / "run" / "containers"
    runtime.mkdir(parents=True)
    helpers = {
        h: "fake" for h in ("ecr.example.com", "gcr.example.com", "broken.example.com", "none.example.com")
    }
    helpers["evil.example.com"] = "../../bin/sh"
    (runtime / "auth.json").write_text(
        json.dumps(
            {"credHelpers": helpers, "auths": {"none.example.com": {"auth": b64(f"ignored:{SECRETS[6]}")}}}
        )
    )
    docker = Path(environ["HOME"]) / ".docker"
    docker.mkdir()
    (docker / "config.json").write_text(
        json.dumps({"auths": {"none.example.com": {"auth": b64(f"docker:{SECRETS[7]}")}}})
    )
    provider = AuthFilesProvider(5, environ, uid=0)
    found = provider.lookup(parse("ecr.example.com/team/app:1"), False)
    assert found is not None and found.credentials == Credentials("AWS", SECRETS[5])
    assert "credHelpers 'ecr.example.com' → docker-credential-fake" in found.entry
    found = provider.lookup(parse("gcr.example.com/app"), False)
    assert found is not None and found.credentials.auth_config() == {"identitytoken": TOKEN}
    # "not found" from the helper: this file has nothing (its auths are not consulted), the next file answers
    found = provider.lookup(parse("none.example.com/app"), False)
    assert found is not None and found.credentials.username == "docker"
    assert provider.lookup(parse("broken.example.com/app"), False) is None
    assert "docker-credential-fake failed for broken.example.com (exit 1)" in provider.warnings[0]
    assert provider.lookup(parse("evil.example.com/app"), False) is None
    assert "docker-credential-../../bin/sh (credHelpers) was not found" in provider.warnings[0]
    assert calls.read_text().splitlines() == [
        "get ecr.example.com",
        "get gcr.example.com",
        "get none.example.com",
        "get broken.example.com",
    ]


# -- the chain -------------------------------------------------------------------------


def test_chain_precedence_helper_file_environment_auth_files(tmp_path: Path) -> None:
    environ = auth_env(tmp_path)
    helper, calls = fake_helper(
        tmp_path,
        f"""
        case "$2" in
          helper.io/*) echo '{{"username": "from-helper", "password": "{SECRETS[0]}"}}' ;;
          *) echo '{{"username": "", "password": ""}}' ;;
        esac
        """,
    )
    creds = write_file(
        tmp_path / "credentials.toml",
        f"""
        [registry1]
        repo = "helper.io"
        username = "file-shadowed"
        password = "{SECRETS[1]}"
        [registry2]
        repo = "file.io"
        username = "from-file"
        password = "{SECRETS[2]}"
        """,
    )
    environ.update(
        CONTAINER_REGISTRY5_REPO="file.io",
        CONTAINER_REGISTRY5_USERNAME="env-shadowed",
        CONTAINER_REGISTRY5_PASSWORD=SECRETS[3],
        CONTAINER_REGISTRY6_REPO="env.io",
        CONTAINER_REGISTRY6_USERNAME="from-env",
        CONTAINER_REGISTRY6_PASSWORD=SECRETS[4],
    )
    runtime = tmp_path / "run" / "containers"
    runtime.mkdir(parents=True)
    (runtime / "auth.json").write_text(
        json.dumps({"auths": {k: {"auth": b64(f"auth-{k}:{SECRETS[5]}")} for k in ("env.io", "auth.io")}})
    )
    chain = build_chain(
        config(registry__helper=str(helper), registry__credentials_path=str(creds)), environ=environ, uid=0
    )
    expected = {
        "helper.io/a": ("from-helper", f"helper {helper}"),
        "file.io/a": ("from-file", f"file {creds}"),
        "env.io/a": ("from-env", "environment"),
        "auth.io/a": ("auth-auth.io", "auth file"),
    }
    for image, (user, provider) in expected.items():
        resolution = chain.lookup(parse(image))
        assert resolution.credentials is not None, image
        assert (resolution.credentials.username, resolution.provider) == (user, provider)
        assert resolution.warnings == []
    nothing = chain.lookup(parse("nowhere.io/a"))
    assert not nothing.found and nothing.auth_config() is None
    assert "anonymous" in nothing.describe()
    explained = chain.lookup(parse("file.io/a"), explain=True)
    assert explained.provider == f"file {creds}"
    assert any("env-shadowed" in note and "(not used)" in note for note in explained.notes)
    assert len(calls.read_text().splitlines()) == 6


def test_chain_failing_provider_falls_through_with_a_warning(tmp_path: Path) -> None:
    helper, _ = fake_helper(tmp_path, "echo garbage\n")
    creds = write_file(
        tmp_path / "c.toml", f'[registry1]\nrepo = "quay.io"\nusername = "file"\npassword = "{SECRETS[0]}"\n'
    )
    chain = build_chain(
        config(registry__helper=str(helper), registry__credentials_path=str(creds)),
        environ=auth_env(tmp_path),
    )
    resolution = chain.lookup(parse("quay.io/x"))
    assert resolution.credentials is not None and resolution.credentials.username == "file"
    assert resolution.warnings == [
        f"The credentials helper {helper} answered `get quay.io/x` with 8 bytes that are not JSON "
        '(expected {"username": …, "password": …}).'
    ]


class _Broken:
    name = "broken"

    def lookup(self, reference: object, refresh: bool) -> Found | None:
        raise ProviderError("broken provider")


class _Fixed:
    def __init__(self, name: str, username: str) -> None:
        self.name = name
        self.username = username
        self.refreshes: list[bool] = []

    def lookup(self, reference: object, refresh: bool) -> Found | None:
        self.refreshes.append(refresh)
        return Found(Credentials(self.username, SECRETS[9]), "entry") if self.username else None


def test_chain_order_and_refresh_flag() -> None:
    first, second = _Fixed("one", ""), _Fixed("two", "u2")
    chain = Chain([_Broken(), first, second, _Fixed("three", "u3")])
    resolution = chain.lookup(parse("a.io/b"), refresh=True)
    assert resolution.describe() == "two entry (user 'u2')"
    assert resolution.warnings == ["broken provider"]
    assert resolution.notes == ["broken: error", "one: no match", "two: entry user 'u2' (used)"]
    assert first.refreshes == [True] and second.refreshes == [True]


def test_file_modes_are_not_touched(tmp_path: Path) -> None:
    path = write_file(tmp_path / "c.toml", '[r]\nrepo = "q.io"\nusername = "u"\npassword = "p"\n', 0o640)
    StaticFileProvider(str(path), environ={}).lookup(parse("q.io/a"), False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
