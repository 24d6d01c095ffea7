"""The plugin's settings: `$TEDGE_CONFIG_DIR/plugins/tedge-container-plugin.toml`.

Same file, keys and environment mapping as the Go tedge-container-plugin, so a
device keeps its configuration when it switches: every key can be overridden
by `CONTAINER_` + the key upper-cased with `.` → `_` (`container.network` →
`CONTAINER_CONTAINER_NETWORK`). Unknown keys are ignored. tedge-agent runs
plugins through sudo, which usually drops the environment: files are the
reliable place for settings.
"""

from __future__ import annotations

import os

from .errors import ConfigError

TYPE_CHECKING = False  # `typing` itself costs ~5 ms, and `list` must start fast
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

DEFAULT_TEDGE_CONFIG_DIR = "/etc/tedge"
CONFIG_FILE_NAME = "tedge-container-plugin.toml"

# Every key the plugin reads, with its default. The type of the default is the
# type of the setting (an environment value is converted to it).
DEFAULTS: dict[str, Any] = {
    "container.host": "",
    "container.network": "tedge",
    "container.alwayspull": False,
    "container.pruneimages": True,
    "container.publish_all": True,
    "container.connect_timeout": 5.0,
    "container.api_timeout": 60.0,
    "container.pull_timeout": 1800.0,
    "container.stop_timeout": 10.0,
    "filter.include.names": [],
    "filter.include.labels": [],
    "filter.exclude.names": ["^buildx"],
    "filter.exclude.labels": ["tedge.ignore"],
    "registry.helper": "registry-credentials",
    "registry.helper_timeout": 60.0,
    "registry.credentials_path": "/data/tedge-container-plugin/credentials.toml",
    "client.mqtt.host": "",
    "client.mqtt.port": 0,
    "topic_root": "",
    "topic_id": "",
    "report.enabled": True,
    "report.timeout": 5.0,
    "log_level": "info",
    # container-group: projects live in <data_dir>/compose/<name> (the Go plugin's key).
    # Empty: the first writable of DATA_DIR_CANDIDATES (see resolve_data_dir).
    "data_dir": "",
    "container_group.keep_volumes": False,
    "container_group.compose_timeout": 600.0,
    "container_group.settle_time": 0.25,
}

# The Go plugin's data_dir default: the first of these that is (or can be made) writable.
DATA_DIR_CANDIDATES = ("/data/tedge-container-plugin", "/var/tedge-container-plugin")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def env_name(key: str) -> str:
    """The environment variable that overrides `key`: `container.network` → `CONTAINER_CONTAINER_NETWORK`."""
    return "CONTAINER_" + key.upper().replace(".", "_")


def tedge_config_dir(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get("TEDGE_CONFIG_DIR") or DEFAULT_TEDGE_CONFIG_DIR


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _convert(key: str, value: Any, origin: str) -> Any:
    """Give `value` the type of the key's default, or explain what is wrong with it."""
    default = DEFAULTS[key]
    expected = type(default)
    try:
        if isinstance(value, str) and expected is not str:
            text = value.strip()
            if expected is bool:
                if text.lower() in _TRUE:
                    return True
                if text.lower() in _FALSE:
                    return False
                raise ValueError
            if expected is list:
                return [item.strip() for item in text.split(",") if item.strip()]
            return expected(text)
        if expected is bool:
            if isinstance(value, bool):
                return value
            raise ValueError
        if expected is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if expected is list and isinstance(value, list):
            return [str(item) for item in value]
        if expected is list and isinstance(value, str):
            return [value]
        if isinstance(value, expected) and not isinstance(value, bool):
            return value
    except ValueError:
        pass
    raise ConfigError(
        f"{origin}: {key} = {value!r} is not a valid {expected.__name__}; "
        f"fix it or remove it to use the default ({default!r})."
    )


class Config:
    """Settings merged from defaults, the file and the environment (in that order)."""

    def __init__(self, values: Mapping[str, Any], path: str, config_dir: str) -> None:
        self._values = dict(values)
        self.path = path
        self.config_dir = config_dir

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Config:
        environ = os.environ if environ is None else environ
        config_dir = tedge_config_dir(environ)
        path = os.path.join(config_dir, "plugins", CONFIG_FILE_NAME)
        values = dict(DEFAULTS)
        for key, value in read_toml(path).items():
            if key in DEFAULTS:
                values[key] = _convert(key, value, path)
        for key in DEFAULTS:
            name = env_name(key)
            if name in environ:
                values[key] = _convert(key, environ[name], f"environment variable {name}")
        return cls(values, path, config_dir)

    @classmethod
    def defaults(cls) -> Config:
        return cls(DEFAULTS, "", DEFAULT_TEDGE_CONFIG_DIR)

    def get(self, key: str) -> Any:
        return self._values[key]


def resolve_data_dir(config: Config, create: bool = True) -> str:
    """`data_dir`, else the first writable of DATA_DIR_CANDIDATES (made when missing, if `create`).

    Without `create` (for `list`, which changes nothing) a missing candidate is
    skipped, and "" means none exists yet.
    """
    configured = config.get("data_dir")
    if configured:
        return configured
    for candidate in DATA_DIR_CANDIDATES:
        try:
            if create:
                os.makedirs(candidate, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK | os.X_OK):
            return candidate
    if not create:
        return ""
    raise ConfigError(
        f"None of {', '.join(DATA_DIR_CANDIDATES)} is writable; set data_dir in "
        f"{CONFIG_FILE_NAME} (or CONTAINER_DATA_DIR) to a writable directory."
    )


def read_toml(path: str) -> dict[str, Any]:
    """Read a TOML file flattened to dotted keys; {} when it does not exist.

    A file that exists but cannot be read or parsed is an error naming the
    file and, for syntax errors, the line.
    """
    from ._compat import tomllib

    try:
        with open(path, "rb") as stream:
            return _flatten(tomllib.load(stream))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML ({error}); fix the file.") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ConfigError(f"Cannot read {path}: {reason}.") from None
