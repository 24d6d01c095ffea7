"""What the engine says about its networks, pods, volumes and own version (for compose projects)."""

from __future__ import annotations

from .. import jsonio
from ..errors import EngineError
from .connection import Connection, quoted
from .sockets import API_PREFIX, UnixHTTP


class NetworkCalls(Connection):
    _version: tuple[int, ...] | None = None

    def server_version(self) -> tuple[int, ...]:
        """podman's version, (4, 3, 1), from the ping's `Libpod-Api-Version` header (`/version` takes
        half a second: podman runs conmon and the OCI runtime for it); (0,) when it does not say."""
        if self._version is None:
            self.ping()
            http = UnixHTTP(self.socket_path, self.config.get("container.connect_timeout"))
            try:
                _, head, _ = http.exchange("GET", f"{API_PREFIX}/_ping")
            except (OSError, EngineError):
                head = b""
            text = ""
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() == "libpod-api-version":
                    text = value.strip()
            numbers = []
            for part in text.split("-", 1)[0].split("."):
                if not part.isdigit():
                    break
                numbers.append(int(part))
            self._version = tuple(numbers) or (0,)
        return self._version

    def network_gateway(self, name: str) -> str:
        """The first gateway of a bridge network (IPv4 first), as podman names the host inside it.

        "" when the network is missing, not a bridge, or has no gateway.
        """
        status, body = self._raw_request(
            f"{API_PREFIX}/networks/{quoted(name)}/json", self.config.get("container.api_timeout")
        )
        if status != 200:
            return ""
        try:
            network = jsonio.loads(body)
            if network.get("driver") != "bridge":
                return ""
            gateways = [str(subnet.get("gateway") or "") for subnet in network.get("subnets") or []]
        except (ValueError, AttributeError, TypeError):
            return ""
        gateways = [gateway for gateway in gateways if gateway]
        ipv4 = [gateway for gateway in gateways if ":" not in gateway]
        return (ipv4 or gateways or [""])[0]

    def has_pod(self, name: str) -> bool:
        return self._raw_exists(f"{API_PREFIX}/pods/{quoted(name)}/exists", f"pod {name}")
