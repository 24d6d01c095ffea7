"""tedge-agent's part, played: a service command from the cloud runs the shipped workflow file.

The mapper publishes `te/device/main/service/NAME/cmd/ACTION/ID` with
`{"status":"init","serviceName":...,"serviceType":...}`; the agent runs the
workflow `packaging/operations/service_ACTION.toml` (restart: tedge-agent's
own file, of the same execute step), whose script lines run here against
stand-ins for `sudo` and `tedge service` (tests/support/agent_workflow.py)
that dispatch to `service-plugins/TYPE` as the documented runner does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import REPO
from tests.support.agent_workflow import path_with, play, standins
from tests.support.group import app, compose, file_of
from tests.support.monitor import unique
from tests.support.service_commands import status_of

pytestmark = pytest.mark.integration

OPERATIONS = REPO / "packaging" / "operations"


@pytest.fixture()
def agent(plugin, broker, tmp_path: Path):
    """play(action, name, type) → (final state, operation log, tedge calls, retained state on the broker)."""
    bin_dir, calls = standins(tmp_path / "standins")
    env = path_with(bin_dir)
    env.update(plugin.env())
    env["PATH"] = f"{bin_dir}:{env['PATH']}"

    def run(action: str, name: str, service_type: str) -> tuple[dict, str, str, dict | None]:
        topic = f"te/device/main/service/{name}/cmd/{action}/c8y-mapper-{unique('op')}"
        log: list[str] = []

        def publish(command_topic: str, state: dict) -> None:
            broker.publish(command_topic, json.dumps(state), retain=True)

        final = play(
            OPERATIONS / f"service_{action}.toml",
            topic,
            {"serviceName": name, "serviceType": service_type},
            env,
            publish,
            log,
        )
        retained = broker.retained(topic).get(topic)
        return final, "".join(log), calls.read_text(), json.loads(retained) if retained else None

    return run


def test_the_shipped_workflows_drive_a_container(plugin, test_images, agent) -> None:
    plugin.set("report", "enabled", False)
    name = unique("web")
    assert plugin.run("install", name, "--module-version", test_images.app1).returncode == 0
    for action, expected in (
        ("stop", "exited"),
        ("start", "running"),
        ("pause", "paused"),
        ("unpause", "running"),
    ):
        final, log, calls, retained = agent(action, name, "container")
        assert final["status"] == "successful", (action, final, log)
        assert retained == final  # what the cloud's mapper reads
        assert f"service {action} {name} --service-type container" in calls
        assert status_of(plugin, name) == expected, action

    # A failure: the reason points at the operation log, which ends with the plugin's line.
    final, log, _, _ = agent("stop", "no-such-" + name, "container")
    assert final["status"] == "failed"
    assert "see the operation log" in final["reason"]
    assert log.strip().splitlines()[-1].startswith(f"Stopping container service no-such-{name} failed: ")
    # An action turned off on the device: "not supported" (exit 2 passes through the runner).
    plugin.set("service_commands", "actions", ["start", "stop"])
    final, log, _, _ = agent("pause", name, "container")
    assert final["status"] == "failed" and "not supported" in final["reason"], (final, log)
    assert status_of(plugin, name) == "running"


def test_the_shipped_workflows_drive_a_group_service(group, test_images, tmp_path: Path, agent) -> None:
    name = unique("shop")
    result = group.install(
        name, "1.0", file_of(tmp_path, "compose.yaml", compose({"web": app(test_images.app1)}))
    )
    assert result.returncode == 0, result.stderr
    web = group.containers(name)["web"]["id"]
    final, log, _, _ = agent("stop", f"{name}@web", "container-group")
    assert final["status"] == "successful", (final, log)
    assert status_of(group.plugin, web) == "exited"
    final, log, _, _ = agent("start", f"{name}@web", "container-group")
    assert final["status"] == "successful", (final, log)
    assert status_of(group.plugin, web) == "running"


@pytest.mark.parametrize("action", ["start", "stop", "pause", "unpause"])
def test_other_service_types_are_never_acted_on(agent, action) -> None:
    """tedge-agent, a mapper, a systemd service: failed with a reason naming the type, `tedge` never run."""
    for name, service_type in (("tedge-agent", "service"), ("mosquitto", "systemd"), ("x", "bad type;rm")):
        final, log, calls, _ = agent(action, name, service_type)
        assert final["status"] == "failed", (final, log)
        assert "acts only on services of type container and container-group" in final["reason"]
        if service_type != "bad type;rm":
            assert f"type is '{service_type}'" in final["reason"]
        assert calls == ""  # tedge service was never called
