"""Provider 4: what `podman login` / `docker login` wrote, matched as containers/image does.

Files, first one with an answer wins: `$REGISTRY_AUTH_FILE`,
`$XDG_RUNTIME_DIR/containers/auth.json` (else `/run/containers/$UID/auth.json`),
`~/.config/containers/auth.json`, `$DOCKER_CONFIG/config.json` (else
`~/.docker/config.json`), `~/.dockercfg`. In each file `credHelpers` comes
first (`docker-credential-NAME get`, the registry on stdin), then `auths`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from typing import Any

from ..images.references import Reference
from .helper import find_executable, log_stderr
from .matching import match_auth_key, match_cred_helper
from .model import Credentials, Found, ProviderError
from .process import HelperTimeout, run_bounded

TOKEN_USERNAME = "<token>"  # Docker helpers: the Secret is an identity token
NOT_FOUND = b"credentials not found"


def auth_file_paths(environ: Mapping[str, str], uid: int | None = None) -> list[tuple[str, bool]]:
    """(path, legacy format) in containers/image's order."""
    uid = os.getuid() if uid is None else uid
    home = environ.get("HOME") or os.path.expanduser("~")
    paths: list[tuple[str, bool]] = []
    if environ.get("REGISTRY_AUTH_FILE"):
        paths.append((environ["REGISTRY_AUTH_FILE"], False))
    runtime = environ.get("XDG_RUNTIME_DIR")
    paths.append(
        (
            os.path.join(runtime, "containers", "auth.json")
            if runtime
            else f"/run/containers/{uid}/auth.json",
            False,
        )
    )
    paths.append((os.path.join(home, ".config", "containers", "auth.json"), False))
    docker_config = environ.get("DOCKER_CONFIG")
    paths.append(
        (
            os.path.join(docker_config, "config.json")
            if docker_config
            else os.path.join(home, ".docker", "config.json"),
            False,
        )
    )
    paths.append((os.path.join(home, ".dockercfg"), True))
    return list(dict.fromkeys(paths))


_OWN_VARIABLES = ("HOME", "XDG_RUNTIME_DIR", "DOCKER_CONFIG")  # replaced by the engine user's


def engine_user_environ(config: Any, environ: Mapping[str, str]) -> tuple[Mapping[str, str], int | None]:
    """The environment and uid whose auth files apply: those of the rootless engine's user.

    A rootless engine pulls with its user's `podman login`, so root acting for
    that user (sudo) reads that user's files: `/run/user/UID/containers/auth.json`,
    `~USER/.config/containers/auth.json`, `~USER/.docker/config.json`. For
    root's engine, or the user itself, the process's own environment applies.
    """
    from ..engine.discovery import choose, rootless_uid
    from ..errors import PluginError

    try:
        uid = rootless_uid(choose(config, environ).path)
    except PluginError:  # an unusable container.host: the engine's own error comes later
        return environ, None
    if uid is None or uid == os.geteuid():
        return environ, None
    try:
        import pwd

        home = pwd.getpwuid(uid).pw_dir
    except (ImportError, KeyError):
        return environ, None
    own = {
        key: value
        for key, value in environ.items()
        if key not in ("HOME", "XDG_RUNTIME_DIR", "DOCKER_CONFIG")
    }
    own.update(HOME=home, XDG_RUNTIME_DIR=f"/run/user/{uid}")
    return own, uid


def decode_entry(value: Any, where: str) -> Credentials | None:
    """An `auths` value → Credentials; None for an empty entry. Never quotes the value."""
    if not isinstance(value, dict):
        raise ProviderError(f"{where} is not an object.")
    token = value.get("identitytoken") or ""
    encoded = value.get("auth") or ""
    if not isinstance(token, str) or not isinstance(encoded, str):
        raise ProviderError(f"{where} has a non-text auth or identitytoken.")
    username = password = ""
    if encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise ProviderError(f"{where} has an auth value that is not base64 of user:password.") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise ProviderError(f"{where} has an auth value without a ':' between user and password.")
    if token:
        return Credentials(username, "", identity_token=token)
    if not username and not password:
        return None
    return Credentials(username, password)


class DockerCredentialHelper:
    """`docker-credential-NAME get` with the registry on stdin."""

    def __init__(self, suffix: str, timeout: float, environ: Mapping[str, str]) -> None:
        self.program = f"docker-credential-{suffix}"
        self.timeout = timeout
        self.environ = environ

    def get(self, server: str) -> Credentials | None:
        path = None if "/" in self.program else find_executable(self.program, self.environ)
        if path is None:
            raise ProviderError(f"{self.program} (credHelpers) was not found on PATH or in /usr/bin.")
        try:
            result = run_bounded(
                [path, "get"], self.timeout, stdin_data=server.encode() + b"\n", env=self.environ
            )
        except HelperTimeout:
            raise ProviderError(f"{path} did not answer within {self.timeout:g} s and was killed.") from None
        except OSError as error:
            raise ProviderError(f"{path} could not be run: {error.strerror or error}.") from None
        if result.returncode != 0:
            log_stderr(path, result.stderr, [])
            if NOT_FOUND in result.stdout.lower() or NOT_FOUND in result.stderr.lower():
                return None
            raise ProviderError(f"{path} failed for {server} (exit {result.returncode}).")
        try:
            data = json.loads(result.stdout.decode("utf-8", "replace"))
        except ValueError:
            raise ProviderError(f"{path} printed something that is not JSON for {server}.") from None
        if not isinstance(data, dict) or not isinstance(data.get("Secret"), str):
            raise ProviderError(f"{path} answered without a Secret for {server}.")
        username = data.get("Username") if isinstance(data.get("Username"), str) else ""
        log_stderr(path, result.stderr, [data["Secret"]])
        if not data["Secret"]:
            return None
        if username == TOKEN_USERNAME:
            return Credentials("", "", identity_token=data["Secret"])
        return Credentials(username or "", data["Secret"])


class AuthFilesProvider:
    """Provider 4: containers-auth.json and Docker config files."""

    name = "auth file"

    def __init__(
        self, helper_timeout: float, environ: Mapping[str, str] | None = None, uid: int | None = None
    ) -> None:
        self.environ = dict(os.environ if environ is None else environ)
        self.paths = auth_file_paths(self.environ, uid)
        self.helper_timeout = helper_timeout
        self.warnings: list[str] = []
        self.owner = ""
        if uid is not None:
            from ..engine.discovery import user_name

            self.owner = f" of user {user_name(uid)} (its rootless engine pulls)"

    def unavailable(self) -> str:
        """What `credentials IMAGE` says when no file answered: the files read, and whose."""
        return f"no match in {', '.join(path for path, _ in self.paths)}{self.owner}"

    def lookup(self, reference: Reference, refresh: bool) -> Found | None:
        self.warnings = []
        for path, legacy in self.paths:
            try:
                found = self._lookup_file(path, legacy, reference)
            except ProviderError as error:
                self.warnings.append(str(error))
                continue
            if found is not None:
                return found
        return None

    def _lookup_file(self, path: str, legacy: bool, reference: Reference) -> Found | None:
        try:
            with open(path, "rb") as stream:
                data = json.loads(stream.read().decode("utf-8"))
        except FileNotFoundError:
            return None
        except (ValueError, UnicodeDecodeError) as error:
            line = f" (line {error.lineno})" if isinstance(error, json.JSONDecodeError) else ""
            raise ProviderError(f"{path} is not valid JSON{line}; it is skipped.") from None
        except OSError as error:
            raise ProviderError(f"Cannot read {path}: {error.strerror or error}; it is skipped.") from None
        if not isinstance(data, dict):
            raise ProviderError(f"{path} does not hold a JSON object; it is skipped.")

        if not legacy:
            helpers = data.get("credHelpers") or {}
            if isinstance(helpers, dict):
                key = match_cred_helper(list(helpers), reference)
                if key is not None and isinstance(helpers[key], str):
                    helper = DockerCredentialHelper(helpers[key], self.helper_timeout, self.environ)
                    credentials = helper.get(reference.domain)
                    if credentials is not None:
                        return Found(credentials, f"credHelpers {key!r} → {helper.program} in {path}")
                    return None
        auths = data if legacy else data.get("auths") or {}
        if not isinstance(auths, dict):
            raise ProviderError(f'{path}: "auths" is not an object; it is skipped.')
        key = match_auth_key(list(auths), reference)
        if key is None:
            return None
        credentials = decode_entry(auths[key], f"{path}: auths[{key!r}]")
        if credentials is None:
            return None
        return Found(credentials, f"{path} auths[{key!r}]")
