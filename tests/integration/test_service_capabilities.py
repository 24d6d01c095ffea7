"""Service commands on MQTT: capabilities follow the registration; a stop by command stays a stop.

What the Cumulocity mapper reads: retained `{}` on
`te/device/main/service/NAME/cmd/ACTION` while the service is registered,
cleared (retained empty) with its deregistration; and, with the monitor
running, a container stopped by a command is `down`, says so in its twin,
and stays down without a crash-loop alarm.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.support.group import Group, app, compose, file_of
from tests.support.monitor import podman, service_topic, unique, wait_until
from tests.support.service_commands import ACTIONS, service, status_of

pytestmark = pytest.mark.integration


def use_own_broker(plugin, broker) -> None:
    (Path(plugin.config_dir) / "tedge.toml").write_text(
        f'[mqtt.client]\nhost = "{broker.host}"\nport = {broker.port}\n'
    )


def capabilities(watch, name: str) -> dict[str, str]:
    """action → retained payload ('' = cleared) of every capability topic of `name` seen so far."""
    prefix = f"{service_topic(name)}/cmd/"
    return {
        topic[len(prefix) :]: payload for topic, payload in watch.state.items() if topic.startswith(prefix)
    }


def declared(watch, name: str) -> bool:
    return capabilities(watch, name) == dict.fromkeys(ACTIONS, "{}")


def cleared(watch, name: str) -> bool:
    return capabilities(watch, name) == dict.fromkeys(ACTIONS, "")


def test_sm_plugin_declares_with_install_and_clears_with_remove(plugin, test_images, broker, watch) -> None:
    use_own_broker(plugin, broker)
    name = unique("web")
    result = plugin.run("install", name, "--module-version", test_images.app1)
    assert result.returncode == 0, result.stderr
    wait_until(f"{name}'s five capabilities", lambda: declared(watch, name), timeout=15)
    assert watch.json(service_topic(name))["type"] == "container"
    result = plugin.run("remove", name)
    assert result.returncode == 0, result.stderr
    wait_until(f"{name}'s capabilities cleared", lambda: cleared(watch, name), timeout=15)
    assert watch.state[service_topic(name)] == ""


def test_update_list_declares_too_and_an_empty_list_turns_it_off(plugin, test_images, broker, watch) -> None:
    use_own_broker(plugin, broker)
    name, quiet = unique("web"), unique("quiet")
    result = plugin.run("update-list", stdin=f"install\t{name}\t{test_images.app1}\t\n")
    assert result.returncode == 0, result.stderr
    wait_until(f"{name}'s capabilities", lambda: declared(watch, name), timeout=15)

    plugin.set("service_commands", "actions", [])
    result = plugin.run("install", quiet, "--module-version", test_images.app1)
    assert result.returncode == 0, result.stderr
    wait_until(f"{quiet} registered", lambda: watch.health(quiet) == "up", timeout=5)
    result = plugin.run("remove", quiet)
    assert result.returncode == 0, result.stderr
    wait_until(f"{quiet} deregistered", lambda: watch.state.get(service_topic(quiet)) == "", timeout=5)
    assert capabilities(watch, quiet) == {}  # nothing published, nothing cleared
    assert not [topic for topic, _ in watch.live if "/cmd/" in topic and quiet in topic]


def test_group_services_get_capabilities(plugin, test_images, broker, watch, tmp_path: Path) -> None:
    data_dir = plugin.podman.workdir / "group-data" / unique("caps")
    group = Group(plugin, data_dir)
    plugin.set("report", "enabled", True)
    use_own_broker(plugin, broker)
    plugin.set("service_commands", "actions", ["restart", "stop"])
    name = unique("shop")
    result = group.install(
        name, "1.0", file_of(tmp_path, "compose.yaml", compose({"web": app(test_images.app1)}))
    )
    assert result.returncode == 0, result.stderr
    wait_until(
        "restart and stop declared",
        lambda: capabilities(watch, f"{name}@web") == {"restart": "{}", "stop": "{}"},
    )
    result = group.run("remove", name)
    assert result.returncode == 0, result.stderr
    wait_until(
        "cleared", lambda: capabilities(watch, f"{name}@web") == {"restart": "", "stop": ""}, timeout=5
    )


def test_monitor_declares_once_per_registration(plugin, test_images, monitor, watch) -> None:
    plugin.set("report", "enabled", False)  # only the monitor speaks
    name, by_hand = unique("web"), unique("hand")
    result = plugin.run("install", name, "--module-version", test_images.app1)
    assert result.returncode == 0, result.stderr
    podman(plugin, "run", "-d", "--name", by_hand, test_images.app1)
    wait_until(f"{name}'s capabilities from the monitor", lambda: declared(watch, name))
    wait_until(f"{by_hand} registered", lambda: watch.health(by_hand) == "up")
    assert capabilities(watch, by_hand) == {}  # not installed by the plugin: no buttons

    # State changes re-register the service, never its capabilities.
    for action in ("stop", "start", "restart"):
        assert service(plugin, "container", action, name).returncode == 0
    wait_until(f"{name} up again", lambda: watch.health(name) == "up")
    sent = [topic for topic, payload in watch.live if topic.startswith(f"{service_topic(name)}/cmd/")]
    assert sorted(sent) == sorted(f"{service_topic(name)}/cmd/{action}" for action in ACTIONS)

    podman(plugin, "rm", "-f", "-t", "0", name)
    wait_until(f"{name}'s capabilities cleared", lambda: cleared(watch, name))


def test_a_stop_by_command_stays_a_stop(plugin, test_images, monitor, watch) -> None:
    """Down within 2 s, twin data says so, no crash-loop alarm and `list` unchanged for 60 s."""
    plugin.set("report", "enabled", False)
    name = unique("web")
    result = plugin.run("install", name, "--module-version", test_images.app1)
    assert result.returncode == 0, result.stderr
    wait_until(
        f"{name} up with its capabilities", lambda: watch.health(name) == "up" and declared(watch, name)
    )
    listed = plugin.run("list").stdout

    result = service(plugin, "container", "stop", name)
    assert result.returncode == 0, result.stderr
    stopped_at = time.monotonic()
    wait_until(f"{name} down", lambda: watch.health(name) == "down", timeout=2.5)
    assert time.monotonic() - stopped_at <= 2.5
    twin = wait_until("the twin says stopped by command", lambda: _stopped_twin(watch, name), timeout=5)
    assert twin["stoppedBy"] == "command" and twin["stoppedAt"].endswith("Z")

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert watch.health(name) == "down"
        assert not watch.state.get(f"{service_topic(name)}/a/container_crash_loop")
        assert status_of(plugin, name) == "exited"
        time.sleep(5)
    assert plugin.run("list").stdout == listed
    assert declared(watch, name)

    result = service(plugin, "container", "start", name)
    assert result.returncode == 0, result.stderr
    wait_until(f"{name} up again", lambda: watch.health(name) == "up", timeout=5)
    wait_until(
        "the twin no longer says stopped",
        lambda: "stoppedBy" not in watch.json(service_topic(name))["container"],
    )


def _stopped_twin(watch, name: str) -> dict | None:
    twin = (watch.json(service_topic(name)) or {}).get("container") or {}
    return twin if twin.get("stoppedBy") else None
