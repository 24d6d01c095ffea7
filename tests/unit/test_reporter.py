"""The MQTT reporter without a broker: topics, payloads, health, and failing soft within the bound."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tedge_container.config import Config
from tedge_container.software.container import service_of
from tedge_container.software.container.install import Installed
from tedge_container.status.health import health_of
from tedge_container.status.reporter import Reporter
from tedge_container.status.topics import (
    ReportError,
    Topics,
    event_payload,
    event_type,
    failure_text,
    health_payload,
    registration_payload,
)

WEB = service_of(Installed("web", "localhost/app:1", "app:1", "abc123"))


def test_topics_of_the_main_device() -> None:
    topics = Topics("te", "device/main//")
    assert topics.service("web") == "te/device/main/service/web"
    assert topics.health("web") == "te/device/main/service/web/status/health"
    assert topics.event("container_install_failed") == "te/device/main///e/container_install_failed"


def test_topics_of_a_child_device_and_custom_root() -> None:
    topics = Topics("plant", "device/child01//")
    assert topics.service("web") == "plant/device/child01/service/web"
    assert topics.event("x") == "plant/device/child01///e/x"


@pytest.mark.parametrize(
    "topic_id", ["device", "device/main/x/y/z", "device/+//", "/main//", "device/main/service/x"]
)
def test_unusable_device_topic_ids(topic_id: str) -> None:
    with pytest.raises(ReportError):
        Topics("te", topic_id)


def test_unusable_topic_roots() -> None:
    for root in ("", "te/#", "t+"):
        with pytest.raises(ReportError):
            Topics(root, "device/main//")


@pytest.mark.parametrize("name", ["", "a/b", "a+", "a#"])
def test_names_that_cannot_be_topics(name: str) -> None:
    with pytest.raises(ReportError):
        Topics("te", "device/main//").service(name)


def test_registration_is_a_container_service_with_twin_data() -> None:
    assert registration_payload(WEB.name, WEB.type, WEB.twin) == {
        "@type": "service",
        "name": "web",
        "type": "container",
        "container": {"image": "localhost/app:1", "moduleVersion": "app:1", "containerId": "abc123"},
    }


def test_health_and_event_payloads() -> None:
    assert health_payload("up", now=1700000000.7) == {"status": "up", "time": 1700000000}
    payload = event_payload("remove", "web", "podman could not\nremove it", "app:1", now=5)
    assert payload == {
        "text": "Removing web failed: podman could not remove it",
        "time": 5,
        "container": "web",
        "moduleVersion": "app:1",
    }
    assert event_type("container", "install") == "container_install_failed"


def test_failure_text_keeps_an_existing_prefix_and_is_bounded() -> None:
    text = "Installing web failed: no image"
    assert failure_text("install", "web", text) == text
    assert len(failure_text("install", "web", "x" * 5000)) == 1000
    group = "Installing group shop 2.0 failed: service db exited with code 1."
    assert failure_text("install", "shop", group) == group  # "Installing" once
    assert failure_text("remove", "ghcr.io/a/b", "Removing image ghcr.io/a/b failed: x") == (
        "Removing image ghcr.io/a/b failed: x"
    )
    assert failure_text("install", "web", "Installing db failed: x") == (
        "Installing web failed: Installing db failed: x"
    )


def inspect(status: str = "running", restarting: bool = False, restarts: int = 0) -> dict:
    return {
        "State": {"Status": status, "Running": status == "running", "Restarting": restarting},
        "RestartCount": restarts,
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (inspect(), "up"),
        (inspect("exited"), "down"),
        (inspect("running", restarting=True), "down"),
        (inspect("running", restarts=1), "down"),
        (inspect("stopped"), "down"),
        (None, "down"),
    ],
)
def test_health_of_inspect_data(data: dict | None, expected: str) -> None:
    assert health_of(data) == expected


# -- failing soft, within the bound -------------------------------------------------


def config(tmp_path: Path, port: int, timeout: float = 5.0, enabled: bool = True, extra: str = "") -> Config:
    (tmp_path / "plugins").mkdir(exist_ok=True)
    (tmp_path / "plugins" / "tedge-container-plugin.toml").write_text(
        f'[client.mqtt]\nhost = "127.0.0.1"\nport = {port}\n'
        f"[report]\nenabled = {str(enabled).lower()}\ntimeout = {timeout}\n" + extra
    )
    (tmp_path / "tedge.toml").write_text("")
    return Config.load({"TEDGE_CONFIG_DIR": str(tmp_path)})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_broker_down_is_one_warning_and_fast(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reporter = Reporter(config(tmp_path, free_port()))
    reporter.failed("install", "web", "Installing web failed: boom")
    start = time.monotonic()
    assert reporter.flush() is False
    assert time.monotonic() - start < 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("warning: container status not reported on MQTT: cannot connect")
    assert "Connection refused" in lines[0]


def test_silent_broker_is_bounded_by_the_timeout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as listener:  # accepts TCP connections (backlog), never answers MQTT
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        reporter = Reporter(config(tmp_path, listener.getsockname()[1], timeout=1.0))
        reporter.removed("web")
        start = time.monotonic()
        assert reporter.flush() is False
        elapsed = time.monotonic() - start
    assert 0.9 < elapsed < 1.5, elapsed
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no answer from the broker" in err, err


def test_disabled_reporting_does_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reporter = Reporter(config(tmp_path, free_port(), enabled=False))
    reporter.installed(WEB)
    reporter.failed("remove", "web", "x")
    assert reporter.flush() is True
    assert capsys.readouterr().err == ""


def test_wrong_tls_files_fail_soft(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = config(tmp_path, free_port())
    (tmp_path / "tedge.toml").write_text(f'[mqtt.client.auth]\nca_file = "{tmp_path}/missing.crt"\n')
    reporter = Reporter(conf)
    reporter.removed("web")
    assert reporter.flush() is False
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TLS files" in err, err


def test_bad_tedge_toml_fails_soft(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf = config(tmp_path, free_port())
    (tmp_path / "tedge.toml").write_text("[mqtt\n")
    reporter = Reporter(conf)
    reporter.removed("web")
    assert reporter.flush() is False
    assert "tedge.toml" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["list", "prepare", "finalize"])
def test_read_only_commands_do_not_import_mqtt(tmp_path: Path, command: str) -> None:
    code = (
        "import sys\n"
        "from tedge_container.cli import main\n"
        f"main(['container', '{command}'])\n"
        "loaded = [m for m in sys.modules if m.startswith(('paho', 'tedge_container.status'))]\n"
        "assert not loaded, loaded\n"
    )
    env = {
        "TEDGE_CONFIG_DIR": str(tmp_path),
        "CONTAINER_HOST": f"unix://{tmp_path}/none.sock",
        "PATH": "",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
