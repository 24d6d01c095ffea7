"""Drop-in breaks found side by side with the Go plugin (issue 12), on a real podman.

Each test states what the Go plugin (v2.12) did with the same call on the same
engine, as reproduced in the issue, and checks what an operator sees here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.podman import PodmanService

REPO = Path(__file__).resolve().parents[2]
APP1 = "localhost/tedge-test/app:1"
APP2 = "localhost/tedge-test/app:2"


@pytest.fixture(autouse=True)
def _quiet(plugin) -> None:
    plugin.set_config("container", "pruneimages", False)
    plugin.set_config("report", "enabled", False)


def last_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else ""


def inspect(podman: PodmanService, name: str) -> dict:
    return json.loads(podman.cli("container", "inspect", name).stdout)[0]


@pytest.fixture()
def local_tags(podman_service: PodmanService):
    """Short-named local images (`localhost/accept-app:1.0`, :2.0), as built or loaded on a device."""
    tags = ["localhost/accept-app:1.0", "localhost/accept-app:2.0"]
    podman_service.cli("tag", APP1, tags[0])
    podman_service.cli("tag", APP2, tags[1])
    yield tags
    podman_service.cli("rmi", *tags, check=False)


def test_short_names_of_local_images(plugin, podman_service, test_images, local_tags) -> None:
    # Go: exit 0 (podman resolves short names to localhost/ first); ours pulled docker.io (exit 3).
    result = plugin.run("install", "s1", "--module-version", "accept-app:1.0")
    assert result.returncode == 0, result.stderr
    assert inspect(podman_service, "s1")["ImageName"] == "localhost/accept-app:1.0"
    result = plugin.run("install", "s1", "--module-version", "accept-app:2.0")  # the upgrade
    assert result.returncode == 0, result.stderr
    data = inspect(podman_service, "s1")
    assert data["ImageName"] == "localhost/accept-app:2.0"
    assert data["State"]["Running"]
    assert plugin.run("list").stdout == "s1\taccept-app:2.0\n"
    # container.alwayspull never tries to pull a localhost/ image: no registry serves it (Go: exit 1)
    plugin.set_config("container", "alwayspull", True)
    result = plugin.run("install", "s1", "--module-version", "accept-app:1.0")
    assert result.returncode == 0, result.stderr
    assert inspect(podman_service, "s1")["ImageName"] == "localhost/accept-app:1.0"


def test_archive_of_a_local_image_under_its_short_name(
    plugin, podman_service, test_images, local_tags, tmp_path: Path
) -> None:
    # Go: exit 0; ours: exit 2 "does not hold accept-app:2.0 (it holds localhost/accept-app:2.0)".
    path = test_images.save_archive(local_tags[1], tmp_path / "a2.tar")
    podman_service.cli("rmi", local_tags[1])
    result = plugin.run("install", "s3", "--module-version", "accept-app:2.0", "--file", str(path))
    assert result.returncode == 0, result.stderr
    assert inspect(podman_service, "s3")["ImageName"] == "localhost/accept-app:2.0"
    assert plugin.run("list").stdout == "s3\taccept-app:2.0\n"


def test_missing_short_name_fails_naming_the_candidates(plugin, podman_service) -> None:
    # Go and ours: exit 3 "check network" (docker.io is unreachable here); it is a failure naming
    # what was tried.
    result = plugin.run("install", "s4", "--module-version", "accept-app:9")
    assert result.returncode == 2, result.stderr
    line = last_line(result)
    assert "localhost/accept-app:9" in line and "docker.io/library/accept-app:9" in line
    assert line.endswith("give its full name, e.g. docker.io/library/accept-app:9.")


def test_missing_localhost_image_is_not_pulled(plugin, podman_service) -> None:
    # issue 11: a missing localhost/ image got network advice and exit 3; nothing serves it.
    result = plugin.run("install", "s5", "--module-version", "localhost/accept-app:9")
    assert result.returncode == 2, result.stderr
    assert "cannot be pulled (no registry serves it); load it with --file" in last_line(result)


def test_hostname_is_the_module_name_after_an_upgrade(plugin, podman_service, test_images) -> None:
    # Go plugin and ours: after an upgrade the hostname and /etc/hosts carried web.tedge-new.
    for image in (APP1, APP2):
        result = plugin.run("install", "web", "--module-version", image)
        assert result.returncode == 0, result.stderr
    assert podman_service.container_hostname("web") == "web"
    hosts = podman_service.container_file("web", "/etc/hosts").splitlines()
    assert any(line.strip() and not line.startswith("#") for line in hosts), hosts
    # podman 4.3 writes "IP HOSTNAME NAME-AT-CREATE" ("IP web web.tedge-new"); podman 5 here writes no
    # entry of the container. Wherever the temporary name is, the module name comes first.
    for names in (line.split()[1:] for line in hosts if line.strip() and not line.startswith("#")):
        if "web.tedge-new" in names:
            assert names[0] == "web", hosts


def test_tedge_container_program_and_global_options(plugin, podman_service, test_images) -> None:
    # Go: `tedge-container container list --log-level debug -c FILE`; ours had no such program.
    assert plugin.run("install", "g1", "--module-version", APP1).returncode == 0
    env = plugin.env({"TEDGE_CONFIG_DIR": "/nonexistent"})  # the file comes from -c alone
    program = str(REPO / "bin" / "tedge-container")
    result = subprocess.run(
        [sys.executable, program, "container", "list", "--log-level", "debug", "-c", str(plugin.config_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, f"g1\t{APP1}\n"), result.stderr
    assert "debug: configuration " in result.stderr


class _SearchingPodman(PodmanService):
    """A podman whose registries.conf lists unqualified-search registries."""

    def __init__(self, workdir: Path, search: list[str], **kwargs) -> None:
        super().__init__(workdir, **kwargs)
        self.search = search

    def _registries_conf(self) -> str:
        listed = ", ".join(json.dumps(host) for host in self.search)
        return (
            super()
            ._registries_conf()
            .replace("unqualified-search-registries = []", f"unqualified-search-registries = [{listed}]")
        )


def test_short_names_use_the_engines_search_registries(
    plugin, test_images, open_registry, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # podman pulls a short name from its unqualified-search registries (ours pulled docker.io).
    remote = test_images.push(APP1, open_registry, "tedge/searched:1")
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"tcp-search-{os.getpid()}"
    service = _SearchingPodman(workdir, [open_registry.host], insecure_registries=[open_registry])
    try:
        service.start()
        plugin.set_config("container", "host", service.url)
        result = plugin.run("install", "found", "--module-version", "tedge/searched:1")
        assert result.returncode == 0, result.stderr
        assert inspect(service, "found")["ImageName"] == remote
        assert plugin.run("list").stdout == "found\ttedge/searched:1\n"
        # the credentials command asks the chain what the install asked it: the candidate's full name
        shown = plugin.cli("credentials", "tedge/searched:1")
        assert f"image:    {remote}\n" in shown.stdout, shown.stderr
        assert "pulled from podman's unqualified-search registries" in shown.stdout
        # a local localhost/ image of the same short name comes first, as with podman
        service.cli("tag", remote, "localhost/tedge/searched:1")
        result = plugin.run("install", "found", "--module-version", "tedge/searched:1")
        assert result.returncode == 0, result.stderr
        assert inspect(service, "found")["ImageName"] == "localhost/tedge/searched:1"
        # nothing on the search registry: exit 2, naming it (no Docker Hub fallback then)
        result = plugin.run("install", "nope", "--module-version", "tedge/absent:1")
        assert result.returncode == 2, result.stderr
        assert f"{open_registry.host}/tedge/absent:1" in last_line(result)
        assert "docker.io" not in last_line(result)
    finally:
        service.stop()
        subprocess.run(["rm", "-rf", str(workdir)], check=False, timeout=60)


def test_list_with_go_style_config(plugin, podman_service, test_images, local_tags) -> None:
    # Go: keys in any case, `pruneimages = 1` tolerated, RE2 patterns (`\z`, POSIX classes), an
    # invalid pattern warned about and skipped. Ours: list exited 2 on each, with a FutureWarning.
    plugin.set_config("container", "pruneimages", None)
    plugin.write_config(
        "[Filter.Exclude]\nNames = ['dd-m1\\z', '^x[[:digit:]]{3}$', '(bad']\n[CONTAINER]\nPruneImages = 1\n"
    )
    for name in ("dd-m1", "dd-m10", "x123", "x12"):
        podman_service.cli("create", "--name", name, APP1)
    podman_service.cli("create", "--name", "hand", "accept-app:1.0")  # a short name, by hand
    result = plugin.run("list")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"dd-m10\t{APP1}\nhand\tlocalhost/accept-app:1.0\nx12\t{APP1}\n"
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 1, " || ".join(warnings)
    assert "filter.exclude.names: the pattern '(bad' is skipped" in warnings[0]
    assert "Warning" not in result.stderr.replace("warning:", "")
