"""The plugin as a device runs it, for the bench: the package's launcher on the system's python3.

A device runs `/usr/bin/python3 -IS` with the package's bundle (all dependencies, pure
Python: PyYAML without its C extension, podman-compose) on sys.path, byte-compiled by
the package's postinstall. Here the bundle is staged by `scripts/build-packages
--bundle-only`, copied and compiled the same way, and the checkout's `plugin/` goes
in front of it, so the code measured is this checkout's and everything else is the
package's.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SYSTEM_PYTHON = "/usr/bin/python3"  # what a device runs the packaged plugin with

_LAUNCHER = """\
import sys
sys.path[:0] = [{plugin!r}, {lib!r}]
from tedge_container.cli import main
sys.exit(main(sys.argv))
"""


def device_commands(repo: Path, workdir: Path) -> dict[str, list[str]]:
    """Software type → the command line that runs its plugin as a device does."""
    staged = subprocess.run(
        [str(repo / "scripts" / "build-packages"), "--bundle-only"],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout.split()[-1]
    lib = workdir / "device-lib"
    shutil.copytree(staged, lib)
    # As packaging/scripts/postinstall does, for the checkout's code as well.
    for tree in (lib, repo / "plugin"):
        subprocess.run([SYSTEM_PYTHON, "-I", "-m", "compileall", "-q", str(tree)], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
    plugins = workdir / "sm-plugins"
    plugins.mkdir()
    commands = {}
    for software_type in ("container", "container-group"):
        launcher = plugins / software_type  # the role is told from the name, as with the package's symlinks
        launcher.write_text(_LAUNCHER.format(plugin=str(repo / "plugin"), lib=str(lib)))
        commands[software_type] = [SYSTEM_PYTHON, "-IS", str(launcher)]
    return commands
