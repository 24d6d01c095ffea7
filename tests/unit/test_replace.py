"""The replacement's rollback, step by step.

A fake engine stands in for podman here because the faults injected (a
rename or removal refused half-way through a swap) cannot be produced on a
real engine on demand; the real swap and its common failures (no CMD, a
command that cannot start) are covered by tests/integration/test_contract.py.
"""

from __future__ import annotations

import pytest

from tedge_container.config import DEFAULTS, Config
from tedge_container.engine import Container
from tedge_container.errors import EngineError
from tedge_container.software.container.install import replace_container


class FakeEngine:
    """Containers by name; `fail` names the operation (and its argument) to refuse once."""

    def __init__(self, containers: dict[str, str], fail: tuple[str, str] | None = None) -> None:
        self.containers = dict(containers)  # name -> image
        self.fail = fail
        self.removed_images: list[str] = []

    def _check(self, operation: str, argument: str) -> None:
        if self.fail == (operation, argument):
            self.fail = None
            raise EngineError(f"podman could not {operation} {argument}: injected")

    def get_container(self, name: str) -> Container | None:
        if name not in self.containers:
            return None
        image = self.containers[name]
        return Container(f"id-{name}", name, image, f"sha-{image}", {}, "running")

    def remove_container(self, name: str) -> None:
        self._check("remove", name)
        self.containers.pop(name, None)

    def rename_container(self, current: str, new: str) -> None:
        self._check("rename", current)
        if new in self.containers:
            raise EngineError(f"name {new} is in use")
        self.containers[new] = self.containers.pop(current)

    def ensure_network(self, name: str) -> None:
        pass

    def create_container(self, name, image, labels, network, aliases, publish_all, hostname="") -> str:
        self._check("create", name)
        self.containers[name] = image
        return f"id-{name}"

    def start_container(self, name: str) -> None:
        self._check("start", name)

    def container_state(self, name: str) -> dict:
        return {"Status": "running"}

    def inspect_container(self, name: str, timeout: float) -> dict | None:
        if name not in self.containers:
            return None
        crashing = self.containers[name].startswith("crash")
        state = {"Status": "exited", "ExitCode": 3} if crashing else {"Status": "running"}
        return {"State": state, "RestartCount": 2 if crashing else 0, "Config": {}}

    def run_healthcheck(self, name: str, timeout: float) -> str:
        return ""

    def log_tail(self, name: str, lines: int, timeout: float) -> str:
        return "starting\nerror: FOO is not set\n"

    def containers_using_image(self, image_id: str) -> list[Container]:
        return [c for c in map(self.get_container, self.containers) if c and c.image_id == image_id]

    def remove_image(self, image: str) -> bool:
        self.removed_images.append(image)
        return True

    def find_image(self, name: str) -> dict | None:
        return None  # every image removed had no other name


# The readiness gate is off here (its rules: test_readiness.py; on a real engine: test_readiness_gate.py).
CONFIG = Config({**DEFAULTS, "container.min_ready": 0.0}, "", "/etc/tedge")
GATED = Config({**DEFAULTS, "container.min_ready": 0.3}, "", "/etc/tedge")


def test_success_swaps_and_prunes_the_old_image() -> None:
    engine = FakeEngine({"web": "ghcr.io/acme/app:1"})  # a registry gives it back: prunable
    replace_container(engine, CONFIG, "web", "app:2", "app:2")
    assert engine.containers == {"web": "app:2"}
    assert engine.removed_images == ["ghcr.io/acme/app:1"]


@pytest.mark.parametrize("image", ["localhost/acme/app:1", "app:1"])
def test_an_image_no_registry_gives_back_is_not_pruned(image: str) -> None:
    engine = FakeEngine({"web": image})  # not recorded as pulled or loaded by the plugin (no data_dir)
    replace_container(engine, CONFIG, "web", "app:2", "app:2")
    assert engine.containers == {"web": "app:2"}
    assert engine.removed_images == []


@pytest.mark.parametrize(
    "fail",
    [
        ("create", "web.tedge-new"),
        ("start", "web.tedge-new"),
        ("rename", "web"),  # the old one cannot step aside
        ("rename", "web.tedge-new"),  # the new one cannot take the name
    ],
)
def test_any_failure_leaves_the_old_container_as_it_was(fail: tuple[str, str]) -> None:
    engine = FakeEngine({"web": "app:1"}, fail=fail)
    with pytest.raises(EngineError, match="was left as it was"):
        replace_container(engine, CONFIG, "web", "app:2", "app:2")
    assert engine.containers == {"web": "app:1"}
    assert engine.removed_images == []


def test_old_container_that_cannot_be_removed_is_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    engine = FakeEngine({"web": "app:1"}, fail=("remove", "web.tedge-old"))
    replace_container(engine, CONFIG, "web", "app:2", "app:2")
    assert engine.containers == {"web": "app:2", "web.tedge-old": "app:1"}
    assert "removing the replaced container web.tedge-old failed" in capsys.readouterr().err
    # The next install clears the leftover.
    replace_container(engine, CONFIG, "web", "app:3", "app:3")
    assert engine.containers == {"web": "app:3"}


def test_interrupted_swap_is_recovered_before_replacing() -> None:
    # Power lost after the old one stepped aside, before the new one took the name.
    engine = FakeEngine({"web.tedge-old": "app:1", "web.tedge-new": "app:2"})
    replace_container(engine, CONFIG, "web", "app:2", "app:2")
    assert engine.containers == {"web": "app:2"}


def test_first_install_failure_leaves_nothing() -> None:
    engine = FakeEngine({}, fail=("start", "web.tedge-new"))
    with pytest.raises(EngineError):
        replace_container(engine, CONFIG, "web", "app:2", "app:2")
    assert engine.containers == {}


def test_gate_rejection_keeps_the_old_container_and_says_why() -> None:
    engine = FakeEngine({"web": "app:1"})
    with pytest.raises(EngineError) as failure:
        replace_container(engine, GATED, "web", "crash:2", "crash:2")
    assert engine.containers == {"web": "app:1"}
    assert engine.removed_images == []
    message = str(failure.value)
    assert "exited with code 3 and was restarted 2 times" in message
    assert "'starting | error: FOO is not set'" in message
    assert message.endswith("The previous container web was left as it was.")


def test_gate_acceptance_is_the_reported_health() -> None:
    engine = FakeEngine({"web": "app:1"})
    _, verdict = replace_container(engine, GATED, "web", "app:2", "app:2")
    assert engine.containers == {"web": "app:2"}
    assert (verdict.ready, verdict.health) == (True, "up")


def test_a_stale_name_in_podmans_database_is_named_as_such() -> None:
    """podman 4.3 can keep the name of a gone container after two swaps raced (before the module
    lock); it then refuses the name for good. Reproduced by racing real installs, but not on
    demand, so the refusal is injected here."""
    engine = FakeEngine({})
    original = engine.rename_container

    def refuse(current: str, new: str) -> None:
        if new == "web":
            raise EngineError('podman could not rename: name "web" is in use: pod already exists')
        original(current, new)

    engine.rename_container = refuse  # type: ignore[method-assign]
    with pytest.raises(EngineError) as failure:
        replace_container(engine, CONFIG, "web", "app:2", "app:2")
    message = str(failure.value)
    assert message.startswith("podman refuses the name web (")
    assert "although no container has it" in message
    assert "`podman system reset`" in message
    assert engine.containers == {}
