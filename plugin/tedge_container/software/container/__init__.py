"""The `container` software type: module name = container name, version = image reference.

One module per command: `list.py`, `install.py`, `remove.py`. They are
imported only when their command runs, so `list` stays fast.
"""

from __future__ import annotations

from ..base import Outcome, SoftwareType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ...config import Config
    from ...engine import Engine
    from ...status.reporter import Service
    from .install import Installed

NAME = "container"


def service_of(installed: Installed) -> Service:
    from ...status.reporter import Service

    twin = {
        "container": {
            "image": installed.image,
            "moduleVersion": installed.version,
            "containerId": installed.container_id,
        }
    }
    verdict = installed.verdict
    return Service(installed.name, NAME, twin, installed.container_id, verdict.health if verdict else None)


def list_modules(config: Config) -> str:
    from .list import run

    return run(config)


def install_module(
    config: Config, name: str, version: str, file: str, engine: Engine | None = None
) -> Outcome:
    from .install import install as install_container

    installed = install_container(config, name, version, file, engine=engine)
    verdict = installed.verdict
    if verdict is not None and verdict.checked:
        message = f"container {name} runs {installed.image}: {verdict.detail}"
    else:  # nothing was observed (the gate is off or a test engine): say no more than that it started
        detail = verdict.detail if verdict is not None else "started"
        message = f"container {name} from {installed.image}: {detail}"
    return Outcome(message, services=[service_of(installed)])


def remove_module(config: Config, name: str, engine: Engine | None = None, version: str = "") -> Outcome:
    """Remove container `name`; `version` (the image it runs) does not matter."""
    from .remove import remove as remove_container

    removed = remove_container(config, name, engine=engine)
    message = f"container {name} removed" if removed else f"container {name} was not installed"
    return Outcome(message, removed=[name])


# The functions are not called install/remove: importing the submodules of those names
# would replace them on this package.
SOFTWARE_TYPE = SoftwareType(NAME, "IMAGE", list_modules, install_module, remove_module)
