"""container-group's pure parts: unpacking, reading compose files, the version records, the check."""

from __future__ import annotations

import json
import tarfile
import zipfile
from pathlib import Path

import pytest
from tests.support.group import tar_entries

from tedge_container.credentials.model import secret_values
from tedge_container.software.group import checks, project
from tedge_container.software.group.archive import layout, staging


def special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


COMPOSE = ("compose.yaml", "services: {web: {image: busybox}}")


@pytest.mark.parametrize(
    "entries, complaint",
    [
        ([COMPOSE, ("/etc/evil", "x")], "absolute path"),
        ([COMPOSE, ("conf/../../evil", "x")], "'..'"),
        ([COMPOSE, special("conf", tarfile.SYMTYPE, "/etc")], "absolute path"),
        ([COMPOSE, special("conf", tarfile.SYMTYPE, "../../etc")], "points out of the project"),
        ([COMPOSE, special("conf", tarfile.SYMTYPE, "sub"), ("conf", "x")], "replaces a link"),
        ([COMPOSE, special("hard", tarfile.LNKTYPE, "../outside")], "'..'"),
        ([COMPOSE, special("null", tarfile.CHRTYPE)], "is a device"),
        ([COMPOSE, special("pipe", tarfile.FIFOTYPE)], "is a FIFO"),
    ],
)
def test_archive_entries_that_escape_or_are_devices_are_refused(tmp_path: Path, entries, complaint):
    archive = tar_entries(tmp_path / "project.tar.gz", entries)
    with pytest.raises(staging.UnsafeArchive, match=r"refused|no file") as caught:
        staging.unpack(str(archive), str(tmp_path / "staging"))
    assert complaint in str(caught.value)
    assert not (tmp_path / "evil").exists() and not (tmp_path.parent / "evil").exists()


def test_links_inside_the_project_are_kept_but_never_written_through(tmp_path: Path):
    directory = special("real", tarfile.DIRTYPE)
    entries = [COMPOSE, directory, ("real/app.ini", "a=1"), special("conf", tarfile.SYMTYPE, "real")]
    staging.unpack(str(tar_entries(tmp_path / "ok.tar.gz", entries)), str(tmp_path / "staging"))
    assert (tmp_path / "staging" / "conf").is_symlink()
    assert (tmp_path / "staging" / "conf" / "app.ini").read_text() == "a=1"
    # Even a link inside the project is not a way to place an entry.
    through = [COMPOSE, directory, special("conf", tarfile.SYMTYPE, "real"), ("conf/app.ini", "a=1")]
    with pytest.raises(staging.UnsafeArchive, match="written through the link 'conf'; refused"):
        staging.unpack(str(tar_entries(tmp_path / "through.tar.gz", through)), str(tmp_path / "staging"))


def test_zip_entries_escaping_are_refused_and_plain_entries_kept(tmp_path: Path):
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("compose.yaml", COMPOSE[1])
        archive.writestr("../evil", "x")
    with pytest.raises(staging.UnsafeArchive, match=r"'\.\.'"):
        staging.unpack(str(bad), str(tmp_path / "staging"))
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as archive:
        archive.writestr("compose.yaml", COMPOSE[1])
        archive.writestr("version", "from the archive")
        archive.writestr("conf/app.ini", "a=1")
    staging.unpack(str(good), str(tmp_path / "staging"))
    assert sorted(p.name for p in (tmp_path / "staging").rglob("*")) == ["app.ini", "compose.yaml", "conf"]


def test_a_hard_link_is_unpacked_as_a_link_to_its_file(tmp_path: Path):
    # Written as copies before: one 60 MiB file and three links took 240 MiB of disk.
    links = [special(f"data/link{n}.bin", tarfile.LNKTYPE, "data/big.bin") for n in range(3)]
    archive = tar_entries(tmp_path / "links.tar.gz", [COMPOSE, ("data/big.bin", "x" * 4096), *links])
    staging.unpack(str(archive), str(tmp_path / "staging"))
    data = tmp_path / "staging" / "data"
    assert (data / "link2.bin").read_text() == "x" * 4096
    assert {(data / name).stat().st_ino for name in ("big.bin", "link0.bin", "link2.bin")} == {
        (data / "big.bin").stat().st_ino
    }
    assert (data / "big.bin").stat().st_nlink == 4


def test_a_plain_compose_file_is_stored_under_the_go_plugins_name(tmp_path: Path):
    source = tmp_path / "anything.yml"
    source.write_text(COMPOSE[1])
    staging.unpack(str(source), str(tmp_path / "staging"))
    assert (tmp_path / "staging" / "docker-compose.yaml").read_text() == COMPOSE[1]
    binary = tmp_path / "blob"
    binary.write_bytes(b"\x00\x01\x02" * 10)
    with pytest.raises(project.ProjectError, match="neither a compose file"):
        staging.unpack(str(binary), str(tmp_path / "staging"))


# -- reading compose files -------------------------------------------------------------


def write_project(directory: Path, document: dict | str, name: str = "compose.yaml", env: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = document if isinstance(document, str) else json.dumps(document)
    (directory / name).write_text(text)
    if env:
        (directory / ".env").write_text(env)
    return directory


def test_interpolation_follows_compose():
    values = {"SET": "yes", "EMPTY": ""}
    cases = {
        "$SET ${SET}": "yes yes",
        "${MISSING}": "",
        "${EMPTY:-fallback} ${EMPTY-kept}": "fallback ",
        "${MISSING-d}": "d",
        "${SET:+alt} ${MISSING:+alt}": "alt ",
        "$$SET": "$SET",
        "${MISSING:-${SET}}": "yes",
    }
    for text, expected in cases.items():
        assert project.interpolate(text, values, "f") == expected, text
    with pytest.raises(project.ProjectError, match="required variable MISSING is missing: say it"):
        project.interpolate("${MISSING:?say it}", values, "f")
    assert project.interpolate({"a": ["${SET}", 1]}, values, "f") == {"a": ["yes", 1]}


def test_a_project_reads_services_images_and_restart_with_dotenv(tmp_path: Path):
    document = {
        "services": {
            "web": {"image": "${REGISTRY}/web:${TAG:-1}", "restart": "always"},
            "job": {"image": "busybox", "restart": False},  # YAML's unquoted `no`
            "built": {"build": "."},
        }
    }
    directory = write_project(tmp_path / "My.Shop", document, env="REGISTRY=reg.example\nTAG=2\n")
    loaded = project.load(str(directory), "My.Shop", {"TAG": "3"})
    assert loaded.name == "myshop"  # as podman-compose normalises the directory name
    assert [(s.name, s.image, s.restart, s.builds) for s in loaded.services] == [
        ("web", "reg.example/web:3", "always", False),  # the environment beats .env
        ("job", "busybox", "no", False),
        ("built", "", "no", True),
    ]
    assert [s.may_exit for s in loaded.services] == [False, True, True]
    assert not loaded.pod_declared


def test_the_compose_file_name_order_and_the_name_key(tmp_path: Path):
    directory = write_project(tmp_path / "p", {"services": {"a": {"image": "x"}}}, "docker-compose.yml")
    write_project(directory, {"name": "Chosen", "services": {"b": {"image": "x"}}}, "compose.yml")
    loaded = project.load(str(directory), "p", {})
    assert loaded.compose_file == "compose.yml" and loaded.name == "chosen"


@pytest.mark.parametrize(
    "text, complaint",
    [
        ("services:\n  web: [unclosed\n", "is not valid YAML at line"),
        ("- a list\n", "does not hold a compose project"),
        ("services: {}\n", "defines no services"),
        ("services: {web: {restart: always}}\n", "has neither `image` nor `build`"),
        ("services: {web: 3}\n", "is not a mapping"),
    ],
)
def test_broken_projects_are_named(tmp_path: Path, text: str, complaint: str):
    directory = write_project(tmp_path / "p", text)
    with pytest.raises(project.ProjectError, match=complaint.replace("[", r"\[")):
        project.load(str(directory), "p", {})


def test_no_compose_file_lists_what_was_found(tmp_path: Path):
    directory = write_project(tmp_path / "p", "x", name="stack.yaml")
    with pytest.raises(project.ProjectError, match=r"\(it holds stack.yaml\): expected one of compose.yaml"):
        project.load(str(directory), "p", {})


def test_compose_tags_are_read_as_plain_values(tmp_path: Path):
    directory = write_project(tmp_path / "p", "services:\n  web: !reset\n    image: x\n")
    assert project.load(str(directory), "p", {}).services[0].image == "x"


# -- version records ------------------------------------------------------------------


def test_installed_groups_come_from_version_records(tmp_path: Path):
    root = tmp_path / "compose"
    for name, record in {"b": "2.0\nb\n", "a": "1.0\na\n", "norecord": None}.items():
        (root / name).mkdir(parents=True)
        if record is not None:
            (root / name / "version").write_text(record)
    (root / ".cut.tedge-previous").mkdir()  # an upgrade interrupted mid-swap
    (root / ".cut.tedge-previous" / "version").write_text("0.5\ncut\n")
    (root / ".a.tedge-staging").mkdir()
    assert layout.installed(str(root)) == [("a", "1.0"), ("b", "2.0"), ("cut", "0.5")]
    assert layout.installed(str(tmp_path / "missing")) == [] and layout.installed("") == []
    layout.write_version(str(root / "norecord"), "3 beta", "norecord")
    assert (root / "norecord" / "version").read_text() == "3 beta\nnorecord\n"


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "..", "-x", "x" * 129])
def test_group_names_that_cannot_be_directories_are_refused(name: str):
    with pytest.raises(layout.PluginError):
        layout.check_module_name(name)


# -- the check after compose ----------------------------------------------------------


def spec(restart: str = "always") -> project.ServiceSpec:
    return project.ServiceSpec("web", "x", restart, False)


def inspect(status: str, started: str = "2026-01-01T00:00:10.5Z", code: int = 0, restarts: int = 0) -> dict:
    return {
        "Created": "2026-01-01T00:00:10Z",
        "RestartCount": restarts,
        "State": {"Status": status, "StartedAt": started, "ExitCode": code, "Error": ""},
    }


def test_parse_time_reads_the_engines_timestamps():
    assert checks.parse_time("2026-01-01T00:00:10.5Z") - checks.parse_time("2026-01-01T00:00:10Z") == 0.5
    assert checks.parse_time("2026-01-01T02:00:10.000000001+02:00") == pytest.approx(
        checks.parse_time("2026-01-01T00:00:10Z"), abs=1e-6
    )
    assert checks.parse_time("garbage") == 0.0


def test_the_check_judges_each_state():
    started = checks.parse_time("2026-01-01T00:00:10.5Z")
    since = started - 1
    assert checks._judge(spec(), inspect("running"), since, 0.25, started + 0.1)[:2] == ("wait", "")
    assert checks._judge(spec(), inspect("running"), since, 0.25, started + 0.3)[0] == "ok"
    verdict, why, _ = checks._judge(spec(), inspect("running", restarts=2), since, 0.25, started + 1)
    assert verdict == "failed" and "keeps restarting" in why
    # An old container (not recreated by this up) may have restarted in its life.
    assert checks._judge(spec(), inspect("running", restarts=2), started + 60, 0.25, started + 99)[0] == "ok"
    verdict, why, _ = checks._judge(spec(), inspect("exited", code=1), since, 0.25, started + 1)
    assert verdict == "failed" and why == "service web exited with code 1"
    assert checks._judge(spec("no"), inspect("exited"), since, 0.25, started + 1)[0] == "ok"
    assert checks._judge(spec("always"), inspect("exited"), since, 0.25, started + 1)[0] == "failed"
    assert checks._judge(spec(), inspect("created"), since, 0.25, started + 1)[0] == "failed"
    assert checks._judge(spec(), inspect("stopping"), since, 0.25, started + 1)[0] == "wait"


# -- the podman-compose runner --------------------------------------------------------


def test_compose_gets_the_engine_socket_and_none_of_the_plugins_secrets(monkeypatch):
    from tedge_container.software.group import runner

    monkeypatch.setenv("CONTAINER_REGISTRY1_PASSWORD", "s3cret")
    monkeypatch.setenv("REGISTRY_AUTH_FILE", "/root/auth.json")
    monkeypatch.setenv("TZ", "UTC")
    env = runner.compose_environment("/run/podman/podman.sock")
    assert env["CONTAINER_HOST"] == "unix:///run/podman/podman.sock"
    assert env["TZ"] == "UTC" and "PATH" in env
    assert "s3cret" not in json.dumps(env) and "REGISTRY_AUTH_FILE" not in env
    assert "CONTAINER_REGISTRY1_PASSWORD" not in runner.variables_environment()
    # podman_compose, yaml and dotenv are found where the plugin's bundle is.
    assert all(Path(path).is_dir() for path in env["PYTHONPATH"].split(":"))


def test_only_error_lines_of_compose_output_are_quoted():
    from tedge_container.software.group.runner import ComposeRun

    output = "\n".join(
        [
            "podman create --name x -e PASSWORD=s3cret image",
            "4f3c2b1a",
            'Error: no container with name or ID "shop_web_1" found: no such container',
            "exit code: 125",
        ]
    )
    assert ComposeRun(0, output).last_error() == (
        'Error: no container with name or ID "shop_web_1" found: no such container'
    )


def test_broken_archives_fail_with_their_name(tmp_path: Path):
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(tar_entries(tmp_path / "whole.tar.gz", [COMPOSE]).read_bytes()[:20])
    with pytest.raises(project.ProjectError, match=r"cut\.tar\.gz"):
        staging.unpack(str(truncated), str(tmp_path / "staging"))
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(project.ProjectError, match=r"broken\.zip is not a readable zip archive"):
        staging.unpack(str(broken), str(tmp_path / "staging"))


def test_compose_output_quotes_its_last_error_cut_short_and_without_secrets():
    from tedge_container.software.group import compose_output

    traceback = "\n".join(
        [
            "Traceback (most recent call last):",
            '  File "podman_compose.py", line 3324, in container_to_build_args',
            '    raise OSError(f"Dockerfile not found in {ctx}")',
            "OSError: Dockerfile not found in /data/compose/shop/app",
        ]
    )
    assert compose_output.last_error(traceback, "/data/compose/shop") == "Dockerfile not found in ./app"
    assert "build context" in compose_output.said("Dockerfile not found in ./app")
    podman = "podman create -e DB_PASSWORD=s3cret x\nError: cannot use DB_PASSWORD=s3cret with " + "y " * 150
    quoted = compose_output.last_error(podman, secrets=secret_values({"DB_PASSWORD": "s3cret"}))
    assert "s3cret" not in quoted and quoted.startswith("Error: cannot use DB_PASSWORD=***")
    assert len(quoted) == compose_output.MAX_QUOTE and quoted.endswith("…")
    long_id = "0123456789ab" + "c" * 52
    assert compose_output.last_error(f'Error: unable to start container "{long_id}": x') == (
        'Error: unable to start container "0123456789ab": x'
    )
    assert compose_output.last_error("podman ps\nexit code: 0\n") == ""
    assert secret_values({"API_TOKEN": "abcd", "MODE": "prod"}) == ["abcd"]
    path = "Error: statfs /var/tedge-container-plugin/compose_other_group/conf_directory: no such file"
    assert compose_output.last_error(path, "/var/tedge-container-plugin/compose/shop") == path


def test_interpolation_collects_variables_used_without_a_default():
    missing: set[str] = set()
    values = {"SET": "1", "EMPTY": ""}
    text = "$A ${B} ${C:-x} ${D-x} ${E:+y} ${SET} ${EMPTY} ${F:-${G}} $$H ${SET:+${I}}"
    assert project.interpolate({"k": [text]}, values, "f", missing) == {"k": ["  x x  1   $H "]}
    assert missing == {"A", "B", "G", "I"}
    assert project.interpolate("${A}", values, "f") == ""  # without a collector: as before


def test_unset_variables_are_attributed_to_services_once_per_shared_node(tmp_path: Path):
    # 200 services aliasing one environment through a YAML anchor: each is named, the node read once.
    lines = ["x-env: &env", "  A: ${UNSET}", "  B: ${SET}", "services:"]
    lines += [f"  s{n}: {{image: app, environment: *env}}" for n in range(200)]
    (tmp_path / "compose.yaml").write_text("\n".join(lines) + "\n")
    (tmp_path / ".env").write_text("SET=1\n")
    loaded = project.load(str(tmp_path), "shop", {})
    assert list(loaded.unset) == ["UNSET"] and len(loaded.unset["UNSET"]) == 200
    assert loaded.unset["UNSET"][:2] == ["s0", "s1"]
