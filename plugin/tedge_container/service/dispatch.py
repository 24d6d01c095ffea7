"""The service plugins' command line: `container ACTION NAME`, `container-group ACTION NAME`.

Exit codes, as thin-edge's service plugin contract reserves them: 0 the
action was done; 2 only for an action this plugin does not have (or that
this device cannot do: turned off by `service_commands.actions`, pause on an
engine without a cgroup freezer), with the reason; 1 for every failure,
the last stderr line saying what failed and what to do. Never a traceback,
never the workflow markers `:::begin-tedge:::` / `:::end-tedge:::`.
"""

from __future__ import annotations

import sys

from .. import log
from ..errors import PluginError, add_context
from . import ACTIONS, SERVICE_TYPES
from .actions import Unsupported

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import Config
    from ..engine import Engine
    from .targets import Target

# tedge-agent kills the workflow step after 180 s: a command waiting for an install gives up before.
LOCK_WAIT_MAX = 120.0
_MARKERS = (":::begin-tedge:::", ":::end-tedge:::")
_DOING = {
    "start": "Starting",
    "stop": "Stopping",
    "restart": "Restarting",
    "pause": "Pausing",
    "unpause": "Unpausing",
}
_CONTROL = frozenset([*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0)), "\u2028", "\u2029"])


class Usage(PluginError):
    """The command line is wrong (exit 1, as every failure)."""


def usage(prog: str) -> str:
    return f"usage: {prog} ACTION SERVICE-NAME   (ACTION: {', '.join(ACTIONS)})"


def _say(message: str) -> None:
    """One line on stderr, never holding a workflow marker."""
    text = " ".join(str(message).split())
    for marker in _MARKERS:
        text = text.replace(marker, marker.strip(":"))
    print(text, file=sys.stderr, flush=True)


def parse(prog: str, args: list[str]) -> tuple[str, str]:
    if len(args) != 2:
        raise Usage(f"{usage(prog)}: give exactly an action and a service name.")
    action, name = args
    for what, text in (("action", action), ("service name", name)):
        if not text or text.startswith("-") or any(char in _CONTROL for char in text):
            shown = text if len(text) <= 80 else text[:77] + "..."
            raise Usage(
                f"The {what} {shown!r} is refused: it is empty, starts with '-' or holds a control "
                "character; nothing was changed."
            )
    if action not in ACTIONS:
        raise Unsupported(f"{prog}: the action {action!r} is not supported; supported: {', '.join(ACTIONS)}.")
    return action, name


def main(service_type: str, args: list[str]) -> int:
    prog = service_type
    try:
        if service_type not in SERVICE_TYPES:  # a copy under another name: not a type of ours
            raise Unsupported(
                f"{prog}: this service plugin handles the service types {' and '.join(SERVICE_TYPES)} "
                "only; install it under one of those names."
            )
        action, name = parse(prog, args)
        message = run(service_type, action, name)
    except Unsupported as error:
        _say(str(error))
        return 2
    except PluginError as error:
        _say(str(error))
        return 1
    except KeyboardInterrupt:
        _say(f"{prog}: interrupted; look at the service's state and run the command again if needed.")
        return 1
    except Exception as error:  # never a traceback; the type helps a bug report
        _say(
            f"{prog}: unexpected {type(error).__name__}: {error}; "
            "please report this with the command that was run."
        )
        return 1
    print(message, flush=True)
    return 0


def run(service_type: str, action: str, name: str) -> str:
    from ..config import Config

    config = Config.load()
    log.set_level(config.get("log_level"))
    from .capabilities import configured

    if action not in configured(config):
        raise Unsupported(
            f"The action {action!r} is turned off on this device (service_commands.actions in the "
            "plugin's settings); nothing was changed."
        )
    try:
        return _act(config, service_type, action, name)
    except Unsupported:
        raise
    except PluginError as error:
        shown = name if len(name) <= 80 else name[:77] + "..."  # one readable line, whatever came
        raise add_context(error, prefix=f"{_DOING[action]} {service_type} service {shown} failed: ") from None


def _act(config: Config, service_type: str, action: str, name: str) -> str:
    from ..engine import Engine
    from ..locking import module_lock
    from . import targets

    engine = Engine(config)
    target = targets.find(config, engine, service_type, name)
    if action in ("pause", "unpause"):
        from .capabilities import pause_refusal

        refusal = pause_refusal(engine)
        if refusal:
            raise Unsupported(
                f"{_DOING[action]} {service_type} service {name} is not supported here: {refusal}."
            )
    wait = min(float(config.get("container.lock_timeout")), LOCK_WAIT_MAX)
    with module_lock(target.lock_type, target.lock_name, wait, action):
        target = targets.find(config, engine, service_type, name)  # an install may have replaced it meanwhile
        _keep_record(config, name, service_type, action)
        try:
            done = _each(config, engine, target, action)
        except PluginError:
            if action in ("stop", "pause"):
                _settle_record(config, engine, target, name)
            raise
    return f"{service_type} service {name}: {done}"


def _keep_record(config: Config, name: str, service_type: str, action: str) -> None:
    """Record a stop or pause before it happens (the monitor's look finds it); forget it otherwise.

    Best effort: a data directory that cannot be written never keeps the action from running.
    """
    from . import record

    try:
        if action in ("stop", "pause"):
            record.write(config, name, service_type, action)
        else:
            record.clear(config, name)
    except (OSError, PluginError) as error:
        log.warning(
            f"the service-command record of {name} was not kept: {getattr(error, 'strerror', None) or error}"
        )


def _each(config: Config, engine: Engine, target: Target, action: str) -> str:
    from .actions import Actions

    results = []
    for index, container in enumerate(target.containers):
        shown = (
            target.name
            if len(target.containers) == 1
            else f"{target.name} ({index + 1} of {len(target.containers)})"
        )
        results.append(Actions(config, engine, container, shown).run(action))
    return "; ".join(results)


def _settle_record(config: Config, engine: Engine, target: Target, name: str) -> None:
    """A stop or pause that failed: the record stays only when a container did stop."""
    from . import record

    try:
        states = [((engine.inspect_container(c, 5.0) or {}).get("State") or {}) for c in target.containers]
        if all(state.get("Status") == "running" and not state.get("Paused") for state in states):
            record.clear(config, name)
    except (OSError, PluginError):  # the action's own error is what the operator reads
        pass
