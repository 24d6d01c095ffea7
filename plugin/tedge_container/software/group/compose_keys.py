"""The compose specification's key set: a key compose does not know is named, with the nearest known one.

compose (podman-compose as much as docker compose) ignores a key it does not
know, so `restrat: always` installs a service without a restart policy and
without a word. The plugin warns once per unknown key, naming the service and
the nearest known key; `container_group.strict = true` refuses the file
(exit 2). Keys starting with `x-` are the specification's extensions: silent.

The sets follow the compose specification (compose-spec/schema/compose-spec.json)
plus the legacy keys podman-compose still reads (`version`, `volume_driver`).
"""

from __future__ import annotations

from ... import log
from ...errors import PluginError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ...config import Config
    from .project import Project

STRICT_KEY = "container_group.strict"

TOP_LEVEL_KEYS = frozenset(
    {"version", "name", "include", "services", "networks", "volumes", "configs", "secrets", "models"}
)

SERVICE_KEYS = frozenset(
    {
        "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup",
        "cgroup_parent", "command", "configs", "container_name", "cpu_count", "cpu_percent",
        "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus", "cpuset",
        "credential_spec", "depends_on", "deploy", "develop", "device_cgroup_rules", "devices", "dns",
        "dns_opt", "dns_search", "domainname", "driver_opts", "entrypoint", "env_file", "environment",
        "expose", "extends", "external_links", "extra_hosts", "gpus", "group_add", "healthcheck",
        "hostname", "image", "init", "ipc", "isolation", "label_file", "labels", "links", "logging",
        "mac_address", "mem_limit", "mem_reservation", "mem_swappiness", "memswap_limit", "models",
        "network_mode", "networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit",
        "platform", "ports", "post_start", "pre_stop", "privileged", "profiles", "provider",
        "pull_policy", "read_only", "restart", "runtime", "scale", "secrets", "security_opt",
        "shm_size", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "sysctls",
        "tmpfs", "tty", "ulimits", "use_api_socket", "user", "userns_mode", "uts", "volume_driver",
        "volumes", "volumes_from", "working_dir",
    }
)  # fmt: skip


class UnknownKey:
    __slots__ = ("key", "nearest", "service")

    def __init__(self, service: str, key: str, nearest: str) -> None:
        self.service = service  # "" for a top-level key
        self.key = key
        self.nearest = nearest  # "" when no known key is close

    def describe(self) -> str:
        where = f"service {self.service}: " if self.service else "top level: "
        hint = f" (did you mean {self.nearest}?)" if self.nearest else ""
        return f"{where}unknown key {self.key!r}{hint}"


def nearest(key: str, known: frozenset[str]) -> str:
    """The known key closest to `key` ("" when none is close): `restrat` → `restart`, `port` → `ports`."""
    import difflib

    close = difflib.get_close_matches(key.lower(), sorted(known), n=1, cutoff=0.6)
    return close[0] if close else ""


def unknown_keys(document: Any, limit: int = 50) -> list[UnknownKey]:
    """Every key of the (raw) compose document the specification does not know, `x-` keys excepted.

    At most `limit` are returned: a hostile file cannot make thousands of warning lines.
    """
    found: list[UnknownKey] = []
    if not isinstance(document, dict):
        return found

    def check(service: str, body: dict[Any, Any], known: frozenset[str]) -> None:
        for key in body:
            text = str(key)
            if len(found) < limit and text not in known and not text.startswith("x-"):
                found.append(UnknownKey(service, text[:80], nearest(text[:80], known)))

    check("", document, TOP_LEVEL_KEYS)
    services = document.get("services")
    for service, body in services.items() if isinstance(services, dict) else ():
        if isinstance(body, dict):
            check(_printable(str(service)[:80]), body, SERVICE_KEYS)
    return found


def _printable(text: str) -> str:
    """A name from the file as one line of a warning: a control character (newline, ESC) becomes `?`."""
    return "".join(char if char.isprintable() else "?" for char in text)


class UnknownKeysRefused(PluginError):
    """`container_group.strict = true` and the compose file has keys compose does not know (exit 2)."""


def warn_unknown_keys(config: Config, project: Project) -> None:
    """One warning per unknown key; with `container_group.strict`, the install is refused (exit 2)."""
    unknown = project.unknown
    if not unknown:
        return
    strict = bool(config.get(STRICT_KEY))
    for entry in unknown:
        effect = "refused" if strict else "compose ignores it"
        log.warning(f"{project.compose_file}: {entry.describe()}; {effect}")
    if strict:
        more = f" and {len(unknown) - 1} more" if len(unknown) > 1 else ""
        raise UnknownKeysRefused(
            f"{project.compose_file}: {unknown[0].describe()}{more}; {STRICT_KEY} = true refuses keys "
            "compose does not know: correct them (extensions start with x-), or set it to false "
            "to install with a warning."
        )
