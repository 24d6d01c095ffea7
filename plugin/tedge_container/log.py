"""Diagnostics on stderr, the channel tedge-agent keeps in the operation's log.

stdout is data (only `list` writes there). The last stderr line of a failure
is the one sentence an operator acts on, so informational lines come before it.
"""

from __future__ import annotations

import sys
import time

LEVELS = {"debug": 10, "info": 20, "warn": 30, "warning": 30, "error": 40}
_threshold = LEVELS["info"]


def set_level(name: str) -> None:
    global _threshold
    _threshold = LEVELS.get(str(name).lower(), LEVELS["info"])


def _emit(level: str, message: str) -> None:
    if LEVELS[level] >= _threshold:
        print(f"{level}: {message}", file=sys.stderr, flush=True)


def debug(message: str) -> None:
    _emit("debug", message)


def info(message: str) -> None:
    _emit("info", message)


def warning(message: str) -> None:
    _emit("warning", message)


def enabled(level: str) -> bool:
    """Whether lines of `level` are shown: skip work done only for them (an extra inspect) otherwise."""
    return LEVELS[level] >= _threshold


class Step:
    """Times one step; at its end one debug line, `WHAT: RESULT (0.123 s)`.

        with log.Step(f"podman: start container {name}") as step:
            ...
            step.result = f"id {container_id}"

    RESULT is `done` unless the body sets it, and `failed (ErrorClass)` when
    the body raises: the exception's message may carry what must not be
    logged (a registry's answer before it is scrubbed), and the operator
    reads it in the final line anyway. Never put a secret in WHAT or RESULT.
    """

    __slots__ = ("_started", "result", "what")

    def __init__(self, what: str) -> None:
        self.what = what
        self.result = ""
        self._started = 0.0

    def start(self) -> Step:
        self._started = time.monotonic()
        return self

    def done(self, result: str = "") -> None:
        """The step's line, for a step that spans code a `with` block cannot hold."""
        if enabled("debug"):
            elapsed = time.monotonic() - self._started
            debug(f"{self.what}: {result or self.result or 'done'} ({elapsed:.3f} s)")

    def __enter__(self) -> Step:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: object, traceback: object) -> None:
        self.done(f"failed ({kind.__name__})" if kind is not None else "")
