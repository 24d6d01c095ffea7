"""The thin-edge log plugin `container` (/usr/share/tedge/log-plugins/container).

tedge-agent runs `container list` (one log type per line: every container
that `container list` reports, and `PROJECT@SERVICE` per compose container)
and `container get TYPE [--since TIME] [--until TIME]` (that container's
stdout and stderr on stdout, in time order, streamed in constant memory).
TIME: RFC 3339, a unix time, or a duration such as `42m` (podman reads it).
The program is the plugin's own, run through a link in a `log-plugins`
directory (cli.py tells the role from that directory).
"""

from __future__ import annotations

import sys

from ..errors import PluginError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import Config
    from ..engine import Engine

USAGE = """\
usage: container list
       container get NAME [--since TIME] [--until TIME]"""


def log_types(engine: Engine, config: Config) -> dict[str, str]:
    """{log type: container id}: what `container list` reports, and compose services by their
    service names (PROJECT@SERVICE, as the monitor registers them)."""
    from ..labels import TRANSIENT_SUFFIXES
    from ..monitor.state import is_excluded
    from ..software.container.list import ContainerFilter
    from ..software.group.naming import container_service_name

    accepts = ContainerFilter(config)
    by_module = bool(config.get("container_group.use_module_name"))
    types = {}
    for container in engine.list_containers():
        group_service = container_service_name(container.labels, by_module)
        if group_service:
            if not container.name.endswith(TRANSIENT_SUFFIXES) and not is_excluded(container, accepts):
                types[group_service] = container.id
        elif accepts.accepts(container):
            types[container.name] = container.id
    return types


def parse_get(args: list[str]) -> tuple[str, str, str]:
    if not args or args[0].startswith("-"):
        raise UsageError("get: give the log type (a container name, or PROJECT@SERVICE).")
    name, since, until = args[0], "", ""
    rest = args[1:]
    while rest:
        option = rest.pop(0)
        if option in ("--since", "--until") and rest:
            value = rest.pop(0)
        elif option.startswith(("--since=", "--until=")):
            option, _, value = option.partition("=")
        else:
            raise UsageError(f"get: unexpected {option!r}.")
        if option == "--since":
            since = value
        else:
            until = value
    return name, since, until


def run(config: Config, args: list[str]) -> int:
    try:
        return _run(config, args)
    except UsageError as error:
        print(USAGE, file=sys.stderr)
        print(error, file=sys.stderr)
        return error.exit_code


def _run(config: Config, args: list[str]) -> int:
    from ..engine import Engine

    if not args or args[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 0 if args else 1
    command, rest = args[0], args[1:]
    if command == "list":
        if rest:
            raise UsageError("list takes no arguments.")
        names = sorted(log_types(Engine(config), config))
        sys.stdout.write("".join(f"{name}\n" for name in names))
        return 0
    if command == "get":
        name, since, until = parse_get(rest)
        engine = Engine(config)
        types = log_types(engine, config)
        if name not in types:
            raise PluginError(
                f"No container log named {name!r}: `container list` (the log plugin) shows the log types."
            )
        write_log(engine, types[name], since, until)
        return 0
    raise UsageError(f"unknown command {command!r}.")


def write_log(engine: Engine, container_id: str, since: str, until: str) -> None:
    import socket

    from ..engine.logs import log_target, stream_log
    from ..errors import EngineUnavailable

    target = log_target(container_id, since, until)
    out = sys.stdout.buffer
    try:
        for data in stream_log(
            engine.socket_path,
            target,
            float(engine.config.get("container.connect_timeout")),
            float(engine.config.get("container.api_timeout")),
        ):
            out.write(data)
    except (OSError, socket.timeout) as error:
        raise EngineUnavailable(
            f"Reading the log from podman at {engine.socket_path} failed ({error})."
        ) from None
    out.flush()
