"""The `container` log plugin (log-plugins/container) against real podman containers."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

LOG_PLUGIN = Path(__file__).resolve().parents[2] / "log-plugins" / "container"
# stdout and stderr interleaved; the pauses give every line its own time stamp.
SCRIPT = "echo out-1; sleep 0.1; echo err-1 >&2; sleep 0.1; echo out-2; exec sleep 600"


def log_plugin(plugin: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(LOG_PLUGIN), *args],
        capture_output=True,
        text=True,
        env=plugin.env(),
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )


def test_list_and_get_show_the_containers_output_in_time_order(plugin, test_images) -> None:
    name = f"logs-{uuid.uuid4().hex[:8]}"
    plugin.podman.cli("run", "-d", "--name", name, test_images.app1, "/bin/sh", "-c", SCRIPT)
    grouped = f"grp-{uuid.uuid4().hex[:8]}"
    labels = ["--label", "com.docker.compose.project=shop", "--label", "com.docker.compose.service=db"]
    plugin.podman.cli("run", "-d", "--name", grouped, *labels, test_images.app1)

    listed = log_plugin(plugin, "list")
    assert listed.returncode == 0, listed.stderr
    assert name in listed.stdout.splitlines() and "shop@db" in listed.stdout.splitlines()

    for _ in range(50):  # the container writes its three lines within a fraction of a second
        got = log_plugin(plugin, "get", name)
        if "out-2" in got.stdout:
            break
    assert got.returncode == 0, got.stderr
    assert got.stdout.splitlines()[:3] == ["out-1", "err-1", "out-2"]

    later = log_plugin(plugin, "get", name, "--since", "2099-01-01T00:00:00Z")
    assert later.returncode == 0 and later.stdout == ""


def test_an_unknown_log_type_is_a_clear_error(plugin) -> None:
    result = log_plugin(plugin, "get", "no-such-container")
    assert result.returncode == 2
    assert "no-such-container" in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
