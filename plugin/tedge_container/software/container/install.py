"""`install NAME [--module-version IMAGE] [--file ARCHIVE]`: make container NAME run IMAGE.

The replacement is safe: the new container is created and started under a
temporary name while the old one keeps running; only then does the old one
step aside (renamed, then removed) and the new one take the name. Whatever
fails, the old container is left or put back as it was.
"""

from __future__ import annotations

import time

from ... import interrupts, log
from ...config import Config
from ...engine import Container, Engine
from ...errors import EngineError, PluginError, UsageError, add_context
from ...images import references
from ...images.obtain import obtain_image
from ...labels import (
    MANAGED_BY,
    MANAGED_LABEL,
    MODULE_VERSION_LABEL,
    NEW_SUFFIX,
    OLD_SUFFIX,
    check_container_name,
    hostname_for,
)
from ...ownership import refuse_group_container
from .. import readiness

TYPE_CHECKING = False  # `typing` costs ~5-30 ms at run time: an install of a local image is ~200 ms
if TYPE_CHECKING:
    from typing import Any, Callable

MAX_OUTPUT = 300  # characters of a failed container's output quoted in the failure line


class Installed:
    """What an install did: container `name` runs `image` (`version`, as asked for)."""

    __slots__ = ("container_id", "image", "name", "verdict", "version")

    def __init__(
        self, name: str, image: str, version: str, container_id: str, verdict: readiness.Verdict | None = None
    ) -> None:
        self.name = name
        self.image = image
        self.version = version
        self.container_id = container_id
        self.verdict = verdict  # what the readiness gate saw


def _check_started(engine: Engine, name: str) -> None:
    state = engine.container_state(name)
    if state.get("Error"):
        raise EngineError(f"container {name} did not start: {state['Error']}")
    if state.get("Status") in ("created", "configured", "initialized"):
        raise EngineError(f"container {name} was not started by the engine")


def last_output(engine: Engine, name: str, lines: int = 3) -> str:
    """The container's last few output lines as one short quoted phrase, '' when there are none."""
    try:
        text = engine.log_tail(name, lines, timeout=2.0)
    except PluginError:
        return ""
    kept = [" ".join(line.split()) for line in text.splitlines() if line.strip()][-lines:]
    if not kept:
        return ""
    output = " | ".join(kept)
    if len(output) > MAX_OUTPUT:
        output = "..." + output[-(MAX_OUTPUT - 3) :]
    return f"; its last output: {output!r}"


def prove_ready(engine: Engine, config: Config, name: str) -> readiness.Verdict:
    """The readiness gate on the freshly started container `name` (see readiness.py)."""
    health_timeout = float(config.get("container.health_timeout"))
    api_timeout = float(config.get("container.api_timeout"))

    def inspect() -> Any:
        return engine.inspect_container(name, timeout=min(api_timeout, 10.0))

    def run_healthcheck() -> str:
        return engine.run_healthcheck(name, timeout=min(api_timeout, health_timeout + 5.0))

    started, since = time.monotonic(), time.time() - 1

    def last_exit() -> int | None:
        return engine.last_exit_code(name, since)

    verdict = readiness.prove(
        inspect,
        run_healthcheck,
        float(config.get("container.min_ready")),
        health_timeout,
        last_exit=last_exit,
    )
    log.debug(f"readiness of {name}: {verdict.detail} ({time.monotonic() - started:.2f} s)")
    return verdict


STALE_NAME_ADVICE = (
    "podman 4 offers no repair for it short of `podman system reset`, which deletes every container "
    "and image: install the module under another name, or save what the device needs and reset podman"
)


def stale_name(engine: Engine, name: str, error: PluginError) -> PluginError | None:
    """The engine refuses `name` although no container has it: say so, instead of the raw error.

    Seen on podman 4.3 after two swaps of one container ran at once (before
    the module lock): its database keeps the name of a container that is
    gone, and every create or rename to that name fails for good.
    """
    text = str(error)
    if "in use" not in text:
        return None
    try:
        if engine.get_container(name) is not None:
            return None
    except PluginError:
        return None
    return EngineError(
        f"podman refuses the name {name} ({' '.join(text.split())[-160:]}) although no container has it: "
        f"its database kept the name of a container that is gone. {STALE_NAME_ADVICE}"
    )


def _try(action: str, operation: Callable[[], None]) -> None:
    """Run a clean-up step; a failure is logged, not raised, so the original error stays last."""
    try:
        operation()
    except PluginError as error:
        log.warning(f"{action} failed: {error}")


def _undo_swap(engine: Engine, name: str, old_moved: bool, kept: str, error: BaseException) -> None:
    """The renames failed or were interrupted: the old container gets its name back; raises why."""
    with interrupts.shielded():
        if old_moved:
            _try(f"restoring {name}", lambda: engine.rename_container(name + OLD_SUFFIX, name))
        _try(f"removing {name + NEW_SUFFIX}", lambda: engine.remove_container(name + NEW_SUFFIX))
    if isinstance(error, KeyboardInterrupt):  # SIGINT, SIGTERM, SIGHUP: exit 3 (cli.py)
        raise error
    if not isinstance(error, PluginError):
        error = EngineError(f"the swap failed: {error or type(error).__name__}")
    stale = stale_name(engine, name, error) if not kept else None  # kept: "" on a first install
    raise add_context(stale or error, suffix=kept) from None


def replace_container(
    engine: Engine, config: Config, name: str, image: str, version: str
) -> tuple[str, readiness.Verdict]:
    """Run `image` as container `name`, replacing any existing one safely.

    Returns the new container's id and what the readiness gate saw.
    """
    new_name, old_name = name + NEW_SUFFIX, name + OLD_SUFFIX
    engine.remove_container(new_name)  # left by an interrupted install
    old = engine.get_container(name)
    if engine.get_container(old_name) is not None:
        if old is None:
            # An install was interrupted mid-swap: the previous container gets its name back first.
            engine.rename_container(old_name, name)
            old = engine.get_container(name)
        else:  # a replaced container whose removal failed last time
            engine.remove_container(old_name)

    kept = f" The previous container {name} was left as it was." if old is not None else ""
    network = config.get("container.network")
    created_network = bool(network) and engine.ensure_network(network)
    labels = {MODULE_VERSION_LABEL: version, MANAGED_LABEL: MANAGED_BY}
    try:
        container_id = engine.create_container(
            new_name,
            image,
            labels,
            network,
            [name],
            config.get("container.publish_all"),
            hostname=hostname_for(name),
        )
        engine.start_container(new_name)
        _check_started(engine, new_name)
        verdict = prove_ready(engine, config, new_name)
        if not verdict.ready:
            output = last_output(engine, new_name)
            raise EngineError(
                f"the new container from {image} did not prove itself: {verdict.detail}{output}; "
                "it was removed"
            )
    except PluginError as error:
        _try(f"removing {new_name}", lambda: engine.remove_container(new_name))
        if created_network:  # a failed install leaves the engine as it found it
            _try(f"removing network {network}", lambda: engine.remove_network(network))
        raise add_context(error, suffix=kept) from None

    old_moved = swapped = False
    try:
        with interrupts.raising():  # a signal between the renames puts the old container back too
            if old is not None:
                engine.rename_container(name, old_name)
                old_moved = True
            engine.rename_container(new_name, name)
            swapped = True
    except BaseException as error:
        if swapped:  # a signal after the last rename: the swap is done, it finishes
            log.warning(f"{error}: the new container {name} is in place, the swap finishes")
        else:
            _undo_swap(engine, name, old_moved, kept, error)

    if old is not None:
        # The new container is in place: a failure from here on is a warning, not a failed install.
        _try(f"removing the replaced container {old_name}", lambda: engine.remove_container(old_name))
        if config.get("container.pruneimages"):
            _try("removing the replaced image", lambda: remove_unused_image(engine, config, old))
    return container_id, verdict


def remove_unused_image(engine: Engine, config: Config, former: Container) -> None:
    """Remove the image reference a container this plugin replaced or removed was created from.

    Nothing happens while another container uses the image. Only that one name
    goes: an image also known by other names (say, loaded for offline use)
    stays under them. Images the container-image type installed, and images the
    plugin cannot bring back (images/provenance.py), are never removed.
    """
    from ...images.provenance import forget, kept_reason
    from ..image.records import protects

    if protects(config, former.image, former.image_id):  # pre-loaded by container-image: kept
        return
    if not former.image_id or engine.containers_using_image(former.image_id):
        return
    name = former.image or former.image_id
    why = kept_reason(config, former.image, former.image_id)
    if why:
        log.info(
            f"image {name} is kept although container {former.name} no longer uses it: {why} "
            f"(`podman rmi {name}` removes it once nothing needs it)"
        )
        return
    if not engine.remove_image(name):
        log.warning(f"the image {name} that container {former.name} used could not be removed")
    elif engine.find_image(former.image_id) is None:
        forget(config, former.image_id)
        log.info(f"image {name} removed: container {former.name} used it and no container uses it now")
    else:
        log.info(
            f"image name {name} removed: container {former.name} used it; the image keeps its other names"
        )


def install(
    config: Config, name: str, version: str = "", file: str = "", engine: Engine | None = None
) -> Installed:
    check_container_name(name)
    if not version and not file:
        raise UsageError(f"install {name}: give --module-version IMAGE, --file ARCHIVE, or both.")
    if version:
        references.parse(version)  # a malformed version fails before the engine is touched
    engine = engine or Engine(config)
    try:
        existing = engine.get_container(name)
        if existing is not None:  # a group's container is never a container module's
            refuse_group_container(name, existing.labels, "install")
        image = obtain_image(engine, config, version, file)
        container_id, verdict = replace_container(engine, config, name, image, version or image)
    except PluginError as error:
        raise add_context(error, prefix=f"Installing {name} failed: ") from None
    return Installed(name, image, version or image, container_id, verdict)
