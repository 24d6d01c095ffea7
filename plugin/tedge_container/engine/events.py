"""podman's event stream (libpod `/events?stream=true`), read over the raw unix socket.

The monitor follows it instead of polling. The connection is plain HTTP/1.0,
so the engine streams JSON lines until it closes the socket (engine stopped
or restarted); a chunked answer is decoded too. Reads wake up every
`poll_seconds` so the caller can check for shutdown and probe a silent
engine: podman 4.3 sends no headers before the first event, so silence alone
says nothing about the engine's health.
"""

from __future__ import annotations

import contextlib
import json
import socket
from urllib.parse import quote

from ..errors import EngineError
from .sockets import API_PREFIX

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, Callable

# Container events only: images, volumes, pods and the engine's own are of no interest.
EVENTS_TARGET = f"{API_PREFIX}/events?stream=true&filters=" + quote(json.dumps({"type": ["container"]}))
MAX_LINE = 1 << 20  # an event is a few KB; a longer line is garbage, not a reason to grow


class EventStream:
    """One streaming request; `open()` then iterate `events()`; `close()` from any thread."""

    def __init__(self, socket_path: str, connect_timeout: float, poll_seconds: float = 1.0) -> None:
        self.socket_path = socket_path
        self.connect_timeout = connect_timeout
        self.poll_seconds = poll_seconds
        self._sock: socket.socket | None = None

    def open(self) -> None:
        """Connect and send the request, bounded by connect_timeout; OSError when the engine is not there."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.connect_timeout)
            sock.connect(self.socket_path)
            sock.sendall(f"GET {EVENTS_TARGET} HTTP/1.0\r\nHost: d\r\n\r\n".encode("ascii"))
            sock.settimeout(self.poll_seconds)
        except BaseException:
            sock.close()
            raise
        self._sock = sock

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def events(self, on_idle: Callable[[], bool]) -> Iterator[dict[str, Any]]:
        """Each event as a dict, until the engine closes the stream or `on_idle()` returns False.

        `on_idle` runs whenever nothing arrived for poll_seconds.
        """
        body = self._body(on_idle)
        pending = b""
        for data in body:
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                event = _parse(line)
                if event is not None:
                    yield event
            if len(pending) > MAX_LINE:
                raise EngineError(f"podman at {self.socket_path} sent an event line longer than 1 MB")

    def _recv(self, on_idle: Callable[[], bool]) -> Iterator[bytes]:
        while self._sock is not None:
            try:
                data = self._sock.recv(65536)
            except socket.timeout:
                if not on_idle():
                    return
                continue
            except OSError:
                if self._sock is None:  # closed by close() from another thread: the end, not a fault
                    return
                raise
            if not data:
                return
            yield data

    def _body(self, on_idle: Callable[[], bool]) -> Iterator[bytes]:
        """The response body, past the headers (checked), de-chunked when needed."""
        raw = self._recv(on_idle)
        head = b""
        for data in raw:
            head += data
            if b"\r\n\r\n" in head:
                break
            if len(head) > 65536:
                raise EngineError(f"podman at {self.socket_path} sent no HTTP headers")
        else:
            return
        headers, _, rest = head.partition(b"\r\n\r\n")
        status = headers.split(b"\r\n", 1)[0].split()
        if len(status) < 2 or status[1] != b"200":
            raise EngineError(f"podman at {self.socket_path} refused the event stream: {headers[:200]!r}")
        chunked = b"transfer-encoding: chunked" in headers.lower()

        def plain() -> Iterator[bytes]:
            if rest:
                yield rest
            yield from raw

        yield from (_dechunk(plain()) if chunked else plain())


def _dechunk(data: Iterator[bytes]) -> Iterator[bytes]:
    """HTTP/1.1 chunked transfer coding → the payload bytes."""
    buffer = b""
    for piece in data:
        buffer += piece
        while True:
            size_line, sep, after = buffer.partition(b"\r\n")
            if not sep:
                break
            try:
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                raise EngineError("podman sent a malformed chunked event stream") from None
            if size == 0:
                return
            if len(after) < size + 2:
                break
            yield after[:size]
            buffer = after[size + 2 :]


def _parse(line: bytes) -> dict[str, Any] | None:
    line = line.strip()
    if not line:
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None  # one garbled line is skipped; the next full resync corrects any gap
    return event if isinstance(event, dict) else None
