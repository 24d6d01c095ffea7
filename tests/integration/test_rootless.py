"""A device whose tedge user runs podman rootless, driven as tedge-agent drives the plugins.

The engine is a test user's own `podman system service` at
/run/user/UID/podman/podman.sock (tests/support/rootless.py). The sm-plugins
run as root with `SUDO_UID` of that user (tedge-agent runs them through
`sudo -n`), the monitor as root without it (as its unit starts it). No
`container.host` anywhere: finding the engine is part of what is tested
(tests/support/rootless_plugin.py). tedge's config directory belongs to the
user, as `tedge init` leaves /etc/tedge. A dead or missing socket:
test_rootless_engine_choice.py.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import PLUGIN_SOURCE, REPO
from tests.support.group import app, compose
from tests.support.monitor import Monitor, Watch, own_health, wait_until
from tests.support.podman import PodmanService
from tests.support.registry import Registry
from tests.support.rootless import RootlessPodman
from tests.support.rootless_plugin import (  # noqa: F401 - fixtures `plugin`, `refs`
    RUN,
    RootlessPlugin,
    inspect,
    last_line,
    rootless_plugin,
    rootless_refs,
)

LOG_PLUGIN = REPO / "log-plugins" / "container"


def served_version(rootless: RootlessPodman, name: str) -> str:
    """What the container's web server answers on its published port (8080 inside)."""
    ports = inspect(rootless, name)["NetworkSettings"]["Ports"]["8080/tcp"]
    port = int(ports[0]["HostPort"])

    def fetch() -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=2) as answer:
                return answer.read().decode().strip()
        except OSError:
            return ""

    return wait_until(f"{name} serving on 127.0.0.1:{port}", fetch, timeout=15)


def test_install_upgrade_and_remove_a_container_on_the_rootless_engine(
    plugin: RootlessPlugin,
    rootless_podman: RootlessPodman,
    podman_service: PodmanService,
    refs: dict[str, str],
) -> None:
    name = f"web-{RUN}"
    result = plugin.run("install", name, "--module-version", refs["app1"])
    assert result.returncode == 0, result.stderr
    data = inspect(rootless_podman, name)
    assert data["State"]["Running"] and list(data["NetworkSettings"]["Networks"]) == ["tedge"]
    assert served_version(rootless_podman, name) == "1"  # the port is published, as on rootful podman
    assert podman_service.cli("container", "exists", name, check=False).returncode == 1  # not root's
    assert plugin.record.read_text() == f"{rootless_podman.socket_path}\n"

    result = plugin.run("install", name, "--module-version", refs["app2"])
    assert result.returncode == 0, result.stderr
    assert served_version(rootless_podman, name) == "2"
    assert plugin.run("list").stdout.splitlines() == [f"{name}\t{refs['app2']}"]

    result = plugin.run("remove", name, "--module-version", refs["app2"])
    assert result.returncode == 0, result.stderr
    assert rootless_podman.container_names() == []


def test_install_from_an_archive_and_on_the_engines_default_network(
    plugin: RootlessPlugin, rootless_podman: RootlessPodman, test_images: Any, tmp_path: Path
) -> None:
    archive = test_images.save_archive(test_images.app1, tmp_path / "app.tar.gz", gzip=True)
    plugin.set("container", "network", "")  # no network named: rootless podman's default (slirp4netns, pasta)
    name = f"file-{RUN}"
    result = plugin.run("install", name, "--module-version", test_images.app1, "--file", str(archive))
    assert result.returncode == 0, result.stderr
    data = inspect(rootless_podman, name)
    assert data["State"]["Running"]
    assert data["HostConfig"]["NetworkMode"] in ("slirp4netns", "pasta"), data["HostConfig"]["NetworkMode"]
    assert served_version(rootless_podman, name) == "1"


def test_a_failed_install_removes_the_network_it_created(
    plugin: RootlessPlugin, rootless_podman: RootlessPodman, refs: dict[str, str]
) -> None:
    network = f"net-{RUN}-{secrets.token_hex(2)}"
    plugin.set("container", "network", network)
    result = plugin.run("install", f"bad-{RUN}", "--module-version", refs["exits"])
    assert result.returncode == 2, result.stderr
    assert "did not prove itself" in last_line(result)
    assert rootless_podman.cli("network", "exists", network, check=False).returncode == 1
    assert rootless_podman.container_names() == []


def test_a_group_and_container_image_on_the_rootless_engine(
    plugin: RootlessPlugin, rootless_podman: RootlessPodman, refs: dict[str, str], tmp_path: Path
) -> None:
    project = f"shop{RUN}"
    compose_file = tmp_path / "docker-compose.yaml"
    compose_file.write_text(compose({"web": app(refs["app1"])}))
    result = plugin.run_type(
        "container-group", "install", project, "--module-version", "1", "--file", str(compose_file)
    )
    assert result.returncode == 0, result.stderr
    listed = rootless_podman.cli(
        "ps", "--filter", f"label=com.docker.compose.project={project}", "--format", "json"
    ).stdout
    assert [entry["State"] for entry in json.loads(listed)] == ["running"]
    assert plugin.run_type("container-group", "list").stdout.splitlines() == [f"{project}\t1"]
    result = plugin.run_type("container-group", "remove", project, "--module-version", "1")
    assert result.returncode == 0, result.stderr
    assert rootless_podman.container_names() == []

    plugin.set("container_image", "enabled", True)
    repository, _, tag = refs["app2"].rpartition(":")
    result = plugin.run_type("container-image", "install", repository, "--module-version", tag)
    assert result.returncode == 0, result.stderr
    assert rootless_podman.cli("image", "exists", refs["app2"], check=False).returncode == 0
    assert plugin.run_type("container-image", "list").stdout.splitlines() == [f"{repository}\t{tag}"]
    result = plugin.run_type("container-image", "remove", repository, "--module-version", tag)
    assert result.returncode == 0, result.stderr
    assert rootless_podman.cli("image", "exists", refs["app2"], check=False).returncode == 1


def test_the_log_plugin_reads_the_rootless_containers(
    plugin: RootlessPlugin, rootless_podman: RootlessPodman, refs: dict[str, str]
) -> None:
    name = f"logs-{RUN}"
    rootless_podman.cli(
        "run", "-d", "--name", name, refs["app1"], "/bin/sh", "-c", "echo hello-rootless; exec sleep 600"
    )

    def log_plugin(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, str(LOG_PLUGIN), *args]
        return subprocess.run(
            argv, capture_output=True, text=True, env=plugin.sudo_env(), timeout=60, check=False
        )

    assert name in log_plugin("list").stdout.splitlines()
    wait_until("the container's output", lambda: "hello-rootless" in log_plugin("get", name).stdout)


def test_the_monitor_as_its_unit_runs_it_reports_the_rootless_containers(
    plugin: RootlessPlugin, rootless_podman: RootlessPodman, refs: dict[str, str], tmp_path: Path
) -> None:
    from tests.support.mqtt import Broker

    broker = Broker("rootless-monitor", tmp_path / "broker").start()
    watch = Watch(broker)
    plugin.set("metrics", "interval", 0)
    monitor = Monitor(plugin, broker, tmp_path / "monitor.log")  # env(): root, no SUDO_UID
    try:
        monitor.start()  # before any sm-plugin ran: nothing recorded, tedge's user owns the config
        wait_until("the monitor's health is up", lambda: own_health(watch) == "up")
        name = f"mon-{RUN}"
        result = plugin.run("install", name, "--module-version", refs["app1"])
        assert result.returncode == 0, result.stderr
        wait_until(f"{name} up", lambda: watch.health(name) == "up")
        rootless_podman.cli("stop", "--time", "1", name)
        wait_until(f"{name} down", lambda: watch.health(name) == "down")
        monitor.stop()

        monitor = Monitor(plugin, broker, tmp_path / "monitor2.log")
        os.chown(plugin.config_dir, 0, 0)  # now only the record says which engine
        monitor.start()
        wait_until("the monitor's health is up again", lambda: own_health(watch) == "up")
        rootless_podman.cli("start", name)
        wait_until(f"{name} up again", lambda: watch.health(name) == "up")
        assert not watch.state.get("te/device/main///a/container_engine_unreachable")
    finally:
        if monitor.proc is not None and monitor.proc.poll() is None:
            monitor.stop()
        watch.close()
        broker.stop()


def write_auth_file(path: Path, registry: Registry, owner: RootlessPodman) -> None:
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    path.write_text(json.dumps({"auths": {registry.host: {"auth": token}}}))
    os.chown(path, owner.uid, owner.gid)
    path.chmod(0o600)


def test_credentials_come_from_the_users_auth_file(
    plugin: RootlessPlugin,
    rootless_podman: RootlessPodman,
    test_images: Any,
    auth_registry_a: Registry,
    tmp_path: Path,
) -> None:
    private = test_images.push(test_images.app1, auth_registry_a, f"rootless-{RUN}/private:1")
    # Root's own login holds wrong credentials for that registry: sent, they would replace the
    # user's engine's login and the pull would fail.
    root_home = tmp_path / "root-home"
    (root_home / ".config" / "containers").mkdir(parents=True)
    wrong = base64.b64encode(f"{auth_registry_a.username}:wrong".encode()).decode()
    (root_home / ".config" / "containers" / "auth.json").write_text(
        json.dumps({"auths": {auth_registry_a.host: {"auth": wrong}}})
    )
    plugin.root_home = str(root_home)
    user = rootless_podman.user
    result = plugin.cli("credentials", private)
    assert f"auth file: no match in /run/user/{rootless_podman.uid}/containers/auth.json, " in result.stdout
    assert f"{rootless_podman.auth_file}, " in result.stdout and f"of user {user}" in result.stdout
    write_auth_file(rootless_podman.auth_file, auth_registry_a, rootless_podman)
    try:
        result = plugin.cli("credentials", private)
        assert result.returncode == 0, result.stderr
        assert f"entry:    {rootless_podman.auth_file} auths[" in result.stdout, result.stdout
        assert auth_registry_a.username in result.stdout and auth_registry_a.password not in result.stdout
        name = f"priv-{RUN}"
        result = plugin.run("install", name, "--module-version", private)
        assert result.returncode == 0, result.stderr
        assert inspect(rootless_podman, name)["State"]["Running"]
    finally:
        rootless_podman.auth_file.unlink(missing_ok=True)


def test_run_as_the_user_itself(
    plugin: RootlessPlugin, rootless_podman: RootlessPodman, refs: dict[str, str], tmp_path: Path
) -> None:
    """No sudo: the user's own environment (XDG_RUNTIME_DIR), code and config readable by it."""
    site = next(Path(sys.prefix, "lib").glob("python3*/site-packages"))
    plugin.set("container_image", "enabled", True)
    shared = Path(rootless_podman.home) / "tedge"
    shared.mkdir()
    (shared / "plugins").mkdir()
    (shared / "plugins" / "tedge-container-plugin.toml").write_text(plugin.config_file.read_text())
    os.system(f"chown -R {rootless_podman.uid} {shared}")

    def as_user(*args: str, software: str = "container") -> subprocess.CompletedProcess[str]:
        argv = rootless_podman.as_user(
            f"TEDGE_CONFIG_DIR={shared}",
            f"PYTHONPATH={PLUGIN_SOURCE}{os.pathsep}{site}",
            "/usr/bin/python3",
            str(REPO / "sm-plugins" / software),
            *args,
        )
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, cwd="/")

    # data_dir not writable by the user: the setting is named.
    unwritable = tmp_path / "root-only"
    unwritable.mkdir(mode=0o700)
    text = (shared / "plugins" / "tedge-container-plugin.toml").read_text()
    config = shared / "plugins" / "tedge-container-plugin.toml"
    config.write_text(text.replace(str(plugin.record.parent), str(unwritable / "data")))
    repository, _, tag = refs["app1"].rpartition(":")
    result = as_user("install", repository, "--module-version", tag, software="container-image")
    assert result.returncode == 2, result.stderr
    assert "set data_dir in" in last_line(result), result.stderr

    config.write_text(text.replace(str(plugin.record.parent), str(shared / "data")))
    name = f"as-user-{RUN}"
    result = as_user("install", name, "--module-version", refs["app1"])
    assert result.returncode == 0, result.stderr
    assert inspect(rootless_podman, name)["State"]["Running"]
    assert (shared / "data" / "engine").read_text() == f"{rootless_podman.socket_path}\n"
    assert as_user("list").stdout.splitlines() == [f"{name}\t{refs['app1']}"]
    result = as_user("install", repository, "--module-version", tag, software="container-image")
    assert result.returncode == 0, result.stderr
    assert as_user("list", software="container-image").stdout.splitlines() == [f"{repository}\t{tag}"]
    compose_file = shared / "docker-compose.yaml"
    compose_file.write_text(compose({"web": app(refs["app2"])}))
    compose_file.chmod(0o644)
    project = f"usergroup{RUN}"
    result = as_user(
        "install", project, "--module-version", "1", "--file", str(compose_file), software="container-group"
    )
    assert result.returncode == 0, result.stderr
    assert as_user("list", software="container-group").stdout.splitlines() == [f"{project}\t1"]


def test_the_rootless_engine_is_the_podman_under_test(
    rootless_podman: RootlessPodman, podman_service: PodmanService
) -> None:
    """podman 4.3 from the host, or podman 5 with TEDGE_TEST_PODMAN=trixie, as the root service."""
    status, body = rootless_podman.api("GET", "/v4.0.0/libpod/info")
    assert status == 200 and json.loads(body)["host"]["security"]["rootless"] is True
    assert rootless_podman.version.split(".")[0] == podman_service.version.split(".")[0]
