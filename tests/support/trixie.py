"""podman 5 from a Debian 13 ("trixie") root, for `TEDGE_TEST_PODMAN=trixie`.

Debian 12 ships podman 4.3; Debian 13 ships podman 5.4. The root comes from
`debootstrap --variant=minbase --include=podman,... trixie` (about 35 s and
400 MB from Debian's mirror), is cached outside the repository in
/var/cache/tedge-container-plugin-ci/trixie-root (or
$TEDGE_CONTAINER_PLUGIN_CI_CACHE), made once under a lock and reused.

Every podman of that root runs as `unshare --mount chroot ROOT podman ...`:
/proc, /sys, /dev, a tmpfs /run and /tmp, and the service's work directory
(for the CLI also the temporary directory, for the files tests save and load)
at its own path are mounted in a private mount namespace that disappears
with the command, so no mount outlives it and the socket, configs, store and
file paths are the same inside and outside. The network namespace is the pytest
process's (tests/support/netns.py): its registries and brokers on 127.0.0.1 are reachable
as with the host's podman.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from .debian_root import SYSTEM_PATH, cached_root
from .proc import ServiceError

ROOT_NAME = "trixie-root"
# netavark 1.14 (trixie) drives nftables by default: `nft` must be there.
PACKAGES = ("podman", "runc", "conmon", "netavark", "aardvark-dns", "nftables", "ca-certificates")

# $1 root, $2 how many directories follow, to show at their own paths inside;
# then the command. The root is bind-mounted onto itself: containers/storage
# remounts "/" while unpacking layers, which a plain chroot directory refuses
# (EINVAL). tmpfs over /var/lib/containers: podman's blob-info cache stays
# out of the cached root.
# The system mounts of "$root", shared with tests/support/rootless.py.
ROOT_MOUNTS = """\
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
"""
_CHROOT_SCRIPT = f"""\
set -e
root=$1; n=$2; shift 2
{ROOT_MOUNTS}\
mkdir -p "$root/var/lib/containers"
mount -t tmpfs tmpfs "$root/var/lib/containers"
while [ "$n" -gt 0 ]; do
    mkdir -p "$root$1"
    mount --bind "$1" "$root$1"
    shift; n=$((n - 1))
done
exec chroot "$root" "$@"
"""


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """True when the tests are to run against the trixie root's podman 5."""
    value = (environ if environ is not None else os.environ).get("TEDGE_TEST_PODMAN", "")
    if value not in ("", "host", "trixie"):
        raise ServiceError(f"TEDGE_TEST_PODMAN={value!r}: expected 'host' (default) or 'trixie'")
    return value == "trixie"


def trixie_root() -> Path:
    """The cached Debian 13 root with podman 5; debootstrapped on first use."""
    if os.geteuid() != 0:
        raise ServiceError("TEDGE_TEST_PODMAN=trixie needs root (debootstrap, chroot, mounts)")
    debootstrap = shutil.which("debootstrap", path=os.environ.get("PATH", "") + ":" + SYSTEM_PATH)
    if debootstrap is None:
        raise ServiceError("TEDGE_TEST_PODMAN=trixie needs debootstrap (apt-get install debootstrap)")
    root, _ = cached_root(ROOT_NAME, "trixie", PACKAGES, debootstrap)
    return root


def chroot_argv(root: Path, directories: Sequence[Path], argv: Sequence[str]) -> list[str]:
    """ARGV run in ROOT (private mount namespace), DIRECTORIES visible at their own paths.

    A directory below another one given is visible through that one.
    """
    paths = sorted({d.resolve() for d in directories}, key=lambda p: len(p.parts))
    outer = [p for i, p in enumerate(paths) if not any(q in p.parents for q in paths[:i])]
    return [
        "unshare", "--mount", "--propagation", "private", "sh", "-c", _CHROOT_SCRIPT, "sh",
        str(root), str(len(outer)), *map(str, outer), *argv,
    ]  # fmt: skip


def chroot_env(env: Mapping[str, str]) -> dict[str, str]:
    """ENV with the root's PATH (the host's may name a virtualenv)."""
    return {**env, "PATH": SYSTEM_PATH}


def processes_in_namespace(mnt_ns: str, started_by: int | None = None) -> list[int]:
    """PIDs whose mount namespace is `mnt_ns` (a readlink of /proc/PID/ns/mnt), started by
    `started_by` (clock ticks since boot) if given."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            ours = os.readlink(proc / "ns" / "mnt") == mnt_ns
            if ours and (started_by is None or _started_ticks(proc) <= started_by):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def ticks_since_boot() -> int:
    with open("/proc/uptime") as uptime:
        return int(float(uptime.read().split()[0]) * os.sysconf("SC_CLK_TCK")) + 1


def _started_ticks(proc: Path) -> int:
    """When the process started, in clock ticks since boot (/proc/PID/stat, field 22)."""
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError) as exc:
        raise OSError(f"unreadable {proc}/stat") from exc
