"""The `container-group` type on the real podman service: compose projects as software modules.

Every test writes its own compose file over the session's busybox images and
runs `sm-plugins/container-group` as tedge-agent would. `data_dir` is the
test's own directory.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from tests.conftest import REPO, Plugin
from tests.integration.test_mqtt import retained, unique, use_broker
from tests.support.images import TestImages

GROUP_SCRIPT = REPO / "sm-plugins" / "container-group"


class Group:
    """`sm-plugins/container-group` with data_dir in the test's directory."""

    def __init__(self, plugin: Plugin, data_dir: Path) -> None:
        self.plugin = plugin
        self.podman = plugin.podman
        self.data_dir = data_dir
        plugin.set("", "data_dir", str(data_dir))
        plugin.set("report", "enabled", False)

    def run(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None):
        return self.plugin._exec([sys.executable, str(GROUP_SCRIPT), *args], stdin, env, 180)

    def install(self, name: str, version: str, file: Path, env: dict[str, str] | None = None):
        return self.run("install", name, "--module-version", version, "--file", str(file), env=env)

    def modules(self) -> str:
        result = self.run("list")
        assert result.returncode == 0, result.stderr
        return result.stdout

    def containers(self, project: str) -> dict[str, dict]:
        """service → {state, image, id} of the project's containers, from the podman CLI."""
        out = self.podman.cli(
            "ps", "-a", "--filter", f"label=com.docker.compose.project={project}", "--format", "json"
        ).stdout
        found = {}
        for entry in json.loads(out or "[]"):
            service = entry["Labels"]["com.docker.compose.service"]
            found[service] = {"state": entry["State"], "image": entry["Image"], "id": entry["Id"]}
        return found


def compose(services: dict[str, dict], **top) -> str:
    """A compose file (JSON is YAML) from plain data."""
    return json.dumps({**top, "services": services}, indent=1)


def tar_of(path: Path, files: dict[str, str | bytes], gz: bool = False) -> Path:
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        for name, text in files.items():
            data = text.encode() if isinstance(text, str) else text
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture()
def group(plugin: Plugin, tmp_path: Path) -> Group:
    return Group(plugin, tmp_path / "data")


def app(image: str, **extra) -> dict:
    return {"image": image, "restart": "always", **extra}


def last_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else ""


def states(group: Group, project: str) -> dict[str, str]:
    return {service: c["state"] for service, c in group.containers(project).items()}


def file_of(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


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
    registration = json.loads(retained(mqtt_broker, f"{topic}@web")[f"{topic}@web"])
    assert registration["type"] == "container-group"
    twin = registration["container"]
    assert twin["project"] == name and twin["service"] == "web" and twin["image"] == test_images.app1
    assert twin["containerId"] == group.containers(name)["web"]["id"]
    health = retained(mqtt_broker, f"{topic}@worker/#")[f"{topic}@worker/status/health"]
    assert json.loads(health)["status"] == "up"
    group.podman.cli("exec", f"{name}_web_1", "sh", "-c", "echo kept > /data/mark")

    # 2.0 changes web's image and drops worker; the volume survives.
    v2 = {"web": app(test_images.app2, volumes=["data:/data"])}
    result = group.install(name, "2.0", file_of(tmp_path, "v2.yaml", compose(v2, volumes={"data": {}})))
    assert result.returncode == 0, result.stderr
    assert group.modules() == f"{name}\t2.0\n"
    running = group.containers(name)
    assert list(running) == ["web"]
    assert running["web"]["state"] == "running" and running["web"]["image"] == test_images.app2
    assert group.podman.cli("exec", f"{name}_web_1", "cat", "/data/mark").stdout == "kept\n"
    assert retained(mqtt_broker, f"{topic}@worker") == {}
    assert retained(mqtt_broker, f"{topic}@worker/#") == {}
    assert json.loads(retained(mqtt_broker, f"{topic}@web")[f"{topic}@web"])["container"]["image"] == (
        test_images.app2
    )

    for _ in range(2):  # removing twice: the second finds nothing and succeeds
        result = group.run("remove", name, "--module-version", "2.0")
        assert result.returncode == 0, result.stderr
        assert group.modules() == ""
        assert group.containers(name) == {}
        assert not (group.data_dir / "compose" / name).exists()
    assert retained(mqtt_broker, f"{topic}@web") == {}
    # Named volumes go with the group (as with the Go plugin).
    assert name + "_data" not in group.podman.cli("volume", "ls", "--format", "{{.Name}}").stdout.split()


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
    assert group.podman.cli("exec", "arch_web_1", "cat", "/etc/message").stdout == "version one\n"
    greeting = group.podman.cli("exec", "arch_web_1", "/bin/sh", "-c", "echo $GREETING").stdout
    assert greeting == "hello from .env\n"

    archive = tmp_path / "v2.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("docker-compose.yml", project)
        zipped.writestr(".env", f"IMAGE={test_images.app2}\n")
        zipped.writestr("conf/message", "version two\n")
    result = group.install("arch", "abc123", archive)
    assert result.returncode == 0, result.stderr
    assert group.modules() == "arch\tabc123\n"
    assert group.containers("arch")["web"]["image"] == test_images.app2
    assert group.podman.cli("exec", "arch_web_1", "cat", "/etc/message").stdout == "version two\n"


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
