"""The plugin's settings (the Go plugin's file, keys and environment, read as tolerantly).

`reader.py` reads them (Config), `keys.py` lists every key with its default,
`values.py` converts values as Go's config library does, `toml_lines.py`
parses the file and finds each key's line (plain files through
`toml_subset.py`, which `list` reads without importing tomllib).
"""

from __future__ import annotations

from .keys import CHOICES, CONFIG_FILE_NAME, DATA_DIR_CANDIDATES, DEFAULTS, GO_ONLY_KEYS
from .reader import (
    Config,
    closest_key,
    env_name,
    read_toml,
    resolve_data_dir,
    set_command_line,
    tedge_config_dir,
    toml_form,
)

__all__ = [
    "CHOICES",
    "CONFIG_FILE_NAME",
    "DATA_DIR_CANDIDATES",
    "DEFAULTS",
    "GO_ONLY_KEYS",
    "Config",
    "closest_key",
    "env_name",
    "read_toml",
    "resolve_data_dir",
    "set_command_line",
    "tedge_config_dir",
    "toml_form",
]
