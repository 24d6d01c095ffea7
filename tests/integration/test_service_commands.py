"""The service plugins `container` and `container-group` (thin-edge service commands) on real podman.

What an operator sees when the cloud's START / STOP / RESTART / PAUSE /
UNPAUSE buttons run `/usr/share/tedge/service-plugins/TYPE ACTION NAME`:
exit code, the last stderr line, and the container's state.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.support.group import app, compose, file_of
from tests.support.monitor import podman, unique, wait_until
from tests.support.service_commands import last_line, service, state_of, status_of

pytestmark = pytest.mark.integration


def install(plugin, name: str, image: str) -> None:
    result = plugin.run("install", name, "--module-version", image)
    assert result.returncode == 0, result.stderr


def test_every_action_on_a_container(plugin, test_images) -> None:
    plugin.set("report", "enabled", False)
    name = unique("web")
    install(plugin, name, test_images.app1)
    started = state_of(plugin, name)["StartedAt"]

    result = service(plugin, "container", "stop", name)
    assert result.returncode == 0, result.stderr
    assert status_of(plugin, name) == "exited"
    assert plugin.run("list").stdout.count(f"{name}\t{test_images.app1}\n") == 1  # listed, with its version
    assert service(plugin, "container", "stop", name).returncode == 0  # stopped already: done

    result = service(plugin, "container", "start", name)
    assert result.returncode == 0, result.stderr
    assert status_of(plugin, name) == "running"
    assert service(plugin, "container", "start", name).returncode == 0  # running already: done

    before = state_of(plugin, name)["StartedAt"]
    assert before != started
    result = service(plugin, "container", "restart", name)
    assert result.returncode == 0, result.stderr
    assert status_of(plugin, name) == "running"
    assert state_of(plugin, name)["StartedAt"] != before

    result = service(plugin, "container", "pause", name)
    assert result.returncode == 0, result.stderr
    assert status_of(plugin, name) == "paused"
    assert service(plugin, "container", "pause", name).returncode == 0

    result = service(plugin, "container", "unpause", name)
    assert result.returncode == 0, result.stderr
    assert status_of(plugin, name) == "running"

    # restart and start of a paused container: running again
    assert service(plugin, "container", "pause", name).returncode == 0
    result = service(plugin, "container", "restart", name)
    assert result.returncode == 0, result.stderr
    assert status_of(plugin, name) == "running"
    assert service(plugin, "container", "pause", name).returncode == 0
    assert service(plugin, "container", "start", name).returncode == 0
    assert status_of(plugin, name) == "running"


def test_exit_codes_and_refusals(plugin, test_images) -> None:
    plugin.set("report", "enabled", False)
    name = unique("web")
    install(plugin, name, test_images.app1)
    by_hand = unique("hand")
    podman(plugin, "run", "-d", "--name", by_hand, test_images.app1)

    # exit 2: only an action the plugin does not have
    result = service(plugin, "container", "reload", name)
    assert result.returncode == 2, result.stderr
    assert "'reload' is not supported" in last_line(result)
    # exit 1: every other failure, one last line, nothing touched
    cases = {
        (): "give exactly an action and a service name",
        ("stop",): "give exactly an action and a service name",
        ("stop", name, "extra"): "give exactly an action and a service name",
        ("stop", "-" + name): "starts with '-'",
        ("stop", "--version"): "starts with '-'",
        ("stop", name + "\n"): "control character",
        ("stop", "no-such-" + name): "No container service 'no-such-",
        ("stop", by_hand): "not installed by it",
        ("stop", name + ".tedge-new"): "only during an install",
        ("stop", "a/b"): "is not the name of a container service",
    }
    for args, said in cases.items():
        result = service(plugin, "container", *args)
        assert result.returncode == 1, (args, result.stderr)
        assert said in last_line(result), (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert status_of(plugin, name) == "running"
    assert status_of(plugin, by_hand) == "running"
    # a group service name is not a container's
    result = service(plugin, "container-group", "stop", name)
    assert result.returncode == 1 and "PROJECT@SERVICE" in last_line(result)
    # unpause of a stopped container: a failure naming what to do
    assert service(plugin, "container", "stop", name).returncode == 0
    result = service(plugin, "container", "unpause", name)
    assert result.returncode == 1
    assert last_line(result).startswith(f"Unpausing container service {name} failed: ")
    assert "use start" in last_line(result)
    result = service(plugin, "container", "pause", name)
    assert result.returncode == 1 and "start it first" in last_line(result)


def test_start_checks_that_the_container_then_runs(plugin, test_images) -> None:
    """A container that exits at once fails start and restart (exit 1), naming its exit code."""
    plugin.set("report", "enabled", False)
    name = unique("exits")
    podman(
        plugin,
        "create",
        "--name",
        name,
        "--label",
        "io.thin-edge.container.managed-by=tedge-container-plugin",
        "--label",
        f"io.thin-edge.module.version={test_images.exits}",
        test_images.exits,
    )
    for action in ("start", "restart"):
        result = service(plugin, "container", action, name)
        assert result.returncode == 1, result.stderr
        line = last_line(result)
        assert line.startswith(f"{action.capitalize()}ing container service {name} failed: "), line
        assert "exited with code 1" in line, line

    # A one-shot container (restart policy no) that runs and exits 0 is done, not failed.
    job = unique("job")
    podman(
        plugin,
        "create",
        "--name",
        job,
        "--restart",
        "no",
        "--label",
        "io.thin-edge.container.managed-by=tedge-container-plugin",
        test_images.app1,
        "sh",
        "-c",
        "exit 0",
    )
    result = service(plugin, "container", "start", job)
    assert result.returncode == 0, result.stderr
    assert "ran to completion" in result.stdout


def test_actions_turned_off_by_config_are_not_supported(plugin, test_images) -> None:
    plugin.set("report", "enabled", False)
    plugin.set("service_commands", "actions", ["restart"])
    name = unique("web")
    install(plugin, name, test_images.app1)
    result = service(plugin, "container", "stop", name)
    assert result.returncode == 2
    assert "service_commands.actions" in last_line(result)
    assert status_of(plugin, name) == "running"
    assert service(plugin, "container", "restart", name).returncode == 0


def upgrading(plugin, name: str, image: str) -> subprocess.Popen[str]:
    """An install of `name` running in the background, once its new container exists (it holds the lock)."""
    upgrade = subprocess.Popen(
        plugin.run_argv("install", name, "--module-version", image),
        env=plugin.env(),
        cwd=str(plugin.config_dir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(
        "the upgrade's new container",
        lambda: podman(plugin, "ps", "-a", "-q", "--filter", f"name={name}.tedge-new"),
        timeout=60,  # a loaded machine; the gate (min_ready) still holds the lock once it shows
    )
    return upgrade


def test_a_command_waits_for_an_install_of_the_same_module(plugin, test_images) -> None:
    """The module's lock: a stop during an install waits (and says so), then stops the new container."""
    plugin.set("report", "enabled", False)
    name = unique("web")
    install(plugin, name, test_images.app1)
    plugin.set("container", "min_ready", 4)  # the upgrade holds the lock at least this long
    upgrade = upgrading(plugin, name, test_images.app2)
    try:
        result = service(plugin, "container", "stop", name)
        assert upgrade.wait(60) == 0
    finally:
        if upgrade.poll() is None:
            upgrade.kill()
        upgrade.communicate()
    assert result.returncode == 0, result.stderr
    assert f"(install {name}) to finish: it holds the lock of container {name}" in result.stderr
    state = state_of(plugin, name)
    assert state["Status"] == "exited"
    image = podman(plugin, "inspect", "--format", "{{.ImageName}}", name)
    assert image == test_images.app2  # the stop acted on the container the install left

    # With a short lock_timeout, a command that cannot get the lock fails (exit 1) naming the holder.
    plugin.set("container", "lock_timeout", 1)
    upgrade = upgrading(plugin, name, test_images.app1)
    try:
        result = service(plugin, "container", "start", name)
    finally:
        upgrade.communicate(timeout=60)
    assert result.returncode == 1
    assert "still runs after 1 s" in last_line(result)


def test_every_action_on_a_group_service(group, test_images, tmp_path: Path) -> None:
    name = unique("shop")
    spec = compose({"web": app(test_images.app1), "db": app(test_images.app1)})
    result = group.install(name, "1.0", file_of(tmp_path, "compose.yaml", spec))
    assert result.returncode == 0, result.stderr
    web = group.containers(name)["web"]["id"]
    plugin = group.plugin

    def states() -> dict[str, str]:
        return {service: status_of(plugin, c["id"]) for service, c in group.containers(name).items()}

    for action, expected in (
        ("stop", "exited"),
        ("start", "running"),
        ("pause", "paused"),
        ("unpause", "running"),
        ("restart", "running"),
    ):
        result = service(plugin, "container-group", action, f"{name}@web")
        assert result.returncode == 0, (action, result.stderr)
        assert states() == {"web": expected, "db": "running"}, action
    assert group.containers(name)["web"]["id"] == web  # acted on, never recreated
    assert service(plugin, "container-group", "stop", f"{name}@web").returncode == 0
    assert group.modules() == f"{name}\t1.0\n"

    # Names exactly as registered: PROJECT@SERVICE; a container's name or another form is refused.
    for wrong in (f"{name}@nosuch", "other@web", name, f"{name}@web@x"):
        result = service(plugin, "container-group", "start", wrong)
        assert result.returncode == 1, (wrong, result.stderr)
    assert states()["web"] == "exited"


def test_group_service_names_follow_use_module_name(group, test_images, tmp_path: Path) -> None:
    name = unique("shop")
    spec = compose({"web": app(test_images.app1)}, name=f"{name}-project")
    result = group.install(name, "1.0", file_of(tmp_path, "compose.yaml", spec))
    assert result.returncode == 0, result.stderr
    plugin = group.plugin
    web = group.containers(f"{name}-project")["web"]["id"]
    assert service(plugin, "container-group", "stop", f"{name}-project@web").returncode == 0
    assert status_of(plugin, web) == "exited"
    result = service(plugin, "container-group", "start", f"{name}@web")
    assert result.returncode == 1 and "No container-group service" in last_line(result)

    plugin.set("container_group", "use_module_name", True)
    result = service(plugin, "container-group", "start", f"{name}@web")
    assert result.returncode == 0, result.stderr
    assert status_of(plugin, web) == "running"
    assert service(plugin, "container-group", "stop", f"{name}-project@web").returncode == 1
