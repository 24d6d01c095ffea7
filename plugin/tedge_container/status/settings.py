"""thin-edge's own settings the plugin needs: where the MQTT broker is, the topics (and the
Cumulocity proxy, for the monitor: c8y_proxy.py).

Read the way tedge itself reads them, cheapest source first:

1. `$TEDGE_CONFIG_DIR/tedge.toml` (default /etc/tedge/tedge.toml), nested
   tables or dotted keys, with the deprecated spellings tedge still accepts
   (`mqtt.client.auth.cafile`, `mqtt.port`, ...);
2. `TEDGE_` + key upper-cased with `.` → `_` environment variables
   (`TEDGE_MQTT_CLIENT_HOST`), which win over the file, as in tedge;
3. only when tedge.toml does not exist and the `tedge` command does: one
   `tedge --config-dir DIR config list` call, bounded in time (it is a
   subprocess); its failure or timeout just leaves the defaults.

Then the plugin's own keys (Go plugin compatible) override: `client.mqtt.host`,
`client.mqtt.port` (0 = unset), `topic_root`, `topic_id`.

Defaults are tedge's: host 127.0.0.1, port `mqtt.bind.port` (1883), topic
root `te`, device topic id `device/main//`, no TLS.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..config import Config

TEDGE_TOML = "tedge.toml"

# The tedge keys the plugin reads, and the older names tedge still accepts for them.
KEYS = (
    "mqtt.client.host",
    "mqtt.client.port",
    "mqtt.bind.port",
    "mqtt.client.auth.ca_file",
    "mqtt.client.auth.ca_dir",
    "mqtt.client.auth.cert_file",
    "mqtt.client.auth.key_file",
    "mqtt.client.auth.username",
    "mqtt.client.auth.password_file",
    "mqtt.topic_root",
    "mqtt.device_topic_id",
    # tedge's local Cumulocity proxy (the monitor's cloud clean-up, c8y_proxy.py)
    "c8y.proxy.client.host",
    "c8y.proxy.client.port",
    "c8y.proxy.cert_path",
    "http.client.auth.cert_file",
    "http.client.auth.key_file",
)
ALIASES = {
    "mqtt.client.auth.cafile": "mqtt.client.auth.ca_file",
    "mqtt.client.auth.cadir": "mqtt.client.auth.ca_dir",
    "mqtt.client.auth.certfile": "mqtt.client.auth.cert_file",
    "mqtt.client.auth.keyfile": "mqtt.client.auth.key_file",
    "mqtt.port": "mqtt.bind.port",
    "mqtt.client_host": "mqtt.client.host",
    "mqtt.client_port": "mqtt.client.port",
    "mqtt.client_ca_file": "mqtt.client.auth.ca_file",
    "mqtt.client_ca_path": "mqtt.client.auth.ca_dir",
    "mqtt.client_auth.cert_file": "mqtt.client.auth.cert_file",
    "mqtt.client_auth.key_file": "mqtt.client.auth.key_file",
}

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1883
DEFAULT_TOPIC_ROOT = "te"
DEFAULT_DEVICE_TOPIC_ID = "device/main//"
TEDGE_COMMAND_TIMEOUT = 2.0


def env_name(key: str) -> str:
    """`mqtt.client.host` → `TEDGE_MQTT_CLIENT_HOST`."""
    return "TEDGE_" + key.upper().replace(".", "_")


def _canonical(values: Mapping[str, object]) -> dict[str, str]:
    """Keep the keys the reporter reads (aliases resolved, current names first) as strings."""
    found: dict[str, str] = {}
    for alias, key in ALIASES.items():
        if alias in values and values[alias] not in (None, ""):
            found[key] = str(values[alias])
    for key in KEYS:
        if key in values and values[key] not in (None, ""):
            found[key] = str(values[key])
    return found


def parse_config_list(text: str) -> dict[str, str]:
    """`tedge config list` output (`key=value` lines) → {key: value} of the keys we read."""
    values = {}
    for line in text.splitlines():
        key, eq, value = line.partition("=")
        if eq:
            values[key.strip()] = value.strip()
    return _canonical(values)


def run_tedge_config_list(tedge: str, config_dir: str, timeout: float) -> dict[str, str]:
    """Ask the `tedge` command; {} when it fails, is slow or prints nothing useful."""
    import subprocess

    try:
        result = subprocess.run(
            [tedge, "--config-dir", config_dir, "config", "list"],
            capture_output=True,
            text=True,
            timeout=max(0.1, timeout),
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    return parse_config_list(result.stdout) if result.returncode == 0 else {}


def read_tedge_config(
    config_dir: str,
    environ: Mapping[str, str] | None = None,
    tedge_command: str | None = "",
    timeout: float = TEDGE_COMMAND_TIMEOUT,
) -> dict[str, str]:
    """The tedge keys that are set (file, then environment); see the module docstring.

    `tedge_command`: "" looks `tedge` up on PATH, None never runs it.
    Raises ConfigError when tedge.toml exists but cannot be read.
    """
    from ..config import read_toml

    environ = os.environ if environ is None else environ
    path = os.path.join(config_dir, TEDGE_TOML)
    if os.path.exists(path):
        values = _canonical(read_toml(path))
    else:
        if tedge_command == "":
            import shutil

            tedge_command = shutil.which("tedge")
        values = run_tedge_config_list(tedge_command, config_dir, timeout) if tedge_command else {}
    for key in (*ALIASES, *KEYS):
        value = environ.get(env_name(key), "")
        if value:
            values[ALIASES.get(key, key)] = value
    return values


def normalize_topic_id(topic_id: str) -> str:
    """An entity topic id has 4 segments: `device/child01` → `device/child01//`."""
    text = topic_id.strip().strip("/")
    if not text:
        return ""
    segments = text.split("/")
    segments += [""] * (4 - len(segments))
    return "/".join(segments)


class MqttSettings:
    """Where and how to connect, and under which topics to publish."""

    __slots__ = (
        "ca_dir",
        "ca_file",
        "cert_file",
        "device_topic_id",
        "host",
        "key_file",
        "password_file",
        "port",
        "topic_root",
        "username",
    )

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        topic_root: str = DEFAULT_TOPIC_ROOT,
        device_topic_id: str = DEFAULT_DEVICE_TOPIC_ID,
        ca_file: str = "",
        ca_dir: str = "",
        cert_file: str = "",
        key_file: str = "",
        username: str = "",
        password_file: str = "",
    ) -> None:
        self.host = host
        self.port = port
        self.topic_root = topic_root
        self.device_topic_id = device_topic_id
        self.ca_file = ca_file
        self.ca_dir = ca_dir
        self.cert_file = cert_file
        self.key_file = key_file
        self.username = username
        self.password_file = password_file

    @property
    def tls(self) -> bool:
        return bool(self.ca_file or self.ca_dir or self.cert_file or self.key_file)

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{host}:{self.port}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MqttSettings):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in sorted(self.__slots__))
        return f"MqttSettings({fields})"


def _port(value: str, origin: str) -> int:
    from ..errors import ConfigError

    try:
        port = int(str(value).strip())
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise ConfigError(f"{origin} = {value!r} is not a valid port number.")
    return port


def mqtt_settings(
    config: Config,
    environ: Mapping[str, str] | None = None,
    tedge_command: str | None = "",
    timeout: float = TEDGE_COMMAND_TIMEOUT,
    tedge: Mapping[str, str] | None = None,
) -> MqttSettings:
    """tedge's settings with the plugin's overrides applied (see the module docstring).

    `tedge`: read_tedge_config's answer when the caller has it already (the monitor).
    """
    if tedge is None:
        tedge = read_tedge_config(config.config_dir, environ, tedge_command, timeout)
    port_key = "mqtt.client.port" if "mqtt.client.port" in tedge else "mqtt.bind.port"
    settings = MqttSettings(
        host=tedge.get("mqtt.client.host", DEFAULT_HOST),
        port=_port(tedge[port_key], port_key) if port_key in tedge else DEFAULT_PORT,
        topic_root=tedge.get("mqtt.topic_root", DEFAULT_TOPIC_ROOT),
        device_topic_id=tedge.get("mqtt.device_topic_id", DEFAULT_DEVICE_TOPIC_ID),
        ca_file=tedge.get("mqtt.client.auth.ca_file", ""),
        ca_dir=tedge.get("mqtt.client.auth.ca_dir", ""),
        cert_file=tedge.get("mqtt.client.auth.cert_file", ""),
        key_file=tedge.get("mqtt.client.auth.key_file", ""),
        username=tedge.get("mqtt.client.auth.username", ""),
        password_file=tedge.get("mqtt.client.auth.password_file", ""),
    )
    if config.get("client.mqtt.host"):
        settings.host = config.get("client.mqtt.host")
    if config.get("client.mqtt.port"):
        settings.port = _port(config.get("client.mqtt.port"), "client.mqtt.port")
    if config.get("topic_root"):
        settings.topic_root = config.get("topic_root")
    if config.get("topic_id"):
        settings.device_topic_id = config.get("topic_id")
    settings.topic_root = settings.topic_root.strip().strip("/") or DEFAULT_TOPIC_ROOT
    settings.device_topic_id = normalize_topic_id(settings.device_topic_id) or DEFAULT_DEVICE_TOPIC_ID
    return settings
