"""Getting an image from its registry, with the credential chain and one refresh retry.

1. The chain (credentials/) names the credentials for the image's registry;
   the log says which provider and user (never the password).
2. Pull with them (or anonymously when nothing matched, so that the engine's
   own `podman login` applies).
3. Only when that pull failed for an authentication reason: run the chain
   again with "refresh" (the helper gets `--refresh`, the files are re-read)
   and pull once more. Not-found, reference, TLS and network failures are not
   retried: fresh credentials cannot fix them.
4. A second authentication failure is exit 2 with a message naming the
   registry, the provider and what to check.
"""

from __future__ import annotations

from .. import log
from ..diskspace import require_in_engine
from ..errors import PluginError, PullError

TYPE_CHECKING = False  # not `typing`'s: an install of a local image imports this module too
if TYPE_CHECKING:
    from ..config import Config
    from ..credentials import Chain, Resolution
    from ..engine import Engine
    from .references import Reference

_logged: set[str] = set()  # a warning repeated by the refresh lookup is said once


def _warn_once(message: str) -> None:
    if message not in _logged:
        _logged.add(message)
        log.warning(message)


def resolve(chain: Chain, reference: Reference, refresh: bool) -> Resolution:
    resolution = chain.lookup(reference, refresh=refresh)
    for warning in resolution.warnings:
        _warn_once(warning)
    for note in resolution.notes:
        log.debug(f"credentials for {reference.domain}: {note}")
    again = " (refreshed)" if refresh else ""
    log.info(f"credentials for {reference.domain}{again}: {resolution.describe()}")
    return resolution


def _scrub(error: PluginError, secrets: list[str]) -> PluginError:
    """Belt and braces: an engine message never carries a secret it was given."""
    from ..credentials import redact

    if secrets:
        error.args = tuple(redact(str(arg), secrets, heuristics=False) for arg in error.args)
    return error


def _attempt(engine: Engine, reference: Reference, resolution: Resolution) -> str:
    try:
        return engine.pull(reference.full, reference.domain, auth=resolution.auth_config())
    except PluginError as error:
        raise _scrub(error, resolution.secrets()) from None


def auth_failure(
    reference: Reference, first: Resolution, second: Resolution | None, config: Config
) -> PullError:
    """The final message after the registry refused twice (or refused and nothing could be refreshed)."""
    registry = reference.domain
    check = f"run `tedge-container-plugin credentials {reference.full}` to see which credentials apply"
    problems = ""
    warnings = list(dict.fromkeys([*first.warnings, *(second.warnings if second else [])]))
    if warnings:
        problems = f" ({len(warnings)} credential source(s) failed, see the warnings above)"
    used = second if second is not None and second.found else first
    if used.found:
        refreshed = " twice, the second time with refreshed credentials" if second is not None else ""
        return PullError(
            f"Pulling {reference.full} failed: authentication with {registry} failed{refreshed}, "
            f"using {used.describe()}{problems}; check that this account exists, its password or "
            f"token is current and it may read {reference.path}, then {check}.",
            kind="auth",
            registry=registry,
        )
    broken = (second or first).broken  # the latest attempt's: the refreshed one when there was one
    if broken:  # the entry may well be there: the source holding it is what is broken
        return PullError(
            f"Pulling {reference.full} failed: {registry} requires authentication and a credential "
            f"source is broken: {' '.join(broken)} Then {check}.",
            kind="auth",
            registry=registry,
        )
    return PullError(
        f"Pulling {reference.full} failed: {registry} requires authentication and no credentials "
        f"were found for it{problems}; add an entry for {registry} to "
        f"{config.get('registry.credentials_path')} (or configure registry.helper), then {check}.",
        kind="auth",
        registry=registry,
    )


def _brought(config: Config, reference: Reference, image_id: str) -> str:
    """The plugin pulled it: recorded, so that pruning may take it later (provenance.py)."""
    from .provenance import remember

    remember(config, image_id, reference.full)
    return image_id


def pull(engine: Engine, reference: Reference, config: Config, chain: Chain | None = None) -> str:
    """Pull `reference` and return the image id; raises PullError classified by kind.

    Refused (NotEnoughSpace, exit 2) before the engine is asked when its storage is
    already below container.min_free_space: podman does not tell a pull's size beforehand.
    """
    require_in_engine(config, engine, 0, f"pull {reference.full}")
    if chain is None:
        from ..credentials import build_chain

        chain = build_chain(config)
    first = resolve(chain, reference, refresh=False)
    try:
        return _brought(config, reference, _attempt(engine, reference, first))
    except PullError as error:
        if error.kind != "auth":
            raise
        how = f"with {first.describe()}" if first.found else "without credentials"
        log.warning(f"{reference.domain} refused the pull of {reference.full} {how}.")
        log.debug(f"engine said: {error}")

    log.info(f"asking for fresh credentials for {reference.domain} and retrying once")
    second = resolve(chain, reference, refresh=True)
    if not first.found and not second.found:
        raise auth_failure(reference, first, None, config)
    try:
        return _brought(config, reference, _attempt(engine, reference, second))
    except PullError as error:
        if error.kind != "auth":
            raise
        log.debug(f"engine said: {error}")
        raise auth_failure(reference, first, second, config) from None
