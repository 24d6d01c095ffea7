"""SIGTERM and SIGHUP as an exception while a swap must end in success or rollback.

Outside such a section the default applies (the process ends; the next
operation repairs what was cut short). Inside one, the signal raises
`Interrupted` (a KeyboardInterrupt, as SIGINT raises anyway), so the swap's
own rollback runs before the process ends (exit 3: run it again), and
`shielded` keeps further signals out while that rollback runs (SIGKILL
still ends everything: the next operation's repair is then the fallback).
"""

from __future__ import annotations

import contextlib
import signal
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A signal arrived during a section that must finish or be undone (the CLI: exit 3, as for ^C)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


def _raise(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def _handled(handler: object, signals: tuple[int, ...] = _SIGNALS) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # only the main thread may
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum in signals}  # type: ignore[arg-type]
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def raising() -> contextlib.AbstractContextManager[None]:
    """Within it, SIGTERM and SIGHUP raise `Interrupted`."""
    return _handled(_raise)


def shielded() -> contextlib.AbstractContextManager[None]:
    """Within it, SIGTERM, SIGHUP and SIGINT are ignored (a rollback runs to its end)."""
    return _handled(signal.SIG_IGN, (*_SIGNALS, signal.SIGINT))
