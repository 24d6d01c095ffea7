"""An inspect that races a container's vanishing process (podman's 500 `no such process`) is asked again.

The race (seen in CI on a container the engine keeps restarting) cannot be
produced on demand, so the engine's answers are scripted here: a fake of the
one raw request, the rest of the adapter is real.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tedge_container.config import Config
from tedge_container.engine import Engine
from tedge_container.errors import EngineError, RetryLaterError

RACE = (500, b'{"cause":"no such process","message":"read /proc/21030/cgroup: no such process"}')
INSPECT = (200, b'{"Id":"abc","State":{"Status":"running"}}')


def engine_answering(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answers: list) -> tuple[Engine, list]:
    monkeypatch.setattr("tedge_container.engine.connection.time.sleep", lambda _seconds: None)
    engine = Engine(Config.load(environ={"TEDGE_CONFIG_DIR": str(tmp_path)}))
    asked: list[str] = []

    def raw_request(target: str, timeout: float | None = None, method: str = "GET", payload=None):
        asked.append(target)
        return answers.pop(0)

    monkeypatch.setattr(engine, "_raw_request", raw_request)
    return engine, asked


def test_a_raced_inspect_is_asked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, asked = engine_answering(tmp_path, monkeypatch, [RACE, RACE, INSPECT])
    assert engine.inspect_container("web", timeout=1)["Id"] == "abc"
    assert len(asked) == 3


def test_an_endless_race_is_worth_a_later_retry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, asked = engine_answering(tmp_path, monkeypatch, [RACE] * 5)
    with pytest.raises(RetryLaterError) as caught:
        engine.inspect_container("web", timeout=1)
    assert caught.value.exit_code == 3 and "retry in a moment" in str(caught.value)
    assert len(asked) == 5


def test_other_errors_are_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, asked = engine_answering(tmp_path, monkeypatch, [(500, b'{"message":"boom"}')])
    with pytest.raises(EngineError):
        engine.inspect_container("web", timeout=1)
    assert len(asked) == 1


# A network create races an interface that vanishes while podman lists the host's (seen when
# several engines share the host's network namespace); scripted for the same reason as above.
NETWORK_RACE = (
    500,
    b'{"cause":"no such network interface","message":"route ip+net: no such network interface"}',
)


def test_a_raced_network_create_is_asked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tedge_container.engine.containers.time.sleep", lambda _seconds: None)
    engine, asked = engine_answering(tmp_path, monkeypatch, [NETWORK_RACE, (200, b"{}")])
    monkeypatch.setattr(engine, "has_network", lambda name: False)
    engine.ensure_network("tedge")
    assert len(asked) == 2 and all(target.endswith("/networks/create") for target in asked)


def test_a_lasting_network_race_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tedge_container.engine.containers.time.sleep", lambda _seconds: None)
    engine, asked = engine_answering(tmp_path, monkeypatch, [NETWORK_RACE] * 3)
    monkeypatch.setattr(engine, "has_network", lambda name: False)
    with pytest.raises(EngineError, match=r"could not create network tedge: .*no such network interface"):
        engine.ensure_network("tedge")
    assert len(asked) == 3


# Another netavark on the host removed a shared firewall chain while this start filled it (seen with
# engines side by side); scripted, as it cannot be produced on demand.
FIREWALL_RACE = (
    500,
    b'{"message":"netavark (exit code 1): unable to append rule \'-d 10.102.1.0/24 -j ACCEPT\' to table '
    b"'nat': code: 1, msg: iptables: No chain/target/match by that name.\\n\"}",
)


def test_a_start_that_races_another_netavark_is_tried_again(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("tedge_container.engine.containers.time.sleep", lambda _seconds: None)
    engine, asked = engine_answering(tmp_path, monkeypatch, [FIREWALL_RACE, (204, b"")])
    engine.start_container("web")
    assert len(asked) == 2 and all(target.endswith("/containers/web/start") for target in asked)


def test_other_start_failures_are_not_tried_again(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("tedge_container.engine.containers.time.sleep", lambda _seconds: None)
    engine, asked = engine_answering(tmp_path, monkeypatch, [(500, b'{"message":"OCI runtime error"}')])
    with pytest.raises(EngineError, match="could not start container web"):
        engine.start_container("web")
    assert len(asked) == 1
