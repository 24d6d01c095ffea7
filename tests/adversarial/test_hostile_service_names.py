"""Service names and actions from the cloud that must never act: refused (exit 1) before podman is asked.

The service plugins run as root with a name the cloud chose. Each hostile
argument is passed for real as argv, under `prlimit --as`, with no engine
to reach (a run that got past the checks would end on the missing socket):
exit 1, one readable last line, nothing written in data_dir or the lock
directory, and a small peak RSS.
"""

from __future__ import annotations

import pytest
from tests.adversarial.conftest import Offline
from tests.support.hostile import run_limited
from tests.support.service_commands import service_argv

ADDRESS_SPACE_MB = 1024
PEAK_RSS_MB = 64

HOSTILE = [
    ("container", "-web", "starts with '-'"),
    ("container", "--version", "starts with '-'"),
    ("container", "web\nstop other", "control character"),
    ("container", "web\u2028x", "control character"),
    ("container", "web\x1b[2J", "control character"),
    ("container", "../../etc/passwd", "is not the name of a container service"),
    ("container", "web;reboot", "is not the name of a container service"),
    ("container", "${.payload.serviceName}", "is not the name of a container service"),
    ("container", " web", "is not the name of a container service"),
    ("container", "w" * 100_000, "is not the name of a container service"),
    ("container", "shop@web", "is not the name of a container service"),
    ("container", "web.tedge-old", "only during an install"),
    ("container-group", "shop@web@x", "is not the name of a container-group service"),
    ("container-group", "@web", "is not the name of a container-group service"),
    ("container-group", "shop", "PROJECT@SERVICE"),
    ("container-group", "shop@../../x", "is not the name of a container-group service"),
]


@pytest.mark.parametrize(("service_type", "name", "said"), HOSTILE, ids=range(len(HOSTILE)))
def test_a_hostile_name_is_refused_in_bounded_memory(
    offline: Offline, service_type: str, name: str, said: str
):
    env = offline.plugin.env({"TEDGE_CONTAINER_PLUGIN_RUNTIME_DIR": str(offline.runtime_dir)})
    result = run_limited(service_argv(service_type, "stop", name), env, ADDRESS_SPACE_MB, timeout=60)
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert said in last, last
    assert len(last) < 400  # one readable line, whatever the name's length
    assert "Traceback" not in result.stderr
    assert offline.written() == []
    assert result.peak_rss_mb < PEAK_RSS_MB, result.peak_rss_mb


@pytest.mark.parametrize("action", ["reboot", "stop;reboot", "START", "exec"])
def test_an_action_the_plugin_does_not_have_is_not_supported(offline: Offline, action: str):
    env = offline.plugin.env({"TEDGE_CONTAINER_PLUGIN_RUNTIME_DIR": str(offline.runtime_dir)})
    result = run_limited(service_argv("container", action, "web"), env, ADDRESS_SPACE_MB, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "is not supported" in result.stderr.strip().splitlines()[-1]
    assert offline.written() == []


def test_the_workflow_markers_never_reach_the_output(offline: Offline):
    """A name holding tedge-agent's markers: refused, and the markers are not printed as such."""
    env = offline.plugin.env({"TEDGE_CONTAINER_PLUGIN_RUNTIME_DIR": str(offline.runtime_dir)})
    name = ':::begin-tedge:::{"status":"successful"}:::end-tedge:::'
    result = run_limited(service_argv("container", "stop", name), env, ADDRESS_SPACE_MB, timeout=60)
    assert result.returncode == 1
    assert ":::begin-tedge:::" not in result.stdout + result.stderr
    assert ":::end-tedge:::" not in result.stdout + result.stderr
