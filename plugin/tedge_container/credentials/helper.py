"""Provider 1: the credentials helper executable, compatible with the Go plugin's.

`HELPER get IMAGE` (and `HELPER get IMAGE --refresh` when the previous
credentials were rejected) prints `{"username": "...", "password": "..."}` on
stdout; its stderr is its log, kept at debug level after redaction.
`{"username": "", "password": ""}` or an empty stdout means "nothing for this
image". Anything else that goes wrong is a ProviderError naming the helper,
and the chain goes on to the next provider.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from .. import log
from ..images.references import Reference
from ..programs import which
from .model import Credentials, Found, ProviderError, redact
from .process import HelperTimeout, run_bounded

DEFAULT_HELPER = "registry-credentials"
FALLBACK_DIRS = ("/usr/bin",)


def find_executable(name: str, environ: Mapping[str, str]) -> str | None:
    """`name` on PATH, else in /usr/bin (sudo's secure_path may lack the dir); a path is used as is."""
    if "/" in name:
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    return which(name, environ.get("PATH", os.defpath)) or which(name, os.pathsep.join(FALLBACK_DIRS))


def log_stderr(what: str, stderr: bytes, secrets: list[str]) -> None:
    text = stderr.decode("utf-8", "replace").strip()
    for line in text.splitlines()[-50:]:
        log.debug(f"{what}: {redact(line, secrets)}")


class HelperProvider:
    """Runs the configured helper for each image."""

    def __init__(self, helper: str, timeout: float, environ: Mapping[str, str] | None = None) -> None:
        self.configured = helper.strip()
        self.timeout = timeout
        self.environ = dict(os.environ if environ is None else environ)
        self.path = find_executable(self.configured, self.environ) if self.configured else None
        self.name = f"helper {self.path or self.configured or '(disabled)'}"
        self._seen: set[str] = set()

    def unavailable(self) -> str | None:
        """Why the helper will not run, or None when it will; a warning only when it was asked for."""
        if not self.configured:
            return "disabled (registry.helper is empty)"
        if self.path is None:
            return f"{self.configured} not found"
        return None

    @property
    def explicitly_missing(self) -> bool:
        return bool(self.configured) and self.path is None and self.configured != DEFAULT_HELPER

    def lookup(self, reference: Reference, refresh: bool) -> Found | None:
        if self.path is None:
            if self.explicitly_missing:
                raise ProviderError(
                    f"The credentials helper {self.configured!r} (registry.helper) was not found "
                    "on PATH or in /usr/bin, or is not executable; fix registry.helper or install it."
                )
            return None
        # The image as the module version gave it, as the Go plugin passes it.
        argv = [self.path, "get", reference.text, *(["--refresh"] if refresh else [])]
        shown = " ".join(argv[1:])
        try:
            result = run_bounded(argv, self.timeout, env=self.environ)
        except HelperTimeout:
            raise ProviderError(
                f"The credentials helper {self.path} did not answer `{shown}` within "
                f"{self.timeout:g} s and was killed; check it, or raise registry.helper_timeout."
            ) from None
        except OSError as error:
            raise ProviderError(
                f"The credentials helper {self.path} could not be run: {error.strerror or error}."
            ) from None
        credentials, problem = self._parse(result.stdout, result.truncated)
        if credentials is not None:  # a stale password it printed before is still a secret
            self._seen.update(credentials.secrets())
        log_stderr(f"{self.path}", result.stderr, sorted(self._seen))
        if result.returncode != 0:
            raise ProviderError(
                f"The credentials helper {self.path} failed on `{shown}` (exit {result.returncode}); "
                f'see its messages with log_level = "debug".'
            )
        if problem:
            raise ProviderError(f"The credentials helper {self.path} answered `{shown}` with {problem}.")
        if credentials is None:
            return None
        return Found(credentials, "")

    @staticmethod
    def _parse(stdout: bytes, truncated: bool) -> tuple[Credentials | None, str]:
        """(credentials, "") or (None, what is wrong); (None, "") for "nothing for this image"."""
        if truncated:
            return None, "more than 1 MiB of output instead of a small JSON object"
        text = stdout.decode("utf-8", "replace").strip()
        if not text:
            return None, ""
        try:
            data = json.loads(text)
        except ValueError:
            return None, f'{len(stdout)} bytes that are not JSON (expected {{"username": …, "password": …}})'
        if not isinstance(data, dict):
            return None, 'JSON that is not an object (expected {"username": …, "password": …})'
        missing = [k for k in ("username", "password") if k not in data]
        if missing:
            return None, f"JSON without {' and '.join(repr(k) for k in missing)}"
        username, password = data["username"], data["password"]
        if not isinstance(username, str) or not isinstance(password, str):
            return None, "a username or password that is not a string"
        if not username and not password:
            return None, ""
        if not username or not password:
            return None, f"an empty {'username' if not username else 'password'}"
        return Credentials(username, password), ""
