"""Containers, networks and pods in the engine, all over the raw path."""

from __future__ import annotations

import time

from .. import jsonio  # not `json`: see jsonio.py
from ..errors import EngineError, PluginError
from .connection import Connection, quote, quoted
from .model import Container
from .sockets import API_PREFIX, AnswerTooLarge, answer_text

_RACE_TRIES = 3
MAX_LOG_TAIL = 1 << 20  # bytes of a log tail read at most: its lines are as long as a container makes them
_INTERFACE_RACE = "no such network interface"
_FIREWALL_RACE = "No chain/target/match by that name"


def _tried_again_on(race: str, call: Callable[[], T], step: float) -> T:
    """`call`, tried again (at most _RACE_TRIES times, `step`, 2 x `step`, ... apart) while podman's
    refusal names `race`: a host-wide race with another podman process, which a moment later passes."""
    for attempt in range(_RACE_TRIES):
        try:
            return call()
        except EngineError as error:
            if race not in str(error) or attempt + 1 == _RACE_TRIES:
                raise
        time.sleep(step * (attempt + 1))
    raise AssertionError("unreachable")  # the last try returns or raises


TYPE_CHECKING = False  # `typing` itself costs ~5 ms, and `list` must start fast
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, TypeVar

    T = TypeVar("T")


class ContainerCalls(Connection):
    """What the plugin does with containers (and the networks and pods around them)."""

    def list_containers(self) -> list[Container]:
        """All containers, stopped ones included (no sizes: they are slow to compute)."""
        body = self._raw_get(
            f"{API_PREFIX}/containers/json?all=true", self.config.get("container.api_timeout")
        )
        try:
            entries = jsonio.loads(body)
        except ValueError:
            raise EngineError(f"podman at {self.socket_path} sent an unreadable container list.") from None
        return [Container.from_list_entry(entry) for entry in entries or []]

    def container_entries(self, label: str) -> list[dict[str, Any]]:
        """The raw list entries (State, ExitCode, StartedAt, Labels, ...) of containers with `label`.

        `label` is `key` or `key=value`. Over the fast raw path, for checks that poll.
        """
        filters = quote(jsonio.dumps({"label": [label]}))
        target = f"{API_PREFIX}/containers/json?all=true&filters={filters}"
        body = self._raw_get(target, self.config.get("container.api_timeout"))
        try:
            return list(jsonio.loads(body) or [])
        except ValueError:
            raise EngineError(f"podman at {self.socket_path} sent an unreadable container list.") from None

    def has_network(self, name: str) -> bool:
        return self._raw_exists(f"{API_PREFIX}/networks/{quoted(name)}/exists", f"network {name}")

    def containers_using_image(self, image_id: str) -> list[Container]:
        return [c for c in self.list_containers() if c.image_id == image_id]

    # -- containers ------------------------------------------------------

    def get_container(self, name: str) -> Container | None:
        """The container called exactly `name` (podman would also match an id prefix)."""
        data = self._raw_inspect(
            f"{API_PREFIX}/containers/{quoted(name)}/json",
            self.config.get("container.api_timeout"),
            f"container {name}",
        )
        if not data:
            return None
        container = Container.from_inspect(data)
        return container if container.name == name else None

    def ensure_network(self, name: str, labels: Mapping[str, str] | None = None) -> bool:
        """Create network `name` when missing; True when this call created it."""
        if self.has_network(name):
            return False
        # DNS on, as `podman network create` does: containers find each other by name.
        payload: dict[str, Any] = {"name": name, "driver": "bridge", "dns_enabled": True}
        if labels:
            payload["labels"] = dict(labels)

        def create() -> int:
            status, body = self._raw_request(
                f"{API_PREFIX}/networks/create", self.config.get("container.api_timeout"), "POST", payload
            )
            if status >= 400 and status != 409:  # 409: created meanwhile by someone else
                raise EngineError(f"podman could not create network {name}: {answer_text(body)}")
            return status

        # podman lists the host's interfaces to pick a free subnet: one that vanishes meanwhile
        # (another container stopping) fails the create.
        return _tried_again_on(_INTERFACE_RACE, create, step=0.1) < 400

    def remove_network(self, name: str) -> None:
        """Remove network `name`; podman refuses while a container uses it, and a missing one is fine."""
        target = f"{API_PREFIX}/networks/{quoted(name)}"
        self._raw_change(f"remove network {name}", "DELETE", target, missing_ok=True)

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
            # Named networks need the bridge mode: rootful podman takes it by default, rootless
            # podman does not (4.3: slirp4netns, 5: pasta) and refuses the networks without it.
            spec["netns"] = {"nsmode": "bridge"}
            spec["networks"] = {network: {"aliases": aliases}}
        _, body = self._raw_change(
            what, "POST", f"{API_PREFIX}/containers/create", spec, describe=lambda answer: f"id {_id(answer)}"
        )
        container_id = _id(body)
        if not container_id:
            raise EngineError(f"podman sent an unreadable answer while trying to {what}.")
        return container_id

    def start_container(self, name: str) -> None:
        # Another netavark on the host (a second engine, podman-restart at boot) may remove a
        # firewall chain it shares while this start fills it.
        target = f"{API_PREFIX}/containers/{quoted(name)}/start"
        _tried_again_on(
            _FIREWALL_RACE, lambda: self._raw_change(f"start container {name}", "POST", target), step=0.2
        )

    def container_state(self, name: str) -> Mapping[str, Any]:
        data = self._raw_inspect(
            f"{API_PREFIX}/containers/{quoted(name)}/json",
            self.config.get("container.api_timeout"),
            f"container {name}",
        )
        return (data or {}).get("State") or {}

    def inspect_container(self, name: str, timeout: float) -> Mapping[str, Any] | None:
        """Inspect data (State, RestartCount, ...) over the fast raw path; None when there is none.

        Used to report a container's health: bounded by `timeout`, no podman-py.
        """
        return self._raw_inspect(f"{API_PREFIX}/containers/{name}/json", timeout, f"container {name}")

    def container_stats(self, timeout: float) -> list[Mapping[str, Any]]:
        """One resource sample (CPU, MemPerc, NetInput, NetOutput, ...) of every running container.

        One request for all of them (the monitor's metrics), over the fast raw path.
        """
        body = self._raw_get(f"{API_PREFIX}/containers/stats?stream=false", timeout)
        try:
            answer = jsonio.loads(body)
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
            return str(jsonio.loads(body).get("Status") or "")
        except (ValueError, AttributeError):
            return ""

    def last_exit_code(self, name: str, since: float) -> int | None:
        """The code of the last exit of container `name` since `since` (unix time), from its events.

        Inspect data cannot tell: once the engine restarts a container it says exit code 0.
        """
        filters = quote(jsonio.dumps({"container": [name], "event": ["died"]}))
        target = f"{API_PREFIX}/events?stream=false&since={int(since)}&filters={filters}"
        try:
            status, body = self._raw_request(target, self.config.get("container.api_timeout"))
        except PluginError:
            return None
        code = None
        for line in body.splitlines() if status < 400 else ():
            try:
                attributes = (jsonio.loads(line).get("Actor") or {}).get("Attributes") or {}
                code = int(attributes["containerExitCode"])
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
        return code

    def log_tail(self, name: str, lines: int, timeout: float, until: float | None = None) -> str:
        """The last `lines` lines the container wrote (stdout and stderr), as text; '' when none.

        With `until` (a UNIX time), those of them written before it: podman takes the last
        `lines` first and then drops the later ones, so ask for more lines than you need.
        A container decides how long its lines are: past MAX_LOG_TAIL bytes, '' too.
        """
        window = f"&until={until:.6f}" if until is not None else ""
        target = f"{API_PREFIX}/containers/{name}/logs?stdout=true&stderr=true&tail={int(lines)}{window}"
        try:
            status, body = self._raw_request(target, timeout, max_answer=MAX_LOG_TAIL)
        except AnswerTooLarge:
            return ""
        if status >= 400:
            return ""
        from .logs import demultiplex_stream

        return b"".join(demultiplex_stream(iter([body]))).decode("utf-8", "replace")

    def rename_container(self, current: str, new: str) -> None:
        target = f"{API_PREFIX}/containers/{quoted(current)}/rename?name={quote(new, safe='')}"
        self._raw_change(f"rename container {current} to {new}", "POST", target)

    def remove_container(self, name: str) -> None:
        """Stop (bounded by container.stop_timeout) and remove; a missing container is fine."""
        stop_timeout = int(self.config.get("container.stop_timeout"))
        target = f"{API_PREFIX}/containers/{quoted(name)}"
        status, _ = self._raw_change(
            f"stop container {name}",
            "POST",
            f"{target}/stop?timeout={stop_timeout}",
            timeout=stop_timeout + self.config.get("container.api_timeout"),
            missing_ok=True,
        )
        if status == 404:  # none to remove (every install asks this of its `.tedge-new` name)
            return
        self._raw_change(
            f"remove container {name}", "DELETE", f"{target}?force=true&v=false", missing_ok=True
        )


def _id(body: bytes) -> str:
    """The `Id` of a create's answer, '' when it has none."""
    try:
        return str(jsonio.loads(body)["Id"])
    except (ValueError, KeyError, TypeError):
        return ""
