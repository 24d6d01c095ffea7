"""Short image names (`accept-app:1.0`, `acme/app`) resolved as podman resolves them on the device.

A short name is a reference written without a registry. podman reads it as:
1. a local image: `localhost/NAME` first (images built or loaded on the
   device), then NAME below each unqualified-search registry, then any local
   image whose name ends with NAME. The engine itself is asked
   (`find_image`), so its own registries.conf decides, wherever its root is.
2. otherwise a pull from each unqualified-search registry of the engine (its
   info endpoint reports them), in order. When the engine has none (Debian's
   default), Docker Hub is tried, as Docker and the Go plugin do:
   `nginx` is `docker.io/library/nginx`.
   `localhost/` images are never pulled: there is no registry behind them.
The credential chain and the helper are asked for each pulled candidate by its
full name (`docker.io/library/nginx:1.25`), since each candidate is another
registry. A short name found nowhere fails with exit 2 naming every candidate
(retrying the same ambiguous name does not help), unless a registry asked to
wait (rate limit, timeout: exit 3).
"""

from __future__ import annotations

from .. import log
from ..errors import PluginError, PullError
from . import pulling, references

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..config import Config
    from ..engine import Engine
    from .references import Reference

LOCALHOST = "localhost"


def not_pullable(reference: Reference) -> PluginError:
    """A `localhost/` image the engine lacks: no registry serves it, so it is exit 2 at once."""
    return PluginError(
        f"{reference.full} is not in podman's image store, and a localhost/ image cannot be "
        "pulled (no registry serves it); load it with --file or `podman load`, or build it on "
        "the device."
    )


def _qualified(registry: str, reference: Reference) -> Reference:
    return references.parse(f"{registry}/{reference.written_path}{reference.suffix}")


def pull_candidates(reference: Reference, search_registries: Sequence[str]) -> list[Reference]:
    """Where a short name is pulled from, in order: the search registries, else Docker Hub."""
    if not reference.short:
        return [reference]
    found = [_qualified(registry, reference) for registry in search_registries]
    return list(dict.fromkeys(found)) or [references.parse(reference.full)]


def local_candidates(reference: Reference, search_registries: Sequence[str]) -> list[Reference]:
    """The full names a short name may have on the device, in podman's order (Docker Hub last)."""
    if not reference.short:
        return [reference]
    names = [_qualified(LOCALHOST, reference), *pull_candidates(reference, search_registries)]
    names.append(references.parse(reference.full))
    return list(dict.fromkeys(names))


def _names_of(image: dict) -> list[Reference]:
    names = [*(image.get("RepoTags") or []), *(image.get("RepoDigests") or [])]
    return [ref for ref in map(references.try_parse, names) if ref is not None]


def find_local(engine: Engine, reference: Reference) -> str | None:
    """The full name (or, lacking one, the id) of the local image podman resolves a short name to."""
    image = engine.find_image(reference.written_path + reference.suffix)
    if image is None:
        return None
    names = {ref.full for ref in _names_of(image)}
    localhost = _qualified(LOCALHOST, reference)
    if localhost.full in names:  # the common case needs no info call
        return localhost.full
    for candidate in local_candidates(reference, engine.search_registries()):
        if candidate.full in names:
            return candidate.full
    for name in _names_of(image):  # podman's last resort: a name that ends with the short one
        if name.path.endswith("/" + reference.written_path) and name.suffix == reference.suffix:
            return name.full
    return str(image.get("Id") or "") or None


def _detail(error: PullError, candidate: Reference) -> str:
    """The engine's reason without the generic prefix and advice of a single pull's message."""
    text = str(error).rstrip(".")
    prefix = f"Pulling {candidate.full} failed: "
    if text.startswith(prefix) and "; " in text:
        text = text[len(prefix) : text.rindex("; ")]
    return f"{candidate.full}: {text}"


def not_found(
    reference: Reference, search_registries: Sequence[str], failures: list[tuple[Reference, PullError]]
) -> PullError:
    local = _qualified(LOCALHOST, reference).full
    registries = (
        "from podman's unqualified-search registries"
        if search_registries
        else "from Docker Hub (podman has no unqualified-search registries; Docker Hub is what Docker "
        "and the Go plugin use)"
    )
    tried = "; ".join(_detail(error, candidate) for candidate, error in failures)
    kinds = {error.kind for _, error in failures}
    wait = kinds & {"rate_limit", "timeout"}
    network = " Check the device's network if the image is on a registry;" if "network" in kinds else ""
    example = failures[0][0].full if failures else reference.full
    return PullError(
        f"{reference.text} is a short name that matches no image on this device (podman looked for "
        f"{local} first) and could not be pulled {registries}: {tried}.{network} "
        f"Load the image (--file, `podman load`) or give its full name, e.g. {example}.",
        kind=sorted(wait)[0] if wait else "not_found",
        registry=failures[0][0].domain if failures else "",
    )


def obtain(engine: Engine, config: Config, reference: Reference) -> str:
    """Make a short-named image available; returns the full name (or id) to create the container from."""
    local = find_local(engine, reference)
    if local and not config.get("container.alwayspull"):
        log.info(f"{reference.text} is the local image {local}")
        return local
    if local and local.startswith(LOCALHOST + "/"):
        log.info(f"{reference.text} is the local image {local}, which no registry serves: not pulled")
        return local
    search_registries = engine.search_registries()
    candidates = pull_candidates(reference, search_registries)
    failures: list[tuple[Reference, PullError]] = []
    for number, candidate in enumerate(candidates, start=1):
        try:
            pulling.pull(engine, candidate, config)
            return candidate.full
        except PullError as error:
            failures.append((candidate, error))
            if number < len(candidates):
                log.warning(f"{error} Trying {candidates[number].full} next.")
    raise not_found(reference, search_registries, failures)
