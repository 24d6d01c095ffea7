"""How long a group's services must prove themselves, and the health the check hands to the report."""

from __future__ import annotations

from pathlib import Path

from tedge_container.config import Config
from tedge_container.software.group import checks, project


def load(tmp_path: Path, text: str) -> Config:
    (tmp_path / "plugins").mkdir(exist_ok=True)
    (tmp_path / "plugins" / "tedge-container-plugin.toml").write_text(text)
    return Config.load({"TEDGE_CONFIG_DIR": str(tmp_path)})


def test_unset_settle_time_follows_the_containers_min_ready(tmp_path: Path) -> None:
    assert checks.settle_seconds(load(tmp_path, "")) == 3.0
    assert checks.settle_seconds(load(tmp_path, "[container]\nmin_ready = 7\n")) == 7.0
    assert checks.settle_seconds(load(tmp_path, "[container]\nmin_ready = 0\n")) == 0.0


def test_a_settle_time_the_operator_set_decides(tmp_path: Path) -> None:
    config = load(tmp_path, "[container]\nmin_ready = 7\n[container_group]\nsettle_time = 0\n")
    assert checks.settle_seconds(config) == 0.0
    assert checks.settle_seconds(load(tmp_path, "[container_group]\nsettle_time = 0.25\n")) == 0.25


def running(healthcheck: bool = False, restarts: int = 0) -> dict:
    config = {"Healthcheck": {"Test": ["CMD-SHELL", "true"]}} if healthcheck else {}
    return {
        "Created": "2026-01-01T00:00:10Z",
        "RestartCount": restarts,
        "Config": config,
        "State": {"Status": "running", "StartedAt": "2026-01-01T00:00:10.5Z"},
    }


def test_a_service_with_a_healthcheck_is_left_to_its_check() -> None:
    spec = project.ServiceSpec("web", "x", "always", False)
    started = checks.parse_time("2026-01-01T00:00:10.5Z")
    # Without the gate, or without a check: it must run for the settle time first.
    assert checks._judge(spec, running(True), started - 1, 3, started + 0.1)[0] == "wait"
    assert checks._judge(spec, running(False), started - 1, 3, started + 0.1, True)[0] == "wait"
    assert checks._judge(spec, running(True), started - 1, 3, started + 0.1, True)[0] == "ok"
    # A restart fails it all the same.
    assert checks._judge(spec, running(True, restarts=1), started - 1, 3, started + 0.1, True)[0] == "failed"


def test_the_report_gets_what_the_check_saw() -> None:
    exited = {"State": {"Status": "exited", "ExitCode": 0}, "RestartCount": 0}
    checked = checks.Checked({"web": {}, "job": {}}, {"web": running(), "job": exited})
    assert checked.health == {"web": "up", "job": "down"}
