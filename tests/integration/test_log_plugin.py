"""The log plugins `container` and `container-group` (log-plugins/) against real podman containers."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
LOG_PLUGIN = REPO / "log-plugins" / "container"
# stdout and stderr interleaved; the pauses give every line its own time stamp.
SCRIPT = "echo out-1; sleep 0.1; echo err-1 >&2; sleep 0.1; echo out-2; exec sleep 600"


def log_plugin(plugin: Any, *args: str, name: str = "container") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(LOG_PLUGIN.with_name(name)), *args],
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

    # As with the Go plugin: `container` lists plain containers, `container-group` the group services.
    listed = log_plugin(plugin, "list")
    assert listed.returncode == 0, listed.stderr
    assert name in listed.stdout.splitlines() and "shop@db" not in listed.stdout.splitlines()
    listed = log_plugin(plugin, "list", name="container-group")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == ["shop@db"]
    # The Go CLI's form runs the same plugins.
    go_form = plugin._exec(
        [str(REPO / "bin" / "tedge-container"), "log-plugins", "container-group", "list"], None, None, 60
    )
    assert (go_form.returncode, go_form.stdout) == (0, "shop@db\n"), go_form.stderr
    # A group service asked of either plugin (a request saved before the switch keeps working).
    for plugin_name in ("container", "container-group"):
        got = log_plugin(plugin, "get", "shop@db", name=plugin_name)
        assert got.returncode == 0, got.stderr

    for _ in range(50):  # the container writes its three lines within a fraction of a second
        got = log_plugin(plugin, "get", name)
        if "out-2" in got.stdout:
            break
    assert got.returncode == 0, got.stderr
    assert got.stdout.splitlines()[:3] == ["out-1", "err-1", "out-2"]

    # A window that holds nothing is one line, exit 1 (issue 26), not an empty log and exit 0.
    later = log_plugin(plugin, "get", name, "--since", "2099-01-01T00:00:00Z")
    assert (later.returncode, later.stdout) == (1, "")
    assert later.stderr.splitlines() == [
        "--since '2099-01-01T00:00:00Z' is in the future: no log line can be that new; give a time in the "
        "past (a duration means that long ago: --since 1h)."
    ]
    reversed_window = log_plugin(plugin, "get", name, "--since", "10m", "--until", "1h")
    assert reversed_window.returncode == 1
    assert reversed_window.stderr.splitlines() == [
        "--until '1h' is before --since '10m': the window holds nothing; swap them."
    ]


def test_an_unknown_log_type_names_the_list_command_of_its_plugin(plugin, test_images) -> None:
    for plugin_name in ("container", "container-group"):
        result = log_plugin(plugin, "get", "no-such-container", name=plugin_name)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines()[-1] == (
            f"No {plugin_name} log named 'no-such-container': "
            f"`/usr/share/tedge/log-plugins/{plugin_name} list` shows the log types."
        )
        assert "Traceback" not in result.stderr


def test_a_time_podman_cannot_read_is_one_line_naming_the_forms(plugin, test_images) -> None:
    name = f"logs-{uuid.uuid4().hex[:8]}"
    plugin.podman.cli("run", "-d", "--name", name, test_images.app1)
    for option in ("--since", "--until"):
        result = log_plugin(plugin, "get", name, option, "yesterday")
        assert result.returncode == 1
        last = result.stderr.strip().splitlines()[-1]
        assert last == (
            f"{option} 'yesterday' is not a time podman can read: give an RFC 3339 time "
            "(2024-05-01T12:00:00Z), unix seconds (1714564800), or a duration meaning that long ago "
            "(42s, 30m, 1h, 1h30m)."
        )
        assert "{" not in result.stderr  # never podman's raw JSON answer


def test_a_relative_until_means_that_long_ago(plugin, test_images) -> None:
    name = f"logs-{uuid.uuid4().hex[:8]}"
    plugin.podman.cli(
        "run",
        "-d",
        "--name",
        name,
        test_images.app1,
        "/bin/sh",
        "-c",
        "echo early; sleep 3; echo late; exec sleep 600",
    )
    deadline = time.monotonic() + 30
    while "late" not in log_plugin(plugin, "get", name).stdout:
        assert time.monotonic() < deadline, "the container did not write its second line"
        time.sleep(0.1)
    # `late` is under 1.5 s old, `early` over 1.5 s: the window ends 1.5 s ago.
    got = log_plugin(plugin, "get", name, "--until", "1500ms")
    assert (got.returncode, got.stdout) == (0, "early\n"), got.stderr
    # Both lines are less than an hour old: nothing between 2 h and 1 h ago.
    got = log_plugin(plugin, "get", name, "--since", "2h", "--until", "1h")
    assert (got.returncode, got.stdout) == (0, ""), got.stderr
