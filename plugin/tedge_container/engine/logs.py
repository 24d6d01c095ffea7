"""A container's log (stdout and stderr, in the engine's time order), streamed in constant memory.

Read over the raw unix socket (HTTP/1.0: the body runs until the engine
closes it). podman frames each piece with an 8-byte header (stream, 0, 0, 0,
size); a container with a terminal sends plain bytes instead.
"""

from __future__ import annotations

import socket
from urllib.parse import quote, urlencode

from ..errors import EngineError
from .sockets import API_PREFIX, answer_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

CHUNK = 65536


def log_target(container_id: str, since: str = "", until: str = "") -> str:
    """since/until: what podman accepts (RFC 3339, a unix time, or a duration such as `42m`)."""
    query = {"stdout": "true", "stderr": "true", "follow": "false"}
    if since:
        query["since"] = since
    if until:
        query["until"] = until
    return f"{API_PREFIX}/containers/{quote(container_id, safe='')}/logs?{urlencode(query)}"


def stream_log(socket_path: str, target: str, connect_timeout: float, read_timeout: float) -> Iterator[bytes]:
    """The log's bytes, piece by piece; EngineError when podman refuses (404 and the like)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(connect_timeout)
        sock.connect(socket_path)
        sock.sendall(f"GET {target} HTTP/1.0\r\nHost: d\r\n\r\n".encode("ascii"))
        sock.settimeout(read_timeout)
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(CHUNK)
            if not data:
                raise EngineError(f"podman at {socket_path} closed the connection before answering")
            head += data
        headers, _, rest = head.partition(b"\r\n\r\n")
        status = headers.split(b"\r\n", 1)[0].split()
        if len(status) < 2 or status[1] != b"200":
            detail = answer_text(rest)  # its JSON `message`, never the raw body
            raise EngineError(
                f"podman answered {b' '.join(status[1:2]).decode()} to the log request: {detail}"
            )

        def body() -> Iterator[bytes]:
            if rest:
                yield rest
            while True:
                data = sock.recv(CHUNK)
                if not data:
                    return
                yield data

        yield from demultiplex_stream(body())


def demultiplex_stream(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """Frames → payload bytes, across reads; plain (terminal) output passes unchanged."""
    buffer = b""
    framed: bool | None = None
    for piece in pieces:
        if framed is False:
            yield piece
            continue
        buffer += piece
        if framed is None:
            if len(buffer) < 8:
                continue
            framed = buffer[0] in (0, 1, 2) and buffer[1:4] == b"\0\0\0"
            if not framed:
                yield buffer
                buffer = b""
                continue
        while len(buffer) >= 8:
            size = int.from_bytes(buffer[4:8], "big")
            if len(buffer) < 8 + size:
                break
            yield buffer[8 : 8 + size]
            buffer = buffer[8 + size :]
    if buffer and not framed:
        yield buffer
