"""Running credential helpers: bounded in time and output, killed with their children.

A helper runs in its own session (so its process group holds everything it
started), gets its arguments without any secret, may read `stdin_data` (the
registry name, for Docker credential helpers), and is killed as a group when
it overruns. Once it has exited, whatever it left running in its group is
killed too, so no pipe is held open and nothing lingers.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import NamedTuple

MAX_OUTPUT = 1024 * 1024  # per stream; a credentials answer is a few hundred bytes
_GRACE_AFTER_EXIT = 0.5  # seconds to drain pipes a background child may still hold


class HelperTimeout(Exception):
    """The process did not finish within its bound; it and its group were killed."""


class Completed(NamedTuple):
    returncode: int
    stdout: bytes
    stderr: bytes
    truncated: bool


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _has_exited(pid: int) -> bool:
    """True once `pid` has exited, without reaping it."""
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None and info.si_pid == pid


def run_bounded(
    argv: Sequence[str],
    timeout: float,
    stdin_data: bytes = b"",
    env: Mapping[str, str] | None = None,
    max_output: int = MAX_OUTPUT,
) -> Completed:
    """Run `argv` to completion within `timeout` seconds; raises HelperTimeout or OSError."""
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE if stdin_data else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=dict(env) if env is not None else None,
        close_fds=True,
    )
    deadline = time.monotonic() + timeout
    buffers = {"stdout": bytearray(), "stderr": bytearray()}
    truncated = False
    exited_at: float | None = None
    try:
        if stdin_data and process.stdin is not None:
            try:
                process.stdin.write(stdin_data)
            except BrokenPipeError:
                pass
            finally:
                with contextlib.suppress(BrokenPipeError):
                    process.stdin.close()
        with selectors.DefaultSelector() as selector:
            assert process.stdout is not None and process.stderr is not None
            selector.register(process.stdout, selectors.EVENT_READ, "stdout")
            selector.register(process.stderr, selectors.EVENT_READ, "stderr")
            while selector.get_map():
                now = time.monotonic()
                if exited_at is None and _has_exited(process.pid):
                    exited_at = now
                if exited_at is not None and now - exited_at > _GRACE_AFTER_EXIT:
                    break  # a background child holds the pipes: it is killed below
                if now >= deadline:
                    raise HelperTimeout
                wait = min(deadline - now, 0.1 if exited_at is None else _GRACE_AFTER_EXIT)
                for key, _ in selector.select(wait):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fileobj)
                        continue
                    buffer = buffers[key.data]
                    room = max_output - len(buffer)
                    if len(chunk) > room:
                        truncated = True
                    buffer += chunk[: max(room, 0)]
        while not _has_exited(process.pid):  # output closed, process still running
            if time.monotonic() >= deadline:
                raise HelperTimeout
            time.sleep(0.005)
    except BaseException:
        _kill_group(process.pid)
        process.wait()
        raise
    finally:
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    # The helper is a zombie now (not reaped, so its pid and group id cannot be reused):
    # whatever it left behind in its group goes, then it is reaped.
    _kill_group(process.pid)
    returncode = process.wait()
    return Completed(returncode, bytes(buffers["stdout"]), bytes(buffers["stderr"]), truncated)
