"""The plugin's settings: `$TEDGE_CONFIG_DIR/plugins/tedge-container-plugin.toml`.

Same file, keys and environment mapping as the Go tedge-container-plugin, so a
device keeps its configuration when it switches, and read as tolerantly as
the Go plugin reads it (viper):
- keys and table names in any letter case (`alwaysPull`, `[Container]`);
- values in every form Go's config library accepts (`values.py`);
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

from .. import log
from ..errors import ConfigError
from .keys import (
    CHOICES,
    CONFIG_FILE_NAME,
    DATA_DIR_CANDIDATES,
    DEFAULT_TEDGE_CONFIG_DIR,
    DEFAULTS,
    GO_ONLY_KEYS,
)
from .toml_lines import FilePlaces, Place, parse_toml, read_text
from .values import BadValue, convert

TYPE_CHECKING = False  # `typing` itself costs ~5 ms, and `list` must start fast
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

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

    def is_set(self, key: str) -> bool:
        """True when the file, the environment or the command line set `key` (else its default applies)."""
        return key in self._origins

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
