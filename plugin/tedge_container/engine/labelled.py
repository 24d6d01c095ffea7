"""Volumes, networks and pods found by label, and removed only when nothing uses them.

A group's own removal (instead of `podman-compose down`, which acts on names
whoever holds them) goes through here: podman itself refuses to remove a
volume, network or pod that a container still uses, so an object that another
module's container shares is kept, never forced.
"""

from __future__ import annotations

from .. import jsonio
from ..errors import EngineError
from .connection import Connection, quote, quoted
from .sockets import API_PREFIX

_KINDS = {"volume": "volumes", "network": "networks"}


class LabelledCalls(Connection):
    def labelled(self, kind: str, label: str, unused: bool = False) -> list[str]:
        """Names of the volumes or networks (`kind`) carrying `label` (`key=value`); with `unused`,
        only those no container uses (podman's `dangling` filter, asked on its own: given beside
        `label`, podman 4.3 answered with a volume a running container uses)."""
        names = self._listed(kind, {"label": [label]})
        if unused and names:
            dangling = set(self._listed(kind, {"dangling": ["true"]}))
            names = [name for name in names if name in dangling]
        return names

    def _listed(self, kind: str, filters: dict[str, list[str]]) -> list[str]:
        body = self._raw_get(
            f"{API_PREFIX}/{_KINDS[kind]}/json?filters={quote(jsonio.dumps(filters))}",
            self.config.get("container.api_timeout"),
        )
        try:
            entries = jsonio.loads(body) or []
            return [str(entry.get("Name") or entry.get("name") or "") for entry in entries]
        except (ValueError, AttributeError):
            raise EngineError(f"podman at {self.socket_path} sent an unreadable {kind} list.") from None

    def remove_unused(self, kind: str, name: str) -> bool:
        """Remove a volume, network or pod (`kind`) unless something uses it; True when gone.

        Never forced: a volume or network a container still uses, or a pod that still
        holds containers, is kept (podman refuses), whoever that container belongs to.
        """
        collection = {"pod": "pods", **_KINDS}[kind]
        status, _ = self._raw_request(
            f"{API_PREFIX}/{collection}/{quoted(name)}?force=false",
            self.config.get("container.api_timeout"),
            "DELETE",
        )
        return status < 400 or status == 404
