"""The monitor's pure logic with events and inspect data recorded from podman 4.3.

data/monitor_recorded_podman4.json: `podman run -d --name web -p 18080:8080
--label io.thin-edge.module.version=app:1 app:1`, stop, start, `rm -f`,
with the libpod event stream, the raw inspect data (running, stopped) and a
stats answer, as the engine sent them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tedge_container.config import Config
from tedge_container.engine.events import _dechunk
from tedge_container.monitor.crashloop import CrashLoops
from tedge_container.monitor.metrics import usage
from tedge_container.monitor.state import Picture, event_action, observe
from tedge_container.software.container.list import ContainerFilter

RECORDED = json.loads((Path(__file__).parent / "data" / "monitor_recorded_podman4.json").read_text())


@pytest.fixture()
def accepts(tmp_path: Path) -> ContainerFilter:
    return ContainerFilter(Config.load(environ={"TEDGE_CONFIG_DIR": str(tmp_path)}))


def inspect(which: str = "running", **labels: str) -> dict[str, Any]:
    data = copy.deepcopy(RECORDED[f"inspect_{which}"])
    data["Config"]["Labels"].update(labels)
    return data


def test_events_map_to_refresh_remove_or_nothing() -> None:
    actions = [(event["Action"], event_action(event)) for event in RECORDED["events"]]
    container_id = RECORDED["inspect_running"]["Id"]
    assert ("create", ("refresh", container_id)) in actions
    assert ("died", ("refresh", container_id)) in actions
    assert ("remove", ("remove", container_id)) in actions
    assert all(result is None for action, result in actions if action in ("sync", "cleanup"))
    assert event_action({"Type": "image", "Action": "pull", "Actor": {"ID": "x"}}) is None


def test_a_running_container_is_up_with_the_go_services_twin_fields(accepts) -> None:
    observed = observe(inspect("running"), accepts)
    assert observed is not None
    assert (observed.name, observed.type, observed.health) == ("web", "container", "up")
    assert observed.running
    twin = observed.twin["container"]
    assert twin["containerId"] == RECORDED["inspect_running"]["Id"]
    assert twin["state"] == "running" and twin["containerStatus"] == "Up"
    assert twin["image"] == "localhost/tedge-test/app:1"
    assert twin["ports"] == "0.0.0.0:18080->8080/tcp"
    assert twin["createdAt"].startswith("20") and twin["command"].startswith("/bin/sh -c")
    assert twin["networkMode"] and twin["moduleVersion"] == "app:1"


def test_a_stopped_container_is_down(accepts) -> None:
    observed = observe(inspect("stopped"), accepts)
    assert observed is not None
    assert observed.health == "down" and not observed.running
    assert observed.twin["container"]["state"] == "exited"
    assert observed.twin["container"]["containerStatus"].startswith("Exited (")


def test_an_unhealthy_container_is_down(accepts) -> None:
    data = inspect("running")
    data["State"]["Health"] = {"Status": "unhealthy"}
    observed = observe(data, accepts)
    assert observed is not None and observed.health == "down"
    assert observed.twin["container"]["containerStatus"] == "Up (unhealthy)"


def test_a_compose_container_is_project_at_service(accepts) -> None:
    data = inspect("running", **{"com.docker.compose.project": "shop", "com.docker.compose.service": "db"})
    observed = observe(data, accepts)
    assert observed is not None
    assert (observed.name, observed.type) == ("shop@db", "container-group")
    assert observed.twin["container"]["project"] == "shop"
    assert observed.twin["container"]["serviceName"] == "db"


def test_use_module_name_names_an_installed_group_after_its_module(accepts, tmp_path: Path) -> None:
    working = tmp_path / "compose" / "Shop"
    working.mkdir(parents=True)
    (working / "version").write_text("1.0\nShop\n")  # the group's record: version, module name
    labels = {
        "com.docker.compose.project": "shop",
        "com.docker.compose.service": "db",
        "com.docker.compose.project.working_dir": str(working),
    }
    assert observe(inspect("running", **labels), accepts).name == "shop@db"
    assert observe(inspect("running", **labels), accepts, use_module_name=True).name == "Shop@db"
    # A project started by hand has no record: its project name stays.
    labels["com.docker.compose.project.working_dir"] = str(tmp_path / "elsewhere")
    assert observe(inspect("running", **labels), accepts, use_module_name=True).name == "shop@db"


def test_excluded_containers_are_no_services(accepts) -> None:
    assert observe(inspect("running", **{"tedge.ignore": ""}), accepts) is None
    grouped = {"com.docker.compose.project": "p", "com.docker.compose.service": "s", "tedge.ignore": "1"}
    assert observe(inspect("running", **grouped), accepts) is None


def test_the_picture_registers_changes_health_and_deregisters(accepts) -> None:
    picture = Picture()
    container_id = RECORDED["inspect_running"]["Id"]
    first = picture.refresh(container_id, inspect("running"), accepts)
    assert [change.kind for change in first] == ["register"]
    assert picture.refresh(container_id, inspect("running"), accepts) == []  # nothing new: nothing said
    stopped = picture.refresh(container_id, inspect("stopped"), accepts)
    assert [change.kind for change in stopped] == ["register"]  # the twin's state changed too
    assert stopped[0].observed is not None and stopped[0].observed.health == "down"
    assert [(c.kind, c.name) for c in picture.refresh(container_id, None, accepts)] == [("deregister", "web")]
    assert picture.services == {}


def test_a_container_mid_swap_keeps_its_service(accepts) -> None:
    picture = Picture()
    old_id = RECORDED["inspect_running"]["Id"]
    picture.refresh(old_id, inspect("running"), accepts)
    renamed = inspect("running")
    renamed["Name"] = "web.tedge-old"
    assert picture.refresh(old_id, renamed, accepts) == []
    new = inspect("running")
    new["Id"] = "f" * 64
    changes = picture.refresh(new["Id"], new, accepts)
    assert [c.kind for c in changes] == ["register"]
    assert picture.remove(old_id) == []  # the old container's removal no longer concerns `web`


def test_a_resync_deregisters_what_vanished_meanwhile(accepts) -> None:
    picture = Picture()
    container_id = RECORDED["inspect_running"]["Id"]
    picture.refresh(container_id, inspect("running"), accepts)
    assert [(c.kind, c.name) for c in picture.sync([])] == [("deregister", "web")]


def test_a_crash_loop_raises_at_the_threshold_and_clears_after_a_steady_run() -> None:
    loops = CrashLoops(threshold=3, clear_after=60, update_interval=1)
    assert loops.observe("web", 5, True, now=0, history=True) is None  # before the monitor looked
    assert loops.observe("web", 7, True, now=1) is None
    verdict = loops.observe("web", 8, True, now=2)
    assert verdict is not None and (verdict.action, verdict.restarts) == ("raise", 3)
    assert loops.looping("web") and not loops.looping("other")
    assert loops.observe("web", 8, True, now=3) is None  # said once
    verdict = loops.observe("web", 9, True, now=4)
    assert verdict is not None and verdict.restarts == 4  # the text follows the count
    assert loops.tick(now=63) == []  # not yet 60 s without a restart
    assert [(name, v.action) for name, v in loops.tick(now=64)] == [("web", "clear")]
    assert loops.observe("web", 10, True, now=65) is None  # counted from the new baseline


def test_a_container_that_appears_later_counts_from_zero() -> None:
    loops = CrashLoops(threshold=3, clear_after=60)
    assert loops.observe("new", 2, False, now=0) is None  # restarted twice before its first event
    verdict = loops.observe("new", 3, True, now=1)
    assert verdict is not None and verdict.restarts == 3


def test_a_stopped_container_does_not_clear_and_removal_does() -> None:
    loops = CrashLoops(threshold=1, clear_after=5)
    loops.observe("web", 0, False, now=0)
    assert loops.observe("web", 1, False, now=1) is not None
    assert loops.tick(now=100) == []  # not running: no steady run
    assert loops.forget("web") is True
    assert loops.forget("web") is False


def test_metrics_count_bytes_received_and_sent() -> None:
    entry = RECORDED["stats"]["Stats"][0]
    measured = usage(entry)["container"]
    assert measured["netio"] == entry["NetInput"] + entry["NetOutput"]
    assert measured["memory"] == round(entry["MemPerc"], 4) > 0


def test_a_chunked_stream_is_decoded_across_reads() -> None:
    body = b'{"a":1}\n{"b":2}\n'
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    pieces = [chunked[i : i + 5] for i in range(0, len(chunked), 5)]
    assert b"".join(_dechunk(iter(pieces))) == body


def test_a_service_name_that_cannot_be_a_topic_is_no_service_and_said_once(accepts) -> None:
    told = []
    picture = Picture(unfit=lambda container, name, kind: told.append((container, name, kind)))
    odd = inspect("running", **{"com.docker.compose.project": "p", "com.docker.compose.service": "x/y"})
    assert picture.refresh(odd["Id"], odd, accepts) == []
    assert picture.services == {}
    assert told == [("web", "p@x/y", "container-group")]  # service.py warns once per container


def test_vanished_services_are_kept_in_the_cloud_when_many_and_the_alarm_follows(tmp_path) -> None:
    from tedge_container.monitor.vanished import ALARM_TYPE, Vanished
    from tedge_container.status.topics import Topics

    class Retained:  # what the broker keeps (the link's retain, recorded)
        def __init__(self) -> None:
            self.retained: dict[str, Any] = {}

        def retain(self, topic: str, payload: Any) -> None:
            self.retained[topic] = payload

    link, topics = Retained(), Topics("te", "device/main//")
    alarm = topics.device_alarm(ALARM_TYPE)
    vanished = Vanished(link, topics, limit=3, state_dir=str(tmp_path))  # type: ignore[arg-type]
    assert vanished.decide(["a", "b", "c"], "/run/podman.sock", now=0) is True  # few: deleted
    assert vanished.decide(["a", "b", "c", "d"], "/run/podman.sock", now=0) is False
    assert link.retained[alarm]["text"].startswith("4 container services vanished at once")
    assert not vanished.cleared("a", now=1)  # our own deregistration, sent back by the broker
    again = Vanished(link, topics, limit=3, state_dir=str(tmp_path))  # type: ignore[arg-type]
    assert again.names == {"a", "b", "c", "d"}  # kept over a restart
    again.came_back("a")
    assert again.cleared("b", now=100) is True  # an sm-plugin's remove: deleted now
    assert again.cleared("b", now=100) is False
    assert link.retained[alarm]["text"].startswith("2 container services")
    again.came_back("c")
    again.cleared("d", now=101)
    assert link.retained[alarm] is None


def test_a_malformed_event_or_message_does_not_end_the_loop(tmp_path: Path, capsys) -> None:
    """The Monitor's loop itself, not started (no broker, no engine): items are handled one by one."""
    from tedge_container.monitor.service import Monitor
    from tedge_container.status.settings import mqtt_settings
    from tedge_container.status.topics import Topics

    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "tedge-container-plugin.toml").write_text(f'data_dir = "{tmp_path}"\n')
    config = Config.load(environ={"TEDGE_CONFIG_DIR": str(tmp_path)})
    monitor = Monitor(config, mqtt_settings(config, tedge={}), Topics("te", "device/main//"), tedge={})
    monitor.queue.put(("event", {"Type": "container", "Action": "die", "Actor": "not-a-dict"}))
    monitor.queue.put(("registration", ["not", "a", "name"]))  # an unexpected error in its handling
    monitor.queue.put(("event", {"Type": "container", "Action": "start", "Actor": {"ID": "abc"}}))
    monitor._round()
    assert not monitor.stop.is_set()
    err = capsys.readouterr().err
    assert "an event podman sent is not understood" in err and "handling registration failed" in err


def test_a_died_event_tells_the_exit_code_of_the_run_that_ended() -> None:
    from tedge_container.monitor.last_words import died_exit_code

    actor = {"ID": "abc", "Attributes": {"containerExitCode": "3"}}
    died = {"Type": "container", "Action": "died", "Actor": actor}
    assert died_exit_code(died) == ("abc", (3, None))
    assert died_exit_code({**died, "time": 1700000000}) == ("abc", (3, 1700000000.0))
    assert died_exit_code({**died, "time": 1700000000, "timeNano": 1700000000123456789}) == (
        "abc",
        (3, 1700000000.1234567),
    )
    assert died_exit_code({**died, "Action": "start"}) is None
    assert died_exit_code({**died, "Actor": {"ID": "abc", "Attributes": {}}}) is None  # podman did not say
    assert died_exit_code({**died, "Actor": {"ID": "abc", "Attributes": {"containerExitCode": "x"}}}) is None


def test_the_last_words_are_what_the_run_wrote_before_its_death() -> None:
    """A crash-looping container may run again before the alarm asks; its new run's first line
    (written before podman records the new start) must not stand for the last words. A stand-in
    engine: the interleaving of podman's restart with the monitor's questions is the fault."""
    from tedge_container.monitor.last_words import Death, last_words

    asked: list[float | None] = []

    class Engine:
        def inspect_container(self, name: str, timeout: float) -> dict:
            state = {"Status": "running", "StartedAt": "2023-11-14T22:13:21Z"}
            return {"State": state, "Config": {"Env": ["DB_PASSWORD=s3cret"]}}

        def log_tail(self, name: str, lines: int, timeout: float, until: float | None = None) -> str:
            asked.append(until)
            return "starting\nfatal: password s3cret\n" if until == 1700000000.5 else "starting\n"

    text = last_words(Engine(), "abc", Death(3, 1700000000.5))  # type: ignore[arg-type]
    assert text == " It last exited with code 3; its last output: 'fatal: password ***'.", text
    assert asked == [1700000000.5]
    assert last_words(Engine(), "abc") == " Its last output: 'starting'."  # no event: before the start
    assert asked[-1] == 1700000001.0


def test_podman_times_are_read_to_the_microsecond() -> None:
    from tedge_container.monitor.last_words import _unix_time

    assert _unix_time("1970-01-01T00:00:01.123456789Z") == 1.123456
    assert _unix_time("1970-01-01T01:00:02+01:00") == 2.0
    assert _unix_time("0001-01-01T00:00:00Z") is None  # podman's "never started"
    assert _unix_time("yesterday") is None


def test_exit_codes_are_remembered_per_container_and_bounded() -> None:
    from tedge_container.monitor.last_words import ExitCodes

    codes = ExitCodes()
    codes.MAX_REMEMBERED = 2

    def died(container_id: str, code: int) -> dict:
        attributes = {"containerExitCode": str(code)}
        return {"Action": "died", "Actor": {"ID": container_id, "Attributes": attributes}}

    codes.note(died("a", 1))
    codes.note(died("a", 3))
    assert codes.get("a") == (3, None)
    codes.note({"Action": "remove", "Actor": {"ID": "a"}}, removed="a")
    assert codes.get("a") is None
    for container_id in "bcd":
        codes.note(died(container_id, 2))
    assert len(codes.codes) <= 2 and codes.get("d") == (2, None)
