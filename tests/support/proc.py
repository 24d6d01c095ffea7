"""Processes: background services, bounded waits and one-shot commands."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Callable

# `python -I -S -c PEAK_RSS_LAUNCHER REPORT COMMAND...` runs COMMAND as its child, writes the
# child's peak RSS (KiB) and the CPU time (user + system seconds) of it and its children to
# REPORT ("KIB SECONDS"), and ends as the child did (its exit code, or its signal).
# A command's peak is never measured from the test or bench process directly: ru_maxrss
# survives fork and exec, so a child of a large pytest process would report pytest's size;
# this launcher's fresh, small process is the base.
PEAK_RSS_LAUNCHER = """
import os, resource, signal, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
while True:
    try:
        _, status = os.waitpid(pid, 0)
        break
    except InterruptedError:
        continue
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as report:
    report.write(f"{usage.ru_maxrss} {usage.ru_utime + usage.ru_stime:.3f}")
if os.WIFSIGNALED(status):
    if os.WTERMSIG(status) != signal.SIGKILL:
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
"""


class ServiceError(RuntimeError):
    """A service failed to start, to answer or to stop."""


class CommandError(RuntimeError):
    """A command exited non-zero or ran past its timeout."""

    def __init__(self, message: str, result: subprocess.CompletedProcess[str] | None = None):
        super().__init__(message)
        self.result = result


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_on_free_port(
    name: str,
    launch: Callable[[int], Process],
    ready: Callable[[], bool],
    *,
    timeout: float,
    attempts: int = 3,
) -> Process:
    """Start `launch(port)` on a free loopback port and wait until `ready()`.

    A port found free can be taken before the service binds it: then another
    port is tried, `attempts` times in all.
    """
    last: Exception | None = None
    for _ in range(attempts):
        process = launch(free_port()).start()
        try:
            process.wait_ready(ready, timeout=timeout)
            return process
        except ServiceError as exc:
            last = exc
            process.stop()
    raise ServiceError(f"{name} did not start: {last}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path: Path | None, lines: int = 40) -> str:
    if path is None or not path.exists():
        return "(no log)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(empty log)"


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion (bounded), capturing text output."""
    try:
        result = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandError(f"timed out after {timeout}s: {' '.join(argv)}") from exc
    if check and result.returncode != 0:
        raise CommandError(
            f"exit {result.returncode}: {' '.join(argv)}\n"
            f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}",
            result,
        )
    return result


class Process:
    """A long-running service in its own process group, logging to a file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.popen: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Process:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
        )
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)

    def wait_ready(self, ready: Callable[[], bool], *, timeout: float = 20) -> None:
        """Poll `ready` until true; fail if the process dies or time runs out."""
        wait_until(ready, timeout=timeout, what=f"{self.name} to be ready", process=self)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM the process group, then SIGKILL it after `timeout`."""
        popen, self.popen = self.popen, None
        if popen is not None:
            _signal_group(popen.pid, signal.SIGTERM)
            try:
                popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(popen.pid, signal.SIGKILL)
                popen.wait(timeout=10)
            # Children left in the group (the leader is gone) go too.
            _signal_group(popen.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def wait_until(
    predicate: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
    process: Process | None = None,
) -> None:
    """Poll `predicate` until it is true, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
            error = ""
        except Exception as exc:  # a probe may fail while the service starts
            error = f" (last probe error: {exc!r})"
        if process is not None and process.popen is not None:
            code = process.popen.poll()
            if code is not None:
                raise ServiceError(
                    f"{process.name} exited with {code} while waiting for {what}{error}\n"
                    f"command: {' '.join(process.argv)}\n"
                    f"--- log tail ({process.log_path}) ---\n{process.log_tail()}"
                )
        if time.monotonic() >= deadline:
            log = ""
            if process is not None:
                log = f"\n--- log tail ({process.log_path}) ---\n{process.log_tail()}"
            raise ServiceError(f"timed out after {timeout}s waiting for {what}{error}{log}")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


def live_processes() -> dict[int, tuple[int, int, str]]:
    """pid → (parent pid, process group, command line) of every live process, from /proc.

    Zombies are left out: they are dead, and this machine's PID 1 reaps orphans
    only every few seconds.
    """
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile
            continue
        if fields[0] != b"Z":
            found[int(entry)] = (int(fields[1]), int(fields[2]), command)
    return found


def group_members(pgid: int) -> list[str]:
    """The command lines of the live processes in process group `pgid`."""
    return [command for _, group, command in live_processes().values() if group == pgid]
