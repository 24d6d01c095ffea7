"""A group proves itself as a container does: every service runs `container.min_ready` unrestarted.

By default (`container_group.settle_time` unset) a group install or upgrade is
accepted only when each service has kept running, never restarted, for
`container.min_ready`; a service that dies a second after its start with
`restart: always` fails it (exit 2) and the previous version runs again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.integration.test_mqtt import retained, unique, use_broker
from tests.support.group import Group, app, compose, file_of, last_line, states
from tests.support.images import TestImages

pytestmark = pytest.mark.integration

DIES_AFTER_A_SECOND = ["sh", "-c", "sleep 1; exit 3"]


def test_an_upgrade_to_a_crash_looping_version_fails_and_the_previous_runs_again(
    group: Group, test_images: TestImages, tmp_path: Path, mqtt_broker
) -> None:
    use_broker(group.plugin, mqtt_broker)
    group.plugin.set("container", "min_ready", 2.5)  # the tests' 0.5 s would miss a death after 1 s
    name = unique("loop")
    good = compose({"web": app(test_images.app1), "worker": app(test_images.app1)})
    result = group.install(name, "0.9", file_of(tmp_path, "good.yaml", good))
    assert result.returncode == 0, result.stderr
    before = group.containers(name)

    dying = app(test_images.app2, command=DIES_AFTER_A_SECOND)
    bad = compose({"web": app(test_images.app1), "worker": dying})
    result = group.install(name, "1.0", file_of(tmp_path, "bad.yaml", bad))
    assert result.returncode == 2, result.stderr
    line = last_line(result)
    assert line.startswith(f"Installing group {name} 1.0 failed: service worker "), line
    assert "restart" in line or "exited" in line, line
    assert line.endswith("The previous version 0.9 runs again."), line
    assert group.modules() == f"{name}\t0.9\n"
    assert states(group, name) == {"web": "running", "worker": "running"}
    assert group.containers(name)["worker"]["image"] == test_images.app1
    assert group.containers(name)["web"]["id"] == before["web"]["id"]  # unchanged service: untouched
    # The failure is what the cloud hears, not an installed 1.0.
    topic = f"te/device/main/service/{name}@worker"
    registration = json.loads(retained(mqtt_broker, topic, wait=0.5)[topic])
    assert registration["container"]["moduleVersion"] == "0.9"


def test_settle_time_set_by_the_operator_still_decides(
    group: Group, test_images: TestImages, tmp_path: Path
) -> None:
    """`container_group.settle_time = 0`: one look after compose, as before (the bench's fast row)."""
    group.plugin.set("container", "min_ready", 2.5)
    group.plugin.set("container_group", "settle_time", 0)
    name = unique("quick")
    bad = compose({"worker": app(test_images.app2, command=DIES_AFTER_A_SECOND)})
    result = group.install(name, "1.0", file_of(tmp_path, "bad.yaml", bad))
    assert result.returncode == 0, result.stderr  # the operator chose not to wait
    assert group.modules() == f"{name}\t1.0\n"
