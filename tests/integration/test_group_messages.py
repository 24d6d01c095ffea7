"""What an operator reads when a group goes wrong (issue 18): compose's own word, unset variables,
two compose files, one "Installing" per failure line and event. Real podman, real podman-compose.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from tests.integration.test_mqtt import Collector, unique, use_broker
from tests.support.group import Group, app, compose, file_of, last_line, tar_of
from tests.support.images import TestImages

pytestmark = pytest.mark.integration

BUILD_HINT = (
    "a service's build context is not in the module's files: put its directory (with a Dockerfile "
    "or Containerfile) next to the compose file, or give the service an image"
)
PORT_HINT = (
    "a port the compose file publishes is already in use on the device: free it "
    "(`ss -ltnp` shows who holds it) or publish another port"
)


def warnings(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning: ")]


def test_a_missing_build_context_is_quoted_from_compose_once_installing(
    group: Group, tmp_path: Path, mqtt_broker
):
    use_broker(group.plugin, mqtt_broker)
    group.plugin.set("report", "enabled", True)
    name = unique("build")
    archive = tar_of(tmp_path / "b.tar", {"compose.yaml": compose({"web": {"build": "./app"}})})
    with Collector(mqtt_broker, "te/device/main///e/container-group_install_failed") as events:
        result = group.install(name, "1.0", archive)
        messages = events.wait_for(lambda m: any(name.encode() in p for _, p, _ in m))
    assert result.returncode == 2, result.stderr
    [event] = [json.loads(payload) for _, payload, _ in messages if name.encode() in payload]
    assert event["text"].count("Installing") == 1, event["text"]  # not "Installing X failed: Installing ..."
    assert last_line(result) == (
        f"Installing group {name} 1.0 failed: service web has no container: compose did not create it "
        f"(compose said: Dockerfile not found in ./app); {BUILD_HINT}. Nothing of it was left behind."
    )
    assert event["text"] == last_line(result)

    # At debug level, everything compose said is logged (its traceback here).
    result = group.run("install", name, "--module-version", "1.0", "--file", str(archive), "-v")
    assert result.returncode == 2
    assert "debug: podman-compose: OSError: Dockerfile not found in ./app" in result.stderr


def test_a_port_in_use_is_named_with_what_to_do(group: Group, test_images: TestImages, tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        web = app(test_images.app1, ports=[f"127.0.0.1:{port}:80"])
        result = group.install("ports", "1.0", file_of(tmp_path, "c.yaml", compose({"web": web})))
    assert result.returncode == 2, result.stderr
    line = last_line(result)
    # podman 4.3: compose's own line quoted; podman 5: the container's start error, named the same way.
    assert line.startswith("Installing group ports 1.0 failed: service web was created but not started")
    assert f"127.0.0.1:{port}" in line and "already in use" in line  # podman's words, quoted
    assert line.endswith(f"; {PORT_HINT}. Nothing of it was left behind.")
    assert len(line) < 600


def test_unset_variables_get_one_warning_each_and_required_ones_fail(
    group: Group, test_images: TestImages, tmp_path: Path
):
    services = {
        "web": app(test_images.app1, environment={"DB_PASSWORD": "${DB_PASSWORD}", "A": "$APP_MODE"}),
        "db": app(test_images.app1, environment={"DB_PASSWORD": "${DB_PASSWORD}", "B": "${HAS:-x}"}),
    }
    archive = tar_of(tmp_path / "v.tar", {"compose.yaml": compose(services), ".env": "HAS=1\n"})
    result = group.install("vars", "1.0", archive)
    assert result.returncode == 0, result.stderr
    assert warnings(result) == [
        "warning: compose.yaml: variable APP_MODE is not set (service web); compose makes it an empty "
        "string: set it in the group's .env, or give a default (${APP_MODE:-value})",
        "warning: compose.yaml: variable DB_PASSWORD is not set (services web, db); compose makes it an "
        "empty string: set it in the group's .env, or give a default (${DB_PASSWORD:-value})",
    ]

    # An unset variable in an image name: the failure points at it.
    broken = {"web": app(test_images.app1.rpartition(":")[0] + ":${APP_TAG}")}
    result = group.install("vars", "2.0", file_of(tmp_path, "tag.yaml", compose(broken)))
    assert result.returncode == 2
    assert "variable APP_TAG is not set (service web)" in warnings(result)[0]
    assert last_line(result) == (
        f"Installing group vars 2.0 failed: service web: '{test_images.app1.rpartition(':')[0]}:' has an "
        "invalid tag '', as APP_TAG is not set; set it in the group's .env."
    )

    required = {"web": app(test_images.app1, environment={"KEY": "${API_KEY:?give the device its key}"})}
    result = group.install("vars", "2.0", file_of(tmp_path, "req.yaml", compose(required)))
    assert result.returncode == 2
    assert last_line(result) == (
        "Installing group vars 2.0 failed: docker-compose.yaml: required variable API_KEY is missing: "
        "give the device its key."
    )
    assert group.modules() == "vars\t1.0\n"


def test_two_compose_files_one_warning_naming_the_one_used(
    group: Group, test_images: TestImages, tmp_path: Path
):
    used = compose({"web": app(test_images.app1)})
    ignored = compose({"other": app(test_images.app2)})
    archive = tar_of(tmp_path / "two.tar", {"docker-compose.yaml": ignored, "compose.yml": used})
    result = group.install("two", "1.0", archive)
    assert result.returncode == 0, result.stderr
    assert warnings(result) == [
        "warning: the files hold 2 compose files: compose.yml is used and docker-compose.yaml ignored "
        "(compose's order of preference: compose.yaml, compose.yml, docker-compose.yaml, "
        "docker-compose.yml); keep only one"
    ]
    assert list(group.containers("two")) == ["web"]


def test_compose_is_quoted_on_its_cause_without_the_values_of_secret_variables(
    group: Group, test_images: TestImages, tmp_path: Path
):
    """podman's error holds the value of API_TOKEN (from .env): never shown, not even at debug level."""
    web = {"image": test_images.app1, "ports": ["127.0.0.1:${API_TOKEN}:80"]}
    files = {"compose.yaml": compose({"web": web}), ".env": "API_TOKEN=s3cr3tvalue42\n"}
    result = group.run(
        "install", "tok", "--module-version", "1", "--file", str(tar_of(tmp_path / "t.tar", files)), "-v"
    )
    assert result.returncode == 2
    assert "s3cr3tvalue42" not in result.stderr
    assert "debug: podman-compose: Error: " in result.stderr
    line = last_line(result)
    assert line.startswith(
        "Installing group tok 1 failed: service web has no container: compose did not create it"
    )
    assert "(compose said: Error: " in line and '"***"' in line  # podman's own complaint about the port
    assert "no such container" not in line  # the echo of the failed create is not the cause


def test_an_upgrade_compose_fails_to_build_is_not_taken_for_the_running_old_version(
    group: Group, test_images: TestImages, tmp_path: Path
):
    """podman-compose fails before it touches web: web's 1.0 container still running is no success."""
    assert (
        group.install(
            "upb", "1.0", file_of(tmp_path, "v1.yaml", compose({"web": app(test_images.app1)}))
        ).returncode
        == 0
    )
    before = group.containers("upb")["web"]["id"]
    v2 = {
        "compose.yaml": compose(
            {"web": {"build": "./app", "image": "localhost/upb-web:2", "restart": "always"}}
        )
    }
    result = group.install("upb", "2.0", tar_of(tmp_path / "v2.tar", v2))
    assert result.returncode == 2, result.stderr
    assert last_line(result) == (
        "Installing group upb 2.0 failed: podman-compose up failed (exit 1); service web still runs the "
        f"previous version's container (compose said: Dockerfile not found in ./app); {BUILD_HINT}. "
        "The previous version 1.0 runs again."
    )
    assert group.modules() == "upb\t1.0\n"
    assert group.containers("upb")["web"]["id"] == before
