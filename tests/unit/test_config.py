from __future__ import annotations

from pathlib import Path

import pytest

from tedge_container.config import DEFAULTS, Config, env_name
from tedge_container.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> dict[str, str]:
    (tmp_path / "plugins").mkdir(exist_ok=True)
    (tmp_path / "plugins" / "tedge-container-plugin.toml").write_text(text)
    return {"TEDGE_CONFIG_DIR": str(tmp_path)}


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = Config.load({"TEDGE_CONFIG_DIR": str(tmp_path)})
    assert config.get("container.network") == "tedge"
    assert config.get("filter.exclude.labels") == ["tedge.ignore"]
    assert config.path == str(tmp_path / "plugins" / "tedge-container-plugin.toml")


def test_file_values_and_unknown_keys(tmp_path: Path) -> None:
    environ = write(
        tmp_path,
        '[container]\nnetwork = "plant"\nalwayspull = true\npull_timeout = 20\n'
        '[metrics]\nenabled = true\nsomething = "ignored"\n',
    )
    config = Config.load(environ)
    assert config.get("container.network") == "plant"
    assert config.get("container.alwayspull") is True
    assert config.get("container.pull_timeout") == 20.0


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    environ = write(tmp_path, '[container]\nnetwork = "plant"\n')
    environ[env_name("container.network")] = "other"
    environ["CONTAINER_CONTAINER_ALWAYSPULL"] = "yes"
    environ["CONTAINER_FILTER_EXCLUDE_NAMES"] = "^a, ^b"
    config = Config.load(environ)
    assert config.get("container.network") == "other"
    assert config.get("container.alwayspull") is True
    assert config.get("filter.exclude.names") == ["^a", "^b"]


def test_env_name_mapping() -> None:
    assert env_name("container.network") == "CONTAINER_CONTAINER_NETWORK"
    assert env_name("registry.helper_timeout") == "CONTAINER_REGISTRY_HELPER_TIMEOUT"


def test_broken_file_names_file_and_line(tmp_path: Path) -> None:
    environ = write(tmp_path, '[container]\nnetwork = "plant"\nalwayspull = maybe\n')
    with pytest.raises(ConfigError) as caught:
        Config.load(environ)
    assert "tedge-container-plugin.toml" in str(caught.value)
    assert "line 3" in str(caught.value)


def test_wrong_type_warns_and_keeps_the_default(tmp_path: Path) -> None:
    # Go (viper/cast) reads a value it cannot convert as the zero value, silently.
    environ = write(tmp_path, '[container]\nalwayspull = "sometimes"\n')
    config = Config.load(environ)
    assert config.get("container.alwayspull") is False
    (problem,) = config.problems
    assert problem.startswith(f"{tmp_path}/plugins/tedge-container-plugin.toml:2: container.alwayspull")
    assert "the default (false) is used" in problem


def test_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    environ = write(tmp_path, "[container]\npull_timeout = 20\n")
    environ["CONTAINER_CONTAINER_PULL_TIMEOUT"] = "soon"
    config = Config.load(environ)
    assert config.get("container.pull_timeout") == 20.0
    (problem,) = config.problems
    variable = "environment variable CONTAINER_CONTAINER_PULL_TIMEOUT"
    assert problem.startswith(f'{variable}: container.pull_timeout = "soon"')
    assert "the value from" in problem and ":2 (20) is used" in problem


def test_shipped_default_file_documents_every_key_and_loads(tmp_path: Path) -> None:
    shipped = (REPO / "packaging" / "tedge-container-plugin.toml").read_text()
    config = Config.load(write(tmp_path, shipped))
    for key in DEFAULTS:
        leaf = key.rpartition(".")[2]
        assert leaf in shipped, f"{key} is not documented in the shipped config"
        assert config.get(key) == DEFAULTS[key] or key == "container.host", key
