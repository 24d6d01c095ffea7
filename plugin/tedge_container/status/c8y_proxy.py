"""tedge's local Cumulocity proxy: deleting the cloud object of a service the device no longer has.

tedge-mapper-c8y serves the Cumulocity REST API on `c8y.proxy.client.host`
and `.port` (127.0.0.1:8001) under `/c8y/`, authenticating with the device's
own token; HTTPS when `c8y.proxy.cert_path` is set, with the client
certificate `http.client.auth.cert_file`/`key_file`. The Go plugin's keys
`client.c8y.host`, `client.c8y.port`, `client.cert_file`, `client.key` and
`client.ca_file` override them. thin-edge deregisters an entity but leaves its
managed object in the cloud; this deletes it, found by the external id
thin-edge gave it (`DEVICE:device:main:service:NAME`).

Every request is bounded by `timeout`. The proxy passes Cumulocity's answers
through: 401 happens spuriously (the device's token), 502 means the cloud is
out of reach, so both are worth a later retry, as is a refused connection (no
mapper running now).
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ..config import Config

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001
SERVICE_OBJECT_TYPE = "c8y_Service"  # what the Cumulocity mapper creates for a service
RETRY_STATUSES = frozenset({401, 408, 429, 500, 502, 503, 504})


class ProxyError(Exception):
    """A request that did not get its answer; `retry`: a later attempt may succeed."""

    def __init__(self, message: str, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class ProxySettings:
    __slots__ = ("ca_file", "cert_file", "host", "https", "key_file", "port")

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        https: bool = False,
        ca_file: str = "",
        cert_file: str = "",
        key_file: str = "",
    ) -> None:
        self.host = host
        self.port = port
        self.https = https
        self.ca_file = ca_file
        self.cert_file = cert_file
        self.key_file = key_file

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.https else 'http'}://{host}:{self.port}/c8y"


def proxy_settings(config: Config, tedge: Mapping[str, str] | None = None) -> ProxySettings:
    """tedge's proxy settings (`tedge`: read_tedge_config's answer), the Go plugin's keys over them."""
    if tedge is None:
        from .settings import read_tedge_config

        tedge = read_tedge_config(config.config_dir)
    settings = ProxySettings(
        host=config.get("client.c8y.host") or tedge.get("c8y.proxy.client.host", DEFAULT_HOST),
        port=_port(config.get("client.c8y.port") or tedge.get("c8y.proxy.client.port", DEFAULT_PORT)),
        https=bool(tedge.get("c8y.proxy.cert_path")),
        ca_file=config.get("client.ca_file"),
        cert_file=config.get("client.cert_file") or tedge.get("http.client.auth.cert_file", ""),
        key_file=config.get("client.key") or tedge.get("http.client.auth.key_file", ""),
    )
    # As the Go plugin: its client certificate, when both files exist, means HTTPS.
    if config.get("client.cert_file") and config.get("client.key"):
        settings.https = settings.https or (
            os.path.isfile(config.get("client.cert_file")) and os.path.isfile(config.get("client.key"))
        )
    return settings


def _port(value: Any) -> int:
    try:
        port = int(str(value).strip())
    except ValueError:
        return DEFAULT_PORT
    return port if 0 < port < 65536 else DEFAULT_PORT


def external_id(device_id: str, service_topic_id: str) -> str:
    """thin-edge's default: `dev1` + `device/main/service/app` → `dev1:device:main:service:app`."""
    return f"{device_id}:{service_topic_id.replace('/', ':')}".rstrip(":")


class CumulocityProxy:
    """A few Cumulocity REST calls through the proxy, each bounded by `timeout` seconds."""

    def __init__(self, settings: ProxySettings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._device_id = ""

    def device_id(self, configured: str = "") -> str:
        """The device's external id: `configured` (the `device_id` key), else the proxy's user."""
        if configured:
            return configured
        if not self._device_id:
            user = self._json("GET", "/user/currentUser")
            name = str(user.get("userName") or user.get("id") or "")
            if not name.startswith("device_"):
                raise ProxyError(f"the proxy's user {name!r} is not a device user", retry=False)
            self._device_id = name[len("device_") :]
        return self._device_id

    def delete_service(self, xid: str) -> str:
        """Delete the service object with external id `xid`: "deleted", "absent" or "not a service"."""
        path = f"/identity/externalIds/c8y_Serial/{quote(xid, safe='')}"
        status, body = self.request("GET", path)
        if status == 404:
            return "absent"
        identity = _decoded(status, body, path)
        object_id = str((identity.get("managedObject") or {}).get("id") or "")
        if not object_id.isdigit():
            raise ProxyError(f"{path} answered without a managed object id", retry=False)
        managed_object = self._json("GET", f"/inventory/managedObjects/{object_id}")
        if managed_object.get("type") != SERVICE_OBJECT_TYPE:  # never anything but a service
            return "not a service"
        status, body = self.request("DELETE", f"/inventory/managedObjects/{object_id}")
        if status == 404:
            return "absent"
        if status >= 300:
            raise _status_error(status, body, "DELETE managed object")
        return "deleted"

    def _json(self, method: str, path: str) -> dict[str, Any]:
        status, body = self.request(method, path)
        return _decoded(status, body, path)

    def request(self, method: str, path: str) -> tuple[int, bytes]:
        import http.client

        settings = self.settings
        try:
            if settings.https:
                connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                    settings.host, settings.port, timeout=self.timeout, context=self._tls()
                )
            else:
                connection = http.client.HTTPConnection(settings.host, settings.port, timeout=self.timeout)
            try:
                connection.request(method, "/c8y" + path, headers={"Accept": "application/json"})
                response = connection.getresponse()
                return response.status, response.read(1 << 20)
            finally:
                connection.close()
        except (OSError, http.client.HTTPException) as error:
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            raise ProxyError(f"{settings.address} did not answer ({reason})", retry=True) from None

    def _tls(self) -> Any:
        import ssl

        context = ssl.create_default_context(cafile=self.settings.ca_file or None)
        if self.settings.cert_file and self.settings.key_file:
            context.load_cert_chain(self.settings.cert_file, self.settings.key_file)
        return context


def _decoded(status: int, body: bytes, what: str) -> dict[str, Any]:
    if status >= 300:
        raise _status_error(status, body, what)
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ProxyError(f"{what} answered no JSON object", retry=True)
    return data


def _status_error(status: int, body: bytes, what: str) -> ProxyError:
    text = " ".join(body[:200].decode("utf-8", "replace").split())
    return ProxyError(f"{what}: HTTP {status} {text}".rstrip(), retry=status in RETRY_STATUSES)
