"""Value objects of the credential chain: what a provider found, and the verdict of the chain.

Nothing here ever puts a password, token or `auth` value into a string: the
`repr`/`str` of every object is safe to log, and `redact()` scrubs text that
came from outside (a helper's stderr, an engine message) before it is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

HIDDEN = "***"


class Credentials:
    """A username and password (or an identity token) for one registry.

    The secret is reachable only through `password` / `identity_token` and
    `auth_config()`; it never appears in `repr()` or `str()`.
    """

    __slots__ = ("_identity_token", "_password", "username")

    def __init__(self, username: str, password: str = "", identity_token: str = "") -> None:
        self.username = username
        self._password = password
        self._identity_token = identity_token

    @property
    def password(self) -> str:
        return self._password

    @property
    def identity_token(self) -> str:
        return self._identity_token

    @property
    def complete(self) -> bool:
        """A username with a password, or an identity token: something a registry can check."""
        return bool(self._identity_token) or bool(self.username and self._password)

    def auth_config(self) -> dict[str, str]:
        """The engine's X-Registry-Auth form."""
        if self._identity_token:
            return {"identitytoken": self._identity_token}
        return {"username": self.username, "password": self._password}

    def secrets(self) -> list[str]:
        return [s for s in (self._password, self._identity_token) if s]

    def describe(self) -> str:
        """`user 'bob'`, or `an identity token` when there is no username to show."""
        if self._identity_token:
            return "an identity token"
        return f"user {self.username!r}"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Credentials)
            and self.username == other.username
            and self._password == other._password
            and self._identity_token == other._identity_token
        )

    def __hash__(self) -> int:
        return hash((self.username, self._password, self._identity_token))

    def __repr__(self) -> str:
        secret = ", identity_token=<hidden>" if self._identity_token else ", password=<hidden>"
        return f"Credentials(username={self.username!r}{secret})"

    __str__ = __repr__

    def __reduce__(self) -> object:  # no pickling a secret into some cache by accident
        raise TypeError("Credentials cannot be pickled")


class Found(NamedTuple):
    """A provider's answer: the credentials and which of its entries gave them."""

    credentials: Credentials
    entry: str  # e.g. `[registry3] repo "ghcr.io/acme"` — never secret


class ProviderError(Exception):
    """A provider could not answer (broken file, failing helper); the chain goes on without it."""


class Resolution:
    """The chain's verdict for one image: who answered (if anyone), and what went wrong on the way."""

    __slots__ = ("broken", "credentials", "entry", "notes", "provider", "registry", "warnings")

    def __init__(self, registry: str) -> None:
        self.registry = registry
        self.credentials: Credentials | None = None
        self.provider = ""  # e.g. `helper /usr/bin/registry-credentials`
        self.entry = ""
        self.warnings: list[str] = []  # provider errors: shown to the operator
        self.notes: list[str] = []  # what each provider said: for `credentials IMAGE` and debug logs
        self.broken: list[str] = []  # why a provider could not answer at all (broken file, failing helper)

    @property
    def found(self) -> bool:
        return self.credentials is not None

    def auth_config(self) -> dict[str, str] | None:
        return self.credentials.auth_config() if self.credentials is not None else None

    def secrets(self) -> list[str]:
        return self.credentials.secrets() if self.credentials is not None else []

    def describe(self) -> str:
        """`helper /usr/bin/registry-credentials (user 'AWS')`, never a password."""
        if self.credentials is None:
            return "no credentials (anonymous pull; the engine's own login applies)"
        entry = f" {self.entry}" if self.entry else ""
        return f"{self.provider}{entry} ({self.credentials.describe()})"

    def __repr__(self) -> str:
        return f"Resolution({self.registry!r}, {self.describe()!r})"


# Secret-looking things in free text: `password=…`, `"token": "…"`, HTTP auth headers,
# JWTs, and long opaque strings (base64, hex) such as registry tokens.
_KEY_VALUE = re.compile(
    r"""(?ix)
    ((?:pass(?:word|wd)?|secret|token|auth|api[_-]?key|credentials?|identitytoken|authorization)
     [\w-]*"?(?:\s*[:=]|\s+is)\s*"?)
    (?:(?:basic|bearer)\s+)?
    [^\s",;}]+
    """
)
_AUTH_HEADER = re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9._~+/=-]{6,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_OPAQUE = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,2}")
_SECRET_NAME = re.compile(r"(?i)pass|secret|token|key|auth|credential|cert")


def redact(text: str, secrets: Iterable[str] = (), heuristics: bool = True, opaque: bool = True) -> str:
    """`text` with known secrets and (with `heuristics`) anything secret-looking replaced by `***`.

    Engine messages get only the known secrets removed, so that digests in them stay readable.
    `opaque=False` keeps long unbroken strings (file paths in compose's messages look like tokens).
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    if not heuristics:
        return text
    text = _KEY_VALUE.sub(lambda m: m.group(1) + HIDDEN, text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + " " + HIDDEN, text)
    text = _JWT.sub(HIDDEN, text)
    return _OPAQUE.sub(HIDDEN, text) if opaque else text


def secret_values(variables: Mapping[str, str]) -> list[str]:
    """The values of variables whose name looks secret (`DB_PASSWORD`, `API_TOKEN`, ...): a compose
    project's variables, a container's environment. Values shorter than 3 are left (they would
    hide every "1" and "on")."""
    return [
        value for key, value in variables.items() if value and len(value) >= 3 and _SECRET_NAME.search(key)
    ]
