"""The readiness gate's rules, on recorded inspect answers and a fake clock (no engine needed)."""

from __future__ import annotations

from collections.abc import Iterator

from tedge_container.software.readiness import failure_of, health_status, prove

RUNNING = {"State": {"Status": "running"}, "RestartCount": 0, "Config": {}}
HEALTHCHECK = {"Healthcheck": {"Test": ["CMD-SHELL", "test -f /ready"]}}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def answers(*states: dict) -> Iterator[dict]:
    """Each inspect answer in turn; the last one repeats."""
    yield from states
    while True:
        yield states[-1]


def test_steady_container_is_ready_after_min_ready() -> None:
    clock = Clock()
    verdict = prove(lambda: RUNNING, lambda: "", 3.0, 60.0, clock, clock.sleep)
    assert verdict.ready and verdict.health == "up"
    assert clock.now - 100.0 == 3.0
    assert verdict.detail == "running, not restarted, for 3 s"


def test_container_that_exits_fails_at_once() -> None:
    clock = Clock()
    exited = {"State": {"Status": "exited", "ExitCode": 3}, "RestartCount": 0}
    states = answers(RUNNING, exited)
    verdict = prove(lambda: next(states), lambda: "", 3.0, 60.0, clock, clock.sleep)
    assert not verdict.ready and verdict.health == "down"
    assert verdict.detail == "it exited with code 3 (0.2 s after it started)"


def test_restarted_container_fails_even_while_running_again() -> None:
    """Once restarted, inspect says exit code 0: the code comes from the engine's events."""
    clock = Clock()
    restarted = {"State": {"Status": "running", "ExitCode": 0}, "RestartCount": 1}
    verdict = prove(lambda: restarted, lambda: "", 3.0, 60.0, clock, clock.sleep, last_exit=lambda: 3)
    assert not verdict.ready
    assert verdict.detail.startswith("it exited with code 3 and was restarted 1 time ")
    assert failure_of(restarted) == "it exited and was restarted 1 time"
    assert failure_of(restarted, lambda: None) == "it exited and was restarted 1 time"


def test_gate_off_observes_nothing() -> None:
    verdict = prove(lambda: 1 / 0, lambda: 1 / 0, 0, 60.0)  # neither callable may be used
    assert verdict.ready and not verdict.checked and verdict.health is None
    assert "container.min_ready = 0" in verdict.detail


def test_healthcheck_must_pass_and_is_run_by_the_gate() -> None:
    clock = Clock()
    results = answers("starting", "unhealthy", "healthy")
    runs = []

    def run_healthcheck() -> str:
        runs.append(clock.now)
        return next(results)

    data = {**RUNNING, "Config": HEALTHCHECK}
    verdict = prove(lambda: data, run_healthcheck, 3.0, 60.0, clock, clock.sleep)
    assert verdict.ready and verdict.detail == "healthy after 2.0 s"
    assert len(runs) == 3


def test_healthcheck_that_never_passes_fails_at_health_timeout() -> None:
    clock = Clock()
    data = {**RUNNING, "Config": HEALTHCHECK}
    verdict = prove(lambda: data, lambda: "unhealthy", 3.0, 5.0, clock, clock.sleep)
    assert not verdict.ready
    assert clock.now - 100.0 == 5.0
    assert "did not pass within 5 s (last status: unhealthy" in verdict.detail


def test_healthcheck_none_means_no_healthcheck() -> None:
    clock = Clock()
    data = {**RUNNING, "Config": {"Healthcheck": {"Test": ["NONE"]}}}
    verdict = prove(lambda: data, lambda: 1 / 0, 1.0, 60.0, clock, clock.sleep)
    assert verdict.ready and verdict.detail.startswith("running")


def test_states_of_podman_4_and_5() -> None:
    assert health_status({"State": {"Healthcheck": {"Status": "healthy"}}}) == "healthy"  # podman 4.3
    assert health_status({"State": {"Health": {"Status": "unhealthy"}}}) == "unhealthy"  # podman 5
    assert failure_of(None) == "it disappeared"
    assert failure_of({"State": {"Status": "running", "OOMKilled": True}}).startswith("it was killed")
