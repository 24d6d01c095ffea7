"""Pure matching rules of the credential chain: no files, no processes."""

from __future__ import annotations

import pytest

from tedge_container.credentials.matching import (
    auth_file_exact_keys,
    match_auth_key,
    match_cred_helper,
    most_specific,
    normalize_repo,
    repo_specificity,
)
from tedge_container.credentials.model import Credentials, Resolution, redact
from tedge_container.images.references import parse

SECRET = "Pw-9f3b7c1e-UNIQUE"


@pytest.mark.parametrize(
    ("repo", "expected"),
    [
        ("ghcr.io", ("ghcr.io", "")),
        ("GHCR.IO", ("ghcr.io", "")),
        ("https://ghcr.io", ("ghcr.io", "")),
        ("https://ghcr.io/", ("ghcr.io", "")),
        ("HTTPS://Ghcr.io/v1/", ("ghcr.io", "")),
        ("http://myreg.local:5000/v2", ("myreg.local:5000", "")),
        ("ghcr.io/Acme/", ("ghcr.io", "acme")),
        ("ghcr.io/acme/team", ("ghcr.io", "acme/team")),
        ("https://index.docker.io/v1/", ("docker.io", "")),
        ("registry-1.docker.io", ("docker.io", "")),
        ("index.docker.io", ("docker.io", "")),
        ("docker.io/acme", ("docker.io", "acme")),
        (" 127.0.0.1:5000 ", ("127.0.0.1:5000", "")),
    ],
)
def test_normalize_repo(repo: str, expected: tuple[str, str]) -> None:
    assert normalize_repo(repo) == expected


@pytest.mark.parametrize(
    ("repo", "image", "score"),
    [
        ("ghcr.io", "ghcr.io/acme/app:1", 0),
        ("ghcr.io/acme", "ghcr.io/acme/app:1", 1),
        ("ghcr.io/acme/app", "ghcr.io/acme/app:1", 2),
        ("ghcr.io/acme", "ghcr.io/acmecorp/app:1", -1),  # a prefix of a word is not a namespace
        ("ghcr.io/other", "ghcr.io/acme/app:1", -1),
        ("quay.io", "ghcr.io/acme/app:1", -1),
        ("127.0.0.1:5000", "127.0.0.1:5000/x:1", 0),
        ("127.0.0.1", "127.0.0.1:5000/x:1", -1),  # the port is part of the registry
        ("127.0.0.1:5001", "127.0.0.1:5000/x:1", -1),
        # Docker Hub: every alias, in the repo and in the image, is one registry
        ("docker.io", "nginx", 0),
        ("index.docker.io", "nginx:1.25", 0),
        ("registry-1.docker.io", "docker.io/library/nginx", 0),
        ("https://index.docker.io/v1/", "index.docker.io/acme/app", 0),
        ("docker.io/library", "nginx", 1),
        ("docker.io/acme", "acme/app", 1),
        ("docker.io/acme", "nginx", -1),
        ("DOCKER.IO", "docker.io/acme/app", 0),
    ],
)
def test_repo_specificity(repo: str, image: str, score: int) -> None:
    assert repo_specificity(repo, parse(image)) == score


def test_most_specific_wins_and_ties_keep_order() -> None:
    entries = [
        ("ghcr.io", "registry"),
        ("ghcr.io/acme/team", "team"),
        ("ghcr.io/acme", "acme"),
        ("https://ghcr.io/", "registry again"),
        ("quay.io", "other"),
    ]
    ranked = [item for _, item in most_specific(entries, parse("ghcr.io/acme/team/app:1"))]
    assert ranked == ["team", "acme", "registry", "registry again"]
    ranked = [item for _, item in most_specific(entries, parse("ghcr.io/acme/web:1"))]
    assert ranked == ["acme", "registry", "registry again"]
    assert most_specific(entries, parse("docker.io/library/nginx")) == []


def test_auth_file_keys_follow_containers_image() -> None:
    reference = parse("myreg:5000/ns1/ns2/app:1")
    assert auth_file_exact_keys(reference) == [
        "myreg:5000/ns1/ns2/app",
        "myreg:5000/ns1/ns2",
        "myreg:5000/ns1",
        "myreg:5000",
    ]
    keys = ["myreg:5000", "myreg:5000/ns1", "other.io"]
    assert match_auth_key(keys, reference) == "myreg:5000/ns1"
    assert match_auth_key(["https://myreg:5000/v2/"], reference) == "https://myreg:5000/v2/"
    assert match_auth_key(["myreg:5001"], reference) is None
    hub = parse("nginx")
    assert match_auth_key(["https://index.docker.io/v1/"], hub) == "https://index.docker.io/v1/"
    assert match_auth_key(["docker.io"], hub) == "docker.io"
    assert match_auth_key(["registry-1.docker.io"], hub) == "registry-1.docker.io"
    assert match_auth_key(["docker.io/library/nginx", "docker.io"], hub) == "docker.io/library/nginx"


def test_cred_helper_keys() -> None:
    assert match_cred_helper(["ghcr.io", "quay.io"], parse("quay.io/a/b")) == "quay.io"
    assert match_cred_helper(["https://index.docker.io/v1/"], parse("nginx")) == "https://index.docker.io/v1/"
    assert match_cred_helper(["ghcr.io"], parse("quay.io/a/b")) is None


def test_credentials_never_show_the_secret() -> None:
    credentials = Credentials("bob", SECRET)
    token = Credentials("", "", identity_token=SECRET)
    for text in (repr(credentials), str(credentials), credentials.describe(), repr(token), token.describe()):
        assert SECRET not in text
    assert "bob" in repr(credentials)
    assert credentials.auth_config() == {"username": "bob", "password": SECRET}
    assert token.auth_config() == {"identitytoken": SECRET}
    assert credentials.complete and token.complete
    assert not Credentials("bob", "").complete and not Credentials("", SECRET).complete
    resolution = Resolution("ghcr.io")
    resolution.credentials, resolution.provider, resolution.entry = credentials, "file x", "[a]"
    assert SECRET not in repr(resolution) and SECRET not in resolution.describe()
    assert resolution.describe() == "file x [a] (user 'bob')"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(credentials)


@pytest.mark.parametrize(
    "line",
    [
        f"using password={SECRET}",
        f'{{"password": "{SECRET}"}}',
        f"Authorization: Bearer {SECRET}",
        "token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijk",
        "got eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijk from sts",
        "minted AQICAHh4Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0MTIzNDU2Nzg5MA== for ecr",
    ],
)
def test_redact_secret_looking_text(line: str) -> None:
    out = redact(line)
    assert SECRET not in out and "eyJhbGci" not in out and "AQICAHh4" not in out
    assert "***" in out


def test_redact_known_secret_only() -> None:
    text = f"login as bob with {SECRET} to sha256:{'a' * 64}"
    assert redact(text, [SECRET], heuristics=False) == f"login as bob with *** to sha256:{'a' * 64}"
    assert redact("fetching token for ghcr.io") == "fetching token for ghcr.io"
