"""The engine adapter: the only code that talks to podman.

Two paths to the same REST API:
- the tiny raw client of `sockets.py` for `list`, inspect and the liveness
  probe, because `list` runs on every software update and importing
  podman-py alone costs ~0.2 s;
- podman-py for everything that changes the engine (pull, load, create, ...).

Every call is bounded: control calls by `container.api_timeout`, pulls and
loads by `container.pull_timeout`, the first contact by
`container.connect_timeout`. podman-py's timeout is per read, not a deadline,
so long operations run in a worker thread that the caller stops waiting for.
"""

from __future__ import annotations

import json
import socket

from .. import log
from ..errors import EngineError, EngineTimeout, EngineUnavailable, PluginError, PullError
from .model import Container
from .pull_errors import pull_error
from .sockets import (
    API_PREFIX,
    ENABLE_HINT,
    UnixHTTP,
    answer_text,
    describe_choice,
    not_podman,
    permission_denied,
    resolve_socket,
)

TYPE_CHECKING = False  # `typing` itself costs ~5 ms, and `list` must start fast
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any, Callable, TypeVar

    from ..config import Config
    from ..progress import Progress

    T = TypeVar("T")

_PING = f"{API_PREFIX}/_ping"


def run_bounded(operation: Callable[[], T], seconds: float, what: str, progress: Progress | None = None) -> T:
    """Run a pull or load for at most `seconds`; the engine may still finish it on its side."""
    from ..threads import call_with_deadline

    def timeout() -> EngineTimeout:
        return EngineTimeout(
            f"{what} did not finish within {seconds:g} s; try again later, or raise "
            "container.pull_timeout if the image is large or the link slow."
        )

    if progress is None:
        return call_with_deadline(operation, seconds, what, timeout)
    step = min(1.0, progress.interval) if progress.interval > 0 else 1.0
    return call_with_deadline(operation, seconds, what, timeout, progress.tick, step)


class Engine:
    """A podman service reached through its unix socket."""

    def __init__(self, config: Config, environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.socket_path, self.tried = resolve_socket(config, environ)
        if log.enabled("debug"):
            log.debug(describe_choice(self.socket_path, self.tried))
        self._client: Any = None
        self._unreachable: EngineUnavailable | None = None
        self._answered = False  # one ping per process is enough once the engine answered
        self._search_registries: list[str] | None = None

    # -- contact ---------------------------------------------------------

    def _unavailable(self, reason: str) -> EngineUnavailable:
        if self.socket_path and len(self.tried) == 1:
            where = self.socket_path
        else:
            where = "any of " + ", ".join(self.tried)
        return EngineUnavailable(f"Cannot reach podman at {where} ({reason}); {ENABLE_HINT}.")

    def _raw_request(
        self, target: str, timeout: float | None = None, method: str = "GET", payload: Any = None
    ) -> tuple[int, bytes]:
        """One request over the fast raw path: (status, body); an unreachable engine is EngineUnavailable."""
        if not self.socket_path:
            raise self._unavailable("no socket found")
        if target != _PING:
            self.ping()  # a hung engine costs connect_timeout (a few seconds), not api_timeout
        http = UnixHTTP(self.socket_path, timeout or self.config.get("container.connect_timeout"))
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        try:
            return http.request(method, target, body)
        except FileNotFoundError:
            raise self._unavailable("the socket does not exist") from None
        except ConnectionRefusedError:
            raise self._unavailable("connection refused: the service is not running") from None
        except socket.timeout:
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

    def ping(self) -> None:
        """Fail fast, within container.connect_timeout, when the engine does not answer.

        The verdict is kept: a batch does not wait for a dead engine once per module.
        """
        if self._unreachable is not None:
            raise self._unreachable
        if self._answered:
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

    def list_containers(self) -> list[Container]:
        """All containers, stopped ones included (no sizes: they are slow to compute)."""
        body = self._raw_get(
            f"{API_PREFIX}/containers/json?all=true", self.config.get("container.api_timeout")
        )
        try:
            entries = json.loads(body)
        except ValueError:
            raise EngineError(f"podman at {self.socket_path} sent an unreadable container list.") from None
        return [Container.from_list_entry(entry) for entry in entries or []]

    def container_entries(self, label: str) -> list[dict[str, Any]]:
        """The raw list entries (State, ExitCode, StartedAt, Labels, ...) of containers with `label`.

        `label` is `key` or `key=value`. Over the fast raw path, for checks that poll.
        """
        from urllib.parse import quote

        filters = quote(json.dumps({"label": [label]}))
        target = f"{API_PREFIX}/containers/json?all=true&filters={filters}"
        body = self._raw_get(target, self.config.get("container.api_timeout"))
        try:
            return list(json.loads(body) or [])
        except ValueError:
            raise EngineError(f"podman at {self.socket_path} sent an unreadable container list.") from None

    def _raw_exists(self, target: str, what: str) -> bool:
        with log.Step(f"podman: look up {what}") as step:
            status, body = self._raw_request(target, self.config.get("container.api_timeout"))
            step.result = "present" if status == 204 else "absent"
        if status >= 400 and status != 404:
            raise EngineError(f"podman answered {status} to {target}: {answer_text(body)}")
        return status == 204

    def image_exists(self, reference: str) -> bool:
        return self._raw_exists(f"{API_PREFIX}/images/{_quoted(reference)}/exists", f"image {reference}")

    def has_network(self, name: str) -> bool:
        return self._raw_exists(f"{API_PREFIX}/networks/{_quoted(name)}/exists", f"network {name}")

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

    # -- images ----------------------------------------------------------

    def find_image(self, name: str) -> Mapping[str, Any] | None:
        """Inspect data of the image podman finds for `name`, or None.

        podman resolves a short name itself, as on its own command line: a
        `localhost/` image first, then its unqualified-search registries and
        aliases, then any image whose name ends with it.
        """
        from urllib.parse import quote

        target = f"{API_PREFIX}/images/{quote(name, safe='/:@')}/json"
        return self._raw_inspect(target, self.config.get("container.api_timeout"), f"image {name}")

    def image_names(self) -> set[str]:
        """Every name (`repo:tag`, `repo@digest`) and id of the engine's images, over the raw path."""
        body = self._raw_get(f"{API_PREFIX}/images/json", self.config.get("container.api_timeout"))
        try:
            entries = json.loads(body) or []
        except ValueError:
            raise EngineError(f"podman at {self.socket_path} sent an unreadable image list.") from None
        names: set[str] = set()
        for entry in entries:
            names.update(entry.get("Names") or entry.get("RepoTags") or [])
            names.update(entry.get("RepoDigests") or [])
            names.add(str(entry.get("Id") or "").removeprefix("sha256:"))
        return names

    def search_registries(self) -> list[str]:
        """The engine's unqualified-search registries (its registries.conf, wherever its root is)."""
        if self._search_registries is None:
            body = self._raw_get(f"{API_PREFIX}/info", self.config.get("container.api_timeout"))
            try:
                registries = (json.loads(body).get("registries") or {}).get("search") or []
            except (ValueError, AttributeError):
                raise EngineError(f"podman at {self.socket_path} sent unreadable info.") from None
            self._search_registries = [str(registry) for registry in registries if registry]
        return self._search_registries

    def pull(self, reference: str, registry: str, auth: Mapping[str, str] | None = None) -> str:
        """Pull `reference` (fully qualified) and return the image id.

        The pull stream is read to its end: podman 4.3 reports failures as an
        in-band `error` line after HTTP 200, podman 5 may use an HTTP error
        status; both become a PullError with a kind.
        """
        client = self.client
        progress = self.progress(f"Pulling {reference}")

        def work() -> str:
            from podman.api import encode_auth_header

            headers = {"X-Registry-Auth": encode_auth_header(dict(auth))} if auth else {}
            params = {"reference": reference, "policy": "always", "compatMode": False}
            response = client.api.post("/images/pull", params=params, headers=headers, stream=True)
            if response.status_code >= 400:
                try:
                    body = response.json()
                    message = body.get("message") or body.get("cause") or response.text
                except ValueError:
                    message = response.text
                raise self._pull_error(reference, registry, message)
            error, image_id = "", ""
            for line in response.iter_lines():
                if not line:
                    continue
                try:
                    item = json.loads(line)
                except ValueError:
                    continue
                error = item.get("error") or error
                image_id = item.get("id") or image_id
                if str(item.get("stream") or "").startswith("Copying blob"):
                    progress.layers += 1
            if error or not image_id:
                raise self._pull_error(reference, registry, error or "the engine reported no image")
            return image_id

        timeout = self.config.get("container.pull_timeout")
        return self._call(
            f"pull {reference}",
            lambda: run_bounded(work, timeout, f"Pulling {reference}", progress),
            self.describe_image,
        )

    def describe_image(self, image_id: str) -> str:
        """`image ID (12.3 MB)` for debug lines; the size costs one inspect over the raw path."""
        size = ""
        try:
            data = self._raw_inspect(
                f"{API_PREFIX}/images/{image_id}/json", self.config.get("container.api_timeout"), image_id
            )
            if data and data.get("Size") is not None:
                size = f" ({int(data['Size']) / 1e6:.1f} MB)"
        except (PluginError, ValueError, TypeError):
            pass
        return f"image {image_id}{size}"

    def _pull_error(self, reference: str, registry: str, message: str) -> PullError:
        error = pull_error(reference, registry, message)
        if error.kind == "no_space":  # name the full filesystem: podman's storage
            error = pull_error(reference, registry, message, storage=self.storage_root())
        return error

    def storage_root(self) -> str:
        """podman's image storage (`store.graphRoot` of its info), or "" when it cannot tell."""
        try:
            body = self._raw_get(f"{API_PREFIX}/info", self.config.get("container.connect_timeout"))
            return str(json.loads(body)["store"]["graphRoot"])
        except (PluginError, ValueError, KeyError, TypeError):
            return ""

    def progress(self, what: str) -> Progress:
        """A progress line for a long pull or load (container.progress_interval)."""
        from ..progress import Progress

        return Progress(what, float(self.config.get("container.progress_interval")))

    def load(self, chunks: Iterable[bytes], progress: Progress | None = None) -> list[str]:
        """Stream an uncompressed image archive to the engine; returns the loaded image names.

        `progress` (see archive.stream) counts what was sent; its line is printed while waiting.
        """
        client = self.client

        def work() -> list[str]:
            response = client.api.post(
                "/images/load", data=iter(chunks), headers={"Content-Type": "application/x-tar"}
            )
            response.raise_for_status()
            return list(response.json().get("Names") or [])

        timeout = self.config.get("container.pull_timeout")
        return self._call(
            "load the image archive",
            lambda: run_bounded(work, timeout, "Loading the archive", progress),
            lambda names: "loaded " + (", ".join(names) or "no named image"),
        )

    def remove_image(self, image: str) -> bool:
        """Remove an image name (the image itself with its last name); False when podman refuses."""
        with log.Step(f"podman: remove image {image}") as step:
            status, _ = self._raw_request(
                f"{API_PREFIX}/images/{_quoted(image)}", self.config.get("container.api_timeout"), "DELETE"
            )
            step.result = "removed" if status < 400 else f"refused (HTTP {status})"
        return status < 400

    def containers_using_image(self, image_id: str) -> list[Container]:
        return [c for c in self.list_containers() if c.image_id == image_id]

    # -- containers ------------------------------------------------------

    def get_container(self, name: str) -> Container | None:
        """The container called exactly `name` (podman would also match an id prefix)."""
        data = self._raw_inspect(
            f"{API_PREFIX}/containers/{_quoted(name)}/json",
            self.config.get("container.api_timeout"),
            f"container {name}",
        )
        if not data:
            return None
        container = Container.from_inspect(data)
        return container if container.name == name else None

    def ensure_network(self, name: str) -> None:
        if self.has_network(name):
            return
        # DNS on, as `podman network create` does: containers find each other by name.
        payload = {"name": name, "driver": "bridge", "dns_enabled": True}
        status, body = self._raw_request(
            f"{API_PREFIX}/networks/create", self.config.get("container.api_timeout"), "POST", payload
        )
        if status >= 400 and status != 409:  # 409: created meanwhile by someone else
            raise EngineError(f"podman could not create network {name}: {answer_text(body)}")

    def create_container(
        self,
        name: str,
        image: str,
        labels: Mapping[str, str],
        network: str,
        aliases: list[str],
        publish_all: bool,
        hostname: str = "",
    ) -> str:
        """Create (not start) a container that restarts always; returns its id.

        `hostname` defaults to podman's choice; an install gives the module name, so
        that the container created under a temporary name is not stuck with it.
        """
        what = f"create container {name} from {image}"
        spec: dict[str, Any] = {
            "name": name,
            "image": image,
            "labels": dict(labels),
            "publish_image_ports": publish_all,
            "restart_policy": "always",
        }
        if hostname:
            spec["hostname"] = hostname
        if network:
            spec["networks"] = {network: {"aliases": aliases}}
        _, body = self._raw_change(
            what, "POST", f"{API_PREFIX}/containers/create", spec, describe=lambda answer: f"id {_id(answer)}"
        )
        container_id = _id(body)
        if not container_id:
            raise EngineError(f"podman sent an unreadable answer while trying to {what}.")
        return container_id

    def start_container(self, name: str) -> None:
        self._raw_change(f"start container {name}", "POST", f"{API_PREFIX}/containers/{_quoted(name)}/start")

    def container_state(self, name: str) -> Mapping[str, Any]:
        data = self._raw_inspect(
            f"{API_PREFIX}/containers/{_quoted(name)}/json",
            self.config.get("container.api_timeout"),
            f"container {name}",
        )
        return (data or {}).get("State") or {}

    def inspect_container(self, name: str, timeout: float) -> Mapping[str, Any] | None:
        """Inspect data (State, RestartCount, ...) over the fast raw path; None when there is none.

        Used to report a container's health: bounded by `timeout`, no podman-py.
        """
        return self._raw_inspect(f"{API_PREFIX}/containers/{name}/json", timeout, f"container {name}")

    def _raw_inspect(self, target: str, timeout: float, what: str) -> Mapping[str, Any] | None:
        """Inspect data over the fast raw path; None on 404."""
        status, body = self._raw_request(target, timeout)
        if status == 404:
            return None
        if status >= 400:
            raise EngineError(f"podman answered {status} to inspect {what}: {answer_text(body)}")
        try:
            return json.loads(body)
        except ValueError:
            raise EngineError(f"podman sent unreadable inspect data for {what}.") from None

    def container_stats(self, timeout: float) -> list[Mapping[str, Any]]:
        """One resource sample (CPU, MemPerc, NetInput, NetOutput, ...) of every running container.

        One request for all of them (the monitor's metrics), over the fast raw path.
        """
        body = self._raw_get(f"{API_PREFIX}/containers/stats?stream=false", timeout)
        try:
            answer = json.loads(body)
        except ValueError:
            raise EngineError(f"podman at {self.socket_path} sent unreadable container stats.") from None
        if isinstance(answer, dict):  # {"Error": ..., "Stats": [...]}
            answer = answer.get("Stats") or []
        return [entry for entry in answer or [] if isinstance(entry, dict)]

    def run_healthcheck(self, name: str, timeout: float) -> str:
        """Run the container's HEALTHCHECK once; its status (`healthy`, ...), '' when it cannot run."""
        status, body = self._raw_request(f"{API_PREFIX}/containers/{name}/healthcheck", timeout)
        if status >= 400:  # 409: not running or no healthcheck; the gate looks at the state itself
            return ""
        try:
            return str(json.loads(body).get("Status") or "")
        except (ValueError, AttributeError):
            return ""

    def last_exit_code(self, name: str, since: float) -> int | None:
        """The code of the last exit of container `name` since `since` (unix time), from its events.

        Inspect data cannot tell: once the engine restarts a container it says exit code 0.
        """
        from urllib.parse import quote

        filters = quote(json.dumps({"container": [name], "event": ["died"]}))
        target = f"{API_PREFIX}/events?stream=false&since={int(since)}&filters={filters}"
        try:
            status, body = self._raw_request(target, self.config.get("container.api_timeout"))
        except PluginError:
            return None
        code = None
        for line in body.splitlines() if status < 400 else ():
            try:
                attributes = (json.loads(line).get("Actor") or {}).get("Attributes") or {}
                code = int(attributes["containerExitCode"])
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
        return code

    def log_tail(self, name: str, lines: int, timeout: float) -> str:
        """The last `lines` lines the container wrote (stdout and stderr), as text; '' when none."""
        status, body = self._raw_request(
            f"{API_PREFIX}/containers/{name}/logs?stdout=true&stderr=true&tail={int(lines)}", timeout
        )
        if status >= 400:
            return ""
        return demultiplex(body).decode("utf-8", "replace")

    def remove_pod(self, name: str) -> None:
        """Remove a pod (its containers with it); a missing pod is fine."""
        target = f"{API_PREFIX}/pods/{_quoted(name)}"
        if self._raw_exists(f"{target}/exists", f"pod {name}"):
            self._raw_change(f"remove pod {name}", "DELETE", f"{target}?force=true", missing_ok=True)

    def rename_container(self, current: str, new: str) -> None:
        from urllib.parse import quote

        target = f"{API_PREFIX}/containers/{_quoted(current)}/rename?name={quote(new, safe='')}"
        self._raw_change(f"rename container {current} to {new}", "POST", target)

    def remove_container(self, name: str) -> None:
        """Stop (bounded by container.stop_timeout) and remove; a missing container is fine."""
        stop_timeout = int(self.config.get("container.stop_timeout"))
        target = f"{API_PREFIX}/containers/{_quoted(name)}"
        self._raw_change(
            f"stop container {name}",
            "POST",
            f"{target}/stop?timeout={stop_timeout}",
            timeout=stop_timeout + self.config.get("container.api_timeout"),
            missing_ok=True,
        )
        self._raw_change(
            f"remove container {name}", "DELETE", f"{target}?force=true&v=false", missing_ok=True
        )


def _quoted(name: str) -> str:
    """A name or image reference as a path segment of the API (`/` and `:` of references kept)."""
    from urllib.parse import quote

    return quote(name, safe="/:@")


def _id(body: bytes) -> str:
    """The `Id` of a create's answer, '' when it has none."""
    try:
        return str(json.loads(body)["Id"])
    except (ValueError, KeyError, TypeError):
        return ""


def demultiplex(data: bytes) -> bytes:
    """The payload of a logs stream: frames of an 8-byte header (stream, 0, 0, 0, size) and data.

    A container with a terminal sends plain bytes instead; those are returned as they are.
    """
    out, offset = [], 0
    while (
        offset + 8 <= len(data) and data[offset] in (0, 1, 2) and data[offset + 1 : offset + 4] == b"\0\0\0"
    ):
        size = int.from_bytes(data[offset + 4 : offset + 8], "big")
        out.append(data[offset + 8 : offset + 8 + size])
        offset += 8 + size
    if offset == 0:
        return data
    return b"".join(out)
