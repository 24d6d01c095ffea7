"""Image references: parsing and normalisation as distribution/reference does it.

`nginx` and `docker.io/library/nginx:latest` name the same image to Docker.
A reference written without a registry is a *short name* (`short`): podman
resolves those differently (a local `localhost/` image first, then its
unqualified-search registries), which shortnames.py does; `full` is the
Docker Hub reading that the Go plugin used.
"""

from __future__ import annotations

import re

from ..errors import InvalidReference

DOCKER_HUB = "docker.io"
# Names by which users and auth files refer to Docker Hub.
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*\Z")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?\Z"
)
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}\Z")
_DIGEST_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}\Z")
_MAX_NAME_LENGTH = 255


class Reference:
    """A parsed, normalised image reference.

    `domain` is the registry host (with port), `path` the repository path below
    it (with `library/` added for Docker Hub), and at most one of `tag`/`digest`
    is needed to pull; when both are given the digest decides.
    """

    __slots__ = ("digest", "domain", "path", "short", "tag", "text", "written_path")

    def __init__(
        self,
        domain: str,
        path: str,
        tag: str | None,
        digest: str | None,
        text: str = "",
        short: bool = False,
        written_path: str = "",
    ) -> None:
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest
        self.text = text or self.full  # as the operator wrote it, e.g. for credential helpers
        self.short = short  # written without a registry: `nginx`, `acme/app:1`
        self.written_path = written_path or path  # the path as written (`nginx`, not `library/nginx`)

    @property
    def suffix(self) -> str:
        """`@digest`, `:tag`, or `:latest` when neither was given."""
        return f"@{self.digest}" if self.digest else f":{self.tag or 'latest'}"

    @property
    def name(self) -> str:
        """`domain/path`, without tag or digest."""
        return f"{self.domain}/{self.path}"

    @property
    def full(self) -> str:
        """The reference the engine pulls and runs: `domain/path@digest` or `domain/path:tag`.

        A missing tag means `latest`, as everywhere in the container world.
        """
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag or 'latest'}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reference) and self.full == other.full

    def __hash__(self) -> int:
        return hash(self.full)

    def __repr__(self) -> str:
        return f"Reference({self.full!r})"

    def __str__(self) -> str:
        return self.full


def split_domain(name: str) -> tuple[str, str]:
    """Split a reference's name part into (domain, remainder) with Docker Hub defaults.

    The first component is a domain only if it is `localhost` or contains `.`,
    `:` or an upper-case letter; otherwise the image lives on Docker Hub.
    """
    first, sep, rest = name.partition("/")
    if sep and (first == "localhost" or any(c in first for c in ".:") or first.lower() != first):
        domain, remainder = first, rest
    else:
        domain, remainder = DOCKER_HUB, name
    if domain.lower() in DOCKER_HUB_ALIASES:
        domain = DOCKER_HUB
        if "/" not in remainder:
            remainder = f"library/{remainder}"
    return domain, remainder


def parse(reference: str) -> Reference:
    """Parse `reference` (as an operator or the cloud wrote it) into a normalised Reference.

    Raises InvalidReference with a message naming the reference and the rule it breaks.
    """
    text = reference.strip()
    if not text:
        raise InvalidReference("The image reference is empty.")
    if len(text) > 4096 or any(c.isspace() for c in text):
        raise InvalidReference(f"{reference!r} is not a valid image reference: it contains spaces.")

    remainder, at, digest = text.partition("@")
    if at and not _DIGEST_RE.match(digest):
        raise InvalidReference(f"{reference!r} has an invalid digest {digest!r}.")

    # The tag follows the last ':' that comes after the last '/', so a port stays in the domain.
    name, tag = remainder, None
    colon = remainder.rfind(":")
    if colon > remainder.rfind("/"):
        name, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG_RE.match(tag):
            raise InvalidReference(f"{reference!r} has an invalid tag {tag!r}.")

    domain, path = split_domain(name)
    first, slash, _ = name.partition("/")
    short = not slash or (domain == DOCKER_HUB and first.lower() not in DOCKER_HUB_ALIASES)
    if not _DOMAIN_RE.match(domain):
        raise InvalidReference(f"{reference!r} has an invalid registry name {domain!r}.")
    if not _PATH_RE.match(path):
        hint = " (repository names must be lower case)" if path.lower() != path else ""
        raise InvalidReference(f"{reference!r} is not a valid image reference{hint}.")
    if len(domain) + 1 + len(path) > _MAX_NAME_LENGTH:
        raise InvalidReference(f"{reference!r} is longer than {_MAX_NAME_LENGTH} characters.")
    return Reference(domain, path, tag, digest or None, text, short, name if short else path)


def try_parse(reference: str) -> Reference | None:
    """Like parse(), but None for anything that is not a valid reference."""
    try:
        return parse(reference)
    except InvalidReference:
        return None
