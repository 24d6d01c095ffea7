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
subprocess (it costs ~50 ms a run, most of it the interpreter's start), and
exits with the child's code (128+N for signal N).
"""

from __future__ import annotations

import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_POLL_SECONDS = 0.2


def guarded(argv: list[str]) -> list[str]:
    """The command line that runs `argv` under the guard, for a child of this process."""
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), str(os.getpid()), "--", *argv]


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
    if separator != "--" or not argv:
        print("usage: child_guard.py PARENT_PID -- COMMAND ...", file=sys.stderr)
        return 2
    if os.getpgrp() != os.getpid():  # not started in a session of its own: never kill the caller's group
        os.setpgid(0, 0)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _kill_group)
    notified = _die_with_parent()
    if os.getppid() != parent:  # the parent died before the kernel could be asked to tell
        _kill_group()
    child = _spawn(argv)
    while True:
        pid, status = os.waitpid(child, 0 if notified else os.WNOHANG)  # EINTR: retried (PEP 475)
        if pid == child:
            break
        if os.getppid() != parent:
            _kill_group()
        time.sleep(_POLL_SECONDS)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def _spawn(argv: list[str]) -> int:
    child = os.fork()
    if child == 0:  # the command (exec resets the guard's handlers), or 127 as a shell says "not found"
        try:
            os.execvp(argv[0], argv)
        except OSError as error:
            print(f"child_guard: cannot run {argv[0]}: {error.strerror}", file=sys.stderr)
        os._exit(127)
    return child


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
