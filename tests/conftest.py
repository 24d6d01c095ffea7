"""Shared fixtures: real services (started lazily, once per session) and the plugin.

Nothing starts for a run of unit tests only: the session `stack` starts its
container part (registries, then podman, then the test images) when a test
first asks for one of those fixtures, and its MQTT part when a test first asks
for a broker. See tests/support for the services themselves.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `tests.support` is importable as in a demo script
    sys.path.insert(0, str(REPO))

from tests.support.images import TestImages  # noqa: E402
from tests.support.mqtt import Broker  # noqa: E402
from tests.support.netns import enter_own_network_namespace  # noqa: E402
from tests.support.podman import PodmanService  # noqa: E402
from tests.support.registry import Registry  # noqa: E402
from tests.support.rootless import RootlessPodman, missing_tools  # noqa: E402
from tests.support.services import Stack  # noqa: E402

PLUGIN_SCRIPT = REPO / "sm-plugins" / "container"
PLUGIN_SOURCE = REPO / "plugin"
PLUGIN_CONFIG = Path("plugins") / "tedge-container-plugin.toml"
INTEGRATION_DIR = Path(__file__).resolve().parent / "integration"


def pytest_configure(config: pytest.Config) -> None:
    # A SIGTERM (CI's timeout, a killed job) runs the teardowns, as Ctrl-C does.
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, interrupt)
    # Before any service starts: this process's engines, registries and brokers share no
    # firewall chains or ports with another worker's (tests/support/netns.py). Not pytest-xdist's
    # controller, which runs no test: its workers keep the machine's namespace to go back to.
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        enter_own_network_namespace()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.integration)


# -- services ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The session's services; parts start when first asked for (see below)."""
    services = Stack()
    try:
        yield services
    finally:
        services.stop()


@pytest.fixture(scope="session")
def _containers(stack: Stack) -> Stack:
    return stack.start(containers=True, mqtt=False)


@pytest.fixture(scope="session")
def podman_service(_containers: Stack) -> PodmanService:
    """podman system service on a unix socket, own store; knows all three registries."""
    return _containers.podman


@pytest.fixture(scope="session")
def open_registry(_containers: Stack) -> Registry:
    """Plain-HTTP registry without auth (insecure = true in the service's registries.conf)."""
    return _containers.open_registry


@pytest.fixture(scope="session")
def auth_registry_a(_containers: Stack) -> Registry:
    """TLS (test CA) + basic auth registry; its CA is in the service's certs.d."""
    return _containers.auth_registry_a


@pytest.fixture(scope="session")
def auth_registry_b(_containers: Stack) -> Registry:
    """A second TLS + basic auth registry with other credentials."""
    return _containers.auth_registry_b


@pytest.fixture(scope="session")
def test_images(_containers: Stack) -> TestImages:
    """app:1, app:2, nocmd:1, exits:1 in the service's store, plus push/save/big helpers."""
    return _containers.images


@pytest.fixture(scope="session")
def rootless_podman(_containers: Stack) -> Iterator[RootlessPodman]:
    """A test user's rootless podman service at /run/user/UID/podman/podman.sock (one user per process).

    Knows the three registries as the root service does (tests/support/rootless.py).
    """
    missing = missing_tools()
    if missing:
        pytest.skip(f"a rootless engine needs {', '.join(missing)} (scripts/setup installs them)")
    engine = RootlessPodman(
        insecure_registries=[_containers.open_registry],
        tls_registries=[_containers.auth_registry_a, _containers.auth_registry_b],
    )
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def mqtt_broker(stack: Stack) -> Broker:
    """mosquitto, plain TCP on 127.0.0.1, anonymous."""
    return stack.start(containers=False, mqtt=True).mqtt_broker


@pytest.fixture(scope="session")
def mqtt_broker_tls(stack: Stack) -> Broker:
    """mosquitto with TLS (test CA) that requires a client certificate (cert_file/key_file)."""
    return stack.start(containers=False, mqtt=True).mqtt_broker_tls


# -- the plugin ----------------------------------------------------------------------


def toml_value(value: Any) -> str:
    """A Python value as a TOML literal (str, bool, int, float, list, dict)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, os.PathLike)):
        return json.dumps(os.fspath(value))  # JSON string escapes are valid TOML
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {value!r}")


class Plugin:
    """The sm-plugin and the operator CLI, run as subprocesses against the test service."""

    def __init__(self, config_dir: Path, podman: PodmanService) -> None:
        self.config_dir = config_dir
        self.podman = podman
        self.config_file = config_dir / PLUGIN_CONFIG
        # The session's test images are shared: a test that lets the plugin prune opts in.
        # The readiness gate stays on, shorter than its 3 s default (test_readiness_gate.py covers it).
        # The test's own data_dir and lock directory, not the machine's (/data/tedge-container-plugin,
        # /run/tedge-container-plugin): tests run side by side (pytest-xdist workers) and after
        # earlier runs, and must not see each other's projects, records (what the plugin pulled) or locks.
        self.runtime_dir = config_dir.with_name(config_dir.name + "-run")
        self._sections: dict[str, dict[str, Any]] = {
            "": {"data_dir": str(config_dir.with_name(config_dir.name + "-data"))},
            "container": {"host": podman.url, "pruneimages": False, "min_ready": 0.5},
        }
        self._extra: list[str] = []
        self._render()

    def set_config(self, section: str, key: str, value: Any) -> None:
        """Set `key = value` in `[section]` (dotted, e.g. "client.mqtt"; "": top level); None removes it."""
        if value is None:
            self._sections.get(section, {}).pop(key, None)
        else:
            self._sections.setdefault(section, {})[key] = value
        self._render()

    set = set_config

    def write_config(self, toml_text: str) -> None:
        """Append raw TOML (with its own [table] headers) after the keys set so far."""
        self._extra.append(toml_text.strip("\n"))
        self._render()

    def write_file(self, relative_path: str, text: str) -> Path:
        """Write a file under config_dir (e.g. "tedge.toml")."""
        path = self.config_dir / relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def _render(self) -> None:
        parts = []
        # Top-level keys ("" section) must come before any table.
        for section, keys in sorted(self._sections.items(), key=lambda item: item[0] != ""):
            body = "".join(
                f"{json.dumps(k) if not k.isidentifier() else k} = {toml_value(v)}\n" for k, v in keys.items()
            )
            parts.append(f"[{section}]\n{body}" if section else body)
        parts.extend(self._extra)
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text("\n".join(parts) + "\n")

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONTAINER_")}
        env["TEDGE_CONFIG_DIR"] = str(self.config_dir)
        env["TEDGE_CONTAINER_PLUGIN_RUNTIME_DIR"] = str(self.runtime_dir)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(PLUGIN_SOURCE), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        env.update(extra or {})
        return env

    def run(
        self, *args: str, stdin: str | None = None, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`sm-plugins/container ARGS` (as tedge-agent runs it)."""
        return self._exec(self.run_argv(*args), stdin, env, timeout)

    def run_argv(self, *args: str, software: str = "container") -> list[str]:
        """The argv of `run`, for a test that starts the plugin in the background."""
        return [sys.executable, str(PLUGIN_SCRIPT.with_name(software)), *args]

    def run_type(
        self, software: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`sm-plugins/SOFTWARE ARGS`: another software type (`container-image`, ...)."""
        return self._exec(self.run_argv(*args, software=software), None, env, timeout)

    def cli(
        self, *args: str, stdin: str | None = None, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """`python -m tedge_container ARGS` (the operator's command)."""
        return self._exec([sys.executable, "-m", "tedge_container", *args], stdin, env, timeout)

    def _exec(
        self, argv: list[str], stdin: str | None, env: Mapping[str, str] | None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=self.env(env),
            timeout=timeout,
            cwd=str(self.config_dir),
            check=False,
        )


@pytest.fixture()
def plugin(tmp_path: Path, podman_service: PodmanService) -> Iterator[Plugin]:
    """A TEDGE_CONFIG_DIR pointing the plugin at the test service; containers removed after."""
    config_dir = tmp_path / "tedge"
    config_dir.mkdir()
    try:
        yield Plugin(config_dir, podman_service)
    finally:
        podman_service.remove_all_containers()
