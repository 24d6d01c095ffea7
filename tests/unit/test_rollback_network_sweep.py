"""Which networks a rollback removes (group/recovery.py `remove_networks_left`), on a stand-in engine.

The stand-in is for what a real podman cannot be made to do on cue: answer one
network's removal with a refusal while the next goes, or fail the list call.
The integration test (tests/integration/test_group_rollback_networks.py) runs it
on the real engine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tedge_container.errors import EngineError
from tedge_container.software.group.project import load
from tedge_container.software.group.recovery import remove_networks_left

COMPOSE = """\
services:
  web:
    image: localhost/app:1
    networks: [back, ext]
networks:
  back: {}
  ext: {external: true, name: tedge}
  spare: {name: shop-spare}
"""


class _Engine:
    def __init__(self, labelled: list[str], busy: set[str], fail: bool = False) -> None:
        self.answer, self.busy, self.fail = labelled, busy, fail
        self.asked: list[tuple[str, str]] = []
        self.removals: list[str] = []

    def labelled(self, kind: str, label: str) -> list[str]:
        self.asked.append((kind, label))
        if self.fail:
            raise EngineError("podman at /run/podman/podman.sock sent an unreadable network list.")
        return self.answer

    def remove_unused(self, kind: str, name: str) -> bool:
        assert kind == "network"
        self.removals.append(name)
        return name not in self.busy


class _Group:
    def __init__(self, engine: _Engine) -> None:
        self.engine = engine
        self.environ: dict[str, str] = {}


@pytest.fixture()
def project(tmp_path: Path):
    (tmp_path / "docker-compose.yaml").write_text(COMPOSE)
    return load(str(tmp_path), "shop", {})


def test_only_the_undeclared_networks_of_the_project_are_asked_for_and_a_refusal_is_kept(project, capsys):
    engine = _Engine(["shop_back", "shop_extra", "shop_busy", "shop-spare"], busy={"shop_busy"})
    assert remove_networks_left(_Group(engine), project) == ["shop_extra"]
    assert engine.asked == [("network", "com.docker.compose.project=shop")]
    assert engine.removals == ["shop_extra", "shop_busy"]  # declared ones (shop_back, shop-spare) never
    assert "removed network shop_extra of project shop" in capsys.readouterr().err


def test_an_engine_error_leaves_the_rollback_standing(project, capsys):
    assert remove_networks_left(_Group(_Engine([], set(), fail=True)), project) == []
    assert "removing the networks the rolled-back version left failed" in capsys.readouterr().err
