"""Service commands, the pure parts: the command line, the workflows' type check, the record in
the twin, and how the monitor declares capabilities within its budget (a recording link, a fake clock)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.unit.test_monitor_state import accepts, inspect  # the recorded podman 4.3 data

from tedge_container.monitor.announce import Announce
from tedge_container.monitor.budget import BURST
from tedge_container.monitor.crashloop import CrashLoops
from tedge_container.monitor.state import Change, Commands, observe
from tedge_container.service import ACTIONS, record, workflow
from tedge_container.service.actions import Unsupported
from tedge_container.service.dispatch import Usage, parse
from tedge_container.status.topics import Topics

__all__ = ["accepts"]  # a fixture, used by name

MANAGED = {"io.thin-edge.container.managed-by": "tedge-container-plugin"}


class Recording:
    """The monitor's link: every retained message, in order."""

    def __init__(self) -> None:
        self.retained: dict[str, Any] = {}
        self.sent: list[tuple[str, Any]] = []

    def retain(self, topic: str, payload: Any) -> None:
        self.retained[topic] = payload
        self.sent.append((topic, payload))

    def send(self, topic: str, payload: Any) -> None:
        pass


def test_the_command_line_is_action_and_name_only() -> None:
    assert parse("container", ["stop", "web"]) == ("stop", "web")
    for args in ([], ["stop"], ["stop", "web", "x"], ["stop", "-web"], ["-h", "web"], ["stop", "we\tb"]):
        with pytest.raises(Usage):
            parse("container", args)
    with pytest.raises(Unsupported):
        parse("container", ["reload", "web"])


def test_a_plugin_file_of_another_name_supports_nothing(capsys) -> None:
    from tedge_container.service.dispatch import main

    assert main("docker", ["stop", "web"]) == 2
    assert "container and container-group only" in capsys.readouterr().err


def test_the_workflow_check_lets_only_container_types_through() -> None:
    assert workflow.next_state("container") == {"status": "execute"}
    assert workflow.next_state("container-group") == {"status": "execute"}
    failed = workflow.next_state("service")
    assert failed["status"] == "failed" and "type is 'service'" in failed["reason"]
    hostile = workflow.next_state('x"}\n:::end-tedge:::')
    assert hostile["status"] == "failed" and "not a valid service type" in hostile["reason"]


def test_the_twin_says_stopped_by_command_only_while_it_holds(tmp_path: Path) -> None:
    where = tmp_path / "records"
    where.mkdir()
    (where / "web.json").write_text(json.dumps({"action": "stop", "time": "2026-12-07T01:02:03Z"}))
    assert record.twin_fields(str(where), "web", "exited") == {
        "stoppedBy": "command",
        "stoppedAt": "2026-12-07T01:02:03Z",
    }
    assert record.twin_fields(str(where), "web", "running") == {}  # started by hand meanwhile
    (where / "web.json").write_text(json.dumps({"action": "stop", "time": "T", "unix": 1000.0}))
    assert record.twin_fields(str(where), "web", "exited", started_at=999.0)["stoppedBy"] == "command"
    assert (
        record.twin_fields(str(where), "web", "exited", started_at=1001.0) == {}
    )  # started since, exited again
    assert record.twin_fields(str(where), "other", "exited") == {}
    (where / "bad.json").write_text("[not json")
    assert record.twin_fields(str(where), "bad", "exited") == {}
    assert record.twin_fields(str(where), "../web", "exited") == {}


def test_observe_marks_only_managed_containers_and_adds_the_record(accepts, tmp_path: Path) -> None:
    commands = Commands(group_root=str(tmp_path / "compose"), records=str(tmp_path))
    by_hand = inspect("running")
    del by_hand["Config"]["Labels"]["io.thin-edge.module.version"]  # recorded with the module label
    assert observe(by_hand, accepts, commands=commands).commandable is False
    assert observe(inspect("running", **MANAGED), accepts, commands=commands).commandable is True
    assert observe(inspect("running", **MANAGED), accepts).commandable is False  # the feature off
    stopped = observe(inspect("stopped", **MANAGED), accepts, commands=commands)
    (tmp_path / f"{stopped.name}.json").write_text(json.dumps({"action": "stop", "time": "T"}))
    twin = observe(inspect("stopped", **MANAGED), accepts, commands=commands).twin["container"]
    assert twin["stoppedBy"] == "command" and twin["stoppedAt"] == "T"


def announce(actions: list[str]) -> tuple[Announce, Recording, Topics]:
    link, topics = Recording(), Topics("te", "device/main//")
    return Announce(link, topics, CrashLoops(3, 300), None, actions=actions), link, topics  # type: ignore[arg-type]


def test_capabilities_go_with_the_first_registration_at_once_and_never_again(accepts) -> None:
    board, link, topics = announce(list(ACTIONS))
    commands = Commands(records="")
    running = observe(inspect("running", **MANAGED), accepts, commands=commands)
    stopped = observe(inspect("stopped", **MANAGED), accepts, commands=commands)
    name = running.name
    board.apply([Change("register", name, running)], now=0)
    board.flush(0)
    capability_topics = [topics.capability(name, action) for action in ACTIONS]
    assert [topic for topic, _ in link.sent] == [
        topics.service(name),
        *capability_topics,
        topics.health(name),
    ]
    assert all(link.retained[topic] == {} for topic in capability_topics)
    # A stop right after: within the budget at once, and no capability again.
    link.sent.clear()
    board.apply([Change("register", name, stopped)], now=0.1)
    board.flush(0.1 + 1)
    assert [topic for topic, _ in link.sent] == [topics.service(name), topics.health(name)]
    # Deregistered: cleared.
    link.sent.clear()
    board.deregister(name)
    assert all(link.retained[topic] is None for topic in capability_topics)
    assert board.budget.burst == BURST + len(ACTIONS)


def test_without_actions_nothing_changes(accepts) -> None:
    board, link, _ = announce([])
    running = observe(inspect("running", **MANAGED), accepts, commands=Commands())
    board.apply([Change("register", running.name, running)], now=0)
    board.flush(0)
    board.deregister(running.name)
    assert not [topic for topic, _ in link.sent if "/cmd/" in topic]
    assert board.budget.burst == BURST


def test_a_stale_registration_gets_its_capabilities_cleared() -> None:
    """An sm-plugin registered it (and declared), the monitor never saw a container: cleared with it."""
    board, link, topics = announce(["restart"])
    board.deregister("ghost")
    assert link.retained[topics.capability("ghost", "restart")] is None


def test_pause_is_refused_by_a_rootless_engine_on_cgroups_v1() -> None:
    """The engine's `info` decides (mocked: a rootless podman on cgroups v1 cannot be made here)."""
    from tedge_container.engine.control import ControlCalls
    from tedge_container.service.capabilities import supported

    class Engine(ControlCalls):
        socket_path = ""  # no service to recall its answer for (engine/info.py)

        def __init__(self, host: dict[str, Any]) -> None:
            self.host = host

        def engine_info(self, timeout: float | None = None) -> dict[str, Any]:
            return {"host": self.host}

    v1_rootless = Engine({"cgroupVersion": "v1", "security": {"rootless": True}})
    assert "cgroups v1" in v1_rootless.pause_refusal()
    assert Engine({"cgroupVersion": "v2", "security": {"rootless": True}}).pause_refusal() == ""
    assert Engine({"cgroupVersion": "v1", "security": {"rootless": False}}).pause_refusal() == ""

    class Config:
        def get(self, key: str) -> Any:
            return list(ACTIONS)

        def origin(self, key: str) -> str:
            return "test"

    assert supported(Config(), v1_rootless) == ["start", "stop", "restart"]  # type: ignore[arg-type]
