"""Diagnostics on stderr, the channel tedge-agent keeps in the operation's log.

stdout is data (only `list` writes there). The last stderr line of a failure
is the one sentence an operator acts on, so informational lines come before it.
"""

from __future__ import annotations

import sys

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
