"""The service plugins (`service-plugins/container`, `.../container-group`), as `tedge service` runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.conftest import REPO

SERVICE_PLUGINS = REPO / "service-plugins"
ACTIONS = ("start", "stop", "restart", "pause", "unpause")


def service_argv(service_type: str, *args: str) -> list[str]:
    return [sys.executable, str(SERVICE_PLUGINS / service_type), *args]


def service(
    plugin: Any, service_type: str, *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """`/usr/share/tedge/service-plugins/TYPE ARGS`, stdin closed, in the plugin's config dir."""
    return plugin._exec(service_argv(service_type, *args), None, None, timeout)


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else ""


def state_of(plugin: Any, name: str) -> dict[str, Any]:
    out = plugin.podman.cli("inspect", "--type", "container", "--format", "json", name).stdout
    return json.loads(out)[0]["State"]


def status_of(plugin: Any, name: str) -> str:
    state = state_of(plugin, name)
    return "paused" if state.get("Paused") else state["Status"]
