"""The `container-group` type on the real podman service: compose projects as software modules.

Every test writes its own compose file over the session's busybox images and
runs `sm-plugins/container-group` as tedge-agent would. `data_dir` is the
test's own directory.
"""

from __future__ import annotations

import base64
import io
import json
import secrets
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from tests.integration.test_mqtt import retained, unique, use_broker
from tests.support.group import Group, app, compose, file_of, last_line, states, tar_of
from tests.support.images import TestImages

pytestmark = pytest.mark.integration


def test_install_upgrade_drop_service_and_remove_with_mqtt_status(
    group: Group, test_images: TestImages, tmp_path: Path, mqtt_broker
):
    use_broker(group.plugin, mqtt_broker)
    name = unique("shop")
    topic = f"te/device/main/service/{name}"
    # A one-shot job (exits 0, restart "no") passes; so does a named volume.
    v1 = {
        "web": app(test_images.app1, volumes=["data:/data"]),
        "worker": app(test_images.app1),
        "init": {"image": test_images.nocmd, "command": ["true"]},
    }
    result = group.install(name, "1.0", file_of(tmp_path, "v1.yaml", compose(v1, volumes={"data": {}})))
    assert result.returncode == 0, result.stderr
    assert group.modules() == f"{name}\t1.0\n"
    assert states(group, name) == {"web": "running", "worker": "running", "init": "exited"}
    assert (group.data_dir / "compose" / name / "version").read_text() == f"1.0\n{name}\n"
    registration = json.loads(retained(mqtt_broker, f"{topic}@web", wait=0.5)[f"{topic}@web"])
    assert registration["type"] == "container-group"
    twin = registration["container"]
    assert twin["project"] == name and twin["service"] == "web" and twin["image"] == test_images.app1
    assert twin["containerId"] == group.containers(name)["web"]["id"]
    health = retained(mqtt_broker, f"{topic}@worker/#", wait=0.5)[f"{topic}@worker/status/health"]
    assert json.loads(health)["status"] == "up"
    volume = f"{name}_data"
    created = group.podman.cli("volume", "inspect", "--format", "{{.CreatedAt}}", volume).stdout

    # 2.0 changes web's image and drops worker; the volume survives.
    v2 = {"web": app(test_images.app2, volumes=["data:/data"])}
    result = group.install(name, "2.0", file_of(tmp_path, "v2.yaml", compose(v2, volumes={"data": {}})))
    assert result.returncode == 0, result.stderr
    assert group.modules() == f"{name}\t2.0\n"
    running = group.containers(name)
    assert list(running) == ["web"]
    assert running["web"]["state"] == "running" and running["web"]["image"] == test_images.app2
    # The same volume, not a new one.
    assert group.podman.cli("volume", "inspect", "--format", "{{.CreatedAt}}", volume).stdout == created
    assert retained(mqtt_broker, f"{topic}@worker", wait=0.5) == {}
    assert retained(mqtt_broker, f"{topic}@worker/#", wait=0.5) == {}
    assert json.loads(retained(mqtt_broker, f"{topic}@web", wait=0.5)[f"{topic}@web"])["container"][
        "image"
    ] == (test_images.app2)

    for _ in range(2):  # removing twice: the second finds nothing and succeeds
        result = group.run("remove", name, "--module-version", "2.0")
        assert result.returncode == 0, result.stderr
        assert group.modules() == ""
        assert group.containers(name) == {}
        assert not (group.data_dir / "compose" / name).exists()
    assert retained(mqtt_broker, f"{topic}@web", wait=0.5) == {}
    # Named volumes go with the group (as with the Go plugin).
    assert volume not in group.podman.cli("volume", "ls", "--format", "{{.Name}}").stdout.split()


def test_failed_upgrades_keep_the_previous_version_running(
    group: Group, test_images: TestImages, open_registry, tmp_path: Path
):
    v1 = file_of(tmp_path, "v1.yaml", compose({"web": app(test_images.app1)}))
    assert group.install("keep", "1.0", v1).returncode == 0
    before = group.containers("keep")["web"]["id"]

    def still_one_oh() -> None:
        assert group.modules() == "keep\t1.0\n"
        running = group.containers("keep")
        assert list(running) == ["web"] and running["web"]["state"] == "running"
        assert running["web"]["image"] == test_images.app1
        assert sorted(p.name for p in (group.data_dir / "compose").iterdir()) == ["keep"]

    # Invalid YAML: refused before anything runs.
    result = group.install("keep", "2.0", file_of(tmp_path, "bad.yaml", "services:\n  web: [unclosed\n"))
    assert result.returncode == 2
    assert "is not valid YAML at line" in last_line(result)
    still_one_oh()
    assert group.containers("keep")["web"]["id"] == before

    # An image no registry has: the pull fails before the project is touched.
    missing = f"{open_registry.host}/tedge-test/missing:1"
    result = group.install("keep", "2.0", file_of(tmp_path, "missing.yaml", compose({"web": app(missing)})))
    assert result.returncode == 2
    assert "service web" in last_line(result) and missing in last_line(result)
    still_one_oh()
    assert group.containers("keep")["web"]["id"] == before

    # A service that exits at once: the new version came up, failed, and 1.0 is back.
    crashing = compose({"web": app(test_images.app2), "crash": app(test_images.exits)})
    result = group.install("keep", "2.0", file_of(tmp_path, "crash.yaml", crashing))
    assert result.returncode == 2, result.stderr
    assert last_line(result).startswith("Installing group keep 2.0 failed: service crash ")
    assert last_line(result).endswith("The previous version 1.0 runs again."), last_line(result)
    still_one_oh()

    # Not a compose project at all.
    result = group.install("keep", "2.0", file_of(tmp_path, "notes.txt", "just some text\n"))
    assert result.returncode == 2
    assert "does not hold a compose project" in last_line(result)
    still_one_oh()


def message_of(group: Group, name: str) -> str:
    """The file bind-mounted at /etc/message of NAME's web container (read on the host)."""
    mounts = json.loads(group.podman.cli("inspect", "--format", "{{json .Mounts}}", f"{name}_web_1").stdout)
    (source,) = [m["Source"] for m in mounts if m["Destination"] == "/etc/message"]
    assert source == str(group.data_dir / "compose" / name / "conf" / "message")
    return Path(source).read_text()


def test_services_with_a_healthcheck_must_turn_healthy(group: Group, test_images: TestImages, tmp_path: Path):
    """The container type's readiness gate for a group's services: a HEALTHCHECK that never passes
    fails the upgrade and the previous version runs again; one that passes is waited for."""
    group.plugin.set("container", "health_timeout", 3)
    v1 = file_of(tmp_path, "v1.yaml", compose({"web": app(test_images.app1)}))
    assert group.install("hc", "1.0", v1).returncode == 0

    def healthcheck(command: str) -> dict:
        return {"test": ["CMD-SHELL", command], "interval": "30s", "retries": 1, "timeout": "5s"}

    never = compose({"web": app(test_images.app2, healthcheck=healthcheck("exit 1"))})
    result = group.install("hc", "2.0", file_of(tmp_path, "never.yaml", never))
    assert result.returncode == 2, result.stderr
    line = last_line(result)
    assert "service web: its HEALTHCHECK did not pass within 3 s (last status: unhealthy" in line, line
    assert line.endswith("The previous version 1.0 runs again."), line
    assert group.modules() == "hc\t1.0\n"
    assert group.containers("hc")["web"]["image"] == test_images.app1
    assert group.containers("hc")["web"]["state"] == "running"

    passing = compose({"web": app(test_images.app2, healthcheck=healthcheck("true"))})
    result = group.install("hc", "2.0", file_of(tmp_path, "passing.yaml", passing))
    assert result.returncode == 0, result.stderr
    assert group.modules() == "hc\t2.0\n"
    assert group.containers("hc")["web"]["image"] == test_images.app2


def test_archives_with_env_and_config_files(group: Group, test_images: TestImages, tmp_path: Path):
    project = compose(
        {"web": app("${IMAGE}", volumes=["./conf/message:/etc/message:ro"], environment=["GREETING"])}
    )
    files = {
        "compose.yaml": project,
        ".env": f"IMAGE={test_images.app1}\nGREETING=hello from .env\n",
        "conf/message": "version one\n",
    }
    result = group.install("arch", "2024-01-01", tar_of(tmp_path / "v1.tar.gz", files, gz=True))
    assert result.returncode == 0, result.stderr
    assert message_of(group, "arch") == "version one\n"
    env = json.loads(group.podman.cli("inspect", "--format", "{{json .Config.Env}}", "arch_web_1").stdout)
    assert "GREETING=hello from .env" in env

    archive = tmp_path / "v2.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("docker-compose.yml", project)
        zipped.writestr(".env", f"IMAGE={test_images.app2}\n")
        zipped.writestr("conf/message", "version two\n")
    result = group.install("arch", "abc123", archive)
    assert result.returncode == 0, result.stderr
    assert group.modules() == "arch\tabc123\n"
    assert group.containers("arch")["web"]["image"] == test_images.app2
    assert message_of(group, "arch") == "version two\n"


def test_archive_entries_that_escape_are_rejected(group: Group, tmp_path: Path):
    outside = tmp_path / "evil"
    cases = {"dotdot.tar": tar_of(tmp_path / "dotdot.tar", {"compose.yaml": "services: {}", "../evil": "x"})}
    link = tmp_path / "link.tar"
    with tarfile.open(link, "w") as tar:
        info = tarfile.TarInfo("conf")
        info.type, info.linkname = tarfile.SYMTYPE, str(tmp_path)
        tar.addfile(info)
        data = b"x"
        info = tarfile.TarInfo("conf/evil")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    cases["link.tar"] = link
    zipped = tmp_path / "dotdot.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("../../evil", "x")
    cases["dotdot.zip"] = zipped
    for name, path in cases.items():
        result = group.install("escape", "1", path)
        assert result.returncode == 2, (name, result.stderr)
        assert "refused" in last_line(result), (name, last_line(result))
        assert not outside.exists(), name
        assert list((group.data_dir / "compose").iterdir()) == [], name
    assert group.modules() == ""


def compose_by_hand(podman, directory: Path, *args: str) -> None:
    """podman-compose run by a person (or by the Go plugin) in `directory`."""
    env = {**podman.env, "CONTAINER_HOST": podman.url}
    result = subprocess.run(
        [sys.executable, "-m", "podman_compose", *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_go_plugin_groups_are_taken_over_and_hand_started_projects_left_alone(
    group: Group, test_images: TestImages, tmp_path: Path
):
    # What the Go plugin leaves: <data_dir>/compose/NAME/docker-compose.yml and its version file.
    legacy = group.data_dir / "compose" / "legacy"
    legacy.mkdir(parents=True)
    (legacy / "docker-compose.yml").write_text(compose({"web": app(test_images.app1)}))
    compose_by_hand(group.podman, legacy, "up", "-d")
    (legacy / "version").write_text("0.9\nlegacy\n")
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "compose.yaml").write_text(compose({"web": app(test_images.app1)}))
    compose_by_hand(group.podman, manual, "up", "-d")

    assert group.modules() == "legacy\t0.9\n"
    result = group.run("remove", "manual")
    assert result.returncode == 0, result.stderr
    assert states(group, "manual") == {"web": "running"}
    assert (manual / "compose.yaml").exists()

    v1 = file_of(tmp_path, "v1.yaml", compose({"web": app(test_images.app2)}))
    result = group.install("legacy", "1.0", v1)
    assert result.returncode == 0, result.stderr
    assert group.modules() == "legacy\t1.0\n"
    assert group.containers("legacy")["web"]["image"] == test_images.app2
    assert (legacy / "version").read_text() == "1.0\nlegacy\n"
    assert not (legacy / "docker-compose.yml").exists()  # the old files went with the old version

    result = group.run("remove", "legacy")
    assert result.returncode == 0, result.stderr
    assert group.containers("legacy") == {} and not legacy.exists()
    assert states(group, "manual") == {"web": "running"}


def test_an_interrupted_upgrade_is_repaired_by_the_next_operation(
    group: Group, test_images: TestImages, tmp_path: Path
):
    root = group.data_dir / "compose"
    v1 = file_of(tmp_path, "v1.yaml", compose({"web": app(test_images.app1)}))
    assert group.install("cut", "1.0", v1).returncode == 0
    # Power lost mid-swap: 1.0's files moved aside, 2.0's in place, nothing recorded yet.
    (root / "cut").rename(root / ".cut.tedge-previous")
    (root / "cut").mkdir()
    (root / "cut" / "compose.yaml").write_text(compose({"web": app(test_images.app2)}))
    (root / ".cut.tedge-staging").mkdir()
    assert group.modules() == "cut\t1.0\n"  # what it will be repaired to

    v3 = file_of(tmp_path, "v3.yaml", compose({"web": app(test_images.app2)}))
    result = group.install("cut", "3.0", v3)
    assert result.returncode == 0, result.stderr
    assert "rolled back" in result.stderr
    assert group.modules() == "cut\t3.0\n"
    assert sorted(p.name for p in root.iterdir()) == ["cut"]
    assert states(group, "cut") == {"web": "running"}

    # Power lost in a first install, before it was recorded: remove cleans it up.
    (root / "half").mkdir()
    (root / "half" / "compose.yaml").write_text(compose({"web": app(test_images.app1)}))
    compose_by_hand(group.podman, root / "half", "up", "-d")
    assert "half" not in group.modules()
    result = group.run("remove", "half")
    assert result.returncode == 0, result.stderr
    assert group.containers("half") == {} and not (root / "half").exists()


def test_update_list_installs_and_removes(group: Group, test_images: TestImages, tmp_path: Path):
    one = file_of(tmp_path, "one.yaml", compose({"web": app(test_images.app1)}))
    two = file_of(tmp_path, "two.yaml", compose({"web": app(test_images.app2)}))
    assert group.install("gone", "1", one).returncode == 0
    actions = f"install\tbatch-a\t1\t{one}\ninstall\tbatch-b\t2\t{two}\nremove\tgone\t\t\n"
    result = group.run("update-list", stdin=actions)
    assert result.returncode == 0, result.stderr
    assert group.modules() == "batch-a\t1\nbatch-b\t2\n"
    failing = f"install\tbatch-c\t1\t{tmp_path / 'nothing.yaml'}\nremove\tbatch-a\t\t\n"
    result = group.run("update-list", stdin=failing)
    assert result.returncode == 2
    assert "install batch-c" in result.stderr
    assert group.modules() == "batch-b\t2\n"


# -- private registries ---------------------------------------------------------------

RUN = secrets.token_hex(4)
USER, PASSWORD = "group-user", f"group-pw-{RUN}-5ecre7"


@pytest.fixture(scope="module")
def private_image(auth_registry_a, test_images: TestImages):
    """app:1 on a TLS + htpasswd registry with this module's own credentials."""
    original = (auth_registry_a.username, auth_registry_a.password)
    auth_registry_a.set_credentials(USER, PASSWORD)
    try:
        yield test_images.push(test_images.app1, auth_registry_a, f"group-{RUN}/app:1")
    finally:
        auth_registry_a.set_credentials(*original)


@pytest.mark.parametrize("source", ["file", "helper", "environment", "auth_json"])
def test_private_images_are_pulled_with_the_plugins_credentials(
    group: Group, private_image: str, tmp_path: Path, source: str
):
    host = private_image.split("/", 1)[0]
    device = tmp_path / "device"
    (device / "bin").mkdir(parents=True)
    env = {
        "HOME": str(device),
        "XDG_RUNTIME_DIR": str(device / "run"),
        "REGISTRY_AUTH_FILE": str(device / "no-auth-file.json"),
        "DOCKER_CONFIG": str(device / ".docker"),
        "CONTAINER_LOG_LEVEL": "debug",
    }
    group.plugin.set("registry", "helper", "")
    group.plugin.set("registry", "credentials_path", str(device / "credentials.toml"))
    if source == "file":
        (device / "credentials.toml").write_text(
            f'[registry1]\nrepo = "{host}"\nusername = "{USER}"\npassword = "{PASSWORD}"\n'
        )
    elif source == "helper":
        helper = device / "bin" / "helper"
        helper.write_text(f'#!/bin/sh\nprintf \'{{"username": "{USER}", "password": "{PASSWORD}"}}\'\n')
        helper.chmod(0o755)
        group.plugin.set("registry", "helper", str(helper))
    elif source == "environment":
        env.update(
            CONTAINER_REGISTRY1_REPO=host,
            CONTAINER_REGISTRY1_USERNAME=USER,
            CONTAINER_REGISTRY1_PASSWORD=PASSWORD,
        )
    else:
        auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        (device / "run" / "containers").mkdir(parents=True)
        (device / "run" / "containers" / "auth.json").write_text(
            json.dumps({"auths": {host: {"auth": auth}}})
        )
    group.podman.cli("rmi", "-f", private_image, check=False)  # so that the install really pulls
    project = file_of(tmp_path, "private.yaml", compose({"web": app(private_image)}))

    result = group.install("private", "1", project, env=env)
    assert result.returncode == 0, result.stderr
    assert f"credentials for {host}: " in result.stderr
    assert states(group, "private") == {"web": "running"}
    secret_forms = (PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
    for secret in secret_forms:
        assert secret not in result.stdout + result.stderr
        for path in (group.data_dir / "compose").rglob("*"):
            assert path.is_dir() or secret not in path.read_text(errors="replace"), path
