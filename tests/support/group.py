"""`sm-plugins/container-group` run as tedge-agent runs it, and compose files from plain data."""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

from tests.conftest import REPO, Plugin

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


def tar_entries(path: Path, entries: list[tarfile.TarInfo | tuple[str, str | bytes]]) -> Path:
    """A tar (gzipped when `path` ends in .gz) of entries: (name, content) files, or TarInfo as given."""
    with tarfile.open(path, "w:gz" if path.name.endswith(".gz") else "w") as tar:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
            else:
                name, text = entry
                data = text.encode() if isinstance(text, str) else text
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


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
