"""An isolated podman API service (`podman system service`) on a unix socket."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from . import trixie
from .networks import NetworkSlot, private_run_dir_argv
from .proc import CommandError, Process, run
from .registry import Registry

# Measured on Debian 12 (podman 4.3): without CAP_SYS_RESOURCE and with hybrid
# cgroups, `podman run` needs lower default ulimits, runc and cgroupfs.
_CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "{tmp_dir}"

[network]
network_config_dir = "{network_dir}"
{network_keys}"""


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 5) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class PodmanService:
    """`podman system service` with its own store, configs, certs and no login.

    The host's podman by default; with `TEDGE_TEST_PODMAN=trixie`, podman 5
    of a cached Debian 13 root, run chrooted (tests/support/trixie.py). The
    CLI (`cli()`) is the same podman in --remote mode: podman 4.3's client
    cannot parse podman 5's push results.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        insecure_registries: Sequence[Registry] = (),
        tls_registries: Sequence[Registry] = (),
        storage_driver: str | None = None,
    ) -> None:
        self.workdir = workdir
        self.insecure_registries = list(insecure_registries)
        self.tls_registries = list(tls_registries)
        self.storage_driver = storage_driver or os.environ.get("TEDGE_TEST_STORAGE_DRIVER") or ""
        self.root = workdir / "root"
        self.runroot = workdir / "runroot"
        self.home = workdir / "home"
        self.socket_path = workdir / "podman.sock"
        self.containers_conf = workdir / "containers.conf"
        self.registries_conf = workdir / "registries.conf"
        self.process: Process | None = None
        self.version = ""
        self.chroot: Path | None = None  # the Debian 13 root whose podman serves
        self._mnt_ns = ""  # the service's own mount namespace
        self._mnt_ns_fd = -1  # held open while the service runs: see _kill_namespace
        self.network_slot: NetworkSlot | None = None  # its own default network, subnets, netavark state

    @property
    def url(self) -> str:
        """The service's URL for podman-py / CONTAINER_HOST: 'unix:///…/podman.sock'."""
        return f"unix://{self.socket_path}"

    @property
    def certs_dir(self) -> Path:
        """Per-host CA directories (`HOST:PORT/ca.crt`) that the service reads.

        containers/image looks in $HOME/.config/containers/certs.d before
        /etc/containers/certs.d, for root too; the service's HOME is ours.
        """
        return self.home / ".config" / "containers" / "certs.d"

    @property
    def env(self) -> dict[str, str]:
        """Environment for the service and its CLI: our configs, no login, no real HOME."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CONTAINER", "REGISTRY_AUTH", "DOCKER_", "XDG_"))
        }
        env.update(
            CONTAINERS_CONF=str(self.containers_conf),
            CONTAINERS_REGISTRIES_CONF=str(self.registries_conf),
            HOME=str(self.home),
            XDG_RUNTIME_DIR=str(self.workdir / "xdg-runtime"),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
        )
        return env

    def _local_argv(self, driver: str | None = None) -> list[str]:
        """podman on this store directly, without the service (setup and cleanup)."""
        argv = [
            "podman",
            "--root",
            str(self.root),
            "--runroot",
            str(self.runroot),
            "--storage-driver",
            driver or self.storage_driver,
        ]
        if self.chroot is not None:  # the same podman as the service: its store's format
            return trixie.chroot_argv(self.chroot, [self.workdir], argv)
        return private_run_dir_argv(self.workdir / "netavark-run", argv)

    @property
    def _local_env(self) -> dict[str, str]:
        return trixie.chroot_env(self.env) if self.chroot is not None else self.env

    # -- what tests use ------------------------------------------------------
    def cli(
        self, *args: str, check: bool = True, timeout: float = 120, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `podman --remote --url URL ARGS` against this service."""
        argv = ["podman", "--remote", "--url", self.url, *args]
        if self.chroot is not None:  # paths of files to save or load: below the temporary directory
            argv = trixie.chroot_argv(self.chroot, [Path(tempfile.gettempdir()), self.workdir], argv)
        return run(argv, check=check, timeout=timeout, env=self._local_env, input=input)

    def container_file(self, container: str, path: str) -> str:
        """The text of PATH in running CONTAINER, read on the host through /proc/PID/root.

        Not `podman --remote exec ... cat`: on a loaded machine the remote exec's output stream
        is lost now and then (an empty answer with exit 0; seen on podman 4.3 and 5), and a test
        would then see an empty file.
        """
        return Path(f"/proc/{self._pid(container)}/root{path}").read_text()

    def container_hostname(self, container: str) -> str:
        """The hostname CONTAINER's processes see (its UTS namespace), asked from the host."""
        return run(["nsenter", "--target", str(self._pid(container)), "--uts", "hostname"]).stdout.strip()

    def _pid(self, container: str) -> int:
        pid = self.cli("container", "inspect", "--format", "{{.State.Pid}}", container).stdout.strip()
        if not pid.isdigit() or int(pid) <= 0:
            raise AssertionError(f"container {container} is not running (pid {pid!r})")
        return int(pid)

    def api(self, method: str, path: str, timeout: float = 30) -> tuple[int, bytes]:
        """A raw HTTP request to the service: (status, body)."""
        conn = _UnixHTTPConnection(str(self.socket_path), timeout=timeout)
        try:
            conn.request(method, path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def remove_all_containers(self) -> None:
        """Force-remove every container (and pod) in this service's store."""
        self.cli("pod", "rm", "--all", "--force", check=False, timeout=60)
        # A container the restart policy is just restarting refuses removal for a moment.
        if self.cli("rm", "--all", "--force", "--time", "0", check=False, timeout=60).returncode:
            time.sleep(1)
            self.cli("rm", "--all", "--force", "--time", "0", timeout=60)

    def image_id(self, reference: str) -> str:
        return self.cli("image", "inspect", "--format", "{{.Id}}", reference).stdout.strip()

    # -- lifecycle -----------------------------------------------------------
    def start(self, timeout: float = 30) -> PodmanService:
        if trixie.enabled():
            self.chroot = trixie.trixie_root()
        for d in (
            self.root,
            self.runroot,
            self.home,
            self.workdir / "xdg-runtime",
            self.workdir / "tmp",
            self.workdir / "networks",
            self.workdir / "netavark-run",
            self.certs_dir,
        ):
            d.mkdir(parents=True, exist_ok=True)
        if self.network_slot is None:
            self.network_slot = NetworkSlot()
        self.network_slot.write_networks(self.workdir / "networks")
        self.containers_conf.write_text(
            _CONTAINERS_CONF.format(
                tmp_dir=self.workdir / "tmp",
                network_dir=self.workdir / "networks",
                network_keys=self.network_slot.containers_conf(),
            )
        )
        self.registries_conf.write_text(self._registries_conf())
        for registry in self.tls_registries:
            assert registry.ca_file is not None
            host_dir = self.certs_dir / registry.host
            host_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(registry.ca_file, host_dir / "ca.crt")
        if not self.storage_driver:
            self.storage_driver = self._pick_storage_driver()
        self.process = Process(
            "podman service",
            [*self._local_argv(), "--log-level", "info", "system", "service", "--time=0", self.url],
            log_path=self.workdir / "service.log",
            env=self._local_env,
        ).start()
        self.process.wait_ready(self._ping, timeout=timeout)
        assert self.process.popen is not None
        ns = os.readlink(f"/proc/{self.process.popen.pid}/ns/mnt")
        self._mnt_ns = ns if ns != os.readlink("/proc/self/ns/mnt") else ""
        if self._mnt_ns:
            self._mnt_ns_fd = os.open(f"/proc/{self.process.popen.pid}/ns/mnt", os.O_RDONLY)
        self.version = self.cli("version", "--format", "{{.Server.Version}}").stdout.strip()
        return self

    def stop(self) -> None:
        if self.process is None:
            if self.network_slot is not None:
                self.network_slot.release()
                self.network_slot = None
            return
        try:
            if self.process.running:
                self.remove_all_containers()
        except CommandError:
            pass
        self.process.stop(timeout=15)
        self.process = None
        if self._mnt_ns:  # conmon, aardvark-dns: they keep the namespace and its mounts
            self._kill_namespace(self._mnt_ns)
            self._mnt_ns = ""
        if self._mnt_ns_fd >= 0:
            os.close(self._mnt_ns_fd)
            self._mnt_ns_fd = -1
        # Anything the service left (a container it could not remove) goes too.
        run(
            [*self._local_argv(), "rm", "--all", "--force", "--time", "0"],
            check=False,
            timeout=60,
            env=self._local_env,
        )
        unmount_below(self.workdir)
        if self.network_slot is not None:
            self.network_slot.release()
            self.network_slot = None

    @staticmethod
    def _kill_namespace(mnt_ns: str) -> None:
        # The namespace is held open (_mnt_ns_fd) until this has run: its number cannot be freed and
        # given to another worker's namespace meanwhile (pids top out at 32768 here; `unshare --mount`
        # of a packaging test or another service got SIGKILLed so).
        # Only processes older than this call: once the namespace is gone, its number can go to a
        # new one at once (another service's command, in another xdist worker).
        now = trixie.ticks_since_boot()
        deadline = time.monotonic() + 10
        while (pids := trixie.processes_in_namespace(mnt_ns, now)) and time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)

    def _ping(self) -> bool:
        if not self.socket_path.exists():
            return False
        status, body = self.api("GET", "/_ping", timeout=2)
        return status == 200 and body.strip() == b"OK"

    def _pick_storage_driver(self) -> str:
        """overlay where it works (not on overlayfs, say), else vfs."""
        probe = run(
            [*self._local_argv("overlay"), "info", "--format", "{{.Store.GraphDriverName}}"],
            check=False,
            timeout=60,
            env=self._local_env,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "overlay":
            return "overlay"
        unmount_below(self.workdir)
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.runroot, ignore_errors=True)
        self.root.mkdir()
        self.runroot.mkdir()
        return "vfs"

    def _registries_conf(self) -> str:
        lines = ["unqualified-search-registries = []", ""]
        for registry in self.insecure_registries:
            lines += ["[[registry]]", f'location = "{registry.host}"', "insecure = true", ""]
        return "\n".join(lines)

    def __repr__(self) -> str:
        where = f", chroot={str(self.chroot)!r}" if self.chroot is not None else ""
        return f"PodmanService({self.url!r}, driver={self.storage_driver!r}{where})"


def unmount_below(directory: Path) -> None:
    """Lazily unmount every mount point at or below `directory`, deepest first."""
    prefix = str(directory.resolve()).rstrip("/") + "/"
    points: list[str] = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = line.split()[4].encode().decode("unicode_escape")
            if (point + "/").startswith(prefix):
                points.append(point)
    for point in sorted(set(points), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False, timeout=30)
