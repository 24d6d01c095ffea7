"""Debian roots made by debootstrap, cached outside the repository.

Used for the oldest supported Python (a Debian 11 root, tests/packaging) and
for podman 5 (a Debian 13 root, trixie.py). A root lives in
/var/cache/tedge-container-plugin-ci/NAME (or $TEDGE_CONTAINER_PLUGIN_CI_CACHE),
is made once under a lock, in NAME.partial first so an interrupted run never
leaves a half root marked ready, and is reused by later runs.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from .netns import in_machine_network
from .proc import ServiceError, run

CACHE_DIR = Path(os.environ.get("TEDGE_CONTAINER_PLUGIN_CI_CACHE") or "/var/cache/tedge-container-plugin-ci")
READY_MARK = ".tedge-ci-ready"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def debian_mirror() -> str:
    """$DEBIAN_MIRROR, or the Debian mirror this machine's apt uses."""
    if os.environ.get("DEBIAN_MIRROR"):
        return os.environ["DEBIAN_MIRROR"].rstrip("/")
    sources = [Path("/etc/apt/sources.list")]
    sources += sorted(Path("/etc/apt/sources.list.d").glob("*.list"))
    sources += sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    for source in sources:
        try:
            lines = source.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            words = line.split("#", 1)[0].split()
            if words[:1] == ["URIs:"]:
                uris = words[1:]
            elif words[:1] == ["deb"]:
                uris = [w for w in words[1:] if "://" in w][:1]
            else:
                continue
            for uri in uris:
                if uri.rstrip("/").endswith("/debian"):
                    return uri.rstrip("/")
    return DEFAULT_MIRROR


def remove_tree(path: Path) -> None:
    """rm -rf, but never through a mount (a bind-mounted podman store!)."""
    if not path.exists():
        return
    prefix = str(path.resolve()) + "/"
    with open("/proc/self/mountinfo") as mountinfo:
        mounted = [line.split()[4] for line in mountinfo if line.split()[4].startswith(prefix)]
    if mounted:
        raise ServiceError(f"refusing to delete {path}: mounts below it {mounted}")
    shutil.rmtree(path)


def cached_root(name: str, suite: str, packages: Sequence[str], debootstrap: str) -> tuple[Path, str]:
    """The root NAME (`debootstrap --variant=minbase --include=PACKAGES SUITE`), made if missing.

    Returns the root and, when this call made it, a line saying how long it took ("" otherwise).
    """
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    root = CACHE_DIR / name
    note = ""
    with open(CACHE_DIR / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / READY_MARK).is_file():
            partial = CACHE_DIR / f"{name}.partial"
            remove_tree(root)
            remove_tree(partial)
            mirror = debian_mirror()
            env = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8"}
            env.update({k: v for k, v in os.environ.items() if k.lower().endswith("_proxy")})
            started = time.monotonic()
            argv = [debootstrap, "--variant=minbase", "--include=" + ",".join(packages), suite]
            run(in_machine_network([*argv, str(partial), mirror]), env=env, timeout=1800)
            note = f"debootstrap {suite} from {mirror} took {time.monotonic() - started:.0f} s"
            (partial / READY_MARK).write_text(note + "\n")
            partial.rename(root)
    return root, note
