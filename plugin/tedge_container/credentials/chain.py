"""The provider chain: ask each provider in order, the first complete answer wins.

A provider that fails (broken file, failing helper) becomes a warning and the
chain goes on: one broken source never silently drops the others.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from .model import Found, ProviderError, Resolution

if TYPE_CHECKING:
    from ..config import Config
    from ..images.references import Reference


class Provider(Protocol):
    name: str

    def lookup(self, reference: Reference, refresh: bool) -> Found | None:
        """Credentials for `reference`, or None; raises ProviderError when it cannot answer.

        Non-fatal remarks may be left in a `warnings` list attribute.
        """


class Chain:
    def __init__(self, providers: Sequence[Provider]) -> None:
        self.providers = list(providers)

    def lookup(self, reference: Reference, refresh: bool = False, explain: bool = False) -> Resolution:
        """The first provider's complete answer for `reference`.

        With `explain`, every provider is asked (the later ones only for the notes), so that
        an operator sees what each would say; the winner stays the first.
        """
        resolution = Resolution(reference.domain)
        for provider in self.providers:
            try:
                found = provider.lookup(reference, refresh)
            except ProviderError as error:
                resolution.warnings.append(str(error))
                resolution.broken.append(str(error))
                resolution.notes.append(f"{provider.name}: error")
                continue
            finally:
                resolution.warnings.extend(getattr(provider, "warnings", None) or [])
            if found is None or not found.credentials.complete:
                resolution.notes.append(f"{provider.name}: {_unavailable(provider) or 'no match'}")
                continue
            what = f" {found.entry}" if found.entry else ""
            if resolution.credentials is None:
                resolution.credentials = found.credentials
                resolution.provider = provider.name
                resolution.entry = found.entry
                resolution.notes.append(f"{provider.name}:{what} {found.credentials.describe()} (used)")
                if not explain:
                    break
            else:
                resolution.notes.append(f"{provider.name}:{what} {found.credentials.describe()} (not used)")
        return resolution


def _unavailable(provider: object) -> str | None:
    unavailable = getattr(provider, "unavailable", None)
    return unavailable() if callable(unavailable) else None


def build_chain(config: Config, environ: Mapping[str, str] | None = None, uid: int | None = None) -> Chain:
    """The chain as configured: helper, static file, environment, auth files."""
    from .authfiles import AuthFilesProvider, engine_user_environ
    from .helper import HelperProvider
    from .static import EnvironmentProvider, StaticFileProvider

    environ = os.environ if environ is None else environ
    timeout = float(config.get("registry.helper_timeout"))
    static = StaticFileProvider(config.get("registry.credentials_path"), environ)
    auth_environ = environ
    if uid is None:  # the auth files of the engine's user (a rootless engine's, say)
        auth_environ, uid = engine_user_environ(config, environ)
    return Chain(
        [
            HelperProvider(config.get("registry.helper"), timeout, environ),
            static,
            EnvironmentProvider(static.file, environ),
            AuthFilesProvider(timeout, auth_environ, uid),
        ]
    )
