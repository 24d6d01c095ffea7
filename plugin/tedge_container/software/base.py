"""What a software type is to the sm-plugin contract: list, install and remove, nothing more.

`contract.py` does the rest for every type alike: argv, update-list, MQTT
reporting, exit codes. Plain classes, no `typing` at run time: `list` imports
this module, and `typing` alone costs ~5 ms.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Callable

    from ..config import Config
    from ..status.reporter import Service


class Outcome:
    """What an install or remove did, for the MQTT report and the log."""

    __slots__ = ("message", "removed", "services")

    def __init__(self, message: str, services: Sequence[Service] = (), removed: Sequence[str] = ()) -> None:
        self.message = message  # one line for the log: `container web runs nginx:1.25`
        self.services = list(services)  # services that now run: registered, then their health
        self.removed = list(removed)  # service names that are gone: deregistered


class SoftwareType:
    """One sm-plugin software type (`container`, `container-group`, ...).

    `install(config, name, version, file, engine=None)` and
    `remove(config, name, engine=None, version="")` return an `Outcome` or raise a
    PluginError; `list_modules(config)` returns `list`'s stdout.
    """

    __slots__ = ("install", "list_modules", "name", "remove", "version_hint")

    def __init__(
        self,
        name: str,
        version_hint: str,
        list_modules: Callable[[Config], str],
        install: Callable[..., Outcome],
        remove: Callable[..., Outcome],
    ) -> None:
        self.name = name  # the file name under /etc/tedge/sm-plugins
        self.version_hint = version_hint  # what --module-version means, for the usage text
        self.list_modules = list_modules
        self.install = install
        self.remove = remove
