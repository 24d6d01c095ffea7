"""Which init system postinstall starts the monitor through (issue 26), without installing anything.

The maintainer scripts run as they are, in a private mount namespace where /etc/init.d
is a directory of this test's (its tedge-container-plugin script only records how it was
called) and /run/systemd is empty: systemd is not running, whatever this machine runs.
`systemctl`, `update-rc.d` are stand-ins first on PATH that record their arguments;
`systemctl` being there is exactly the case of a Debian container or chroot.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pkg_support import REPO, need_root, need_tool, run

pytestmark = pytest.mark.packaging

SCRIPTS = REPO / "packaging" / "scripts"
RECORDER = '#!/bin/sh\necho "$(basename "$0") $*" >> {log}\nexit {code}\n'
HOW_TO_START = "start it by hand: /usr/bin/tedge-container-plugin monitor (docs/monitor.md)"


def run_script(tmp_path: Path, script: str, tools: tuple[str, ...], init_code: int | None):
    """Run packaging/scripts/SCRIPT with `tools` stood in; the init script exits `init_code` (None: none)."""
    log, stubs, init_d = tmp_path / "calls.log", tmp_path / "bin", tmp_path / "init.d"
    for directory in (stubs, init_d):
        directory.mkdir(exist_ok=True)
    log.write_text("")
    for tool in tools:
        (stubs / tool).write_text(RECORDER.format(log=log, code=0))
        (stubs / tool).chmod(0o755)
    if init_code is not None:
        init = init_d / "tedge-container-plugin"
        init.write_text(RECORDER.format(log=log, code=init_code))
        init.chmod(0o755)
    shell = (
        'set -e; mount --bind "$1" /etc/init.d; '
        "if [ -d /run/systemd ]; then mount -t tmpfs none /run/systemd; fi; "
        'PATH="$2:/usr/bin:/bin" exec sh "$3" configure'
    )
    result = run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", shell, "sh",
         str(init_d), str(stubs), str(SCRIPTS / script)],
        check=False,
    )  # fmt: skip
    return result, log.read_text().splitlines()


@pytest.fixture(autouse=True)
def _root() -> None:
    need_root()
    need_tool("unshare")


def test_systemctl_present_but_systemd_not_running_starts_the_sysv_script(tmp_path: Path) -> None:
    result, calls = run_script(tmp_path, "postinstall", ("systemctl", "update-rc.d"), init_code=0)
    assert result.returncode == 0, result
    assert calls == [
        "systemctl enable tedge-container-plugin.service",  # for a later boot with systemd
        "update-rc.d tedge-container-plugin defaults",
        "tedge-container-plugin restart",  # the monitor runs now
    ]
    assert result.stderr == ""
    # Removal stops it through the same script, and disables it everywhere.
    result, calls = run_script(tmp_path, "preremove", ("systemctl", "update-rc.d"), init_code=0)
    assert result.returncode == 0, result
    assert calls == [
        "tedge-container-plugin stop",
        "systemctl disable tedge-container-plugin.service",
        "update-rc.d -f tedge-container-plugin remove",
    ]


def test_a_monitor_nothing_can_start_is_one_line_saying_how(tmp_path: Path) -> None:
    result, calls = run_script(tmp_path, "postinstall", ("systemctl",), init_code=None)
    assert result.returncode == 0, result
    assert calls == ["systemctl enable tedge-container-plugin.service"]
    assert result.stderr.splitlines() == [
        "tedge-container-plugin: no running init system here (no systemd running, no OpenRC, no "
        f"/etc/init.d/tedge-container-plugin): the monitor was not started; {HOW_TO_START}"
    ]


def test_an_init_script_that_fails_is_one_line_saying_how(tmp_path: Path) -> None:
    result, calls = run_script(tmp_path, "postinstall", ("systemctl",), init_code=1)
    assert result.returncode == 0, result  # the package installs all the same
    assert calls[-1] == "tedge-container-plugin restart"
    assert result.stderr.splitlines() == [
        "tedge-container-plugin: the monitor did not start (/etc/init.d/tedge-container-plugin restart "
        f"failed); {HOW_TO_START}"
    ]
