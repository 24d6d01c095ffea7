"""A child that never outlives the plugin: run `guarded(argv)` in a new session instead of `argv`.

A child started with `start_new_session=True` is out of reach of signals sent
to the plugin's process group and survives the plugin's SIGKILL. Run as a
script, this file is a small guard between the two: it asks the kernel for
SIGTERM when its parent thread dies (`prctl(PR_SET_PDEATHSIG)`), starts
`argv` in its own process group (the session the plugin made for it) and,
on that signal (or SIGTERM, SIGINT, SIGHUP), kills the whole group: the
child, whatever the child started, and itself. So the plugin must start it
from a thread that lives as long as it waits for it (the main thread does).
Without prctl (not Linux), the guard polls its parent instead.

The guard imports nothing of the plugin (it runs with `python -I -S`), not even
subprocess, and exits with the child's code (128+N for signal N).

Its interpreter's start is most of what it costs (~20-30 ms a run). `Standby`
starts it ahead of its command, while the plugin still works on what to run
(staging, lookups): the guard asks for the parent-death signal, then waits for
the command (argv, working directory, environment) on its stdin; end of input
without one (the plugin did not need it) makes it exit without running anything.
"""

from __future__ import annotations

import os
import signal
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Mapping

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_POLL_SECONDS = 0.2
_STANDBY = "--stdin"
_MAX_COMMAND = 1 << 20  # bytes of command a standby guard reads at most (a plugin's own command line)


def guarded(argv: list[str]) -> list[str]:
    """The command line that runs `argv` under the guard, for a child of this process."""
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), str(os.getpid()), "--", *argv]


class Standby:
    """A guard started before its command is known; `start` hands it the command.

    Start it from a thread that lives as long as it waits for the command's end (the
    main thread): the parent-death signal is per thread. `close` ends an unused one.
    """

    def __init__(self) -> None:
        import subprocess

        argv = [sys.executable, "-I", "-S", os.path.abspath(__file__), str(os.getpid()), _STANDBY]
        self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={},  # nothing of the plugin's (credential variables): the command gets its own
            start_new_session=True,  # the command's group: the guard kills it whole
        )

    def start(self, argv: list[str], cwd: str, env: Mapping[str, str]) -> subprocess.Popen[bytes] | None:
        """The guard, now running `argv` in `cwd` with `env` (its output on the guard's stdout, stdin
        /dev/null); None when the guard is no longer there to take it (start one the usual way)."""
        import marshal  # the same interpreter reads it: the guard runs as sys.executable

        process, self.process = self.process, None
        if process is None or process.stdin is None:
            return None
        try:
            process.stdin.write(marshal.dumps((list(argv), cwd, dict(env))))
            process.stdin.close()
            process.stdin = None  # the caller waits on the process alone (communicate(), wait())
        except OSError:  # the guard is gone (killed by someone): nothing was started
            _reap(process)
            return None
        return process

    def close(self) -> None:
        """End the guard if no command was handed to it (it exits on the end of its input)."""
        process, self.process = self.process, None
        if process is not None:
            _reap(process)


def _reap(process: subprocess.Popen[bytes]) -> None:
    import contextlib
    import subprocess

    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):  # it ended just now
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _kill_group(*_: object) -> None:
    os.killpg(0, signal.SIGKILL)  # the guard's group: the child, its children and the guard


def _die_with_parent() -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
    except (OSError, AttributeError):  # no prctl: not Linux
        return False


def main(args: list[str]) -> int:
    parent, separator, argv = int(args[0]), args[1], args[2:]
    if not ((separator == "--" and argv) or (separator == _STANDBY and not argv)):
        print(f"usage: child_guard.py PARENT_PID (-- COMMAND ... | {_STANDBY})", file=sys.stderr)
        return 2
    if os.getpgrp() != os.getpid():  # not started in a session of its own: never kill the caller's group
        os.setpgid(0, 0)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _kill_group)
    notified = _die_with_parent()
    if os.getppid() != parent:  # the parent died before the kernel could be asked to tell
        _kill_group()
    cwd: str | None = None
    env: dict[str, str] | None = None
    if separator == _STANDBY:
        command = _read_command()
        if command is None:  # not needed after all
            return 0
        argv, cwd, env = command
    child = _spawn(argv, cwd, env)
    while True:
        pid, status = os.waitpid(child, 0 if notified else os.WNOHANG)  # EINTR: retried (PEP 475)
        if pid == child:
            break
        if os.getppid() != parent:
            _kill_group()
        time.sleep(_POLL_SECONDS)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _read_command() -> tuple[list[str], str, dict[str, str]] | None:
    """What a standby guard is to run, from its stdin (Standby.start); None at the end of input."""
    import marshal

    data = b""
    while len(data) <= _MAX_COMMAND:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        data += chunk
    if not data:
        return None
    try:
        if len(data) > _MAX_COMMAND:
            raise ValueError(f"more than {_MAX_COMMAND} bytes")
        argv, cwd, env = marshal.loads(data)
        return list(argv), str(cwd), dict(env)
    except (ValueError, EOFError, TypeError) as error:
        print(f"child_guard: the command on stdin cannot be read ({error})", file=sys.stderr)
        sys.exit(2)


def _spawn(argv: list[str], cwd: str | None = None, env: dict[str, str] | None = None) -> int:
    child = os.fork()
    if child == 0:  # the command (exec resets the guard's handlers), or 127 as a shell says "not found"
        try:
            if env is not None:  # a standby guard's command: the guard's stdin is not the command's
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            if cwd is not None:
                os.chdir(cwd)
        except OSError as error:
            print(f"child_guard: cannot enter {cwd}: {error.strerror}", file=sys.stderr)
            os._exit(127)
        try:
            if env is None:
                os.execvp(argv[0], argv)
            else:
                os.execvpe(argv[0], argv, env)
        except OSError as error:
            print(f"child_guard: cannot run {argv[0]}: {error.strerror}", file=sys.stderr)
        os._exit(127)
    return child


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
