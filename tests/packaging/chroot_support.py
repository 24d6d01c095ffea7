"""Commands in the cached Debian 11 root (see test_package_bullseye.py), shared by its tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pkg_support import run

ROOT_NAME = "bullseye-root"
SOCKET_MOUNT = "/run/tedge-test-podman"  # where the podman socket's directory appears


def in_root(
    root: Path, *argv: str, socket_dir: Path | None = None, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ARGV in the chroot with a clean environment, the socket's directory bind-mounted."""
    script = (
        'set -e; if [ -n "$2" ]; then mount --bind "$2" "$1$3"; fi; root=$1; shift 3; '
        'exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 chroot "$root" "$@"'
    )
    return run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
         str(root), str(socket_dir or ""), SOCKET_MOUNT, *argv],
        check=check,
        timeout=timeout,
    )  # fmt: skip
