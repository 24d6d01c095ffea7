"""The report's own MQTT publisher (status/publisher.py) against a real mosquitto: what paho did, it does.

Plain TCP, TLS with a client certificate and a wrong CA are in test_mqtt.py;
here: a broker that wants a login (mqtt.client.auth.username, password_file),
and payloads whose length takes more than one byte to encode.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from tests.integration.test_mqtt import retained, unique, use_broker, warnings
from tests.support.mqtt import Broker

from tedge_container.status.publisher import Session
from tedge_container.status.settings import MqttSettings

pytestmark = pytest.mark.integration

APP1 = "localhost/tedge-test/app:1"


@pytest.fixture()
def login_broker(tmp_path: Path) -> Any:
    broker = Broker("mqtt_login", tmp_path / "mqtt-login", login=("tedge", "s3cret pass")).start()
    try:
        yield broker
    finally:
        broker.stop()


def with_login(plugin: Any, broker: Any, password: str, tmp_path: Path) -> None:
    use_broker(plugin, broker)
    secret = tmp_path / "mqtt-password"
    secret.write_text(password + "\n")
    toml = Path(plugin.config_dir) / "tedge.toml"
    toml.write_text(
        toml.read_text() + f'[mqtt.client.auth]\nusername = "tedge"\npassword_file = "{secret}"\n'
    )


def test_a_login_is_accepted(plugin: Any, test_images: Any, login_broker: Any, tmp_path: Path) -> None:
    with_login(plugin, login_broker, "s3cret pass", tmp_path)
    plugin.set_config("", "log_level", "debug")
    result = plugin.run("install", unique("login"), "--module-version", APP1)
    assert result.returncode == 0, result.stderr
    assert not warnings(result), result.stderr
    assert "debug: MQTT: acknowledgements: 7 of 7 " in result.stderr  # only a logged-in client gets them


def test_a_wrong_password_is_one_warning(
    plugin: Any, test_images: Any, login_broker: Any, tmp_path: Path
) -> None:
    with_login(plugin, login_broker, "wrong", tmp_path)
    result = plugin.run("install", unique("badlogin"), "--module-version", APP1)
    assert result.returncode == 0, result.stderr
    [warning] = warnings(result)
    assert "refused the connection" in warning, warning
    assert "wrong" not in warning and "s3cret" not in warning


@pytest.mark.parametrize("size", [100, 20_000, 300_000])  # its length in 1, 2 and 3 bytes
def test_payloads_of_any_length_arrive_whole(mqtt_broker: Any, size: int) -> None:
    topic = f"tedge-test/{unique('big')}"
    payload = {"text": "x" * size}
    settings = MqttSettings(host=mqtt_broker.host, port=mqtt_broker.port)
    session = Session(settings, time.monotonic() + 10)
    session.run([(topic, payload, True)])
    assert (session.acked, session.writes) == (1, 1)
    assert json.loads(retained(mqtt_broker, topic)[topic]) == payload
