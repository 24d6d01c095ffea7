"""What the .deb, .rpm and .apk contain, read with each format's own tools.

dpkg-deb for the .deb, rpm for the .rpm; Debian has no apk tool, and an .apk
is a concatenation of gzip'ed tar streams, so Python's tarfile reads it.
"""

from __future__ import annotations

import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
from pkg_support import EPOCH, LEGACY_PACKAGE, NG_PACKAGE, PACKAGE, REPO, need_tool, run

pytestmark = pytest.mark.packaging

LAUNCHER = "/usr/bin/tedge-container-plugin"
SYMLINK = "/etc/tedge/sm-plugins/container"
GO_PROGRAM = "/usr/bin/tedge-container"  # the Go plugin's program name, a symlink to the launcher
GROUP_SYMLINK = "/etc/tedge/sm-plugins/container-group"
IMAGE_SYMLINK = "/etc/tedge/sm-plugins/container-image"
LOG_PLUGIN = "/usr/share/tedge/log-plugins/container"
GROUP_LOG_PLUGIN = "/usr/share/tedge/log-plugins/container-group"
# every symlink: to the launcher
LINKS = (SYMLINK, GROUP_SYMLINK, IMAGE_SYMLINK, GO_PROGRAM, LOG_PLUGIN, GROUP_LOG_PLUGIN)
# the service plugins: regular files (the launcher), root's, 755
SERVICE_PLUGINS = (
    "/usr/share/tedge/service-plugins/container",
    "/usr/share/tedge/service-plugins/container-group",
)
# the workflows of the service commands tedge-agent does not ship: config files
WORKFLOWS = tuple(
    f"/etc/tedge/operations/service_{action}.toml" for action in ("start", "stop", "pause", "unpause")
)
UNIT = "/usr/lib/systemd/system/tedge-container-plugin.service"  # the Go package's unit name
INIT_SCRIPT = "/etc/init.d/tedge-container-plugin"  # SysV (deb, rpm) or OpenRC (apk)
CONFIG = "/etc/tedge/plugins/tedge-container-plugin.toml"
LIB = "/usr/lib/tedge-container-plugin"
DOC = "/usr/share/doc/tedge-container-plugin"
# Modules that must be bundled, so that nothing is needed from the system.
BUNDLED_MODULES = (
    "tedge_container/cli.py",
    "tedge_container/__main__.py",
    "podman/__init__.py",
    "requests/__init__.py",
    "urllib3/__init__.py",
    "idna/__init__.py",
    "certifi/cacert.pem",
    "charset_normalizer/__init__.py",
    "paho/mqtt/client.py",
    "tomli/__init__.py",
    "podman_compose.py",
    "yaml/__init__.py",
    "dotenv/__init__.py",
)
ALLOWED_PREFIXES = (*LINKS, CONFIG, LIB + "/", DOC + "/", UNIT, INIT_SCRIPT, *SERVICE_PLUGINS, *WORKFLOWS)
COMPILED_SUFFIXES = (".so", ".pyc", ".pyd", ".dll", ".dylib", ".exe")


class Entry:
    """One file of a package: path, type ('-', 'd' or 'l'), mode bits, owner, target."""

    def __init__(self, path: str, kind: str, mode: int, owner: str, target: str = "") -> None:
        self.path, self.kind, self.mode, self.owner, self.target = path, kind, mode, owner, target

    def __repr__(self) -> str:
        return f"{self.kind}{self.mode:04o} {self.owner} {self.path} {self.target}".rstrip()


def _mode_bits(text: str) -> int:
    """'rwxr-xr-x' → 0o755 (special bits shown as s/t count as set)."""
    bits = 0
    for i, char in enumerate(text[:9]):
        if char != "-":
            bits |= 1 << (8 - i)
    if text[2] in "sS":
        bits |= stat.S_ISUID
    if text[5] in "sS":
        bits |= stat.S_ISGID
    return bits


def normalise(path: str) -> str:
    return "/" + path.lstrip("./").rstrip("/")


def deb_entries(deb: Path) -> dict[str, Entry]:
    """`dpkg-deb -c`: -rw-r--r-- root/root 3593 2026-01-01 00:00 ./etc/x [-> target]."""
    entries = {}
    for line in run(["dpkg-deb", "-c", deb]).stdout.splitlines():
        fields = line.split(None, 5)
        mode, owner, name = fields[0], fields[1], fields[5]
        target = ""
        if mode[0] == "l":
            name, _, target = name.partition(" -> ")
        path = normalise(name)
        if path != "/":
            entries[path] = Entry(path, mode[0], _mode_bits(mode[1:]), owner, target)
    return entries


def rpm_entries(rpm: Path) -> dict[str, Entry]:
    fmt = "[%{FILEMODES:perms}\\t%{FILEUSERNAME}/%{FILEGROUPNAME}\\t%{FILENAMES}\\t%{FILELINKTOS}\\n]"
    entries = {}
    for line in run(["rpm", "-qp", "--qf", fmt, rpm]).stdout.splitlines():
        mode, owner, path, target = line.split("\t")
        entries[path] = Entry(path, mode[0], _mode_bits(mode[1:]), owner, target)
    return entries


def apk_entries(apk: Path) -> tuple[dict[str, Entry], dict[str, str]]:
    """The data entries and the control files (.PKGINFO, scripts) of an .apk."""
    entries, control = {}, {}
    with tarfile.open(apk, "r:gz") as archive:
        for member in archive.getmembers():
            if member.name.startswith("."):
                data = archive.extractfile(member)
                control[member.name] = data.read().decode() if data else ""
                continue
            kind = "d" if member.isdir() else "l" if member.issym() else "-"
            path = normalise(member.name)
            owner = f"{member.uname or member.uid}/{member.gname or member.gid}"
            entries[path] = Entry(path, kind, member.mode & 0o7777, owner, member.linkname)
    return entries, control


def apk_file(apk: Path, path: str) -> str:
    """The text of one data file of an .apk."""
    with tarfile.open(apk, "r:gz") as archive:
        for member in archive.getmembers():
            if normalise(member.name) == path:
                data = archive.extractfile(member)
                return data.read().decode() if data else ""
    raise AssertionError(f"{path} not in {apk.name}")


def check_entries(entries: dict[str, Entry], fmt: str) -> None:
    """The checks every format shares: files, modes, owners, symlink, bundle."""
    launcher = entries[LAUNCHER]
    assert (launcher.kind, launcher.mode) == ("-", 0o755), launcher
    for path in LINKS:
        link = entries[path]
        assert (link.kind, link.target) == ("l", LAUNCHER), link
    config = entries[CONFIG]
    assert (config.kind, config.mode) == ("-", 0o644), config
    for path in SERVICE_PLUGINS:
        assert (entries[path].kind, entries[path].mode) == ("-", 0o755), entries[path]
    for path in WORKFLOWS:
        assert (entries[path].kind, entries[path].mode) == ("-", 0o644), entries[path]
    assert (entries[UNIT].kind, entries[UNIT].mode) == ("-", 0o644), entries[UNIT]
    assert (entries[INIT_SCRIPT].kind, entries[INIT_SCRIPT].mode) == ("-", 0o755), entries[INIT_SCRIPT]
    # podman-compose is GPL-2.0-only: its licence ships beside it.
    assert "GNU GENERAL PUBLIC LICENSE" in (REPO / "build/packaging/podman-compose.LICENSE").read_text()
    for name in ("LICENSE", "registry-credentials.example", "podman-compose.LICENSE"):
        assert entries[f"{DOC}/{name}"].kind == "-", f"{fmt}: {DOC}/{name}"
        assert entries[f"{DOC}/{name}"].mode == 0o644
    for module in BUNDLED_MODULES:
        assert f"{LIB}/{module}" in entries, f"{fmt}: {module} is not bundled"

    files = [e for e in entries.values() if e.kind != "d"]
    strays = [e for e in files if not e.path.startswith(ALLOWED_PREFIXES)]
    assert not strays, f"{fmt}: unexpected files {strays}"
    compiled = [e for e in files if e.path.endswith(COMPILED_SUFFIXES) or "__pycache__" in e.path]
    assert not compiled, f"{fmt}: compiled files in an architecture-independent package {compiled}"
    for entry in entries.values():
        assert entry.owner in ("root/root", "0/0"), entry
        assert not entry.mode & (stat.S_IWGRP | stat.S_IWOTH | stat.S_ISUID | stat.S_ISGID), entry
        if entry.path.startswith(LIB + "/"):
            assert entry.mode == (0o755 if entry.kind == "d" else 0o644), entry
    links = [e for e in files if e.kind == "l" and e.path not in LINKS]
    assert not links, "unexpected symlinks"


def test_deb_metadata(packages: dict[str, Path], version: str) -> None:
    need_tool("dpkg-deb")
    deb = packages["deb"]
    fields = {
        name: run(["dpkg-deb", "-f", deb, name]).stdout.strip()
        for name in (*("Package", "Version", "Architecture", "Depends", "Recommends"),
                     *("Conflicts", "Replaces", "Provides"))
    }  # fmt: skip
    assert fields == {
        "Package": PACKAGE,
        # The epoch sorts it above every version of the Go project's packages.
        "Version": f"{EPOCH}:{version}-1",
        "Architecture": "all",
        "Depends": "python3 (>= 3.9)",
        "Recommends": "podman",
        "Conflicts": f"{LEGACY_PACKAGE}, {NG_PACKAGE}",
        "Replaces": f"{LEGACY_PACKAGE}, {NG_PACKAGE}",
        "Provides": "",  # -ng conflicts with the name: dpkg would refuse to swap
    }
    assert run(["dpkg", "--compare-versions", fields["Version"], "gt", "99999.0.0-1"]).returncode == 0
    assert deb.name == f"{PACKAGE}_{version}-1_all.deb"

    info = run(["dpkg-deb", "-I", deb]).stdout
    for script in ("postinst", "prerm", "postrm"):
        assert f"*  {script}" in info, f"{script} missing or not executable:\n{info}"
    conffiles = run(["dpkg-deb", "-I", deb, "conffiles"]).stdout.split()
    assert sorted(conffiles) == sorted([CONFIG, *WORKFLOWS])


def test_deb_contents(packages: dict[str, Path]) -> None:
    need_tool("dpkg-deb")
    check_entries(deb_entries(packages["deb"]), "deb")


def test_deb_bundle_is_the_checkout_and_self_contained(packages: dict[str, Path], tmp_path: Path) -> None:
    """The bundled plugin is this checkout's code, and its imports resolve inside the bundle."""
    need_tool("dpkg-deb")
    run(["dpkg-deb", "-x", packages["deb"], tmp_path])
    lib = tmp_path / LIB.lstrip("/")
    source = REPO / "plugin" / "tedge_container"
    source_files = {p.relative_to(source) for p in source.rglob("*.py") if "__pycache__" not in p.parts}
    bundled_files = {
        p.relative_to(lib / "tedge_container") for p in lib.joinpath("tedge_container").rglob("*.py")
    }
    assert bundled_files == source_files
    for name in source_files:
        assert (lib / "tedge_container" / name).read_bytes() == (source / name).read_bytes(), name

    # Import everything with the system python, isolated, bundle first, no site-packages.
    probe = (
        "import sys; sys.path[:0] = [sys.argv[1]]\n"
        "import tedge_container.cli, podman, requests, urllib3, idna, certifi, charset_normalizer\n"
        "import paho.mqtt.client, tomli\n"
        "mods = [tedge_container, podman, requests, urllib3, idna, certifi, charset_normalizer,"
        " paho.mqtt.client, tomli]\n"
        "outside = [m.__name__ for m in mods if not m.__file__.startswith(sys.argv[1])]\n"
        "assert not outside, outside\n"
        "import charset_normalizer.md as md; assert md.__file__.endswith('.py'), md.__file__\n"
    )
    run(["/usr/bin/python3", "-I", "-S", "-c", probe, lib], env={"PATH": "/usr/bin:/bin"})


def test_maintainer_scripts_are_posix_sh() -> None:
    for script in sorted((REPO / "packaging" / "scripts").iterdir()):
        result = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script.name}: {result.stderr}"
        assert script.read_text().startswith("#!/bin/sh\n"), script.name


def test_rpm_metadata_and_contents(packages: dict[str, Path], version: str) -> None:
    # Debian's `rpm` package; scripts/test does not install it yet: a skip, not a failure.
    need_tool("rpm", required_in_ci=False)
    rpm = packages["rpm"]
    query = run(["rpm", "-qp", "--qf", "%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH} %{LICENSE}", rpm])
    assert query.stdout == f"{PACKAGE} {EPOCH} {version} 1 noarch Apache-2.0"
    # Replacing the Go project's packages: Obsoletes (rpm's Replaces) and Conflicts.
    assert run(["rpm", "-qp", "--obsoletes", rpm]).stdout.split() == [LEGACY_PACKAGE, NG_PACKAGE]
    assert run(["rpm", "-qp", "--conflicts", rpm]).stdout.split() == [LEGACY_PACKAGE, NG_PACKAGE]
    provides = run(["rpm", "-qp", "--provides", rpm]).stdout.splitlines()
    assert provides == [f"{PACKAGE} = {EPOCH}:{version}-1"]
    assert rpm.name == f"{PACKAGE}-{version}-1.noarch.rpm"
    requires = run(["rpm", "-qp", "--requires", rpm]).stdout.splitlines()
    assert "python3 >= 3.9" in requires
    assert run(["rpm", "-qp", "--recommends", rpm]).stdout.split() == ["podman"]
    # The config is %config(noreplace): c = config, n = noreplace.
    flags = run(["rpm", "-qp", "--qf", "[%{FILENAMES}\\t%{FILEFLAGS:fflags}\\n]", rpm]).stdout
    config_flags = dict(line.split("\t") for line in flags.splitlines())
    for path in (CONFIG, *WORKFLOWS):
        assert config_flags[path] == "cn", path
    assert sorted(run(["rpm", "-qpc", rpm]).stdout.split()) == sorted([CONFIG, *WORKFLOWS])
    scripts = run(["rpm", "-qp", "--scripts", rpm]).stdout
    for name in ("postinstall", "preuninstall", "postuninstall"):
        assert f"{name} scriptlet" in scripts
    entries = rpm_entries(rpm)
    check_entries(entries, "rpm")
    # rpm sets the attributes of the directories it owns: never /etc/tedge,
    # which the tedge package owns (user tedge).
    assert not [p for p in entries if p in ("/etc", "/etc/tedge", "/etc/tedge/sm-plugins", "/usr/bin")]


def test_apk_metadata_and_contents(packages: dict[str, Path], version: str) -> None:
    apk = packages["apk"]
    entries, control = apk_entries(apk)
    info: dict[str, list[str]] = {}
    for line in control[".PKGINFO"].splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition(" = ")
            info.setdefault(key, []).append(value)
    assert info["pkgname"] == [PACKAGE]
    assert info["pkgver"] == [f"{version}-r1"]
    assert info["arch"] == ["noarch"]
    # apk's conflicts are "!NAME" dependencies; replaces lets it take over their files.
    assert info["depend"] == ["python3>=3.9", f"!{LEGACY_PACKAGE}", f"!{NG_PACKAGE}"]
    assert info["replaces"] == [LEGACY_PACKAGE, NG_PACKAGE]
    assert info["license"] == ["Apache-2.0"]
    assert apk.name == f"{PACKAGE}_{version}-r1_noarch.apk"
    for script in (".post-install", ".post-upgrade", ".pre-deinstall", ".post-deinstall"):
        assert control[script].startswith("#!/bin/sh"), script
    check_entries(entries, "apk")
    assert "openrc-run" in apk_file(apk, INIT_SCRIPT)
