"""The thin-edge log plugins `container` and `container-group` (/usr/share/tedge/log-plugins/).

tedge-agent runs `PLUGIN list` (one log type per line) and `PLUGIN get TYPE
[--since TIME] [--until TIME]` (that container's stdout and stderr on stdout,
in time order, streamed in constant memory), as with the Go plugin:
- `container` lists the plain containers that `container list` reports; its
  `get` also takes a group service (so a request saved before the switch works);
- `container-group` lists one type per compose service, `PROJECT@SERVICE`
  (`MODULE@SERVICE` with container_group.use_module_name), as the monitor
  registers them.
TIME: RFC 3339, unix seconds, or a duration meaning that long ago (window.py).
The program is the plugin's own, run through a link in a `log-plugins`
directory named after the plugin (cli.py tells the role from that).
"""

from __future__ import annotations

import sys

from ..errors import PluginError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import Config
    from ..engine import Engine

CONTAINER = "container"
GROUP = "container-group"
PLUGINS = (CONTAINER, GROUP)
INSTALLED_AT = "/usr/share/tedge/log-plugins"
USAGE = """\
usage: {plugin} list
       {plugin} get {name} [--since TIME] [--until TIME]
TIME: RFC 3339, unix seconds, or a duration meaning that long ago (42s, 30m, 1h)"""


def usage(plugin: str) -> str:
    return USAGE.format(plugin=plugin, name="PROJECT@SERVICE" if plugin == GROUP else "NAME")


def log_types(engine: Engine, config: Config) -> tuple[dict[str, str], dict[str, str]]:
    """({container name: id}, {PROJECT@SERVICE: id}): what `container list` reports, and compose
    services by their service names (as the monitor registers them)."""
    from ..labels import TRANSIENT_SUFFIXES
    from ..monitor.state import is_excluded
    from ..software.container.list import ContainerFilter
    from ..software.group.naming import container_service_name

    accepts = ContainerFilter(config)
    by_module = bool(config.get("container_group.use_module_name"))
    plain, grouped = {}, {}
    for container in engine.list_containers():
        group_service = container_service_name(container.labels, by_module)
        if group_service:
            if not container.name.endswith(TRANSIENT_SUFFIXES) and not is_excluded(container, accepts):
                grouped[group_service] = container.id
        elif accepts.accepts(container):
            plain[container.name] = container.id
    return plain, grouped


def parse_get(args: list[str]) -> tuple[str, str, str]:
    """NAME, --since and --until as podman gets them (window.py)."""
    from .window import check_window, resolve

    if not args or args[0].startswith("-"):
        raise UsageError("get: give the log type (a container name, or PROJECT@SERVICE).")
    name, since, until = args[0], "", ""
    given = ["", ""]  # --since and --until as written, for the line refusing an empty window
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
            since, given[0] = resolve(value, option), value
        else:
            until, given[1] = resolve(value, option), value
    check_window(since, until, (given[0], given[1]))
    return name, since, until


def run(config: Config, args: list[str], plugin: str = CONTAINER) -> int:
    plugin = plugin if plugin in PLUGINS else CONTAINER
    try:
        return _run(config, args, plugin)
    except UsageError as error:
        from .window import EmptyWindow

        if not isinstance(error, EmptyWindow):  # the command was right: its window holds nothing
            print(usage(plugin), file=sys.stderr)
        print(error, file=sys.stderr)
        return error.exit_code


def _run(config: Config, args: list[str], plugin: str) -> int:
    from ..engine import Engine

    if not args or args[0] in ("-h", "--help"):
        print(usage(plugin), file=sys.stderr)
        return 0 if args else 1
    command, rest = args[0], args[1:]
    if command == "list":
        if rest:
            raise UsageError("list takes no arguments.")
        plain, grouped = log_types(Engine(config), config)
        names = sorted(grouped if plugin == GROUP else plain)
        sys.stdout.write("".join(f"{name}\n" for name in names))
        return 0
    if command == "get":
        name, since, until = parse_get(rest)
        engine = Engine(config)
        plain, grouped = log_types(engine, config)
        # `container get` also answers for group services: a log request saved before the switch.
        types = grouped if plugin == GROUP else {**grouped, **plain}
        if name not in types:
            other = (
                f" It is a container: ask `{INSTALLED_AT}/{CONTAINER} get {name}`." if name in plain else ""
            )
            raise PluginError(
                f"No {plugin} log named {name!r}: `{INSTALLED_AT}/{plugin} list` shows the log types.{other}"
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
