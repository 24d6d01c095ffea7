"""Waiting for work that may block inside a library, with a hard bound.

podman-py's and paho's timeouts are per read or per step, not deadlines, so
the work runs in a daemon thread that the caller stops waiting for. The
process exits soon after a timeout, which ends the thread.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, TypeVar

    T = TypeVar("T")


def call_with_deadline(
    operation: Callable[[], T],
    seconds: float,
    name: str,
    on_timeout: Callable[[], Exception],
    on_wait: Callable[[], None] | None = None,
    wait_step: float = 1.0,
) -> T:
    """`operation()`, or the exception `on_timeout()` makes when it takes longer than `seconds`.

    An exception raised by `operation` is raised again in the caller's thread.
    `on_wait` is called every `wait_step` seconds while the caller waits (progress lines).
    """
    import threading
    import time

    result: list[tuple[bool, Any]] = []

    def work() -> None:
        try:
            result.append((True, operation()))
        except BaseException as error:  # handed over to the caller's thread
            result.append((False, error))

    worker = threading.Thread(target=work, name=name, daemon=True)
    worker.start()
    deadline = time.monotonic() + max(0.0, seconds)
    while worker.is_alive():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        worker.join(min(remaining, wait_step) if on_wait is not None else remaining)
        if on_wait is not None and worker.is_alive():
            on_wait()
    if not result:
        raise on_timeout()
    ok, value = result[0]
    if ok:
        return value
    raise value
