"""The connection to the engine: its socket, the raw HTTP path, podman-py on demand.

Two paths to the same REST API:
- the tiny raw client of `sockets.py` for everything but pulls and loads,
  because `list` runs on every software update and importing podman-py (with
  requests) alone costs ~0.15-0.2 s;
- podman-py for pulls and loads (streams, registry auth headers).

Every call is bounded: control calls by `container.api_timeout`, the first
contact by `container.connect_timeout` (a ping, once per process). podman-py's
timeout is per read, not a deadline, so pulls and loads run in a worker
thread that the caller stops waiting for (images.py).
"""

from __future__ import annotations

import _socket  # for its timeout, the same class as socket.timeout: see sockets.py
import time

from .. import jsonio, log  # jsonio, not `json`: see jsonio.py
from ..errors import EngineError, EngineTimeout, EngineUnavailable, RetryLaterError
from .discovery import choose, remember, unavailable_text
from .sockets import API_PREFIX, UnixHTTP, Upload, answer_text, not_podman, permission_denied

TYPE_CHECKING = False  # `typing` itself costs ~5 ms, and `list` must start fast
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable, TypeVar

    from ..config import Config
    from ..progress import Progress

    T = TypeVar("T")

_PING = f"{API_PREFIX}/_ping"


class Connection:
    """A podman service reached through its unix socket: requests, and their failures as plugin errors."""

    def __init__(self, config: Config, environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.choice = choose(config, environ)
        self._environ = environ
        self.socket_path, self.tried = self.choice.path, self.choice.tried
        if log.enabled("debug"):
            log.debug(self.choice.describe())
        self._client: Any = None
        self._unreachable: EngineUnavailable | None = None
        self._answered = False  # one ping per process is enough once the engine answered
        self._search_registries: list[str] | None = None

    # -- contact ---------------------------------------------------------

    def _unavailable(self, reason: str) -> EngineUnavailable:
        return EngineUnavailable(unavailable_text(self.choice, reason))

    def _raw_request(
        self,
        target: str,
        timeout: float | None = None,
        method: str = "GET",
        payload: Any = None,
        upload: Upload | None = None,
        max_answer: int | None = None,
    ) -> tuple[int, bytes]:
        """One request over the fast raw path: (status, body); an unreachable engine is EngineUnavailable.

        `max_answer`: bytes of answer read at most (sockets.AnswerTooLarge past it)."""
        if not self.socket_path:
            raise self._unavailable("")
        if target != _PING:
            self.ping()  # a hung engine costs connect_timeout (a few seconds), not api_timeout
        http = UnixHTTP(self.socket_path, timeout or self.config.get("container.connect_timeout"))
        body = None if payload is None else jsonio.dumps(payload).encode("utf-8")
        try:
            return http.request(method, target, body, upload, max_answer)
        except FileNotFoundError:
            raise self._unavailable("the socket does not exist") from None
        except ConnectionRefusedError:
            raise self._unavailable("connection refused: the service is not running") from None
        except _socket.timeout:
            raise self._unavailable("no answer in time") from None
        except PermissionError:  # the socket is there: the user lacks access, retrying will not help
            raise EngineError(permission_denied(self.socket_path)) from None
        except OSError as error:
            raise self._unavailable(error.strerror or str(error)) from None

    def _raw_change(
        self,
        what: str,
        method: str,
        target: str,
        payload: Any = None,
        timeout: float | None = None,
        missing_ok: bool = False,
        describe: Callable[[bytes], str] | None = None,
    ) -> tuple[int, bytes]:
        """A request that changes the engine; a refusal is an EngineError saying why.

        `missing_ok`: a 404 (no such container, pod, ...) is an answer, not a refusal.
        `describe`: what the answer says, for the step's debug line (`id ...`).

        Changes go over the raw path too: an install of a local image then never
        imports podman-py (~0.15 s here), which only pulls and loads need.
        """
        with log.Step(f"podman: {what}") as step:
            status, body = self._raw_request(
                target, timeout or self.config.get("container.api_timeout"), method, payload
            )
            step.result = "absent" if status == 404 else "done" if status < 400 else f"HTTP {status}"
            if describe is not None and status < 400 and log.enabled("debug"):
                step.result = describe(body)
        if status >= 400 and not (missing_ok and status == 404):
            raise EngineError(f"podman could not {what}: {answer_text(body)}")
        return status, body

    def _raw_get(self, target: str, timeout: float | None = None) -> bytes:
        status, body = self._raw_request(target, timeout)
        if status >= 400:
            raise EngineError(f"podman answered {status} to {target}: {answer_text(body)}")
        return body

    def ping(self, again: bool = False) -> None:
        """Fail fast, within container.connect_timeout, when the engine does not answer.

        The verdict is kept: a batch does not wait for a dead engine once per module.
        `again`: ask even when it answered before (the monitor's probe of a silent engine).
        """
        if self._unreachable is not None:
            raise self._unreachable
        if self._answered and not again:
            return
        try:
            with log.Step(f"podman: ping {self.socket_path}"):
                status, body = self._raw_request(_PING)
        except EngineUnavailable as error:
            self._unreachable = error
            raise
        if status >= 400:  # HTTP, but not podman's API: Docker's socket, say
            raise EngineError(not_podman(self.socket_path, status, body))
        self._answered = True
        remember(self.config, self.choice, self._environ)

    def _raw_exists(self, target: str, what: str) -> bool:
        with log.Step(f"podman: look up {what}") as step:
            status, body = self._raw_request(target, self.config.get("container.api_timeout"))
            step.result = "present" if status == 204 else "absent"
        if status >= 400 and status != 404:
            raise EngineError(f"podman answered {status} to {target}: {answer_text(body)}")
        return status == 204

    @property
    def client(self) -> Any:
        """The podman-py client, created (and imported) on first use, after a fast liveness probe."""
        if self._client is None:
            self.ping()
            import podman

            self._client = podman.PodmanClient(
                base_url=f"unix://{self.socket_path}",
                timeout=self.config.get("container.api_timeout"),
            )
        return self._client

    def _call(self, what: str, operation: Callable[[], T], result: Callable[[T], str] | None = None) -> T:
        """Run a podman-py call, turning its exceptions (404s included) into the plugin's.

        At log_level debug, one line: what was done, `result` of the answer, how long it took.
        """
        from podman import errors

        try:
            with log.Step(f"podman: {what}") as step:
                answer = operation()
                if result is not None and log.enabled("debug"):
                    step.result = result(answer)
            return answer
        except errors.APIError as error:
            if error.status_code is None:
                cause = error.__cause__
                if cause is not None and "timed out" in str(cause).lower():
                    raise EngineTimeout(
                        f"podman did not answer in time while trying to {what}; try again later."
                    ) from None
                raise self._unavailable("the connection failed") from None
            detail = error.explanation or str(error)
            raise EngineError(f"podman could not {what}: {detail}") from None
        except errors.PodmanError as error:
            raise EngineError(f"podman could not {what}: {error}") from None
        except ValueError:  # a body that is not the JSON the API promises
            raise EngineError(f"podman sent an unreadable answer while trying to {what}.") from None

    def progress(self, what: str) -> Progress:
        """A progress line for a long pull or load (container.progress_interval)."""
        from ..progress import Progress

        return Progress(what, float(self.config.get("container.progress_interval")))

    def _raw_inspect(self, target: str, timeout: float, what: str) -> Mapping[str, Any] | None:
        """Inspect data over the fast raw path; None on 404.

        podman answers 500 when the container's process went away while it
        read it (`read /proc/PID/cgroup: no such process`), as happens to a
        container the engine keeps restarting: asked again a moment later,
        it answers. A few tries, well under a second in all.
        """
        for pause in (*_INSPECT_RACE_PAUSES, None):
            status, body = self._raw_request(target, timeout)
            if status != 500 or not _process_vanished(body):
                break
            if pause is None:
                raise RetryLaterError(
                    f"podman could not inspect {what}: its process kept vanishing as podman read it "
                    f"({answer_text(body)}); the container is restarting, retry in a moment."
                )
            log.debug(f"podman: inspect {what} raced the container's process; asking again")
            time.sleep(pause)
        if status == 404:
            return None
        if status >= 400:
            raise EngineError(f"podman answered {status} to inspect {what}: {answer_text(body)}")
        try:
            return jsonio.loads(body)
        except ValueError:
            raise EngineError(f"podman sent unreadable inspect data for {what}.") from None


# Pauses between the tries of an inspect that raced a vanishing process (podman's 500).
_INSPECT_RACE_PAUSES = (0.05, 0.1, 0.2, 0.4)


def _process_vanished(body: bytes) -> bool:
    text = body.lower()
    return b"no such process" in text or (b"/proc/" in text and b"no such file or directory" in text)


_ALWAYS_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote(text: str, safe: str = "/") -> str:
    """urllib.parse.quote of a str (UTF-8, RFC 3986's unreserved characters kept), without
    importing urllib.parse and ipaddress (~3 ms of every install)."""
    keep = _ALWAYS_SAFE | frozenset(safe.encode("ascii"))
    return "".join(chr(byte) if byte in keep else f"%{byte:02X}" for byte in text.encode("utf-8"))


def quoted(name: str) -> str:
    """A name or image reference as a path segment of the API (`/` and `:` of references kept)."""
    return quote(name, safe="/:@")
