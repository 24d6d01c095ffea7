"""What podman's `info` tells that every operation asks: its storage root, and whether it can pause.

`/libpod/info` takes 0.1-0.5 s (podman 4.3 measures its whole store, runs
conmon and the runtime to answer). The disk guard needs the storage root before
every pull and load, and the service commands' capabilities need to know
whether the engine can pause on every registration, so both are asked once
per start of the podman service and recalled under its identity
(engine_cache.py): never stale, since a restarted service has another one.
"""

from __future__ import annotations

import os

from .. import jsonio, log
from ..errors import EngineError
from .connection import Connection
from .sockets import API_PREFIX

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

_FACTS = ("graphRoot", "pause")
_CAN_PAUSE = "yes"  # the recalled value when it can (a refusal is its reason): "" means not recalled


class InfoCalls(Connection):
    _facts: dict[str, str] | None = None  # graphRoot, pause: as podman told this process

    def engine_info(self, timeout: float | None = None) -> Mapping[str, Any]:
        """podman's `info` (host: cgroup version, rootless, ...), within `timeout` (container.api_timeout)."""
        body = self._raw_get(f"{API_PREFIX}/info", timeout or self.config.get("container.api_timeout"))
        try:
            info = jsonio.loads(body)
        except ValueError:
            raise EngineError(f"podman at {self.socket_path} sent unreadable info.") from None
        return info if isinstance(info, dict) else {}

    def info_facts(self, timeout: float | None = None, peer: tuple[int, int] | None = None) -> dict[str, str]:
        """`graphRoot` (podman's image storage) and `pause` (why it cannot pause, `yes` when it can).

        `peer`: the socket's listener (engine_cache.listener), when the caller asked already.
        Raises EngineError when podman cannot be asked and nothing is recalled.
        """
        if self._facts is not None:
            return self._facts
        from . import engine_cache

        if peer is None and self.socket_path:
            peer = engine_cache.listener(self.socket_path)
        identity = engine_cache.identity_of(peer)
        recalled = engine_cache.recall_all(self.socket_path, identity, _FACTS)
        if all(recalled.values()) and os.path.isdir(recalled["graphRoot"]):
            log.debug(f"podman's storage root and pause support recalled for the service {identity}")
            self._facts = recalled
            return recalled
        info = self.engine_info(timeout)
        store, host = info.get("store") or {}, info.get("host") or {}
        rootless = bool((host.get("security") or {}).get("rootless"))
        refusal = ""
        if rootless and str(host.get("cgroupVersion") or "") == "v1":
            refusal = "a rootless podman on cgroups v1 cannot pause containers (no cgroup freezer)"
        facts = {"graphRoot": str(store.get("graphRoot") or ""), "pause": refusal or _CAN_PAUSE}
        self._facts = facts
        if facts["graphRoot"]:
            engine_cache.remember(self.socket_path, identity, facts)
        return facts

    def storage_root(self) -> str:
        """podman's image storage (`store.graphRoot` of its info), or "" when it cannot tell."""
        try:
            return self.info_facts(self.config.get("container.connect_timeout"))["graphRoot"]
        except EngineError:
            return ""

    def pause_refusal(self, timeout: float | None = None) -> str:
        """Why this engine cannot pause containers, '' when it can.

        Pausing needs the cgroup freezer: a rootless podman on cgroups v1 has none. A podman
        service that runs as root (its socket's listener, told by the kernel) is not rootless,
        so it can: not worth a `/libpod/info` (0.1-0.5 s) on a report after the service restarted.
        """
        peer = None
        if self._facts is None and self.socket_path:
            from . import engine_cache

            peer = engine_cache.listener(self.socket_path)
            if peer is not None and peer[1] == 0:
                return ""
        refusal = self.info_facts(timeout, peer)["pause"]  # the listener is not asked twice
        return "" if refusal == _CAN_PAUSE else refusal
