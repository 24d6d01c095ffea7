"""Stand-ins for the Go project's packages that this package replaces.

Built with the same nfpm as scripts/build-packages (its build virtualenv), with
the names, versions, relations and the files that overlap ours:
- tedge-container-plugin 1.3.0, the Go project's legacy shell plugin: the
  `container` sm-plugin as a regular file, and a program of its own.
- tedge-container-plugin-ng, its current package: Provides, Conflicts and
  Replaces "tedge-container-plugin"; /usr/bin/tedge-container with the
  sm-plugin symlinks to it, and the configuration file as a conffile.
The programs are stubs: only what the package managers see matters here.
"""

from __future__ import annotations

from pathlib import Path

from pkg_support import LEGACY_PACKAGE, NG_PACKAGE, REPO, run

NFPM = REPO / "build" / "packaging" / "venv" / "bin" / "nfpm"
LEGACY_VERSION = "1.3.0"  # its last release
NG_VERSION = "2.6.0"
CONFIG = "/etc/tedge/plugins/tedge-container-plugin.toml"
NG_CONFIG_TEXT = '[container]\nnetwork = "tedge"\n'

STUB = "#!/bin/sh\n# stand-in of a Go project's package (tests/packaging/standins.py)\nexit 0\n"


def _yaml(name: str, version: str, relations: str, contents: str) -> str:
    return (
        f'name: {name}\narch: all\nplatform: linux\nversion: {version}\nrelease: "1"\n'
        f"maintainer: stand-in <stand-in@localhost>\ndescription: stand-in of {name}\n"
        f"{relations}contents:\n{contents}"
    )


def build(workdir: Path, packager: str = "deb") -> dict[str, Path]:
    """{package name: file} of both stand-ins, in `packager` format."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "stub").write_text(STUB)
    (workdir / "config.toml").write_text(NG_CONFIG_TEXT)
    legacy = _yaml(
        LEGACY_PACKAGE,
        LEGACY_VERSION,
        "",
        "  - src: ./stub\n    dst: /etc/tedge/sm-plugins/container\n    file_info: {mode: 0755}\n"
        "  - src: ./stub\n    dst: /usr/bin/container-monitor\n    file_info: {mode: 0755}\n",
    )
    ng = _yaml(
        NG_PACKAGE,
        NG_VERSION,
        f"provides: [{LEGACY_PACKAGE}]\nconflicts: [{LEGACY_PACKAGE}]\nreplaces: [{LEGACY_PACKAGE}]\n",
        "  - src: ./stub\n    dst: /usr/bin/tedge-container\n    file_info: {mode: 0755}\n"
        + "".join(
            f"  - src: /usr/bin/tedge-container\n    dst: /etc/tedge/sm-plugins/{plugin}\n    type: symlink\n"
            for plugin in ("container", "container-group")
        )
        + f"  - src: ./config.toml\n    dst: {CONFIG}\n    type: config|noreplace\n",
    )
    built = {}
    for name, text in ((LEGACY_PACKAGE, legacy), (NG_PACKAGE, ng)):
        config = workdir / f"{name}.yaml"
        config.write_text(text)
        target = workdir / f"{name}.{packager}"
        run([NFPM, "package", "--config", config, "--packager", packager, "--target", target], cwd=workdir)
        built[name] = target
    return built
