"""The `container-image` software type: images pre-loaded for offline use.

Module name = the image repository as given (`127.0.0.1:5000/team/app`,
`ghcr.io/acme/web`), version = its tag or `@sha256:` digest. Off unless
`container_image.enabled = true`: then `list` prints nothing and install and
remove say how to turn it on. One module per command: list.py, install.py,
remove.py; records.py keeps what this type installed.
"""

from __future__ import annotations

from ..base import Outcome, SoftwareType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ...config import Config
    from ...engine import Engine

NAME = "container-image"


def enabled(config: Config) -> bool:
    return bool(config.get("container_image.enabled"))


def list_modules(config: Config) -> str:
    if not enabled(config):
        return ""
    from .list import run

    return run(config)


def install_module(
    config: Config, name: str, version: str, file: str, engine: Engine | None = None
) -> Outcome:
    from .install import install

    return install(config, name, version, file, engine)


def remove_module(config: Config, name: str, engine: Engine | None = None, version: str = "") -> Outcome:
    from .remove import remove

    return remove(config, name, version, engine)


SOFTWARE_TYPE = SoftwareType(NAME, "TAG", list_modules, install_module, remove_module)
