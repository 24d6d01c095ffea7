"""log_level = "debug": one line per step, with what it acted on and how long it took; no secret."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import Plugin
from tests.support.images import TestImages
from tests.support.mqtt import Broker
from tests.support.podman import PodmanService
from tests.support.registry import Registry

TIMED = r"\(\d+\.\d{3} s\)$"  # every step line ends with its duration


def test_debug_lines_name_each_step_and_its_duration(
    plugin: Plugin,
    podman_service: PodmanService,
    auth_registry_a: Registry,
    test_images: TestImages,
    mqtt_broker: Broker,
    tmp_path: Path,
) -> None:
    image = test_images.push(test_images.app1, auth_registry_a, "debug/app:1")
    registry = image.split("/", 1)[0]
    credentials = tmp_path / "credentials.toml"
    password = auth_registry_a.password
    assert password
    user = auth_registry_a.username
    credentials.write_text(
        f'[registry1]\nrepo = "{registry}"\nusername = "{user}"\npassword = "{password}"\n'
    )
    credentials.chmod(0o600)
    plugin.set_config("registry", "credentials_path", str(credentials))
    plugin.set_config("registry", "helper", "")
    plugin.set_config("", "log_level", "debug")
    plugin.set_config("client.mqtt", "host", mqtt_broker.host)
    plugin.set_config("client.mqtt", "port", mqtt_broker.port)
    plugin.set_config("report", "enabled", True)

    name = "debug-web"
    first = plugin.run("install", name, "--module-version", image)  # pulls
    assert first.returncode == 0, first.stderr
    result = plugin.run("install", name, "--module-version", image)  # again: the safe swap's steps
    assert result.returncode == 0, result.stderr
    stderr = first.stderr + result.stderr
    lines = [line for line in stderr.splitlines() if line.startswith("debug: ")]
    container_id = podman_service.cli("container", "inspect", "--format", "{{.Id}}", name).stdout.strip()
    image_id = podman_service.image_id(image)

    def one(pattern: str) -> str:
        found = [line for line in lines if re.search(pattern, line)]
        assert found, f"no debug line matches {pattern!r}:\n" + "\n".join(lines)
        return found[-1]  # the second install's, where there are two

    assert one(r"^debug: podman socket: ").startswith(f"debug: podman socket: {podman_service.socket_path} (")
    assert re.search(TIMED, one(r"^debug: podman: ping "))
    pulled = one(rf"^debug: podman: pull {re.escape(image)}: ")
    assert re.search(rf": image {image_id} \(\d+\.\d MB\) {TIMED}", pulled), pulled
    created = one(rf"^debug: podman: create container \S+ from {re.escape(image)}: ")
    assert f"id {container_id} " in created
    for step in (r"start container ", r"rename container ", r"stop and remove container |remove container "):
        assert re.search(TIMED, one(rf"^debug: podman: {step}"))
    assert one(rf"^debug: MQTT: publish te/device/main/service/{name} \(\d+ bytes, retained\)$")
    assert re.search(TIMED, one(r"^debug: MQTT: acknowledgements: \d+ of \d+ "))
    assert one(rf"^debug: podman: look up image {re.escape(image)}: (present|absent) ")
    assert password not in stderr
