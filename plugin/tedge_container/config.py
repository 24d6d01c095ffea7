"""The plugin's settings: `$TEDGE_CONFIG_DIR/plugins/tedge-container-plugin.toml`.

Same file, keys and environment mapping as the Go tedge-container-plugin, so a
device keeps its configuration when it switches, and read as tolerantly as
the Go plugin reads it (viper):
- keys and table names in any letter case (`alwaysPull`, `[Container]`);
- values in every form Go's config library accepts (`config_values.py`);
- every key can be overridden by `CONTAINER_` + the key upper-cased with
  `.` → `_` (`container.network` → `CONTAINER_CONTAINER_NETWORK`);
- `-c/--config FILE` on the command line reads FILE instead, `--log-level`
  and `-v/--verbose` override `log_level` (cli.py).

Unlike the Go plugin, nothing is ignored silently: an unknown key (with the
closest known key suggested) and a value that cannot be used (the default is
kept) are each one warning naming the key, the file and the line. Keys only
the Go plugin's service reads are accepted quietly. A file that is not
valid TOML is still an error (exit 2). tedge-agent runs plugins through sudo,
which usually drops the environment: files are the reliable place.
"""

from __future__ import annotations

import os

from . import log
from .config_values import BadValue, convert
from .errors import ConfigError
from .toml_lines import FilePlaces, Place, parse_toml, read_text

TYPE_CHECKING = False  # `typing` itself costs ~5 ms, and `list` must start fast
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

DEFAULT_TEDGE_CONFIG_DIR = "/etc/tedge"
CONFIG_FILE_NAME = "tedge-container-plugin.toml"

# Every key the plugin reads, with its default. The type of the default is the
# type of the setting: any value is converted to it (config_values.py).
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
    "container.min_ready": 3.0,
    "container.health_timeout": 60.0,
    "container.lock_timeout": 300.0,
    "container.progress_interval": 5.0,
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
    # A list, as the Go plugin's file has it: the first writable is used
    # (resolve_data_dir); empty: DATA_DIR_CANDIDATES.
    "data_dir": [],
    "container_group.keep_volumes": False,
    "container_group.compose_timeout": 600.0,
    "container_group.settle_time": 0.25,
    # Service names PROJECT@SERVICE (false, the Go plugin's default) or MODULE@SERVICE.
    "container_group.use_module_name": False,
    "container_image.enabled": False,
    # The monitor (`tedge-container-plugin monitor`, docs/monitor.md). The Go service's keys first.
    "container.crash_loop_threshold": 3,  # restarts since first seen (or the last steady run): alarm
    "container.crash_loop_clear_after": 300.0,  # running this long without a restart clears it
    "metrics.enabled": True,
    "metrics.interval": 300.0,  # resource_usage measurements; 0: off
    # Deleting removed services in Cumulocity through tedge's proxy (monitor/cloud.py).
    "delete_from_cloud.enabled": True,
    "delete_from_cloud.delay": 30.0,
    "client.c8y.host": "",  # "": c8y.proxy.client.host from tedge (127.0.0.1)
    "client.c8y.port": 0,  # 0: c8y.proxy.client.port from tedge (8001)
    "client.ca_file": "",
    "client.cert_file": "",
    "client.key": "",
    "device_id": "",  # "": the proxy's device user tells
}

# String settings with a fixed set of values (compared in lower case).
CHOICES: dict[str, tuple[str, ...]] = {
    "log_level": ("debug", "info", "warn", "warning", "error"),
}

# Keys the Go plugin reads (its service, the types not provided here) that this
# plugin does not use: a switched device keeps them without a warning.
GO_ONLY_KEYS = frozenset(
    {
        "client.http.host",
        "client.http.port",
        "delete_from_cloud.orphans",
        "delete_from_cloud.orphans_interval",
        "delete_legacy",
        "events.enabled",
        "filter.include.ids",
        "filter.include.types",
        "reconcile.interval",
        "reconcile.retry_interval",
        "service_name",
    }
)

# Set by the command line (cli.py) for the whole process: `-c/--config FILE`, `--log-level`.
_command_line: dict[str, str] = {}
_warned: set[str] = set()  # each problem is said once per process, however often the file is read


def set_command_line(config_file: str = "", log_level: str = "") -> None:
    """Remember the global command-line options; every later `Config.load()` honours them."""
    _command_line.clear()
    if config_file:
        _command_line["config_file"] = config_file
    if log_level:
        _command_line["log_level"] = log_level


# The Go plugin's data_dir default: the first of these that is (or can be made) writable.
DATA_DIR_CANDIDATES = ("/data/tedge-container-plugin", "/var/tedge-container-plugin")


def env_name(key: str) -> str:
    """The environment variable that overrides `key`: `container.network` → `CONTAINER_CONTAINER_NETWORK`."""
    return "CONTAINER_" + key.upper().replace(".", "_")


def tedge_config_dir(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get("TEDGE_CONFIG_DIR") or DEFAULT_TEDGE_CONFIG_DIR


def toml_form(value: Any) -> str:
    """A setting's value as it is written in the file, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + ", ".join(toml_form(item) for item in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _flatten(table: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted lower-cased key, value) pairs in file order; tables and keys in any letter case."""
    flat: list[tuple[str, Any]] = []
    for key, value in table.items():
        dotted = f"{prefix}{key.lower()}"
        if isinstance(value, dict):
            flat += _flatten(value, dotted + ".")
        else:
            flat.append((dotted, value))
    return flat


def closest_key(key: str) -> str | None:
    """The known key an unknown one was probably meant to be (`always_pull` → `container.alwayspull`)."""
    import difflib

    known = sorted({*DEFAULTS, *GO_ONLY_KEYS})

    def squeeze(text: str) -> str:
        return text.replace("_", "").replace("-", "")

    for candidate in known:  # the same but for separators, or the table left out
        if squeeze(candidate) == squeeze(key) or candidate.endswith("." + key):
            return candidate
    matches = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    return matches[0] if matches else None


class Config:
    """Settings merged from defaults, the file, the environment and the command line (in that order)."""

    def __init__(
        self,
        values: Mapping[str, Any],
        path: str,
        config_dir: str,
        origins: Mapping[str, object] | None = None,
        problems: list[str] | None = None,
    ) -> None:
        self._values = dict(values)
        self.path = path
        self.config_dir = config_dir
        self._origins = dict(origins or {})
        self.problems = list(problems or [])  # the warnings loading produced

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, config_file: str = "") -> Config:
        """Read the configuration, warn once about what is wrong in it, and apply its log level.

        Raises ConfigError (exit 2) only when the file cannot be read or is not TOML.
        """
        environ = os.environ if environ is None else environ
        config_dir = tedge_config_dir(environ)
        explicit = config_file or _command_line.get("config_file", "")
        path = explicit or os.path.join(config_dir, "plugins", CONFIG_FILE_NAME)
        if explicit and not os.path.exists(path):
            raise ConfigError(f"The configuration file {path} (given with -c/--config) does not exist.")
        reader = _Reader(path)
        reader.read_file()
        reader.read_environment(environ)
        level = _command_line.get("log_level")
        if level:
            reader.values["log_level"] = level
            reader.origins["log_level"] = "the command line"
        config = cls(reader.values, path, config_dir, reader.origins, reader.problems)
        config.announce()
        found = "" if reader.found else " (not found: defaults apply)"
        set_here = sum(1 for origin in reader.origins.values() if isinstance(origin, Place))
        if config.get("log_level") == "debug":  # origin() may scan the file for a line number
            log.debug(
                f"configuration {path}{found}: {set_here} key(s) set; "
                f"log level debug from {config.origin('log_level')}"
            )
        return config

    @classmethod
    def defaults(cls) -> Config:
        return cls(DEFAULTS, "", DEFAULT_TEDGE_CONFIG_DIR)

    def get(self, key: str) -> Any:
        return self._values[key]

    def origin(self, key: str) -> str:
        """Where `key`'s value comes from: `FILE:LINE`, `environment variable X`, ... or `the default`."""
        return str(self._origins.get(key, "the default"))

    def announce(self) -> None:
        """Apply the log level, then warn about each problem not yet warned about in this process."""
        log.set_level(self.get("log_level"))
        for problem in self.problems:
            if problem not in _warned:
                _warned.add(problem)
                log.warning(problem)


class _Reader:
    """One reading of the file and the environment: values, where each came from, problems."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.values: dict[str, Any] = dict(DEFAULTS)
        self.origins: dict[str, str | Place] = {}
        self.problems: list[str] = []
        self.found = False

    def read_file(self) -> None:
        text = read_text(self.path)
        if text is None:
            return
        self.found = True
        table = parse_toml(text, self.path)
        places = FilePlaces(self.path, text)
        seen: dict[str, int] = {}
        for key, value in _flatten(table):
            occurrence = seen.get(key, -1) + 1
            seen[key] = occurrence
            where = places.place(key, occurrence)
            if occurrence:
                first = places.place(key, 0)
                self.problems.append(
                    f"{where}: {key} is also set at line {str(first).rpartition(':')[2]} (keys ignore "
                    "letter case); this later one is used."
                )
            if key in DEFAULTS:
                self._set(key, value, where)
            elif key in GO_ONLY_KEYS:
                log.debug(f"{self.path}: {key} is read only by the Go plugin's service; not used here")
            else:
                guess = closest_key(key)
                hint = f"; did you mean {guess}?" if guess else "; the shipped file lists the keys."
                self.problems.append(f"{where}: unknown key {key} is ignored{hint}")

    def read_environment(self, environ: Mapping[str, str]) -> None:
        for key in DEFAULTS:
            name = env_name(key)
            if name in environ:
                self._set(key, environ[name], f"environment variable {name}")

    def _set(self, key: str, value: Any, where: str | Place) -> None:
        try:
            self.values[key] = convert(DEFAULTS[key], value, CHOICES.get(key, ()))
            self.origins[key] = where
        except BadValue as error:
            kept = self.values[key]
            source = "the default" if key not in self.origins else f"the value from {self.origins[key]}"
            self.problems.append(
                f"{where}: {key} = {_shown(value)} is not valid ({error}); {source} "
                f"({toml_form(kept)}) is used."
            )


def _shown(value: Any) -> str:
    text = toml_form(value) if isinstance(value, (bool, int, float, str, list)) else "a table"
    return text if len(text) <= 80 else text[:77] + "..."


def resolve_data_dir(config: Config, create: bool = True) -> str:
    """The first writable of `data_dir` (made when missing, if `create`).

    `data_dir` is a list, as in the Go plugin's shipped file
    (`data_dir = ["/data/tedge-container-plugin"]`); a single path is a list of
    one. Unset: DATA_DIR_CANDIDATES. Without `create` (for `list`, which
    changes nothing) a missing directory is skipped, and "" means none exists.
    """
    candidates = [path for path in config.get("data_dir") if path] or list(DATA_DIR_CANDIDATES)
    for candidate in candidates:
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
        f"None of {', '.join(candidates)} is writable; set data_dir in "
        f"{CONFIG_FILE_NAME} (or CONTAINER_DATA_DIR) to a writable directory."
    )


def read_toml(path: str) -> dict[str, Any]:
    """Read a TOML file flattened to dotted keys; {} when it does not exist."""
    text = read_text(path)
    return dict(_flatten(parse_toml(text, path))) if text is not None else {}
