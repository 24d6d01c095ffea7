"""`host.docker.internal` for every group service, beside podman's own `host.containers.internal`.

Services written for Docker reach the host (its MQTT broker, tedge's HTTP
API) by `host.docker.internal`. podman adds that name itself from 4.7 on; on
older podman (Debian 12's 4.3) only `host.containers.internal` is there, so
the plugin writes an override compose file, HOSTS_OVERRIDE, next to the
project's own file (runner.py passes it to podman-compose after it). It adds
`host.docker.internal` with the address podman gives `host.containers.internal`
in that service: the gateway of the service's bridge network. A service
whose compose file sets the name in `extra_hosts` keeps its own value; one
with `network_mode` (host, another container's network, ...) is left alone.
On every podman, a service's `extra_hosts` written as a mapping is passed on
as the list podman-compose understands (it would give podman the names alone).

The project's networks must exist to know their gateways: a missing plain one
is created here as podman-compose would create it (same name and labels);
for one with settings, compose creates it in a first `up --no-start`.
"""

from __future__ import annotations

import contextlib
import os

from ...labels import COMPOSE_PROJECT_LABEL
from . import xpodman
from .project import read_interpolated

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ...engine import Engine
    from .project import Project

HOST_NAME = "host.docker.internal"
HOSTS_OVERRIDE = ".tedge-hosts.compose.yaml"
NATIVE_SINCE = (4, 7)  # podman adds host.docker.internal itself
_COMPOSE_NETWORK_LABELS = (COMPOSE_PROJECT_LABEL, "io.podman.compose.project")
_HEADER = "# Written by tedge-container-plugin before each podman-compose up (group/hosts.py)."


def sets_host(extra_hosts: Any, name: str = HOST_NAME) -> bool:
    """True when a service's `extra_hosts` (list `NAME:IP` / `NAME=IP`, or mapping) names `name`."""
    if isinstance(extra_hosts, dict):
        return any(str(key).strip().lower() == name for key in extra_hosts)
    if isinstance(extra_hosts, str):
        extra_hosts = [extra_hosts]
    if not isinstance(extra_hosts, list):
        return False
    for entry in extra_hosts:
        text = str(entry)
        cut = min((index for index in (text.find(":"), text.find("=")) if index >= 0), default=len(text))
        if text[:cut].strip().lower() == name:
            return True
    return False


class _Networks:
    """The networks podman-compose (1.x) attaches each service to, by their engine names."""

    def __init__(self, document: Mapping[str, Any], project_name: str) -> None:
        self.project_name = project_name
        declared = document.get("networks")
        self.declared: dict[str, Any] = dict(declared) if isinstance(declared, dict) and declared else {}
        self.settings: Mapping[str, Any] = xpodman.settings(document)
        if not self.declared:
            self.declared = {"default": None}
        if xpodman.truthy(self.settings.get("default_net_behavior_compat")):
            self.declared.setdefault("default", None)
            self.default: str | None = "default"
        elif len(self.declared) == 1:
            self.default = next(iter(self.declared))
        else:
            self.default = "default" if "default" in self.declared else None

    def of_service(self, body: Mapping[str, Any]) -> list[str]:
        """The compose keys of the service's networks ([] when podman's default network is used)."""
        networks = body.get("networks")
        if isinstance(networks, dict):
            return [str(key) for key in networks]
        if isinstance(networks, list) and networks:
            return [str(key) for key in networks]
        return [self.default] if self.default else []

    def description(self, key: str) -> dict[str, Any]:
        description = self.declared.get(key)
        return description if isinstance(description, dict) else {}

    def engine_name(self, key: str) -> str:
        description = self.description(key)
        external = description.get("external")
        named = (external if isinstance(external, dict) else {}).get("name") or description.get("name")
        if named:
            return str(named)
        if external:
            return key
        separator = xpodman.name_separator(self.settings)
        project = self.project_name
        if xpodman.truthy(self.settings.get("default_net_name_compat")):
            project = project.replace("-", "")
        return f"{project}{separator}{key}"

    def is_plain(self, key: str) -> bool:
        """Declared without settings (nor `external`): podman-compose would create it with its labels only."""
        return not {k for k in self.description(key) if k != "name"}


def declared_networks(project: Project, environ: Mapping[str, str]) -> set[str]:
    """The engine names of the networks `project`'s compose file declares (its default one included)."""
    _, document, _ = read_interpolated(project.directory, project.compose_file, environ, project.limits)
    networks = _Networks(document, project.name)
    return {networks.engine_name(key) for key in networks.declared}


class _Service:
    """What the override says for one service: the networks whose gateway it gets, its own entries."""

    __slots__ = ("keys", "own")

    def __init__(self, keys: list[str], own: list[str] | None) -> None:
        self.keys = keys  # [] when the service gets no host.docker.internal from the plugin
        # Its own extra_hosts when written as a mapping, as `NAME:IP` entries: podman-compose
        # passes a mapping's keys alone to podman, so the override replaces it (`!override`).
        self.own = own


class HostsOverride:
    """The override file of one project: written before each `up`, removed when not needed."""

    def __init__(self, engine: Engine, project: Project, environ: Mapping[str, str]) -> None:
        self.engine = engine
        self.project = project
        self.environ = environ
        self.path = os.path.join(project.directory, HOSTS_OVERRIDE)
        self.networks: _Networks | None = None
        self.services: dict[str, _Service] = {}

    def _read(self, add_host: bool) -> None:
        project = self.project  # read again with the bounds the install's read had
        _, document, _ = read_interpolated(
            project.directory, project.compose_file, self.environ, project.limits
        )
        self.networks = _Networks(document, project.name)
        self.services = {}
        for service, body in (document.get("services") or {}).items():
            if not isinstance(body, dict):
                continue
            extra_hosts = body.get("extra_hosts")
            own = None
            if isinstance(extra_hosts, dict):
                own = [f"{name}:{address or ''}" for name, address in extra_hosts.items()]
            wanted = add_host and not body.get("network_mode") and not sets_host(extra_hosts)
            keys = self.networks.of_service(body) if wanted else []
            if keys or own is not None:
                self.services[str(service)] = _Service(keys, own)

    def prepare(self) -> bool:
        """Write (or remove) the override; True when compose must first create a network itself."""
        self._read(add_host=self.engine.server_version() < NATIVE_SINCE)
        networks = self.networks
        assert networks is not None
        compose_creates = False
        labels = {label: self.project.name for label in _COMPOSE_NETWORK_LABELS}
        for key in sorted({key for service in self.services.values() for key in service.keys}):
            name = networks.engine_name(key)
            if self.engine.has_network(name):
                continue
            if networks.is_plain(key):
                self.engine.ensure_network(name, labels)
            else:
                compose_creates = True
        self.write()
        return compose_creates

    def write(self) -> None:
        """The override from the networks' gateways as they are now (after prepare)."""
        import json

        networks = self.networks
        lines = []
        gateways: dict[str, str] = {}  # services share networks: each is asked for once

        def gateway_of(name: str) -> str:
            if name not in gateways:
                gateways[name] = self.engine.network_gateway(name)
            return gateways[name]

        for name, service in self.services.items():
            assert networks is not None
            engine_names = (networks.engine_name(key) for key in service.keys)
            gateway = next((gw for gw in map(gateway_of, engine_names) if gw), "")
            hosts = list(service.own or []) + ([f"{HOST_NAME}:{gateway}"] if gateway else [])
            if service.own is None and not gateway:
                continue
            tag = "!override " if service.own is not None else ""  # else compose appends to the file's list
            lines += [f"  {json.dumps(name)}:", f"    extra_hosts: {tag}{json.dumps(hosts)}"]
        if not lines:
            self._remove()
            return
        from ...safefiles import write_atomically  # the project's files may hold a link at that name

        # Written again before every `up`: no fsync needed for it to survive a power loss.
        write_atomically(self.path, "\n".join([_HEADER, "services:", *lines, ""]).encode(), sync=False)

    def _remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
