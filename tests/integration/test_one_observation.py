"""One observation per operation: the MQTT report publishes what the readiness gate (or a group's
check after compose) saw, and never watches the containers again after it.

Asserted by the engine calls made, not by time: the sm-plugin runs in this process (as
tedge-agent would run it, through contract.run) against the real podman service and the real
mosquitto, with every container inspect request counted at the engine adapter. Once the gate
(or the group's check) has given its verdict, no container is inspected again.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import Plugin
from tests.integration.test_mqtt import retained, unique, use_broker
from tests.support.group import Group, app, compose, file_of
from tests.support.images import TestImages

from tedge_container.engine import Engine
from tedge_container.software import contract, readiness
from tedge_container.software.group import operations

pytestmark = pytest.mark.integration


class Timeline:
    """Container inspects and verdicts, in the order they happened."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def inspects_after_last_verdict(self) -> list[str]:
        last = max(i for i, event in enumerate(self.events) if event == "verdict")
        return [event for event in self.events[last + 1 :] if event.startswith("inspect")]


@pytest.fixture()
def timeline(monkeypatch: pytest.MonkeyPatch) -> Timeline:
    timeline = Timeline()
    raw_inspect = Engine._raw_inspect

    def counted(self: Engine, target: str, timeout: float, what: str) -> Any:
        if "/containers/" in target:
            timeline.events.append(f"inspect {what}")
        return raw_inspect(self, target, timeout, what)

    prove, up = readiness.prove, operations.Group.up

    def proved(*args: Any, **kwargs: Any) -> readiness.Verdict:
        verdict = prove(*args, **kwargs)
        timeline.events.append("verdict")
        return verdict

    def brought_up(self: operations.Group, project: Any) -> Any:
        containers = up(self, project)  # compose, then the check: its verdict is this return
        timeline.events.append("verdict")
        return containers

    monkeypatch.setattr(Engine, "_raw_inspect", counted)
    monkeypatch.setattr(readiness, "prove", proved)
    monkeypatch.setattr(operations.Group, "up", brought_up)
    return timeline


def in_process(
    monkeypatch: pytest.MonkeyPatch, plugin: Plugin, software: str, *args: str, stdin: str = ""
) -> int:
    """`sm-plugins/SOFTWARE ARGS` run in this process, with the plugin's environment."""
    from tedge_container.software.container import SOFTWARE_TYPE as CONTAINER
    from tedge_container.software.group import SOFTWARE_TYPE as GROUP

    for key in [key for key in os.environ if key.startswith("CONTAINER_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TEDGE_CONFIG_DIR", str(plugin.config_dir))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode())))
    return contract.run(CONTAINER if software == "container" else GROUP, args[0], list(args[1:]))


def health_of(broker: Any, service: str) -> str:
    topic = f"te/device/main/service/{service}/status/health"
    return json.loads(retained(broker, topic, wait=0.5)[topic])["status"]


def test_no_inspect_after_the_readiness_gate(monkeypatch, plugin, test_images, mqtt_broker, timeline) -> None:
    use_broker(plugin, mqtt_broker)
    name = unique("once")
    assert (
        in_process(monkeypatch, plugin, "container", "install", name, "--module-version", test_images.app1)
        == 0
    )
    assert timeline.events.count("verdict") == 1
    assert timeline.inspects_after_last_verdict() == []
    assert health_of(mqtt_broker, name) == "up"


def test_no_inspect_after_the_gates_of_an_update_list(
    monkeypatch, plugin, test_images, mqtt_broker, timeline
) -> None:
    use_broker(plugin, mqtt_broker)
    names = [unique("batch") for _ in range(3)]
    actions = "".join(f"install\t{name}\t{test_images.app1}\t\n" for name in names)
    assert in_process(monkeypatch, plugin, "container", "update-list", stdin=actions) == 0
    assert timeline.events.count("verdict") == 3
    assert timeline.inspects_after_last_verdict() == []
    assert [health_of(mqtt_broker, name) for name in names] == ["up"] * 3


def test_no_inspect_after_a_groups_check(
    monkeypatch, group: Group, test_images: TestImages, tmp_path: Path, mqtt_broker, timeline
) -> None:
    use_broker(group.plugin, mqtt_broker)
    name = unique("settled")
    project = compose({"web": app(test_images.app1), "worker": app(test_images.app2)})
    args = ("install", name, "--module-version", "1", "--file", str(file_of(tmp_path, "g.yaml", project)))
    assert in_process(monkeypatch, group.plugin, "container-group", *args) == 0
    assert timeline.events.count("verdict") == 1
    assert timeline.inspects_after_last_verdict() == []
    assert health_of(mqtt_broker, f"{name}@web") == "up"
    assert health_of(mqtt_broker, f"{name}@worker") == "up"


def test_with_the_gate_off_the_report_looks_once(
    monkeypatch, plugin, test_images, mqtt_broker, timeline
) -> None:
    """Nothing was watched (`min_ready = 0`): one look, not a watch of a fixed second."""
    use_broker(plugin, mqtt_broker)
    plugin.set("container", "min_ready", 0)
    name = unique("ungated")
    assert (
        in_process(monkeypatch, plugin, "container", "install", name, "--module-version", test_images.app1)
        == 0
    )
    assert len(timeline.inspects_after_last_verdict()) == 1
    assert health_of(mqtt_broker, name) == "up"
