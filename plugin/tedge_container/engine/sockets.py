"""Where the engine is: the socket path, and a tiny HTTP client for it.

The raw client serves `list` and the liveness probe: `list` runs on every
software update, and importing podman-py alone costs ~0.2 s.
"""

from __future__ import annotations

import _socket  # `socket`'s C core: `socket` itself imports enum and selectors (~4 ms on every `list`)
import os
import time

from ..errors import EngineError, EngineUnavailable

TYPE_CHECKING = False  # `typing` itself costs ~5 ms, and `list` must start fast
if TYPE_CHECKING:
    from collections.abc import Iterable

API_PREFIX = "/v4.0.0/libpod"
# tedge-agent runs sm-plugins as root through `sudo -n`; its sudoers entry
# (thin-edge's package installs /etc/sudoers.d/tedge) covers the names in
# /etc/tedge/sm-plugins/ that start with a letter or digit.
ROOT_HINT = (
    "run it as root (`sudo`), as tedge-agent does through its sudoers entry in /etc/sudoers.d/ "
    "for /etc/tedge/sm-plugins/*; if tedge-agent itself gets this, check that entry"
)
# What Docker's API answers to a path it does not know (podman's /libpod/ paths).
DOCKER_404 = b"page not found"


def permission_denied(path: str) -> str:
    """The advice for a socket the user may not open: sudo, not "start the socket"."""
    user = _user_name()
    return f"Permission denied on podman's socket {path} for user {user}; {ROOT_HINT}."


def not_podman(path: str, status: int, body: bytes) -> str:
    """A socket that answers HTTP but not podman's API (`_ping` under /libpod/)."""
    if status == 404 and DOCKER_404 in body:
        return (
            f"The socket {path} is Docker's, not podman's (it answered {status} "
            f'"{answer_text(body)}" to podman\'s API); this plugin needs podman: set container.host '
            "to podman's socket (unix:///run/podman/podman.sock) and start it "
            "(systemctl enable --now podman.socket)."
        )
    return (
        f"The socket {path} does not answer podman's API (HTTP {status}: {answer_text(body)}); "
        "this plugin needs podman: set container.host to podman's socket (unix:///run/podman/podman.sock)."
    )


def answer_text(body: bytes, limit: int = 300) -> str:
    """An engine's error body as one line of text: its JSON `message`/`cause`, never raw bytes."""
    import json

    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        text = str(data.get("message") or data.get("cause") or text)
    return " ".join(text.split())[:limit] or "an empty answer"


def _user_name() -> str:
    uid = os.geteuid()
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def socket_path_of(url: str) -> str:
    """The filesystem path of a `unix://` URL (`unix:///run/podman/podman.sock`), or of a bare path."""
    for prefix in ("unix://", "http+unix://"):
        if url.startswith(prefix):
            return url[len(prefix) :]
    if url.startswith("/"):
        return url
    raise EngineUnavailable(
        f"container.host = {url!r} is not supported: use a unix socket such as "
        "unix:///run/podman/podman.sock."
    )


class Upload:
    """A request body streamed from `chunks`, `length` bytes in all."""

    __slots__ = ("chunks", "content_type", "length")

    def __init__(self, chunks: Iterable[bytes], length: int, content_type: str) -> None:
        self.chunks = chunks
        self.length = length
        self.content_type = content_type


class AnswerTooLarge(EngineError):
    """An answer past the size its caller allows (the rest is not read)."""


class UnixHTTP:
    """Just enough HTTP/1.0 over a unix socket for the API's small requests.

    One connection per request, closed by the server after its answer; the
    whole exchange is bounded by `timeout`.
    """

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout

    def get(self, target: str) -> tuple[int, bytes]:
        return self.request("GET", target)

    def request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        upload: Upload | None = None,
        max_answer: int | None = None,
    ) -> tuple[int, bytes]:
        status, _, answer = self.exchange(method, target, body, upload, max_answer)
        return status, answer

    def exchange(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        upload: Upload | None = None,
        max_answer: int | None = None,
    ) -> tuple[int, bytes, bytes]:
        """(status, header lines, body).

        `upload`: a body sent as it is produced, of a length known beforehand (no chunked encoding).
        `max_answer`: bytes read at most (AnswerTooLarge past it): for answers whose size a
        container decides, such as its logs.
        """
        deadline = time.monotonic() + self.timeout
        head = f"{method} {target} HTTP/1.0\r\nHost: d\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        elif upload is not None:
            head += f"Content-Type: {upload.content_type}\r\nContent-Length: {upload.length}\r\n"
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.path)
            sock.sendall(head.encode("ascii") + b"\r\n" + (body or b""))
            if upload is not None:
                sent = 0
                for chunk in upload.chunks:
                    sock.settimeout(max(0.01, deadline - time.monotonic()))
                    sock.sendall(chunk)
                    sent += len(chunk)
                if sent != upload.length:  # the engine would wait for the rest, or read too little
                    raise EngineError(f"{sent} bytes to upload where {upload.length} were announced.")
            chunks, received = [], 0
            while True:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(262144)
                if not chunk:
                    break
                chunks.append(chunk)
                received += len(chunk)
                if max_answer is not None and received > max_answer:
                    raise AnswerTooLarge(f"The engine's answer to {target} is over {max_answer} bytes.")
        finally:
            sock.close()
        data = b"".join(chunks)
        head_bytes, _, answer = data.partition(b"\r\n\r\n")
        status_line = head_bytes.split(b"\r\n", 1)[0].split()
        if len(status_line) < 2 or not status_line[1].isdigit():
            raise EngineError(f"The engine at {self.path} did not answer with HTTP.")
        return int(status_line[1]), head_bytes, answer
