"""Pure matching rules: which configured entry applies to which image. No I/O here.

Two rule sets:
- the plugin's own entries (credentials.toml, CONTAINER_REGISTRYn_*): `repo` is
  a registry, optionally with a namespace (`ghcr.io/acme`), written loosely
  (`https://`, `/v1/`, any case); the most specific matching entry wins;
- containers-auth.json / Docker config keys, matched as containers/image does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from ..images.references import DOCKER_HUB, DOCKER_HUB_ALIASES, Reference

T = TypeVar("T")

# API path suffixes seen in registry URLs (`https://index.docker.io/v1/`); not namespaces.
_API_PATHS = frozenset({"v1", "v2"})


def canonical_host(host: str) -> str:
    """Lower-cased host[:port], with every Docker Hub alias folded into `docker.io`."""
    host = host.strip().lower()
    if host in DOCKER_HUB_ALIASES or host in {h + ":443" for h in DOCKER_HUB_ALIASES}:
        return DOCKER_HUB
    return host


def _strip_scheme(text: str) -> str:
    text = text.strip()
    lower = text.lower()
    for scheme in ("https://", "http://"):
        if lower.startswith(scheme):
            return text[len(scheme) :]
    return text


def normalize_repo(repo: str) -> tuple[str, str]:
    """A configured `repo` → (canonical host, namespace path or "").

    `HTTPS://GHCR.io/acme/` → ("ghcr.io", "acme"); `https://index.docker.io/v1/` →
    ("docker.io", ""). A Docker Hub namespace without `library/` is kept as given
    (`docker.io/acme` matches `acme/app`).
    """
    host, _, path = _strip_scheme(repo).partition("/")
    parts = [p for p in path.lower().split("/") if p]
    if len(parts) == 1 and parts[0] in _API_PATHS:
        parts = []
    return canonical_host(host), "/".join(parts)


def repo_specificity(repo: str, reference: Reference) -> int:
    """How specifically `repo` names the registry of `reference`: -1 no match, 0 the registry,
    n the registry and n leading path components of the image."""
    host, namespace = normalize_repo(repo)
    if not host or host != canonical_host(reference.domain):
        return -1
    if not namespace:
        return 0
    path = reference.path.lower()
    if path == namespace or path.startswith(namespace + "/"):
        return namespace.count("/") + 1
    return -1


def most_specific(entries: Sequence[tuple[str, T]], reference: Reference) -> list[tuple[int, T]]:
    """The entries (repo, item) that match `reference`, most specific first; stable otherwise."""
    scored = [(repo_specificity(repo, reference), index, item) for index, (repo, item) in enumerate(entries)]
    matching = [s for s in scored if s[0] >= 0]
    matching.sort(key=lambda s: (-s[0], s[1]))
    return [(score, item) for score, _, item in matching]


# -- containers-auth.json / Docker config -------------------------------------------


def auth_file_exact_keys(reference: Reference) -> list[str]:
    """Keys tried verbatim, most specific first: `host/ns1/ns2/repo`, `host/ns1/ns2`, `host/ns1`, `host`."""
    parts = reference.path.split("/")
    keys = [f"{reference.domain}/{'/'.join(parts[:n])}" for n in range(len(parts), 0, -1)]
    return [*keys, reference.domain]


def normalize_auth_key(key: str) -> str:
    """A legacy key (`https://index.docker.io/v1/`, `http://host:5000`) → canonical host."""
    return canonical_host(_strip_scheme(key).partition("/")[0])


def match_auth_key(keys: Sequence[str], reference: Reference) -> str | None:
    """The auths key that containers/image would use for `reference`, or None.

    The most specific exact key wins, with no fall-back to a broader one; then a
    legacy key whose host (scheme and path stripped, Docker Hub aliases folded)
    is the image's registry.
    """
    present = set(keys)
    for key in auth_file_exact_keys(reference):
        if key in present:
            return key
    host = canonical_host(reference.domain)
    for key in keys:
        if normalize_auth_key(key) == host:
            return key
    return None


def match_cred_helper(helpers: Sequence[str], reference: Reference) -> str | None:
    """The credHelpers key for the image's registry (exact first, then normalised), or None."""
    if reference.domain in helpers:
        return reference.domain
    host = canonical_host(reference.domain)
    for key in helpers:
        if normalize_auth_key(key) == host:
            return key
    return None
