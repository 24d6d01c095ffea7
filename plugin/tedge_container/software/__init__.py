"""The sm-plugin software types, one package each, over the shared engine, credentials and status.

`contract.py` is what every type shares: the sm-plugin command line, update-list,
MQTT reporting. A type is found by the name tedge-agent runs the plugin as.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .base import SoftwareType

# sm-plugin file name → the package that implements it
TYPES = {
    "container": "container",
    "container-group": "group",
    "container-image": "image",
}


def software_type(name: str) -> SoftwareType | None:
    package = TYPES.get(name)
    if package is None:
        return None
    # __import__, not importlib.import_module: importing importlib (and warnings) costs `list` ~1 ms.
    return __import__(f"{__name__}.{package}", fromlist=["SOFTWARE_TYPE"]).SOFTWARE_TYPE
