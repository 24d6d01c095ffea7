"""A rootless podman engine: a test user's own `podman system service` at /run/user/UID/podman/podman.sock.

As on a device whose tedge user runs podman rootless: the user has subordinate
ids (useradd gives them: Debian's login.defs), its runtime directory is
/run/user/UID, its configs and store are under its home. Everything is made
for this pytest process and removed at the end: the user (a unique name per
process, so parallel runs never share one; userdel also drops its
/etc/subuid and /etc/subgid lines), its home (store included), /run/user/UID,
and every process left under its uid (podman's pause process, conmon, ...),
each ended by its pid.

These machines need three things for it (measured on Debian 12, podman 4.3):
`newuidmap` (package uidmap), `slirp4netns` for the default network of a
rootless container, and /dev/net/tun usable by users (`chmod 666`: it is 600
here; slirp4netns opens it). The containers.conf of tests/support/podman.py
applies too (runc, cgroupfs, low ulimits); storage is vfs (no /dev/fuse for
users, no native rootless overlay on every kernel).

With TEDGE_TEST_PODMAN=trixie the service is podman 5 of a Debian 13 root
(that of tests/support/trixie.py plus uidmap and passt, cached apart), made
the process's / with pivot_root: a chrooted process may not create the user
namespace rootless podman needs. The tests' CLI stays the host's podman in
--remote mode.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from . import trixie
from .debian_root import SYSTEM_PATH, cached_root
from .podman import _CONTAINERS_CONF, PodmanService
from .proc import Process, ServiceError, run, wait_until
from .registry import Registry

TOOLS = ("useradd", "userdel", "runuser", "newuidmap", "newgidmap", "slirp4netns")

# podman 5 (TEDGE_TEST_PODMAN=trixie): the Debian 13 root of tests/support/trixie.py plus
# newuidmap and pasta (podman 5's default network for rootless containers), cached apart.
ROOT_NAME = "trixie-rootless-root"
PACKAGES = (*trixie.PACKAGES, "uidmap", "passt")
# $1 root, $2 the work directory, $3 the user's runtime directory, then the command. Not chroot:
# the kernel refuses a user namespace (rootless podman's) to a chrooted process, so the root
# becomes / with pivot_root, in a private mount namespace that disappears with the service.
_ROOT_SCRIPT = f"""\
set -e
root=$1; work=$2; run_dir=$3; shift 3
{trixie.ROOT_MOUNTS}\
for file in passwd group subuid subgid; do mount --bind "/etc/$file" "$root/etc/$file"; done
mkdir -p "$root$work" "$root$run_dir"
mount --bind "$work" "$root$work"
mount --bind "$run_dir" "$root$run_dir"
cd "$root"
mkdir -p .oldroot
pivot_root . .oldroot
umount -l /.oldroot
cd /
exec "$@"
"""


def missing_tools() -> list[str]:
    """What this machine lacks for a rootless engine ([] when nothing); scripts/setup installs it."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if os.geteuid() != 0:
        missing.append("root")
    return missing


class RootlessPodman:
    """A test user and its rootless podman API service."""

    def __init__(
        self,
        *,
        insecure_registries: Sequence[Registry] = (),
        tls_registries: Sequence[Registry] = (),
    ) -> None:
        self.user = f"tedgerl{os.getpid()}"[:32]
        self.insecure_registries = list(insecure_registries)
        self.tls_registries = list(tls_registries)
        self.workdir: Path | None = None
        self.uid = -1
        self.gid = -1
        self.process: Process | None = None
        self.version = ""
        self._made_user = False

    @property
    def home(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "home"

    @property
    def run_dir(self) -> Path:
        """The user's XDG_RUNTIME_DIR, where the plugin looks for its socket."""
        return Path(f"/run/user/{self.uid}")

    @property
    def socket_path(self) -> Path:
        return self.run_dir / "podman" / "podman.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def config_dir(self) -> Path:
        return self.home / ".config" / "containers"

    @property
    def auth_file(self) -> Path:
        """Where `podman login` of the user writes (~/.config/containers/auth.json here)."""
        return self.config_dir / "auth.json"

    @property
    def env(self) -> dict[str, str]:
        """The user's environment, as a login session gives it."""
        return {
            "HOME": str(self.home),
            "USER": self.user,
            "LOGNAME": self.user,
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "XDG_RUNTIME_DIR": str(self.run_dir),
            "LANG": "C.UTF-8",
        }

    def as_user(self, *argv: str) -> list[str]:
        """`argv` run as the test user with its environment."""
        pairs = [f"{key}={value}" for key, value in self.env.items()]
        return ["runuser", "-u", self.user, "--", "env", "-i", *pairs, *argv]

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """`podman --remote ARGS` as the user, against its service."""
        return run(
            self.as_user("podman", "--remote", "--url", self.url, *args),
            check=check,
            timeout=timeout,
            cwd="/",
        )

    api = PodmanService.api  # a raw request to the service: (status, body)
    remove_all_containers = PodmanService.remove_all_containers  # by `self.cli`, as the user

    def container_names(self) -> list[str]:
        out = self.cli("ps", "-a", "--format", "{{.Names}}").stdout
        return sorted(out.split())

    # -- lifecycle -----------------------------------------------------------
    def start(self, timeout: float = 60) -> RootlessPodman:
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        # Users must reach the home: not below pytest's 0700 temporary directories.
        self.workdir = Path(tempfile.mkdtemp(prefix="tedge-rootless-"))
        self.workdir.chmod(0o755)
        with contextlib.suppress(KeyError):  # a leftover of a killed run with this pid
            pwd.getpwnam(self.user)
            self._remove_user()
        run(["useradd", "--no-create-home", "--home-dir", str(self.home), "--shell", "/bin/sh", self.user])
        self._made_user = True
        entry = pwd.getpwnam(self.user)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        for path in (Path("/etc/subuid"), Path("/etc/subgid")):  # useradd gives them (login.defs)
            if not any(line.startswith(f"{self.user}:") for line in path.read_text().splitlines()):
                raise RuntimeError(f"useradd gave {self.user} no subordinate ids in {path}")
        tun = Path("/dev/net/tun")  # slirp4netns opens it as the user
        if tun.exists() and stat.S_IMODE(tun.stat().st_mode) & 0o006 != 0o006:
            tun.chmod(0o666)
        self.run_dir.mkdir(mode=0o700, parents=True, exist_ok=False)
        (self.run_dir / "podman").mkdir(mode=0o700)
        for directory in (self.run_dir, self.run_dir / "podman"):
            os.chown(directory, self.uid, self.gid)
        self._write_configs()
        argv = self.as_user("podman", "--log-level", "info", "system", "service", "--time=0", self.url)
        if trixie.enabled():
            argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", _ROOT_SCRIPT, "sh",
                    str(_podman5_root()), str(self.workdir), str(self.run_dir), *argv]  # fmt: skip
        self.process = Process(
            "rootless podman service", argv, log_path=self.workdir / "service.log", cwd=Path("/")
        ).start()
        wait_until(self._ping, timeout=timeout, what="the rootless podman service", process=self.process)
        self.version = self.cli("version", "--format", "{{.Server.Version}}").stdout.strip()

    def _write_configs(self) -> None:
        tmp_dir = self.home / "tmp"
        for directory in (self.config_dir, tmp_dir, self.home / ".local" / "share"):
            directory.mkdir(parents=True, exist_ok=True)
        # Its networks live in its own rootless network namespace: no host bridge or subnet to share.
        conf = _CONTAINERS_CONF.format(tmp_dir=tmp_dir, network_dir=self.home / "networks", network_keys="")
        (self.config_dir / "containers.conf").write_text(conf)
        # The store where rootless podman keeps it by default: ~/.local/share/containers/storage.
        (self.config_dir / "storage.conf").write_text('[storage]\ndriver = "vfs"\n')
        lines = ["unqualified-search-registries = []", ""]
        for registry in self.insecure_registries:
            lines += ["[[registry]]", f'location = "{registry.host}"', "insecure = true", ""]
        (self.config_dir / "registries.conf").write_text("\n".join(lines))
        for registry in self.tls_registries:
            assert registry.ca_file is not None
            host_dir = self.config_dir / "certs.d" / registry.host
            host_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(registry.ca_file, host_dir / "ca.crt")
        run(["chown", "-R", f"{self.uid}:{self.gid}", str(self.home)])
        self.home.chmod(0o700)

    def _ping(self) -> bool:
        if not self.socket_path.exists():
            return False
        status, body = self.api("GET", "/_ping", timeout=2)
        return status == 200 and body.strip() == b"OK"

    def stop(self) -> None:
        if self.process is not None:
            if self.process.running:
                with contextlib.suppress(Exception):
                    self.remove_all_containers()
            self.process.stop(timeout=15)
            self.process = None
        if self.uid >= 0:
            self._end_processes()
            shutil.rmtree(self.run_dir, ignore_errors=True)
        if self._made_user:
            self._remove_user()
            self._made_user = False
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def _end_processes(self) -> None:
        """SIGKILL each process left under the user's uid (pause process, conmon, slirp4netns), by pid."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pids = _processes_of(self.uid)
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)

    def _remove_user(self) -> None:
        run(["userdel", self.user], check=False)

    def __repr__(self) -> str:
        return f"RootlessPodman(user={self.user!r}, uid={self.uid}, {self.url!r})"


def _podman5_root() -> Path:
    debootstrap = shutil.which("debootstrap", path=os.environ.get("PATH", "") + ":" + SYSTEM_PATH)
    if debootstrap is None:
        raise ServiceError("TEDGE_TEST_PODMAN=trixie needs debootstrap (apt-get install debootstrap)")
    root, _ = cached_root(ROOT_NAME, "trixie", PACKAGES, debootstrap)
    return root


def _processes_of(uid: int) -> list[int]:
    """Live (not zombie) processes whose real uid is `uid`."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        if fields.get("State", "").strip().startswith("Z"):
            continue
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            pids.append(int(entry))
    return pids
