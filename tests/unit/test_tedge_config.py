"""Reading thin-edge's MQTT settings: tedge.toml, TEDGE_* variables, `tedge config list`, plugin overrides."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tedge_container.config import Config
from tedge_container.errors import ConfigError
from tedge_container.status.settings import (
    MqttSettings,
    env_name,
    mqtt_settings,
    normalize_topic_id,
    parse_config_list,
    read_tedge_config,
)


def plugin_config(config_dir: Path, text: str = "", **env: str) -> Config:
    if text:
        (config_dir / "plugins").mkdir(exist_ok=True)
        (config_dir / "plugins" / "tedge-container-plugin.toml").write_text(text)
    return Config.load({"TEDGE_CONFIG_DIR": str(config_dir), **env})


def settings(config_dir: Path, text: str = "", environ: dict[str, str] | None = None) -> MqttSettings:
    return mqtt_settings(plugin_config(config_dir, text), environ or {}, tedge_command=None)


def test_defaults_are_tedges(tmp_path: Path) -> None:
    assert settings(tmp_path) == MqttSettings("127.0.0.1", 1883, "te", "device/main//")
    assert not settings(tmp_path).tls
    assert settings(tmp_path).address == "mqtt://127.0.0.1:1883"


def test_nested_tables_of_tedge_toml(tmp_path: Path) -> None:
    (tmp_path / "tedge.toml").write_text(
        '[device]\nid = "dev01"\n'
        '[mqtt]\ntopic_root = "plant"\ndevice_topic_id = "device/child01//"\n'
        '[mqtt.client]\nhost = "broker.local"\nport = 8883\n'
        '[mqtt.client.auth]\nca_file = "/etc/ca.crt"\ncert_file = "/etc/c.crt"\nkey_file = "/etc/c.key"\n'
    )
    got = settings(tmp_path)
    assert got == MqttSettings(
        "broker.local", 8883, "plant", "device/child01//", "/etc/ca.crt", "", "/etc/c.crt", "/etc/c.key"
    )
    assert got.tls
    assert got.address == "mqtts://broker.local:8883"


def test_dotted_keys_deprecated_names_and_bind_port(tmp_path: Path) -> None:
    (tmp_path / "tedge.toml").write_text(
        '[mqtt]\nclient.auth.cafile = "/old/ca.crt"\nclient.auth.cadir = "/old/certs"\n'
        "[mqtt.bind]\nport = 1884\n"
    )
    got = settings(tmp_path)
    assert (got.port, got.ca_file, got.ca_dir) == (1884, "/old/ca.crt", "/old/certs")


def test_client_port_wins_over_bind_port(tmp_path: Path) -> None:
    (tmp_path / "tedge.toml").write_text("[mqtt.bind]\nport = 1884\n[mqtt.client]\nport = 1885\n")
    assert settings(tmp_path).port == 1885


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    (tmp_path / "tedge.toml").write_text('[mqtt.client]\nhost = "file-host"\nport = 1000\n')
    environ = {"TEDGE_MQTT_CLIENT_HOST": "env-host", "TEDGE_MQTT_TOPIC_ROOT": "envroot"}
    got = settings(tmp_path, environ=environ)
    assert (got.host, got.port, got.topic_root) == ("env-host", 1000, "envroot")
    assert env_name("mqtt.client.auth.ca_file") == "TEDGE_MQTT_CLIENT_AUTH_CA_FILE"


def test_plugin_keys_override_tedge(tmp_path: Path) -> None:
    (tmp_path / "tedge.toml").write_text('[mqtt]\ntopic_root = "te2"\n[mqtt.client]\nhost = "a"\nport = 1\n')
    got = settings(
        tmp_path,
        '[client.mqtt]\nhost = "b"\nport = 2\n',
    )
    assert (got.host, got.port, got.topic_root) == ("b", 2, "te2")
    got = settings(tmp_path, 'topic_root = "/custom/"\ntopic_id = "device/child02"\n')
    assert (got.topic_root, got.device_topic_id) == ("custom", "device/child02//")


def test_plugin_overrides_from_the_environment(tmp_path: Path) -> None:
    config = plugin_config(tmp_path, CONTAINER_CLIENT_MQTT_PORT="1999", CONTAINER_TOPIC_ID="device/gw//")
    got = mqtt_settings(config, {}, tedge_command=None)
    assert (got.port, got.device_topic_id) == (1999, "device/gw//")


def test_bad_files_and_ports_are_config_errors(tmp_path: Path) -> None:
    (tmp_path / "tedge.toml").write_text("[mqtt.client\nhost=")
    with pytest.raises(ConfigError, match=r"tedge\.toml"):
        settings(tmp_path)
    (tmp_path / "tedge.toml").write_text("[mqtt.client]\nport = 70000\n")
    with pytest.raises(ConfigError, match=r"mqtt\.client\.port"):
        settings(tmp_path)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("device/main//", "device/main//"),
        ("device/child01", "device/child01//"),
        ("/device/child01/", "device/child01//"),
        ("device/main/service/x", "device/main/service/x"),
        ("", ""),
    ],
)
def test_topic_ids_get_four_segments(given: str, expected: str) -> None:
    assert normalize_topic_id(given) == expected


def test_parse_tedge_config_list() -> None:
    text = (
        "device.type=thin-edge.io\nmqtt.client.host=10.0.0.2\n"
        "mqtt.client.port=1884\nmqtt.client.auth.cafile=/x\n"
    )
    assert parse_config_list(text) == {
        "mqtt.client.host": "10.0.0.2",
        "mqtt.client.port": "1884",
        "mqtt.client.auth.ca_file": "/x",
    }


def fake_tedge(tmp_path: Path, script: str) -> str:
    path = tmp_path / "bin" / "tedge"
    path.parent.mkdir(exist_ok=True)
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_tedge_command_only_without_tedge_toml(tmp_path: Path) -> None:
    config_dir = tmp_path / "etc"
    config_dir.mkdir()
    log = tmp_path / "args"
    tedge = fake_tedge(
        tmp_path, f'echo "$@" > {log}\necho mqtt.client.host=from-tedge\necho mqtt.bind.port=1890\n'
    )
    values = read_tedge_config(str(config_dir), {}, tedge)
    assert values == {"mqtt.client.host": "from-tedge", "mqtt.bind.port": "1890"}
    assert log.read_text().split() == ["--config-dir", str(config_dir), "config", "list"]
    (config_dir / "tedge.toml").write_text("[mqtt.client]\nport = 1\n")
    os.unlink(log)
    assert read_tedge_config(str(config_dir), {}, tedge) == {"mqtt.client.port": "1"}
    assert not log.exists(), "tedge.toml exists: no subprocess"


def test_tedge_command_is_bounded_and_its_failure_ignored(tmp_path: Path) -> None:
    import time

    slow = fake_tedge(tmp_path, "sleep 5\n")
    start = time.monotonic()
    assert read_tedge_config(str(tmp_path), {}, slow, timeout=0.3) == {}
    assert time.monotonic() - start < 2
    failing = fake_tedge(tmp_path, "echo mqtt.client.host=x\nexit 1\n")
    assert read_tedge_config(str(tmp_path), {}, failing) == {}
    assert read_tedge_config(str(tmp_path), {}, str(tmp_path / "missing")) == {}
